"""Sparse Jacobians: CPR column groups, the fixed-pattern sparse LU, BDF with ``jac_sparsity``,
a callable ``jac`` returning ``scipy.sparse``."""

import numpy as np
import pytest
import scipy.sparse as sps
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from stepsize.ode import solve, stiffness_profile
from stepsize.ode._bruss2d import bruss2d, bruss2d_jac, bruss2d_sparsity, bruss2d_y0
from stepsize.ode._sparse import sparse_factor, sparse_lu_size, sparse_pattern, sparse_solve

SEEDS = settings(max_examples=25, deadline=None, derandomize=True)


def _random_pattern(n, density, seed):
    rng = np.random.default_rng(seed)
    return sps.random(n, n, density=density, random_state=rng, format="csr")


@given(
    n=st.integers(2, 40),
    density=st.floats(0.02, 0.4),
    seed=st.integers(0, 2**31),
)
@SEEDS
def test_cpr_groups_are_a_colouring_of_all_columns(n, density, seed):
    S = _random_pattern(n, density, seed)
    sp = sparse_pattern(S, n)
    assert np.array_equal(np.sort(sp.group_cols), np.arange(n))
    dense = S.toarray() != 0
    for g in range(sp.group_ptr.size - 1):
        cols = sp.group_cols[sp.group_ptr[g] : sp.group_ptr[g + 1]]
        hits = dense[:, cols].sum(axis=1)
        assert hits.max(initial=0) <= 1  # no row is shared by two columns of a group


def _factor_and_solve(sp, jdata, shift, b):
    n = b.size
    lu, w, piv = np.zeros(sparse_lu_size(sp)), np.zeros(n), np.zeros(n, dtype=np.int64)
    bad = sparse_factor(sp, jdata, shift, lu, w, piv)
    return bad, sparse_solve(sp, lu, b.copy(), w, piv)


@given(
    n=st.integers(1, 40),
    density=st.floats(0.0, 0.3),
    seed=st.integers(0, 2**31),
    tail=st.sampled_from([None, 0, 3, 40]),
)
@SEEDS
def test_sparse_lu_solves_as_numpy(n, density, seed, tail):
    rng = np.random.default_rng(seed)
    S = _random_pattern(n, density, seed)
    sp = sparse_pattern(S, n, tail=None if tail is None else min(tail, n))
    jdata = rng.standard_normal(sp.rows.size)
    J = sps.csc_matrix((jdata, sp.rows, sp.colptr), shape=(n, n)).toarray()
    shift = 1.0 + np.abs(J).sum(axis=1).max()  # shift I - J diagonally dominant
    b = rng.standard_normal(n)
    bad, x = _factor_and_solve(sp, jdata, shift, b)
    assert bad == 0
    A = shift * np.eye(n) - J
    expected = np.linalg.solve(A, b)
    cond = np.linalg.cond(A)
    assert np.allclose(
        x,
        expected,
        rtol=0.0,
        atol=100 * cond * np.finfo(float).eps * max(1, np.abs(expected).max()),
    )


def _saddle_point(k, seed):
    """``-A`` for the KKT matrix ``A = [[D, B^T], [B, 0]]`` (``D`` tridiagonal, ``B`` (k/2, k)
    sparse of full rank): regular, but its zero diagonal block needs pivoting."""
    rng = np.random.default_rng(seed)
    D = sps.diags([-np.ones(k - 1), 4.0 + rng.random(k), -np.ones(k - 1)], [-1, 0, 1])
    m = k // 2
    B = sps.random(m, k, density=0.1, random_state=rng) + sps.eye(m, k, k=m)
    A = sps.bmat([[D, B.T], [B, None]]).tocsc()
    return -A, k + m, np.r_[np.zeros(k, bool), np.ones(m, bool)]


def test_zero_diagonal_needs_and_gets_pivoting():
    J, n, algebraic = _saddle_point(60, 3)
    A = -J.toarray()
    b = np.random.default_rng(4).standard_normal(n)
    sp = sparse_pattern(J, n, tail=0)  # no pivoting: the first zero pivot stops it
    assert _factor_and_solve(sp, J.tocsc().toarray()[sp.rows, _col_of(sp)], 0.0, b)[0] != 0
    sp = sparse_pattern(J, n, pivot_rows=algebraic)
    assert n - sp.split >= algebraic.sum()
    jdata = J.toarray()[sp.rows, _col_of(sp)]
    bad, x = _factor_and_solve(sp, jdata, 0.0, b)
    assert bad == 0
    expected = np.linalg.solve(A, b)
    tol = 100 * np.linalg.cond(A) * np.finfo(float).eps * np.abs(expected).max()
    assert np.abs(x - expected).max() < tol


