"""Radau IIA of order 5 (Hairer's ``radau5.f``, SciPy's ``Radau``), its Newton iteration compiled.

The 3-stage collocation method at ``c = ((4 - sqrt 6)/10, (4 + sqrt 6)/10, 1)`` solves for the
stage increments ``Z_i = Y_i - y``, ``Z = h (A x I) F(t + c h, y + Z)``.  Simplified Newton with
one Jacobian ``J``: with ``A^-1 = T diag(mu_r, [[alpha, -beta], [beta, alpha]]) T^-1`` and
``W = T^-1 Z`` the iteration splits into one real and one complex system (Hairer & Wanner,
*Solving ODEs II*, Sec. IV.8)::

    (mu_r/h I - J) dW_0 = (T^-1 F)_0 - mu_r/h W_0,
    (mu_c/h I - J) (dW_1 + i dW_2) = (T^-1 F)_1 + i (T^-1 F)_2 - mu_c/h (W_1 + i W_2),

``mu_c = alpha - i beta``.  The iteration stops when ``rate/(1 - rate) ||dW|| < tol`` and fails
when the rate reaches 1 or the predicted error after the remaining iterations exceeds ``tol``
(at most 6 iterations).  Error estimate: ``err = (mu_r/h I - J)^-1 (F(t, y) + (E . Z)/h)``,
again with ``F(t, y + err)`` after a rejection; dense output: the collocation polynomial
``y + sum_k theta^k (Z^T P)_k``.  Constants as in ``radau5.f`` and SciPy's ``radau.py``.
"""

import numba
import numpy as np

from stepsize.control import FilterController
from stepsize.ode._linalg import solve
from stepsize.ode._types import calls_back

S6 = np.sqrt(6.0)
C = np.array([(4.0 - S6) / 10.0, (4.0 + S6) / 10.0, 1.0])
A = np.array(
    [
        [(88.0 - 7.0 * S6) / 360.0, (296.0 - 169.0 * S6) / 1800.0, (-2.0 + 3.0 * S6) / 225.0],
        [(296.0 + 169.0 * S6) / 1800.0, (88.0 + 7.0 * S6) / 360.0, (-2.0 - 3.0 * S6) / 225.0],
        [(16.0 - S6) / 36.0, (16.0 + S6) / 36.0, 1.0 / 9.0],
    ]
)
"""Radau IIA coefficient matrix (Hairer & Wanner II, Table IV.5.6); not used by the iteration."""
E = np.array([-13.0 - 7.0 * S6, -13.0 + 7.0 * S6, -1.0]) / 3.0
MU_REAL = 3.0 + 3.0 ** (2.0 / 3.0) - 3.0 ** (1.0 / 3.0)
MU_COMPLEX = complex(
    3.0 + 0.5 * (3.0 ** (1.0 / 3.0) - 3.0 ** (2.0 / 3.0)),
    -0.5 * (3.0 ** (5.0 / 6.0) + 3.0 ** (7.0 / 6.0)),
)
T = np.array(
    [
        [0.09443876248897524, -0.14125529502095421, 0.03002919410514742],
        [0.25021312296533332, 0.20412935229379994, -0.38294211275726192],
        [1.0, 1.0, 0.0],
    ]
)
TI = np.array(
    [
        [4.17871859155190428, 0.32768282076106237, 0.52337644549944951],
        [-4.17871859155190428, -0.32768282076106237, 0.47662355450055044],
        [0.50287263494578682, -2.57192694985560522, 0.59603920482822492],
    ]
)
P = np.array(
    [
        [13.0 / 3.0 + 7.0 * S6 / 3.0, -23.0 / 3.0 - 22.0 * S6 / 3.0, 10.0 / 3.0 + 5.0 * S6],
        [13.0 / 3.0 - 7.0 * S6 / 3.0, -23.0 / 3.0 + 22.0 * S6 / 3.0, 10.0 / 3.0 - 5.0 * S6],
        [1.0 / 3.0, -8.0 / 3.0, 10.0 / 3.0],
    ]
)
NEWTON_MAXITER = 6
CONTROLLER = FilterController(
    b=(2.0, -1.0, 0.0), a=(-1.0, 0.0), qmin=0.2, qmax=8.0, name="Gustafsson"
)
"""``radau5.f``'s predictive controller (FACL = 5, FACR = 1/8), see ``_rosenbrock.CONTROLLER``;
the loop also scales the ratio by ``(2 NIT + 1)/(2 NIT + newton iterations)``, ``NIT = 6``."""


