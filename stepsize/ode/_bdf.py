"""Variable-order BDF (orders 1-5) in the NDF form of Shampine & Reichelt, compiled.

The method of SciPy's ``BDF`` and MATLAB's ``ode15s`` (L. F. Shampine, M. W. Reichelt, "The
MATLAB ODE suite", SIAM J. Sci. Comput. 18, 1997, Sec. 2), with the step-size and Jacobian
policy of SUNDIALS CVODE (A. C. Hindmarsh et al., ACM TOMS 31, 2005).

History.  A quasi-constant step size ``h``: the solution at ``t_n, t_n - h, ..., t_n - (q+2) h``
is held as its backward differences ``D[j] = nabla^j y_n`` (``D`` is (8, n)).  When ``h``
changes by ``rho = h_new / h`` the interpolating polynomial of the history is re-sampled on the
new grid, ``D[:q+1] <- (R(rho) U)^T D[:q+1]`` with ``R_ij = prod_{m<=i} (m - 1 - rho j) / m``
and ``U = R(1)`` (Shampine & Reichelt, eq. (2.5); SciPy's ``change_D``).  :func:`bdf_attempt`
re-samples whenever the loop hands it a step other than the one the differences are for, so the
loop may change ``h`` as it likes (rejections, ``max_step``, the end of the interval).

Step.  With ``gamma_k = sum_{j<=k} 1/j`` and the NDF constants ``kappa`` (``alpha_k = (1 -
kappa_k) gamma_k``) the corrector solves for ``d = y_{n+1} - y_pred``, ``y_pred = sum_{j<=q}
D[j]``::

    d - c F(t_{n+1}, y_pred + d) + psi = 0,   c = h / alpha_q,
    psi = sum_{j=1..q} gamma_j D[j] / alpha_q,

by simplified Newton with ``(I - c J)``, held as ``(1/c) I - J`` (``_linalg``): at most 4
iterations, converged when ``rate / (1 - rate) ||dy|| < tol``, ``tol = max(10 eps / rtol,
min(0.03, sqrt(rtol)))`` (SciPy's; Hairer's ``eta`` carried from the last step, which stops
after one iteration, failed SciPy's accuracy checks on its linear constant-Jacobian case by up
to 55x with this ``tol``, whose norm is not radau5's transformed one).  (CVODE's looser test,
``min(1, rate) ||dy|| <= 0.1 / C_q`` with the rate carried over from step to step, halves the
evaluations on the Brusselator but spoils the error estimate: more rejections, 4-40x larger
errors at the same tolerance, and ROBER fails at rtol 1e-4.)  ``J`` is kept until Newton
fails (then one retry with a fresh ``J``, then the step is halved), and its LU while ``c``
changes by less than 30 % -- the correction is then scaled by ``2 / (1 + c / c_LU)``, CVODE's
``dgmax`` and ``gamrat``.  Error estimate
``err = C_q d``, ``C_q = kappa_q gamma_q + 1/(q+1)``.

Order and step.  After ``q + 1`` steps of equal size the errors of orders ``q - 1`` and ``q +
1`` are estimated from ``C_{q-1} D[q]`` and ``C_{q+1} D[q+2]``; the order whose predicted step
ratio ``err_k^(-1/(k+1))`` is largest is taken, the ratio times ``safety = 0.9 (2 N + 1) / (2 N
+ n_iter)`` (N = 4), at most 10.  A ratio in [1, 1.5) at the same order keeps ``h`` (CVODE's
``eta_max_fx``: the LU stays valid); a rejection shrinks by ``max(0.2, safety err^(-1/(q+1)))``.

Mass matrix (``M y' = f``, M constant, possibly singular): the corrector is ``M d - c F + M psi
= 0``, Newton's matrix ``M - c J``; the history starts from ``D[1] = h y'_0`` with ``y'_0`` the
linearly implicit Euler slope ``(M - c J)^-1 c F_0 / c`` (consistent to O(h) for the algebraic
variables of an index-1 problem), where an ODE starts from ``h F_0`` as SciPy does.

Dense output: the polynomial through the history, ``y(t) = sum_{j<=q} D'[j] prod_{m<j} (t -
t_{n+1} + m h) / ((m+1) h)`` (``D'`` the updated differences), in the power basis in ``theta``
of the loop (:data:`BASIS`).
"""

from typing import NamedTuple

import numba
import numpy as np

