"""Trained policies as controllers, transfer, evaluation output, and the shipped policy."""

import itertools
import json

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import DQN, PPO

import agents
from agents._evaluate import Evaluation
from envs.three_body import ETAS, RTOLS, ThreeBodyEnv, random_system
from stepsize.nbody import ControlInfo, System, integrate, paper_three_body


@pytest.fixture(scope="module")
def shipped():
    """The shipped reproduction of the paper: DQN on the 13-entry observation."""
    return agents.load_default_policy("threebody_dqn_paper")


def _env_rollout(model, steps, seed, **env_kwargs):
    env = ThreeBodyEnv(max_steps=steps, **env_kwargs)
    obs, _ = env.reset(seed=seed)
    actions, done = [], False
    while not done:
        action = model.predict(obs, deterministic=True)[0]
        actions.append(np.asarray(action).reshape(-1)[0].item())
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    return actions, info


def test_shipped_policies(shipped):
    assert isinstance(shipped, DQN) and shipped.observation_space.shape == (13,)
    assert shipped.action_space == gym.spaces.Discrete(10)
    paper = agents.default_policy_config("threebody_dqn_paper")
    assert paper["env"] == "stepsize/ThreeBody-v0" and paper["env_kwargs"] == {}
    assert paper["hyperparams"]["learning_rate"] == 1e-3 and paper["steps"] == 100_000
    ppo = agents.load_default_policy("threebody_ppo")
    assert isinstance(ppo, PPO) and ppo.observation_space.shape == (17,)
    config = agents.default_policy_config("threebody_ppo")
    assert config["env_kwargs"] == {"observation": "extended", "reward": "final"}
    for c in (paper, config):
        assert c["command"].startswith(
            f"stepsize agent train --env ThreeBody-v0 --algo {c['algo']}"
        )
        assert len(c["learning_curve"]) == 10
    ctrl = agents.default_controller("threebody_ppo", method="leapfrog")
    assert ctrl.observation == "extended" and ctrl.parameter == "eta"
    default = agents.load_default_policy()
    assert isinstance(default, agents.LinearEtaPolicy)
    assert agents.default_policy_config()["env_kwargs"] == {"continuous": True}
    assert agents.make_env("default").unwrapped.continuous
    with pytest.raises(ValueError, match="unknown shipped policy 'nope'"):
        agents.load_default_policy("nope")


@pytest.mark.parametrize("observation", ["paper", "extended"])
def test_controller_retraces_the_environment_episode(shipped, observation):
    model = shipped if observation == "paper" else agents.load_default_policy("threebody_ppo")
    actions, info = _env_rollout(model, 25, 1_000_003, observation=observation)
    ctrl = agents.PolicyController(model, observation=observation)
    result = ctrl.run(paper_three_body(1_000_003), 2.5)
    assert ctrl.actions == actions and len(actions) == 25
    assert result.steps == info["steps"]
    assert result.energy_error == pytest.approx(info["energy_error"], rel=1e-6, abs=1e-15)
    changes = [v for _, v in result.stats["changes"]]
    assert changes == [float(ETAS[a]) for a in actions[1:]]


def test_controller_plugs_into_integrate_and_transfers_by_action_index(shipped):
    ctrl = agents.PolicyController(shipped, method="leapfrog")
    r = integrate(
        paper_three_body(1_000_004),
        1.0,
        "leapfrog",
        save_every=0.1,
        controller=ctrl,
        eta=ctrl.initial_value(paper_three_body(1_000_004)),
    )
    assert r.status == "done" and len(ctrl.actions) == 10
    assert {v for _, v in r.stats["changes"]} <= set(ETAS.tolist())
    ctrl = agents.PolicyController(shipped, method="dp5")
    r = ctrl.run(paper_three_body(1_000_004), 1.0)
    assert r.stats["parameter"] == "rtol"
    assert {v for _, v in r.stats["changes"]} <= set(RTOLS.tolist())
    five = random_system(np.random.default_rng(1_000_005), 5)
    r = agents.PolicyController(shipped).run(five, 1.0)
    assert r.status == "done" and r.system.n_bodies == 5


def test_continuous_policy_maps_onto_log10_eta():
    model = PPO("MlpPolicy", ThreeBodyEnv(continuous=True), seed=0, device="cpu", n_steps=64)
    ctrl = agents.PolicyController(model)
    value = ctrl.initial_value(paper_three_body(1_000_006))
    a = float(np.clip(ctrl.actions[0], -1, 1))
    assert value == pytest.approx(10 ** (-4 + 1.5 * (a + 1)))


