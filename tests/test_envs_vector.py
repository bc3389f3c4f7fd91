"""``envs.ThreeBodyVecEnv`` against n separate ``ThreeBody-v0`` environments, and in SB3.

Environment k of the vector, seeded with ``seed(s)``, must give what a ``ThreeBodyEnv`` of the
same arguments reset with seed s + k gives for the same actions, bit for bit, auto-resets
included (SB3's convention: the episode's last observation in ``info["terminal_observation"]``,
the next episode's first as the observation).
"""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from stable_baselines3 import DQN, PPO

from envs import ThreeBodyVecEnv
from envs.three_body import ThreeBodyEnv


def _compare(kwargs, n, seed, actions, every_step=True, log_limit=None):
    """Step a vector and its n separate environments through ``actions`` (steps x n) and
    assert they agree exactly, the copies' records at every step (or, ``every_step`` False,
    only at the end: the vector writes them when asked, ``log_limit`` its bound); returns the
    vector."""
    vec = ThreeBodyVecEnv(n, **kwargs)
    if log_limit is not None:
        vec.LOG_LIMIT = log_limit
    vec.seed(seed)
    singles = [ThreeBodyEnv(**kwargs) for _ in range(n)]
    first = np.stack([env.reset(seed=seed + k)[0] for k, env in enumerate(singles)])
    np.testing.assert_array_equal(vec.reset(), first)
    for row in actions:
        vec.step_async(row)
        obs, rewards, dones, infos = vec.step_wait()
        assert obs.dtype == np.float32 and rewards.dtype == np.float32
        for k, env in enumerate(singles):
            o, r, terminated, truncated, info = env.step(row[k])
            assert rewards[k] == np.float32(r) and dones[k] == (terminated or truncated)
            assert infos[k]["TimeLimit.truncated"] == (truncated and not terminated)
            assert {key: infos[k][key] for key in info} == info
            if terminated or truncated:
                np.testing.assert_array_equal(infos[k]["terminal_observation"], o)
                assert infos[k]["episode"]["l"] == env._t
                o = env.reset()[0]
            np.testing.assert_array_equal(obs[k], o)
            if every_step:
                _same_record(vec.envs[k], env)
    for copy, env in zip(vec.envs, singles, strict=True):
        _same_record(copy, env)
    return vec


def _same_record(copy, env):
    """The vector's copy carries the same record of its run as the separate environment (the
    vector writes it in bulk, ``ThreeBodyEnv.step`` one by one)."""
    assert (copy._t, copy._error, copy._t_sim) == (env._t, env._error, env._t_sim)
    assert (copy.sim.status, copy.sim.value) == (env.sim.status, env.sim.value)
    assert copy.sim.changes == env.sim.changes


@given(
    n=st.integers(1, 11),
    seed=st.integers(0, 2**31),
    data=st.data(),
    reward=st.sampled_from(["paper", "cost", "final"]),
    observation=st.sampled_from(["paper", "extended"]),
)
def test_each_environment_of_the_vector_is_threebody_v0_bit_for_bit(
    n, seed, data, reward, observation
):
    steps = data.draw(st.integers(1, 14))
    actions = np.array(
        data.draw(st.lists(st.integers(0, 9), min_size=n * steps, max_size=n * steps))
    )
    kwargs = {"reward": reward, "observation": observation, "max_steps": 6}
    vec = _compare(kwargs, n, seed, actions.reshape(steps, n))
    assert vec.envs[0]._buffer.base is vec._rows  # the compiled path ran on the vector's rows


@pytest.mark.parametrize("log_limit", [None, 3])
def test_the_records_written_late_are_the_separate_environments_records(log_limit):
    """Unasked, the vector keeps its copies' records in arrays across steps and auto-resets
    (bounded by LOG_LIMIT vector steps); asked, they equal the separate environments'."""
    actions = np.random.default_rng(9).integers(0, 10, (17, 5))
    vec = _compare({"max_steps": 4}, 5, 21, actions, every_step=False, log_limit=log_limit)
    assert vec._log == []  # written


def test_continuous_actions_and_the_general_path():
    rng = np.random.default_rng(3)
    _compare({"continuous": True, "max_steps": 5}, 3, 40, rng.uniform(-1, 1, (12, 3, 1)))
    vec = _compare({"n_bodies": 4, "max_steps": 4}, 2, 7, rng.integers(0, 10, (6, 2)))
    assert vec.envs[0]._buffer is None  # four bodies: each environment steps itself


def test_a_bad_action_is_refused_naming_the_space():
    vec = ThreeBodyVecEnv(2)
    vec.reset()
    vec.step_async(np.array([3, 10]))
    with pytest.raises(ValueError, match="action space"):
        vec.step_wait()


def test_snapshot_and_restore_continue_bit_for_bit():
    actions = np.random.default_rng(5).integers(0, 10, (10, 3))
    vec = ThreeBodyVecEnv(3, max_steps=7)
    vec.seed(11)
    vec.reset()
    for row in actions[:4]:
        vec.step(row)
    blobs = vec.env_method("snapshot")
    later = [vec.step(row) for row in actions[4:]]
    for k, blob in enumerate(blobs):
        vec.env_method("restore", blob, indices=[k])
    again = [vec.step(row) for row in actions[4:]]
    for (o1, r1, d1, i1), (o2, r2, d2, i2) in zip(later, again, strict=True):
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(d1, d2)
        for a, b in zip(i1, i2, strict=True):
            a.get("episode", {}).pop("t", None), b.get("episode", {}).pop("t", None)
            np.testing.assert_equal(a, b)


@pytest.mark.parametrize("algo", [PPO, DQN])
def test_sb3_trains_on_the_vector(algo):
    torch.set_num_threads(1)
    vec = ThreeBodyVecEnv(4, max_steps=10)
    kw = {"n_steps": 16, "batch_size": 32} if algo is PPO else {"learning_starts": 16}
    model = algo("MlpPolicy", vec, seed=0, **kw).learn(128)
    assert model.num_timesteps == 128
    assert model.ep_info_buffer  # episodes were seen, through info["episode"]
    assert np.asarray(model.predict(vec.reset())[0]).shape == (4,)
