"""The `stepsize/ODEStep-v0` environment (Dellnitz et al. 2023): contract, steps, rewards."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the environments)
from envs.ode_step import ODEStepEnv, dellnitz_reward, mixed_error
from stepsize.ode import problems, solve


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"action": "rtol"}, {"problem": "lorenz", "method": "bs3"}, {"perturbation": 0.01}],
)
def test_check_env(kwargs):
    check_env(ODEStepEnv(**kwargs), skip_render_check=True)


def test_registered_and_reset_is_reproducible():
    env = gym.make("stepsize/ODEStep-v0", problem="lorenz", perturbation=0.05)
    first, _ = env.reset(seed=4)
    again, _ = env.reset(seed=4)
    other, _ = env.reset(seed=5)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert env.observation_space.shape == (7,) and env.action_space == gym.spaces.Discrete(10)


def test_dellnitz_reward_hand_computed():
    rng = (1e-3, 1e-1)
    assert dellnitz_reward(1e-8, 1e-2, 1e-6, rng) == pytest.approx(0.1 + 1.9 * 0.5)
    assert dellnitz_reward(1e-8, 1e-3, 1e-6, rng) == pytest.approx(0.1)
    assert dellnitz_reward(1e-8, 1e-1, 1e-6, rng) == pytest.approx(2.0)
    assert dellnitz_reward(1e-4, 1e-1, 1e-6, rng) == pytest.approx(-2.0)  # log10(tol / e)
    assert dellnitz_reward(1e9, 1e-1, 1e-6, rng) == -10.0
    assert dellnitz_reward(np.inf, 1e-1, 1e-6, rng) == -10.0


def test_step_mode_is_one_dp5_step_and_its_error_the_exact_local_error():
    p = problems.kepler(eccentricity=0.5)
    for h in (0.04, 0.02):
        env = ODEStepEnv(p, values=[h], tol=1.0, step_range=(0.01, 0.1))
        env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step(0)
        # the same step by the library's compiled DP5 (tolerance so loose it is accepted)
        one = solve(p.fun, (0.0, h), p.y0, method="dp5", first_step=h, rtol=1.0, atol=1e3)
        assert one.t.size == 2
        np.testing.assert_allclose(env._y, one.y[:, -1], rtol=0, atol=1e-15)
        # Kepler's exact solution: the error the reward sees is the true local error
        assert info["error"] == pytest.approx(mixed_error(env._y, p.exact(h), 1.0), rel=1e-3)
        assert info["nfev"] == 1 + 6 and info["h"] == h and obs[4] == pytest.approx(np.log10(h))
        assert reward == pytest.approx(0.1 + 1.9 * np.log(h / 0.01) / np.log(10.0))


def test_rtol_mode_covers_t_span_and_reaches_the_reference():
    p = problems.arenstorf()
    env = ODEStepEnv(p, action="rtol", n_intervals=10)
    env.reset(seed=0)
    steps, done, rewards = 0, False, []
    while not done:
        _, reward, terminated, truncated, info = env.step(1)  # rtol 1e-11 everywhere
        done, steps = terminated or truncated, steps + 1
        rewards.append(reward)
    assert terminated and steps == 10 and info["t"] == p.t_span[1]
    assert problems.mixed_error(p, env._y) < 1e-6  # a periodic orbit: back at y0 after T
    assert all(r > 0 for r in rewards)  # every interval within tol = 1e-6


def test_bad_input():
    with pytest.raises(ValueError, match="action: unknown 'factor'; known: step, rtol"):
        ODEStepEnv(action="factor")
    with pytest.raises(ValueError, match="method: unknown 'rk99'"):
        ODEStepEnv(method="rk99")
    with pytest.raises(ValueError, match="unknown problem 'nope'"):
        ODEStepEnv("nope")
    with pytest.raises(ValueError, match="step_range"):
        ODEStepEnv(step_range=(1.0, 0.1))
    env = ODEStepEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for bad in (10, -1, 2.5, np.array([1, 2])):
        with pytest.raises(ValueError, match=r"not in the action space Discrete\(10\)"):
            env.step(bad)
