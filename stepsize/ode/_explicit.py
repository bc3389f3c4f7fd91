"""One step of an explicit Runge–Kutta pair (conventions of :mod:`stepsize.ode._tableau`).

Besides the stages, the states of the tableau's ``stiff_pair`` are kept: two stages at the same
abscissa (DP5 stages 6 and 7, both at ``c = 1``) give Hairer's stiffness estimate
``h ||k_b - k_a|| / ||Y_b - Y_a||`` (:func:`stepsize.control.stiffness_estimate`).
"""

import numba
import numpy as np

from stepsize.control import rms_error_norm
from stepsize.ode._arrays import dense_coefficients, stage_state, weighted_sum
from stepsize.ode._types import calls_back


@calls_back
def rk_stages(
    rhs, t, y, f0, h, c, A, e, e2, pair, K, ystage, ya, yb, y_new, err_vec, err2_vec, rtol, atol
):
    """Stages ``K[1:s]`` (``K[0] = f0``), ``y_new`` and the scaled error; states of the stiff pair
    in ``ya``, ``yb``.  Returns the error norm; the step cost ``s - 1`` evaluations."""
    s = c.size
    K[0] = f0
    if pair[0] == 0:
        ya[:] = y
    for i in range(1, s):
        stage_state(y, h, A, K, i, i, ystage)
        if i == pair[0]:
            ya[:] = ystage
        if i == pair[1]:
            yb[:] = ystage
        rhs(t + c[i] * h, ystage, K[i])
    y_new[:] = ystage
    weighted_sum(e, K[:s], h, err_vec)
    if e2.size == 0:
        return rms_error_norm(err_vec, y, y_new, rtol, atol)
    # Hairer's dop853.f: err = |h| e5^2 / sqrt(e5^2 + 0.01 e3^2), summed scaled squares.
    weighted_sum(e2, K[:s], h, err2_vec)
    n5 = rms_error_norm(err_vec, y, y_new, rtol, atol) ** 2
    n3 = rms_error_norm(err2_vec, y, y_new, rtol, atol) ** 2
    den = n5 + 0.01 * n3
    return n5 / np.sqrt(den) if den > 0.0 else 0.0


@calls_back
def rk_dense(rhs, t, y, h, s, c_extra, A_extra, Q, K, ystage, coef):
    """Interpolant coefficients of the step (extra stages first); returns F evaluations."""
    for j in range(c_extra.size):
        stage_state(y, h, A_extra, K, j, s + j, ystage)
        rhs(t + c_extra[j] * h, ystage, K[s + j])
    dense_coefficients(K, Q, h, coef)
    pad_columns(coef, Q.shape[1])
    return c_extra.size


@numba.njit(cache=True)
def pad_columns(coef, used):
    """Zero the columns ``used:`` of ``coef`` (interpolants of lower degree than the storage)."""
    for m in range(coef.shape[0]):
        for j in range(used, coef.shape[1]):
            coef[m, j] = 0.0
