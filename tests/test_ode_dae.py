"""Mass matrices ``M y' = f`` (``solve(..., mass=M)``) for Radau, Rodas4, Rodas5P and BDF:
index-1 DAEs against published references (Robertson as a DAE: Bari ``rober.f``; CHEMAKZO:
Bari ``chemakzo.f``), a regular ``M`` against the equivalent ODE, consistent initial values,
and the validation of ``mass``."""

import numba
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from stepsize.ode import problems, solve
from stepsize.ode.problems import mixed_error

METHODS = ["bdf", "radau", "rodas4", "rodas5p"]


def _solve(p, method, rtol, **kw):
    return solve(
        p.fun,
        p.t_span,
        p.y0,
        method=method,
        rtol=rtol,
        atol=rtol * p.atol_ratio,
        args=p.args,
        jac=p.jac,
        mass=p.mass,
        **kw,
    )


@pytest.mark.parametrize("method", METHODS)
def test_robertson_dae_against_bari_reference(method):
    """ROBER with the conservation law as its algebraic equation: the ODE's reference at
    t = 1e11 to 5 digits at rtol 1e-6, and the law itself holds along the output."""
    p = problems.get("rober_dae")
    r = _solve(p, method, 1e-6)
    assert r.success, r.message
    assert mixed_error(p, r.y[:, -1]) < 1e-5
    assert np.max(np.abs(r.y.sum(axis=0) - 1.0)) < 1e-9


@pytest.mark.parametrize("method", METHODS)
def test_chemakzo_against_bari_reference(method):
    """CHEMAKZO (index 1, 6 equations): the PSIDE reference at t = 180 to the tolerance, and
    the algebraic equation ``y6 = Ks y1 y4`` at the end."""
    p = problems.get("chemakzo")
    r = _solve(p, method, 1e-7)
    assert r.success, r.message
    assert mixed_error(p, r.y[:, -1]) < 2e-6
    ks = p.args[6]
    y = r.y[:, -1]
    assert abs(y[5] - ks * y[0] * y[3]) < 1e-8


HIRES_MASS = np.eye(8) + 0.1 * np.random.default_rng(0).standard_normal((8, 8))
_hires = numba.njit(problems.get("hires").fun)


def _hires_times_mass(t, y):
    """``M f(t, y)``: HIRES written as ``M y' = M f``."""
    f = _hires(t, y)
    out = np.zeros(8)
    for i in range(8):
        for j in range(8):
            out[i] += HIRES_MASS[i, j] * f[j]
    return out


@pytest.mark.parametrize("method", METHODS)
def test_regular_mass_is_the_scaled_ode(method):
    """``M y' = M f`` with an invertible, non-diagonal ``M`` against ``y' = f`` (HIRES): the
    Bari reference, and the ODE run to the tolerance."""
    p = problems.get("hires")
    kw = dict(method=method, rtol=1e-8, atol=1e-12)
    dae = solve(_hires_times_mass, p.t_span, p.y0, mass=HIRES_MASS, **kw)
    ode = solve(p.fun, p.t_span, p.y0, **kw)
    assert dae.success and ode.success and dae.stats["compiled"]
    assert mixed_error(p, dae.y[:, -1]) < 1e-6
    np.testing.assert_allclose(dae.y[:, -1], ode.y[:, -1], rtol=1e-5, atol=1e-10)


def test_inconsistent_initial_values_are_made_consistent():
    """y3 = 0.5 breaks the conservation law at t0: the algebraic variable is solved for."""
    p = problems.get("rober_dae")
    y0 = np.array([1.0, 0.0, 0.5])
    r = solve(p.fun, (0.0, 40.0), y0, method="bdf", rtol=1e-6, atol=1e-10, mass=p.mass, jac=p.jac)
    assert r.success
    assert abs(r.y[2, 0]) < 1e-12 and r.y[0, 0] == 1.0
    # the ODE form from the consistent values, by SciPy's Radau at tight tolerances
    ode = solve_ivp(
        problems.get("rober").fun,
        (0.0, 40.0),
        [1.0, 0.0, 0.0],
        method="Radau",
        rtol=1e-10,
        atol=1e-14,
    )
    assert abs(r.y[0, -1] - ode.y[0, -1]) < 1e-5


def test_auto_with_mass_runs_the_implicit_method():
    p = problems.get("chemakzo")
    r = solve(p.fun, p.t_span, p.y0, rtol=1e-6, atol=1e-6, args=p.args, mass=p.mass)
    assert r.success and r.stats["method"] in ("rodas4", "rosenbrock23", "radau", "bdf")
    assert mixed_error(p, r.y[:, -1]) < 1e-4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(method="dp5", mass=np.eye(2)), "mass: M y' = f needs"),
        (dict(method="radau", mass=np.eye(3)), r"mass must have shape \(2, 2\)"),
        (dict(method="radau", mass=[[1.0, np.nan], [0.0, 1.0]]), "mass must be finite"),
        (dict(method="radau", mass=[[1.0, 1.0], [0.0, 1.0]], jac_band=(1, 1)), "diagonal"),
        (dict(method="rosenbrock23", mass=np.eye(2)), "mass: M y' = f needs"),
    ],
)
def test_bad_mass_names_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve(lambda t, y: -y, (0.0, 1.0), [1.0, 2.0], **kwargs)


def test_diagonal_given_as_a_vector():
    p = problems.get("chemakzo")
    diag = np.diag(p.mass).copy()
    a = solve(p.fun, p.t_span, p.y0, method="radau", rtol=1e-6, atol=1e-6, args=p.args, mass=diag)
    b = _solve(p, "radau", 1e-6)
    np.testing.assert_array_equal(a.y, b.y)
