"""Bellman schedules for a flow model, end to end: noise, teacher, cost matrix, dynamic program;
for Euler (BOSS/GITS/OSS) and for the sampler that will run (:func:`plan_for_solver`)."""

import numpy as np
import torch

from stepsize.flow._adapters import as_model
from stepsize.flow._sample import SOLVERS, teacher
from stepsize.flow._solvers import (
    step_dpmpp_2m,
    step_dpmpp_2m_flow,
    step_dpmpp_3m,
    step_ipndm,
    step_unipc,
)
from stepsize.schedules import bellman, bellman_multistep, cost_matrix, model_grid, oss_path

PLANNERS = ("boss", "gits", "oss")
"""Planners of :func:`plan_bellman`."""


def make_noise(model, n, seed=0, shape=None):
    """``n`` standard normal samples of shape ``(n, *shape)`` from a seeded generator.

    ``shape`` defaults to ``(model.dim,)`` for models that have a ``dim`` (as
    :class:`VelocityMLP`).
    """
    if shape is None:
        if not hasattr(model, "dim"):
            raise ValueError("shape is needed for a model without a 'dim' attribute")
        shape = (model.dim,)
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return torch.randn((int(n), *shape), generator=torch.Generator().manual_seed(int(seed)))


def numpy_velocity(model):
    """``model`` as ``v(x, t)`` on float64 numpy arrays (``t`` of shape ``(B,)``)."""
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    dtype = params[0].dtype if params else torch.float32

    @torch.no_grad()
    def velocity(x, t):
        v = model(torch.as_tensor(x, dtype=dtype), torch.as_tensor(t, dtype=dtype))
        return v.double().cpu().numpy()

    return velocity


def plan_bellman(
    model,
    K,
    n_grid=100,
    n_samples=256,
    seed=0,
    *,
    method="boss",
    coeff=None,
    solver="euler",
    shape=None,
):
    """The ``K + 1`` times (0 to 1) of a ``K``-step Euler schedule planned on a teacher.

    ``method="boss"``: squared one-jump costs (:func:`stepsize.schedules.cost_matrix`) and the
    exact Bellman path, BOSS's stage 1 (teacher: ``n_grid`` uniform Euler steps from
    ``n_samples`` noise samples drawn with ``seed``); ``"gits"``: GITS's L2 costs with
    ``coeff = 1.15``; ``"oss"``: the student-state planner :func:`stepsize.schedules.oss_path`
    (``K`` extra batched model calls).
    """
    if method not in PLANNERS:
        raise ValueError(f"method: unknown {method!r}; known: {', '.join(PLANNERS)}")
    noise = make_noise(model, n_samples, seed, shape)
    traj = teacher(model, noise, n_grid, solver=solver)
    if method == "oss":
        idx = oss_path(numpy_velocity(model), traj.x, traj.times, K)
    else:
        cost = cost_matrix(traj.x, traj.v, traj.times, kind=method)
        idx = bellman(
            cost, K, coeff=coeff if coeff is not None else (1.15 if method == "gits" else 1.0)
        )
    return np.asarray(traj.times[idx])


_MULTISTEP = {
    "dpmpp_2m": (step_dpmpp_2m, "denoise"),
    "dpmpp_2m_flow": (step_dpmpp_2m_flow, "denoise"),
    "dpmpp_3m": (step_dpmpp_3m, "denoise"),
    "ipndm": (step_ipndm, "velocity"),
    "unipc": (step_unipc, "denoise"),
}


def _sq_err(pred, ref):
    return float(((pred - ref) ** 2).reshape(len(ref), -1).sum(1).mean())


def _one_step_costs(m, solver, x, run):
    n = len(run)
    cost = np.full((n, n), np.inf)
    step = SOLVERS[solver]
    for i in range(n - 1):
        for j in range(i + 1, n):
            cost[i, j] = _sq_err(step(m, x[i], [run[i], run[j]]), x[j])
    return cost


def _multistep_costs(solver, x, pred, run):
    """``first[0, j]`` and ``second[i, j, k]`` of the solver's own step from teacher states."""
    step, _ = _MULTISTEP[solver]
    n = len(run)
    first = np.full((n, n), np.inf)
    second = np.full((n, n, n), np.inf)

    def one(j, k, past):
        if solver != "unipc":
            return step(x[j], pred[j], past, run[j], run[k])
        past = [p for p in past if p[0] > 0.0] if k < n - 1 else []
        out = step(x[j], pred[j], past, run[j], run[k])
        return out if k == n - 1 else step(x[j], pred[j], past, run[j], run[k], corr=pred[k])

    with torch.no_grad():
        for k in range(1, n):
            first[0, k] = _sq_err(one(0, k, []), x[k])
        for i in range(n - 2):
            for j in range(i + 1, n - 1):
                past = [(run[i], pred[i])]
                for k in range(j + 1, n):
                    second[i, j, k] = _sq_err(one(j, k, past), x[k])
    return first, second


