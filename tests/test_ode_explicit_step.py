"""One step of the compiled explicit pairs against the textbook formulas evaluated with NumPy.

``explicit_attempt`` writes the stages into the rows of ``K``, sums them with the pair's generated
sums (coefficients written in) and fuses the error norm; here the same step is computed the plain
way from the Butcher tableau (``k_i = f(t + c_i h, y + h sum_j a_ij k_j)``, ``y_new = y + h
sum_i b_i k_i``, Hairer's scaled RMS norm of ``h sum_i e_i k_i``, DOP853's combination with
``e2``) and the stiffness estimate as ``||k_b - k_a|| / ||Y_b - Y_a||`` of the tableau's stiff
pair.  The two evaluations differ only in rounding, so the tolerance is a few hundred ulps of the
values involved.
"""

import numba
import numpy as np
import pytest

from stepsize.control import new_history, stiffness_estimate
from stepsize.ode import _stage_sums_source, problems
from stepsize.ode._build import build_problem
from stepsize.ode._bundles import Steps
from stepsize.ode._explicit import (
    ExplicitWork,
    error_sums,
    explicit_attempt,
    explicit_stiffness,
    extra_state,
    stages,
)
from stepsize.ode._solve import explicit_method
from stepsize.ode._store import Work
from stepsize.ode._tableaux import TABLEAUX

RTOL = 1e-13
EPS = np.finfo(float).eps


def textbook_step(tab, f, t, y, h, rtol, atol):
    """``(y_new, err, lambda_hat)`` of one step of ``tab`` from the formulas."""
    A, c, s = np.asarray(tab.A, float), np.asarray(tab.c, float), tab.c.size
    K = np.zeros((s, y.size))
    Y = np.zeros((s, y.size))
    for i in range(s):
        Y[i] = y + h * (A[i, :i] @ K[:i])
        K[i] = f(t + c[i] * h, Y[i])
    y_new = Y[-1]
    scale = atol + rtol * np.maximum(np.abs(y), np.abs(y_new))
    n5 = np.sum((h * (np.asarray(tab.e, float) @ K) / scale) ** 2)
    if tab.e2 is None:
        err = np.sqrt(n5 / y.size)
    else:
        n3 = np.sum((h * (np.asarray(tab.e2, float) @ K) / scale) ** 2)
        err = n5 / np.sqrt((n5 + 0.01 * n3) * y.size)
    a, b = (p % s for p in tab.stiff_pair)
    dK, dY = np.linalg.norm(K[b] - K[a]), np.linalg.norm(Y[b] - Y[a])
    # Rounding bounds (the two evaluations sum in different orders): the error estimate is a
    # cancelling sum (sum_i e_i = 0), so its bound is eps h sum_i |e_i| |k_i| / scale; the
    # stiffness quotient divides differences of nearby vectors.
    w = np.abs(np.asarray(tab.e, float)) + np.abs(np.asarray(tab.e2 if tab.e2 is not None else 0.0))
    err_tol = 1e3 * EPS * h * np.max((w @ np.abs(K)) / scale)
    lam_rtol = 1e3 * EPS * (np.abs(Y).max() / dY + np.abs(K).max() / dK)
    return y_new, err, dK / dY, err_tol, lam_rtol


@pytest.mark.parametrize("method", ["dop853", "dp5", "tsit5", "vern7"])
@pytest.mark.parametrize("name", ["lorenz", "pleiades"])
def test_explicit_attempt_is_the_textbook_step(method, name):
    p = problems.get(name)
    n, t, h, tol = p.y0.size, 0.3, 1e-2, 1e-6
    y = p.y0 + 0.01 * np.sin(np.arange(p.y0.size) + 1.0)  # not a special point

    def f(t, y):
        return np.asarray(p.fun(t, y, *p.args), dtype=float)

    problem = build_problem(p.fun, t, y, p.args).problem
    m = explicit_method(method)
    ew = ExplicitWork(np.zeros((m.sums.stages, n)), np.empty(n), np.empty(n), np.empty(n))
    work = Work(y.copy(), *(np.empty(n) for _ in range(6)), np.zeros((n, 8)), *(new_history(),) * 2)
    work.f0[:] = f(t, y)
    rtol, atol = np.full(n, tol), np.full(n, tol)
    steps = Steps(t, t + 1.0, rtol, atol, 0.0, np.inf, 10, np.zeros(0), False, False)

    err = explicit_attempt(problem, m, ew, work, t, h, steps)
    want_y, want_err, want_lam, err_tol, lam_rtol = textbook_step(
        TABLEAUX[method], f, t, y, h, tol, tol
    )

    assert err > 0.0
    np.testing.assert_allclose(work.y_new, want_y, rtol=RTOL, atol=RTOL * np.abs(y).max())
    assert err == pytest.approx(want_err, rel=RTOL, abs=err_tol)
    assert explicit_stiffness(m, ew, work.y_new) == pytest.approx(want_lam, rel=lam_rtol)


