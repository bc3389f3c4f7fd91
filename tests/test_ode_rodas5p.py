"""Rodas5P (Steinebach 2023): the tableau's observed orders (solution 5, embedded 4, dense
output 4) with a reference step written here from the transformed formula, and the compiled
method against the Bari references."""

import numpy as np
import pytest
from scipy.special import ellipj

from stepsize.ode import ROSENBROCK, problems, solve
from stepsize.ode.problems import mixed_error

M_RIGID = 0.51


def _rigid(t, y):
    """Euler's rigid body (DETEST problem B5): ``(sn, cn, dn)(t | m = 0.51)`` from (0, 1, 1)."""
    return np.array([y[1] * y[2], -y[0] * y[2], -M_RIGID * y[0] * y[1]])


def _rigid_jac(t, y):
    return np.array(
        [[0.0, y[2], y[1]], [-y[2], 0.0, -y[0]], [-M_RIGID * y[1], -M_RIGID * y[0], 0.0]]
    )


def _rigid_exact(t):
    sn, cn, dn, _ = ellipj(t, M_RIGID)
    return np.array([sn, cn, dn])


def _cos(t, y):
    return np.cos(t) * y


def _cos_jac(t, y):
    return np.array([[np.cos(t)]])


def _cos_exact(t):
    return np.array([np.exp(np.sin(t))])


def _step(tab, fun, jac, dfdt, t, y, h):
    """One step of the transformed form (``_rosenbrock`` docstring): ``(y_new, embedded,
    dense(theta))``."""
    n = y.size
    W = np.eye(n) / (h * tab.gamma) - jac(t, y)
    U = np.zeros((tab.c.size, n))
    for i in range(tab.c.size):
        Y = y + tab.a[i, :i] @ U[:i]
        rhs = fun(t + tab.c[i] * h, Y) + tab.C[i, :i] @ U[:i] / h + h * tab.d[i] * dfdt(t, y)
        U[i] = np.linalg.solve(W, rhs)
    y_new = y + tab.m @ U
    powers = np.arange(1, tab.H.shape[1] + 1)
    return y_new, y_new - tab.e @ U, lambda th: y + (th**powers) @ (tab.H.T @ U)


def _errors(tab, fun, jac, dfdt, exact, t0, h, theta=0.5):
    y0 = exact(t0)
    y_new, emb, dense = _step(tab, fun, jac, dfdt, t0, y0, h)
    ref = exact(t0 + h)
    return (
        np.max(np.abs(y_new - ref)),
        np.max(np.abs(emb - ref)),
        np.max(np.abs(dense(theta) - exact(t0 + theta * h))),
    )


@pytest.mark.parametrize(
    "case",
    [
        (_rigid, _rigid_jac, lambda t, y: np.zeros(3), _rigid_exact, 0.3),
        (_cos, _cos_jac, lambda t, y: -np.sin(t) * y, _cos_exact, 0.4),
    ],
    ids=["rigid-body", "non-autonomous"],
)
def test_observed_orders(case):
    """Local errors at h and h/2: ``log2`` of their ratio is ``order + 1`` -- 6 for the
    solution, 5 for the embedded one, 5 for the dense output at theta = 0.5 (order 4)."""
    fun, jac, dfdt, exact, t0 = case
    tab = ROSENBROCK["rodas5p"]
    h = 0.05  # in the asymptotic range (at 0.2 the slopes are still 0.5-1 off)
    big = _errors(tab, fun, jac, dfdt, exact, t0, h)
    small = _errors(tab, fun, jac, dfdt, exact, t0, h / 2)
    slopes = np.log2(np.array(big) / np.array(small))
    assert slopes[0] > 5.6, slopes
    assert 4.6 < slopes[1] < 5.5, slopes
    assert slopes[2] > 4.6, slopes


def test_dense_output_interpolates_the_step_ends():
    """theta = 0 gives y, theta = 1 gives y_new (to rounding)."""
    tab = ROSENBROCK["rodas5p"]
    y0 = _rigid_exact(0.1)
    y_new, _, dense = _step(tab, _rigid, _rigid_jac, lambda t, y: np.zeros(3), 0.1, y0, 0.1)
    np.testing.assert_allclose(dense(0.0), y0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(dense(1.0), y_new, rtol=0, atol=1e-13)


@pytest.mark.parametrize("name, rtol, digits", [("rober", 1e-8, 7.0), ("hires", 1e-8, 7.0)])
def test_bari_references(name, rtol, digits):
    """Compiled Rodas5P on ROBER and HIRES: significant digits against the Bari references,
    and fewer steps than Rodas4 at the same tolerance (order 5 against 4)."""
    p = problems.get(name)
    kw = dict(rtol=rtol, atol=rtol * p.atol_ratio, args=p.args)
    r = solve(p.fun, p.t_span, p.y0, method="rodas5p", **kw)
    assert r.success, r.message
    assert -np.log10(mixed_error(p, r.y[:, -1])) > digits
    r4 = solve(p.fun, p.t_span, p.y0, method="rodas4", **kw)
    assert r.stats["naccept"] < r4.stats["naccept"]


def test_dense_output_of_the_solver():
    """Dense output on the rigid body between the steps, against the elliptic functions."""
    r = solve(
        _rigid,
        (0.0, 10.0),
        [0.0, 1.0, 1.0],
        method="rodas5p",
        rtol=1e-8,
        atol=1e-10,
        dense_output=True,
    )
    tc = np.linspace(0.0, 10.0, 301)
    assert np.max(np.abs(r.sol(tc) - _rigid_exact(tc))) < 1e-6