def _refine(error, path, n, sweeps=3, radius=2):
    """Coordinate descent of ``error(path)`` over the interior grid nodes of ``path``."""
    best = error(path)
    for _ in range(sweeps):
        improved = False
        for m in range(1, len(path) - 1):
            for shift in range(-radius, radius + 1):
                node = path[m] + shift
                if shift == 0 or not path[m - 1] < node < path[m + 1]:
                    continue
                trial = path.copy()
                trial[m] = node
                e = error(trial)
                if e < best:
                    best, path, improved = e, trial, True
        if not improved:
            break
    return path


def plan_for_solver(
    model,
    K,
    solver="dpmpp_2m",
    n_grid=60,
    n_samples=256,
    seed=0,
    *,
    shape=None,
    teacher_solver="heun",
    spacing="timesteps",
    refine=True,
    cache=None,
):
    """The ``K + 1`` times of a ``K``-step schedule planned for the sampler that will run
    (a list of schedules for a sequence ``K``, sharing teacher and costs).

    A teacher (``n_grid`` steps of ``teacher_solver`` on the grid
    :func:`stepsize.schedules.model_grid` of ``spacing`` over the model's whole noise range --
    uniform training timesteps by default, ``"time"`` for uniform flow time, ``"logsnr"`` -- from
    ``n_samples`` noise samples) gives states ``x_i``; the cost of a step is BOSS's
    ``mean_b ||step(x_i) - x_j||^2`` with the solver's own step from teacher states:

    - one-step solvers (euler, heun, midpoint): ``cost[i, j]`` of one step ``i -> j``
      (``N (N + 1) / 2`` batched steps; Euler's from the teacher's velocities, no model calls),
      planned with :func:`stepsize.schedules.bellman`;
    - multistep solvers (dpmpp_2m, dpmpp_3m, ipndm, unipc): the step ``j -> k`` depends on the
      prediction at the previous node ``i`` (the teacher's, no model calls), ``second[i, j, k]``,
      planned exactly over pair states with :func:`stepsize.schedules.bellman_multistep`. UniPC's
      corrector uses the teacher's prediction at ``k``; 3M and iPNDM see one past point (their
      second-order step), a truncation of their longer history.

    Local costs from teacher states miss how errors carry over; with ``refine`` the path is
    then refined on the global error: coordinate descent over its interior grid nodes (moves of
    up to 2 nodes, up to 3 sweeps) of the solver's actual end error against the teacher on the
    planning noise (one ``K``-step run per trial), started from the better of the Bellman path
    and uniform steps on the grid; each distinct trial path runs once (its error is kept for
    every later sweep and schedule length that meets it again).

    ``cache``: a :class:`stepsize.flow.TeacherCache` of the model, from which the teacher is
    taken (plans for several samplers on one grid and noise share it).
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver: unknown {solver!r}; known: {', '.join(SOLVERS)}")
    ks = [int(k) for k in np.atleast_1d(K)]
    m = as_model(model)
    noise = make_noise(model, n_samples, seed, shape)
    run_teacher = teacher if cache is None else cache.teacher
    traj = run_teacher(m, noise, solver=teacher_solver, grid=model_grid(m.process, n_grid, spacing))
    run = [m.process.t_min, *traj.times[1:].tolist()]
    x = torch.as_tensor(traj.x)
    if solver == "euler":
        cost = cost_matrix(traj.x, traj.v, np.asarray(run))
        paths = [bellman(cost, k) for k in ks]
    elif solver not in _MULTISTEP:
        cost = _one_step_costs(m, solver, x, run)
        paths = [bellman(cost, k) for k in ks]
    else:
        v = torch.as_tensor(traj.v)
        if _MULTISTEP[solver][1] == "velocity":
            pred = v
        else:
            tt = torch.as_tensor(run[:-1], dtype=x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
            pred = x[:-1] + (1.0 - tt) * v
        first, second = _multistep_costs(solver, x, pred, run)
        paths = [bellman_multistep(first, second, k) for k in ks]
    if refine:
        n = len(run)
        step = SOLVERS[solver]
        seen = {}

        def error(p):
            key = tuple(int(i) for i in p)
            if key not in seen:
                out = step(m, x[0], [run[i] for i in p])
                seen[key] = _sq_err(out, x[-1]) if torch.isfinite(out).all() else np.inf
            return seen[key]

        for idx, (k, path) in enumerate(zip(ks, paths)):
            even = np.rint(np.linspace(0, n - 1, k + 1)).astype(np.int64)
            if len(np.unique(even)) == k + 1 and error(even) < error(path):
                path = even
            paths[idx] = _refine(error, np.asarray(path, dtype=np.int64), n)
    out = [np.asarray(traj.times[p]) for p in paths]
    return out if np.ndim(K) else out[0]
