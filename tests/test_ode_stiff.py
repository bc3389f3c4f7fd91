"""Stiff problems: implicit methods, automatic switching and the stiffness diagnostics.

Every check compares with a published reference (Bari test set), an exact solution, SciPy, or
an identity of the method's coefficients.
"""

import matplotlib
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from stepsize.ode import ROSENBROCK, TABLEAUX, problems, solve, stiffness_profile
from stepsize.ode import _radau as radau
from stepsize.ode._linalg import factor, norm_inf, shifted
from stepsize.ode._linalg import solve as lu_solve
from stepsize.ode.problems import mixed_error

matplotlib.use("Agg")

STIFF = ["rober", "hires", "vdpol", "orego", "e5", "pollu", "heat", "bruss1d"]


def run(p, method, rtol, **kw):
    kw.setdefault("jac_band", p.jac_band)
    return solve(
        p.fun,
        p.t_span,
        p.y0,
        method=method,
        rtol=rtol,
        atol=rtol * p.atol_ratio,
        args=p.args,
        max_steps=10**6,
        **kw,
    )


# ----- reference solutions, error falling with rtol -----

# mixed error (Test Set's mescd measure) at rtol = 1e-4, 1e-7, 1e-10 must fall and end below:
FINAL = {
    "rober": 1e-10,
    "hires": 1e-9,
    "vdpol": 1e-8,
    "orego": 1e-8,
    "e5": 2e-3,
    "pollu": 1e-9,
    "heat": 1e-9,
    "bruss1d": 1e-9,
}


@pytest.mark.parametrize("method", ["auto", "rodas4", "radau"])
@pytest.mark.parametrize("name", STIFF)
def test_stiff_problem_converges_to_reference(name, method):
    p = problems.get(name)
    tols = [1e-6, 1e-8, 1e-10] if name == "e5" else [1e-4, 1e-7, 1e-10]
    errs = []
    for rtol in tols:
        r = run(p, method, rtol)
        assert r.success, r.message
        errs.append(mixed_error(p, r.y[:, -1]))
    assert errs[-1] < FINAL[name], errs
    if name == "e5":  # y2, y3 ~ 9e-23 stall near 1e-25 in float64 (SciPy's Radau alike)
        assert errs[-1] < errs[0], errs
    else:
        assert errs[-1] < errs[1] < errs[0] < 1e3 * tols[0], errs


@pytest.mark.parametrize("name", STIFF)
def test_rosenbrock23_at_loose_tolerances(name):
    p = problems.get(name)
    tols = (1e-5, 1e-7) if name == "e5" else (1e-3, 1e-5)  # E5 means nothing at 1e-3
    errs = [mixed_error(p, run(p, "rosenbrock23", rtol).y[:, -1]) for rtol in tols]
    assert errs[1] < errs[0] < 0.5, errs


def test_heat_dense_output_follows_the_exact_solution():
    p = problems.heat(200)
    t = np.linspace(*p.t_span, 41)
    for method in ("rodas4", "radau", "rosenbrock23", "auto"):
        r = run(p, method, 1e-8 if method != "rosenbrock23" else 1e-6, dense_output=True)
        tol = 1e-4 if method == "rosenbrock23" else 2e-7  # (order 2 at rtol 1e-6)
        np.testing.assert_allclose(r.sol(t), p.exact(t), atol=tol)


@pytest.mark.parametrize("method", ["rodas4", "radau", "bdf"])
def test_interpolant_built_only_when_asked_changes_no_step(method):
    """The loop builds an implicit step's interpolant only for dense output, events or a
    ``t_eval`` inside the step (Radau keeps its own collocation polynomial for the next
    starting guess): asking for dense output must leave every step and count as it was, and
    the interpolant must pass through the steps."""
    p = problems.get("rober")
    plain = run(p, method, 1e-6)
    dense = run(p, method, 1e-6, dense_output=True)
    np.testing.assert_array_equal(dense.t, plain.t)
    np.testing.assert_array_equal(dense.y, plain.y)
    assert (dense.nfev, dense.njev, dense.nlu) == (plain.nfev, plain.njev, plain.nlu)
    np.testing.assert_allclose(dense.sol(plain.t[1:]), plain.y[:, 1:], rtol=1e-12, atol=1e-300)
    assert mixed_error(p, plain.y[:, -1]) < 1e-5