def _col_of(sp):
    return np.repeat(np.arange(sp.colptr.size - 1), np.diff(sp.colptr))


def test_zero_pivot_is_reported_singular():
    for tail in (0, 3):  # in the sparse part and in the dense block
        sp = sparse_pattern(np.eye(3), 3, tail=tail)
        assert _factor_and_solve(sp, np.ones(3), 1.0, np.ones(3))[0] != 0  # 1 * I - I = 0


N = 8
Y0 = bruss2d_y0(N)
SPARSITY = bruss2d_sparsity(N)
SPAN = (0.0, 1.5)  # includes the switch-on of the forcing at t = 1.1


def test_grouped_differences_reproduce_dense_jacobian():
    from stepsize.ode._build import build_problem
    from stepsize.ode._jacobian import jacobian, jacobian_work, sparse_jacobian

    n = Y0.size
    built = build_problem(bruss2d, 0.5, Y0, (N,), compiled=True)
    p = built.problem
    f0 = np.empty(n)
    p.rhs(0.5, Y0, f0, p.ctx)
    atol = np.full(n, 1e-6)
    sp = sparse_pattern(SPARSITY, n)
    assert sp.group_ptr.size - 1 <= 12  # ~10 groups for two coupled 5-point stencils, not n
    jdata = np.zeros((1, sp.rows.size))
    nfev = sparse_jacobian(
        p, sp, 0.5, Y0, f0, atol, jacobian_work(n), jdata[0], np.empty(n), np.empty(n)
    )
    assert nfev < 2 * (sp.group_ptr.size - 1) + 1
    Jd = np.zeros((n, n))
    jacobian(p, 0.5, Y0, f0, atol, jacobian_work(n), Jd, np.empty(n), np.empty(n))
    Js = sps.csc_matrix((jdata[0], sp.rows, sp.colptr), shape=(n, n)).toarray()
    scale = np.abs(Jd).max()
    assert np.abs(Js - Jd).max() <= 1e-6 * scale
    assert np.all(Jd[SPARSITY.toarray() == 0] == 0.0)


@pytest.fixture(scope="module")
def runs():
    kw = dict(args=(N,), rtol=1e-6, atol=1e-6)
    sparse = solve(bruss2d, SPAN, Y0, method="bdf", jac_sparsity=SPARSITY, **kw)
    dense = solve(bruss2d, SPAN, Y0, method="bdf", **kw)
    ref = solve_ivp(bruss2d, SPAN, Y0, method="BDF", rtol=1e-10, atol=1e-10, args=(N,))
    return sparse, dense, ref


def _bruss2d_jac_coo(t, y, N):
    """:func:`bruss2d_jac` as COO, every entry split in two halves, the second copies in random
    order (duplicates, unsorted: summed by the reader)."""
    coo = bruss2d_jac(t, y, N).tocoo()
    half = coo.data / 2.0
    order = np.random.default_rng(1).permutation(coo.nnz)
    rows, cols = np.r_[coo.row, coo.row[order]], np.r_[coo.col, coo.col[order]]
    return sps.coo_matrix((np.r_[half, half[order]], (rows, cols)), shape=coo.shape)


@pytest.mark.parametrize("jac", [bruss2d_jac, _bruss2d_jac_coo])
def test_bruss2d_callable_sparse_jac_runs_compiled_on_the_sparse_lu(runs, jac):
    """SciPy's form ``jac(t, y) -> scipy.sparse``: BDF takes its entries at t0 as the LU's
    pattern, the compiled loop calls it back; the exact Jacobian needs no F evaluations for
    differences and lands where the grouped differences do."""
    sparse, dense, ref = runs
    r = solve(bruss2d, SPAN, Y0, method="bdf", args=(N,), rtol=1e-6, atol=1e-6, jac=jac)
    assert r.success and r.stats["compiled"]
    assert 0 < r.njev <= sparse.njev + 2
    assert r.nfev < sparse.nfev - 5 * sparse.njev  # each differenced J costs ~10 evaluations
    y_ref = ref.y[:, -1]
    assert np.abs(r.y[:, -1] - y_ref).max() / (1 + np.abs(y_ref).max()) < 1e-4
    assert np.abs(r.y[:, -1] - sparse.y[:, -1]).max() < 1e-4


