"""The Runge–Kutta coefficient data of ``stepsize.ode``, checked against theory and peer code.

* structure: row sums, strict lower triangularity, the last-stage convention;
* order conditions from rooted trees (Butcher's elementary weights), generated here, for the
  propagated and the embedded weights, and the order is exact;
* dense output: order conditions of the continuous extension as polynomials in theta, its end
  points, its observed order on a nonlinear problem, Tsitouras' factored interpolant;
* stability radii, and against SciPy's RK23/RK45/DOP853 on one step.
"""

from functools import cache
from math import factorial

import numpy as np
import pytest
from scipy.integrate import DOP853 as SciPyDOP853
from scipy.integrate import RK23, RK45

from stepsize.ode._tableau import Tableau, stability_radius
from stepsize.ode._tableaux import BS3, DOP853, DP5, TABLEAUX, TSIT5, VERN7

ALL = list(TABLEAUX.values())
IDS = list(TABLEAUX)

# order of the continuous extension (as polynomial order conditions in theta)
DENSE_ORDER = {"bs3": 3, "dp5": 4, "tsit5": 4, "dop853": 7, "vern7": 7, "vern9": 8}
# orders of the embedded weights b - e (and b - e2); DOP853's ``error_order`` 7 describes its
# combined estimate err5^2 / sqrt(err5^2 + 0.01 err3^2), built from a 5th- and a 3rd-order pair
EMBEDDED_ORDER = {"bs3": 2, "dp5": 4, "tsit5": 4, "dop853": 5, "vern7": 6, "vern9": 8}
EMBEDDED2_ORDER = {"dop853": 3}


# ---------------------------------------------------------------------------------------------
# rooted trees: a tree is the sorted tuple of its children's subtrees; the leaf is ()


@cache
def trees(order: int) -> tuple:
    """All rooted trees with ``order`` vertices, canonical (children sorted), each once."""
    if order == 1:
        return ((),)
    out = set()
    for t in trees(order - 1):
        out.update(_graft(t))
    return tuple(sorted(out))


def _graft(t: tuple) -> set:
    """Every tree obtained by attaching one new leaf to a vertex of ``t``."""
    out = {tuple(sorted(t + ((),)))}
    for i, child in enumerate(t):
        for g in _graft(child):
            out.add(tuple(sorted(t[:i] + (g,) + t[i + 1 :])))
    return out


def gamma(t: tuple) -> int:
    """Density gamma(t) = |t| * prod gamma(children)."""
    g = _size(t)
    for u in t:
        g *= gamma(u)
    return g


def _size(t: tuple) -> int:
    return 1 + sum(_size(u) for u in t)


class Weights:
    """Stage vectors Phi(t) of a (possibly extended) Butcher matrix: Phi(leaf) = 1 and
    Phi([t1, ..., tm]) = prod_k A Phi(tk) (elementwise); the order condition for weights w is
    w . Phi(t) = 1 / gamma(t)."""

    def __init__(self, A: np.ndarray):
        self.A = A
        self.cache = {}

    def __call__(self, t: tuple) -> np.ndarray:
        if t not in self.cache:
            v = np.ones(self.A.shape[0])
            for u in t:
                v = v * (self.A @ self(u))
            self.cache[t] = v
        return self.cache[t]


def residuals(w: np.ndarray, A: np.ndarray, order: int) -> np.ndarray:
    """Relative residuals gamma(t) w.Phi(t) - 1 over all trees with exactly ``order`` vertices."""
    phi = Weights(A)
    return np.array([gamma(t) * (w @ phi(t)) - 1.0 for t in trees(order)])


def extended(tab: Tableau) -> tuple[np.ndarray, np.ndarray]:
    """(c, A) over all stages, the extra dense-output stages included."""
    s, n_extra = tab.n_stages, tab.c_extra.size
    A = np.zeros((s + n_extra, s + n_extra))
    A[:s, :s] = tab.A
    if n_extra:
        A[s:, :] = tab.A_extra
    return np.concatenate([tab.c, tab.c_extra]), A