def test_interacting_triple_picks_the_closest_pair_and_its_nearest_neighbour():
    pos = [[0, 0], [10, 0], [10.5, 0], [12, 0], [-30, 5]]
    s = System(np.ones(5), pos, np.zeros((5, 2)))
    t = agents.interacting_triple(s)
    com = np.mean(pos, axis=0)
    np.testing.assert_allclose(t.positions, np.array([[10, 0], [10.5, 0], [12, 0]]) - com)


def test_controller_bad_input(shipped):
    with pytest.raises(ValueError, match="observation: unknown"):
        agents.PolicyController(shipped, observation="pixels")
    with pytest.raises(ValueError, match="do not fit observation='extended'"):
        agents.PolicyController(shipped, observation="extended")
    with pytest.raises(ValueError, match="the policy has 10 actions, got 3"):
        agents.PolicyController(shipped, values=[1e-3, 1e-2, 1e-1])
    ctrl = agents.PolicyController(shipped)
    s = paper_three_body(0)
    info = ControlInfo(0.1, 1.0, 0, s, 1e-9, 10, 11, 1.0, "hermite4", "dt", 1e-3)
    with pytest.raises(ValueError, match="the policy sets 'eta'; this run is controlled by 'dt'"):
        ctrl(info)
    with pytest.raises(ValueError, match="needs 3 bodies, got 2"):
        ctrl.initial_value(System([1, 1], [[0, 0], [1, 0]], np.zeros((2, 2))))


def test_evaluation_output_shape_and_files(shipped, tmp_path):
    ev = agents.evaluate(shipped, 2, max_steps=4, training_seeds=range(0, 4))
    s = ev.summary()
    assert s["episodes"] == 2 and s["seeds"] == [agents.EVAL_SEED, agents.EVAL_SEED + 1]
    assert len(s["fixed"]) == 10 and sum(s["policy"]["action_counts"]) == 8
    for row in [s["policy"], *s["fixed"]]:
        assert set(row) >= {
            "median_energy_error",
            "median_steps",
            "median_wall_s",
            "env_steps_per_s",
            "terminated",
            "mean_return",
        }
    assert [f["value"] for f in s["fixed"]] == pytest.approx(ETAS.tolist())
    assert s["fixed"][0]["median_steps"] > 10 * s["fixed"][9]["median_steps"]
    assert set(s["pareto"]) == {
        "dominated",
        "dominated_by",
        "below_front",
        "margin_decades",
        "steps_ratio",
        "beats_front",
        "front",
    }
    js, png = ev.save(tmp_path)
    data = json.loads(js.read_text())
    assert len(data["per_episode"]["policy"]["energy_error"]) == 2
    assert len(data["per_episode"]["fixed"]) == 10 and png.stat().st_size > 10_000
    assert "policy" in ev.table()
    tr = agents.evaluate_transfer(shipped, method="leapfrog", episodes=1, t_end=0.3)
    assert tr.parameter == "eta" and len(tr.fixed) == 10 and tr.policy["steps"].shape == (1,)


def _runs(steps, error):
    return {
        "steps": np.array([steps]),
        "energy_error": np.array([error]),
        "wall_s": np.ones(1),
        "inference_s": np.zeros(1),
        "steps_per_s": np.ones(1),
        "terminated": np.zeros(1),
        "return": np.zeros(1),
        "force_evaluations": np.array([steps]),
    }


def test_pareto_verdict_hand_computed():
    fixed = [_runs(10, 1e-2), _runs(100, 1e-4), _runs(1000, 1e-6), _runs(1000, 1e-3)]
    ev = Evaluation(
        "t", "eta", np.array([0.1, 0.01, 0.001, 0.5]), np.arange(1), _runs(100, 1e-5), fixed
    )
    p = ev.pareto()
    assert not p["dominated"] and p["below_front"] and p["margin_decades"] == pytest.approx(1.0)
    assert p["front"] == [[10, 1e-2], [100, 1e-4], [1000, 1e-6]]
    # the front reaches 1e-5 at 10^2.5 steps: 100 steps is 10^-0.5 of that
    assert p["steps_ratio"] == pytest.approx(10**-0.5) and p["beats_front"]
    ev.policy = _runs(200, 1e-3)  # front at log10(200) = 2.301: -4 - 2 * 0.301 = -4.602
    p = ev.pareto()
    assert p["dominated_by"] == [0.01] and not p["below_front"]
    assert p["margin_decades"] == pytest.approx(-4 - 2 * np.log10(2) + 3)
    assert p["steps_ratio"] == pytest.approx(200 / 10**1.5) and not p["beats_front"]
    ev.policy = _runs(100, 10**-4.2)  # 0.2 decades below, 0.79x the steps: not enough
    p = ev.pareto()
    assert p["margin_decades"] == pytest.approx(0.2) and not p["beats_front"]
    assert p["steps_ratio"] == pytest.approx(10**-0.1)
    ev.policy = _runs(100, 10**-4.4)  # 0.4 decades, but on this front that is 0.63x the steps
    assert ev.pareto()["beats_front"]


