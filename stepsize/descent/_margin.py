"""The margin ``mu = max_{||theta|| = 1} min_i y_i a_i^T theta`` with a certificate.

By the minimax theorem ``mu = min_{p in simplex} ||sum_i p_i y_i a_i||``: the distance from the
origin to the convex hull of the points ``m_i = y_i a_i``.  So every unit ``theta`` gives a lower
bound ``min_i m_i^T theta`` and every ``p`` in the simplex an upper bound ``||M^T p||``.  Both come
from dual coordinate descent on the hard-margin SVM without bias,

    min_{alpha >= 0}  (1/2) ||M^T alpha||^2 - sum_i alpha_i,

whose solution gives ``theta = M^T alpha / ||M^T alpha||`` and ``p = alpha / sum(alpha)``
(Hsieh et al. 2008 without the box constraint).  The iteration stops when the bracket closes to
``tol`` relative.
"""

from typing import NamedTuple

import numba
import numpy as np

from stepsize.descent._validate import check_count, check_data, check_positive


class MarginCertificate(NamedTuple):
    """``lower <= mu <= upper``; ``theta`` (unit) attains ``lower``; ``separable`` iff lower > 0."""

    lower: float
    upper: float
    theta: np.ndarray
    separable: bool


@numba.njit(cache=True)
def _dual_cd(M, order, tol, max_passes):
    n, d = M.shape
    alpha = np.zeros(n)
    w = np.zeros(d)
    q = np.empty(n)
    for i in range(n):
        q[i] = np.dot(M[i], M[i])
    lower = -np.inf
    upper = np.inf
    for _ in range(max_passes):
        for k in range(n):
            i = order[k]
            if q[i] == 0.0:
                continue
            new = max(alpha[i] - (np.dot(M[i], w) - 1.0) / q[i], 0.0)
            delta = new - alpha[i]
            if delta != 0.0:
                alpha[i] = new
                for j in range(d):
                    w[j] += delta * M[i, j]
        norm = np.sqrt(np.dot(w, w))
        total = alpha.sum()
        if norm == 0.0 or total == 0.0:
            continue
        upper = min(upper, norm / total)
        zmin = np.inf
        for i in range(n):
            zmin = min(zmin, np.dot(M[i], w))
        lower = max(lower, zmin / norm)
        if upper - lower <= tol * upper:
            break
    return lower, upper, w / max(np.sqrt(np.dot(w, w)), 1e-300)


def max_margin(A, y, *, tol=1e-6, max_passes=100_000, seed=0):
    """Certified bracket on Tyurin's margin ``mu`` (Assumption 1.1) for a linear model without bias.

    ``seed`` fixes the order in which coordinates are visited.  Data that are not linearly
    separable through the origin give ``lower <= 0`` (and ``separable=False``).
    """
    A, y = check_data(A, y)
    tol = check_positive(tol, "tol")
    max_passes = check_count(max_passes, "max_passes", 1)
    M = np.ascontiguousarray(y[:, None] * A)
    order = np.random.default_rng(seed).permutation(M.shape[0])
    lower, upper, theta = _dual_cd(M, order, tol, max_passes)
    return MarginCertificate(float(lower), float(upper), theta, bool(lower > 0.0))