def test_bruss2d_sparse_agrees_with_dense_and_scipy(runs):
    sparse, dense, ref = runs
    assert sparse.success and dense.success and sparse.stats["compiled"]
    y_ref = ref.y[:, -1]
    err = np.abs(sparse.y[:, -1] - y_ref).max() / (1 + np.abs(y_ref).max())
    assert err < 1e-4  # rtol = atol = 1e-6 with a global error factor of some 10s
    assert np.abs(sparse.y[:, -1] - dense.y[:, -1]).max() < 1e-4
    assert sparse.nfev < dense.nfev  # ~11 evaluations per Jacobian instead of 128


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(jac_sparsity=np.ones((3, 3))), r"shape \(128, 128\)"),
        (dict(jac_sparsity="dense"), "jac_sparsity must be a scipy.sparse"),
        (dict(jac_sparsity=SPARSITY, method="dp5"), "implicit methods"),
        (dict(jac_sparsity=SPARSITY, jac_band=(1, 1)), "jac_band"),
        (dict(jac_sparsity=SPARSITY, jac=np.eye(128)), "constant jac"),
        (dict(jac=lambda t, y, N: sps.identity(3)), r"jac must return .* \(128, 128\)"),
    ],
)
def test_bad_jac_sparsity_is_named(kwargs, match):
    kwargs.setdefault("method", "bdf")
    with pytest.raises(ValueError, match=match):
        solve(bruss2d, SPAN, Y0, args=(N,), **kwargs)


K = 40  # heat equation on K + 1 nodes, the boundary conditions as algebraic equations


def _heat_dae(t, y):
    """``M y' = f``: ``u_i' = (u_{i-1} - 2 u_i + u_{i+1}) / dx^2`` inside; the boundary values
    ``u_K = 0`` and ``u_0 = 0`` written as rows 0 and K (so ``shift M - J`` has zeros on its
    diagonal there and needs pivoting)."""
    out = np.empty(K + 1)
    inv = float(K * K)
    out[0] = y[K]
    out[K] = y[0]
    for i in range(1, K):
        out[i] = (y[i - 1] - 2.0 * y[i] + y[i + 1]) * inv
    return out


def test_sparse_dae_with_zero_diagonal_matches_exact_semidiscrete_solution():
    x = np.linspace(0.0, 1.0, K + 1)
    mass = np.diag(np.r_[0.0, np.ones(K - 1), 0.0])
    S = sps.diags([1, 1, 1], [-1, 0, 1], shape=(K + 1, K + 1), format="lil", dtype=float)
    S[0, K] = S[K, 0] = 1
    kw = dict(rtol=1e-7, atol=1e-10, mass=mass)
    sparse = solve(
        _heat_dae, (0.0, 0.1), np.sin(np.pi * x), method="bdf", jac_sparsity=S, profile=True, **kw
    )
    dense = solve(_heat_dae, (0.0, 0.1), np.sin(np.pi * x), method="bdf", **kw)
    assert sparse.success and sparse.stats["compiled"] and dense.success
    lam = 4.0 * K**2 * np.sin(np.pi / (2 * K)) ** 2  # the eigenvalue of the discrete Laplacian
    exact = np.exp(-lam * 0.1) * np.sin(np.pi * x)
    assert np.abs(sparse.y[:, -1] - exact).max() < 1e-5  # rtol 1e-7 times a global factor
    assert np.abs(sparse.y[:, -1] - dense.y[:, -1]).max() < 1e-6
    assert abs(sparse.y[0, -1]) < 1e-12 and abs(sparse.y[K, -1]) < 1e-12  # the constraints hold
    # the stiffness scale: the differential rows' sum |J_ij| / M_ii = 4 K^2, the algebraic rows
    # (M_ii = 0) left out; J by forward differences, whose increments follow atol = 1e-10 next
    # to the boundary (y ~ 0 there): rounding of a few 1e-4
    profile = stiffness_profile(sparse)
    np.testing.assert_allclose(profile.h_lambda / np.abs(profile.h), 4.0 * K**2, rtol=1e-3)


