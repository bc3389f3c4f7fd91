"""Small array helpers for compiled loops: growable storage and interpolant evaluation.

The growing copies run element by element: a slice assignment compiles its shape check and
the error message of a mismatch, about 3 s of the loop's first compilation for three sizes."""

import numba
import numpy as np


@numba.njit(cache=True)
def grow1(a, size):
    """Return ``a`` or a copy with room for at least ``size`` entries."""
    if size <= a.shape[0]:
        return a
    out = np.empty(max(2 * a.shape[0], size))
    for i in range(a.shape[0]):
        out[i] = a[i]
    return out


@numba.njit(cache=True)
def grow2(a, size):
    """Return ``a`` or a copy with room for at least ``size`` rows."""
    if size <= a.shape[0]:
        return a
    out = np.empty((max(2 * a.shape[0], size), a.shape[1]))
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j]
    return out


@numba.njit(cache=True)
def grow3(a, size):
    """Return ``a`` or a copy with room for at least ``size`` slabs."""
    if size <= a.shape[0]:
        return a
    out = np.empty((max(2 * a.shape[0], size), a.shape[1], a.shape[2]))
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                out[i, j, k] = a[i, j, k]
    return out


@numba.njit(cache=True, inline="always")
def copy_into(dst, src):
    """``dst[:] = src`` element by element (a slice assignment needs reference counting)."""
    for m in range(dst.size):
        dst[m] = src[m]


@numba.njit(cache=True)
def eval_dense(y0, coef, theta, out):
    """``out = y0 + sum_j coef[:, j] theta^(j+1)`` by Horner's rule."""
    deg = coef.shape[1]
    for m in range(y0.size):
        acc = 0.0
        for j in range(deg - 1, -1, -1):
            acc = (acc + coef[m, j]) * theta
        out[m] = y0[m] + acc


@numba.njit(cache=True)
def all_finite(x):
    for v in x:
        if not np.isfinite(v):
            return False
    return True