def test_tree_counts_and_densities():
    # OEIS A000081: 1, 1, 2, 4, 9, 20, 48, 115, 286; 200 trees up to order 8
    assert [len(trees(n)) for n in range(1, 10)] == [1, 1, 2, 4, 9, 20, 48, 115, 286]
    assert sum(len(trees(n)) for n in range(1, 9)) == 200
    # the tall tree has gamma = n!, the bushy tree gamma = n
    tall = ()
    for n in range(2, 8):
        tall = (tall,)
        assert gamma(tall) == factorial(n)
        assert gamma(tuple(() for _ in range(n - 1))) == n
    # the classical RK4 has order exactly 4
    rk4 = np.array([[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0]], dtype=float)
    b = np.array([1, 2, 2, 1]) / 6
    for n in range(1, 5):
        assert np.max(np.abs(residuals(b, rk4, n))) < 1e-14
    assert np.max(np.abs(residuals(b, rk4, 5))) > 1e-2


# ---------------------------------------------------------------------------------------------
# structure


def test_registry():
    assert set(TABLEAUX) == {"bs3", "dp5", "tsit5", "dop853", "vern7", "vern9"}
    for name, tab in TABLEAUX.items():
        assert tab.name == name
        assert isinstance(tab, Tableau)
        assert tab.source
    assert (BS3.order, DP5.order, TSIT5.order, DOP853.order, VERN7.order) == (3, 5, 5, 8, 7)
    assert (BS3.error_order, DP5.error_order, TSIT5.error_order) == (2, 4, 4)
    assert (DOP853.error_order, VERN7.error_order) == (7, 6)
    assert [t.n_stages for t in ALL] == [4, 7, 7, 13, 11, 17]
    assert [t.c_extra.size for t in ALL] == [0, 0, 0, 3, 5, 4]
    assert (TABLEAUX["vern9"].order, TABLEAUX["vern9"].error_order) == (9, 8)
    assert [t.dense_degree for t in ALL] == [3, 4, 4, 7, 7, 8]


@pytest.mark.parametrize("tab", ALL, ids=IDS)
def test_shapes_and_dtype(tab):
    s, n_extra = tab.n_stages, tab.c_extra.size
    assert tab.A.shape == (s, s)
    assert tab.b.shape == tab.e.shape == tab.c.shape == (s,)
    assert tab.Q.shape == (s + n_extra, tab.dense_degree)
    assert tab.A_extra.shape == (n_extra, s + n_extra) or (n_extra == 0 and tab.A_extra.size == 0)
    for arr in (tab.c, tab.A, tab.b, tab.e, tab.Q, tab.c_extra, tab.A_extra):
        assert arr.dtype == np.float64
        assert np.all(np.isfinite(arr))
        assert not arr.flags.writeable  # shared module data
    if tab.name == "dop853":
        assert tab.e2 is not None and tab.e2.shape == (s,)
    else:
        assert tab.e2 is None


@pytest.mark.parametrize("tab", ALL, ids=IDS)
def test_row_sums_and_triangularity(tab):
    c, A = extended(tab)
    assert np.all(np.triu(A) == 0.0)  # explicit, extra stages use only earlier ones
    np.testing.assert_allclose(A.sum(axis=1), c, rtol=0, atol=1e-14 * max(1, np.abs(A).max()))
    assert tab.c[0] == 0.0
    assert np.all((tab.c >= 0) & (tab.c <= 1)) and np.all((tab.c_extra > 0) & (tab.c_extra < 1))


@pytest.mark.parametrize("tab", ALL, ids=IDS)
def test_last_stage_is_f_new(tab):
    assert tab.c[-1] == 1.0
    np.testing.assert_array_equal(tab.A[-1], tab.b)
    assert tab.b[-1] == 0.0
    if tab.name == "dop853" or tab.name == "vern7":  # appended: no weight in any estimate
        assert tab.e[-1] == 0.0
        assert tab.e2 is None or tab.e2[-1] == 0.0


@pytest.mark.parametrize("tab", ALL, ids=IDS)
def test_stiff_pair(tab):
    i, j = tab.stiff_pair
    assert 0 <= i < j < tab.n_stages
    if tab.name == "bs3":  # no two BS3 stages share an abscissa: c = 3/4 and f_new
        assert (tab.c[i], tab.c[j]) == (0.75, 1.0)
    else:
        assert tab.c[i] == tab.c[j] == 1.0
    expected = {"bs3": (2, 3), "dp5": (5, 6), "tsit5": (5, 6), "dop853": (11, 12), "vern7": (8, 9)}
    expected["vern9"] = (14, 15)
    assert tab.stiff_pair == expected[tab.name]


# ---------------------------------------------------------------------------------------------
# order conditions


def _max_abs(res):
    return float(np.max(np.abs(res)))


