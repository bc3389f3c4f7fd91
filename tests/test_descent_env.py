"""The `stepsize/LearningRate-v0` environment: Gymnasium contract, rewards, trainability."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the environments)
from envs.learning_rate import LearningRateEnv
from stepsize.descent import gd, separable, worst_case


@pytest.mark.parametrize("continuous", [False, True])
def test_check_env(continuous):
    check_env(LearningRateEnv(continuous=continuous), skip_render_check=True)


def test_registered_and_reset_is_reproducible():
    env = gym.make("stepsize/LearningRate-v0")
    runs = []
    for _ in range(2):
        obs, _ = env.reset(seed=11)
        trace = [obs]
        for action in (5, 0, 3, 5, 1):
            obs, reward, terminated, truncated, _ = env.step(action)
            trace.append(np.append(obs, reward))
            if terminated or truncated:
                break
        runs.append(trace)
    assert len(runs[0]) == len(runs[1])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    env.reset(seed=11)
    data_11 = env.unwrapped._ds.A
    env.reset(seed=12)
    assert not np.array_equal(data_11, env.unwrapped._ds.A)  # a fresh data set per episode


def test_fixed_gamma_episode_is_lrgd_and_return_counts_iterations():
    ds = separable(n=40, d=5, seed=3)
    env = LearningRateEnv(data=(ds.A, ds.y), gammas=[1e3], max_steps=50)
    obs, _ = env.reset(seed=0)
    assert obs[3] == 0.0 and obs[6] == 0.0
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(0)
        total += reward
        done = terminated or truncated
    expected = gd(ds.A, ds.y, 1e3, max_iter=50, stop_when_separated=True)
    assert terminated and info["iterations"] == expected.iterations_to_separate
    np.testing.assert_allclose(total, 1.0 - info["iterations"] / 50, atol=1e-12)
    np.testing.assert_allclose(env.unwrapped._theta, expected.thetas[-1], rtol=1e-12)
    np.testing.assert_allclose(obs[4], 3.0)  # log10 of the previous gamma


def test_truncation_and_observation_bounds_at_extreme_steps():
    ds = worst_case(200)
    env = LearningRateEnv(data=ds, continuous=True, log10_gamma_range=(-3, 12), max_steps=5)
    env.reset(seed=0)
    for action in ([-1.0], [1.0], [1.0], [-1.0], [0.0]):
        obs, _, terminated, truncated, _ = env.step(np.array(action, dtype=np.float32))
        assert env.observation_space.contains(obs)
        if terminated:
            break
    assert terminated or truncated


def test_step_rejects_an_action_outside_the_space():
    env = LearningRateEnv(n=16, d=4)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for bad in (-1, 6, 1.0, "2", np.array([0, 1])):
        with pytest.raises(ValueError, match=r"not in the action space Discrete\(6\)"):
            env.step(bad)
    assert env.step(np.int64(5))[4]["gamma"] == pytest.approx(1e3)
    env = LearningRateEnv(n=16, d=4, continuous=True)
    env.reset(seed=0)
    for bad in (np.array([np.nan]), np.array([1.01]), np.array([0.0, 0.0]), "x"):
        with pytest.raises(ValueError, match="not in the action space Box"):
            env.step(bad)


def test_bad_configuration():
    with pytest.raises(ValueError, match="max_steps"):
        LearningRateEnv(max_steps=0)
    with pytest.raises(ValueError, match="gammas"):
        LearningRateEnv(gammas=[1.0, -1.0])
    with pytest.raises(ValueError, match="log10_gamma_range"):
        LearningRateEnv(log10_gamma_range=(2, 1))


def test_trainable_with_stable_baselines3_ppo():
    from stable_baselines3 import PPO

    env = LearningRateEnv(n=32, d=4, max_steps=20)
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=2, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))