def test_t_eval_and_events_with_implicit_methods_match_scipy():
    p = problems.vdpol()

    def crossing(t, y, mu):
        return y[0]

    crossing.direction = -1
    t_eval = np.linspace(0.0, 2000.0, 9)
    kw = dict(rtol=1e-8, atol=1e-8, args=p.args, events=crossing)
    s = solve_ivp(p.fun, p.t_span, p.y0, method="Radau", jac=p.jac, t_eval=t_eval, **kw)
    for method in ("radau", "rodas4", "auto"):
        r = solve(p.fun, p.t_span, p.y0, method=method, t_eval=t_eval, **kw)
        np.testing.assert_array_equal(r.t, t_eval)
        np.testing.assert_allclose(r.y, s.y, atol=2e-4)
        np.testing.assert_allclose(r.t_events[0], s.t_events[0], atol=1e-4)
        assert r.t_events[0].size == 1 and np.abs(r.y_events[0][0][0]) < 1e-8


# ----- automatic switching -----


@pytest.mark.parametrize("name", STIFF)
def test_auto_switches_to_the_implicit_method_on_stiff_problems(name):
    p = problems.get(name)
    r = run(p, "auto", 1e-6)
    assert r.success and r.stats["nswitch"] >= 1
    methods = [m for _, _, m in r.stats["intervals"]]
    assert methods[0] == "tsit5" and "rodas4" in methods
    spans = r.stats["intervals"]
    assert spans[0][0] == p.t_span[0] and spans[-1][1] == p.t_span[1]
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))


def test_auto_switches_back_and_forth_on_van_der_pol():
    # slow stiff arcs (|J| ~ 1e3) joined by fast jumps where explicit steps are cheap again
    p = problems.vdpol()
    r = run(p, "auto", 1e-6)
    assert r.stats["nswitch"] >= 4
    methods = [m for _, _, m in r.stats["intervals"]]
    assert methods[:3] == ["tsit5", "rodas4", "tsit5"]
    assert mixed_error(p, r.y[:, -1]) < 1e-4


@pytest.mark.parametrize("rtol", [1e-2, 1e-4, 1e-7, 1e-10])
@pytest.mark.parametrize("name", sorted(problems.PROBLEMS))
def test_auto_never_switches_on_nonstiff_problems(name, rtol):
    p = problems.get(name)
    r = solve(p.fun, p.t_span, p.y0, rtol=rtol, atol=rtol, args=p.args)
    assert r.success and r.stats["nswitch"] == 0
    expected = (
        "vern7/radau" if rtol < 1e-6 else "tsit5/" + ("rosenbrock23" if rtol >= 1e-3 else "rodas4")
    )
    assert r.stats["method"] == f"auto({expected})"
    assert r.stats["stiffness"]["stiff_at"] is None
    assert r.stats["stiffness"]["longest_stiff_run"] <= 3


def test_auto_matches_the_implicit_method_alone_on_rober():
    p = problems.rober()
    auto = run(p, "auto", 1e-7)
    alone = run(p, "rodas4", 1e-7)
    assert mixed_error(p, auto.y[:, -1]) < 1e-6 and mixed_error(p, alone.y[:, -1]) < 1e-6
    assert auto.nfev < 3 * alone.nfev


# ----- Hairer's stiffness estimate along explicit steps -----


