"""Sparse Jacobians: the pattern, its column groups, and a compiled LU on a fixed pattern.

Pattern.  ``jac_sparsity`` (as SciPy's ``solve_ivp``: a ``scipy.sparse`` matrix or a dense
array, nonzero where ``dF_i/dy_j`` may be nonzero) is held in compressed columns: the rows of
column ``j`` are ``rows[colptr[j]:colptr[j + 1]]`` and entry ``e`` of the Jacobian's values
``J[0, e]`` is ``dF_{rows[e]}/dy_j``.

Column groups (A. R. Curtis, M. J. D. Powell, J. K. Reid, "On the estimation of sparse Jacobian
matrices", J. Inst. Math. Appl. 13, 117-119, 1974): columns whose row patterns are disjoint are
perturbed together, so one evaluation of ``F`` gives all of them.  The groups are a colouring of
the column-intersection graph, found greedily in the natural column order (each column takes
the smallest group none of whose columns shares a row with it): at most ``1 + max_i sum_j
[row i meets column j's rows]`` groups; 5 for the 5-point Laplacian, 10 for the 2-D
Brusselator's two species.

LU.  ``A = shift * I - J`` is factored as ``P A P^T = L U`` without pivoting, ``P`` the multiple
minimum-degree ordering of ``A^T + A`` (J. W. H. Liu, ACM TOMS 11, 1985), taken once at set-up
from SuperLU (SciPy's ``splu``, ``permc_spec="MMD_AT_PLUS_A"``, on the pattern with a dominant
diagonal); on the 32 x 32 Brusselator it leaves 142k entries in ``L + U``, reverse
Cuthill-McKee 359k.  The fill-in is found once (symbolic
elimination: row ``i`` of ``L + U`` is the pattern of row ``i`` of ``P A P^T`` joined by the
``U`` rows of the columns of its ``L`` part, in increasing order; George & Liu, *Computer
Solution of Large Sparse Positive Definite Systems*, 1981, Ch. 5); each refactorisation is the
row-oriented Doolittle elimination on that pattern (``ikj`` form, Saad, *Iterative Methods for
Sparse Linear Systems*, 2nd ed., Alg. 10.1 without dropping), in compressed rows, compiled.
Without pivoting the diagonal must not vanish: ``shift * I - J`` with the ``shift = 1 / (h
gamma)`` of a stiff method is dominated by its diagonal for small ``h`` and, for the dissipative
problems the method is for, stays regular for larger; a zero or non-finite pivot is reported as
a singular matrix (the step is then retried smaller).
"""

from typing import NamedTuple

import numba
import numpy as np

NJIT = {"cache": True, "error_model": "numpy", "nogil": True}


class SparsePattern(NamedTuple):
    """A Jacobian pattern with its column groups and the fixed-pattern LU of ``shift I - J``
    (module docstring).  ``colptr``, ``rows``: the pattern, compressed columns; ``group_ptr``,
    ``group_cols``: the columns of group ``g``; ``perm[k]``: the original index of row/column
    ``k`` of the ordered matrix; ``lu_ptr``, ``lu_cols``: compressed rows of ``L + U`` (sorted
    columns), ``diag[i]`` the position of ``(i, i)``; ``jpos[e]``: the position of Jacobian entry
    ``e`` in ``L + U``.  All empty: no pattern (dense or banded storage)."""

    colptr: np.ndarray
    rows: np.ndarray
    group_ptr: np.ndarray
    group_cols: np.ndarray
    perm: np.ndarray
    lu_ptr: np.ndarray
    lu_cols: np.ndarray
    diag: np.ndarray
    jpos: np.ndarray


def _empty():
    return np.zeros(0, dtype=np.int64)


NO_PATTERN = SparsePattern(*(_empty() for _ in range(9)))
"""No sparsity pattern: dense or banded storage."""