@pytest.mark.parametrize("tab", ALL, ids=IDS)
def test_order_conditions_of_b(tab):
    # relative residual gamma * b.Phi - 1: rounding of coefficients of size up to ~50 (DOP853)
    for n in range(1, tab.order + 1):
        assert _max_abs(residuals(tab.b, tab.A, n)) < 1e-11, (tab.name, n)
    # the order is exact: some condition of order p + 1 fails clearly
    assert _max_abs(residuals(tab.b, tab.A, tab.order + 1)) > 1e-3


@pytest.mark.parametrize("tab", ALL, ids=IDS)
def test_order_conditions_of_embedded(tab):
    estimates = [(tab.e, EMBEDDED_ORDER[tab.name])]
    if tab.e2 is not None:
        estimates.append((tab.e2, EMBEDDED2_ORDER[tab.name]))
    for e, p_hat in estimates:
        b_hat = tab.b - e
        for n in range(1, p_hat + 1):
            assert _max_abs(residuals(b_hat, tab.A, n)) < 1e-11, (tab.name, n)
        assert _max_abs(residuals(b_hat, tab.A, p_hat + 1)) > 1e-4
        assert abs(e.sum()) < 1e-14  # consistency: sum b_hat = sum b = 1
    if tab.name != "dop853":
        assert EMBEDDED_ORDER[tab.name] == tab.error_order


def test_dp5_e_matches_published_b_hat():
    # Dormand & Prince (1980), 4th-order weights
    b_hat = np.array(
        [5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40]
    )
    np.testing.assert_allclose(DP5.b - DP5.e, b_hat, rtol=0, atol=1e-16)
    np.testing.assert_allclose(BS3.b - BS3.e, [7 / 24, 1 / 4, 1 / 3, 1 / 8], rtol=0, atol=1e-16)


# ---------------------------------------------------------------------------------------------
# dense output


@pytest.mark.parametrize("tab", ALL, ids=IDS)
def test_dense_end_points(tab):
    s = tab.n_stages
    # theta = 1 gives y_new: sum_j Q[i, j] = b_i (0 on extra stages), up to the rounding of the
    # entries (Vern9's reach 1.3e4)
    atol = max(1e-12, 1e-15 * np.abs(tab.Q).max())
    np.testing.assert_allclose(tab.Q[:s].sum(axis=1), tab.b, rtol=0, atol=atol)
    np.testing.assert_allclose(tab.Q[s:].sum(axis=1), 0.0, rtol=0, atol=atol)
    # derivative at theta = 0 is k_1
    e0 = np.zeros(tab.Q.shape[0])
    e0[0] = 1.0
    np.testing.assert_array_equal(tab.Q[:, 0], e0)


@pytest.mark.parametrize("tab", ALL, ids=IDS)
def test_dense_order_conditions(tab):
    """sum_i b_i(theta) Phi_i(t) = theta^|t| / gamma(t) as polynomials, for |t| <= p_dense."""
    _, A = extended(tab)
    phi = Weights(A)
    p = DENSE_ORDER[tab.name]
    assert p <= tab.dense_degree
    worst = 0.0
    for n in range(1, p + 1):
        target = np.zeros(tab.dense_degree)
        target[n - 1] = 1.0
        for t in trees(n):
            residual = np.abs(gamma(t) * (tab.Q.T @ phi(t)) - target)
            # rounding to float64 of coefficients up to ~1e3 (DOP853, Vern7): scale by the terms
            scale = np.maximum(gamma(t) * (np.abs(tab.Q).T @ np.abs(phi(t))), 1.0)
            worst = max(worst, float(np.max(residual / scale)))
    assert worst < 1e-12, (tab.name, worst)


# Hairer, Norsett & Wanner I, Sec. II.10, eq. (10.3): nonlinear, non-autonomous, exact solution
def hairer_f(t, y):
    return np.array(
        [2 * t * y[0] * np.log(max(y[1], 1e-3)), -2 * t * y[1] * np.log(max(y[0], 1e-3))]
    )


def hairer_exact(t):
    return np.array([np.exp(np.sin(t * t)), np.exp(np.cos(t * t))])


def one_step(tab: Tableau, f, t, y, h):
    """One step of ``tab`` with all stages (extra ones included): (K, y_new)."""
    c, A = extended(tab)
    K = np.zeros((c.size, y.size))
    for i in range(c.size):
        K[i] = f(t + c[i] * h, y + h * (A[i, :i] @ K[:i]))
    return K, y + h * (tab.b @ K[: tab.n_stages])