@pytest.mark.parametrize("method", sorted(TABLEAUX))
def test_generated_sums_add_the_tableau_terms_in_order(method):
    """The generated stage states and error sums of each pair (compiled) are the same numbers
    as the plain sums over its tableau, zero coefficients included, ``y_m + h (((a_i0 K_0m +
    a_i1 K_1m) + a_i2 K_2m) + ...)`` and ``((e_0 K_0m + e_1 K_1m) + ...)`` (to the last bit:
    skipping a zero term changes no finite sum), for every stage, extra ones included, and
    state sizes on both sides of a vector's width.  The unrolled stages of an attempt
    (``f = 0.5 y - t``, exact in both evaluations) give every ``K[i]`` at ``t + c_i h``, the
    last state in ``y_new``, the one before in ``ystage`` and the stiff pair's states that
    later stages overwrite in ``ya``, ``yb``."""
    tab = TABLEAUX[method]
    sums = explicit_method(method).sums
    s = tab.c.size
    rows = [tab.A[i, :i] for i in range(s)] + [
        tab.A_extra[j, : s + j] for j in range(tab.c_extra.size)
    ]
    rng = np.random.default_rng(7)
    h, t = 0.37, 0.25
    for n in (1, 3, 4, 9, 28):
        K, y = rng.standard_normal((len(rows), n)), rng.standard_normal(n)
        problem = build_problem(_affine, t, y, ()).problem
        got = K.copy()
        ystage, y_new, ya, yb = (np.full(n, np.nan) for _ in range(4))
        stages_of(sums, problem, got, y, h, t, (ystage, y_new, ya, yb))
        states = [y.tolist()]
        for i in range(1, s):  # the stage states in order, and f = 0.5 y - t there
            states.append([float(y[m]) + h * in_order(rows[i], K[:, m]) for m in range(n)])
            t_i = t + float(tab.c[i]) * h
            K[i] = [0.5 * v - t_i for v in states[i]]
            assert got[i].tolist() == K[i].tolist(), (n, i)
        assert y_new.tolist() == states[s - 1] and ystage.tolist() == states[s - 2]
        a, b = (p % s for p in tab.stiff_pair)
        for p, kept in ((a, ya), (b, yb)):
            if p < s - 2:  # a state the later stages overwrite: copied
                assert kept.tolist() == states[p], (n, p)
        for i in range(s, len(rows)):
            out = np.full(n, np.nan)
            extra_of(sums, i - s, K, y, h, out)
            want = [float(y[m]) + h * in_order(rows[i], K[:, m]) for m in range(n)]
            assert out.tolist() == want, (n, i)
        e2 = tab.e2 if tab.e2 is not None else np.zeros(0)
        for m in range(n):
            assert errors_of(sums, K, m) == (in_order(tab.e, K[:, m]), in_order(e2, K[:, m]))


def in_order(weights, column):
    acc = 0.0
    for w, k in zip(weights, column):
        acc += float(w) * float(k)
    return acc


def _affine(t, y):
    return 0.5 * y - t


@numba.njit
def stages_of(sums, problem, K, y, h, t, states):
    stages(sums, problem, K, y, h, t, states)


@numba.njit
def extra_of(sums, j, K, y, h, out):
    extra_state(sums, j, K, y, h, out)


@numba.njit
def errors_of(sums, K, m):
    return error_sums(sums, K, m)


def test_generated_module_is_what_the_tableaux_give():
    """``_stage_sums.py`` is the generator's output for the tableaux as they are (rerun
    ``python -m stepsize.ode._stage_sums_source`` after changing a tableau)."""
    assert _stage_sums_source.TARGET.read_text() == _stage_sums_source.source()


def test_stiffness_estimate_edge_cases():
    """Equal states give 0; an infinite state difference gives 0, an infinite stage
    difference inf; huge and tiny differences are scaled (no overflow, no underflow)."""
    a = np.array([1.0, 2.0, 3.0])
    assert stiffness_estimate(a, a + 1.0, a, a) == 0.0
    assert stiffness_estimate(a, a + 1.0, a, a + np.inf) == 0.0
    assert stiffness_estimate(a, a, a, a + 1.0) == 0.0
    big = np.array([1e300, -1e300, 1e300])
    assert stiffness_estimate(0 * a, 2 * big, 0 * a, big) == pytest.approx(2.0, rel=1e-15)
    tiny = np.array([1e-300, 0.0, -1e-300])
    assert stiffness_estimate(0 * a, 3 * tiny, 0 * a, tiny) == pytest.approx(3.0, rel=1e-15)
    assert stiffness_estimate(a, a + np.inf, a, a + 1.0) == np.inf
