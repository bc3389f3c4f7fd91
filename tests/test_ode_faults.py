"""stepsize.ode under faults: user exceptions propagate, bad input is named, arithmetic trouble
ends in a result or ``success=False`` with the reason, and parameters travel at run time."""

import warnings

import numpy as np
import pytest
from numba.core import event
from numba.core.errors import NumbaWarning

from stepsize.ode import solve, solve_ensemble
from stepsize.ode._build import COMPILED_ADAPTERS


def decay(t, y):
    return -y


def test_exception_in_fun_propagates_from_compiled_code_with_its_time(capfd):
    def fun(t, y):
        if t > 0.5:
            raise ValueError("boom")
        return -y

    with pytest.raises(ValueError, match="boom") as info:
        solve(fun, (0.0, 1.0), [1.0])
    (note,) = info.value.__notes__
    t = float(note.split("t = ")[1].rstrip(")"))
    assert "`fun`" in note and 0.5 < t <= 1.0
    assert "Exception ignored" not in capfd.readouterr().err


def test_exception_in_jac_and_in_an_event_propagates():
    def jac(t, y):
        if t > 0.2:
            raise ArithmeticError("bad jac")
        return np.array([[-1.0]])

    with pytest.raises(ArithmeticError, match="bad jac") as info:
        solve(decay, (0.0, 1.0), [1.0], method="rodas4", jac=jac)
    assert "`jac`" in info.value.__notes__[0]

    def ev(t, y):
        if t > 0.3:
            raise KeyError("ev")
        return y[0] - 0.01

    with pytest.raises(KeyError) as info:
        solve(decay, (0.0, 1.0), [1.0], events=ev)
    assert "`events[0]`" in info.value.__notes__[0]


@pytest.mark.parametrize("compiled", [True, False])
def test_changed_output_length_is_an_error(compiled):
    def fun(t, y):
        return np.zeros(3) if t > 0.5 else -y

    with pytest.raises(ValueError, match="shape"):
        solve(fun, (0.0, 1.0), [1.0, 2.0], compiled=compiled)


def test_empty_span_returns_y0():
    r = solve(decay, (2.0, 2.0), [1.0, 3.0])
    assert r.success and r.status == 0
    np.testing.assert_array_equal(r.t, [2.0])
    np.testing.assert_array_equal(r.y, [[1.0], [3.0]])


def test_atol_zero_with_a_zero_component():
    # the second component stays exactly 0 with error 0: the zero scale is no division by zero
    r = solve(lambda t, y: np.array([-y[0], 0.0 * y[1]]), (0.0, 1.0), [1.0, 0.0], atol=0.0)
    assert r.success
    np.testing.assert_allclose(r.y[:, -1], [np.exp(-1.0), 0.0], rtol=1e-2)


def test_blow_up_ends_with_a_reason():
    # y' = y^2, y(0) = 1: y = 1 / (1 - t) blows up at t = 1
    r = solve(lambda t, y: y * y, (0.0, 2.0), [1.0])
    assert not r.success and r.status == -1 and "step size" in r.message
    assert 0.99 < r.t[-1] < 1.0


def test_overflowing_rhs_ends_with_a_reason():
    r = solve(lambda t, y: np.exp(1e3 * y), (0.0, 1.0), [1.0], method="dp5")
    assert not r.success and "Non-finite" in r.message


def test_huge_span():
    r = solve(decay, (0.0, 1e308), [1.0])
    assert r.success and r.t[-1] == 1e308 and r.y[0, -1] == 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(t_eval=[0.1, np.nan]), "t_eval must be finite"),
        (dict(atol="abc"), "atol must be a number"),
        (dict(rtol=[1e-3, "x"]), "rtol must be a number"),
        (dict(controller={}), "controller"),
        (dict(max_steps=np.inf), "max_steps must be a positive integer"),
        (dict(max_steps=2.5), "max_steps must be a positive integer"),
        (dict(events=lambda t, y: y), r"events\[0\] must return a scalar"),
        (dict(events=[decay]), r"events\[0\] must return a scalar"),
    ],
)
def test_bad_input_names_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve(decay, (0.0, 1.0), [1.0, 2.0], **kwargs)


def test_bad_terminal_is_rejected():
    def ev(t, y):
        return y[0] - 0.5

    ev.terminal = -2
    with pytest.raises(ValueError, match="terminal"):
        solve(decay, (0.0, 1.0), [1.0], events=ev)


def test_compiler_failure_falls_back_with_one_warning():
    # Numba cannot type a Jacobian that mixes int and float lists
    def jac(t, y):
        return [[0, 1], [-1.0, 0]]

    def osc(t, y):
        return np.array([y[1], -y[0]])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = solve(osc, (0.0, 1.0), [1.0, 0.0], method="radau", jac=jac, rtol=1e-8, atol=1e-10)
    assert [w.category for w in caught] == [RuntimeWarning]
    assert "interpreted" in str(caught[0].message) and not r.stats["compiled"]
    np.testing.assert_allclose(r.y[:, -1], [np.cos(1.0), -np.sin(1.0)], rtol=1e-6)


def test_no_compiler_chatter_reaches_users():
    def fresh(t, y, k):
        return -k * y

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        solve(fresh, (0.0, 1.0), [1.0], args=(2.0,), method="rodas4")
        solve_ensemble(fresh, (0.0, 1.0), [[1.0], [2.0]], args=(2.0,))
    assert not [w for w in caught if issubclass(w.category, NumbaWarning)]


def test_ensemble_members_report_their_own_faults():
    def fun(t, y):
        if y[0] > 1.5:
            raise ZeroDivisionError("member")
        return -y

    r = solve_ensemble(fun, (0.0, 1.0), [[1.0], [2.0], [0.5]])
    np.testing.assert_array_equal(r.status, [0, -1, 0])
    assert "ZeroDivisionError: member" in r.message[1] and not r.success
    np.testing.assert_allclose(r.y[[0, 2], 0, -1], np.exp(-1.0) * np.array([1.0, 0.5]), rtol=1e-3)
    assert np.isnan(r.y[1, 0, -1])


def test_a_parameter_sweep_compiles_nothing_after_the_first_call():
    def fun(t, y, k, c, A):
        return -k * (A @ y) + c[0]

    A = np.array([[1.0, 0.1], [0.0, 2.0]])
    solve(fun, (0.0, 1.0), [1.0, 1.0], args=(0.5, (0.0,), A), rtol=1e-8)  # compiles
    adapters = COMPILED_ADAPTERS[0]
    finals = []
    with event.install_recorder("numba:compile") as rec:
        for k in np.linspace(0.1, 2.0, 100):
            r = solve(fun, (0.0, 1.0), [1.0, 1.0], args=(k, (0.1 * k,), A * k), rtol=1e-8)
            finals.append(r.y[:, -1])
    assert rec.buffer == [] and COMPILED_ADAPTERS[0] == adapters
    # and the values did travel: y' = M y + b with M = -k^2 A, b = 0.1 k, at k = 2
    from scipy.linalg import expm

    k = 2.0
    M = -k * k * A
    y1 = expm(M) @ np.ones(2) + np.linalg.solve(M, (expm(M) - np.eye(2)) @ [0.2, 0.2])
    np.testing.assert_allclose(finals[-1], y1, rtol=1e-6)