def dense(tab: Tableau, K, y, h, theta):
    powers = theta ** np.arange(1, tab.dense_degree + 1)
    return y + h * (powers @ (tab.Q.T @ K))


@pytest.mark.parametrize("tab", ALL, ids=IDS)
def test_dense_output_observed_order(tab):
    t0 = 0.4
    y0 = hairer_exact(t0)
    p = DENSE_ORDER[tab.name]
    hs = np.array([0.32, 0.16, 0.08, 0.04]) if p >= 7 else np.array([0.08, 0.04, 0.02, 0.01])
    if p >= 8:  # Vern9's interpolant reaches rounding (1e-13) by h = 0.08
        hs = np.array([0.32, 0.24, 0.16, 0.12])
    thetas = np.array([0.23, 0.5, 0.81])
    errs = []
    for h in hs:
        K, y1 = one_step(tab, hairer_f, t0, y0, h)
        # Q's rows sum to b up to rounding of entries as large as ~1e3 (Vern9: 1.3e4)
        atol = max(1e-12, 1e-15 * np.abs(tab.Q).max())
        np.testing.assert_allclose(dense(tab, K, y0, h, 1.0), y1, rtol=0, atol=atol)
        np.testing.assert_allclose(dense(tab, K, y0, h, 0.0), y0, rtol=0, atol=0)
        errs.append(
            max(
                np.max(np.abs(dense(tab, K, y0, h, th) - hairer_exact(t0 + th * h)))
                for th in thetas
            )
        )
    errs = np.array(errs)
    # local error of the interpolant ~ C h^(p_dense + 1): least-squares slope in log-log
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    # Vern9: between the pre-asymptotic range (slope 9.65 here) and rounding below h = 0.12 there
    # is no clean window; its dense order conditions are checked exactly above
    assert abs(slope - (p + 1)) < (0.4 if p < 8 else 0.7), (tab.name, slope, errs)
    assert np.max(errs) < 1e-4


def test_tsit5_interpolant_matches_factored_form():
    """Tsitouras (2011) gives b_i(theta) in factored form (as transcribed in diffrax's tsit5.py)."""
    th = np.linspace(0.0, 1.0, 11)
    factored = [
        -1.0530884977290216
        * th
        * (th - 1.3299890189751412)
        * (th**2 - 1.4364028541716351 * th + 0.7139816917074209),
        0.1017 * th**2 * (th**2 - 2.1966568338249754 * th + 1.2949852507374631),
        2.490627285651252793 * th**2 * (th**2 - 2.38535645472061657 * th + 1.57803468208092486),
        -16.54810288924490272 * (th - 1.21712927295533244) * (th - 0.61620406037800089) * th**2,
        47.37952196281928122 * (th - 1.203071208372362603) * (th - 0.658047292653547382) * th**2,
        -34.87065786149660974 * (th - 1.2) * (th - 0.666666666666666667) * th**2,
        2.5 * (th - 1) * (th - 0.6) * th**2,
    ]
    ours = TSIT5.Q @ np.vstack([th**k for k in range(1, 5)])
    np.testing.assert_allclose(ours, np.array(factored), rtol=0, atol=1e-13)


def test_dop853_interpolant_matches_nested_form():
    """Hairer's CONTD8 nested evaluation with the dop853.f coefficients, against Q."""
    K, y1 = one_step(DOP853, hairer_f, 0.4, hairer_exact(0.4), 0.2)
    h, y0 = 0.2, hairer_exact(0.4)
    delta = y1 - y0
    F = [delta, h * K[0] - delta, 2 * delta - h * (K[0] + K[12])]
    from scipy.integrate._ivp import dop853_coefficients as coeffs

    F += list(h * (coeffs.D @ K))
    for th in np.linspace(0, 1, 9):
        acc = F[6]
        for j in range(5, -1, -1):
            acc = F[j] + (th if j % 2 else 1 - th) * acc
        nested = y0 + th * acc
        np.testing.assert_allclose(dense(DOP853, K, y0, h, th), nested, rtol=0, atol=1e-13)


# ---------------------------------------------------------------------------------------------
# stability


def _R_direct(tab, z):
    s = tab.n_stages
    return 1.0 + z * (tab.b @ np.linalg.solve(np.eye(s) - z * tab.A, np.ones(s)))


