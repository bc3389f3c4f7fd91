"""Samplers of the probability-flow ODE ``dx/dt = v(x, t)`` over any schedule, and teachers.

``model`` is any callable ``v(x, t)`` on torch tensors, ``x`` of shape ``(B, ...)`` and ``t`` of
shape ``(B,)``, with ``t = 0`` noise and ``t = 1`` data; a ``torch.nn.Module`` gets ``x`` in the
dtype of its parameters. ``noise`` may be a tensor or a numpy array; samples come back as the
same kind.
"""

from dataclasses import dataclass

import numpy as np
import torch

from stepsize.schedules import check_schedule, uniform
from stepsize.schedules._check import check_steps


def _prepare(model, noise):
    is_numpy = not isinstance(noise, torch.Tensor)
    x = torch.as_tensor(np.asarray(noise) if is_numpy else noise)
    if x.ndim < 1 or len(x) == 0 or not torch.is_floating_point(x):
        raise ValueError("noise must be a non-empty floating-point batch of shape (B, ...)")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("noise must be finite (it holds NaN or inf)")
    dim = getattr(model, "config", {}).get("dim") if isinstance(model, torch.nn.Module) else None
    if dim is not None and tuple(x.shape[1:]) != (dim,):
        raise ValueError(
            f"noise must have shape (B, {dim}) for this model of dimension {dim}, "
            f"got {tuple(x.shape)}"
        )
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    if params:
        x = x.to(dtype=params[0].dtype, device=params[0].device)
    return x, is_numpy


def _out(x, is_numpy):
    return x.detach().cpu().numpy() if is_numpy else x


def _stack(seq):
    return torch.stack(seq).double().cpu().numpy()


def _v(model, x, t):
    return model(x, torch.full((len(x),), float(t), dtype=x.dtype, device=x.device))


@torch.no_grad()
def sample_euler(model, x, times):
    """Euler: ``x += (t_1 - t_0) v(x, t_0)``; one evaluation per step."""
    for t0, t1 in zip(times[:-1], times[1:]):
        x = x + (t1 - t0) * _v(model, x, t0)
    return x


@torch.no_grad()
def sample_heun(model, x, times):
    """Heun (explicit trapezoid, EDM's 2nd-order step): two evaluations per step."""
    for t0, t1 in zip(times[:-1], times[1:]):
        h = t1 - t0
        d = _v(model, x, t0)
        d2 = _v(model, x + h * d, t1)
        x = x + 0.5 * h * (d + d2)
    return x


@torch.no_grad()
def sample_midpoint(model, x, times):
    """Explicit midpoint: ``x += h v(x + h/2 v(x, t_0), t_0 + h/2)``; two evaluations per step."""
    for t0, t1 in zip(times[:-1], times[1:]):
        h = t1 - t0
        x = x + h * _v(model, x + 0.5 * h * _v(model, x, t0), t0 + 0.5 * h)
    return x


SOLVERS = {"euler": sample_euler, "heun": sample_heun, "midpoint": sample_midpoint}
"""Samplers by name."""

NFE_PER_STEP = {"euler": 1, "heun": 2, "midpoint": 2}
"""Model evaluations per step of each sampler."""


def _solver(name):
    if name not in SOLVERS:
        raise ValueError(f"solver: unknown {name!r}; known: {', '.join(SOLVERS)}")
    return SOLVERS[name]


@torch.no_grad()
def sample(model, noise, schedule, solver="euler"):
    """Integrate from ``noise`` at ``t = 0`` to ``t = 1`` over ``schedule`` (increasing, 0 to 1).

    Returns the samples, same shape and kind as ``noise``; ``len(schedule) - 1`` steps of
    ``solver`` ("euler", "heun" or "midpoint").
    """
    times = check_schedule(schedule).tolist()
    x, is_numpy = _prepare(model, noise)
    return _out(_solver(solver)(model, x, times), is_numpy)


@dataclass
class Trajectory:
    """A teacher trajectory: ``x[i]`` at ``times[i]`` and ``v[i] = v(x[i], times[i])``, i < N."""

    times: np.ndarray
    x: np.ndarray
    v: np.ndarray


@torch.no_grad()
def teacher(model, noise, n_steps=100, solver="euler", grid=None):
    """Fine-grid trajectory and velocities, the input of the Bellman planner.

    ``n_steps`` uniform steps (or the increasing ``grid`` from 0 to 1) of ``solver`` ("euler",
    BOSS's teacher, or "heun"). Arrays are float64 numpy: ``x`` ``(N+1, B, ...)``, ``v``
    ``(N, B, ...)``, where ``v[i]`` is the model's velocity at ``(x[i], t_i)``.
    """
    times = check_schedule(uniform(check_steps(n_steps, "n_steps")) if grid is None else grid)
    if solver not in ("euler", "heun"):
        raise ValueError(f"solver: unknown {solver!r}; known: euler, heun")
    x, _ = _prepare(model, noise)
    xs, vs = [x], []
    for t0, t1 in zip(times[:-1].tolist(), times[1:].tolist()):
        h = t1 - t0
        d = _v(model, x, t0)
        vs.append(d)
        if solver == "euler":
            x = x + h * d
        else:
            x = x + 0.5 * h * (d + _v(model, x + h * d, t1))
        xs.append(x)
    return Trajectory(times, _stack(xs), _stack(vs))


@torch.no_grad()
def reference(model, noise, n_steps=1000, solver="heun", at=None):
    """Accurate solution from ``noise``: the states at the times ``at`` (default: only ``t = 1``).

    Integrates ``n_steps`` uniform steps of ``solver`` with the times of ``at`` inserted into the
    grid. Returns ``(B, ...)`` for ``at=None``, else ``(len(at), B, ...)``; same kind as ``noise``.
    """
    want = np.array([1.0]) if at is None else np.asarray(at, dtype=np.float64)
    if want.ndim != 1 or not np.all((want >= 0) & (want <= 1)) or np.any(np.diff(want) <= 0):
        raise ValueError("at must be strictly increasing times in [0, 1]")
    grid = np.union1d(uniform(check_steps(n_steps, "n_steps")), want)
    x, is_numpy = _prepare(model, noise)
    step = _solver(solver)
    out = [x] if want[0] == 0.0 else []
    for t0, t1 in zip(grid[:-1].tolist(), grid[1:].tolist()):
        x = step(model, x, [t0, t1])
        if t1 in want:
            out.append(x)
    return _out(out[0] if at is None else torch.stack(out), is_numpy)