def _pattern_csc(jac_sparsity, n):
    """The pattern as a ``scipy.sparse`` CSC boolean matrix; a ``ValueError`` naming
    ``jac_sparsity`` for a wrong type or shape."""
    import scipy.sparse as sps

    if sps.issparse(jac_sparsity):
        pattern = sps.csc_matrix(jac_sparsity)
    else:
        try:
            arr = np.asarray(jac_sparsity)
        except (TypeError, ValueError):
            arr = np.asarray(None)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise ValueError(
                "jac_sparsity must be a scipy.sparse matrix or an (n, n) array of 0/1 (or bool), "
                f"got {type(jac_sparsity).__name__}"
            )
        pattern = sps.csc_matrix(arr)
    if pattern.shape != (n, n):
        raise ValueError(f"jac_sparsity must have shape ({n}, {n}) (as y0), got {pattern.shape}")
    pattern = sps.csc_matrix(pattern, dtype=float)
    pattern.data = np.abs(pattern.data)
    if not np.all(np.isfinite(pattern.data)):
        raise ValueError("jac_sparsity must be finite (it marks where the Jacobian may be nonzero)")
    pattern.eliminate_zeros()
    pattern.sort_indices()
    return pattern


def sparse_pattern(jac_sparsity, n):
    """The :class:`SparsePattern` of ``jac_sparsity`` for ``n`` equations (module docstring)."""
    import scipy.sparse as sps
    from scipy.sparse.linalg import splu

    pattern = _pattern_csc(jac_sparsity, n)
    colptr = pattern.indptr.astype(np.int64)
    rows = pattern.indices.astype(np.int64)
    rowwise = pattern.tocsr()
    group_ptr, group_cols = cpr_groups(
        colptr, rows, rowwise.indptr.astype(np.int64), rowwise.indices.astype(np.int64)
    )
    ones = sps.csc_matrix((np.ones(rows.size), rows, colptr), shape=(n, n))
    a = (ones + sps.identity(n, format="csc")).tocsr()
    full = (a + a.T).tocsc()
    full.data[:] = 1.0
    full = full + (n + 1.0) * sps.identity(n, format="csc")  # dominant diagonal: no pivots
    options = dict(SymmetricMode=True)
    lu = splu(full, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options=options)
    perm = np.argsort(lu.perm_c).astype(np.int64)
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)
    ordered = a[perm][:, perm].tocsr()
    ordered.sort_indices()
    lu_ptr, lu_cols, diag = symbolic_lu(
        n, ordered.indptr.astype(np.int64), ordered.indices.astype(np.int64)
    )
    cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(colptr))
    jpos = entry_positions(lu_ptr, lu_cols, inv[rows], inv[cols])
    return SparsePattern(colptr, rows, group_ptr, group_cols, perm, lu_ptr, lu_cols, diag, jpos)


@numba.njit(**NJIT)
def cpr_groups(colptr, rows, rowptr, cols):
    """Greedy Curtis-Powell-Reid grouping of the columns of a pattern given both as compressed
    columns (``colptr``, ``rows``) and rows (``rowptr``, ``cols``).  Returns ``(group_ptr,
    group_cols)``: group ``g`` holds ``group_cols[group_ptr[g]:group_ptr[g + 1]]``, no two of
    which share a row."""
    n = colptr.size - 1
    colour = np.full(n, -1, dtype=np.int64)
    seen = np.full(n + 1, -1, dtype=np.int64)  # seen[c] == j: group c is forbidden for column j
    n_groups = 0
    for j in range(n):
        for p in range(colptr[j], colptr[j + 1]):
            i = rows[p]
            for q in range(rowptr[i], rowptr[i + 1]):
                c = colour[cols[q]]
                if c >= 0:
                    seen[c] = j
        c = 0
        while seen[c] == j:
            c += 1
        colour[j] = c
        n_groups = max(n_groups, c + 1)
    group_ptr = np.zeros(n_groups + 1, dtype=np.int64)
    for j in range(n):
        group_ptr[colour[j] + 1] += 1
    for g in range(n_groups):
        group_ptr[g + 1] += group_ptr[g]
    fill = group_ptr[:-1].copy()
    group_cols = np.empty(n, dtype=np.int64)
    for j in range(n):
        group_cols[fill[colour[j]]] = j
        fill[colour[j]] += 1
    return group_ptr, group_cols


