"""Constant mass matrices, ``M y' = f(t, y)``, possibly singular (index-1 DAEs).

The implicit methods replace ``I`` by ``M`` in their iteration matrices and wherever a stage
increment stands for ``h y'`` (Hairer & Wanner, *Solving ODEs II*, Sec. VI.1 and VI.3: RADAU5's
and RODAS's treatment of ``M y' = f``): ``shift * M - J`` (:func:`shifted_mass`) and ``M x``
(:func:`mass_times`).  An empty (0, 0) mass stands for the identity and costs nothing.

Consistent initial values (:func:`consistent_initial`): with ``L`` a basis of the left null
space of ``M`` and ``V`` one of its null space (:func:`algebraic_bases`), ``L^T f(t0, y) = 0``
are the algebraic equations and ``V`` spans the algebraic directions; ``y0 + V z`` with ``z``
from Newton's method on ``L^T f(t0, y0 + V z) = 0`` (finite-difference Jacobian) keeps
``M y0``, the differential part, and is consistent.  For the semi-explicit structure -- zero
rows of ``M`` are the algebraic equations, zero columns the algebraic variables, as many of
each -- ``L`` and ``V`` are those unit vectors, so the differential components are kept
exactly; otherwise (a circuit's capacitance matrix, say) they come from the SVD of ``M``.
Index 1 makes ``L^T J V`` regular, so ``z`` is unique near ``y0``; initial values that are
consistent already move by rounding only.
"""

import numba
import numpy as np

from stepsize.ode._linalg import (
    algebraic_bases,
    factor,
    shifted,
    solve,
)
from stepsize.ode._sparse import sparse_factor, sparse_mass_times, sparse_solve

NO_MASS = np.zeros((0, 0))
"""The identity: no mass matrix."""
SPARSE_MASS = np.zeros((1, 0))
"""A mass matrix held by the sparsity pattern (its nonzeros, ``SparsePattern.mval``), not as an
(n, n) array: the methods see ``mass.shape[0] > 0`` and multiply through :func:`mass_product`."""


_ROOT_EPS = float(np.sqrt(np.finfo(float).eps))


def check_mass(mass, n, band):
    """``mass`` as a float (n, n) array (:data:`NO_MASS` for None); a ``ValueError`` naming
    ``mass`` for a wrong shape, non-finite entries, or a non-diagonal ``M`` with ``jac_band``."""
    if mass is None:
        return NO_MASS
    if hasattr(mass, "toarray"):
        mass = mass.toarray()
    try:
        m = np.array(mass, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"mass must be an (n, n) array of numbers, got {mass!r}") from None
    if m.ndim == 1 and m.size == n:
        m = np.diag(m)
    if m.shape != (n, n):
        raise ValueError(
            f"mass must have shape ({n}, {n}) (or ({n},) for a diagonal), got {np.shape(mass)}"
        )
    if not np.all(np.isfinite(m)):
        raise ValueError("mass must be finite (it contains nan or inf)")
    if band is not None and np.any(m != np.diag(np.diag(m))):
        raise ValueError("mass must be diagonal when jac_band is given")
    return np.ascontiguousarray(m)


def plain_fun(fun, inplace, vectorized):
    """``fun`` as ``f(t, y, *args) -> array`` (for :func:`consistent_initial`)."""
    if inplace:

        def allocating(t, y, *args):
            out = np.empty(y.size)
            fun(t, y, out, *args)
            return out

        return allocating
    if vectorized:
        return lambda t, y, *args: np.asarray(fun(t, y[:, None], *args))[:, 0]
    return fun


def consistent_initial(fun, t0, y0, mass, args, rtol, atol, max_iter=20):
    """``y0 + V z`` with ``L^T f(t0, y0 + V z) = 0`` (module docstring); ``y0`` itself for no
    or a regular ``mass``.  ``fun`` is called in Python, ``k + 1`` times per Newton iteration
    for ``k`` algebraic equations, once for values that solve them exactly.  A
    ``ValueError`` naming ``y0`` when Newton's method does not converge."""
    if mass.size == 0:
        return y0
    rows, cols, diagonal = mass_structure(mass)
    if diagonal and rows.size == 0:  # regular
        return y0
    if rows.size and rows.size == cols.size:  # semi-explicit: L and V are unit vectors
        y = _newton(fun, t0, y0, args, rtol, atol, max_iter, rows, cols, None)
    else:
        left, right = algebraic_bases(mass)
        if right.shape[1] == 0:
            return y0
        if left.shape[1] != right.shape[1]:  # rows and columns of a square matrix: equal ranks
            raise ValueError("mass: the null spaces of M and M^T differ in dimension")
        y = _newton(fun, t0, y0, args, rtol, atol, max_iter, left, right, right)
    if y is None:
        raise ValueError(
            "y0: no consistent initial values y0 + V z (V the null space of mass, the algebraic "
            "directions) solve the algebraic equations at t0; give consistent initial values"
        )
    return y


