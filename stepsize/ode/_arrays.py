"""Small array helpers for compiled loops: growable storage and interpolant evaluation."""

import numba
import numpy as np


@numba.njit(cache=True)
def grow1(a, size):
    """Return ``a`` or a copy with room for at least ``size`` entries."""
    if size <= a.shape[0]:
        return a
    out = np.empty(max(2 * a.shape[0], size))
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True)
def grow2(a, size):
    """Return ``a`` or a copy with room for at least ``size`` rows."""
    if size <= a.shape[0]:
        return a
    out = np.empty((max(2 * a.shape[0], size), a.shape[1]))
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True)
def grow3(a, size):
    """Return ``a`` or a copy with room for at least ``size`` slabs."""
    if size <= a.shape[0]:
        return a
    out = np.empty((max(2 * a.shape[0], size), a.shape[1], a.shape[2]))
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True, inline="always")
def stage_state(y, h, A, K, i, n_prev, out):
    """``out = y + h * sum_{j < n_prev} A[i, j] K[j]`` (the input of stage ``i``)."""
    n = y.size
    for m in range(n):
        acc = 0.0
        for j in range(n_prev):
            acc += A[i, j] * K[j, m]
        out[m] = y[m] + h * acc


@numba.njit(cache=True, inline="always")
def weighted_sum(w, K, h, out):
    """``out = h * sum_i w[i] K[i]``."""
    for m in range(out.size):
        acc = 0.0
        for i in range(w.size):
            acc += w[i] * K[i, m]
        out[m] = h * acc


@numba.njit(cache=True)
def dense_coefficients(K, Q, h, out):
    """Interpolant coefficients ``out[m, j] = h * sum_i K[i, m] Q[i, j]`` for one step."""
    n = out.shape[0]
    for m in range(n):
        for j in range(Q.shape[1]):
            acc = 0.0
            for i in range(Q.shape[0]):
                acc += K[i, m] * Q[i, j]
            out[m, j] = h * acc


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
