"""The `stepsize/ThreeBody-v0` environment: Gymnasium contract, the paper's set-up, rewards."""

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the environments)
from envs._parameters import GRIDS, default_values, parameter_of
from envs.three_body import (
    ETAS,
    ThreeBodyEnv,
    accuracy_term,
    cost_reward,
    final_reward,
    paper_reward,
    random_system,
)
from stepsize.nbody import Simulation, kernels, methods, paper_three_body


def _tau(s):
    return kernels.collision_time(s.positions, s.velocities, s.masses, s.G, 0.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"continuous": True},
        {"observation": "extended", "reward": "cost"},
        {"n_bodies": 4},
        {"integrator": "leapfrog"},
        {"integrator": "dp5"},
    ],
)
def test_check_env(kwargs):
    check_env(ThreeBodyEnv(**kwargs), skip_render_check=True)


def test_paper_defaults():
    env = gym.make("stepsize/ThreeBody-v0").unwrapped
    assert env.action_space == gym.spaces.Discrete(10)
    np.testing.assert_allclose(env.values, np.logspace(-4, -1, 10), rtol=1e-15)
    assert env.observation_space.shape == (13,)
    assert env.max_steps == 100 and env.interval == 0.1 and env.max_energy_error == 0.1
    assert (env.w0, env.w2, env.reward_kind, env.integrator) == (3000.0, 4.0, "paper", "hermite4")


def test_reset_is_reproducible_and_starts_from_the_paper_system():
    env = gym.make("stepsize/ThreeBody-v0")
    runs = []
    for _ in range(2):
        obs, info = env.reset(seed=7)
        trace = [obs]
        for action in (0, 4, 9, 2):
            obs, reward, *_ = env.step(action)
            trace.append(np.append(obs, reward))
        runs.append(trace)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    env.reset(seed=7)
    assert env.unwrapped.sim.system == paper_three_body(7)
    env.reset()  # no seed: the next system of the same generator, a new one
    assert env.unwrapped.sim.system != paper_three_body(7)


def test_observation_is_the_papers_cart_state():
    env = ThreeBodyEnv()
    obs, info = env.reset(seed=3)
    s = paper_three_body(3)
    v_unit = math.sqrt(4 * math.pi**2 * 3.0)  # N-body velocity unit of (3 Msun, 1 au), au/yr
    np.testing.assert_allclose(obs[:6], s.positions.ravel() / 10, rtol=1e-6)
    np.testing.assert_allclose(obs[6:12], s.velocities.ravel() / v_unit, rtol=1e-6)
    assert obs[12] == 0.0 and info["energy_error"] == 0.0 and info["eta"] == 1e-4
    obs, reward, terminated, truncated, info = env.step(5)
    assert reward == 0.0  # r = 0 on the first step
    assert obs[12] == pytest.approx(-math.log10(info["energy_error"] + 1e-20), rel=1e-6)
    assert info["eta"] == ETAS[5] and info["t"] == pytest.approx(0.1)


def test_reward_formulas_against_hand_computed_values():
    # A = -3000 log10(dE / 1e-10) / (|log10 dE|^3 t)
    assert accuracy_term(1e-6, 10) == pytest.approx(-3000 * 4 / (216 * 10))
    assert accuracy_term(1e-12, 5) == pytest.approx(3000 * 2 / (1728 * 5))
    assert accuracy_term(1e-10, 7) == pytest.approx(0.0, abs=1e-9)
    # paper: A + 4 / |log10 eta|
    assert paper_reward(1e-6, 10, 1e-2) == pytest.approx(-5.555555555555555 + 2.0)
    assert paper_reward(1e-6, 1, 1e-2) == 0.0
    # cost: A + 4 / log10(10 + n): n = 990 gives 4 / 3
    assert cost_reward(1e-12, 5, 990) == pytest.approx(0.6944444444444444 + 4 / 3)
    # dE is capped at the termination threshold: the formula's pole at dE = 1 never enters
    assert paper_reward(0.5, 3, 0.1) == pytest.approx(-3000 * 9 / 3 + 4.0)
    assert paper_reward(float("nan"), 3, 0.1) == paper_reward(0.1, 3, 0.1)


