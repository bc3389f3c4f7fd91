"""Training step-size agents with stable-baselines3: checkpoints, resume, learning curves.

``train(env_id, algo, steps, out)`` builds vectorised copies of a registered ``stepsize/...-v0``
environment, trains DQN or PPO and writes into ``out``:

* ``config.json``: the environment, algorithm, hyperparameters and seed of the run;
* ``checkpoints/model_<steps>.zip`` every ``checkpoint_every`` steps (at the first rollout that
  starts past the mark), with ``state_<steps>.pkl`` (the random generators of Python, NumPy,
  torch and the action space, and a pickle of every environment, mid-episode) and for DQN
  ``buffer_<steps>.pkl`` (the replay buffer); the state and buffer of the two newest
  checkpoints are kept, every file is written atomically;
* ``learning_curve.csv``: one row per finished episode (timesteps, return, length);
* ``model.zip``: the final model.

``resume=True`` continues from the newest checkpoint that loads (falling back to the one before
with a warning naming the bad file) and gives the weights and episode returns of an
uninterrupted run with the same seed, bit for bit: nothing is re-seeded, the environments carry
on from where they were.  A run directory of another configuration (anything in
``config.json`` but ``steps``) or a DQN checkpoint without its replay buffer is refused.
Without ``resume`` a run starts afresh and replaces the checkpoints and curve found in ``out``.

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
import io
import json
import pickle
import random
import re
import warnings
from pathlib import Path

import cloudpickle
import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
from tqdm.auto import tqdm

import envs  # registers the stepsize/... environments
from stepsize._atomic import (
    CheckpointError,
    atomic_write,
    config_diff,
    load_pickle,
    save_pickle,
)
from stepsize._errors import UsageError, read_json

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


class _Snapshot(gym.Wrapper):
    """Outermost wrapper of each training environment: ``snapshot()`` pickles everything inside
    it (the environment mid-episode, its generator, the Monitor's episode sums) and
    ``restore(blob)`` puts it back; reached through ``VecEnv.env_method`` in any VecEnv."""

    def snapshot(self):
        return cloudpickle.dumps(self.env)

    def restore(self, blob):
        self.env = pickle.loads(blob)


class _Progress(BaseCallback):
    """Progress bar, learning-curve rows and periodic checkpoints.

    A checkpoint is written when a rollout starts: the previous training step is complete and
    the next rollout not begun, so the saved state is one the learning loop passes through.
    """

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

    def _on_rollout_start(self):
        self._save_if_due()

    def _save_if_due(self):
        if self.model.num_timesteps >= self.next_save:
            self.curve.flush()  # every row up to this checkpoint is on disk before it
            save_checkpoint(self.model, self.out, self.save_buffer)
            self.next_save = (self.model.num_timesteps // self.every + 1) * self.every

    def _on_step(self):
        self.bar.update(self.training_env.num_envs)
        for info in self.locals.get("infos", []):
            ep = info.get("episode")
            if ep is not None:
                self.writer.writerow([self.model.num_timesteps, ep["r"], ep["l"]])
        return True

    def _on_training_end(self):
        self._save_if_due()  # the loop ended after a training step: a state it passes through
        self.bar.close()
        self.curve.close()


def _files(out, steps):
    folder = Path(out) / "checkpoints"
    return (
        folder / f"model_{steps}.zip",
        folder / f"state_{steps}.pkl",
        folder / f"buffer_{steps}.pkl",
    )


def save_checkpoint(model, out, save_buffer):
    """Write checkpoint ``model.num_timesteps`` of ``model`` (see the module notes); the model
    file comes last, so a checkpoint whose model file exists is complete."""
    steps = model.num_timesteps
    model_path, state_path, buffer_path = _files(out, steps)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    if save_buffer:
        with atomic_write(buffer_path) as fh:
            model.save_replay_buffer(fh)
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),  # noqa: NPY002  (SB3 draws replay batches from it)
        "torch": torch.get_rng_state(),
        "action_space": model.action_space.np_random.bit_generator.state,
        "envs": model.get_env().env_method("snapshot"),
    }
    save_pickle(state_path, state)
    buf = io.BytesIO()
    model.save(buf)
    with atomic_write(model_path) as fh:
        fh.write(buf.getvalue())
    found = _checkpoints(out)
    for old, _ in found[2:]:  # resuming needs only the newest two states and buffers
        for path in _files(out, old)[1:]:
            path.unlink(missing_ok=True)


def _checkpoints(out):
    found = []
    for p in (Path(out) / "checkpoints").glob("model_*.zip"):
        m = re.fullmatch(r"model_(\d+)\.zip", p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found, reverse=True)


def latest_checkpoint(out):
    """Newest ``(steps, model_path)`` in ``out/checkpoints``, or None."""
    found = _checkpoints(out)
    return found[0] if found else None


def _load_checkpoint(cls, out, venv, algo):
    """The model of the newest checkpoint that loads, restored to the very state it was saved
    in; an unreadable one is skipped with a warning naming it."""
    found = _checkpoints(out)
    if not found:
        raise UsageError(f"resume: no checkpoint in {Path(out) / 'checkpoints'}")
    failed = []
    for steps, model_path in found:
        _, state_path, buffer_path = _files(out, steps)
        if not state_path.exists():
            failed.append(f"{str(state_path)!r} is missing")
            continue
        if algo == "dqn" and not buffer_path.exists():
            raise CheckpointError(
                f"resume: the replay buffer {str(buffer_path)!r} of checkpoint {steps} is "
                "missing; resuming without it would not continue the run"
            )
        try:
            state = load_pickle(state_path)
            model = cls.load(model_path, env=venv, force_reset=False)
            if algo == "dqn":
                model.load_replay_buffer(buffer_path)
        except Exception as exc:  # a damaged file shows up as any error of its reader
            failed.append(f"checkpoint {steps} ({type(exc).__name__}: {exc})")
            warnings.warn(
                f"checkpoint {str(model_path)!r} cannot be loaded ({type(exc).__name__}: "
                f"{exc}); trying the one before",
                RuntimeWarning,
                stacklevel=3,
            )
            continue
        for i, blob in enumerate(state["envs"]):
            venv.env_method("restore", blob, indices=[i])
        random.setstate(state["python"])
        np.random.set_state(state["numpy"])  # noqa: NPY002
        torch.set_rng_state(state["torch"])
        model.action_space.np_random.bit_generator.state = state["action_space"]
        return model
    raise CheckpointError(
        f"resume: no checkpoint in {Path(out) / 'checkpoints'} loads: " + "; ".join(failed)
    )


def _keep_curve_until(path, steps):
    """Drop the learning-curve rows written after checkpoint ``steps`` (the resumed run writes
    them again)."""
    if not path.exists():
        return
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    kept = rows[:1] + [r for r in rows[1:] if r and int(r[0]) <= steps]
    with atomic_write(path, "w") as fh:
        csv.writer(fh).writerows(kept)


def _check_config(out, config):
    stored = read_json(Path(out) / "config.json", "agent config")
    now = json.loads(json.dumps(config, default=_jsonable))
    diff = config_diff(
        {k: v for k, v in stored.items() if k != "steps"},
        {k: v for k, v in now.items() if k != "steps"},
    )
    if diff:
        raise CheckpointError(
            f"resume: {str(Path(out))!r} holds a run of another configuration ("
            + "; ".join(diff)
            + "); use another --out to start afresh"
        )


def train(
    env_id,
    algo="dqn",
    steps=10_000,
    out="runs/agent",
    *,
    seed=0,
    n_envs=1,
    subprocess=False,
    vectorised=False,
    env_kwargs=None,
    hyperparams=None,
    checkpoint_every=None,
    resume=False,
    torch_threads=1,
    verbose=0,
):
    """Train ``algo`` on ``env_id`` for ``steps`` environment steps; returns the model.

    ``hyperparams`` override the defaults (``DQN_PAPER`` / ``PPO_DEFAULTS``); ``subprocess=True``
    runs the ``n_envs`` copies in worker processes (SubprocVecEnv); ``vectorised=True`` (for
    ThreeBody-v0) steps them all in one compiled call (:class:`envs.ThreeBodyVecEnv`, seeded
    as ``make_vec_env`` seeds its copies: copy k with ``seed + k``).  ``torch_threads=1``: small
    MLPs train several times faster on one thread than on contended cores.
    """
    env_id = env_id_of(env_id)
    if algo not in ALGORITHMS:
        raise ValueError(f"algo: unknown {algo!r}; known: {', '.join(ALGORITHMS)}")
    steps = _positive_int(steps, "steps")
    n_envs = _positive_int(n_envs, "n_envs")
    if checkpoint_every is not None:
        checkpoint_every = _positive_int(checkpoint_every, "checkpoint_every")
    if vectorised and (subprocess or env_id != "stepsize/ThreeBody-v0"):
        raise ValueError(
            "vectorised: only for stepsize/ThreeBody-v0, in this process (not with subprocess)"
        )
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
    if vectorised:  # only then: configs of earlier runs stay as they were
        config["vectorised"] = True
    if resume and latest_checkpoint(out) is None:
        raise UsageError(f"resume: no checkpoint in {out / 'checkpoints'}")
    if resume:
        _check_config(out, config)
    if vectorised:
        venv = envs.ThreeBodyVecEnv(n_envs, **env_kwargs)
        venv.seed(seed)
    else:
        vec_cls = SubprocVecEnv if subprocess and n_envs > 1 else DummyVecEnv
        # "envs:<id>": a SubprocVecEnv worker imports envs (which registers the id) first
        make_id = f"envs:{env_id}" if env_id.startswith("stepsize/") else env_id
        venv = make_vec_env(
            make_id,
            n_envs=n_envs,
            seed=seed,
            env_kwargs=env_kwargs,
            vec_env_cls=vec_cls,
            wrapper_class=_Snapshot,
        )
    if resume:
        model = _load_checkpoint(ALGORITHMS[algo], out, venv, algo)
        _keep_curve_until(out / "learning_curve.csv", model.num_timesteps)
    else:
        model = ALGORITHMS[algo]("MlpPolicy", venv, seed=seed, verbose=verbose, **params)
        (out / "learning_curve.csv").unlink(missing_ok=True)
        for steps_done, _ in _checkpoints(out):  # a fresh run replaces the one in ``out``
            for path in _files(out, steps_done):
                path.unlink(missing_ok=True)
    with atomic_write(out / "config.json", "w") as fh:
        fh.write(json.dumps(config, indent=2, default=_jsonable))
    remaining = int(steps) - model.num_timesteps
    every = checkpoint_every or max(1000, int(steps) // 10)
    if remaining > 0:
        model.learn(
            remaining,
            reset_num_timesteps=False,
            callback=_Progress(out, int(steps), every, algo == "dqn"),
        )
    buf = io.BytesIO()
    model.save(buf)
    with atomic_write(out / "model.zip") as fh:
        fh.write(buf.getvalue())
    venv.close()
    return model


def training_summary(model, out):
    """What a finished :func:`train` run left in ``out``: its directory, the timesteps the
    model has taken, the saved model and the newest checkpoint (None without one)."""
    latest = latest_checkpoint(out)
    return {
        "out": str(out),
        "timesteps": int(model.num_timesteps),
        "model": str(Path(out) / "model.zip"),
        "latest_checkpoint": None if latest is None else str(latest[1]),
    }


def _positive_int(value, name):
    try:
        ok = not isinstance(value, bool) and int(value) == value and value >= 1
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def load(out):
    """The final (or newest checkpointed) model of a training directory and its config."""
    out = Path(out)
    config = read_json(out / "config.json", "agent config")
    if not isinstance(config, dict) or config.get("algo") not in ALGORITHMS:
        raise UsageError(
            f"agent config {str(out / 'config.json')!r}: 'algo' must be one of "
            f"{', '.join(ALGORITHMS)}"
        )
    path = out / "model.zip"
    if not path.exists():
        latest = latest_checkpoint(out)
        if latest is None:
            raise UsageError(f"no model.zip or checkpoint in {out}")
        path = latest[1]
    return load_policy(ALGORITHMS[config["algo"]], path), config


def load_policy(cls, path, **kwargs):
    """``cls.load(path)`` (a stable-baselines3 algorithm); a file that is not a saved model of
    ``cls`` (damaged, truncated, another kind of zip) raises UsageError naming it."""
    try:
        return cls.load(path, **kwargs)
    except Exception as exc:  # SB3 reports a bad zip as AssertionError, KeyError, BadZipFile...
        raise UsageError(
            f"policy file {str(path)!r} is not a readable {cls.__name__} model "
            f"({type(exc).__name__}: {exc})"
        ) from exc