def test_stiffness_estimate_is_exact_for_a_linear_problem_and_hovers_at_the_radius():
    # y' = -lam (y - cos t): Hairer's ||dF|| / ||dY|| equals lam exactly, and once the transient
    # has decayed the steps of an explicit pair are limited by its stability radius R.
    lam = 1e4

    def f(t, y, lam):
        return -lam * (y - np.cos(t))

    for method in ("dp5", "tsit5", "vern7"):
        r = solve(
            f, (0.0, 1.0), [0.0], method=method, rtol=1e-5, atol=1e-8, args=(lam,), profile=True
        )
        prof = stiffness_profile(r)
        np.testing.assert_allclose(prof.h_lambda, lam * np.abs(prof.h), rtol=1e-6)
        radius = TABLEAUX[method].stability_radius
        assert prof.radius == radius
        late = prof.ratio[prof.t > 0.1]
        assert 0.6 < np.median(late) < 1.2, np.median(late)
        st = r.stats["stiffness"]
        assert st["stiff_at"] is not None and st["stiff_at"] < 0.01
        assert st["longest_stiff_run"] > 10 and r.stats["nswitch"] == 0


def test_stiffness_profile_plots_and_reports_switches():
    p = problems.vdpol()
    r = run(p, "auto", 1e-5, profile=True)
    prof = stiffness_profile(r)
    assert prof.t.size == r.stats["naccept"]
    assert prof.methods == ("tsit5", "rodas4")
    assert np.all(np.diff(prof.t) > 0)
    assert prof.intervals(p.t_span[1]) == r.stats["intervals"]
    # implicit steps are those the profile marks, and their h * ||J|| is mostly far above R
    assert np.median(prof.ratio[prof.implicit]) > 5
    ax = prof.plot()
    assert ax.get_yscale() == "log" and len(ax.lines) >= 2
    assert ax.get_xscale() == ("log" if prof.t[-1] > 1e3 * prof.t[1] else "linear")
    with pytest.raises(TypeError, match="solve"):
        stiffness_profile(object())
    with pytest.raises(ValueError, match="profile=True"):
        stiffness_profile(run(p, "auto", 1e-3))


# ----- implicit methods: coefficients and agreement with peers -----


def _stability_function(tab, z):
    s = tab.n_stages
    u = np.zeros(s, dtype=complex)
    for i in range(s):
        g = 1.0 + tab.a[i, :i] @ u[:i]
        u[i] = (z * g + tab.C[i, :i] @ u[:i]) / (1.0 / tab.gamma - z)
    return 1.0 + tab.m @ u


@pytest.mark.parametrize("name", sorted(ROSENBROCK))
def test_rosenbrock_methods_are_l_stable(name):
    tab = ROSENBROCK[name]
    assert abs(_stability_function(tab, -1e12)) < 1e-9  # R(-inf) = 0
    for y in np.linspace(0.0, 50.0, 101):  # A-stable: |R(iy)| <= 1
        assert abs(_stability_function(tab, 1j * y)) <= 1.0 + 1e-12
    # R(z) matches exp(z) to the order of the method
    zs = np.array([1e-2, 5e-3]) if tab.order < 5 else np.array([0.1, 0.05])  # above rounding
    defect = np.abs([_stability_function(tab, z) - np.exp(z) for z in zs])
    # Rodas5P's R(z) is exp(z) to order 6, one more than the method's order
    expected = tab.order + (2 if tab.name == "rodas5p" else 1)
    assert abs(np.log2(defect[0] / defect[1]) - expected) < 0.3
    if tab.fsal:
        np.testing.assert_array_equal(tab.a[-1], tab.m)


def test_radau_constants_diagonalise_the_inverse_coefficient_matrix():
    Ainv = np.linalg.inv(radau.A)
    np.testing.assert_allclose(radau.TI, np.linalg.inv(radau.T), atol=1e-14)
    blocks = radau.TI @ Ainv @ radau.T
    mr, mc = radau.MU_REAL, radau.MU_COMPLEX
    # mu_c = alpha - i beta: the complex pair acts as [[alpha, beta], [-beta, alpha]] on (W1, W2)
    expected = np.array([[mr, 0, 0], [0, mc.real, -mc.imag], [0, mc.imag, mc.real]])
    np.testing.assert_allclose(blocks, expected, atol=1e-12)
    # dense output: the collocation polynomial through 0 and the stages Z at c
    Z = np.random.default_rng(1).normal(size=(3, 4))
    coef = Z.T @ radau.P
    vals = np.stack([coef @ (c ** np.arange(1, 4)) for c in radau.C])
    np.testing.assert_allclose(vals, Z, atol=1e-12)


