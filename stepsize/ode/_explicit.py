"""One step of an explicit Runge–Kutta pair (conventions of :mod:`stepsize.ode._tableau`).

Besides the stages, the states of the tableau's ``stiff_pair`` are kept: two stages at the same
abscissa (DP5 stages 6 and 7, both at ``c = 1``) give Hairer's stiffness estimate
``h ||k_b - k_a|| / ||Y_b - Y_a||`` (:func:`stepsize.control.stiffness_estimate`); ``k_a`` and
``k_b`` are rows of ``K``.

Everything here runs once per step or per stage inside the loop compiled without reference
counting (:func:`stepsize.ode._jit.stepping`), where a row ``K[i]`` is a free view: the
right-hand side writes each stage straight into its row.  The stage states sum over the stages
innermost and include the tableau's zero coefficients: for small states that is faster than a
component-innermost loop or a branch skipping zeros (measured: 84 against 119-305 ns per DOP853
step for n = 3, 225-295 against 298-517 for n = 28).  They take four components at a time,
each sum in its own register (:func:`combine`): DOP853 at rtol 1e-9, CPU time per evaluation
under load, Pleiades (n = 28) 252 against 304 ns, Arenstorf (n = 4) 61 against 65, Lorenz
(n = 3) unchanged; the sums are the same numbers.
"""

from typing import NamedTuple

import numpy as np

from stepsize.control import stiffness_estimate
from stepsize.ode._arrays import copy_into
from stepsize.ode._jit import inlined, twinned


class ExplicitWork(NamedTuple):
    """Stages ``K`` (s + extra, n), the stage state, the stiff pair's states ``ya``, ``yb``."""

    K: np.ndarray
    ystage: np.ndarray
    ya: np.ndarray
    yb: np.ndarray


@twinned
def explicit_work(method, n):
    """Workspace of ``method`` for states of size ``n`` (None without an explicit method)."""
    if method is None:
        return None
    s = method.c.size + method.c_extra.size
    return ExplicitWork(np.zeros((s, n)), np.empty(n), np.empty(n), np.empty(n))


@inlined
def explicit_attempt(problem, method, ew, work, t, h, steps):
    """Stages ``K[1:s]`` (``K[0] = f0``), ``work.y_new`` and the scaled error norm (NaN when a
    value is not finite); the stiff pair's states in ``ew.ya``, ``ew.yb``.  Costs ``s - 1``
    evaluations."""
    c, A, pair, K = method.c, method.A, method.pair, ew.K
    y, y_new, s = work.y, work.y_new, c.size
    copy_into(K[0], work.f0)
    if pair[0] == 0:
        copy_into(ew.ya, y)
    for i in range(1, s):
        ys = y_new if i == s - 1 else ew.ystage  # the last stage's state is y_new
        combine(A[i], K, i, y, h, ys)
        problem.rhs(t + c[i] * h, ys, K[i], problem.ctx)
        if i == pair[0]:
            copy_into(ew.ya, ys)
        if i == pair[1]:
            copy_into(ew.yb, ys)
    err = error_norm(
        method.e, method.e2, K, h, y, y_new, steps.rtol, steps.atol, work.err, work.fbuf
    )
    if not (np.isfinite(err) and all_finite(y_new) and all_finite(K[s - 1])):
        return np.nan
    return err


@inlined
def combine(a, K, i, y, h, out):
    """``out = y + h sum_{j < i} a_j K[j]``, the terms added in order.

    Components go in blocks of four, then two, then one, each sum in a register of its own:
    the sums of a block are independent chains of additions that the processor overlaps (one
    component after the other waits out each chain, about 4 cycles per term).  Blocks of eight
    and of three with a branch skipping zero weights (22 of DOP853's 78), the same sums, were
    faster alone (n = 28: 466 against 396 ns per step of stages, n = 3: 102 against 78) but
    slower in the loop: DOP853 at rtol 1e-9, CPU time per evaluation, nearly idle (load 0.8),
    Arenstorf 44 against 39-40 ns, Lorenz 43-45 against 40-42, Pleiades 152-154 either way.
    Here the sums are scalar (no SIMD), about 1.5 terms per cycle."""
    n = y.size
    m = 0
    while m + 4 <= n:
        s0 = s1 = s2 = s3 = 0.0
        for j in range(i):
            w = a[j]
            s0 += w * K[j, m]
            s1 += w * K[j, m + 1]
            s2 += w * K[j, m + 2]
            s3 += w * K[j, m + 3]
        out[m] = y[m] + h * s0
        out[m + 1] = y[m + 1] + h * s1
        out[m + 2] = y[m + 2] + h * s2
        out[m + 3] = y[m + 3] + h * s3
        m += 4
    if m + 2 <= n:
        s0 = s1 = 0.0
        for j in range(i):
            w = a[j]
            s0 += w * K[j, m]
            s1 += w * K[j, m + 1]
        out[m] = y[m] + h * s0
        out[m + 1] = y[m + 1] + h * s1
        m += 2
    if m < n:
        s0 = 0.0
        for j in range(i):
            s0 += a[j] * K[j, m]
        out[m] = y[m] + h * s0