def test_final_reward_telescopes_to_the_final_error_and_the_work():
    assert final_reward(1e-10, 1e-12, 500) == pytest.approx(
        math.log10(1.01e-12) - math.log10(1.0001e-10) - 0.1
    )
    assert final_reward(0.7, 1e-3, 0, price=0.5) == pytest.approx(math.log10(1e-3 / 0.1), 1e-9)
    env = ThreeBodyEnv(reward="final", price=0.3, max_steps=12)
    env.reset(seed=4)
    start = env.sim.force_evaluations
    total, done = 0.0, False
    while not done:
        _, reward, terminated, truncated, info = env.step(env.np_random.integers(10))
        total, done = total + reward, terminated or truncated
    expected = -math.log10((info["energy_error"] + 1e-14) / 1e-14)
    expected -= 0.3 * (info["force_evaluations"] - start) / 1000
    assert total == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("kind", ["paper", "cost"])
def test_env_rewards_follow_the_formulas(kind):
    env = ThreeBodyEnv(reward=kind)
    env.reset(seed=11)
    for t, action in enumerate((2, 6, 9), start=1):
        sim = env.sim
        force = sim.force_evaluations
        _, reward, _, _, info = env.step(action)
        if kind == "paper":
            expected = paper_reward(info["energy_error"], t, ETAS[action])
        else:
            expected = cost_reward(info["energy_error"], t, sim.force_evaluations - force)
        assert reward == pytest.approx(expected, rel=1e-12)
    assert t == 3 and reward != 0.0


def test_env_is_the_simulation_advanced_every_interval():
    env = ThreeBodyEnv()
    env.reset(seed=5)
    for action in (3, 3, 7):
        *_, info = env.step(action)
    sim = Simulation(paper_three_body(5), "hermite4", eta=ETAS[3])
    sim.evolve(0.1)
    sim.evolve(0.2)
    sim.value = ETAS[7]
    sim.evolve(0.30000000000000004)
    assert info["steps"] == sim.steps and info["energy_error"] == sim.energy_error
    assert info["status"] == "done" and info["parameter"] == "eta"


