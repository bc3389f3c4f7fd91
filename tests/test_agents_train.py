"""agents.train: checkpoints, resume without losing work, learning curves, bad input."""

import csv

import numpy as np
import pytest

import agents

SMALL_DQN = dict(learning_starts=50, batch_size=32, buffer_size=1000)


def test_dqn_checkpoints_and_resume(tmp_path):
    out = tmp_path / "run"
    model = agents.train("LearningRate-v0", "dqn", 200, out, checkpoint_every=100,
                         hyperparams=SMALL_DQN, env_kwargs=dict(max_steps=20))
    assert model.num_timesteps == 200
    assert agents.latest_checkpoint(out)[0] == 200
    assert sorted(p.name for p in (out / "checkpoints").glob("buffer_*")) == ["buffer_200.pkl"]
    resumed = agents.train("LearningRate-v0", "dqn", 300, out, checkpoint_every=100,
                           hyperparams=SMALL_DQN, env_kwargs=dict(max_steps=20), resume=True)
    assert resumed.num_timesteps == 300
    assert resumed.replay_buffer.size() >= 290  # the buffer came back with the checkpoint
    rows = list(csv.DictReader(open(out / "learning_curve.csv")))
    steps = [int(r["timesteps"]) for r in rows]
    assert steps == sorted(steps) and steps[-1] <= 300 and len(rows) >= 10
    loaded, config = agents.load(out)
    assert config["algo"] == "dqn" and config["hyperparams"]["tau"] == 0.005
    obs = np.zeros(7, dtype=np.float32)
    assert loaded.predict(obs, deterministic=True)[0] == resumed.predict(obs,
                                                                         deterministic=True)[0]


def test_paper_dqn_settings():
    assert agents.DQN_PAPER["learning_rate"] == 1e-3 and agents.DQN_PAPER["batch_size"] == 128
    assert agents.DQN_PAPER["buffer_size"] == 10_000 and agents.DQN_PAPER["gamma"] == 0.99
    assert agents.DQN_PAPER["exploration_initial_eps"] == 0.9
    assert agents.DQN_PAPER["exploration_final_eps"] == 0.05


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="env: unknown 'Nope-v0'; known: .*LearningRate-v0"):
        agents.train("Nope-v0", "dqn", 10, tmp_path)
    with pytest.raises(ValueError, match="algo: unknown 'sac'; known: dqn, ppo"):
        agents.train("LearningRate-v0", "sac", 10, tmp_path)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        agents.train("LearningRate-v0", "ppo", 0, tmp_path)
    with pytest.raises(ValueError, match="resume: no checkpoint"):
        agents.train("LearningRate-v0", "ppo", 10, tmp_path / "empty", resume=True)
