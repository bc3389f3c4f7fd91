"""Constant mass matrices, ``M y' = f(t, y)``, possibly singular (index-1 DAEs).

The implicit methods replace ``I`` by ``M`` in their iteration matrices and wherever a stage
increment stands for ``h y'`` (Hairer & Wanner, *Solving ODEs II*, Sec. VI.1 and VI.3: RADAU5's
and RODAS's treatment of ``M y' = f``): ``shift * M - J`` (:func:`shifted_mass`) and ``M x``
(:func:`mass_times`).  An empty (0, 0) mass stands for the identity and costs nothing.

Consistent initial values (:func:`consistent_initial`): for the semi-explicit structure -- rows
of ``M`` that are zero are the algebraic equations, columns that are zero the algebraic
variables, as many of each -- the algebraic variables are solved from ``f_alg(t0, y) = 0`` by
Newton's method with a finite-difference Jacobian, the differential ones kept; for any other
singular ``M`` the initial values must be consistent as given.
"""

import numba
import numpy as np

from stepsize.ode._linalg import shifted

NO_MASS = np.zeros((0, 0))
"""The identity: no mass matrix."""


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


def algebraic_parts(mass):
    """``(rows, cols)``: indices of the zero rows and zero columns of ``mass``."""
    rows = np.flatnonzero(~np.any(mass != 0.0, axis=1))
    cols = np.flatnonzero(~np.any(mass != 0.0, axis=0))
    return rows, cols


def consistent_initial(fun, t0, y0, mass, args, rtol, atol, max_iter=20):
    """``y0`` with its algebraic variables solved from the algebraic equations (module
    docstring); unchanged for a non-singular or non-semi-explicit ``mass``.  ``fun`` is called
    in Python.  A ``ValueError`` naming ``y0`` when Newton's method does not converge."""
    if mass.size == 0:
        return y0
    rows, cols = algebraic_parts(mass)
    if rows.size == 0 or rows.size != cols.size:
        return y0
    y = y0.copy()

    def g(y):
        return np.asarray(fun(t0, y, *args), dtype=float)[rows]

    scale = atol[cols] + rtol[cols] * np.abs(y[cols])
    for _ in range(max_iter):
        r = g(y)
        if not np.all(np.isfinite(r)):
            break
        G = np.empty((rows.size, cols.size))
        for k, j in enumerate(cols):
            dj = np.sqrt(np.finfo(float).eps) * max(abs(y[j]), atol[j], 1e-8)
            yp = y.copy()
            yp[j] += dj
            G[:, k] = (g(yp) - r) / dj
        try:
            step = np.linalg.solve(G, -r)
        except np.linalg.LinAlgError:
            break
        y[cols] += step
        scale = atol[cols] + rtol[cols] * np.abs(y[cols])
        if np.sqrt(np.mean((step / scale) ** 2)) < 1e-3:
            return y
    raise ValueError(
        "y0: no consistent values of the algebraic variables (the components of the zero "
        "columns of mass) solve the algebraic equations at t0; give consistent initial values"
    )


@numba.njit(cache=True)
def shifted_mass(J, kl, ku, shift, mass, M):
    """``shift * mass - J`` into ``M`` (dense, or banded with a diagonal ``mass``); the
    identity for an empty ``mass`` (:func:`stepsize.ode._linalg.shifted`)."""
    if mass.shape[0] == 0:
        shifted(J, kl, ku, shift, M)
        return M
    n = J.shape[1]
    if kl < 0:
        for i in range(n):
            for j in range(n):
                M[i, j] = shift * mass[i, j] - J[i, j]
        return M
    shifted(J, kl, ku, 0.0, M)
    for j in range(n):
        M[kl + ku, j] += shift * mass[j, j]
    return M


@numba.njit(cache=True)
def mass_times(mass, x, out):
    """``out = mass @ x`` (a copy of ``x`` for an empty ``mass``); ``out`` must not be ``x``."""
    n = x.size
    if mass.shape[0] == 0:
        for i in range(n):
            out[i] = x[i]
        return out
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += mass[i, j] * x[j]
        out[i] = acc
    return out
