"""Training step-size agents with stable-baselines3: checkpoints, resume, learning curves.

``train(env_id, algo, steps, out)`` builds vectorised copies of a registered ``stepsize/...-v0``
environment, trains DQN or PPO and writes into ``out``:

* ``config.json``: the environment, algorithm, hyperparameters and seed of the run;
* ``checkpoints/model_<steps>.zip`` (+ the DQN replay buffer) every ``checkpoint_every`` steps;
* ``learning_curve.csv``: one row per finished episode (timesteps, return, length);
* ``model.zip``: the final model.

``resume=True`` continues from the newest checkpoint without losing finished work (the step
counter, replay buffer and exploration schedule carry on).

DQN defaults are Saz Ulibarrena & Portegies Zwart's (CNSNS 2025): AdamW with learning rate 1e-3,
Huber loss (SB3's), batch 128, replay 10,000, gamma 0.99, soft target update tau 0.005 after every
step, learning from the first full batch, epsilon 0.9 -> 0.05; the network of their public code
(``hidden_layers`` 3, ``neurons`` 100: an input layer and three hidden layers of 100 units).
Their flaws are not repeated: epsilon is annealed once, over the first 10% of the run (theirs,
exp(-steps / 1000), restarted every episode and stayed near 0.85), the hidden layers have their
own weights (theirs applied one matrix three times), and each episode draws a fresh initial
condition from the environment's generator, seeded once (theirs re-seeded so most episodes
repeated one condition).  Not reproduced: their gradient clipping by value at 100 (SB3 clips the
gradient norm at 10).
"""

import csv
import json
import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
from tqdm.auto import tqdm

import envs  # noqa: F401  (registers the stepsize/... environments)

ALGORITHMS = {"dqn": DQN, "ppo": PPO}

DQN_PAPER = dict(
    learning_rate=1e-3,
    batch_size=128,
    buffer_size=10_000,
    gamma=0.99,
    tau=0.005,
    exploration_initial_eps=0.9,
    exploration_final_eps=0.05,
    exploration_fraction=0.1,
    learning_starts=128,
    train_freq=1,
    gradient_steps=1,
    target_update_interval=1,
    policy_kwargs=dict(net_arch=[100, 100, 100, 100], optimizer_class=torch.optim.AdamW),
)
PPO_DEFAULTS = dict(
    n_steps=256,
    batch_size=64,
    learning_rate=3e-4,
    gamma=0.99,
    policy_kwargs=dict(net_arch=[64, 64]),
)


def env_id_of(name):
    """Accept ``ThreeBody-v0`` or ``stepsize/ThreeBody-v0``; raise for unregistered names."""
    env_id = name if "/" in name else f"stepsize/{name}"
    if env_id not in gym.registry:
        known = sorted(k for k in gym.registry if k.startswith("stepsize/"))
        raise ValueError(f"env: unknown {name!r}; known: {', '.join(known)}")
    return env_id


