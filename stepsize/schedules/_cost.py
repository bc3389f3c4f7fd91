"""Cost matrices for the Bellman planner from a fine reference trajectory.

A reference (teacher) solution ``x_0 .. x_N`` of ``dx/dt = v(x, t)`` on a fine grid
``t_0 < ... < t_N`` for a batch of ``B`` samples defines the cost of jumping from grid point
``i`` to grid point ``j`` with one step of a coarse solver: the distance of the step's result from
the reference ``x_j``, averaged over the batch.
"""

import numba
import numpy as np

from stepsize.schedules._check import check_grid


@numba.njit(cache=True)
def _euler_jump_cost(x, v, t, squared):
    n, batch, dim = x.shape
    cost = np.full((n, n), np.inf)
    for i in range(n - 1):
        for j in range(i + 1, n):
            h = t[j] - t[i]
            total = 0.0
            for b in range(batch):
                s = 0.0
                for d in range(dim):
                    e = x[i, b, d] + h * v[i, b, d] - x[j, b, d]
                    s += e * e
                total += s if squared else np.sqrt(s)
            cost[i, j] = total / batch
    return cost


def _as_batches(a, name, rows):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim < 2 or a.shape[0] not in rows:
        want = " or ".join(str(r) for r in rows)
        raise ValueError(f"{name} must have shape ({want}, batch, ...), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return np.ascontiguousarray(a.reshape(a.shape[0], a.shape[1], -1))


def cost_matrix(traj, vel, times, kind="boss"):
    """One-jump Euler costs ``c[i, j]`` from a teacher trajectory (no extra model evaluations).

    ``kind="boss"`` (BOSS, arXiv 2312.16414):
    ``c[i, j] = mean_b ||x_i + v_i (t_j - t_i) - x_j||^2``.
    ``kind="gits"`` (GITS, ICML 2024, its metric "l2"):
    ``c[i, j] = mean_b ||x_i + v_i (t_j - t_i) - x_j||``, planned with ``bellman(c, K, 1.15)``.

    Parameters
    ----------
    traj : (N+1, B, ...) array_like
        Teacher states on the grid.
    vel : (N, B, ...) or (N+1, B, ...) array_like
        Velocities ``v(x_i, t_i)`` at the grid points (the last one is not used).
    times : (N+1,) array_like
        The strictly increasing grid.

    Returns
    -------
    (N+1, N+1) ndarray
        Costs above the diagonal, ``+inf`` on and below it.
    """
    t = check_grid(times, "times")
    n = t.size
    x = _as_batches(traj, "traj", (n,))
    v = _as_batches(vel, "vel", (n - 1, n))
    if v.shape[1:] != x.shape[1:]:
        raise ValueError(
            f"vel must match traj's batch and state shape, got {np.shape(vel)} and {np.shape(traj)}"
        )
    if kind not in ("boss", "gits"):
        raise ValueError(f"kind: unknown {kind!r}; known: boss, gits")
    return _euler_jump_cost(x, v, t, kind == "boss")


def step_cost_matrix(step, traj, times):
    """Costs ``c[i, j] = mean_b ||step(x_i, t_i, t_j) - x_j||^2`` of any one-step method.

    ``step(x, t0, t1)`` advances the states ``x`` (shape ``(B, ...)``) from ``t0`` to ``t1`` with
    one step of the coarse method (e.g. classical RK4 for an ODE); it is called once per pair
    ``i < j``, ``N (N + 1) / 2`` times. With Euler steps this is :func:`cost_matrix`'s "boss".
    """
    t = check_grid(times, "times")
    n = t.size
    x = np.asarray(traj, dtype=np.float64)
    if x.ndim < 2 or x.shape[0] != n:
        raise ValueError(f"traj must have shape ({n}, batch, ...), got {x.shape}")
    cost = np.full((n, n), np.inf)
    for i in range(n - 1):
        for j in range(i + 1, n):
            err = np.asarray(step(x[i], t[i], t[j]), dtype=np.float64) - x[j]
            cost[i, j] = np.mean(np.sum(err.reshape(err.shape[0], -1) ** 2, axis=1))
    if np.isnan(cost[np.triu_indices(n, 1)]).any():
        raise ValueError("step returned NaN")
    return cost