@pytest.mark.parametrize("name", ["rober", "hires", "orego"])
def test_radau_takes_scipys_steps(name):
    # the same algorithm as SciPy's Radau (Hairer's RADAU5): step counts within a few percent
    p = problems.get(name)
    kw = dict(rtol=1e-7, atol=1e-7 * p.atol_ratio, args=p.args)
    r = solve(p.fun, p.t_span, p.y0, method="radau", **kw)
    s = solve_ivp(p.fun, p.t_span, p.y0, method="Radau", **kw)
    assert abs(r.stats["naccept"] / (s.t.size - 1) - 1) < 0.05
    assert mixed_error(p, r.y[:, -1]) < 10 * mixed_error(p, s.y[:, -1]) + 1e-12


def test_user_jacobian_dense_and_banded_agree_with_finite_differences():
    p = problems.rober()
    fd = run(p, "rodas4", 1e-8)
    exact = run(p, "rodas4", 1e-8, jac=p.jac)
    assert exact.njev == exact.stats["naccept"]  # a fresh J at every step, kept on rejection
    np.testing.assert_allclose(exact.y[:, -1], fd.y[:, -1], rtol=1e-6, atol=1e-18)
    assert exact.nfev < fd.nfev
    h = problems.heat(60)
    packed = run(h, "radau", 1e-8, jac=h.jac)
    full = run(h, "radau", 1e-8, jac=_heat_full_jacobian)
    dense = run(h, "radau", 1e-8, jac_band=None)
    for r in (packed, full, dense):
        np.testing.assert_allclose(r.y[:, -1], h.y_ref, atol=1e-9)
    np.testing.assert_allclose(packed.y, full.y, rtol=1e-13, atol=1e-15)


def _heat_full_jacobian(t, y, c):
    n = y.size
    J = np.zeros((n, n))
    for i in range(n):
        J[i, i] = -2.0 * c
        if i > 0:
            J[i, i - 1] = c
        if i < n - 1:
            J[i, i + 1] = c
    return J


def test_banded_finite_differences_cost_bandwidth_evaluations():
    p = problems.bruss1d()
    banded = run(p, "rodas4", 1e-5)
    dense = run(p, "rodas4", 1e-5, jac_band=None)
    np.testing.assert_allclose(banded.y[:, -1], dense.y[:, -1], atol=1e-8)
    for r, width in ((banded, 5), (dense, 400)):
        # F evaluations: 2 to start, 5 per attempted step, 1 per accepted one, dF/dt and the
        # finite differences per Jacobian: one per group of columns (5 for the band)
        attempts = r.stats["naccept"] + r.stats["nreject"]
        per_jac = (r.nfev - 2 - 5 * attempts - r.stats["naccept"]) / r.njev - 1
        assert width <= per_jac < 1.1 * width, per_jac
    assert dense.nfev > 30 * banded.nfev


def test_differences_workspace_carries_only_the_factors():
    """``jacobian`` keeps nothing but the adaptive factors between calls: a second Jacobian in a
    used workspace equals one in a fresh workspace given the same factors; both match ROBER's
    analytic ``J`` (forward differences: to about sqrt(eps) of each column's scale)."""
    from stepsize.ode._build import build_problem
    from stepsize.ode._jacobian import FACTOR, jacobian, jacobian_work

    p = problems.rober()
    problem = build_problem(p.fun, 0.0, p.y0, (), compiled=True).problem
    y = np.array([0.9, 2e-5, 0.1])
    f0 = np.empty(3)
    problem.rhs(1.0, y, f0, problem.ctx)
    atol = np.full(3, 1e-10)
    used, J1, J2 = jacobian_work(3), np.zeros((3, 3)), np.zeros((3, 3))
    jacobian(problem, 1.0, y, f0, atol, used, J1, np.empty(3), np.empty(3))
    fresh = jacobian_work(3)
    fresh[FACTOR] = used[FACTOR]
    jacobian(problem, 1.0, y, f0, atol, used, J1, np.empty(3), np.empty(3))
    jacobian(problem, 1.0, y, f0, atol, fresh, J2, np.empty(3), np.empty(3))
    np.testing.assert_array_equal(J1, J2)
    exact = p.jac(1.0, y)
    np.testing.assert_allclose(J1, exact, rtol=1e-6, atol=1e-9 * np.abs(exact).max())


