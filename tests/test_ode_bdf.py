"""The variable-order BDF (``method="bdf"``, SciPy's ``"BDF"``): Bari test-set references,
SciPy's BDF as an independent implementation of the same method, analytic solutions for the
dense output, the interpreted twin, and the automatic switch to BDF for large systems."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from stepsize.ode import problems, solve
from stepsize.ode._solve import AUTO_BDF_SIZE
from stepsize.ode.problems import mixed_error


@pytest.mark.parametrize(
    "name, rtol, digits",
    [("rober", 1e-8, 7.5), ("hires", 1e-8, 6.5), ("vdpol", 1e-7, 5.0)],
)
def test_bari_references(name, rtol, digits):
    """The mixed error at ``t_end`` against the Bari reference (RADAU5 at 1.1e-18): at least
    ``digits`` significant digits (-log10 of the mixed error; ``rtol`` 1e-8 asks for ~8, a
    multistep method's global error runs a digit or so above its local tolerance), and within
    a factor 10 of SciPy's BDF at the same tolerances."""
    p = problems.get(name)
    atol = rtol * p.atol_ratio
    r = solve(p.fun, p.t_span, p.y0, method="bdf", rtol=rtol, atol=atol, args=p.args)
    assert r.success, r.message
    err = mixed_error(p, r.y[:, -1])
    assert -np.log10(err) > digits, err
    s = solve_ivp(p.fun, p.t_span, p.y0, method="BDF", rtol=rtol, atol=atol, args=p.args)
    assert err < 10.0 * mixed_error(p, s.y[:, -1])
    assert r.njev > 0 and r.nlu > r.njev  # Jacobians kept over many steps, LU per step change
    assert r.nlu < r.stats["naccept"] / 3


def test_scipy_alias_and_same_method_as_scipy():
    """ "BDF" is this method; on ROBER its step count is within 25 % of SciPy's BDF (the same NDF
    formulas, order and step policy differ only where CVODE's hold of h is used)."""
    p = problems.get("rober")
    kw = dict(rtol=1e-6, atol=1e-10)
    r = solve(p.fun, p.t_span, p.y0, method="BDF", **kw)
    assert r.stats["method"] == "bdf"
    s = solve_ivp(p.fun, p.t_span, p.y0, method="BDF", **kw)
    n_scipy = s.t.size - 1
    assert abs(r.stats["naccept"] - n_scipy) < 0.25 * n_scipy
    # the two runs differ by global errors, some multiples of the local tolerance
    scale = kw["atol"] + kw["rtol"] * np.abs(s.y[:, -1])
    assert np.all(np.abs(r.y[:, -1] - s.y[:, -1]) < 20.0 * scale)
    assert r.nlu < s.nlu  # LU kept while c = h / alpha moves by less than 30 %


def _linear(t, y):
    out = np.empty(2)
    out[0] = -1000.0 * y[0] + y[1]
    out[1] = -y[1]
    return out


def _linear_backward(t, y):
    """``y' = -F(-t, y)``: the same solution mirrored, integrated towards negative t."""
    out = np.empty(2)
    out[0] = 1000.0 * y[0] - y[1]
    out[1] = y[1]
    return out


def _linear_exact(t):
    """``y1 = (e^-t - e^-1000t)/999 + e^-1000t``, ``y2 = e^-t`` for ``y0 = (1, 1)``."""
    t = np.asarray(t)
    return np.array([(np.exp(-t) - np.exp(-1000.0 * t)) / 999.0 + np.exp(-1000.0 * t), np.exp(-t)])


@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_dense_output_and_t_eval_against_exact(direction):
    """Dense output of every order (the run climbs to order 5) and ``t_eval`` against the exact
    solution of a stiff linear system, forward and (for y' = -A y) backward."""
    rtol, atol = 1e-7, 1e-10
    t_span = (0.0, 5.0) if direction > 0 else (0.0, -5.0)
    fun = _linear if direction > 0 else _linear_backward
    exact = _linear_exact if direction > 0 else (lambda t: _linear_exact(-np.asarray(t)))
    t_eval = np.linspace(*t_span, 37)
    r = solve(fun, t_span, [1.0, 1.0], method="bdf", rtol=rtol, atol=atol, dense_output=True)
    assert r.success
    tc = np.linspace(*t_span, 501)
    scale = atol + rtol * np.abs(exact(tc))
    assert np.max(np.abs(r.sol(tc) - exact(tc)) / scale) < 50.0
    re = solve(fun, t_span, [1.0, 1.0], method="bdf", rtol=rtol, atol=atol, t_eval=t_eval)
    np.testing.assert_allclose(re.y, r.sol(t_eval), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.sol(r.t), r.y, rtol=1e-12, atol=1e-15)


def test_event_located_on_the_history_polynomial():
    """A terminal event on the dense output: ``y2 = e^-t`` crosses 0.5 at ``ln 2``."""

    def half(t, y):
        return y[1] - 0.5

    half.terminal = True
    r = solve(_linear, (0.0, 5.0), [1.0, 1.0], method="bdf", rtol=1e-8, atol=1e-12, events=half)
    assert r.status == 1
    assert abs(r.t_events[0][0] - np.log(2.0)) < 1e-6


def test_interpreted_twin_takes_the_same_steps():
    """The loop run as Python (a function Numba cannot compile) gives the compiled results."""
    p = problems.get("hires")

    def untyped(t, y):
        return np.asarray(p.fun(t, y), dtype=object).astype(float)

    kw = dict(method="bdf", rtol=1e-5, atol=1e-9)
    with pytest.warns(RuntimeWarning, match="Numba could not compile"):
        slow = solve(untyped, p.t_span, p.y0, **kw)
    fast = solve(p.fun, p.t_span, p.y0, **kw)
    assert not slow.stats["compiled"] and fast.stats["compiled"]
    assert slow.nfev == fast.nfev and slow.nlu == fast.nlu
    np.testing.assert_allclose(slow.y, fast.y, rtol=1e-12, atol=1e-15)


def test_band_and_analytic_jacobian_agree_with_exact():
    """The heat equation (200 points, tridiagonal) against its exact solution: banded
    differences and the analytic packed-band Jacobian."""
    p = problems.get("heat")
    kw = dict(method="bdf", rtol=1e-6, atol=1e-9, args=p.args, jac_band=p.jac_band)
    banded = solve(p.fun, p.t_span, p.y0, **kw)
    analytic = solve(p.fun, p.t_span, p.y0, jac=p.jac, **kw)
    assert banded.success and analytic.success
    exact = p.exact(p.t_span[1])
    for r in (banded, analytic):
        assert np.max(np.abs(r.y[:, -1] - exact)) < 1e-5 * np.max(np.abs(exact))
    assert analytic.njev >= 1


def test_auto_switches_to_bdf_for_large_stiff_systems():
    """ "auto" on the heat equation (200 equations, dense Jacobian): starts explicit, switches to
    BDF, as its stiffness profile shows, and follows the exact solution; told the band, or below
    AUTO_BDF_SIZE, it switches to Rodas4 instead."""
    p = problems.heat(n=AUTO_BDF_SIZE + 20)
    kw = dict(rtol=1e-5, atol=1e-9, args=p.args, profile=True)
    r = solve(p.fun, p.t_span, p.y0, **kw)
    assert r.success
    assert r.stats["method"] == "auto(tsit5/bdf)"
    assert r.profile.implicit.any() and not r.profile.implicit[0]
    assert r.stats["nswitch"] >= 1
    exact = p.exact(p.t_span[1])
    assert np.max(np.abs(r.y[:, -1] - exact)) < 1e-4 * np.max(np.abs(exact))
    banded = solve(p.fun, p.t_span, p.y0, jac_band=p.jac_band, **kw)
    assert banded.stats["method"] == "auto(tsit5/rodas4)"
    small = problems.get("hires")
    rs = solve(small.fun, small.t_span, small.y0, rtol=1e-5, atol=1e-9)
    assert rs.stats["method"] == "auto(tsit5/rodas4)"


def test_newton_failure_reports_and_returns_the_data_so_far():
    """A right-hand side that turns non-finite ends the run with success=False."""

    def blow(t, y):
        out = np.empty(1)
        out[0] = -1e3 * y[0] if t < 1.0 else np.nan
        return out

    r = solve(blow, (0.0, 2.0), [1.0], method="bdf")
    assert not r.success and r.t[-1] < 1.0 + 1e-9 and r.t.size > 2