# DP5, Tsit5, Vern7: OrdinaryDiffEq's alg_stability_size; BS3: the real root of
# 1 - x + x^2/2 - x^3/6 = -1; DOP853: computed (Hairer's stiffness threshold 6.1 lies inside)
RADII = {"bs3": 2.5127453, "dp5": 3.3066, "tsit5": 3.5068, "dop853": 6.39365, "vern7": 4.6400}
RADII["vern9"] = 4.4762  # computed here; the boundary is checked below independently


@pytest.mark.parametrize("tab", ALL, ids=IDS)
def test_stability_radius(tab):
    r = tab.stability_radius
    assert r == stability_radius(tab)
    assert abs(r - RADII[tab.name]) < 1e-3, (tab.name, r)
    # boundary, independently of the polynomial form used inside stability_radius
    assert abs(_R_direct(tab, -(r - 1e-6))) <= 1.0
    assert abs(_R_direct(tab, -(r + 1e-6))) > 1.0
    assert all(abs(_R_direct(tab, -x)) <= 1.0 for x in np.linspace(0, r - 1e-6, 400))


def test_stability_radius_closed_forms():
    roots = np.roots([1, -3, 6, -12])  # x^3 - 3x^2 + 6x - 12 = 0  <=>  R3(-x) = -1
    assert abs(BS3.stability_radius - roots[np.isreal(roots)].real[0]) < 1e-9
    # DP5: R(z) = sum_{k<=5} z^k/k! + z^6/600 (Hairer, Norsett & Wanner I, Sec. IV.2)
    poly = np.polynomial.Polynomial([1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 600])
    for x in np.linspace(0, 5, 11):
        assert abs(poly(-x) - _R_direct(DP5, -x)) < 1e-12
    assert DOP853.stability_radius > 6.1


def test_stability_radius_input_checks():
    bad = Tableau(
        name="implicit-euler",
        order=1,
        error_order=0,
        c=np.ones(1),
        A=np.ones((1, 1)),
        b=np.ones(1),
        e=np.zeros(1),
        Q=np.ones((1, 1)),
    )
    with pytest.raises(ValueError, match="lower triangular"):
        stability_radius(bad)
    euler = Tableau(
        name="euler",
        order=1,
        error_order=0,
        c=np.zeros(1),
        A=np.zeros((1, 1)),
        b=np.ones(1),
        e=np.zeros(1),
        Q=np.ones((1, 1)),
    )
    assert abs(stability_radius(euler) - 2.0) < 1e-10


# ---------------------------------------------------------------------------------------------
# against SciPy, one step of the same size


@pytest.mark.parametrize(
    ("tab", "solver_cls"),
    [(BS3, RK23), (DP5, RK45), (DOP853, SciPyDOP853)],
    ids=IDS[:2] + ["dop853"],
)
def test_one_step_against_scipy(tab, solver_cls):
    t0, h = 0.4, 0.2
    y0 = hairer_exact(t0)
    solver = solver_cls(hairer_f, t0, y0, t0 + 10 * h, first_step=h, rtol=1.0, atol=1.0)
    solver.step()
    assert solver.t == t0 + h
    K, y1 = one_step(tab, hairer_f, t0, y0, h)
    np.testing.assert_allclose(y1, solver.y, rtol=1e-14, atol=1e-15)
    sol = solver.dense_output()
    for th in np.linspace(0.0, 1.0, 17):
        np.testing.assert_allclose(
            dense(tab, K, y0, h, th), sol(t0 + th * h), rtol=1e-13, atol=1e-14
        )


def test_q_matches_scipy_p_matrices():
    np.testing.assert_allclose(BS3.Q, RK23.P, rtol=0, atol=1e-15)
    np.testing.assert_allclose(DP5.Q, RK45.P, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(DP5.e, -RK45.E, rtol=0, atol=1e-17)
    np.testing.assert_allclose(BS3.e, -RK23.E, rtol=0, atol=1e-17)
    from scipy.integrate._ivp import dop853_coefficients as coeffs

    np.testing.assert_array_equal(DOP853.A[:13, :13], coeffs.A[:13, :13])
    np.testing.assert_array_equal(DOP853.A_extra, coeffs.A[13:, :])
    np.testing.assert_array_equal(DOP853.c_extra, coeffs.C[13:])
    np.testing.assert_array_equal(DOP853.e, coeffs.E5)
    np.testing.assert_allclose(DOP853.e2, coeffs.E3, rtol=0, atol=1e-16)