def test_rosenbrock_keeps_a_constant_jacobian_and_its_lu_while_h_is_unchanged():
    """y' = A y, A constant and stiff: with ``jac=A`` Rodas5P keeps ``J`` and, while
    ``max_step`` holds ``h``, the LU of ``W``; the steps are those of the same ``A`` handed as
    a callable (a fresh ``J`` and LU at every step), to rounding (the kept LU is for ``h`` before
    ``(t + h) - t`` rounds it), and follow ``expm``."""
    from scipy.linalg import expm

    A = np.array([[-1000.0, 1.0], [0.5, -2.0]])

    def f(t, y):
        return A @ y

    kw = dict(method="rodas5p", rtol=1e-8, atol=1e-10, max_step=1e-4)  # below the step's 1.5e-4
    const = solve(f, (0.0, 0.2), [1.0, 1.0], jac=A, **kw)
    fresh = solve(f, (0.0, 0.2), [1.0, 1.0], jac=lambda t, y: A, **kw)
    assert const.t.size == fresh.t.size
    np.testing.assert_allclose(const.y, fresh.y, rtol=1e-12, atol=1e-15)
    attempts = fresh.stats["naccept"] + fresh.stats["nreject"]
    assert fresh.nlu == attempts >= 2000
    assert const.nlu <= 10  # the first steps (the starting step is below max_step), the last
    np.testing.assert_allclose(const.y[:, -1], expm(0.2 * A) @ [1.0, 1.0], rtol=1e-7)


def test_matrix_shapes_of_dense_band_and_sparse_storage():
    from scipy.sparse import diags

    from stepsize.ode._jacobian import matrix_shapes
    from stepsize.ode._sparse import NO_PATTERN, sparse_lu_size, sparse_pattern

    assert matrix_shapes(NO_PATTERN, -1, -1, 5) == ((5, 5), (5, 5))
    assert matrix_shapes(NO_PATTERN, 2, 1, 7) == ((4, 7), (6, 7))  # LAPACK's 2 kl + ku + 1
    sp = sparse_pattern(diags([np.ones(5), np.ones(6), np.ones(5)], [-1, 0, 1]), 6)
    assert matrix_shapes(sp, -1, -1, 6) == ((1, 16), (1, sparse_lu_size(sp)))


@pytest.mark.parametrize(
    "kl, ku, n", [(-1, -1, 3), (-1, -1, 12), (-1, -1, 70), (2, 1, 12), (0, 3, 12), (4, 4, 12)]
)
@pytest.mark.parametrize("dtype", [float, complex])
def test_lu_dense_and_banded_solve_like_numpy(kl, ku, n, dtype):
    """Dense (column sweeps up to n = 64, row sweeps beyond) and banded solves."""
    rng = np.random.default_rng(7)
    A = rng.normal(size=(n, n))
    if kl >= 0:
        i, j = np.indices((n, n))
        A[(j - i > ku) | (i - j > kl)] = 0.0
        J = np.zeros((kl + ku + 1, n))
        for c in range(n):
            for r in range(max(0, c - ku), min(n, c + kl + 1)):
                J[ku + r - c, c] = A[r, c]
        M = np.zeros((2 * kl + ku + 1, n), dtype=dtype)
    else:
        J = A.copy()
        M = np.zeros((n, n), dtype=dtype)
    shift = 0.5 if dtype is float else 0.5 - 2.0j
    piv = np.zeros(n, dtype=np.int64)
    assert factor(shifted(J, kl, ku, shift, M), kl, ku, piv) == 0
    b = rng.normal(size=n).astype(dtype)
    x = lu_solve(M, kl, ku, piv, b.copy())
    np.testing.assert_allclose(x, np.linalg.solve(shift * np.eye(n) - A, b), rtol=1e-10)
    assert norm_inf(J, kl, ku, np.zeros((0, 0))) == pytest.approx(np.abs(A).sum(axis=1).max())
    singular = np.zeros_like(M)
    assert factor(singular, kl, ku, piv) == 1


