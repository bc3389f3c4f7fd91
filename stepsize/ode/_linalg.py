"""LU factorisation with partial pivoting, dense or banded, real or complex, for compiled loops.

Implicit methods solve with ``M = shift * I - J``: ``shift = 1/(h gamma)`` for Rosenbrock methods,
``mu/h`` (real and complex) for Radau IIA.  Storage follows LAPACK:

* dense: ``M`` is (n, n), factored in place (``getrf``: Doolittle, row pivots ``piv``);
* banded with ``kl`` sub- and ``ku`` super-diagonals: ``J`` is packed as SciPy's ``solve_banded``
  and ``solve_ivp(..., method="LSODA")`` take it, ``J[ku + i - j, j] = dF_i/dy_j`` (shape
  (kl + ku + 1, n)); ``M`` gets ``kl`` extra rows for the fill-in of row interchanges,
  ``M[kl + ku + i - j, j] = M_ij`` (shape (2 kl + ku + 1, n)), as ``gbtrf``/``gbtrs``
  (Golub & Van Loan, *Matrix Computations*, Sec. 4.3.5).

``kl < 0`` selects the dense layout.  Factorisations return 0, or ``j + 1`` when the pivot of
column ``j`` is zero or not finite (the matrix is singular to working precision).
"""

import numba
import numpy as np


@numba.njit(cache=True)
def shifted(J, kl, ku, shift, M):
    """Write ``shift * I - J`` into ``M`` (dense, or banded with the fill-in rows zeroed)."""
    n = J.shape[1]
    if kl < 0:
        for i in range(n):
            for j in range(n):
                M[i, j] = -J[i, j]
            M[i, i] += shift
        return M
    for r in range(kl):
        for j in range(n):
            M[r, j] = 0.0
    for r in range(kl + ku + 1):
        for j in range(n):
            M[kl + r, j] = -J[r, j]
    for j in range(n):
        M[kl + ku, j] += shift
    return M


@numba.njit(cache=True)
def factor(M, kl, ku, piv):
    """LU-factor ``M`` in place (dense if ``kl < 0``); 0 on success, ``j + 1`` if singular."""
    if kl < 0:
        return _dense_lu(M, piv)
    return _band_lu(M, kl, ku, piv)


@numba.njit(cache=True)
def solve(M, kl, ku, piv, b):
    """Solve ``M x = b`` in place in ``b`` with the factors from :func:`factor`."""
    if kl < 0:
        _dense_solve(M, piv, b)
    else:
        _band_solve(M, kl, ku, piv, b)
    return b


@numba.njit(cache=True)
def _dense_lu(M, piv):
    n = M.shape[0]
    for k in range(n):
        p = k
        big = abs(M[k, k])
        for i in range(k + 1, n):
            if abs(M[i, k]) > big:
                big = abs(M[i, k])
                p = i
        piv[k] = p
        if not (big > 0.0 and np.isfinite(big)):
            return k + 1
        if p != k:
            for j in range(n):
                tmp = M[k, j]
                M[k, j] = M[p, j]
                M[p, j] = tmp
        inv = 1.0 / M[k, k]
        for i in range(k + 1, n):
            M[i, k] *= inv
            lik = M[i, k]
            if lik != 0.0:
                for j in range(k + 1, n):
                    M[i, j] -= lik * M[k, j]
    return 0


COLUMN_SWEEP_MAX = 64
"""Up to this ``n`` the dense triangular solves run by columns (below)."""


@numba.njit(cache=True)
def _dense_solve(M, piv, b):
    """``L U x = P b`` in place.  For ``n <= COLUMN_SWEEP_MAX`` by columns (``x_j`` final, then
    ``b_i -= M_ij x_j`` for the rows below or above): the critical path is one multiply-add per
    unknown, with the reciprocal pivots off it, where the row form's inner products chain ``n^2
    / 2`` dependent multiply-adds.  For the systems of ``n = 3..8`` the loop solves several times
    a step that halves their cost (the strided column access of the row-major ``M`` costs
    nothing while it fits in L1).  Larger ``n``: the row form, which reads ``M`` contiguously."""
    n = M.shape[0]
    for k in range(n):
        p = piv[k]
        if p != k:
            tmp = b[k]
            b[k] = b[p]
            b[p] = tmp
    if n <= COLUMN_SWEEP_MAX:
        for j in range(n):
            bj = b[j]
            for i in range(j + 1, n):
                b[i] -= M[i, j] * bj
        for j in range(n - 1, -1, -1):
            bj = b[j] * (1.0 / M[j, j])
            b[j] = bj
            for i in range(j):
                b[i] -= M[i, j] * bj
        return
    for i in range(n):
        acc = b[i]
        for j in range(i):
            acc -= M[i, j] * b[j]
        b[i] = acc
    for i in range(n - 1, -1, -1):
        acc = b[i]
        for j in range(i + 1, n):
            acc -= M[i, j] * b[j]
        b[i] = acc / M[i, i]


