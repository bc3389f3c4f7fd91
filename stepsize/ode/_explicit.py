"""One step of an explicit Runge–Kutta pair (conventions of :mod:`stepsize.ode._tableau`).

Besides the stages, the states of the tableau's ``stiff_pair`` are kept: two stages at the same
abscissa (DP5 stages 6 and 7, both at ``c = 1``) give Hairer's stiffness estimate
``h ||k_b - k_a|| / ||Y_b - Y_a||`` (:func:`stepsize.control.stiffness_estimate`).
"""

from typing import NamedTuple

import numba
import numpy as np

from stepsize.control import rms_error_norm, stiffness_estimate
from stepsize.ode._arrays import all_finite, dense_coefficients, stage_state, weighted_sum
from stepsize.ode._types import NJIT, inlined, twinned


class ExplicitWork(NamedTuple):
    """Stages ``K`` (s + extra, n), the stage state, the stiff pair's states, DOP853's second
    error vector."""

    K: np.ndarray
    ystage: np.ndarray
    ya: np.ndarray
    yb: np.ndarray
    err2: np.ndarray


@twinned
def explicit_work(method, n):
    """Workspace of ``method`` for states of size ``n`` (None without an explicit method)."""
    if method is None:
        return None
    s = method.c.size + method.c_extra.size
    return ExplicitWork(np.zeros((s, n)), np.empty(n), np.empty(n), np.empty(n), np.empty(n))


@inlined
def explicit_attempt(problem, method, ew, work, t, h, steps):
    """Stages ``K[1:s]`` (``K[0] = f0``), ``work.y_new`` and the scaled error norm (NaN when a
    value is not finite); states of the stiff pair in ``ew.ya``, ``ew.yb``.  Costs ``s - 1``
    evaluations."""
    c, A, pair, K = method.c, method.A, method.pair, ew.K
    y, y_new = work.y, work.y_new
    s = c.size
    K[0] = work.f0
    if pair[0] == 0:
        ew.ya[:] = y
    for i in range(1, s):
        stage_state(y, h, A, K, i, i, ew.ystage)
        if i == pair[0]:
            ew.ya[:] = ew.ystage
        if i == pair[1]:
            ew.yb[:] = ew.ystage
        problem.rhs(t + c[i] * h, ew.ystage, K[i], problem.ctx)
    y_new[:] = ew.ystage
    weighted_sum(method.e, K[:s], h, work.err)
    if method.e2.size == 0:
        err = rms_error_norm(work.err, y, y_new, steps.rtol, steps.atol)
    else:
        # Hairer's dop853.f: err = |h| e5^2 / sqrt(e5^2 + 0.01 e3^2), summed scaled squares.
        weighted_sum(method.e2, K[:s], h, ew.err2)
        n5 = rms_error_norm(work.err, y, y_new, steps.rtol, steps.atol) ** 2
        n3 = rms_error_norm(ew.err2, y, y_new, steps.rtol, steps.atol) ** 2
        den = n5 + 0.01 * n3
        err = n5 / np.sqrt(den) if den > 0.0 else 0.0
    if not (np.isfinite(err) and all_finite(y_new) and all_finite(K[s - 1])):
        return np.nan
    return err


@numba.njit(**NJIT)
def explicit_stiffness(ew, method):
    """Hairer's ``lambda_hat`` from the stiff pair of the last step."""
    return stiffness_estimate(ew.K[method.pair[0]], ew.K[method.pair[1]], ew.ya, ew.yb)


@twinned
def explicit_dense(problem, method, ew, y, t, h, coef):
    """Interpolant coefficients of the step (extra stages first); returns F evaluations."""
    s = method.c.size
    K = ew.K
    for j in range(method.c_extra.size):
        stage_state(y, h, method.A_extra, K, j, s + j, ew.ystage)
        problem.rhs(t + method.c_extra[j] * h, ew.ystage, K[s + j], problem.ctx)
    dense_coefficients(K, method.Q, h, coef)
    pad_columns(coef, method.Q.shape[1])
    return method.c_extra.size


@numba.njit(**NJIT)
def pad_columns(coef, used):
    """Zero the columns ``used:`` of ``coef`` (interpolants of lower degree than the storage)."""
    for m in range(coef.shape[0]):
        for j in range(used, coef.shape[1]):
            coef[m, j] = 0.0
