"""Flow-matching training (rectified flow / conditional OT path) and the digits classifier.

Loss (Lipman et al. 2023; Liu et al. 2023): ``E || v(x_t, t) - (x_1 - x_0) ||^2`` with
``x_0 ~ N(0, I)``, ``x_1`` from the data, ``t ~ U[0, 1]`` and ``x_t = (1 - t) x_0 + t x_1``,
averaged over the coordinates. Adam with a cosine-decayed learning rate.
"""

import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from stepsize._atomic import check_same_config, load_checkpoint, save_checkpoint
from stepsize.flow._data import digit_labels, load_data
from stepsize.flow._model import DigitsClassifier, VelocityMLP


@dataclass
class TrainResult:
    """A trained model, its mean loss per ``log_every`` steps, and ``stats``."""

    model: torch.nn.Module
    losses: np.ndarray
    stats: dict = field(default_factory=dict)


def _pool(data, seed):
    if isinstance(data, str):
        return data, load_data(data, None if data == "digits" else 200_000, seed=seed)
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2 or not np.all(np.isfinite(x)):
        raise ValueError("data must be a data set name or a finite (n, dim) array, n >= 2")
    return "array", x


def _check_positive(integers, **values):
    """Each value a positive finite real number; with ``integers``, a whole number."""
    kind = "a positive integer" if integers else "a positive finite number"
    for name, v in values.items():
        real = isinstance(v, numbers.Real) and not isinstance(v, bool)
        if not (real and 0 < v < math.inf and (not integers or v == int(v))):
            raise ValueError(f"{name} must be {kind}, got {v!r}")


def train_flow(
    data,
    steps=5000,
    *,
    batch=512,
    lr=1e-3,
    hidden=None,
    depth=None,
    seed=0,
    checkpoint=None,
    checkpoint_every=1000,
    log_every=100,
):
    """Train a :class:`VelocityMLP` on ``data`` (a name of :data:`DATASETS` or an array).

    ``hidden``/``depth`` default to 128/3 for low-dimensional data and 256/4 otherwise. With
    ``checkpoint`` (a path) the state is saved atomically every ``checkpoint_every`` steps and at
    the end (the one before is kept as ``<checkpoint>.prev``), and a run finds an existing
    checkpoint and continues from it with results identical to an uninterrupted run; a
    checkpoint of another run (other data, steps, batch, lr, seed, width, depth or log_every)
    is refused with what differs, an unreadable one falls back to the previous one with a
    warning.
    """
    _check_positive(
        True, steps=steps, batch=batch, log_every=log_every, checkpoint_every=checkpoint_every
    )
    _check_positive(False, lr=lr)
    if lr > 1e30:  # Adam's first step lr / (1 - beta1) must stay a float32 number
        raise ValueError(f"lr must be at most 1e30, got {lr!r}")
    _check_positive(
        True, **{k: v for k, v in (("hidden", hidden), ("depth", depth)) if v is not None}
    )
    name, pool = _pool(data, seed)
    steps, batch = int(steps), int(batch)
    dim = pool.shape[1]
    hidden = hidden or (128 if dim <= 8 else 256)
    depth = depth or (3 if dim <= 8 else 4)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = VelocityMLP(dim, hidden=hidden, depth=depth)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, steps) / steps))
    )
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    data_t = torch.as_tensor(pool, dtype=torch.float32)
    step, losses, window = 0, [], []
    path = Path(checkpoint) if checkpoint is not None else None
    run = {
        "data": name if name != "array" else "array " + hashlib.sha256(pool.tobytes()).hexdigest(),
        "steps": steps,
        "batch": batch,
        "lr": float(lr),
        "seed": int(seed),
        "log_every": int(log_every),
        **model.config,
    }
    state = None
    if path is not None:
        state = load_checkpoint(
            path, lambda f: _check_state(torch.load(f, map_location="cpu", weights_only=True))
        )
    if state is not None:
        check_same_config(path, state["run"], run)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        gen.set_state(state["gen"])
        rng.bit_generator.state = json.loads(state["rng"])
        step, losses, window = state["step"], list(state["losses"]), list(state["window"])

    def save():
        state = {
            "run": run,
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "sched": sched.state_dict(),
            "gen": gen.get_state(),
            "rng": json.dumps(rng.bit_generator.state),
            "step": step,
            "losses": losses,
            "window": window,
        }
        save_checkpoint(path, lambda fh: torch.save(state, fh))

    model.train()
    while step < steps:
        x1 = data_t[torch.as_tensor(rng.integers(len(pool), size=batch))]
        x0 = torch.randn(x1.shape, generator=gen)
        t = torch.rand(batch, generator=gen)
        xt = (1.0 - t[:, None]) * x0 + t[:, None] * x1
        loss = torch.mean((model(xt, t) - (x1 - x0)) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        window.append(loss.item())
        if len(window) == log_every or step == steps:
            losses.append(float(np.mean(window)))
            window = []
        if path is not None and (step % checkpoint_every == 0 or step == steps):
            save()
    model.eval()
    stats = {
        "data": name,
        "steps": steps,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "hidden": hidden,
        "depth": depth,
        "final_loss": losses[-1] if losses else None,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    return TrainResult(model, np.array(losses), stats)


def _check_state(state):
    """A loaded checkpoint, or KeyError when it lacks what a resume needs."""
    needed = {"run", "model", "opt", "sched", "gen", "rng", "step", "losses", "window"}
    missing = needed - set(state)
    if missing:
        raise KeyError(f"not a train_flow checkpoint (no {', '.join(sorted(missing))})")
    return state


def train_classifier(steps=3000, *, batch=128, lr=1e-3, seed=0, test_fraction=0.2):
    """Train the :class:`DigitsClassifier` on ``load_digits``; ``stats["test_accuracy"]``."""
    _check_positive(True, steps=steps, batch=batch)
    _check_positive(False, lr=lr)
    x = torch.as_tensor(load_data("digits"), dtype=torch.float32)
    y = torch.as_tensor(digit_labels())
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    test, train = perm[:n_test], perm[n_test:]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = DigitsClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(int(steps)):
        idx = torch.as_tensor(train)[torch.randint(len(train), (batch,), generator=gen)]
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        acc = (model(x[test]).argmax(1) == y[test]).float().mean().item()
    stats = {
        "data": "digits",
        "steps": int(steps),
        "seed": seed,
        "test_accuracy": acc,
        "final_loss": float(np.mean(losses[-100:])),
    }
    return TrainResult(model, np.array(losses), stats)