@numba.njit(cache=True)
def _band_lu(M, kl, ku, piv):
    """``gbtf2``: element (r, c) of the matrix lives at ``M[kl + ku + r - c, c]``."""
    n = M.shape[1]
    kv = kl + ku
    ju = 0  # last column touched by the row interchanges so far
    for j in range(n):
        km = min(kl, n - 1 - j)
        p = 0
        big = abs(M[kv, j])
        for r in range(1, km + 1):
            if abs(M[kv + r, j]) > big:
                big = abs(M[kv + r, j])
                p = r
        piv[j] = j + p
        if not (big > 0.0 and np.isfinite(big)):
            return j + 1
        ju = max(ju, min(j + ku + p, n - 1))
        if p != 0:
            for c in range(j, ju + 1):
                tmp = M[kv + j - c, c]
                M[kv + j - c, c] = M[kv + j + p - c, c]
                M[kv + j + p - c, c] = tmp
        inv = 1.0 / M[kv, j]
        for r in range(1, km + 1):
            M[kv + r, j] *= inv
        for c in range(j + 1, ju + 1):
            ujc = M[kv + j - c, c]
            if ujc != 0.0:
                for r in range(1, km + 1):
                    M[kv + j + r - c, c] -= M[kv + r, j] * ujc
    return 0


@numba.njit(cache=True)
def _band_solve(M, kl, ku, piv, b):
    n = M.shape[1]
    kv = kl + ku
    for j in range(n):
        p = piv[j]
        if p != j:
            tmp = b[j]
            b[j] = b[p]
            b[p] = tmp
        bj = b[j]
        if bj != 0.0:
            for r in range(1, min(kl, n - 1 - j) + 1):
                b[j + r] -= M[kv + r, j] * bj
    for j in range(n - 1, -1, -1):
        b[j] /= M[kv, j]
        bj = b[j]
        if bj != 0.0:
            for r in range(1, min(kv, j) + 1):
                b[j - r] -= M[kv - r, j] * bj


@numba.njit(cache=True)
def norm_inf(J, kl, ku, mass):
    """``max_i sum_j |J_ij| / sum_j |M_ij|`` over the rows with ``M_i != 0``, dense or packed
    band ``J`` (band: ``M`` diagonal): ``||J||_inf`` for an empty (0, 0) ``mass`` (the
    identity), an upper bound of ``|lambda|``; ``||M^-1 J||_inf`` for a diagonal ``M``, the
    size of the finite eigenvalues of the pencil ``J - lambda M`` (Hairer & Wanner II, Sec.
    VI.1), whose algebraic rows (``M_i = 0``, infinitely stiff) are left out."""
    n = J.shape[1]
    identity = mass.shape[0] == 0
    best = 0.0
    for i in range(n):
        m = 1.0
        if not identity:
            m = 0.0
            if kl < 0:
                for j in range(n):
                    m += abs(mass[i, j])
            else:
                m = abs(mass[i, i])
            if m == 0.0:
                continue
        acc = 0.0
        if kl < 0:
            for j in range(n):
                acc += abs(J[i, j])
        else:
            for j in range(max(0, i - kl), min(n, i + ku + 1)):
                acc += abs(J[ku + i - j, j])
        best = max(best, acc / m)
    return best


@numba.njit(cache=True)
def ipow(x, k):
    """``x**k`` for a small integer ``k >= 0`` by repeated multiplication: Numba compiles a
    float to a variable integer power as a call of libm's ``pow``, which Newton's divergence test
    (``rate**(k_max - k)``, every iteration) paid for."""
    acc = 1.0
    for _ in range(k):
        acc *= x
    return acc


def algebraic_parts(mass):
    """``(rows, cols)``: indices of the zero rows and zero columns of ``mass``."""
    rows = np.flatnonzero(~np.any(mass != 0.0, axis=1))
    cols = np.flatnonzero(~np.any(mass != 0.0, axis=0))
    return rows, cols


def algebraic_bases(mass):
    """``(L, V)``: orthonormal bases, as columns, of the left null space and the null space of
    ``mass`` (:mod:`stepsize.ode._mass`): unit vectors for the semi-explicit structure, else the
    singular vectors of the singular values below ``n eps sigma_max`` (LAPACK's rank rule).
    Both (n, 0) for a regular ``mass``."""
    n = mass.shape[0]
    rows, cols = algebraic_parts(mass)
    if rows.size and rows.size == cols.size:
        eye = np.eye(n)
        return eye[:, rows], eye[:, cols]
    u, sigma, vt = np.linalg.svd(mass)
    rank = int(np.sum(sigma > n * np.finfo(float).eps * sigma.max(initial=0.0)))
    return u[:, rank:], vt[rank:].T
