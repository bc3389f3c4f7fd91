"""agents.train: checkpoints, resume without losing work, learning curves, bad input."""

import csv

import numpy as np
import pytest
import torch

import agents
from envs.ode_step import ODEStepEnv

SMALL_DQN = dict(learning_starts=50, batch_size=32, buffer_size=1000)


def test_dqn_checkpoints_and_resume(tmp_path):
    out = tmp_path / "run"
    model = agents.train(
        "LearningRate-v0",
        "dqn",
        200,
        out,
        checkpoint_every=100,
        hyperparams=SMALL_DQN,
        env_kwargs=dict(max_steps=20),
    )
    assert model.num_timesteps == 200
    assert agents.latest_checkpoint(out)[0] == 200
    assert sorted(p.name for p in (out / "checkpoints").glob("buffer_*")) == [
        "buffer_100.pkl",
        "buffer_200.pkl",
    ]
    resumed = agents.train(
        "LearningRate-v0",
        "dqn",
        300,
        out,
        checkpoint_every=100,
        hyperparams=SMALL_DQN,
        env_kwargs=dict(max_steps=20),
        resume=True,
    )
    assert resumed.num_timesteps == 300
    assert resumed.replay_buffer.size() >= 290  # the buffer came back with the checkpoint
    rows = list(csv.DictReader(open(out / "learning_curve.csv")))
    steps = [int(r["timesteps"]) for r in rows]
    assert steps == sorted(steps) and steps[-1] <= 300 and len(rows) >= 10
    loaded, config = agents.load(out)
    assert config["algo"] == "dqn" and config["hyperparams"]["tau"] == 0.005
    obs = np.zeros(7, dtype=np.float32)
    assert loaded.predict(obs, deterministic=True)[0] == resumed.predict(obs, deterministic=True)[0]


def test_dqn_trains_with_the_papers_settings(tmp_path):
    """``agents.train(..., "dqn")`` builds the paper's DQN: lr 1e-3 (AdamW), batch 128, replay
    buffer 10^4, gamma 0.99, epsilon 0.9 -> 0.05 over the first tenth of training, four hidden
    layers of 100 (the values restated here are the paper's, not read from DQN_PAPER)."""
    import torch

    torch.set_num_threads(1)
    model = agents.train("LearningRate-v0", "dqn", 20, tmp_path, env_kwargs=dict(max_steps=5))
    assert (model.batch_size, model.buffer_size, model.gamma) == (128, 10_000, 0.99)
    assert model.exploration_schedule(1.0) == pytest.approx(0.9)
    assert model.exploration_schedule(0.95) == pytest.approx(0.9 - 0.5 * 0.85)  # halfway down
    assert model.exploration_rate == pytest.approx(0.05)  # reached after 2 of 20 steps
    optimizer = model.policy.optimizer
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.param_groups[0]["lr"] == 1e-3
    hidden = [m.out_features for m in model.q_net.q_net if isinstance(m, torch.nn.Linear)]
    assert hidden == [100, 100, 100, 100, model.action_space.n]


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="env: unknown 'Nope-v0'; known: .*LearningRate-v0"):
        agents.train("Nope-v0", "dqn", 10, tmp_path)
    with pytest.raises(ValueError, match="algo: unknown 'sac'; known: dqn, ppo"):
        agents.train("LearningRate-v0", "sac", 10, tmp_path)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        agents.train("LearningRate-v0", "ppo", 0, tmp_path)
    with pytest.raises(ValueError, match="resume: no checkpoint"):
        agents.train("LearningRate-v0", "ppo", 10, tmp_path / "empty", resume=True)


def _mean_return(env_kwargs, pick, episodes=4):
    totals = []
    for seed in range(agents.EVAL_SEED, agents.EVAL_SEED + episodes):
        env = ODEStepEnv(**env_kwargs)
        obs, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(pick(obs))
            total, done = total + reward, terminated or truncated
        totals.append(total)
    return float(np.mean(totals))


def test_short_training_beats_a_random_policy_on_its_own_reward(tmp_path):
    # Lorenz with perturbed initial values: steps above ~0.1 blow up, small ones pay little
    env_kwargs = dict(problem="lorenz", perturbation=0.01, max_steps=100)
    hyperparams = dict(
        learning_starts=200,
        exploration_fraction=0.3,
        batch_size=64,
        policy_kwargs=dict(net_arch=[64, 64]),
    )
    model = agents.train(
        "ODEStep-v0", "dqn", 1500, tmp_path, env_kwargs=env_kwargs, hyperparams=hyperparams
    )
    rng = np.random.default_rng(0)
    trained = _mean_return(env_kwargs, lambda obs: model.predict(obs, deterministic=True)[0])
    random = _mean_return(env_kwargs, lambda obs: int(rng.integers(10)))
    assert trained > random + 20, (trained, random)


def test_training_in_worker_processes(tmp_path):
    # SubprocVecEnv workers start fresh interpreters: they must find the stepsize/... ids
    model = agents.train(
        "ThreeBody-v0",
        "ppo",
        128,
        tmp_path,
        n_envs=2,
        subprocess=True,
        hyperparams=dict(n_steps=64, batch_size=64),
        env_kwargs=dict(max_steps=20),
    )
    assert model.num_timesteps == 128
    assert agents.load(tmp_path)[1]["env"] == "stepsize/ThreeBody-v0"


def test_the_compiled_vector_trains_as_dummyvecenv(tmp_path):
    # the same seeds, observations, rewards and resets: PPO ends with the same weights
    kw = dict(n_envs=3, seed=2, hyperparams=dict(n_steps=32, batch_size=32))
    kw["env_kwargs"] = dict(max_steps=15)
    vec = agents.train("ThreeBody-v0", "ppo", 192, tmp_path / "vec", vectorised=True, **kw)
    plain = agents.train("ThreeBody-v0", "ppo", 192, tmp_path / "plain", **kw)
    a, b = vec.policy.state_dict(), plain.policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert agents.load(tmp_path / "vec")[1]["vectorised"] is True
    curve = (tmp_path / "vec" / "learning_curve.csv").read_text()
    assert curve == (tmp_path / "plain" / "learning_curve.csv").read_text()
    assert len(curve.splitlines()) > 10  # one row per episode, returns as Monitor rounds them
    with pytest.raises(ValueError, match="vectorised"):
        agents.train("LearningRate-v0", "ppo", 10, tmp_path / "x", vectorised=True)
