"""The Bellman planner is generic: a fixed-step RK4 schedule for an eccentric Kepler orbit."""

import numpy as np

from stepsize import schedules as S
from stepsize.ode import problems, solve


def test_bellman_plans_fixed_rk4_steps_for_an_eccentric_orbit():
    p = problems.kepler(eccentricity=0.8)

    def f(t, y):
        return p.fun(t, y, *p.args)

    def rk4(y, t0, t1):
        h = t1 - t0
        out = np.empty_like(y)
        for b, yb in enumerate(y):
            k1 = f(t0, yb)
            k2 = f(t0 + h / 2, yb + h / 2 * k1)
            k3 = f(t0 + h / 2, yb + h / 2 * k2)
            k4 = f(t1, yb + h * k3)
            out[b] = yb + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return out

    def global_error(times):
        y = p.y0[None].copy()
        for a, b in zip(times[:-1], times[1:]):
            y = rk4(y, a, b)
        return np.abs(y[0] - p.y_ref).max()

    grid = np.linspace(*p.t_span, 201)
    ref = solve(
        p.fun,
        p.t_span,
        p.y0,
        method="dop853",
        rtol=1e-12,
        atol=1e-12,
        args=p.args,
        dense_output=True,
    )
    traj = ref.sol(grid).T[:, None, :]
    np.testing.assert_allclose(traj[:, 0], p.exact(grid).T, atol=1e-8)
    cost = S.step_cost_matrix(rk4, traj, grid)
    K = 40
    path = S.bellman(cost, K)
    steps = np.diff(grid[path])
    # the planner puts its short steps at the pericentre passages (t = 0 and t = 2 pi)
    assert steps[0] < steps[K // 2] / 5 and steps[-1] < steps[K // 2] / 5
    uniform = global_error(np.linspace(*p.t_span, K + 1))
    planned = global_error(grid[path])
    assert uniform > 1.0  # forty uniform RK4 steps lose the orbit
    assert planned < 0.2 * uniform