def _resampled(runs, rows):
    return {k: v[rows] for k, v in runs.items()}


def test_bootstrap_spans_every_resample_of_the_systems():
    # three systems: the verdict of each of the 27 resamples, through pareto() on copied arrays
    rng = np.random.default_rng(4)

    def runs(scale):
        steps, error = 10 ** rng.uniform(1, 3, 3) * scale, 10 ** rng.uniform(-8, -2, 3)
        return {
            **{k: np.repeat(v, 3) for k, v in _runs(1, 1).items()},
            "steps": steps,
            "energy_error": error,
        }

    values = np.array([0.1, 0.01, 0.001])
    policy, fixed = runs(1.0), [runs(10.0**-k) for k in range(3)]
    ev = Evaluation("t", "eta", values, np.arange(3), policy, fixed)
    margins = []
    for rows in itertools.product(range(3), repeat=3):
        rows = np.array(rows)
        each = Evaluation(
            "t",
            "eta",
            values,
            np.arange(3),
            _resampled(policy, rows),
            [_resampled(f, rows) for f in fixed],
        )
        margins.append(each.pareto()["margin_decades"])
    b = ev.bootstrap(resamples=2000, quantiles=(0.0, 1.0))
    assert b["margin_decades"] == pytest.approx([min(margins), max(margins)])
    # one system drawn three times: every resample is the point itself
    same = {k: np.repeat(v[:1], 3) for k, v in policy.items()}
    ev = Evaluation(
        "t",
        "eta",
        values,
        np.arange(3),
        same,
        [{k: np.repeat(v[:1], 3) for k, v in f.items()} for f in fixed],
    )
    p, b = ev.pareto(), ev.bootstrap(resamples=50)
    assert b["margin_decades"] == pytest.approx([p["margin_decades"]] * 2)
    assert b["steps_ratio"] == pytest.approx([p["steps_ratio"]] * 2)


def test_evaluation_bad_input(shipped):
    with pytest.raises(ValueError, match="episodes must be a positive integer"):
        agents.evaluate(shipped, 0)
    with pytest.raises(ValueError, match="overlap the training seeds"):
        agents.evaluate(shipped, 2, seed=5, training_seeds=range(0, 8))


def test_default_policy_beats_the_fixed_eta_front_on_held_out_systems():
    # issue 16's bar, on 100 systems never used in making the policy (seeds 2,000,000 on), 30 yr:
    # the policy's (median steps, median |dE/E0|) >= 0.5 decades below the fixed-eta front.
    # Near its ~2e3 steps the front runs from eta = 0.0215 to 0.0464; the fixed eta below 0.01
    # (1.1e4-5e5 steps, on the front further out) are left out to keep this fast.
    ev = agents.evaluate(
        agents.load_default_policy(),
        100,
        env_kwargs=agents.default_policy_config()["env_kwargs"],
        seed=2_000_000,
        fixed=range(6, 10),
    )
    p, policy = ev.pareto(), ev.summary()["policy"]
    steps = [s for s, _ in p["front"]]
    assert len(steps) == 4 and steps[1] < policy["median_steps"] < steps[2]
    assert 1_500 < policy["median_steps"] < 2_500 and policy["median_energy_error"] < 2e-6
    assert not p["dominated"] and p["beats_front"]
    assert p["margin_decades"] >= 0.5 and p["steps_ratio"] < 0.8
    counts = policy["action_counts"]  # by the nearest grid eta: mostly 0.0215 and 0.0464
    assert len(counts) == 10 and sum(counts[7:9]) > 0.75 * sum(counts) > 0.75 * 29_000
