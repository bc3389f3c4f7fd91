"""The Jacobian ``J = dF/dy`` for implicit methods: the user's ``jac``, or forward differences.

Forward differences with per-column increments that adapt from one Jacobian to the next, as
SciPy's ``num_jac`` (after Salane 1986 and MATLAB's ``numjac``): column ``j`` is
``(F(t, y + h_j e_j) - F(t, y)) / h_j`` with ``h_j = factor_j * sign(F_j) * max(atol_j, |y_j|)``
(the increment actually represented is divided by).  If the largest change of the column is
below ``eps^0.875`` of the function value where it occurs, the column is retried with a 10x
larger factor and the better of the two kept; afterwards the factor grows 10x when that change
was below ``eps^0.75`` of the value, shrinks 10x when above ``eps^0.25``, never below
``1000 eps``; ``factor`` starts at ``sqrt(eps)``.  Scaling by ``atol`` matters for Rosenbrock
methods, which use ``J`` in the formula itself: ROBER's ``y_2 ~ 1e-13`` needs ``h_2 << y_2``.

With a band of ``kl`` sub- and ``ku`` super-diagonals the columns ``j, j + w, j + 2w, ...``
(``w = kl + ku + 1``) share no row and are perturbed together (Curtis, Powell & Reid, J. Inst.
Math. Appl. 13, 1974): ``min(w, n)`` evaluations instead of ``n``.  ``dF/dt`` (Rosenbrock
methods) is the forward difference with ``delta = sqrt(eps max(1e-5, |t|))`` (``rodas.f``), but
at least ``2 eps |t|`` so that ``t + delta`` never rounds back to ``t``.

With a sparsity pattern (:mod:`stepsize.ode._sparse`) the columns of each Curtis-Powell-Reid
group are perturbed together, with the same increments, and only the pattern's entries kept; a
user's ``jac`` then writes its values on the pattern (:mod:`stepsize.ode._sparse_jac`).
"""

import numba
import numpy as np

from stepsize.ode._bundles import JAC_CONSTANT, JAC_DIFFERENCES
from stepsize.ode._jit import NJIT, twinned
from stepsize.ode._linalg import norm_inf
from stepsize.ode._sparse import sparse_lu_size, sparse_norm_inf

EPS = np.finfo(float).eps
DIFF_REJECT = EPS**0.875
DIFF_SMALL = EPS**0.75
DIFF_BIG = EPS**0.25
MIN_FACTOR = np.sqrt(EPS)
FACTOR, STEP, CHANGE, SCALE, RETRIED = range(5)
"""Rows of the differences' workspace (:func:`jacobian_work`): the adaptive factors (kept from
one Jacobian to the next), and per column the increment, the largest change, the function
value there and whether the column is retried (1.0) -- scratch of one Jacobian."""


@twinned
def jacobian_work(n):
    """The (5, n) workspace of :func:`jacobian` and :func:`sparse_jacobian`, factors at
    ``sqrt(eps)``: one array made with the method's workspace, so that a Jacobian allocates
    nothing (four arrays per Jacobian, and the reference counting of every array handed to the
    per-column helpers, were about 8 % of Rodas5P's time on HIRES)."""
    fw = np.zeros((5, n))
    for j in range(n):
        fw[FACTOR, j] = MIN_FACTOR
    return fw


@twinned
def matrix_shapes(sp, kl, ku, n):
    """``(shape of J, shape of the factored iteration matrix)`` of an implicit method:
    ``(n, n)`` twice when dense; ``(kl + ku + 1, n)`` and LAPACK's ``(2 kl + ku + 1, n)`` in
    band storage (``kl >= 0``); ``(1, nnz)`` and ``(1, sparse_lu_size)`` with a sparsity
    pattern ``sp`` (:mod:`stepsize.ode._sparse`; empty: none)."""
    if sp.perm.size > 0:
        return (1, sp.rows.size), (1, sparse_lu_size(sp))
    if kl < 0:
        return (n, n), (n, n)
    return (kl + ku + 1, n), (2 * kl + ku + 1, n)


@twinned
def update_jacobian(problem, imp, J, fw, work, t, atol, info, mass):
    """A fresh ``J`` at ``(t, work.y)``, its stiffness scale in ``imp`` (``||J||_inf``, or with
    a mass matrix ``mass`` the rows of ``J`` over those of ``M``, :func:`norm_inf`); counts
    ``njev`` (not for a constant Jacobian, as SciPy) and the F evaluations of differences;
    ``fw``: :func:`jacobian_work`."""
    info[0].nfev += jacobian(problem, t, work.y, work.f0, atol, fw, J, work.ybuf, work.fbuf)
    if problem.jac_mode != JAC_CONSTANT:
        info[0].njev += 1
    st = imp[0]
    st.jnorm = norm_inf(J, problem.kl, problem.ku, mass)
    st.jac_stale = False
    st.jac_current = True
    st.lu_h = 0.0