@pytest.mark.parametrize("method", ["rodas4", "rodas5p", "radau"])
def test_bruss2d_one_step_methods_on_the_sparse_lu_agree_with_dense(runs, method):
    """Rosenbrock's ``W = I / (h gamma) - J`` and Radau's real and complex systems (the latter
    in real form, 2n) on the sparse LU: about the steps of the dense LU (J from the same
    increments, grouped: equal but for rounding, which moves the steps a little), at a fraction
    of the evaluations."""
    kw = dict(args=(N,), rtol=1e-6, atol=1e-6, method=method)
    sparse = solve(bruss2d, SPAN, Y0, jac_sparsity=SPARSITY, **kw)
    dense = solve(bruss2d, SPAN, Y0, **kw)
    assert sparse.success and sparse.stats["compiled"] and sparse.stats["method"] == method
    assert abs(sparse.t.size - dense.t.size) <= 0.05 * dense.t.size
    assert abs(sparse.njev - dense.njev) <= 0.1 * dense.njev
    assert sparse.nfev < dense.nfev - 100 * dense.njev  # a J: ~12 evaluations, not 128
    assert np.abs(sparse.y[:, -1] - dense.y[:, -1]).max() < 1e-5 * np.abs(dense.y).max()
    y_ref = runs[2].y[:, -1]
    assert np.abs(sparse.y[:, -1] - y_ref).max() / (1 + np.abs(y_ref).max()) < 1e-4


@pytest.mark.parametrize("method", ["rodas4", "radau"])
def test_sparse_one_step_dae_with_zero_diagonal_matches_exact_semidiscrete_solution(method):
    """The heat DAE above on the sparse LU, ``M`` (``scipy.sparse``) held by its nonzeros."""
    x = np.linspace(0.0, 1.0, K + 1)
    mass = sps.diags(np.r_[0.0, np.ones(K - 1), 0.0])
    S = sps.diags([1, 1, 1], [-1, 0, 1], shape=(K + 1, K + 1), format="lil", dtype=float)
    S[0, K] = S[K, 0] = 1
    kw = dict(rtol=1e-7, atol=1e-10, mass=mass, method=method, jac_sparsity=S)
    r = solve(_heat_dae, (0.0, 0.1), np.sin(np.pi * x), **kw)
    assert r.success and r.stats["compiled"]
    lam = 4.0 * K**2 * np.sin(np.pi / (2 * K)) ** 2
    exact = np.exp(-lam * 0.1) * np.sin(np.pi * x)
    assert np.abs(r.y[:, -1] - exact).max() < 1e-5
    assert abs(r.y[0, -1]) < 1e-12 and abs(r.y[K, -1]) < 1e-12


def test_transamp_with_jac_sparsity_pivots_its_node_pairs():
    """The amplifier's capacitance matrix is singular without a zero on its diagonal: the rows of
    its algebraic combinations (node pairs 1-2, 4-5, 7-8) go into the pivoted block, and BDF with
    ``jac_sparsity`` meets the Bari reference as the dense run does (``test_ode_dae``)."""
    from stepsize.ode import problems
    from stepsize.ode.problems import mixed_error

    p = problems.get("transamp")
    sp = sparse_pattern(np.ones((8, 8)), 8, p.mass)
    assert set(sp.perm[2:]) == {0, 1, 3, 4, 6, 7} and sp.split <= 2
    S = (np.abs(p.jac(0.0, p.y0, *p.args)) > 0) | (p.mass != 0)
    kw = dict(rtol=1e-6, atol=1e-6, args=p.args, mass=p.mass, jac_sparsity=S)
    r = solve(p.fun, p.t_span, p.y0, method="bdf", **kw)
    assert r.success and r.stats["compiled"]
    assert mixed_error(p, r.y[:, -1]) < 5e-6


def _rober_csc(t, y):
    """ROBER's Jacobian as SciPy users write it, ``csc_matrix`` of the dense array, which drops
    the entries that vanish at y0 = (1, 0, 0): those come from the state near t0."""
    from stepsize.ode._stiff_problems import _rober_jac

    return sps.csc_matrix(_rober_jac(t, y))


def _rober_late_entry(t, y):
    """An entry (2, 2) that appears only after t = 1: outside the pattern."""
    J = _rober_csc(t, y).tolil()
    J[2, 2] = -1e-3 if t > 1.0 else 0.0
    return J.tocsr()