def test_termination_and_truncation():
    env = ThreeBodyEnv(values=[0.9], max_energy_error=1e-7)
    env.reset(seed=0)
    done, t = False, 0
    while not done:
        _, reward, terminated, truncated, info = env.step(0)
        done, t = terminated or truncated, t + 1
    assert terminated and not truncated and info["energy_error"] > 1e-7
    assert reward == pytest.approx(paper_reward(1e-7, t, 0.9), rel=1e-12)
    env = ThreeBodyEnv(max_steps=3)
    env.reset(seed=0)
    flags = [env.step(9)[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]


def test_continuous_action_maps_onto_log10_eta():
    env = ThreeBodyEnv(continuous=True)
    env.reset(seed=0)
    assert env.value_of(np.array([-1.0])) == pytest.approx(1e-4)
    assert env.value_of(np.array([1.0])) == pytest.approx(0.1)
    assert env.value_of(np.array([0.0])) == pytest.approx(10**-2.5)
    with pytest.raises(ValueError, match=r"not in the action space Box"):
        env.value_of(np.array([7.0]))


def test_other_integrators_by_action_index():
    env = ThreeBodyEnv(integrator="dp5")
    env.reset(seed=0)
    *_, info = env.step(0)
    assert info["parameter"] == "rtol" and info["eta"] == 1e-13 and info["energy_error"] < 1e-10
    env = ThreeBodyEnv(integrator="leapfrog")
    env.reset(seed=0)
    *_, info = env.step(9)
    assert info["parameter"] == "eta" and info["eta"] == pytest.approx(0.1)


def test_more_bodies_and_extended_observation():
    env = ThreeBodyEnv(n_bodies=5, observation="extended")
    obs, _ = env.reset(seed=2)
    s = env.sim.system
    assert obs.shape == (25,) and s.n_bodies == 5
    np.testing.assert_allclose(s.center_of_mass()[0], 0.0, atol=1e-12)
    i, j, r = s.closest_pair()
    assert r >= 2.0 - 1e-9 or {i, j} <= {0, 1, 2}
    assert obs[-4] == pytest.approx(math.log10(_tau(s) / 0.1), rel=1e-6)
    assert obs[-3] == 0.0 and obs[-2] == pytest.approx(-4.0) and obs[-1] == 1.0
    obs, *_, info = env.step(4)
    assert obs[-3] == pytest.approx(math.log10(1 + info["steps"]), rel=1e-6)
    assert obs[-2] == pytest.approx(math.log10(ETAS[4]), rel=1e-6) and obs[-1] == 0.5
    assert random_system(np.random.default_rng(9)) == paper_three_body(9)


def test_time_scale_entry_of_a_binary():
    # two unit masses at distance 1 at rest, G = 4 pi^2: r/v is infinite, sqrt(r^3/(G M)) wins
    from stepsize.nbody import System

    s = System([1.0, 1.0, 1.0], [[0, 0], [1, 0], [50, 0]], np.zeros((3, 2)), 4 * math.pi**2)
    obs, _ = ThreeBodyEnv(observation="extended").reset(options={"system": s})
    assert obs[-4] == pytest.approx(math.log10(1 / math.sqrt(8 * math.pi**2) / 0.1), rel=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="reward: unknown 'nope'; known: paper, cost, final"):
        ThreeBodyEnv(reward="nope")
    with pytest.raises(ValueError, match="integrator: unknown 'rk99'; known: hermite4, leapfrog"):
        ThreeBodyEnv(integrator="rk99")
    with pytest.raises(ValueError, match="observation: unknown"):
        ThreeBodyEnv(observation="pixels")
    with pytest.raises(ValueError, match="needs values < 1"):
        ThreeBodyEnv(values=[0.1, 2.0])
    with pytest.raises(ValueError, match="n_bodies must be an integer >= 3"):
        ThreeBodyEnv(n_bodies=2)
    env = ThreeBodyEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for bad in (10, -1, 2.5, "3"):
        with pytest.raises(ValueError, match=r"not in the action space Discrete\(10\)"):
            env.step(bad)
    with pytest.raises(ValueError, match="System of 3 bodies"):
        env.reset(options={"system": random_system(np.random.default_rng(0), 4)})
    env = ThreeBodyEnv(continuous=True)
    env.reset(seed=0)
    for bad in (np.array([np.nan]), np.array([0.1, 0.2]), np.array([1.5])):
        with pytest.raises(ValueError, match="not in the action space Box"):
            env.step(bad)


@pytest.mark.parametrize("method", methods())
def test_the_action_parameter_is_the_one_the_library_names(method):
    options = {"dt": 1e-3} if method == "wh" else {}
    assert parameter_of(method) == Simulation(paper_three_body(0), method, **options).parameter
    assert default_values(method).size == 10 and np.all(np.diff(default_values(method)) > 0)


@pytest.mark.parametrize("integrator, parameter", [("gr15", "epsilon"), ("wh", "dt")])
def test_gr15_and_wh_environments(integrator, parameter):
    env = ThreeBodyEnv(integrator=integrator, max_steps=3)
    env.reset(seed=1_000_000)
    *_, info = env.step(9)
    assert info["parameter"] == parameter and info["eta"] == pytest.approx(GRIDS[parameter][9])
    assert info["t"] == pytest.approx(0.1) and info["energy_error"] < 1e-2
