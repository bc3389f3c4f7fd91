"""Samplers of the probability-flow ODE ``dx/dt = v(x, t)`` over any schedule, and teachers.

``model`` is any callable ``v(x, t)`` on torch tensors, ``x`` of shape ``(B, ...)`` and ``t`` of
shape ``(B,)``, with ``t = 0`` noise and ``t = 1`` data; a ``torch.nn.Module`` gets ``x`` in the
dtype of its parameters. ``noise`` may be a tensor or a numpy array; samples come back as the
same kind.
"""

from dataclasses import dataclass

import numpy as np
import torch

from stepsize.flow._adapters import Decoupled, Model, as_model
from stepsize.flow._solvers import (
    sample_dpmpp_2m,
    sample_dpmpp_2m_flow,
    sample_dpmpp_3m,
    sample_euler,
    sample_heun,
    sample_ipndm,
    sample_midpoint,
    sample_unipc,
)
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


SOLVERS = {
    "euler": sample_euler,
    "heun": sample_heun,
    "midpoint": sample_midpoint,
    "ipndm": sample_ipndm,
    "dpmpp_2m": sample_dpmpp_2m,
    "dpmpp_2m_flow": sample_dpmpp_2m_flow,
    "dpmpp_3m": sample_dpmpp_3m,
    "unipc": sample_unipc,
}
"""Samplers by name (:mod:`stepsize.flow._solvers`)."""

NFE_PER_STEP = {
    "euler": 1,
    "heun": 2,
    "midpoint": 2,
    "ipndm": 1,
    "dpmpp_2m": 1,
    "dpmpp_2m_flow": 1,
    "dpmpp_3m": 1,
    "unipc": 1,
}
"""Model evaluations per step of each sampler (Heun's last step to data is one evaluation for a
model undefined at ``t = 1``)."""


def _start(model, times, x):
    """Sampling starts at pure noise: ``t_0 = process.t_min`` and ``x = (1 - t_min) noise``
    (a VP/VE model's ``sigma_max``; nothing changes for flows)."""
    t_min = model.process.t_min
    if t_min > 0.0:
        if min(times[1:]) <= t_min:
            raise ValueError(
                f"schedule: times up to t_min = {t_min:.6g} are all this model's pure noise "
                "(its sigma_max); the second time must exceed it"
            )
        times = [t_min, *times[1:]]
        x = (1.0 - t_min) * x
    return times, x


def _uniform(model, n_steps):
    """``n_steps`` uniform steps on ``[t_min, 1]`` written as a schedule (first time 0)."""
    t_min = model.process.t_min
    grid = t_min + (1.0 - t_min) * uniform(n_steps)
    grid[0] = 0.0
    return grid


def _solver(name):
    if name not in SOLVERS:
        raise ValueError(f"solver: unknown {name!r}; known: {', '.join(SOLVERS)}")
    return SOLVERS[name]


@torch.no_grad()
def sample(model, noise, schedule, solver="euler", eval_times=None):
    """Integrate from ``noise`` at ``t = 0`` to ``t = 1`` over ``schedule`` (increasing, 0 to 1).

    Returns the samples, same shape and kind as ``noise``; ``len(schedule) - 1`` steps of
    ``solver`` (a key of :data:`SOLVERS`). ``model`` is an adapter
    (:mod:`stepsize.flow._adapters`) or a flow velocity ``v(x, t)``. ``eval_times``: one time
    in ``[t_min, 1)`` per step at which the model is evaluated in place of the step's start
    time (:class:`stepsize.flow.Decoupled`, LD3's decoupled times; default: the schedule's).
    """
    times = check_schedule(schedule).tolist()
    x, is_numpy = _prepare(model, noise)
    m = as_model(model)
    times, x = _start(m, times, x)
    if eval_times is not None:
        ev = np.asarray(eval_times, dtype=np.float64)
        if ev.shape != (len(times) - 1,) or not np.all((ev >= m.process.t_min) & (ev < 1.0)):
            raise ValueError(
                f"eval_times must be {len(times) - 1} times in [t_min = "
                f"{m.process.t_min:.6g}, 1), one per step, got {np.asarray(eval_times)!r}"
            )
        m = Decoupled(m, times[:-1], ev.tolist())
    return _out(_solver(solver)(m, x, times), is_numpy)


@dataclass
class Trajectory:
    """A teacher trajectory: ``x[i]`` at ``times[i]`` and ``v[i] = v(x[i], times[i])``, i < N."""

    times: np.ndarray
    x: np.ndarray
    v: np.ndarray


class _Recorder(Model):
    """``model`` passed through, with the velocity of each call kept in ``calls``."""

    def __init__(self, model):
        self.model, self.calls = model, []
        self.process, self.defined_at_data = model.process, model.defined_at_data

    def velocity(self, x, t):
        v = self.model.velocity(x, t)
        self.calls.append(v)
        return v


@torch.no_grad()
def teacher(model, noise, n_steps=100, solver="euler", grid=None):
    """Fine-grid trajectory and velocities, the input of the Bellman planner.

    ``n_steps`` uniform steps (or the increasing ``grid`` from 0 to 1) of ``solver`` ("euler",
    BOSS's teacher, or "heun"), one call of the sampler per interval. Arrays are float64 numpy:
    ``x`` ``(N+1, B, ...)``, ``v`` ``(N, B, ...)``, where ``v[i]`` is the model's velocity at
    ``(x[i], t_i)`` (the first evaluation of step ``i``, kept as the sampler runs).
    """
    m = as_model(model)
    times = check_schedule(_uniform(m, check_steps(n_steps, "n_steps")) if grid is None else grid)
    if solver not in ("euler", "heun"):
        raise ValueError(f"solver: unknown {solver!r}; known: euler, heun")
    x, _ = _prepare(model, noise)
    run, x = _start(m, times.tolist(), x)
    rec, step = _Recorder(m), SOLVERS[solver]
    xs, vs = [x], []
    for t0, t1 in zip(run[:-1], run[1:]):
        rec.calls.clear()
        x = step(rec, x, [t0, t1])
        vs.append(rec.calls[0])
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
    m = as_model(model)
    grid = np.union1d(_uniform(m, check_steps(n_steps, "n_steps")), want[want > m.process.t_min])
    x, is_numpy = _prepare(model, noise)
    run, x = _start(m, grid.tolist(), x)
    step = _solver(solver)
    out = [x] if want[0] == 0.0 else []
    for t0, t1 in zip(run[:-1], run[1:]):
        x = step(m, x, [t0, t1])
        if t1 in want:
            out.append(x)
    return _out(out[0] if at is None else torch.stack(out), is_numpy)
