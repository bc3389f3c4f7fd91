"""One step of an explicit Runge–Kutta pair (conventions of :mod:`stepsize.ode._tableau`).

Besides the stages, the states of the tableau's ``stiff_pair`` are kept: two stages at the same
abscissa (DP5 stages 6 and 7, both at ``c = 1``) give Hairer's stiffness estimate
``h ||k_b - k_a|| / ||Y_b - Y_a||`` (:func:`stepsize.control.stiffness_estimate`); ``k_a`` and
``k_b`` are rows of ``K``.

Everything here runs once per step or per stage inside the loop compiled without reference
counting (:func:`stepsize.ode._jit.stepping`), where a row ``K[i]`` is a free view: the
right-hand side writes each stage straight into its row.  The sums over the stages (stage states
and error estimates) are the pair's own functions, generated from its tableau with the nonzero
coefficients written in (:mod:`stepsize.ode._stage_sums`); the method bundle carries the pair's
marker, whose Numba type selects them (:func:`stages`, :func:`error_sums`), so that the loop
is compiled once per pair.
"""

from typing import NamedTuple

import numpy as np
from numba.extending import overload

from stepsize.control import stiffness_estimate
from stepsize.ode._arrays import copy_into
from stepsize.ode._jit import inlined, python_twin, twinned
from stepsize.ode._stage_sums import SUMS


class ExplicitWork(NamedTuple):
    """Stages ``K`` (s + extra, n), the stage state, the stiff pair's states ``ya``, ``yb``
    (used for a stage of the pair whose state does not stay where the attempt left it:
    :func:`pair_states`)."""

    K: np.ndarray
    ystage: np.ndarray
    ya: np.ndarray
    yb: np.ndarray


@inlined
def explicit_attempt(problem, method, ew, work, t, h, steps):
    """Stages ``K[1:s]`` (``K[0] = f0``), ``work.y_new`` and the scaled error norm (NaN when a
    value is not finite); the stiff pair's states where :func:`pair_states` finds them.  Costs
    ``s - 1`` evaluations."""
    K, y, y_new, s = ew.K, work.y, work.y_new, method.c.size
    copy_into(K[0], work.f0)
    stages(method.sums, problem, K, y, h, t, (ew.ystage, y_new, ew.ya, ew.yb))
    err = error_norm(method.sums, K, h, y, y_new, steps.rtol, steps.atol, work.err, work.fbuf)
    if not (np.isfinite(err) and all_finite(y_new) and all_finite(K[s - 1])):
        return np.nan
    return err


def stages(sums, problem, K, y, h, t, states):
    """Stages 1 to ``s - 1`` of an attempt of the pair whose marker is ``sums``: its generated
    ``{name}_stages``, each stage state ``y + h sum_{j < i} a_ij K[j]`` (the nonzero terms added
    in order, :mod:`stepsize.ode._stage_sums`) and ``K[i] = f(t + c_i h, state)``; ``states``:
    ``(ystage, y_new, ya, yb)``, where the stage states go (the last to ``y_new``, those of the
    stiff pair that later stages overwrite to ``ya``, ``yb``).  Compiled, the marker's type
    selects the function (inlined: the loop is the pair's own)."""
    python_twin(SUMS[type(sums)][0])(problem, K, y, h, t, *states)


@overload(stages, target="generic", inline="always")
def _stages(sums, problem, K, y, h, t, states):
    run = SUMS[sums.instance_class][0]

    def impl(sums, problem, K, y, h, t, states):
        ystage, y_new, ya, yb = states
        run(problem, K, y, h, t, ystage, y_new, ya, yb)

    return impl


def extra_state(sums, j, K, y, h, out):
    """``out = y + h sum_k A_extra[j, k] K[k]``, the state of the extra stage ``j`` of the dense
    output (stage ``s + j``) of the pair whose marker is ``sums``: its generated
    ``{name}_extra``, selected by type as in :func:`stages`."""
    python_twin(SUMS[type(sums)][1])(j, K, y, h, out)