# ----- failures: step reduction, then success=False with a message, never a hang -----


@pytest.mark.parametrize("method", ["rodas4", "radau", "auto"])
def test_singular_iteration_matrix_fails_cleanly(method):
    def f(t, y):
        return -1e3 * y

    def bad_jac(t, y):
        return np.full((2, 2), np.nan)

    r = solve(f, (0.0, 1.0), [1.0, 2.0], method=method, jac=bad_jac)
    assert not r.success and r.status == -1
    assert "singular" in r.message
    assert r.stats["nreject"] >= 5 and r.stats["naccept"] <= 50


@pytest.mark.parametrize("method", ["rosenbrock23", "rodas4", "radau"])
def test_blow_up_reduces_the_step_then_fails_with_a_message(method):
    # y' = y^2, y(0) = 1 blows up at t = 1; the Newton iteration / stages go non-finite
    r = solve(lambda t, y: y * y, (0.0, 2.0), [1.0], method=method, rtol=1e-6, atol=1e-9)
    assert not r.success
    assert any(w in r.message for w in ("underflow", "Non-finite", "Newton", "singular"))
    assert r.t[-1] == pytest.approx(1.0, abs=1e-2)
    assert r.stats["naccept"] + r.stats["nreject"] < 10**4


def test_newton_divergence_with_a_wrong_jacobian_still_succeeds_or_fails_cleanly():
    # a Jacobian of the wrong sign: Newton diverges at large steps, converges at small ones
    def f(t, y):
        return -1e4 * (y - np.cos(t))

    def wrong(t, y):
        return np.array([[1e4]])

    r = solve(f, (0.0, 1.0), [0.0], method="radau", jac=wrong, rtol=1e-6, max_steps=20_000)
    assert r.stats["nreject"] > 0
    if r.success:
        assert abs(r.y[0, -1] - (np.cos(1.0) + 1e-4 * np.sin(1.0))) < 1e-5
    else:
        assert "max_steps" in r.message or "Newton" in r.message


def test_interpreted_fallback_runs_implicit_methods_identically():
    table = {"k": 1e4}  # a dict lookup Numba cannot type from a closure

    def untyped(t, y):
        return np.array([-table["k"] * (y[0] - np.cos(t))])

    def typed(t, y, k):
        return np.array([-k * (y[0] - np.cos(t))])

    for method in ("rodas4", "radau"):
        with pytest.warns(RuntimeWarning, match="Numba could not compile"):
            slow = solve(untyped, (0.0, 2.0), [0.0], method=method, rtol=1e-6)
        fast = solve(typed, (0.0, 2.0), [0.0], method=method, rtol=1e-6, args=(1e4,))
        assert not slow.stats["compiled"] and fast.stats["compiled"]
        assert slow.nfev == fast.nfev and slow.nlu == fast.nlu
        np.testing.assert_allclose(slow.y, fast.y, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(method="radau5"), "known: bs3, dp5, tsit5, dop853, vern7, vern9, rosenbrock23"),
        (dict(method=("dp5", "gear")), "a pair must be"),
        (dict(method="radau", jac_band=(1,)), "jac_band"),
        (dict(method="radau", jac_band=(-1, 0)), "jac_band"),
        (dict(method="radau", jac=lambda t, y: np.eye(3)), "jac must return an array of shape"),
    ],
)
def test_bad_stiff_options_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve(lambda t, y: -y, (0.0, 1.0), [1.0, 2.0], **kwargs)