@twinned
def jacobian(problem, t, y, f0, atol, fw, J, ybuf, fbuf):
    """Fill ``J`` (dense, or packed band if ``kl >= 0``) at ``(t, y)``; returns F evaluations.

    ``fw`` (:func:`jacobian_work`) carries the adaptive factors from one call to the next and
    holds the columns' scratch: nothing is allocated.
    """
    if problem.jac_mode != JAC_DIFFERENCES:
        problem.jac(t, y, J, problem.ctx)
        return 0
    rhs, ctx, kl, ku = problem.rhs, problem.ctx, problem.kl, problem.ku
    n = y.size
    dense = kl < 0
    w = n if dense else min(kl + ku + 1, n)
    factor, h, max_diff, scale, retry = fw[FACTOR], fw[STEP], fw[CHANGE], fw[SCALE], fw[RETRIED]
    for j in range(n):
        ybuf[j] = y[j]
    nfev = 0
    for group in range(w):
        for j in range(group, n, w):
            h[j] = _increment(y[j], factor[j], f0[j], atol[j])
            while h[j] == 0.0:
                factor[j] *= 10.0
                h[j] = _increment(y[j], factor[j], f0[j], atol[j])
            ybuf[j] = y[j] + h[j]
        rhs(t, ybuf, fbuf, ctx)
        nfev += 1
        again = False
        for j in range(group, n, w):
            ybuf[j] = y[j]
            lo, hi = _rows(dense, kl, ku, j, n)
            max_diff[j], scale[j] = _store_column(J, dense, ku, j, lo, hi, f0, fbuf)
            retry[j] = 1.0 if max_diff[j] < DIFF_REJECT * scale[j] else 0.0
            again = again or retry[j] != 0.0
        if again:
            for j in range(group, n, w):
                if retry[j] != 0.0:
                    ybuf[j] = y[j] + _increment(y[j], 10.0 * factor[j], f0[j], atol[j])
            rhs(t, ybuf, fbuf, ctx)
            nfev += 1
            for j in range(group, n, w):
                if retry[j] == 0.0:
                    continue
                h_new = ybuf[j] - y[j]
                ybuf[j] = y[j]
                lo, hi = _rows(dense, kl, ku, j, n)
                d_new, s_new = _column_change(lo, hi, f0, fbuf)
                if h_new != 0.0 and max_diff[j] * s_new < d_new * scale[j]:
                    factor[j] *= 10.0
                    h[j] = h_new
                    max_diff[j], scale[j] = _store_column(J, dense, ku, j, lo, hi, f0, fbuf)
        for j in range(group, n, w):
            lo, hi = _rows(dense, kl, ku, j, n)
            for i in range(lo, hi):
                if dense:
                    J[i, j] /= h[j]
                else:
                    J[ku + i - j, j] /= h[j]
            _adapt(factor, j, max_diff[j], scale[j])
    return nfev


@numba.njit(**NJIT)
def _adapt(factor, j, max_diff, scale):
    """The next factor of column ``j`` from its change (module docstring)."""
    if max_diff < DIFF_SMALL * scale:
        factor[j] *= 10.0
    elif max_diff > DIFF_BIG * scale:
        factor[j] *= 0.1
    factor[j] = max(factor[j], MIN_FACTOR)


@numba.njit(**NJIT)
def _increment(yj, factor, fj, atol):
    scale = max(atol, abs(yj)) if fj >= 0.0 else -max(atol, abs(yj))
    return (yj + factor * scale) - yj


@numba.njit(**NJIT)
def _rows(dense, kl, ku, j, n):
    if dense:
        return 0, n
    return max(0, j - ku), min(n, j + kl + 1)


@numba.njit(**NJIT)
def _column_change(lo, hi, f0, f1):
    """Largest ``|f1_i - f0_i|`` over the rows ``lo:hi`` of a column and ``max(|f0_i|, |f1_i|)``
    there."""
    best = -1.0
    at = lo
    for i in range(lo, hi):
        d = abs(f1[i] - f0[i])
        if d > best:
            best = d
            at = i
    return best, max(abs(f0[at]), abs(f1[at]))


@numba.njit(**NJIT)
def _store_column(J, dense, ku, j, lo, hi, f0, f1):
    """Write the raw differences of column ``j`` (rows ``lo:hi``); returns
    :func:`_column_change`'s pair."""
    for i in range(lo, hi):
        if dense:
            J[i, j] = f1[i] - f0[i]
        else:
            J[ku + i - j, j] = f1[i] - f0[i]
    return _column_change(lo, hi, f0, f1)