from stepsize.ode._arrays import copy_into
from stepsize.ode._bundles import JAC_CONSTANT, JAC_DIFFERENCES, NEWTON, NONFINITE, RETRY, SINGULAR
from stepsize.ode._jacobian import (
    jacobian_work,
    matrix_shapes,
    update_jacobian,
    update_sparse_jacobian,
)
from stepsize.ode._jit import NJIT, inlined, interpreted_as, twinned
from stepsize.ode._linalg import factor, ipow, solve
from stepsize.ode._mass import NO_MASS, mass_times, shifted_mass
from stepsize.ode._sparse import (
    NO_PATTERN,
    SparsePattern,
    sparse_factor,
    sparse_mass_times,
    sparse_solve,
)

EPS = np.finfo(float).eps
MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
HOLD = 1.5
"""A predicted step ratio in [1, HOLD) at an unchanged order keeps the step (CVODE's
``eta_max_fx`` = 1.5)."""
LU_RATIO = 0.3
"""The LU of ``I - c_LU J`` serves while ``|c / c_LU - 1| < LU_RATIO`` (CVODE's ``dgmax``)."""

KAPPA = np.array([0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0])
"""Shampine & Reichelt's NDF constants (ode15s, Table 1); ``kappa = 0`` gives plain BDF."""
GAMMA = np.concatenate(([0.0], np.cumsum(1.0 / np.arange(1, MAX_ORDER + 1))))
ALPHA = (1.0 - KAPPA) * GAMMA
ERROR_CONST = np.concatenate((KAPPA * GAMMA + 1.0 / np.arange(1, MAX_ORDER + 2), [np.inf]))
"""``C_q`` for q = 0..6 (``C_6`` infinite: no order 6 is ever proposed)."""


def _basis():
    """``BASIS[j, k]``: coefficient of ``theta^k`` in ``prod_{m<j} (theta - 1 + m) / (m + 1)``,
    the Newton basis of the history polynomial with ``t = t_n + theta h``."""
    basis = np.zeros((MAX_ORDER + 1, MAX_ORDER + 1))
    poly = np.array([1.0])  # increasing powers
    basis[0, 0] = 1.0
    for j in range(1, MAX_ORDER + 1):
        m = j - 1
        poly = np.convolve(poly, np.array([m - 1.0, 1.0])) / (m + 1.0)
        basis[j, : poly.size] = poly
    return basis


BASIS = _basis()

BDF_STATE = np.dtype(
    [
        ("order", np.int64),
        ("n_equal", np.int64),
        ("h_d", np.float64),
        ("f0_valid", np.bool_),
    ]
)
"""The order, how many steps the differences have had the same size, the step size ``|h|`` they
are for, and whether ``work.f0`` holds ``F(t, y)`` (needed for a finite-difference ``J``)."""


class BDFMethod(NamedTuple):
    """The constants of the method (module docstring), ``need_f``: the loop evaluates
    ``F(t_{n+1}, y_{n+1})`` after each step (only where an explicit method may take over), and
    the mass matrix (empty: the identity), the Jacobian's sparsity pattern (empty: dense or
    banded storage)."""

    gamma: np.ndarray
    alpha: np.ndarray
    error_const: np.ndarray
    basis: np.ndarray
    need_f: bool
    k: float
    mass: np.ndarray
    sparse: SparsePattern = NO_PATTERN


def bdf_method(need_f, mass=NO_MASS, sparse=NO_PATTERN):
    """The :class:`BDFMethod` bundle; ``need_f`` for the automatic switch."""
    return BDFMethod(
        GAMMA.copy(),
        ALPHA.copy(),
        ERROR_CONST.copy(),
        BASIS.copy(),
        bool(need_f),
        2.0,
        mass,
        sparse,
    )


class BDFWork(NamedTuple):
    """Differences ``D`` (8, n) and the corrector ``d``, the Jacobian and the factored
    ``(1/c) I - J`` with pivots, the finite differences' workspace, the error scale, ``psi``, the
    prediction, the Newton correction, a buffer for ``M x``, the :data:`BDF_STATE` record; with
    a sparsity pattern ``J`` is (1, nnz) (its values on the pattern), ``M`` (1, nnz of L + U)
    and ``lu_work`` (n,) the sparse LU's scratch (:mod:`stepsize.ode._sparse`)."""

    D: np.ndarray
    d: np.ndarray
    J: np.ndarray
    M: np.ndarray
    piv: np.ndarray
    jac_factor: np.ndarray
    scale: np.ndarray
    psi: np.ndarray
    pred: np.ndarray
    dy: np.ndarray
    mx: np.ndarray
    rec: np.ndarray
    lu_work: np.ndarray
    resample: np.ndarray


