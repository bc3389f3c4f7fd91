"""The in-place right-hand side ``fun(t, y, dydt, *args)`` of ``stepsize.ode.solve`` and the
direct call of the compiled loop: the same results as the allocating form and the dispatched
call."""

import numpy as np
import pytest

from stepsize.ode import solve


def lorenz(t, y, sigma=10.0):
    """Lorenz (1963), rho = 28, beta = 8/3."""
    return np.array(
        [sigma * (y[1] - y[0]), y[0] * (28.0 - y[2]) - y[1], y[0] * y[1] - 8 / 3 * y[2]]
    )


def lorenz_inplace(t, y, dydt, sigma=10.0):
    dydt[0] = sigma * (y[1] - y[0])
    dydt[1] = y[0] * (28.0 - y[2]) - y[1]
    dydt[2] = y[0] * y[1] - 8 / 3 * y[2]


def vdpol(t, y, mu):
    """Van der Pol, y1'' = mu (1 - y1^2) y1' - y1 (stiff for large mu)."""
    return np.array([y[1], mu * ((1.0 - y[0] ** 2) * y[1] - y[0])])


def vdpol_inplace(t, y, dydt, mu):
    dydt[0] = y[1]
    dydt[1] = mu * ((1.0 - y[0] ** 2) * y[1] - y[0])


Y0 = np.array([1.0, 1.0, 1.0])


@pytest.mark.parametrize("compiled", [True, False])
def test_inplace_matches_allocating_form_on_lorenz(compiled):
    kw = dict(method="dop853", rtol=1e-9, atol=1e-9, args=(10.0,), compiled=compiled)
    span = (0.0, 2.0) if compiled else (0.0, 0.5)
    a = solve(lorenz, span, Y0, **kw)
    b = solve(lorenz_inplace, span, Y0, inplace=True, **kw)
    assert a.success and b.success and a.stats["compiled"] == b.stats["compiled"] == compiled
    assert a.nfev == b.nfev and a.t.size == b.t.size
    # the same arithmetic in the same order: equal to rounding
    np.testing.assert_allclose(b.y, a.y, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("method", ["radau", "rodas4", "auto"])
def test_inplace_matches_allocating_form_on_stiff_vdpol(method):
    kw = dict(method=method, rtol=1e-6, atol=1e-6, args=(100.0,))
    a = solve(vdpol, (0.0, 1.0), [2.0, 0.0], **kw)
    b = solve(vdpol_inplace, (0.0, 1.0), [2.0, 0.0], inplace=True, **kw)
    assert a.success and b.success
    assert (a.nfev, a.njev) == (b.nfev, b.njev)
    np.testing.assert_allclose(b.y, a.y, rtol=1e-12, atol=1e-12)
    # a new parameter value travels at run time in the in-place form too
    c = solve(vdpol_inplace, (0.0, 1.0), [2.0, 0.0], inplace=True, **{**kw, "args": (1.0,)})
    d = solve(vdpol, (0.0, 1.0), [2.0, 0.0], **{**kw, "args": (1.0,)})
    np.testing.assert_allclose(c.y, d.y, rtol=1e-12, atol=1e-12)


def test_inplace_exception_propagates_with_its_time():
    def fun(t, y, dydt):
        if t > 0.5:
            raise ValueError("boom")
        dydt[0] = -y[0]

    with pytest.raises(ValueError, match="boom") as info:
        solve(fun, (0.0, 1.0), [1.0], inplace=True)
    (note,) = info.value.__notes__
    assert "`fun`" in note and 0.5 < float(note.split("t = ")[1].rstrip(")")) <= 1.0


def test_inplace_bad_use_is_named():
    with pytest.raises(ValueError, match="returns None"):
        solve(lambda t, y, dydt: -y, (0.0, 1.0), Y0, inplace=True)
    with pytest.raises(ValueError, match="must write dydt"):
        solve(lambda t, y, dydt: None, (0.0, 1.0), Y0, inplace=True)
    with pytest.raises(ValueError, match="vectorized"):
        solve(lorenz_inplace, (0.0, 1.0), Y0, inplace=True, vectorized=True)


def test_direct_call_of_the_compiled_loop_keeps_results():
    """The loop's entry point is reused across calls whose arguments differ in value (t_eval
    given or not, read-only, dense output, tolerances as arrays): same results as a fresh
    evaluation at the same settings."""
    t_eval = np.linspace(0.0, 1.0, 11)
    ro = t_eval.copy()
    ro.flags.writeable = False
    kw = dict(method="dp5", rtol=1e-8, atol=1e-8)
    first = solve(lorenz_inplace, (0.0, 1.0), Y0, t_eval=t_eval, inplace=True, **kw)
    for _ in range(2):
        r = solve(lorenz_inplace, (0.0, 1.0), Y0, t_eval=ro, inplace=True, **kw)
        np.testing.assert_array_equal(r.y, first.y)
        d = solve(lorenz, (0.0, 1.0), Y0, dense_output=True, **{**kw, "rtol": np.full(3, 1e-8)})
        np.testing.assert_allclose(d.sol(t_eval), first.y, rtol=1e-6, atol=1e-6)
    exact = solve(lambda t, y: -y, (0.0, 1.0), [1.0, 2.0], method="dp5", rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(exact.y[:, -1], np.exp(-1.0) * np.array([1.0, 2.0]), rtol=1e-8)