@overload(extra_state, target="generic", inline="always")
def _extra_state(sums, j, K, y, h, out):
    extra = SUMS[sums.instance_class][1]
    return lambda sums, j, K, y, h, out: extra(j, K, y, h, out)


def error_sums(sums, K, m):
    """Component ``m`` of ``sum_i e_i K[i]`` and of ``sum_i e2_i K[i]`` (0 for a pair with one
    estimate) of the pair whose marker is ``sums``: its generated ``{name}_errors``, selected
    by type as in :func:`stages`."""
    return python_twin(SUMS[type(sums)][2])(K, m)


@overload(error_sums, target="generic", inline="always")
def _error_sums(sums, K, m):
    errors = SUMS[sums.instance_class][2]
    return lambda sums, K, m: errors(K, m)


@inlined
def all_finite(x):
    """Whether every entry of ``x`` is finite (an and over the entries, which LLVM
    vectorises; a loop returning at the first non-finite one does not vectorise)."""
    ok = True
    for m in range(x.size):
        ok &= np.isfinite(x[m])
    return ok


@inlined
def error_norm(sums, K, h, y0, y1, rtol, atol, q5, q3):
    """The scaled error of the step: the RMS norm of ``err = h sum_i e_i K_i`` scaled by
    ``atol + rtol max(|y0|, |y1|)`` (Hairer, Nørsett & Wanner I, eq. II.4.11; as
    :func:`stepsize.control.rms_error_norm`, fused with the sum over the stages,
    :func:`error_sums`); with a second estimate ``e2`` (DOP853) Hairer's ``dop853.f``
    combination ``n5^2 / sqrt(n5^2 + 0.01 n3^2)`` of the two norms.  A zero scale counts 0 for
    a zero error and makes the norm infinite otherwise.

    The scaled squares go to the scratch vectors ``q5``, ``q3`` in a loop with no dependence
    between components, which LLVM vectorises (the divisions too), and are then added in
    order: the same numbers as one loop adding each square as it is computed."""
    n = y0.size
    two = sums.estimates == 2
    for m in range(n):
        d5, d3 = error_sums(sums, K, m)
        sc = atol[m] + rtol[m] * max(abs(y0[m]), abs(y1[m]))
        q5[m] = scaled_square(h * d5, sc)
        if two:
            q3[m] = scaled_square(h * d3, sc)
    acc5 = 0.0
    acc3 = 0.0
    for m in range(n):
        acc5 += q5[m]
        if two:
            acc3 += q3[m]
    if acc5 == np.inf or acc3 == np.inf:
        return np.inf
    if not two:
        return np.sqrt(acc5 / n)
    den = acc5 + 0.01 * acc3
    return acc5 / np.sqrt(den * n) if den > 0.0 else 0.0


@inlined
def scaled_square(r, sc):
    """``(r / sc)^2``; for a zero scale 0 when ``r`` is 0, else inf."""
    if sc > 0.0:
        return (r / sc) ** 2
    return 0.0 if r == 0.0 else np.inf


@inlined
def explicit_stiffness(method, ew, y_new):
    """Hairer's ``lambda_hat`` from the stiff pair of the last step (``y_new`` its end)."""
    a, b = method.pair[0], method.pair[1]
    ya, yb = pair_states(method, ew, y_new)
    return stiffness_estimate(ew.K[a], ew.K[b], ya, yb)


@inlined
def pair_states(method, ew, y_new):
    """The states of the stiff pair's stages after an attempt: stage ``s - 1``'s is ``y_new``,
    stage ``s - 2``'s stays in ``ew.ystage`` (the pair of BS3, DP5, Tsit5 and DOP853: nothing
    copied), the others were copied to ``ew.ya``, ``ew.yb``.  Valid until the dense output's
    extra stages overwrite ``ew.ystage``."""
    s = method.c.size
    a, b = method.pair[0], method.pair[1]
    ya = ew.ystage if a == s - 2 else ew.ya
    yb = y_new if b == s - 1 else (ew.ystage if b == s - 2 else ew.yb)
    return ya, yb


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
        extra_state(method.sums, j, K, y, h, ys)
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
