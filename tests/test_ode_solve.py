"""stepsize.ode.solve against analytic solutions, published references and SciPy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from stepsize.control import PRESETS
from stepsize.ode import TABLEAUX, problems, solve, solve_ensemble


def oscillator(t, y, w):
    return np.array([y[1], -w * w * y[0]])


def fixed_step_error(method, n_steps):
    """Error after one Kepler period (e = 0.1) with ``n_steps`` equal steps."""
    p = problems.kepler(0.1)
    h = (p.t_span[1] - p.t_span[0]) / n_steps
    # Huge tolerances accept every step; max_step pins the step size to h.
    r = solve(p.fun, p.t_span, p.y0, method=method, rtol=1e6, atol=1e6, first_step=h, max_step=h)
    assert r.success and r.stats["nreject"] == 0
    assert r.stats["naccept"] - n_steps in (0, 1)  # + a last step of rounding size
    return np.abs(r.y[:, -1] - p.y_ref).max()


@pytest.mark.parametrize(
    "method, steps",
    [
        ("bs3", [50, 100, 200, 400]),
        ("dp5", [50, 100, 200, 400]),
        ("tsit5", [50, 100, 200, 400]),
        ("dop853", [12, 25, 50, 100]),
        ("vern7", [25, 50, 100]),
    ],
)
def test_observed_order_matches_tableau(method, steps):
    # Least-squares slope of log(error) against log(steps); the exact order conditions are checked
    # on the tableaux themselves (test_tableaux), this checks the loop takes the steps it should.
    errors = [fixed_step_error(method, n) for n in steps]
    slope = -np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - TABLEAUX[method].order) < 0.6, slope


@pytest.mark.parametrize(
    "method, scipy_method", [("dp5", "RK45"), ("dop853", "DOP853"), ("bs3", "RK23")]
)
@pytest.mark.parametrize("name", ["arenstorf", "pleiades"])
def test_same_steps_as_scipy_with_the_elementary_controller(method, scipy_method, name):
    # SciPy's solve_ivp uses the I controller with Hairer's starting step: the step sequences
    # must coincide, so the counts are equal and the states agree to rounding.
    p = problems.get(name)
    r = solve(
        p.fun, p.t_span, p.y0, method=method, rtol=1e-6, atol=1e-6, args=p.args, controller="I"
    )
    s = solve_ivp(p.fun, p.t_span, p.y0, method=scipy_method, rtol=1e-6, atol=1e-6, args=p.args)
    assert r.nfev == s.nfev
    assert r.t.size == s.t.size
    np.testing.assert_allclose(r.y[:, -1], s.y[:, -1], atol=1e-7)


def test_agrees_with_scipy_dop853_at_tight_tolerance():
    p = problems.pleiades()
    r = solve(p.fun, p.t_span, p.y0, method="dop853", rtol=1e-12, atol=1e-12)
    s = solve_ivp(p.fun, p.t_span, p.y0, method="DOP853", rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.y[:, -1], s.y[:, -1], atol=1e-9)
    np.testing.assert_allclose(r.y[:, -1], p.y_ref, atol=1e-9)


@pytest.mark.parametrize("method", ["dop853", "vern7"])
def test_arenstorf_returns_to_its_start(method):
    p = problems.arenstorf()
    r = solve(p.fun, p.t_span, p.y0, method=method, rtol=1e-12, atol=1e-12, args=p.args)
    assert np.abs(r.y[:, -1] - p.y0).max() < 1e-7


@pytest.mark.parametrize("method", sorted(TABLEAUX))
def test_tolerance_proportionality(method):
    p = problems.kepler(0.6)
    tols = [1e-5, 1e-7, 1e-9]
    errs = [
        np.abs(solve(p.fun, p.t_span, p.y0, method=method, rtol=t, atol=t).y[:, -1] - p.y_ref).max()
        for t in tols
    ]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-6
    # 100x tighter tolerance: the error falls by a factor between 10 and 1000
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 10) & (ratios < 1e3)), ratios


@pytest.mark.parametrize("controller", sorted(PRESETS))
def test_every_controller_reaches_the_same_accuracy_class(controller):
    p = problems.arenstorf()
    ref = solve(p.fun, p.t_span, p.y0, rtol=1e-8, atol=1e-8, args=p.args)
    r = solve(p.fun, p.t_span, p.y0, rtol=1e-8, atol=1e-8, args=p.args, controller=controller)
    err_ref = np.abs(ref.y[:, -1] - p.y_ref).max()
    err = np.abs(r.y[:, -1] - p.y_ref).max()
    assert r.success and err < 30 * err_ref + 1e-9
    assert 0.5 < r.nfev / ref.nfev < 2.0


def test_kepler_dense_output_follows_the_analytic_orbit():
    p = problems.kepler(0.5, periods=2.0)
    r = solve(p.fun, p.t_span, p.y0, method="dop853", rtol=1e-10, atol=1e-10, dense_output=True)
    t = np.linspace(*p.t_span, 1001)
    np.testing.assert_allclose(r.sol(t), p.exact(t), atol=1e-7)
    np.testing.assert_allclose(r.sol(t[500]), p.exact(t[500]), atol=1e-7)


@pytest.mark.parametrize("method", sorted(TABLEAUX))
def test_t_eval_matches_exact_solution(method):
    t_eval = np.linspace(0.0, 10.0, 37)
    r = solve(
        oscillator,
        (0.0, 10.0),
        [1.0, 0.0],
        method=method,
        rtol=1e-9,
        atol=1e-12,
        args=(2.0,),
        t_eval=t_eval,
        max_steps=10**6,
    )
    np.testing.assert_array_equal(r.t, t_eval)
    np.testing.assert_allclose(r.y[0], np.cos(2.0 * t_eval), atol=5e-6)


def test_backward_integration():
    r = solve(
        oscillator,
        (3.0, -1.0),
        [np.cos(6.0), -2 * np.sin(6.0)],
        rtol=1e-10,
        atol=1e-12,
        args=(2.0,),
        dense_output=True,
    )
    assert r.t[-1] == -1.0 and np.all(np.diff(r.t) < 0)
    np.testing.assert_allclose(r.y[0, -1], np.cos(-2.0), atol=1e-8)
    np.testing.assert_allclose(r.sol(0.5)[0], np.cos(1.0), atol=1e-7)


def test_falling_ball_terminal_event_matches_solve_ivp():
    def ball(t, y):
        return np.array([y[1], -9.81])

    def ground(t, y):
        return y[0]

    ground.terminal = True
    ground.direction = -1
    kw = dict(rtol=1e-8, atol=1e-10, events=ground)
    r = solve(ball, (0.0, 10.0), [10.0, 0.0], **kw)
    s = solve_ivp(ball, (0.0, 10.0), [10.0, 0.0], **kw)
    t_hit = np.sqrt(2 * 10.0 / 9.81)
    assert r.status == 1 and r.success and "termination event" in r.message
    assert r.t_events[0][0] == pytest.approx(t_hit, abs=1e-12)
    assert r.t_events[0][0] == pytest.approx(s.t_events[0][0], abs=1e-12)
    assert r.t[-1] == r.t_events[0][0] and abs(r.y[0, -1]) < 1e-10
    np.testing.assert_allclose(r.y_events[0][0], [0.0, -9.81 * t_hit], atol=1e-9)


def test_non_terminal_events_with_direction():
    def crossing(t, y, w):
        return y[0]

    crossing.direction = 1.0
    t_eval = np.linspace(0, 20, 5)
    r = solve(
        oscillator,
        (0.0, 20.0),
        [1.0, 0.0],
        args=(1.0,),
        rtol=1e-10,
        atol=1e-12,
        events=[crossing],
        t_eval=t_eval,
    )
    s = solve_ivp(
        oscillator, (0.0, 20.0), [1.0, 0.0], args=(1.0,), rtol=1e-10, atol=1e-12, events=[crossing]
    )
    expected = 1.5 * np.pi + 2 * np.pi * np.arange(3)  # upward zero crossings of cos(t)
    np.testing.assert_allclose(r.t_events[0], expected, atol=1e-9)
    np.testing.assert_allclose(r.t_events[0], s.t_events[0], atol=1e-9)
    np.testing.assert_array_equal(r.t, t_eval)


def test_solve_ensemble_equals_looping_solve():
    rng = np.random.default_rng(3)
    Y0 = rng.normal(size=(16, 3)) + np.array([0.0, 0.0, 25.0])
    p = problems.lorenz()
    t_eval = np.linspace(0.0, 2.0, 9)
    ens = solve_ensemble(
        p.fun, (0.0, 2.0), Y0, method="tsit5", rtol=1e-8, atol=1e-8, args=p.args, t_eval=t_eval
    )
    assert ens.success and ens.y.shape == (16, 3, 9)
    for k in range(16):
        one = solve(
            p.fun,
            (0.0, 2.0),
            Y0[k],
            method="tsit5",
            rtol=1e-8,
            atol=1e-8,
            args=p.args,
            t_eval=t_eval,
        )
        np.testing.assert_array_equal(ens.y[k], one.y)
        assert ens.nfev[k] == one.nfev


def test_interpreted_fallback_gives_the_same_answer():
    table = {"w": 2.0}  # a dict lookup Numba cannot type from a closure

    def untyped(t, y):
        return np.array([y[1], -(table["w"] ** 2) * y[0]])

    with pytest.warns(RuntimeWarning, match="Numba could not compile"):
        slow = solve(untyped, (0.0, 5.0), [1.0, 0.0], rtol=1e-8, atol=1e-10)
    fast = solve(oscillator, (0.0, 5.0), [1.0, 0.0], rtol=1e-8, atol=1e-10, args=(2.0,))
    assert not slow.stats["compiled"] and fast.stats["compiled"]
    assert slow.nfev == fast.nfev
    np.testing.assert_allclose(slow.y, fast.y, rtol=1e-13, atol=1e-15)


def test_fun_may_return_a_list():
    r = solve(lambda t, y: [y[1], -y[0]], (0.0, 1.0), [1.0, 0.0], rtol=1e-10, atol=1e-12)
    assert r.y[0, -1] == pytest.approx(np.cos(1.0), abs=1e-9)


@settings(max_examples=20, deadline=None)
@given(
    w=st.floats(0.1, 5.0),
    a=st.floats(-3.0, 3.0),
    b=st.floats(-3.0, 3.0),
    method=st.sampled_from(["dp5", "tsit5", "dop853"]),
)
def test_harmonic_oscillator_property(w, a, b, method):
    r = solve(oscillator, (0.0, 3.0), [a, b], method=method, rtol=1e-9, atol=1e-9, args=(w,))
    exact = a * np.cos(w * 3.0) + b / w * np.sin(w * 3.0)
    assert r.success and abs(r.y[0, -1] - exact) < 1e-6 * (1 + abs(a) + abs(b) / w)


# ----- failures return success=False with the solution so far -----


def test_max_steps_failure_keeps_solution_so_far():
    p = problems.lorenz()
    r = solve(p.fun, p.t_span, p.y0, args=p.args, rtol=1e-10, atol=1e-10, max_steps=50)
    assert not r.success and r.status == -1 and "max_steps" in r.message
    assert 0 < r.t[-1] < p.t_span[1] and r.y.shape == (3, r.t.size)


def test_blow_up_ends_in_step_size_underflow():
    r = solve(lambda t, y: y * y, (0.0, 2.0), [1.0], rtol=1e-6, atol=1e-9)
    assert not r.success and r.status == -1
    assert "underflow" in r.message or "Non-finite" in r.message
    assert r.t[-1] == pytest.approx(1.0, abs=1e-3)


def test_non_finite_derivative_is_reported():
    def bad(t, y):
        return np.array([np.nan if t > 0.5 else -y[0]])

    r = solve(bad, (0.0, 2.0), [1.0])
    assert not r.success and "Non-finite" in r.message
    assert r.t[-1] <= 0.5 and r.y[0, -1] == pytest.approx(np.exp(-r.t[-1]), rel=1e-3)


# ----- bad input -----


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(y0=[np.nan, 0.0]), ValueError, "y0 must be finite"),
        (dict(y0=[np.inf, 0.0]), ValueError, "y0 must be finite"),
        (dict(y0=[[1.0, 0.0]]), ValueError, "y0 must be a non-empty 1-D"),
        (dict(y0=[1.0 + 1j, 0.0]), TypeError, "y0 must be real"),
        (dict(t_span=(0.0, 1.0, 2.0)), ValueError, "t_span must be a pair"),
        (dict(t_span=(0.0, np.inf)), ValueError, "t_span must be finite"),
        (dict(rtol=0.0), ValueError, "rtol must be finite and positive"),
        (dict(rtol=np.nan), ValueError, "rtol"),
        (dict(atol=-1.0), ValueError, "atol"),
        (dict(atol=[1e-6, 1e-6, 1e-6]), ValueError, "atol must be a scalar or have shape"),
        (dict(method="rk4"), ValueError, "known: bs3, dp5, tsit5, dop853, vern7"),
        (dict(controller="PIX"), ValueError, "known: I, PI"),
        (dict(fun=lambda t, y: np.zeros(3)), ValueError, r"fun must return an array of shape"),
        (dict(fun=42), TypeError, "fun must be callable"),
        (dict(max_step=0.0), ValueError, "max_step must be positive"),
        (dict(max_steps=0), ValueError, "max_steps"),
        (dict(first_step=-1.0), ValueError, "first_step"),
        (dict(t_eval=[0.5, 0.2]), ValueError, "t_eval must be strictly monotonic"),
        (dict(t_eval=[0.5, 3.0]), ValueError, "t_eval values must lie within t_span"),
        (dict(args=2.0), TypeError, "args must be a tuple"),
    ],
)
def test_bad_input_names_the_argument(kwargs, exc, match):
    call = dict(fun=lambda t, y: np.array([y[1], -y[0]]), t_span=(0.0, 1.0), y0=[1.0, 0.0])
    call.update(kwargs)
    with pytest.raises(exc, match=match):
        solve(call.pop("fun"), call.pop("t_span"), call.pop("y0"), **call)


def test_interpreted_ensemble_equals_compiled():
    Y0 = np.array([[1.0, 0.0], [0.5, -0.3], [-2.0, 1.0]])
    kw = dict(method="dp5", rtol=1e-8, atol=1e-10, args=(1.5,), t_eval=np.linspace(0, 4, 5))
    fast = solve_ensemble(oscillator, (0.0, 4.0), Y0, **kw)
    slow = solve_ensemble(oscillator, (0.0, 4.0), Y0, compiled=False, **kw)
    assert fast.stats["compiled"] and not slow.stats["compiled"]
    np.testing.assert_array_equal(slow.nfev, fast.nfev)
    np.testing.assert_allclose(slow.y, fast.y, rtol=1e-13, atol=1e-15)
    exact = Y0[:, 0] * np.cos(6.0) + Y0[:, 1] / 1.5 * np.sin(6.0)
    np.testing.assert_allclose(fast.y[:, 0, -1], exact, atol=1e-6)
