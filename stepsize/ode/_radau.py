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
(at most 6 iterations).  (Hairer's ``eta`` carried from the last step, ``radau5.f``'s FACCON,
stops after one iteration; with SciPy's ``tol`` and norm rather than radau5's transformed
tolerance it failed SciPy's accuracy checks on its rational test problem.)  Error estimate:
``err = (mu_r/h I - J)^-1 (F(t, y) + (E . Z)/h)``, again with ``F(t, y + err)`` after a
rejection; dense output: the collocation polynomial ``y + sum_k theta^k (Z^T P)_k``.  Constants
as in ``radau5.f`` and SciPy's ``radau.py``.
"""

from typing import NamedTuple

import numba
import numpy as np

from stepsize.control import FilterController, rms_error_norm
from stepsize.ode._arrays import all_finite, copy_into
from stepsize.ode._bundles import NEWTON, NONFINITE, RETRY, SINGULAR
from stepsize.ode._jacobian import (
    jacobian_work,
    matrix_shapes,
    update_jacobian,
    update_sparse_jacobian,
)
from stepsize.ode._jit import NJIT, twinned
from stepsize.ode._linalg import factor, ipow, solve
from stepsize.ode._mass import factor_iteration, mass_product, shifted_mass, solve_iteration
from stepsize.ode._sparse import SparsePattern, sparse_factor, sparse_lu_size, sparse_solve

EPS = np.finfo(float).eps

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


class RadauWork(NamedTuple):
    """Jacobian, the factored real and complex matrices and their pivots, the finite differences'
    workspace, the stages ``Z`` and Newton's ``W`` (both (3, n)), stage derivatives ``F``, the
    right-hand sides ``br``, ``bc``, the error scale, the previous step's polynomial, and for
    ``M y' = f`` the mass matrix (empty: identity) and a buffer for ``M W`` (3, n).  With a mass
    matrix ``I`` becomes ``M`` in the iteration matrices, in ``mu/h M W`` and in the error
    estimate's ``M (E.Z)/h`` (``radau5.f``).  With a sparsity pattern ``sp`` (of the method,
    :mod:`stepsize.ode._sparse`) ``J`` is (1, nnz), ``Mr`` (1, size of its LU), the complex
    system is solved in its real form of size 2n, factored in ``Ms``, with ``pivc``, ``lu_work``
    and ``b2`` of size 2n."""

    J: np.ndarray
    Mr: np.ndarray
    Mc: np.ndarray
    pivr: np.ndarray
    pivc: np.ndarray
    jac_factor: np.ndarray
    Z: np.ndarray
    W: np.ndarray
    F: np.ndarray
    br: np.ndarray
    bc: np.ndarray
    scale: np.ndarray
    prev_coef: np.ndarray
    y_prev: np.ndarray
    mass: np.ndarray
    mw: np.ndarray
    sp: SparsePattern
    sp2: SparsePattern
    Ms: np.ndarray
    lu_work: np.ndarray
    b2: np.ndarray


@twinned
def radau_work(method, problem, n, degree):
    """Workspace of Radau IIA (None without it); banded storage when ``problem.kl >= 0``."""
    if method is None:
        return None
    j_shape, m_shape = matrix_shapes(method.sparse, problem.kl, problem.ku, n)
    sparse = method.sparse.perm.size > 0
    c_shape = (0, n) if sparse else m_shape  # the complex system in its real form: Ms
    n2 = 2 * n if sparse else 0
    return RadauWork(
        np.zeros(j_shape),
        np.zeros(m_shape),
        np.zeros(c_shape, dtype=np.complex128),
        np.zeros(n, dtype=np.int64),
        np.zeros(max(n, n2), dtype=np.int64),
        jacobian_work(n),
        np.zeros((3, n)),
        np.zeros((3, n)),
        np.zeros((3, n)),
        np.zeros(n),
        np.zeros(n, dtype=np.complex128),
        np.empty(n),
        np.zeros((n, degree)),
        np.empty(n),
        method.mass,
        np.zeros((3, n)),
        method.sparse,
        method.sparse_complex,
        np.zeros((1, sparse_lu_size(method.sparse_complex) if sparse else 0)),
        np.zeros(n2),
        np.zeros(n2),
    )


@twinned
def radau_attempt(problem, rw, imp, work, t, h, rejected_last, steps, info):
    """One attempted step: fresh Jacobian if stale, factorisations for ``h``, Newton, error.

    Returns ``(err, failure code or 0)``; ``RETRY`` when Newton failed with an old Jacobian
    (the step is tried again with a fresh one).
    """
    st = imp[0]
    kl, ku = problem.kl, problem.ku
    sparse = rw.sp.perm.size > 0
    if st.jac_stale:
        if sparse:
            update_sparse_jacobian(
                problem, imp, rw.sp, rw.J, rw.jac_factor, work, t, steps.atol, info
            )
        else:
            update_jacobian(problem, imp, rw.J, rw.jac_factor, work, t, steps.atol, info, rw.mass)
    if abs(st.lu_h - h) > 1e-10 * abs(h):  # a new step size, not the rounding of t + h - t
        singular = factor_iteration(
            rw.sp, rw.J, kl, ku, MU_REAL / h, rw.mass, rw.Mr, rw.pivr, rw.lu_work
        )
        if singular == 0 and sparse:
            shift = MU_COMPLEX.real / h
            singular = sparse_factor(rw.sp2, rw.J[0], shift, rw.Ms[0], rw.lu_work, rw.pivc)
        elif singular == 0:
            shifted_mass(rw.J, kl, ku, MU_COMPLEX / h, rw.mass, rw.Mc)
            singular = factor(rw.Mc, kl, ku, rw.pivc)
        info[0].nlu += 2
        st.lu_h = h if singular == 0 else 0.0
        if singular != 0 or not np.isfinite(st.jnorm):
            return np.nan, SINGULAR
    y = work.y
    if st.have_guess:
        radau_guess(rw.prev_coef, st.t_prev, st.h_prev, t, h, y, rw.y_prev, rw.Z)
    else:
        Z = rw.Z
        for i in range(Z.shape[0]):
            for k in range(Z.shape[1]):
                Z[i, k] = 0.0
    for i in range(y.size):
        rw.scale[i] = steps.atol[i] + steps.rtol[i] * abs(y[i])
    rmin = steps.rtol[0]
    for i in range(1, steps.rtol.size):
        rmin = min(rmin, steps.rtol[i])
    tol = max(10.0 * EPS / rmin, min(0.03, np.sqrt(rmin)))
    converged, n_iter, rate, nf = radau_newton(problem, rw, y, t, h, tol, work.ybuf)
    info[0].nfev += nf
    st.n_iter = n_iter
    st.rate = rate
    if not converged:
        if st.jac_current:
            return np.nan, NEWTON
        st.jac_stale = True
        return np.nan, RETRY
    for i in range(y.size):
        work.y_new[i] = y[i] + rw.Z[2, i]
    info[0].nfev += radau_error(problem, rw, work, t, h, False)
    err = rms_error_norm(work.err, y, work.y_new, steps.rtol, steps.atol)
    if rejected_last and err > 1.0:
        info[0].nfev += radau_error(problem, rw, work, t, h, True)
        err = rms_error_norm(work.err, y, work.y_new, steps.rtol, steps.atol)
    if not (np.isfinite(err) and all_finite(work.y_new)):
        return np.nan, NONFINITE
    return err, 0


@twinned
def radau_accepted(rw, imp, constant, y, t, h, ratio):
    """Bookkeeping after an accepted step; returns the step ratio to use.

    A fresh Jacobian next step only if Newton converged slowly (more than 2 iterations at a rate
    above 1e-3) -- never for a ``constant`` one, which stays current; otherwise a ratio in
    [1, 1.2) keeps ``h`` and the factorisations (``radau5.f``: QUOT1 = 1, QUOT2 = 1.2).  The
    collocation polynomial is kept as the next starting guess.
    """
    st = imp[0]
    recompute = st.n_iter > 2 and st.rate > 1e-3 and not constant
    st.jac_stale = recompute
    st.jac_current = constant
    if not recompute and 1.0 <= ratio < 1.2:
        ratio = 1.0
    radau_dense(rw.Z, rw.prev_coef)
    copy_into(rw.y_prev, y)
    st.t_prev = t
    st.h_prev = h
    st.have_guess = True
    return ratio


@numba.njit(**NJIT)
def newton_factor(n_iter):
    """``radau5.f``'s damping of the step ratio by the Newton iterations:
    ``(2 NIT + 1) / (2 NIT + iterations)``, ``NIT = 6``."""
    return (2.0 * NEWTON_MAXITER + 1.0) / (2.0 * NEWTON_MAXITER + n_iter)


@twinned
def radau_newton(problem, rw, y, t, h, tol, ybuf):
    """Simplified Newton for the stage increments ``Z`` (3, n), starting from ``Z`` as given.

    ``rw.Mr``, ``rw.Mc`` hold the factored real and complex matrices.  Returns ``(converged,
    iterations, rate, F evaluations)``; ``rate`` is -1 before two iterates exist.
    """
    Z, W, F, br, bc, scale = rw.Z, rw.W, rw.F, rw.br, rw.bc, rw.scale
    kl, ku = problem.kl, problem.ku
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
            problem.rhs(t + C[i] * h, ybuf, F[i], problem.ctx)
        nfev += 3
        finite = True
        for i in range(3):
            for k in range(n):
                if not np.isfinite(F[i, k]):
                    finite = False
        if not finite:
            return False, it + 1, rate, nfev
        MW = W
        if rw.mass.shape[0] > 0:
            MW = rw.mw
            for i in range(3):
                mass_product(rw.sp, rw.mass, W[i], MW[i])
        for k in range(n):
            g0 = TI[0, 0] * F[0, k] + TI[0, 1] * F[1, k] + TI[0, 2] * F[2, k]
            g1 = TI[1, 0] * F[0, k] + TI[1, 1] * F[1, k] + TI[1, 2] * F[2, k]
            g2 = TI[2, 0] * F[0, k] + TI[2, 1] * F[1, k] + TI[2, 2] * F[2, k]
            br[k] = g0 - mr * MW[0, k]
            bc[k] = complex(g1, g2) - mc * complex(MW[1, k], MW[2, k])
        solve_iteration(rw.sp, rw.Mr, kl, ku, rw.pivr, br, rw.lu_work)
        solve_complex(rw, kl, ku, bc)
        acc = 0.0
        for k in range(n):
            acc += (br[k] / scale[k]) ** 2 + (bc[k].real / scale[k]) ** 2
            acc += (bc[k].imag / scale[k]) ** 2
        dw_norm = np.sqrt(acc / (3 * n))
        if norm_old >= 0.0:
            rate = dw_norm / norm_old
        if rate >= 0.0 and (
            rate >= 1.0 or ipow(rate, NEWTON_MAXITER - it) / (1.0 - rate) * dw_norm > tol
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


@twinned
def radau_error(problem, rw, work, t, h, again):
    """``err = (mu_r/h I - J)^-1 (F(t, y) + E.Z/h)``; with ``again``, once more from
    ``F(t, y + err)`` (Hairer's estimate after a rejection).  Returns F evaluations."""
    Z, y, err_vec, ybuf, fbuf = rw.Z, work.y, work.err, work.ybuf, work.fbuf
    kl, ku = problem.kl, problem.ku
    n = y.size
    ez = rw.mw[0]
    for k in range(n):
        ez[k] = (E[0] * Z[0, k] + E[1] * Z[1, k] + E[2] * Z[2, k]) / h
    if rw.mass.shape[0] > 0:
        mass_product(rw.sp, rw.mass, ez, rw.mw[1])
        copy_into(ez, rw.mw[1])
    for k in range(n):
        err_vec[k] = work.f0[k] + ez[k]
    solve_iteration(rw.sp, rw.Mr, kl, ku, rw.pivr, err_vec, rw.lu_work)
    if not again:
        return 0
    for k in range(n):
        ybuf[k] = y[k] + err_vec[k]
    problem.rhs(t, ybuf, fbuf, problem.ctx)
    for k in range(n):
        err_vec[k] = fbuf[k] + ez[k]
    solve_iteration(rw.sp, rw.Mr, kl, ku, rw.pivr, err_vec, rw.lu_work)
    return 1


@twinned
def solve_complex(rw, kl, ku, b):
    """Solve ``(mu_c/h M - J) x = b`` in place: complex LU, or the real form on the sparse
    pattern (``(Re b, Im b)`` in ``rw.b2``)."""
    if rw.sp.perm.size == 0:
        solve(rw.Mc, kl, ku, rw.pivc, b)
        return
    n = b.size
    for k in range(n):
        rw.b2[k] = b[k].real
        rw.b2[n + k] = b[k].imag
    sparse_solve(rw.sp2, rw.Ms[0], rw.b2, rw.lu_work, rw.pivc)
    for k in range(n):
        b[k] = complex(rw.b2[k], rw.b2[n + k])


@numba.njit(**NJIT)
def radau_dense(Z, coef):
    """Collocation polynomial ``coef = Z^T P`` (power basis in theta, degree 3, zero-padded)."""
    for k in range(coef.shape[0]):
        for j in range(coef.shape[1]):
            coef[k, j] = 0.0
            if j < 3:
                coef[k, j] = Z[0, k] * P[0, j] + Z[1, k] * P[1, j] + Z[2, k] * P[2, j]


@numba.njit(**NJIT)
def radau_guess(prev_coef, t_prev, h_prev, t, h, y, y_prev, Z):
    """Starting stages from the previous step's polynomial, extrapolated to ``t + c h``."""
    for i in range(3):
        theta = (t + C[i] * h - t_prev) / h_prev
        for k in range(y.size):
            acc = 0.0
            for j in range(prev_coef.shape[1] - 1, -1, -1):
                acc = (acc + prev_coef[k, j]) * theta
            Z[i, k] = y_prev[k] + acc - y[k]