@interpreted_as(lambda: np.zeros(1, dtype=BDF_STATE).view(np.recarray))
def new_bdf_state():
    """A zeroed :data:`BDF_STATE` record array (one element)."""
    return np.zeros(1, dtype=BDF_STATE)


@twinned
def bdf_work(method, problem, n):
    """Workspace of the BDF method (None without it); banded storage when ``problem.kl >= 0``."""
    if method is None:
        return None
    j_shape, m_shape = matrix_shapes(method.sparse, problem.kl, problem.ku, n)
    sparse = method.sparse.perm.size > 0
    return BDFWork(
        np.zeros((MAX_ORDER + 3, n)),
        np.zeros(n),
        np.zeros(j_shape),
        np.zeros(m_shape),
        np.zeros(n, dtype=np.int64),
        jacobian_work(n),
        np.ones(n),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        new_bdf_state(),
        np.zeros(n if sparse else 0),
        np.zeros((3, MAX_ORDER + 1, MAX_ORDER + 1)),
    )


def _unit_resampling():
    """``U = R(1)`` of :func:`change_differences` for the highest order; the matrix of a lower
    order ``q`` is its leading ``(q+1) x (q+1)`` block (no entry depends on ``q``)."""
    q = MAX_ORDER + 1
    U = np.zeros((q, q))
    U[0] = 1.0
    for i in range(1, q):
        for j in range(1, q):
            U[i, j] = U[i - 1, j] * (i - 1.0 - j) / i
    return U


UNIT_RESAMPLING = _unit_resampling()


@numba.njit(**NJIT)
def change_differences(D, order, rho, S):
    """Re-sample the history for a step ``rho`` times the old: ``D[:q+1] <- (R U)^T D[:q+1]``
    (Shampine & Reichelt, eq. (2.5)), ``R`` of ``rho``, ``U`` of 1 (a constant,
    :data:`UNIT_RESAMPLING`).  ``S`` (3, 6, 6) is scratch for ``R``, ``R U`` and a column: no
    allocation and no BLAS call for these matrices of size at most 6, which changed at about
    every other step and cost more than the step's arithmetic."""
    q = order + 1
    R, RU, tmp = S[0], S[1], S[2, 0]
    U = UNIT_RESAMPLING
    for j in range(q):
        R[0, j] = 1.0
    for i in range(1, q):
        R[i, 0] = 0.0
        for j in range(1, q):
            R[i, j] = R[i - 1, j] * (i - 1.0 - rho * j) / i
    for i in range(q):
        for j in range(q):
            acc = 0.0
            for m in range(q):
                acc += R[i, m] * U[m, j]
            RU[i, j] = acc
    for k in range(D.shape[1]):
        for j in range(q):
            acc = 0.0
            for i in range(q):
                acc += RU[i, j] * D[i, k]
            tmp[j] = acc
        for j in range(q):
            D[j, k] = tmp[j]


@numba.njit(**NJIT)
def scaled_rms(v, scale):
    """``sqrt(mean (v / scale)^2)``."""
    acc = 0.0
    for i in range(v.size):
        acc += (v[i] / scale[i]) ** 2
    return np.sqrt(acc / v.size)


