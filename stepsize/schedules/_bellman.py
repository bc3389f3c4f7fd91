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


@numba.njit(cache=True)
def _bellman_pairs_kernel(first, second, K):
    n = first.shape[0]
    # value[a, b]: cheapest cost of a path 0 -> ... -> a -> b with m edges, b the last node
    value = np.full((n, n), np.inf)
    for b in range(1, n):
        value[0, b] = first[0, b]
    parents = np.full((K + 1, n, n), -1, dtype=np.int64)
    for m in range(2, K + 1):
        new = np.full((n, n), np.inf)
        for a in range(1, n - 1):
            for b in range(a + 1, n):
                best = np.inf
                arg = -1
                for p in range(a):
                    v = value[p, a]
                    if v < np.inf:
                        c = v + second[p, a, b]
                        if c < best:
                            best = c
                            arg = p
                new[a, b] = best
                parents[m, a, b] = arg
        value = new
    best = np.inf
    last = -1
    for a in range(n - 1):
        if value[a, n - 1] < best:
            best = value[a, n - 1]
            last = a
    path = np.empty(K + 1, dtype=np.int64)
    path[K] = n - 1
    if K >= 1:
        path[K - 1] = last
    for m in range(K, 1, -1):
        path[m - 2] = parents[m, path[m - 1], path[m]]
    return path, best


def bellman_multistep(first, second, K):
    """Exact cheapest ``K``-edge path when a step's cost depends on the previous node too.

    The schedule of a two-step method (DPM-Solver++(2M), UniPC-2, AB2) whose step ``j -> k``
    uses the prediction at the previous node ``i``: states are pairs ``(i, j)``, ::

        V_1(0, j) = first[0, j],   V_m(j, k) = min_i V_{m-1}(i, j) + second[i, j, k],

    the answer ``min_i V_K(i, N)``; ``O(K N^3)`` time.

    Parameters
    ----------
    first : (N+1, N+1) array_like
        Cost of the first step ``0 -> j`` (no history), row 0 used.
    second : (N+1, N+1, N+1) array_like
        ``second[i, j, k]`` for ``i < j < k``; other entries ignored, ``+inf`` forbids.
    K : int
        Number of steps, ``1 <= K < N``.
    """
    c1 = _check_cost(first)
    n = c1.shape[0]
    c2 = np.ascontiguousarray(second, dtype=np.float64)
    if c2.shape != (n, n, n):
        raise ValueError(f"second must have shape ({n}, {n}, {n}), got {c2.shape}")
    if np.isnan(c2).any():
        raise ValueError("second must not hold NaN")
    K = check_steps(K)
    if K >= n - 1:
        raise ValueError(f"K must be < N = {n - 1}, got {K}")
    if K == 1:
        return np.array([0, n - 1], dtype=np.int64)
    path, total = _bellman_pairs_kernel(c1, c2, K)
    if not np.isfinite(total):
        raise ValueError(f"no path with {K} finite-cost edges from node 0 to node {n - 1}")
    return path


def multistep_path_cost(first, second, path):
    """``first[p_0, p_1] + sum_m second[p_{m-1}, p_m, p_{m+1}]``: what
    :func:`bellman_multistep` minimises."""
    p = np.asarray(path, dtype=np.int64)
    c2 = np.asarray(second, dtype=np.float64)
    total = float(np.asarray(first, dtype=np.float64)[p[0], p[1]])
    for m in range(1, p.size - 1):
        total += float(c2[p[m - 1], p[m], p[m + 1]])
    return total