@twinned
def time_derivative(problem, t, y, f0, fbuf, out):
    """``out = (F(t + delta, y) - F(t, y)) / delta``; one F evaluation."""
    delta = (t + max(np.sqrt(EPS * max(1e-5, abs(t))), 2.0 * EPS * abs(t))) - t
    problem.rhs(t + delta, y, fbuf, problem.ctx)
    for i in range(y.size):
        out[i] = (fbuf[i] - f0[i]) / delta
    return 1


@twinned
def update_sparse_jacobian(problem, imp, sp, J, fw, work, t, atol, info):
    """:func:`update_jacobian` for a sparse pattern ``sp`` (:mod:`stepsize.ode._sparse`): the
    values ``J[0]`` of ``J`` (1, nnz) on the pattern, by grouped differences or from the user's
    ``jac`` (:mod:`stepsize.ode._sparse_jac`)."""
    if problem.jac_mode == JAC_DIFFERENCES:
        info[0].nfev += sparse_jacobian(
            problem, sp, t, work.y, work.f0, atol, fw, J[0], work.ybuf, work.fbuf
        )
    else:
        problem.jac(t, work.y, J, problem.ctx)
    if problem.jac_mode != JAC_CONSTANT:
        info[0].njev += 1
    st = imp[0]
    st.jnorm = sparse_norm_inf(sp, J[0], work.fbuf)
    st.jac_stale = False
    st.jac_current = True
    st.lu_h = 0.0


@twinned
def sparse_jacobian(problem, sp, t, y, f0, atol, fw, jdata, ybuf, fbuf):
    """Fill ``jdata`` (the values of ``J`` on the pattern ``sp``) by forward differences, one
    evaluation per Curtis-Powell-Reid group (and one per group with a retried column), with the
    increments of :func:`jacobian` and its workspace ``fw``; returns F evaluations.  ``ybuf`` is
    ``y`` on return."""
    rhs, ctx = problem.rhs, problem.ctx
    n = y.size
    colptr, rows, cols = sp.colptr, sp.rows, sp.group_cols
    factor, h, max_diff, scale, retry = fw[FACTOR], fw[STEP], fw[CHANGE], fw[SCALE], fw[RETRIED]
    for j in range(n):
        ybuf[j] = y[j]
    nfev = 0
    for g in range(sp.group_ptr.size - 1):
        first, last = sp.group_ptr[g], sp.group_ptr[g + 1]
        for m in range(first, last):
            j = cols[m]
            h[j] = _increment(y[j], factor[j], f0[j], atol[j])
            while h[j] == 0.0:
                factor[j] *= 10.0
                h[j] = _increment(y[j], factor[j], f0[j], atol[j])
            ybuf[j] = y[j] + h[j]
        rhs(t, ybuf, fbuf, ctx)
        nfev += 1
        again = False
        for m in range(first, last):
            j = cols[m]
            ybuf[j] = y[j]
            lo, hi = colptr[j], colptr[j + 1]
            max_diff[j], scale[j] = _sparse_column(jdata, rows, lo, hi, f0, fbuf, True)
            retry[j] = 1.0 if hi > lo and max_diff[j] < DIFF_REJECT * scale[j] else 0.0
            again = again or retry[j] != 0.0
        if again:
            for m in range(first, last):
                j = cols[m]
                if retry[j] != 0.0:
                    ybuf[j] = y[j] + _increment(y[j], 10.0 * factor[j], f0[j], atol[j])
            rhs(t, ybuf, fbuf, ctx)
            nfev += 1
            for m in range(first, last):
                j = cols[m]
                if retry[j] == 0.0:
                    continue
                h_new = ybuf[j] - y[j]
                ybuf[j] = y[j]
                lo, hi = colptr[j], colptr[j + 1]
                d_new, s_new = _sparse_column(jdata, rows, lo, hi, f0, fbuf, False)
                if h_new != 0.0 and max_diff[j] * s_new < d_new * scale[j]:
                    factor[j] *= 10.0
                    h[j] = h_new
                    max_diff[j], scale[j] = _sparse_column(jdata, rows, lo, hi, f0, fbuf, True)
        for m in range(first, last):
            j = cols[m]
            for e in range(colptr[j], colptr[j + 1]):
                jdata[e] /= h[j]
            if colptr[j + 1] > colptr[j]:
                _adapt(factor, j, max_diff[j], scale[j])
    return nfev


@numba.njit(**NJIT)
def _sparse_column(jdata, rows, lo, hi, f0, f1, store):
    """:func:`_store_column` (``store``) or :func:`_column_change` on the pattern entries
    ``lo:hi`` of one column."""
    best = -1.0
    at = rows[lo] if hi > lo else 0
    for e in range(lo, hi):
        i = rows[e]
        d = f1[i] - f0[i]
        if store:
            jdata[e] = d
        if abs(d) > best:
            best = abs(d)
            at = i
    return best, max(abs(f0[at]), abs(f1[at]))
