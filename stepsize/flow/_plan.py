"""Bellman schedules for a flow model, end to end: noise, teacher, cost matrix, dynamic program."""

import numpy as np
import torch

from stepsize.flow._sample import teacher
from stepsize.schedules import bellman, cost_matrix, oss_path

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
