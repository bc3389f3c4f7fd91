"""Mass matrices ``M y' = f`` (``solve(..., mass=M)``) for Radau, Rodas4, Rodas5P and BDF:
index-1 DAEs against published references (Robertson as a DAE: Bari ``rober.f``; CHEMAKZO:
Bari ``chemakzo.f``; the transistor amplifier, a non-diagonal singular ``M``: Bari
``transamp.f``), a regular ``M`` against the equivalent ODE, consistent initial values, what
``method="auto"`` runs with a mass matrix and the stiffness profile that shows it, and the
validation of ``mass``."""

import numba
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from stepsize.ode import problems, solve, stiffness_profile
from stepsize.ode._mass import algebraic_bases
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


@pytest.mark.parametrize("method", METHODS)
def test_transamp_against_bari_reference(method):
    """The transistor amplifier (8 equations, ``M`` of rank 5, not diagonal: the algebraic
    equations are sums of rows): the PSIDE reference at t = 0.2 to the tolerance (the global
    error over ~2,000 steps: a few ``rtol``), and the algebraic equations ``L^T f = 0`` at the
    end to the Newton tolerance (f is a current of ~3e-4)."""
    p = problems.get("transamp")
    r = _solve(p, method, 1e-6)
    assert r.success, r.message
    assert r.stats["compiled"]
    assert mixed_error(p, r.y[:, -1]) < 5e-6
    left, _ = algebraic_bases(p.mass)
    assert np.max(np.abs(left.T @ p.fun(r.t[-1], r.y[:, -1], *p.args))) < 1e-8


def test_transamp_stiffness_profile_accounts_for_the_mass_matrix():
    """The profile's ``lambda`` of ``M y' = f`` is ``J``'s rows over ``M``'s (capacitances of
    1e-6 F against conductances of 1e-3 S: ``||J||_inf`` alone is 1e-3, far from the pencil's
    eigenvalues of ~200/s).  Each step's ``h_lambda / |h|`` is that scale at an accepted point
    (the analytic ``jac``), and within an order of magnitude of the largest finite eigenvalue
    of ``J - lambda M`` there (``scipy.linalg.eig``, an independent computation)."""
    import scipy.linalg as sl

    p = problems.get("transamp")
    r = _solve(p, "bdf", 1e-6, profile=True)
    assert r.success
    lam = stiffness_profile(r).h_lambda / np.abs(stiffness_profile(r).h)
    rows = np.abs(p.mass).sum(axis=1)
    scale, radius = [], []
    for k in range(r.t.size):
        J = np.asarray(p.jac(r.t[k], r.y[:, k], *p.args))
        scale.append(np.max(np.abs(J).sum(axis=1)[rows > 0] / rows[rows > 0]))
        if k % 50 == 0:
            w = sl.eig(J, p.mass, right=False)
            radius.append(np.abs(w[np.isfinite(w)]).max() / scale[-1])
    scale, radius = np.array(scale), np.array(radius)
    assert np.all((0.1 <= radius) & (radius <= 3.0))  # the scale against the eigenvalues
    assert lam.min() >= (1 - 1e-12) * scale.min() and lam.max() <= (1 + 1e-12) * scale.max()
    assert lam.min() > 1e4 * np.abs(np.asarray(p.jac(0.0, p.y0, *p.args))).sum(axis=1).max()


def test_transamp_bases_are_the_node_pairs():
    """The left null space and the null space of the capacitance matrix: the node pairs joined
    by C1, C3, C5 (``e1 + e2``, ``e4 + e5``, ``e7 + e8``, normalised)."""
    p = problems.get("transamp")
    left, right = algebraic_bases(p.mass)
    pairs = np.zeros((8, 3))
    for k, i in enumerate((0, 3, 6)):
        pairs[i : i + 2, k] = np.sqrt(0.5)
    for basis in (left, right):
        assert basis.shape == (8, 3)
        # the same subspace: projecting the pairs onto it loses nothing
        np.testing.assert_allclose(basis @ (basis.T @ pairs), pairs, atol=1e-14)


