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

LU.  ``A = shift M - J`` (``M`` the identity or a constant mass matrix, its pattern joined
to ``J``'s) is factored as ``P A P^T = L U``, ``P`` the multiple minimum-degree
ordering of ``A^T + A`` (J. W. H. Liu, ACM TOMS 11, 1985), taken once at set-up from SuperLU
(SciPy's ``splu``, ``permc_spec="MMD_AT_PLUS_A"``, on the pattern with a dominant diagonal); on
the 32 x 32 Brusselator it leaves 142k entries in ``L + U``, reverse Cuthill-McKee 359k.  The
fill-in is found once (symbolic elimination: row ``i`` of ``L + U`` is the pattern of row ``i``
of ``P A P^T`` joined by the ``U`` rows of the columns of its ``L`` part, in increasing order;
George & Liu, *Computer Solution of Large Sparse Positive Definite Systems*, 1981, Ch. 5).

Minimum degree leaves the last rows nearly full (the separators of the grid): on the Brusselator
the last 300 rows are 79 % dense and hold 5 of the 7 million multiply-adds of the elimination.
So the ordered matrix is split, ``[[A11, A12], [A21, A22]] = [[L11, 0], [L21, I]] [[U11, U12],
[0, S]]``: the first ``s`` rows are eliminated in the fixed sparse pattern without pivoting
(row-oriented Doolittle, ``ikj`` form, Saad, *Iterative Methods for Sparse Linear Systems*, 2nd
ed., Alg. 10.1 without dropping), which also forms ``L21`` and the Schur complement ``S = A22 -
L21 U12`` as a dense block.  ``S`` is factored by rows too, each row reduced by the finished
rows above it in a contiguous scratch row, with partial pivoting over the columns (``S Q = L_S
U_S``, which is partial pivoting of ``S^T``, as stable; Golub & Van Loan, *Matrix
Computations*, 4th ed., Sec. 3.4).  ``s`` minimises the estimated work: the sparse multiply-adds
``sum_{k<s} |U_k| |L_k|`` plus ``m^3 / 3`` dense ones (``m = n - s``) weighted by
:data:`DENSE_COST`, with ``m <=`` :data:`MAX_TAIL`; on the Brusselator ``m = 378`` and a
factorisation takes 2.9 ms instead of 7.8 (4.9 without the block, from the unsigned indices
alone).  Rows that need pivoting -- the rows of the algebraic equations of a mass-matrix
problem, whose diagonal ``shift M_ii - J_ii`` carries no ``shift`` (a zero row of ``M``) or
loses it in the elimination (a capacitance matrix's node pairs) -- are ordered into the pivoted
block (after the minimum-degree order of the others).  In the sparse part the diagonal must not
vanish: ``shift M - J`` with the ``shift = 1 / (h gamma)`` of a stiff method is dominated by its
diagonal for small ``h`` in the differential rows and, for the dissipative problems the method
is for, stays regular for larger; a pivot at or below ``eps`` times the largest entry of its row
of ``A`` (or not finite) is reported as a singular matrix (the step is then retried smaller), and
so is an exactly singular ``S``.
"""

from typing import NamedTuple

import numba
import numpy as np

from stepsize.ode._linalg import algebraic_bases

NJIT = {"cache": True, "error_model": "numpy", "nogil": True}
U64 = np.uint64
"""Loop indices of the hot loops are unsigned: Numba then drops the negative-index wrap-around
test, and LLVM vectorises the dense row updates (7x on an ``axpy``)."""
EPS = np.finfo(float).eps
DENSE_COST = 0.05
"""Cost of one multiply-add of the dense block relative to one of the scattered sparse
elimination; chosen from timings on the Brusselator (AMD EPYC, AVX-512, a loaded machine):
blocks of 0, 200, 300, 378, 400 and 500 rows factor in 4.9, 3.9, 3.2, 2.9, 3.6 and 3.8 ms; the
estimate picks 378."""
MAX_TAIL = 1024
"""The dense block is at most ``MAX_TAIL`` rows (8 MB) unless more rows must pivot."""


class SparsePattern(NamedTuple):
    """A Jacobian pattern with its column groups and the LU of ``shift M - J`` (module
    docstring).  ``colptr``, ``rows``: the pattern, compressed columns; ``group_ptr``,
    ``group_cols``: the columns of group ``g``; ``perm[k]``: the original index of row/column
    ``k`` of the ordered matrix; ``lu_ptr``, ``lu_cols``: compressed rows of the sparse part of
    ``L + U`` (sorted columns; rows ``>= split`` hold ``L21`` only), ``diag[i]`` the position of
    ``(i, i)`` there (the end of the row for ``i >= split``); ``jpos[e]``: the position of
    Jacobian entry ``e`` in the factor storage; ``mrows``, ``mcols``, ``mval``: the nonzeros of
    the mass matrix by rows (the identity: the diagonal and ones), ``mpos`` their positions in the
    factor storage, which is ``lu_cols.size`` sparse values, then the dense ``(n - split)^2``
    block row by row.  All empty: no pattern (dense or banded storage)."""

    colptr: np.ndarray
    rows: np.ndarray
    group_ptr: np.ndarray
    group_cols: np.ndarray
    perm: np.ndarray
    lu_ptr: np.ndarray
    lu_cols: np.ndarray
    diag: np.ndarray
    jpos: np.ndarray
    mrows: np.ndarray
    mcols: np.ndarray
    mval: np.ndarray
    mpos: np.ndarray
    split: int


def _empty():
    return np.zeros(0, dtype=np.int64)


NO_PATTERN = SparsePattern(*(_empty() for _ in range(11)), np.zeros(0), _empty(), 0)
"""No sparsity pattern: dense or banded storage."""


def pattern_csc(jac_sparsity, n):
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


def sparse_pattern(jac_sparsity, n, mass=None, pivot_rows=None, tail=None):
    """The :class:`SparsePattern` of ``jac_sparsity`` for ``n`` equations (module docstring), for
    ``shift M - J`` with the (n, n) array ``mass`` (None: the identity).

    ``pivot_rows``: a boolean mask of the rows (original numbering) that go into the pivoted
    dense block, by default the rows of the algebraic equations (:func:`_algebraic_rows`);
    ``tail``: the size of that block (default: by the work estimate).
    """
    import scipy.sparse as sps
    from scipy.sparse.linalg import splu

    pattern = pattern_csc(jac_sparsity, n)
    colptr = pattern.indptr.astype(np.int64)
    rows = pattern.indices.astype(np.int64)
    rowwise = pattern.tocsr()
    group_ptr, group_cols = cpr_groups(
        colptr, rows, rowwise.indptr.astype(np.int64), rowwise.indices.astype(np.int64)
    )
    if mass is None:
        mrows = mcols = np.arange(n, dtype=np.int64)
        mval = np.ones(n)
    elif sps.issparse(mass):  # by rows, sorted (sparse_norm_inf)
        rowwise_mass = sps.csr_matrix(mass, dtype=float, copy=True)
        rowwise_mass.eliminate_zeros()
        rowwise_mass.sort_indices()
        mrows = np.repeat(np.arange(n, dtype=np.int64), np.diff(rowwise_mass.indptr))
        mcols, mval = rowwise_mass.indices.astype(np.int64), rowwise_mass.data
        if pivot_rows is None:
            pivot_rows = _algebraic_rows(rowwise_mass.toarray())
    else:
        mrows, mcols = (idx.astype(np.int64) for idx in np.nonzero(mass))
        mval = np.asarray(mass, dtype=float)[mrows, mcols]
        if pivot_rows is None:
            pivot_rows = _algebraic_rows(mass)
    ones = sps.csc_matrix((np.ones(rows.size), rows, colptr), shape=(n, n))
    ones = ones + sps.csc_matrix((np.ones(mval.size), (mrows, mcols)), shape=(n, n))
    a = (ones + sps.identity(n, format="csc")).tocsr()
    full = (a + a.T).tocsc()
    full.data[:] = 1.0
    full = full + (n + 1.0) * sps.identity(n, format="csc")  # dominant diagonal: no pivots
    options = dict(SymmetricMode=True)
    lu = splu(full, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options=options)
    perm = np.argsort(lu.perm_c).astype(np.int64)
    forced = 0
    if pivot_rows is not None:
        last = np.asarray(pivot_rows, dtype=bool)[perm]
        perm = np.concatenate((perm[~last], perm[last]))  # stable: the order otherwise kept
        forced = int(last.sum())
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)
    ordered = a[perm][:, perm].tocsr()
    ordered.sort_indices()
    lu_ptr, lu_cols, diag = symbolic_lu(
        n, ordered.indptr.astype(np.int64), ordered.indices.astype(np.int64)
    )
    split = _split(lu_ptr, lu_cols, diag, forced) if tail is None else n - max(tail, forced)
    lu_ptr, lu_cols, diag = _drop_tail(lu_ptr, lu_cols, diag, split)
    cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(colptr))
    jpos = entry_positions(lu_ptr, lu_cols, split, inv[rows], inv[cols])
    mpos = entry_positions(lu_ptr, lu_cols, split, inv[mrows], inv[mcols])
    return SparsePattern(
        colptr,
        rows,
        group_ptr,
        group_cols,
        perm,
        lu_ptr,
        lu_cols,
        diag,
        jpos,
        mrows,
        mcols,
        mval,
        mpos,
        split,
    )


def complex_pattern(jac_sparsity, n, mass, mu):
    """The :class:`SparsePattern` of the real form of ``mu M - J`` (``mu`` complex), for
    ``shift = mu.real``: ``[[M, -c M], [c M, M]] shift - [[J, 0], [0, J]]``, ``c = mu.imag /
    mu.real``, acting on ``(Re x, Im x)`` (Radau IIA's complex system; Hairer & Wanner, *Solving
    ODEs II*, Sec. IV.8).  Its Jacobian entries are ``J``'s twice in a row, so
    :func:`sparse_factor` takes ``J``'s values as they are; ``mass`` None is the identity, and
    the algebraic rows of ``M`` pivot in both halves."""
    import scipy.sparse as sps

    c = mu.imag / mu.real
    S = pattern_csc(jac_sparsity, n)
    M = sps.identity(n, format="csr") if mass is None else sps.csr_matrix(mass, dtype=float)
    pivot = np.zeros(2 * n, dtype=bool)
    if mass is not None:
        pivot = np.tile(_algebraic_rows(M.toarray()), 2)
    big = sps.bmat([[S, None], [None, S]], format="csc")
    mass2 = sps.bmat([[M, -c * M], [c * M, M]], format="csr")
    return sparse_pattern(big, 2 * n, mass2, pivot_rows=pivot)


def _algebraic_rows(mass):
    """The rows that take part in the algebraic equations ``L^T f = 0`` of ``M y' = f`` (``L``
    the left null space of ``M``, :func:`stepsize.ode._linalg.algebraic_bases`): the zero rows of
    a semi-explicit ``M``; for a singular ``M`` such as a capacitance matrix, the rows of the
    combinations, where ``shift M - J`` loses its ``shift`` only after elimination."""
    left, _ = algebraic_bases(mass)
    return np.any(np.abs(left) > np.sqrt(EPS), axis=1)


def _split(lu_ptr, lu_cols, diag, forced):
    """The first row of the dense block: ``s`` minimising ``sum_{k<s} |U_k| |L_k| + DENSE_COST
    (n - s)^3 / 3`` with at least ``forced`` and (unless forced) at most ``MAX_TAIL`` rows."""
    n = diag.size
    row_of = np.repeat(np.arange(n), np.diff(lu_ptr))
    lower = lu_cols < row_of
    l_count = np.bincount(lu_cols[lower], minlength=n)
    u_count = lu_ptr[1:] - diag - 1
    sparse_work = np.concatenate(([0.0], np.cumsum(u_count * l_count, dtype=float)))
    m = n - np.arange(n + 1)
    work = sparse_work + DENSE_COST * m.astype(float) ** 3 / 3.0
    work[m > max(MAX_TAIL, forced)] = np.inf
    work[m < forced] = np.inf
    return int(np.argmin(work))


def _drop_tail(lu_ptr, lu_cols, diag, split):
    """Keep only the columns ``< split`` of the rows ``>= split`` (``L21``; the rest is the dense
    block); ``diag`` of those rows is their end."""
    n = diag.size
    row_of = np.repeat(np.arange(n), np.diff(lu_ptr))
    keep = (row_of < split) | (lu_cols < split)
    counts = np.bincount(row_of[keep], minlength=n)
    ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    new_diag = np.where(np.arange(n) < split, diag, ptr[1:]).astype(np.int64)  # nothing dropped
    return ptr, lu_cols[keep].astype(np.int64), new_diag


@numba.njit(**NJIT)
def scatter_csc(colptr, rows, vptr, vrows, vdata, out):
    """The values of a sorted CSC matrix (``vptr``, ``vrows``, ``vdata``) on the pattern
    (``colptr``, ``rows``, sorted) into ``out`` (``rows.size``), zero where it has no entry.
    Returns 0, or ``q + 1`` for its first nonzero ``vdata[q]`` outside the pattern."""
    for j in range(colptr.size - 1):
        p, end = colptr[j], colptr[j + 1]
        for q in range(vptr[j], vptr[j + 1]):
            i = vrows[q]
            while p < end and rows[p] < i:
                out[p] = 0.0
                p += 1
            if p < end and rows[p] == i:
                out[p] = vdata[q]
                p += 1
            elif vdata[q] != 0.0:
                return q + 1
        while p < end:
            out[p] = 0.0
            p += 1
    return 0


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
def entry_positions(lu_ptr, lu_cols, split, rows, cols):
    """Position of each ``(rows[e], cols[e])`` (ordered numbering) in the factor storage: the
    sorted compressed rows of the sparse part, then the dense block from row/column ``split``."""
    n = lu_ptr.size - 1
    m = n - split
    pos = np.empty(rows.size, dtype=np.int64)
    for e in range(rows.size):
        i, j = rows[e], cols[e]
        if i >= split and j >= split:
            pos[e] = lu_cols.size + (i - split) * m + (j - split)
        else:
            lo, hi = lu_ptr[i], lu_ptr[i + 1]
            pos[e] = lo + np.searchsorted(lu_cols[lo:hi], j)
    return pos


@numba.njit(**NJIT)
def sparse_lu_size(sp):
    """Length of the factor storage of :func:`sparse_factor`: sparse values and dense block."""
    m = sp.diag.size - sp.split
    return sp.lu_cols.size + m * m


@numba.njit(**NJIT)
def sparse_factor(sp, jdata, shift, lu, w, piv):
    """``L U`` of ``P (shift M - J) P^T`` into ``lu`` (:func:`sparse_lu_size` values), ``J``'s
    values ``jdata`` (repeated over the pattern where it is longer: :func:`complex_pattern`);
    ``w`` (n,) scratch, ``piv`` (n,) the dense block's row interchanges.  0 on success, ``i +
    1`` if pivot ``i`` is (relatively) zero or not finite."""
    for p in range(lu.size):
        lu[p] = 0.0
    nj = U64(jdata.size)
    for e in range(U64(sp.jpos.size)):  # the pattern of a real form repeats J's entries
        lu[sp.jpos[e]] -= jdata[e % nj]
    for e in range(sp.mpos.size):
        lu[sp.mpos[e]] += shift * sp.mval[e]
    bad = _eliminate_sparse(sp, lu, w)
    if bad != 0:
        return bad
    return _factor_block(lu, sp.lu_cols.size, sp.split, sp.diag.size - sp.split, piv, w)


@numba.njit(**NJIT)
def _eliminate_sparse(sp, lu, w):
    """Rows ``< split``: Doolittle on the fixed pattern; rows ``>= split``: their ``L21`` and the
    Schur complement in the dense block.  0 or the failing pivot + 1."""
    ptr, cols, diag, split = sp.lu_ptr, sp.lu_cols, sp.diag, sp.split
    n = diag.size
    m = n - split
    for i in range(n):
        big = 0.0
        for p in range(ptr[i], ptr[i + 1]):
            w[cols[p]] = lu[p]
            big = max(big, abs(lu[p]))
        row = sp.lu_cols.size + (i - split) * m
        if i >= split:
            for j in range(m):
                w[split + j] = lu[row + j]
        for p in range(ptr[i], diag[i]):
            k = cols[p]
            lik = w[k] / lu[diag[k]]
            w[k] = lik
            if lik != 0.0:
                for q in range(U64(diag[k] + 1), U64(ptr[k + 1])):
                    w[U64(cols[q])] -= lik * lu[q]
        for p in range(ptr[i], ptr[i + 1]):
            lu[p] = w[cols[p]]
        if i >= split:
            for j in range(m):
                lu[row + j] = w[split + j]
        else:
            pivot = lu[diag[i]]
            if not (abs(pivot) > EPS * big and np.isfinite(pivot)):
                return i + 1
    return 0


@numba.njit(**NJIT)
def _factor_block(lu, off, split, m, piv, w):
    """``S Q = L_S U_S`` in place on the dense ``m x m`` block at ``lu[off:]`` (by rows):
    row-oriented Doolittle (each row reduced by the finished ``U`` rows above it, in the scratch
    ``w``, contiguous and vectorised) with partial pivoting over the columns, which is partial
    pivoting of ``S^T``; ``piv[i]``: the column interchanged with ``i`` at step ``i``.  0 or
    ``split + i + 1`` for a zero or non-finite pivot ``i``."""
    mu = U64(m)
    for i in range(m):
        row = U64(off + i * m)
        for j in range(mu):
            w[j] = lu[row + j]
        for k in range(i):
            rk = U64(off + k * m)
            lik = w[k] / lu[rk + U64(k)]
            w[k] = lik
            if lik != 0.0:
                for j in range(U64(k + 1), mu):
                    w[j] -= lik * lu[rk + j]
        best, at = -1.0, i
        for j in range(i, m):
            if abs(w[j]) > best:
                best, at = abs(w[j]), j
        piv[i] = at
        if not (best > 0.0 and np.isfinite(best)):
            return split + i + 1
        if at != i:
            w[i], w[at] = w[at], w[i]
            for r in range(m):
                if r != i:
                    a, b = off + r * m + i, off + r * m + at
                    lu[a], lu[b] = lu[b], lu[a]
        for j in range(mu):
            lu[row + j] = w[j]
    return 0


@numba.njit(**NJIT)
def sparse_solve(sp, lu, b, w, piv):
    """Solve ``(shift M - J) x = b`` in place in ``b`` with the factors of :func:`sparse_factor`;
    ``w`` (n,) scratch."""
    ptr, cols, diag, perm, split = sp.lu_ptr, sp.lu_cols, sp.diag, sp.perm, sp.split
    n = diag.size
    m = n - split
    off = sp.lu_cols.size
    for i in range(n):  # L11 and L21
        acc = b[perm[i]]
        for p in range(U64(ptr[i]), U64(diag[i])):
            acc -= lu[p] * w[U64(cols[p])]
        w[i] = acc
    for r in range(1, m):  # S = L_S U_S Q^T
        acc = w[split + r]
        row = U64(off + r * m)
        for j in range(U64(r)):
            acc -= lu[row + j] * w[U64(split) + j]
        w[split + r] = acc
    for r in range(m - 1, -1, -1):
        acc = w[split + r]
        row = U64(off + r * m)
        for j in range(U64(r + 1), U64(m)):
            acc -= lu[row + j] * w[U64(split) + j]
        w[split + r] = acc / lu[row + U64(r)]
    for k in range(m - 1, -1, -1):
        at = piv[k]
        if at != k:
            w[split + k], w[split + at] = w[split + at], w[split + k]
    for i in range(split - 1, -1, -1):  # U11, U12
        acc = w[i]
        for p in range(U64(diag[i] + 1), U64(ptr[i + 1])):
            acc -= lu[p] * w[U64(cols[p])]
        w[i] = acc / lu[diag[i]]
    for i in range(n):
        b[perm[i]] = w[i]
    return b


@numba.njit(**NJIT)
def sparse_mass_times(sp, x, out):
    """``out = M x`` with the mass matrix's nonzeros in ``sp``; ``out`` must not be ``x``."""
    for i in range(out.size):
        out[i] = 0.0
    for e in range(sp.mval.size):
        out[sp.mrows[e]] += sp.mval[e] * x[sp.mcols[e]]


@numba.njit(**NJIT)
def sparse_norm_inf(sp, jdata, w):
    """``max_i sum_j |J_ij| / sum_j |M_ij|`` over the rows with ``M_i != 0`` (``mrows`` sorted):
    ``||J||_inf`` for the identity (``stepsize.ode._linalg.norm_inf``); ``w`` (n,) scratch."""
    n = sp.colptr.size - 1
    for i in range(n):
        w[i] = 0.0
    for e in range(jdata.size):
        w[sp.rows[e]] += abs(jdata[e])
    best = 0.0
    e = 0
    while e < sp.mval.size:
        i = sp.mrows[e]
        m = 0.0
        while e < sp.mval.size and sp.mrows[e] == i:
            m += abs(sp.mval[e])
            e += 1
        best = max(best, w[i] / m)
    return best