def test_rober_with_a_csc_jac_matches_scipy_and_errors_name_their_cause():
    from stepsize.ode._stiff_problems import _rober_fun

    y0, span = [1.0, 0.0, 0.0], (0.0, 40.0)
    kw = dict(method="bdf", rtol=1e-7, atol=1e-11)
    r = solve(_rober_fun, span, y0, jac=_rober_csc, **kw)
    ref = solve_ivp(_rober_fun, span, y0, method="BDF", rtol=1e-11, atol=1e-15, jac=_rober_csc)
    assert r.success and r.stats["compiled"] and r.njev > 3
    np.testing.assert_allclose(r.y[:, -1], ref.y[:, -1], rtol=1e-5)  # rtol 1e-7, global x 10s
    with pytest.raises(ValueError, match=r"nonzero at \(2, 2\).*jac_sparsity") as err:
        solve(_rober_fun, span, y0, jac=_rober_late_entry, **kw)
    assert "raised by `jac` at t =" in "".join(err.value.__notes__)
    S = np.ones((3, 3))  # declared: the run goes through
    assert solve(_rober_fun, span, y0, jac=_rober_late_entry, jac_sparsity=S, **kw).success

    def failing(t, y):
        if t > 1.0:
            raise ZeroDivisionError("inside jac")
        return _rober_csc(t, y)

    with pytest.raises(ZeroDivisionError, match="inside jac") as err:
        solve(_rober_fun, span, y0, jac=failing, **kw)
    assert "raised by `jac` at t =" in "".join(err.value.__notes__)


def _medazko(t, y):
    """SciPy's ``fun_medazko`` (``test_ivp.py``; Test Set for IVP Solvers, MEDAKZO, n = 200),
    written as a loop so that Numba compiles it: ``u`` at even, ``v`` at odd indices, with the
    boundary values ``u_0 = phi(t)`` and ``u_{n+1} = u_{n-1}``."""
    n = y.size // 2
    k, c, d = 100.0, 4.0, 1.0 / n
    f = np.empty(2 * n)
    for j in range(1, n + 1):
        u_left = (2.0 if t <= 5.0 else 0.0) if j == 1 else y[2 * j - 4]
        u_right = y[2 * j] if j < n else y[2 * n - 4]
        u, v = y[2 * j - 2], y[2 * j - 1]
        alpha = 2.0 * (j * d - 1.0) ** 3 / c**2
        beta = (j * d - 1.0) ** 4 / c**2
        f[2 * j - 2] = (
            alpha * (u_right - u_left) / (2.0 * d)
            + beta * (u_left - 2.0 * u + u_right) / d**2
            - k * u * v
        )
        f[2 * j - 1] = -k * v * u
    return f


def _medazko_sparsity(n):
    """Rows ``u_j``: ``u_{j-1}, u_j, u_{j+1}, v_j``; rows ``v_j``: ``u_j, v_j``."""
    rows, cols = [], []
    for j in range(n):
        u, v = 2 * j, 2 * j + 1
        for col in (u - 2, u, u + 2, v):
            if 0 <= col < 2 * n:
                rows.append(u)
                cols.append(col)
        rows += [v, v]
        cols += [u, v]
    rows.append(2 * n - 2)  # u_{n+1} = u_{n-1}
    cols.append(2 * n - 4)
    return sps.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(2 * n, 2 * n))


@pytest.mark.parametrize("method", ["BDF", "Radau", "LSODA"])
def test_integration_sparse_difference(method):
    """SciPy's ``test_integration_sparse_difference`` (its values and tolerances)."""
    n = 200
    y0 = np.zeros(2 * n)
    y0[1::2] = 1.0
    res = solve(_medazko, [0, 20], y0, method=method, jac_sparsity=_medazko_sparsity(n))
    assert res.t[0] == 0 and res.t_events is None and res.y_events is None
    assert res.success and res.status == 0 and res.stats["compiled"]
    np.testing.assert_allclose(res.y[78, -1], 0.233994e-3, rtol=1e-2)
    np.testing.assert_allclose(res.y[79, -1], 0, atol=1e-3)
    np.testing.assert_allclose(res.y[148, -1], 0.359561e-3, rtol=1e-2)
    np.testing.assert_allclose(res.y[149, -1], 0, atol=1e-3)
    np.testing.assert_allclose(res.y[198, -1], 0.117374129e-3, rtol=1e-2)
    np.testing.assert_allclose(res.y[199, -1], 0.6190807e-5, atol=1e-3)
    np.testing.assert_allclose(res.y[238, -1], 0, atol=1e-3)
    np.testing.assert_allclose(res.y[239, -1], 0.9999997, rtol=1e-2)
