"""Agent training loses nothing: a run killed by SIGKILL resumes to the weights and episode
returns of an uninterrupted run bit for bit; another configuration, a missing replay buffer or
damaged files are refused or skipped with the file named."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

import agents
from tests.test_robust_kill import ROOT

SMALL = {
    "dqn": dict(learning_starts=50, batch_size=32, buffer_size=1000),
    "ppo": dict(n_steps=32, batch_size=32),
}
KW = dict(env_kwargs=dict(max_steps=20), seed=5, n_envs=2, checkpoint_every=100)

KILLED = """
import os, signal, sys
import torch
from stable_baselines3 import DQN, PPO
import agents

torch.set_num_threads(1)
algo, out, hyper = sys.argv[1], sys.argv[2], eval(sys.argv[3])
cls = DQN if algo == "dqn" else PPO
real = cls.train

def train_then_die(self, *args, **kwargs):
    if self.num_timesteps >= 220:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, *args, **kwargs)

cls.train = train_then_die
agents.train("LearningRate-v0", algo, 300, out, hyperparams=hyper, **{KW})
"""


def _same_weights(a, b):
    sa, sb = a.policy.state_dict(), b.policy.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("algo", ["dqn", "ppo"])
def test_a_killed_training_run_resumes_bit_for_bit(tmp_path, algo):
    torch.set_num_threads(1)
    out = tmp_path / "run"
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED.replace("{KW}", repr(KW))))
    # the child inherits the environment: BLAS settings such as OPENBLAS_CORETYPE select the
    # kernels, and another kernel rounds differently (a stripped env gave weights 6e-8 apart)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(script), algo, str(out), repr(SMALL[algo])],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert 100 <= agents.latest_checkpoint(out)[0] < 220  # the work after it is redone
    resumed = agents.train(
        "LearningRate-v0", algo, 300, out, hyperparams=SMALL[algo], resume=True, **KW
    )
    full = agents.train(
        "LearningRate-v0", algo, 300, tmp_path / "full", hyperparams=SMALL[algo], **KW
    )
    assert resumed.num_timesteps == full.num_timesteps
    assert _same_weights(resumed, full)
    curve = (out / "learning_curve.csv").read_text()
    assert curve == (tmp_path / "full" / "learning_curve.csv").read_text()
    assert len(curve.splitlines()) > 12  # episode returns, one row per episode


def test_resume_refuses_what_would_not_continue_the_run(tmp_path):
    out = tmp_path / "run"
    kw = dict(env_kwargs=dict(max_steps=20), checkpoint_every=100, hyperparams=SMALL["dqn"])
    agents.train("LearningRate-v0", "dqn", 200, out, seed=0, **kw)
    with pytest.raises(ValueError, match="another configuration .*seed: checkpoint 0, now 1"):
        agents.train("LearningRate-v0", "dqn", 300, out, seed=1, resume=True, **kw)
    other = {**kw, "hyperparams": {**SMALL["dqn"], "batch_size": 16}}
    with pytest.raises(ValueError, match="another configuration .*hyperparams"):
        agents.train("LearningRate-v0", "dqn", 300, out, resume=True, **other)
    checkpoints = out / "checkpoints"
    (checkpoints / "model_200.zip").write_bytes(b"PK\x03\x04 not a model")
    with pytest.warns(RuntimeWarning, match=r"model_200\.zip' cannot be loaded"):
        model = agents.train("LearningRate-v0", "dqn", 250, out, resume=True, **kw)
    assert model.num_timesteps == 250  # went on from checkpoint 100
    (checkpoints / "buffer_200.pkl").unlink()
    with pytest.raises(ValueError, match=r"replay buffer '.*buffer_200\.pkl' of checkpoint 200"):
        agents.train("LearningRate-v0", "dqn", 300, out, resume=True, **kw)


def test_damaged_policy_and_config_files_are_named(tmp_path):
    from stepsize import UsageError

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_bytes(b"\xff\xfe not text")
    with pytest.raises(UsageError, match=r"agent config '.*config\.json' is not a text"):
        agents.load(run)
    (run / "config.json").write_text("{ truncated")
    with pytest.raises(UsageError, match=r"agent config '.*config\.json' is not valid JSON"):
        agents.load(run)
    (run / "config.json").write_text('{"algo": "ppo"}')
    (run / "model.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    with pytest.raises(UsageError, match=r"policy file '.*model\.zip' is not a readable PPO"):
        agents.load(run)