@twinned
def bdf_attempt(problem, method, bw, imp, work, t, h, steps, info):
    """One attempted step from ``t`` to ``t + h``: re-sample or start the history, a fresh ``J``
    if stale, the LU if ``c`` moved too far, the corrector.  Returns ``(err, failure or 0)``;
    ``work.y_new``, ``work.err``, ``bw.d`` and ``bw.scale`` hold the step."""
    st, bs, D = imp[0], bw.rec[0], bw.D
    n = work.y.size
    starting = not st.have_guess
    if starting:  # (re)start at order 1 from y and F(t, y)
        for r in range(D.shape[0]):
            for i in range(n):
                D[r, i] = 0.0
        for i in range(n):
            D[0, i] = work.y[i]
            D[1, i] = h * work.f0[i]
        bs.order = 1
        bs.n_equal = 0
        bs.h_d = abs(h)
        bs.f0_valid = True
        st.have_guess = True
    elif abs(h) != bs.h_d:
        change_differences(D, bs.order, abs(h) / bs.h_d, bw.resample)
        bs.h_d = abs(h)
        bs.n_equal = 0
    if st.jac_stale:
        if problem.jac_mode == JAC_DIFFERENCES and not bs.f0_valid:
            problem.rhs(t, work.y, work.f0, problem.ctx)
            info[0].nfev += 1
            bs.f0_valid = True
        if method.sparse.perm.size > 0:
            sp, jf = method.sparse, bw.jac_factor
            update_sparse_jacobian(problem, imp, sp, bw.J, jf, work, t, steps.atol, info)
        else:
            update_jacobian(
                problem, imp, bw.J, bw.jac_factor, work, t, steps.atol, info, method.mass
            )
    q = bs.order
    c = h / method.alpha[q]
    if st.lu_h == 0.0 or abs(c / st.lu_h - 1.0) > LU_RATIO:
        singular = bdf_factor(method, bw, problem.kl, problem.ku, 1.0 / c)
        info[0].nlu += 1
        st.lu_h = c if singular == 0 else 0.0
        if singular != 0 or not np.isfinite(st.jnorm):
            return np.nan, SINGULAR
    if starting and method.mass.shape[0] > 0:  # D[1] = h (M - c_LU J)^-1 F_0
        copy_into(bw.dy, work.f0)
        bdf_solve(method, bw, problem.kl, problem.ku, bw.dy)
        for i in range(n):
            D[1, i] = h / st.lu_h * bw.dy[i]
    predict(method, bw, q, steps)
    rmin = steps.rtol[0]
    for i in range(1, n):
        rmin = min(rmin, steps.rtol[i])
    tol = max(10.0 * EPS / rmin, min(0.03, np.sqrt(rmin)))
    converged, n_iter, nf = bdf_newton(problem, method, bw, work, t + h, c, st.lu_h, tol)
    info[0].nfev += nf
    st.n_iter = n_iter
    if not converged:
        if st.jac_current:
            return np.nan, NEWTON
        st.jac_stale = True
        return np.nan, RETRY
    y_new = work.y_new
    for i in range(n):
        bw.scale[i] = steps.atol[i] + steps.rtol[i] * abs(y_new[i])
        work.err[i] = method.error_const[q] * bw.d[i]
    err = scaled_rms(work.err, bw.scale)
    if not np.isfinite(err):
        return np.nan, NONFINITE
    return err, 0


@twinned
def bdf_factor(method, bw, kl, ku, shift):
    """Factor ``shift M - J`` into ``bw.M`` (sparse, dense or banded); 0 or the singular pivot."""
    if method.sparse.perm.size > 0:
        return sparse_factor(method.sparse, bw.J[0], shift, bw.M[0], bw.lu_work, bw.piv)
    shifted_mass(bw.J, kl, ku, shift, method.mass, bw.M)
    return factor(bw.M, kl, ku, bw.piv)


@twinned
def bdf_solve(method, bw, kl, ku, b):
    """Solve with the factors of :func:`bdf_factor`, in place in ``b``."""
    if method.sparse.perm.size > 0:
        sparse_solve(method.sparse, bw.M[0], b, bw.lu_work, bw.piv)
    else:
        solve(bw.M, kl, ku, bw.piv, b)


@inlined
def predict(method, bw, q, steps):
    """``pred = sum_{j<=q} D[j]``, ``psi = sum_{j=1..q} gamma_j D[j] / alpha_q`` and the Newton
    scale ``atol + rtol |pred|``."""
    D = bw.D
    inv = 1.0 / method.alpha[q]
    for i in range(D.shape[1]):
        p = D[0, i]
        s = 0.0
        for j in range(1, q + 1):
            p += D[j, i]
            s += method.gamma[j] * D[j, i]
        bw.pred[i] = p
        bw.psi[i] = s * inv
        bw.scale[i] = steps.atol[i] + steps.rtol[i] * abs(p)