def test_non_diagonal_singular_mass_initial_values_are_made_consistent():
    """Bari's consistent ``y0`` of the amplifier moved along the algebraic directions (``M y0``
    unchanged): Newton's method in the null space of ``M`` returns to it, since index 1 makes
    the consistent values unique; Bari's own values come back unchanged to rounding."""
    p = problems.get("transamp")
    _, right = algebraic_bases(p.mass)
    moved = p.y0 + right @ np.array([0.3, -0.2, 0.1])
    np.testing.assert_allclose(p.mass @ moved, p.mass @ p.y0, atol=1e-20)
    for y0 in (moved, p.y0):
        r = solve(
            p.fun,
            (0.0, 1e-3),
            y0,
            method="radau",
            rtol=1e-6,
            atol=1e-6,
            args=p.args,
            jac=p.jac,
            mass=p.mass,
        )
        assert r.success
        np.testing.assert_allclose(r.y[:, 0], p.y0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rtol, expected", [(1e-3, "rodas4"), (1e-6, "rodas4"), (1e-7, "radau")])
def test_auto_with_mass_runs_the_implicit_method(rtol, expected):
    """ "auto" with ``mass`` runs the implicit method it would switch to, from the first step
    (Rodas4 where it would take Rosenbrock23, which has no mass form); ``stats`` and the
    stiffness profile name it, every step implicit.  CHEMAKZO against its reference."""
    p = problems.get("chemakzo")
    r = solve(p.fun, p.t_span, p.y0, rtol=rtol, atol=rtol, args=p.args, mass=p.mass, profile=True)
    assert r.success, r.message
    assert r.stats["method"] == expected and r.stats["nswitch"] == 0
    assert r.stats["intervals"] == [(0.0, 180.0, expected)]
    profile = stiffness_profile(r)
    assert profile.methods[1] == expected and profile.implicit.all()
    assert profile.intervals(180.0) == [(0.0, 180.0, expected)]
    assert profile.t.size == r.stats["naccept"]
    assert mixed_error(p, r.y[:, -1]) < 100 * rtol


def _linear_dae(t, y):
    """``y_i' = -(1 + i / n) y_i`` for ``i < n - 1``, ``0 = y_{n-1} - y_0``."""
    n = y.size
    out = np.empty(n)
    for i in range(n - 1):
        out[i] = -(1.0 + i / n) * y[i]
    out[n - 1] = y[n - 1] - y[0]
    return out


def test_auto_with_mass_takes_bdf_for_a_large_system():
    """From 100 equations on "auto" runs BDF with a mass matrix too; a linear DAE against its
    solution ``y_i = exp(-(1 + i / n) t)``, ``y_{n-1} = y_0`` (from an inconsistent 0)."""
    n = 120
    mass = np.diag(np.r_[np.ones(n - 1), 0.0])
    y0 = np.r_[np.ones(n - 1), 0.0]
    r = solve(_linear_dae, (0.0, 2.0), y0, rtol=1e-6, atol=1e-9, mass=mass, profile=True)
    assert r.success and r.stats["method"] == "bdf"
    assert stiffness_profile(r).intervals(2.0) == [(0.0, 2.0, "bdf")]
    rate = 1.0 + np.arange(n - 1) / n
    exact = np.r_[np.exp(-rate * 2.0), np.exp(-2.0)]
    np.testing.assert_allclose(r.y[:, -1], exact, rtol=2e-5)
    assert r.y[n - 1, 0] == 1.0


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


def test_chemakzo_exact_jacobian_against_central_differences():
    """``chemakzo_jac`` (for benchmark pairings with exact-Jacobian solvers) against central
    differences of ``fun`` at a state away from the zeros of ``y0``: step 1e-6 on entries of
    size <= 60 leaves truncation ~1e-10 and rounding ~1e-10."""
    from stepsize.ode._dae_problems import chemakzo_jac

    p = problems.get("chemakzo")
    y = p.y0 + 0.01 * np.arange(1, 7)
    J = chemakzo_jac(0.0, y, *p.args)
    h = 1e-6
    cols = [(p.fun(0.0, y + h * e, *p.args) - p.fun(0.0, y - h * e, *p.args)) / (2 * h)
            for e in np.eye(6)]  # fmt: skip
    np.testing.assert_allclose(J, np.array(cols).T, rtol=0, atol=1e-7)


class _Counted:
    def __init__(self, fun):
        self.fun, self.calls = fun, 0

    def __call__(self, t, y, *args):
        self.calls += 1
        return self.fun(t, y, *args)


def test_consistent_initial_values_cost_one_evaluation_when_exact():
    """Semi-explicit ``M``: values that solve the algebraic equations exactly (CHEMAKZO's
    ``y6 = Ks y1 y4``, ROBER's conservation law) come back unchanged after one evaluation of
    ``f``; a moved ``y6`` takes ``k + 1 = 2`` evaluations per Newton iteration and returns to
    ``Ks y1 y4`` (linear in ``y6``: one iteration, then the check)."""
    from stepsize.ode._mass import check_mass, consistent_initial

    p = problems.get("chemakzo")
    mass = check_mass(p.mass, 6, None)
    fun = _Counted(p.fun)
    y = consistent_initial(fun, 0.0, p.y0, mass, p.args, 1e-6, 1e-6)
    assert fun.calls == 1 and np.array_equal(y, p.y0)
    moved = p.y0.copy()
    moved[5] *= 3.0
    fun.calls = 0
    y = consistent_initial(fun, 0.0, moved, mass, p.args, 1e-6, 1e-6)
    assert fun.calls == 4
    np.testing.assert_array_equal(y[:5], p.y0[:5])
    assert y[5] == pytest.approx(p.y0[5], rel=1e-12)


def test_consistent_initial_values_with_two_algebraic_equations():
    """``y1' = -y1``, ``0 = y2 - y1^2``, ``0 = y3 - y1 y2`` from ``y2 = y3 = 0``: Newton's
    method on the two zero rows of ``M`` (a 2 x 2 solve) to ``y2 = y1^2``, ``y3 = y1^3``."""
    from stepsize.ode._mass import check_mass, consistent_initial

    def fun(t, y):
        return np.array([-y[0], y[1] - y[0] ** 2, y[2] - y[0] * y[1]])

    mass = check_mass(np.diag([1.0, 0.0, 0.0]), 3, None)
    y = consistent_initial(fun, 0.0, np.array([0.7, 0.0, 0.0]), mass, (), 1e-8, 1e-10)
    np.testing.assert_allclose(y, [0.7, 0.49, 0.343], rtol=1e-12)


def test_a_repeat_call_with_mass_and_jac_gives_the_full_result(monkeypatch):
    """A second call with the same ``mass`` (by value) and ``jac`` (by identity) runs on what
    the first built -- ``check_problem`` is not called -- yet makes moved initial values
    consistent as the full path does (ROBER's ``y3`` back to ``1 - y1 - y2``) and gives the
    full path's result field for field; another ``mass`` or ``jac`` takes the full path."""
    import stepsize.ode._repeat as repeat
    import stepsize.ode._solve as solve_module

    p = problems.get("rober_dae")
    kw = {"method": "bdf", "rtol": 1e-6, "atol": 1e-6 * p.atol_ratio, "jac": p.jac}
    t_span = (0.0, 40.0)
    solve(p.fun, t_span, p.y0, mass=p.mass, **kw)
    calls = []
    checked = solve_module.check_problem
    monkeypatch.setattr(solve_module, "check_problem", lambda *a: calls.append(a) or checked(*a))
    moved = np.array([1.0, 0.0, 0.5])
    fast = solve(p.fun, t_span, moved, mass=p.mass.copy(), **kw)
    assert calls == [] and fast.success and fast.y[:, 0].tolist() == [1.0, 0.0, 0.0]
    kept = repeat._REMEMBERED[p.fun]
    key = next(iter(kept))
    limits = (None, 100_000)  # first_step, max_steps
    assert repeat.solve_again(p.fun, t_span, moved, (), None, limits, key, lambda t, y: 0) is None
    monkeypatch.setattr(repeat, "_REMEMBERED", repeat.weakref.WeakKeyDictionary())
    full = solve(p.fun, t_span, moved, mass=p.mass, **kw)
    assert len(calls) == 1
    for a, b in zip(
        (fast.t, fast.y, fast.nfev, fast.njev, fast.nlu, fast.stats),
        (full.t, full.y, full.nfev, full.njev, full.nlu, full.stats),
        strict=True,
    ):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b
    regular = solve(p.fun, t_span, moved, mass=np.eye(3), **kw)
    assert len(calls) == 2 and regular.y[2, 0] == 0.5  # M = I: y3 is a state, kept
    solve(p.fun, t_span, moved, mass=p.mass, method="bdf", rtol=1e-6, atol=1e-6 * p.atol_ratio)
    assert len(calls) == 3  # jac=None: another key