@inlined
def all_finite(x):
    for m in range(x.size):
        if not np.isfinite(x[m]):
            return False
    return True


@inlined
def error_norm(e, e2, K, h, y0, y1, rtol, atol, d5, d3):
    """The scaled error of the step: the RMS norm of ``err = h sum_i e_i K_i`` scaled by
    ``atol + rtol max(|y0|, |y1|)`` (Hairer, Nørsett & Wanner I, eq. II.4.11; as
    :func:`stepsize.control.rms_error_norm`, fused with the sum over the stages); with a second
    estimate ``e2`` (DOP853) Hairer's ``dop853.f`` combination ``n5^2 / sqrt(n5^2 + 0.01 n3^2)``
    of the two norms.  A zero scale counts 0 for a zero error and makes the norm infinite
    otherwise.

    The sums ``sum_i e_i K_i`` accumulate in the scratch vectors ``d5``, ``d3`` stage by stage,
    skipping zero weights (5 of DOP853's 13 in each): for n = 28 half the time of a sum per
    component (151 against 332 ns per step), for n = 3 about 15 ns more.  Terms are added in
    the same order either way, so the sums are the same numbers (for finite stages)."""
    n = y0.size
    for m in range(n):
        d5[m] = 0.0
        d3[m] = 0.0
    for i in range(e.size):
        w = e[i]
        if w != 0.0:
            for m in range(n):
                d5[m] += w * K[i, m]
    for i in range(e2.size):
        w = e2[i]
        if w != 0.0:
            for m in range(n):
                d3[m] += w * K[i, m]
    acc5 = 0.0
    acc3 = 0.0
    for m in range(n):
        sc = atol[m] + rtol[m] * max(abs(y0[m]), abs(y1[m]))
        r5 = h * d5[m]
        r3 = h * d3[m]
        if sc > 0.0:
            acc5 += (r5 / sc) ** 2
            acc3 += (r3 / sc) ** 2
        elif r5 != 0.0 or r3 != 0.0:
            return np.inf
    if e2.size == 0:
        return np.sqrt(acc5 / n)
    den = acc5 + 0.01 * acc3
    return acc5 / np.sqrt(den * n) if den > 0.0 else 0.0


@inlined
def explicit_stiffness(method, ew):
    """Hairer's ``lambda_hat`` from the stiff pair of the last step."""
    return stiffness_estimate(ew.K[method.pair[0]], ew.K[method.pair[1]], ew.ya, ew.yb)


@inlined
def explicit_last_stage(method, ew, f):
    """``F(t + h, y_new)``: the pair's last stage, into ``f``."""
    copy_into(f, ew.K[method.c.size - 1])


@twinned
def explicit_dense(problem, method, ew, y, t, h, coef):
    """Interpolant coefficients of the step (extra stages first); returns F evaluations.

    ``coef[m, j] = h sum_i K[i, m] Q[i, j]``, columns past the method's degree zero."""
    s = method.c.size
    K, Q, ys = ew.K, method.Q, ew.ystage
    n = y.size
    for j in range(method.c_extra.size):
        combine(method.A_extra[j], K, s + j, y, h, ys)
        problem.rhs(t + method.c_extra[j] * h, ys, K[s + j], problem.ctx)
    used = Q.shape[1]
    for m in range(n):
        for j in range(coef.shape[1]):
            acc = 0.0
            if j < used:
                for i in range(Q.shape[0]):
                    acc += K[i, m] * Q[i, j]
            coef[m, j] = h * acc
    return method.c_extra.size
