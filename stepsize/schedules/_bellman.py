"""Exact K-edge shortest path in the DAG of a fine grid: the Bellman step-size planner.

Nodes ``0 .. N`` are the points of a fine grid, an edge ``i -> j`` (``i < j``) is one step of the
coarse solver from grid point ``i`` to grid point ``j`` at cost ``cost[i, j]``. The planner finds
the path from 0 to ``N`` with exactly ``K`` edges of least total cost by dynamic programming
(BOSS, Nguyen et al., ICLR 2024, arXiv 2312.16414, Sec. 3)::

    V[1, i] = cost[i, N],    V[k, i] = min_{j > i} cost[i, j] + coeff * V[k - 1, j],

and backtracks from node 0; ``O(K N^2)`` time. ``coeff = 1`` is BOSS; GITS (Chen et al.,
ICML 2024) weighs the continuation by ``coeff = 1.15``, so the path cost is
``sum_m coeff^m cost[p_m, p_{m+1}]``.
"""

import numba
import numpy as np

from stepsize.schedules._check import check_grid, check_steps


@numba.njit(cache=True)
def _bellman_kernel(cost, K, coeff):
    n = cost.shape[0]
    value = np.full((K + 1, n), np.inf)
    succ = np.full((K + 1, n), -1, dtype=np.int64)
    value[0, n - 1] = 0.0
    for k in range(1, K + 1):
        for i in range(n - k):
            best = np.inf
            arg = -1
            for j in range(i + 1, n - k + 1):
                rest = value[k - 1, j]
                if rest < np.inf:
                    c = cost[i, j] + coeff * rest
                    if c < best:
                        best = c
                        arg = j
            value[k, i] = best
            succ[k, i] = arg
    path = np.empty(K + 1, dtype=np.int64)
    path[0] = 0
    node = 0
    for k in range(K, 0, -1):
        node = succ[k, node]
        path[K + 1 - k] = node
        if node < 0:
            break
    return path, value[K, 0]


def _check_cost(cost):
    c = np.ascontiguousarray(cost, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2:
        raise ValueError(
            f"cost must be a square (N+1) x (N+1) matrix with N >= 1, got shape {c.shape}"
        )
    upper = c[np.triu_indices(c.shape[0], 1)]
    if np.isnan(upper).any() or (upper == -np.inf).any():
        raise ValueError("cost must not hold NaN or -inf above the diagonal (+inf forbids an edge)")
    return c


def bellman(cost, K, coeff=1.0):
    """Node indices ``[0, i_1, ..., N]`` of the cheapest path with exactly ``K`` edges.

    Parameters
    ----------
    cost : (N+1, N+1) array_like
        ``cost[i, j]`` for the step from node ``i`` to node ``j > i``; entries on and below the
        diagonal are ignored, ``+inf`` forbids an edge.
    K : int
        Number of steps, ``1 <= K < N``.
    coeff : float
        Weight of the continuation (1 for BOSS, 1.15 for GITS), ``> 0``.

    Returns
    -------
    ndarray of int64, shape (K + 1,)
        Strictly increasing node indices from 0 to ``N``; ties go to the smaller index.
    """
    c = _check_cost(cost)
    n_grid = c.shape[0] - 1
    K = check_steps(K)
    if K >= n_grid:
        raise ValueError(f"K must be < N = {n_grid} (the grid's own {n_grid} steps), got {K}")
    coeff = float(coeff)
    if not (np.isfinite(coeff) and coeff > 0):
        raise ValueError(f"coeff must be a finite number > 0, got {coeff!r}")
    path, total = _bellman_kernel(c, K, coeff)
    if not np.isfinite(total):
        raise ValueError(f"no path with {K} finite-cost edges from node 0 to node {n_grid}")
    return path


def path_cost(cost, path, coeff=1.0):
    """``sum_m coeff^m cost[p_m, p_{m+1}]`` of a path of node indices (the quantity minimised)."""
    c = np.asarray(cost, dtype=np.float64)
    p = check_grid(path, "path")
    if not np.all(p == np.round(p)):
        raise ValueError("path must be strictly increasing node indices, at least 2")
    p = p.astype(np.int64)
    if p.ndim != 1 or p.size < 2 or not np.all(np.diff(p) > 0):
        raise ValueError("path must be strictly increasing node indices, at least 2")
    if p[0] < 0 or p[-1] >= c.shape[0]:
        raise ValueError(f"path indices must lie in [0, {c.shape[0] - 1}]")
    steps = c[p[:-1], p[1:]]
    return float(np.sum(steps * float(coeff) ** np.arange(steps.size)))
