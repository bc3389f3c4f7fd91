"""Tests for stepsize.ode.problems: compilability, references, Kepler's exact solution."""

import math

import numba
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from stepsize.ode import problems
from stepsize.ode.problems import PROBLEMS, Problem, get, kepler

NAMES = ["arenstorf", "lorenz", "pleiades", "brusselator", "kepler"]

# Largest allowed max_i |y_i - y_ref_i| / (1 + |y_ref_i|) for DOP853 at rtol = atol = 1e-12.
# Observed: arenstorf 6e-10 (close lunar approach amplifies errors ~1e6), lorenz 3e-6 (chaotic,
# amplification ~4e6 over [0, 16]), pleiades 1.2e-10, brusselator 8e-15 (limit cycle, contracting),
# kepler 1.3e-10 (e = 0.5, phase error grows linearly).
DOP853_TOL = {
    "arenstorf": 1e-8,
    "lorenz": 3e-5,
    "pleiades": 2e-9,
    "brusselator": 1e-12,
    "kepler": 2e-9,
}


@pytest.fixture(scope="module")
def compiled():
    """Each problem with its numba.njit-compiled right-hand side (compiled once per module)."""
    out = {}
    for name in NAMES:
        p = get(name)
        f = numba.njit(p.fun)
        f(p.t_span[0], p.y0, *p.args)  # compile in nopython mode now
        out[name] = (p, f)
    return out


def test_registry_lists_all_problems():
    assert sorted(PROBLEMS) == sorted(NAMES)
    for name in NAMES:
        p = get(name)
        assert isinstance(p, Problem)
        assert p.name == name
        assert p.stiff is False
        assert p.source
        assert p.y0.dtype == np.float64 and p.y_ref.shape == p.y0.shape
        assert p.t_span[1] > p.t_span[0]


def test_get_unknown_name_lists_known_problems():
    with pytest.raises(ValueError, match="nope") as info:
        get("nope")
    for name in NAMES:
        assert name in str(info.value)
    with pytest.raises(TypeError, match="name"):
        get(3)


@pytest.mark.parametrize("name", NAMES)
def test_fun_compiles_and_matches_python(name, compiled):
    p, f = compiled[name]
    rng = np.random.default_rng(0)
    for y in (p.y0, p.y_ref, p.y0 + 0.01 * rng.standard_normal(p.y0.shape)):
        plain = p.fun(0.3, y, *p.args)
        fast = f(0.3, y, *p.args)
        assert isinstance(plain, np.ndarray) and isinstance(fast, np.ndarray)
        assert plain.dtype == np.float64 and fast.dtype == np.float64
        assert plain.shape == p.y0.shape and fast.shape == p.y0.shape
        assert np.all(np.isfinite(fast))
        np.testing.assert_allclose(fast, plain, rtol=1e-13, atol=1e-13)
        assert fast is not y and plain is not y
    # nopython mode: the dispatcher holds a compiled signature and no object-mode fallback
    assert f.signatures
    assert all(not res.objectmode for res in f.overloads.values())


def test_fun_does_not_modify_its_input(compiled):
    for name in NAMES:
        p, f = compiled[name]
        y = p.y0.copy()
        p.fun(0.0, y, *p.args)
        f(0.0, y, *p.args)
        np.testing.assert_array_equal(y, p.y0)


@pytest.mark.parametrize("name", NAMES)
def test_dop853_reproduces_reference(name, compiled):
    p, f = compiled[name]
    sol = solve_ivp(f, p.t_span, p.y0, method="DOP853", rtol=1e-12, atol=1e-12, args=p.args)
    assert sol.success
    err = np.max(np.abs(sol.y[:, -1] - p.y_ref) / (1.0 + np.abs(p.y_ref)))
    assert err < DOP853_TOL[name], err


def test_lorenz_dop853_converges_to_reference(compiled):
    # The reference is the limit of ever tighter DOP853 runs (chaos limits each one).
    p, f = compiled["lorenz"]
    errs = []
    for tol in (1e-10, 1e-12):
        sol = solve_ivp(f, p.t_span, p.y0, method="DOP853", rtol=tol, atol=tol, args=p.args)
        errs.append(np.max(np.abs(sol.y[:, -1] - p.y_ref)))
    assert errs[1] < errs[0] / 30.0


def test_arenstorf_returns_to_initial_value(compiled):
    p, f = compiled["arenstorf"]
    np.testing.assert_array_equal(p.y_ref, p.y0)
    t_end = p.t_span[1]
    assert t_end == pytest.approx(17.0652165601579625588917206249, rel=1e-16)
    sol = solve_ivp(
        f,
        p.t_span,
        p.y0,
        method="DOP853",
        rtol=1e-12,
        atol=1e-12,
        args=p.args,
        t_eval=[0.5 * t_end, t_end],
    )
    # far away half-way round, back to y0 after one period
    assert np.max(np.abs(sol.y[:, 0] - p.y0)) > 1.0
    np.testing.assert_allclose(sol.y[:, 1], p.y0, atol=1e-8)