def _newton(fun, t0, y0, args, rtol, atol, max_iter, left, right, basis):
    """Newton's method of :func:`consistent_initial` on ``L^T f(t0, y0 + V z) = 0``, ``J``
    by forward differences along the columns of ``V``: the solution, or None.  ``basis`` None
    for the semi-explicit structure: then ``left`` and ``right`` are the indices of the zero
    rows and columns (unit vectors, applied by indexing), else ``L`` and ``V`` themselves."""
    k = right.shape[-1] if basis is not None else right.size
    y = np.array(y0, dtype=float)

    def g(y):
        f = np.asarray(fun(t0, y, *args), dtype=float)
        return f[left] if basis is None else left.T @ f

    for _ in range(max_iter):
        r = g(y)
        if not np.isfinite(r).all():
            return None
        if not r.any():  # solved exactly: the Newton step is zero, whatever the Jacobian
            return y
        scale = atol + rtol * np.abs(y)
        G = np.empty((k, k))
        for j in range(k):
            # an increment of sqrt(eps) times the size of y along v_j (or its tolerance)
            if basis is None:
                c = right[j]
                yc = y[c]
                y[c] = yc + _ROOT_EPS * max(abs(yc), scale[c], 1e-8)
                dj = y[c] - yc  # the increment as represented
                G[:, j] = (g(y) - r) / dj
                y[c] = yc
            else:
                v = basis[:, j]
                dj = _ROOT_EPS * max(abs(v @ y), np.abs(v) @ scale, 1e-8)
                G[:, j] = (g(y + dj * v) - r) / dj
        try:
            z = -r / G[0, 0] if k == 1 else np.linalg.solve(G, -r)
        except np.linalg.LinAlgError:
            return None
        if not np.isfinite(z).all():
            return None
        if basis is None:
            y[right] += z
            converged = np.max(np.abs(z) / (atol + rtol * np.abs(y))[right]) < 1e-3
        else:
            step = basis @ z
            y += step
            converged = np.max(np.abs(step) / (atol + rtol * np.abs(y))) < 1e-3
        if converged:
            return y
    return None


@numba.njit(cache=True)
def mass_structure(mass):
    """``(rows, cols, diagonal)``: the indices of the zero rows and of the zero columns of
    ``mass`` (as :func:`stepsize.ode._linalg.algebraic_parts`) and whether it is diagonal."""
    n = mass.shape[0]
    row_nz = np.zeros(n, dtype=np.bool_)
    col_nz = np.zeros(n, dtype=np.bool_)
    diagonal = True
    for i in range(n):
        for j in range(n):
            if mass[i, j] != 0.0:
                row_nz[i] = True
                col_nz[j] = True
                if i != j:
                    diagonal = False
    return np.flatnonzero(~row_nz), np.flatnonzero(~col_nz), diagonal


@numba.njit(cache=True)
def shifted_mass(J, kl, ku, shift, mass, M):
    """Write ``shift * mass - J`` into ``M`` (dense, or banded with a diagonal ``mass``); the
    identity for an empty ``mass`` (:func:`stepsize.ode._linalg.shifted`)."""
    if mass.shape[0] == 0:
        shifted(J, kl, ku, shift, M)
        return
    n = J.shape[1]
    if kl < 0:
        for i in range(n):
            for j in range(n):
                M[i, j] = shift * mass[i, j] - J[i, j]
        return
    shifted(J, kl, ku, 0.0, M)
    for j in range(n):
        M[kl + ku, j] += shift * mass[j, j]


@numba.njit(cache=True)
def factor_iteration(sp, J, kl, ku, shift, mass, M, piv, w):
    """Factor ``shift M - J`` into ``M``: on the sparsity pattern ``sp`` if it has one (``J``
    (1, nnz) its values, ``M`` (1, :func:`~stepsize.ode._sparse.sparse_lu_size`), ``w`` (n,)
    scratch; :mod:`stepsize.ode._sparse`), else dense or banded (:func:`shifted_mass`,
    :func:`stepsize.ode._linalg.factor`).  0, or the singular pivot + 1."""
    if sp.perm.size > 0:
        return sparse_factor(sp, J[0], shift, M[0], w, piv)
    shifted_mass(J, kl, ku, shift, mass, M)
    return factor(M, kl, ku, piv)


@numba.njit(cache=True)
def solve_iteration(sp, M, kl, ku, piv, b, w):
    """Solve with the factors of :func:`factor_iteration`, in place in ``b``."""
    if sp.perm.size > 0:
        sparse_solve(sp, M[0], b, w, piv)
    else:
        solve(M, kl, ku, piv, b)


@numba.njit(cache=True)
def mass_product(sp, mass, x, out):
    """``out = M x``: by the pattern's nonzeros of ``M`` if ``sp`` has a pattern, else
    :func:`mass_times`."""
    if sp.perm.size > 0:
        sparse_mass_times(sp, x, out)
    else:
        mass_times(mass, x, out)


@numba.njit(cache=True)
def mass_times(mass, x, out):
    """Write ``mass @ x`` into ``out`` (a copy of ``x`` for an empty ``mass``); ``out`` must
    not be ``x``."""
    n = x.size
    if mass.shape[0] == 0:
        for i in range(n):
            out[i] = x[i]
        return
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += mass[i, j] * x[j]
        out[i] = acc