@calls_back
def radau_newton(rhs, t, y, h, Z, scale, tol, Mr, Mc, kl, ku, pivr, pivc, W, F, ybuf, br, bc):
    """Simplified Newton for the stage increments ``Z`` (3, n), starting from ``Z`` as given.

    ``Mr``, ``Mc`` hold the factored real and complex matrices.  Returns ``(converged,
    iterations, rate, F evaluations)``; ``rate`` is -1 before two iterates exist.
    """
    n = y.size
    mr = MU_REAL / h
    mc = MU_COMPLEX / h
    for i in range(3):
        for k in range(n):
            W[i, k] = TI[i, 0] * Z[0, k] + TI[i, 1] * Z[1, k] + TI[i, 2] * Z[2, k]
    norm_old = -1.0
    rate = -1.0
    nfev = 0
    for it in range(NEWTON_MAXITER):
        for i in range(3):
            for k in range(n):
                ybuf[k] = y[k] + Z[i, k]
            rhs(t + C[i] * h, ybuf, F[i])
        nfev += 3
        finite = True
        for i in range(3):
            for k in range(n):
                if not np.isfinite(F[i, k]):
                    finite = False
        if not finite:
            return False, it + 1, rate, nfev
        for k in range(n):
            g0 = TI[0, 0] * F[0, k] + TI[0, 1] * F[1, k] + TI[0, 2] * F[2, k]
            g1 = TI[1, 0] * F[0, k] + TI[1, 1] * F[1, k] + TI[1, 2] * F[2, k]
            g2 = TI[2, 0] * F[0, k] + TI[2, 1] * F[1, k] + TI[2, 2] * F[2, k]
            br[k] = g0 - mr * W[0, k]
            bc[k] = complex(g1, g2) - mc * complex(W[1, k], W[2, k])
        solve(Mr, kl, ku, pivr, br)
        solve(Mc, kl, ku, pivc, bc)
        acc = 0.0
        for k in range(n):
            acc += (br[k] / scale[k]) ** 2 + (bc[k].real / scale[k]) ** 2
            acc += (bc[k].imag / scale[k]) ** 2
        dw_norm = np.sqrt(acc / (3 * n))
        if norm_old >= 0.0:
            rate = dw_norm / norm_old
        if rate >= 0.0 and (
            rate >= 1.0 or rate ** (NEWTON_MAXITER - it) / (1.0 - rate) * dw_norm > tol
        ):
            return False, it + 1, rate, nfev
        for k in range(n):
            W[0, k] += br[k]
            W[1, k] += bc[k].real
            W[2, k] += bc[k].imag
        for i in range(3):
            for k in range(n):
                Z[i, k] = T[i, 0] * W[0, k] + T[i, 1] * W[1, k] + T[i, 2] * W[2, k]
        if dw_norm == 0.0 or (rate >= 0.0 and rate / (1.0 - rate) * dw_norm < tol):
            return True, it + 1, rate, nfev
        norm_old = dw_norm
    return False, NEWTON_MAXITER, rate, nfev


@calls_back
def radau_error(rhs, t, y, h, Z, f0, Mr, kl, ku, pivr, again, ybuf, fbuf, err_vec):
    """``err = (mu_r/h I - J)^-1 (F(t, y) + E.Z/h)``; with ``again``, once more from
    ``F(t, y + err)`` (Hairer's estimate after a rejection).  Returns F evaluations."""
    n = y.size
    for k in range(n):
        err_vec[k] = f0[k] + (E[0] * Z[0, k] + E[1] * Z[1, k] + E[2] * Z[2, k]) / h
    solve(Mr, kl, ku, pivr, err_vec)
    if not again:
        return 0
    for k in range(n):
        ybuf[k] = y[k] + err_vec[k]
    rhs(t, ybuf, fbuf)
    for k in range(n):
        err_vec[k] = fbuf[k] + (E[0] * Z[0, k] + E[1] * Z[1, k] + E[2] * Z[2, k]) / h
    solve(Mr, kl, ku, pivr, err_vec)
    return 1


@numba.njit(cache=True)
def radau_dense(Z, coef):
    """Collocation polynomial ``coef = Z^T P`` (power basis in theta, degree 3, zero-padded)."""
    for k in range(coef.shape[0]):
        for j in range(coef.shape[1]):
            coef[k, j] = 0.0
            if j < 3:
                coef[k, j] = Z[0, k] * P[0, j] + Z[1, k] * P[1, j] + Z[2, k] * P[2, j]


@numba.njit(cache=True)
def radau_guess(prev_coef, t_prev, h_prev, t, h, y, y_prev, Z):
    """Starting stages from the previous step's polynomial, extrapolated to ``t + c h``."""
    for i in range(3):
        theta = (t + C[i] * h - t_prev) / h_prev
        for k in range(y.size):
            acc = 0.0
            for j in range(prev_coef.shape[1] - 1, -1, -1):
                acc = (acc + prev_coef[k, j]) * theta
            Z[i, k] = y_prev[k] + acc - y[k]
