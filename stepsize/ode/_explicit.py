"""One step of an explicit Runge–Kutta pair (conventions of :mod:`stepsize.ode._tableau`).

Besides the stages, the states and stages of the tableau's ``stiff_pair`` are kept: two stages at
the same abscissa (DP5 stages 6 and 7, both at ``c = 1``) give Hairer's stiffness estimate
``h ||k_b - k_a|| / ||Y_b - Y_a||`` (:func:`stepsize.control.stiffness_estimate`).

Everything here runs once per step or per stage, so it indexes the work arrays element by element
and makes no array views: in compiled code every view (``K[i]``, ``K[:s]``) and every array
handed to a function that is not inlined costs two atomic reference-count updates, which cost more
than a small right-hand side.  The right-hand side writes a stage into ``ew.kbuf``, which is copied
into the row of ``K`` (``n`` stores, cheaper than a view).
"""

from typing import NamedTuple

import numba
import numpy as np

from stepsize.control import stiffness_estimate
from stepsize.ode._arrays import copy_into
from stepsize.ode._jit import NJIT, inlined, twinned


class ExplicitWork(NamedTuple):
    """Stages ``K`` (s + extra, n), the stage state, the stiff pair's states ``ya``, ``yb`` and
    stages ``ka``, ``kb``, the stage the right-hand side writes (``kbuf``)."""

    K: np.ndarray
    ystage: np.ndarray
    ya: np.ndarray
    yb: np.ndarray
    ka: np.ndarray
    kb: np.ndarray
    kbuf: np.ndarray


@twinned
def explicit_work(method, n):
    """Workspace of ``method`` for states of size ``n`` (None without an explicit method)."""
    if method is None:
        return None
    s = method.c.size + method.c_extra.size
    return ExplicitWork(
        np.zeros((s, n)),
        np.empty(n),
        np.empty(n),
        np.empty(n),
        np.empty(n),
        np.empty(n),
        np.empty(n),
    )


@inlined
def explicit_attempt(problem, method, ew, work, t, h, steps):
    """Stages ``K[1:s]`` (``K[0] = f0``), ``work.y_new`` and the scaled error norm (NaN when a
    value is not finite); the stiff pair in ``ew.ya``, ``ew.yb``, ``ew.ka``, ``ew.kb``.  Costs
    ``s - 1`` evaluations."""
    c, A, pair, K = method.c, method.A, method.pair, ew.K
    y, f0, ys, kbuf = work.y, work.f0, ew.ystage, ew.kbuf
    ctx = problem.ctx
    n, s = y.size, c.size
    for m in range(n):
        K[0, m] = f0[m]
    if pair[0] == 0:
        copy_into(ew.ya, y)
        copy_into(ew.ka, f0)
    for i in range(1, s):
        for m in range(n):
            acc = 0.0
            for j in range(i):
                acc += A[i, j] * K[j, m]
            ys[m] = y[m] + h * acc
        problem.rhs(t + c[i] * h, ys, kbuf, ctx)
        for m in range(n):
            K[i, m] = kbuf[m]
        if i == pair[0]:
            copy_into(ew.ya, ys)
            copy_into(ew.ka, kbuf)
        if i == pair[1]:
            copy_into(ew.yb, ys)
            copy_into(ew.kb, kbuf)
    copy_into(work.y_new, ys)
    err = error_norm(method.e, method.e2, K, h, y, ys, steps.rtol, steps.atol)
    if not (np.isfinite(err) and all_finite(ys) and all_finite(kbuf)):
        return np.nan
    return err


@inlined
def all_finite(x):
    for m in range(x.size):
        if not np.isfinite(x[m]):
            return False
    return True


@numba.njit(**NJIT)
def error_norm(e, e2, K, h, y0, y1, rtol, atol):
    """The scaled error of the step: the RMS norm of ``err = h sum_i e_i K_i`` scaled by
    ``atol + rtol max(|y0|, |y1|)`` (Hairer, Nørsett & Wanner I, eq. II.4.11; as
    :func:`stepsize.control.rms_error_norm`, fused with the sum over the stages); with a second
    estimate ``e2`` (DOP853) Hairer's ``dop853.f`` combination ``n5^2 / sqrt(n5^2 + 0.01 n3^2)``
    of the two norms.  A zero scale counts 0 for a zero error and makes the norm infinite
    otherwise."""
    n, s = y0.size, e.size
    acc5 = 0.0
    acc3 = 0.0
    for m in range(n):
        d5 = 0.0
        for i in range(s):
            d5 += e[i] * K[i, m]
        d5 *= h
        d3 = 0.0
        for i in range(e2.size):
            d3 += e2[i] * K[i, m]
        d3 *= h
        sc = atol[m] + rtol[m] * max(abs(y0[m]), abs(y1[m]))
        if sc > 0.0:
            acc5 += (d5 / sc) ** 2
            acc3 += (d3 / sc) ** 2
        elif d5 != 0.0 or d3 != 0.0:
            return np.inf
    if e2.size == 0:
        return np.sqrt(acc5 / n)
    den = acc5 + 0.01 * acc3
    return acc5 / np.sqrt(den * n) if den > 0.0 else 0.0


@numba.njit(**NJIT)
def explicit_stiffness(ew):
    """Hairer's ``lambda_hat`` from the stiff pair of the last step."""
    return stiffness_estimate(ew.ka, ew.kb, ew.ya, ew.yb)


@inlined
def explicit_last_stage(method, ew, f_new):
    """``F(t + h, y_new)``: the pair's last stage, into ``f_new``."""
    K, last = ew.K, method.c.size - 1
    for m in range(f_new.size):
        f_new[m] = K[last, m]


@twinned
def explicit_dense(problem, method, ew, y, t, h, coef):
    """Interpolant coefficients of the step (extra stages first); returns F evaluations.

    ``coef[m, j] = h sum_i K[i, m] Q[i, j]``, columns past the method's degree zero."""
    s = method.c.size
    K, A, Q, ys, kbuf = ew.K, method.A_extra, method.Q, ew.ystage, ew.kbuf
    n = y.size
    for j in range(method.c_extra.size):
        for m in range(n):
            acc = 0.0
            for i in range(s + j):
                acc += A[j, i] * K[i, m]
            ys[m] = y[m] + h * acc
        problem.rhs(t + method.c_extra[j] * h, ys, kbuf, problem.ctx)
        for m in range(n):
            K[s + j, m] = kbuf[m]
    used = Q.shape[1]
    for m in range(n):
        for j in range(coef.shape[1]):
            acc = 0.0
            if j < used:
                for i in range(Q.shape[0]):
                    acc += K[i, m] * Q[i, j]
            coef[m, j] = h * acc
    return method.c_extra.size