class _Progress(BaseCallback):
    """Progress bar, learning-curve rows and periodic checkpoints."""

    def __init__(self, out, total, checkpoint_every, save_buffer):
        super().__init__()
        self.out, self.total = Path(out), total
        self.every, self.save_buffer = checkpoint_every, save_buffer
        self.bar = None
        self.next_save = None

    def _on_training_start(self):
        done = self.model.num_timesteps
        self.bar = tqdm(total=self.total, initial=done, desc="training", unit="step", disable=None)
        self.next_save = (done // self.every + 1) * self.every
        self.curve = open(self.out / "learning_curve.csv", "a", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.curve)
        if self.curve.tell() == 0:
            self.writer.writerow(["timesteps", "return", "length"])

    def _on_step(self):
        self.bar.update(self.training_env.num_envs)
        for info in self.locals.get("infos", []):
            ep = info.get("episode")
            if ep is not None:
                self.writer.writerow([self.model.num_timesteps, ep["r"], ep["l"]])
        if self.model.num_timesteps >= self.next_save:
            save_checkpoint(self.model, self.out, self.save_buffer)
            self.curve.flush()
            self.next_save += self.every
        return True

    def _on_training_end(self):
        self.bar.close()
        self.curve.close()


def save_checkpoint(model, out, save_buffer):
    path = Path(out) / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    model.save(path / f"model_{model.num_timesteps}.zip")
    if save_buffer:  # only the newest replay buffer is kept: it is what a resume needs
        for old in path.glob("buffer_*.pkl"):
            old.unlink()
        model.save_replay_buffer(path / f"buffer_{model.num_timesteps}.pkl")


def latest_checkpoint(out):
    """Newest ``(steps, model_path)`` in ``out/checkpoints``, or None."""
    found = []
    for p in (Path(out) / "checkpoints").glob("model_*.zip"):
        m = re.fullmatch(r"model_(\d+)\.zip", p.name)
        if m:
            found.append((int(m.group(1)), p))
    return max(found) if found else None


def train(
    env_id,
    algo="dqn",
    steps=10_000,
    out="runs/agent",
    *,
    seed=0,
    n_envs=1,
    subprocess=False,
    env_kwargs=None,
    hyperparams=None,
    checkpoint_every=None,
    resume=False,
    torch_threads=1,
    verbose=0,
):
    """Train ``algo`` on ``env_id`` for ``steps`` environment steps; returns the model.

    ``hyperparams`` override the defaults (``DQN_PAPER`` / ``PPO_DEFAULTS``); ``subprocess=True``
    runs the ``n_envs`` copies in worker processes (SubprocVecEnv).  ``torch_threads=1``: small
    MLPs train several times faster on one thread than on contended cores.
    """
    env_id = env_id_of(env_id)
    if algo not in ALGORITHMS:
        raise ValueError(f"algo: unknown {algo!r}; known: {', '.join(ALGORITHMS)}")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    torch.set_num_threads(torch_threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env_kwargs = dict(env_kwargs or {})
    params = {**(DQN_PAPER if algo == "dqn" else PPO_DEFAULTS), **(hyperparams or {})}
    config = dict(
        env=env_id,
        algo=algo,
        steps=int(steps),
        seed=seed,
        n_envs=n_envs,
        env_kwargs=env_kwargs,
        hyperparams=params,
    )
    vec_cls = SubprocVecEnv if subprocess and n_envs > 1 else DummyVecEnv
    # "envs:<id>": a SubprocVecEnv worker imports envs (which registers the id) before making it
    make_id = f"envs:{env_id}" if env_id.startswith("stepsize/") else env_id
    venv = make_vec_env(
        make_id, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs, vec_env_cls=vec_cls
    )
    latest = latest_checkpoint(out) if resume else None
    if latest is not None:
        model = ALGORITHMS[algo].load(latest[1], env=venv)
        buffer = out / "checkpoints" / f"buffer_{latest[0]}.pkl"
        if algo == "dqn" and buffer.exists():
            model.load_replay_buffer(buffer)
    else:
        if resume:
            raise ValueError(f"resume: no checkpoint in {out / 'checkpoints'}")
        model = ALGORITHMS[algo]("MlpPolicy", venv, seed=seed, verbose=verbose, **params)
        (out / "learning_curve.csv").unlink(missing_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2, default=_jsonable))
    remaining = int(steps) - model.num_timesteps
    every = checkpoint_every or max(1000, int(steps) // 10)
    if remaining > 0:
        model.learn(
            remaining,
            reset_num_timesteps=False,
            callback=_Progress(out, int(steps), every, algo == "dqn"),
        )
    model.save(out / "model.zip")
    venv.close()
    return model


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def load(out):
    """The final (or newest checkpointed) model of a training directory and its config."""
    out = Path(out)
    config = json.loads((out / "config.json").read_text())
    path = out / "model.zip"
    if not path.exists():
        latest = latest_checkpoint(out)
        if latest is None:
            raise ValueError(f"no model.zip or checkpoint in {out}")
        path = latest[1]
    return ALGORITHMS[config["algo"]].load(path), config