@numba.njit(**NJIT)
def symbolic_lu(n, ptr, cols):
    """The pattern of ``L + U`` (no pivoting) of a matrix with the compressed-row pattern
    ``ptr``, ``cols`` (sorted, diagonal included): ``(lu_ptr, lu_cols, diag)``."""
    mark = np.full(n, -1, dtype=np.int64)
    lu_ptr = np.zeros(n + 1, dtype=np.int64)
    diag = np.zeros(n, dtype=np.int64)
    out = np.empty(max(4 * ptr[n], 16), dtype=np.int64)
    used = 0
    for i in range(n):
        lo, hi = i, i
        mark[i] = i
        for p in range(ptr[i], ptr[i + 1]):
            mark[cols[p]] = i
            lo = min(lo, cols[p])
            hi = max(hi, cols[p])
        for k in range(lo, i):
            if mark[k] != i:
                continue
            for q in range(diag[k] + 1, lu_ptr[k + 1]):
                j = out[q]
                if mark[j] != i:
                    mark[j] = i
                    hi = max(hi, j)
        for c in range(lo, hi + 1):
            if mark[c] != i:
                continue
            if used == out.size:
                grown = np.empty(2 * out.size, dtype=np.int64)
                grown[:used] = out[:used]
                out = grown
            if c == i:
                diag[i] = used
            out[used] = c
            used += 1
        lu_ptr[i + 1] = used
    return lu_ptr, out[:used].copy(), diag


@numba.njit(**NJIT)
def entry_positions(lu_ptr, lu_cols, rows, cols):
    """Position of each ``(rows[e], cols[e])`` in the sorted compressed rows of ``L + U``."""
    pos = np.empty(rows.size, dtype=np.int64)
    for e in range(rows.size):
        lo, hi = lu_ptr[rows[e]], lu_ptr[rows[e] + 1]
        pos[e] = lo + np.searchsorted(lu_cols[lo:hi], cols[e])
    return pos


@numba.njit(**NJIT)
def sparse_factor(sp, jdata, shift, lu, w):
    """``L U`` of ``P (shift I - J) P^T`` into ``lu`` (values on ``sp.lu_cols``), ``J``'s values
    ``jdata``; ``w`` (n,) scratch.  0 on success, ``i + 1`` if pivot ``i`` is zero or not
    finite."""
    ptr, cols, diag = sp.lu_ptr, sp.lu_cols, sp.diag
    n = diag.size
    for p in range(lu.size):
        lu[p] = 0.0
    for e in range(jdata.size):
        lu[sp.jpos[e]] -= jdata[e]
    for i in range(n):
        lu[diag[i]] += shift
    for i in range(n):
        for p in range(ptr[i], ptr[i + 1]):
            w[cols[p]] = lu[p]
        for p in range(ptr[i], diag[i]):
            k = cols[p]
            lik = w[k] / lu[diag[k]]
            w[k] = lik
            if lik != 0.0:
                for q in range(diag[k] + 1, ptr[k + 1]):
                    w[cols[q]] -= lik * lu[q]
        for p in range(ptr[i], ptr[i + 1]):
            lu[p] = w[cols[p]]
        pivot = lu[diag[i]]
        if not (pivot != 0.0 and np.isfinite(pivot)):
            return i + 1
    return 0


@numba.njit(**NJIT)
def sparse_solve(sp, lu, b, w):
    """Solve ``(shift I - J) x = b`` in place in ``b`` with the factors of :func:`sparse_factor`;
    ``w`` (n,) scratch."""
    ptr, cols, diag, perm = sp.lu_ptr, sp.lu_cols, sp.diag, sp.perm
    n = diag.size
    for i in range(n):
        acc = b[perm[i]]
        for p in range(ptr[i], diag[i]):
            acc -= lu[p] * w[cols[p]]
        w[i] = acc
    for i in range(n - 1, -1, -1):
        acc = w[i]
        for p in range(diag[i] + 1, ptr[i + 1]):
            acc -= lu[p] * w[cols[p]]
        w[i] = acc / lu[diag[i]]
    for i in range(n):
        b[perm[i]] = w[i]
    return b


@numba.njit(**NJIT)
def sparse_norm_inf(sp, jdata, w):
    """``max_i sum_j |J_ij|`` of the sparse ``J``; ``w`` (n,) scratch."""
    n = sp.colptr.size - 1
    for i in range(n):
        w[i] = 0.0
    for e in range(jdata.size):
        w[sp.rows[e]] += abs(jdata[e])
    best = 0.0
    for i in range(n):
        best = max(best, w[i])
    return best
