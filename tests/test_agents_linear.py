"""agents.LinearEtaPolicy: its features against the physics, its action against the environment's
mapping, the shipped ``threebody_linear`` policy on its environment and as a controller."""

import math

import numpy as np
import pytest

import agents
from agents._linear import features
from envs.three_body import ThreeBodyEnv
from stepsize.nbody import kernels, paper_three_body


def _tau(s):
    return kernels.collision_time(s.positions, s.velocities, s.masses, s.G, 0.0)


def test_features_of_the_paper_observation():
    env = ThreeBodyEnv(continuous=True)
    obs, _ = env.reset(seed=1_000_002)
    s = paper_three_body(1_000_002)
    phi = features(obs)
    # phi_1 is the Hermite criterion's own time scale (float32 observation: ~1e-6 relative)
    assert phi[1] == pytest.approx(math.log10(_tau(s) / 0.1), abs=1e-5)
    assert phi[0] >= 0.0 and -1.0 <= phi[2] <= 1.0
    assert phi[3] == pytest.approx(-6.0)  # |dE/E0| = 0 at reset: log10(1e-16) + 10
    obs, *_, info = env.step(np.array([0.0]))
    assert features(obs)[3] == pytest.approx(math.log10(info["energy_error"] + 1e-16) + 10, 1e-5)


def test_action_is_the_environments_log10_eta():
    env = ThreeBodyEnv(continuous=True)
    obs, _ = env.reset(seed=3)
    policy = agents.LinearEtaPolicy(-2.2, [0.1, -0.2, 0.3, 0.05])
    action, _ = policy.predict(obs)
    assert policy.action_space.contains(action)
    assert env.value_of(action) == pytest.approx(10 ** policy.log10_eta(obs), rel=1e-6)
    expected = -2.2 + float(np.dot([0.1, -0.2, 0.3, 0.05], features(obs)))
    assert policy.log10_eta(obs) == pytest.approx(expected)
    assert env.value_of(agents.LinearEtaPolicy(5.0, np.zeros(4)).predict(obs)[0]) == 0.1
    assert env.value_of(agents.LinearEtaPolicy(-9.0, np.zeros(4)).predict(obs)[0]) == 1e-4
    with pytest.raises(ValueError, match="w 4 finite numbers"):
        agents.LinearEtaPolicy(0.0, [1.0, 2.0])


def test_shipped_linear_policy_retraces_its_environment(tmp_path):
    policy = agents.load_default_policy("threebody_linear")
    config = agents.default_policy_config("threebody_linear")
    assert config["algo"] == "linear" and config["env_kwargs"] == {"continuous": True}
    env = agents.make_env("threebody_linear", max_steps=20)
    obs, _ = env.reset(seed=1_000_004)
    actions, done = [], False
    while not done:
        action, _ = policy.predict(obs)
        actions.append(float(action[0]))
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    ctrl = agents.default_controller("threebody_linear")
    result = ctrl.run(paper_three_body(1_000_004), 2.0)
    assert ctrl.actions == pytest.approx(actions, abs=0)
    assert result.steps == info["steps"] and result.energy_error == info["energy_error"]
    policy.save(tmp_path / "w.json")
    again = agents.LinearEtaPolicy.load(tmp_path / "w.json")
    assert again.c == policy.c and np.array_equal(again.w, policy.w)