@inlined
def bdf_newton(problem, method, bw, work, t_new, c, c_lu, tol):
    """Simplified Newton for ``d`` from ``d = 0``: ``y = pred + d`` in ``work.y_new``.  Returns
    ``(converged, iterations, F evaluations)``.  Inlined into :func:`bdf_attempt`: a call passes
    the bundles' arrays field by field (some 200 words), which cost ROBER's BDF more than the
    iteration's arithmetic."""
    y, f, d, dy, scale = work.y_new, work.fbuf, bw.d, bw.dy, bw.scale
    n = y.size
    copy_into(y, bw.pred)
    for i in range(n):
        d[i] = 0.0
    gain = 2.0 / (1.0 + c / c_lu)
    norm_old = -1.0
    mass = method.mass.shape[0] > 0
    for it in range(NEWTON_MAXITER):
        problem.rhs(t_new, y, f, problem.ctx)
        for i in range(n):
            dy[i] = bw.psi[i] + d[i]
        if mass:
            if method.sparse.perm.size > 0:
                sparse_mass_times(method.sparse, dy, bw.mx)
            else:
                mass_times(method.mass, dy, bw.mx)
            copy_into(dy, bw.mx)
        finite = True
        for i in range(n):
            finite = finite and np.isfinite(f[i])
            dy[i] = (c * f[i] - dy[i]) / c_lu
        if not finite:
            return False, it + 1, it + 1
        bdf_solve(method, bw, problem.kl, problem.ku, dy)
        if gain != 1.0:
            for i in range(n):
                dy[i] *= gain
        dy_norm = scaled_rms(dy, scale)
        if not np.isfinite(dy_norm):
            return False, it + 1, it + 1
        rate = dy_norm / norm_old if norm_old > 0.0 else -1.0
        if rate >= 0.0 and (
            rate >= 1.0 or ipow(rate, NEWTON_MAXITER - it) / (1.0 - rate) * dy_norm > tol
        ):
            return False, it + 1, it + 1
        for i in range(n):
            y[i] += dy[i]
            d[i] += dy[i]
        if dy_norm == 0.0 or (rate >= 0.0 and rate / (1.0 - rate) * dy_norm < tol):
            return True, it + 1, it + 1
        norm_old = dy_norm
    return False, NEWTON_MAXITER, NEWTON_MAXITER


@numba.njit(**NJIT)
def safety(n_iter):
    """``0.9 (2 N + 1) / (2 N + n_iter)``: less growth after a slow Newton iteration."""
    return 0.9 * (2.0 * NEWTON_MAXITER + 1.0) / (2.0 * NEWTON_MAXITER + n_iter)


@twinned
def bdf_reject_ratio(bw, imp, err):
    """The step ratio after a rejected step: ``max(0.2, safety err^(-1/(q+1)))``."""
    q = bw.rec[0].order
    return max(MIN_FACTOR, safety(imp[0].n_iter) * err ** (-1.0 / (q + 1)))


@twinned
def bdf_accepted(problem, method, bw, imp):
    """Bookkeeping after an accepted step: the differences updated with ``d``, the order and the
    step ratio chosen (module docstring).  Returns the ratio."""
    st, bs, D, d = imp[0], bw.rec[0], bw.D, bw.d
    q = bs.order
    n = d.size
    for i in range(n):
        D[q + 2, i] = d[i] - D[q + 1, i]
        D[q + 1, i] = d[i]
    for j in range(q, -1, -1):
        for i in range(n):
            D[j, i] += D[j + 1, i]
    st.jac_current = problem.jac_mode == JAC_CONSTANT
    bs.f0_valid = method.need_f
    bs.n_equal += 1
    if bs.n_equal < q + 1:
        return 1.0
    best = 0
    ratio_best = 0.0
    for delta in range(-1, 2):
        k = q + delta
        if k < 1 or k > MAX_ORDER:
            continue
        err = 0.0
        for i in range(n):
            err += (method.error_const[k] * D[k + 1, i] / bw.scale[i]) ** 2
        err = np.sqrt(err / n)
        ratio = err ** (-1.0 / (k + 1)) if err > 0.0 else np.inf
        if ratio > ratio_best or (delta == 0 and ratio == ratio_best):
            best = delta
            ratio_best = ratio
    ratio = min(MAX_FACTOR, safety(st.n_iter) * ratio_best)
    if best != 0:
        bs.order = q + best
        bs.n_equal = 0
    elif 1.0 <= ratio < HOLD:
        return 1.0
    return ratio


@numba.njit(**NJIT)
def bdf_dense(method, bw, coef):
    """Interpolant of the step just taken (before :func:`bdf_accepted`): the history polynomial
    through the updated differences ``D'[j] = d + sum_{k=j..q} D[k]``, power basis in theta."""
    D, d = bw.D, bw.d
    q = bw.rec[0].order
    B = method.basis
    for i in range(coef.shape[0]):
        for k in range(coef.shape[1]):
            coef[i, k] = 0.0
        acc = d[i]
        for j in range(q, 0, -1):
            acc += D[j, i]
            for k in range(1, j + 1):
                coef[i, k - 1] += acc * B[j, k]
