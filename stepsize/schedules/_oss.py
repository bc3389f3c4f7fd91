"""OSS-style planner: dynamic programming that carries the student's own state.

Optimal Stepsize for Diffusion Sampling (Pei et al. 2025, arXiv 2503.21774): the student takes
Euler steps from *its own* state, not from the teacher's, so the error it accumulates is part of
the cost. For ``k = 1 .. K`` and every grid point ``j`` the planner keeps the ``k``-step student
state that is closest to the teacher at ``j``::

    x^k_j = x^{k-1}_i + v(x^{k-1}_i, t_i) (t_j - t_i),  i = argmin_i mean_b ||x^k_j - x_j||^2,

one batched model call per ``k`` (``K`` calls of up to ``N B`` states), then backtracks from
``N``. Because the state depends on the path, Bellman's principle holds only approximately:
the result is a good path, not a proven optimum.
"""

import numba
import numpy as np

from stepsize.schedules._check import check_grid, check_steps


@numba.njit(cache=True)
def _relax(xs, vs, src, ref, t, jmax):
    n_src, batch, dim = xs.shape
    n = ref.shape[0]
    best = np.full(n, np.inf)
    parent = np.full(n, -1, dtype=np.int64)
    new = np.zeros((n, batch, dim))
    for s in range(n_src):
        i = src[s]
        for j in range(i + 1, jmax + 1):
            h = t[j] - t[i]
            err = 0.0
            for b in range(batch):
                for d in range(dim):
                    e = xs[s, b, d] + h * vs[s, b, d] - ref[j, b, d]
                    err += e * e
            err /= batch
            if err < best[j]:
                best[j] = err
                parent[j] = i
                new[j] = xs[s] + h * vs[s]
    return best, parent, new


def oss_path(velocity, traj, times, K):
    """Node indices ``[0, ..., N]`` of a ``K``-step Euler schedule planned on the student's state.

    Parameters
    ----------
    velocity : callable
        ``velocity(x, t) -> v`` on numpy arrays, ``x`` of shape ``(M, ...)`` (the state shape of
        ``traj``), ``t`` of shape ``(M,)``.
    traj : (N+1, B, ...) array_like
        Teacher states on the grid ``times``, ``traj[0]`` the common start.
    times : (N+1,) array_like
        Strictly increasing grid.
    K : int
        Number of steps, ``1 <= K < N``.
    """
    t = check_grid(times, "times")
    n = t.size
    x = np.asarray(traj, dtype=np.float64)
    if x.ndim < 2 or x.shape[0] != n:
        raise ValueError(f"traj must have shape ({n}, batch, ...), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("traj must be finite")
    K = check_steps(K)
    if K >= n - 1:
        raise ValueError(f"K must be < N = {n - 1}, got {K}")
    shape, batch = x.shape[2:], x.shape[1]
    ref = np.ascontiguousarray(x.reshape(n, batch, -1))
    states = ref[:1].copy()
    src = np.zeros(1, dtype=np.int64)
    parents = []
    for k in range(1, K + 1):
        xs = states[src] if k > 1 else states
        flat = xs.reshape((src.size * batch, *shape))
        v = np.asarray(velocity(flat, np.repeat(t[src], batch)), dtype=np.float64)
        if v.shape != flat.shape or not np.all(np.isfinite(v)):
            raise ValueError(f"velocity must return finite values of shape {flat.shape}")
        vs = np.ascontiguousarray(v.reshape(xs.shape))
        best, parent, states = _relax(np.ascontiguousarray(xs), vs, src, ref, t, n - 1 - (K - k))
        parents.append(parent)
        src = np.flatnonzero(np.isfinite(best[: n - 1]))
    path = [n - 1]
    for parent in reversed(parents):
        path.append(int(parent[path[-1]]))
    return np.array(path[::-1], dtype=np.int64)