def test_brusselator_reference_recomputed_at_low_precision():
    # The stored digits come from _taylor_reference at 60 digits; 20 digits must agree to 1e-16.
    y = problems._taylor_reference("brusselator", dps=20, order=16)
    ref = problems.brusselator().y_ref
    np.testing.assert_allclose([float(v) for v in y], ref, rtol=1e-15, atol=0)


def test_pleiades_initial_values_are_hairers():
    p = problems.pleiades()
    x, y, u, v = p.y0.reshape(4, 7)
    np.testing.assert_array_equal(x, [3, 3, -1, -3, 2, -2, 2])
    np.testing.assert_array_equal(y, [3, -3, 2, 0, 0, -4, 4])
    np.testing.assert_array_equal(u, [0, 0, 0, 0, 0, 1.75, -1.5])
    np.testing.assert_array_equal(v, [0, 0, 0, -1.25, 1, 0, 0])
    # total momentum sum m_j v_j is conserved; it is zero initially, so also at t = 3
    m = np.arange(1.0, 8.0)
    xr, yr, ur, vr = p.y_ref.reshape(4, 7)
    assert abs(m @ u) < 1e-15 and abs(m @ v) < 1e-15
    assert abs(m @ ur) < 1e-13 and abs(m @ vr) < 1e-13


def _kepler_invariants(state):
    x, y, vx, vy = state
    energy = 0.5 * (vx**2 + vy**2) - 1.0 / np.hypot(x, y)
    angular = x * vy - y * vx
    return energy, angular


@pytest.mark.parametrize("e", [0.0, 0.5, 0.9])
def test_kepler_exact_solves_the_ode(e):
    p = kepler(e)
    t = np.linspace(-3.0, 10.0, 41)
    h = 1e-3
    # fourth-order central difference of the exact solution
    ym2, ym1, yp1, yp2 = (p.exact(t + k * h) for k in (-2, -1, 1, 2))
    deriv = (8.0 * (yp1 - ym1) - (yp2 - ym2)) / (12.0 * h)
    rhs = np.stack([p.fun(ti, yi) for ti, yi in zip(t, p.exact(t).T)], axis=1)
    scale = 1.0 + np.abs(rhs)
    assert np.max(np.abs(deriv - rhs) / scale) < 1e-9 / (1.0 - e) ** 3


@pytest.mark.parametrize("e", [0.0, 0.3, 0.9, 0.99])
def test_kepler_exact_conserves_invariants(e):
    p = kepler(e, periods=2.5)
    np.testing.assert_allclose(p.exact(0.0), p.y0, rtol=0, atol=1e-15)
    t = np.linspace(-20.0, 40.0, 2001)
    states = p.exact(t)
    assert states.shape == (4, t.size)
    energy, angular = _kepler_invariants(states)
    vmax2 = (1.0 + e) / (1.0 - e)
    np.testing.assert_allclose(energy, -0.5, rtol=0, atol=1e-14 * (1.0 + vmax2))
    np.testing.assert_allclose(angular, math.sqrt(1.0 - e * e), rtol=0, atol=1e-14 * vmax2)
    # y_ref is the exact solution at t_end; 2.5 periods end at the apocentre (-1 - e, 0)
    assert p.t_span == (0.0, 5.0 * math.pi)
    np.testing.assert_array_equal(p.y_ref, p.exact(p.t_span[1]))
    np.testing.assert_allclose(p.y_ref[:2], [-1.0 - e, 0.0], atol=1e-14)
    np.testing.assert_allclose(kepler(e).y_ref, p.y0, atol=1e-13)


def test_kepler_matches_dop853_at_high_eccentricity(compiled):
    p = kepler(0.9, periods=3.0)
    _, f = compiled["kepler"]
    t_eval = np.linspace(0.0, p.t_span[1], 7)
    sol = solve_ivp(f, p.t_span, p.y0, method="DOP853", rtol=1e-12, atol=1e-12, t_eval=t_eval)
    np.testing.assert_allclose(sol.y, p.exact(t_eval), rtol=0, atol=1e-7)


def test_kepler_rejects_bad_parameters():
    for e in (-0.1, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="eccentricity"):
            kepler(e)
    for k in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="periods"):
            kepler(0.5, k)


def test_problem_validates_its_fields():
    p = get("brusselator")
    with pytest.raises(ValueError, match="y_ref"):
        Problem("x", p.fun, (0.0, 1.0), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="t_span"):
        Problem("x", p.fun, (1.0, 0.0), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="finite"):
        Problem("x", p.fun, (0.0, 1.0), np.array([1.0, np.nan]), np.ones(2))
    # factories hand out fresh arrays: changing one problem does not change the next
    p.y0[0] = 99.0
    assert get("brusselator").y0[0] == 1.5
