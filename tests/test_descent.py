"""stepsize.descent against Tyurin (2024, arXiv 2412.08424): theorems, Table 1, step rules."""

import math

import numpy as np
import pytest

from stepsize.control import stiffness_estimate
from stepsize.descent import (
    RULES,
    digits,
    gd,
    hessian,
    hessian_vector_product,
    load_dataset,
    logistic_gradient,
    logistic_loss,
    max_margin,
    perceptron,
    separable,
    sharpness_along,
    top_hessian_eigenvalue,
    two_point,
    worst_case,
)


def _rel_gap(run, reference):
    diff = np.linalg.norm(run.thetas - reference.thetas, axis=1).max()
    return diff / np.linalg.norm(reference.thetas, axis=1).max()


@pytest.mark.parametrize("seed", [1, 3])
def test_thm32_lrgd_over_gamma_tends_to_batch_perceptron(seed):
    ds = separable(n=60, d=5, margin=0.1, seed=seed)
    bp = perceptron(ds.A, ds.y)
    assert bp.iterations == 10  # enough sign changes of S_t to make the limit non-trivial
    gaps = {}
    for gamma in (1e1, 1e2, 1e4, 1e6, 1e8):
        run = gd(ds.A, ds.y, gamma, max_iter=bp.iterations)
        run.thetas = run.thetas / gamma
        gaps[gamma] = _rel_gap(run, bp)
    assert gaps[1e1] > gaps[1e2] > gaps[1e4]
    assert gaps[1e1] > 0.1
    assert gaps[1e6] < 1e-6 and gaps[1e8] < 1e-6


def test_thm32_first_steps_in_closed_form():
    ds = separable(n=30, d=4, seed=7)
    bp = perceptron(ds.A, ds.y)
    m = ds.y[:, None] * ds.A
    np.testing.assert_allclose(bp.thetas[1], m.sum(0) / (2 * ds.n), rtol=1e-14)
    s1 = m @ bp.thetas[1] <= 0
    np.testing.assert_allclose(bp.thetas[2], bp.thetas[1] + m[s1].sum(0) / ds.n, rtol=1e-14)
    nbp = perceptron(ds.A, ds.y, normalized=True)
    np.testing.assert_allclose(nbp.thetas[1], m.mean(0), rtol=1e-14)
    s1 = m @ nbp.thetas[1] <= 0
    if s1.any():
        np.testing.assert_allclose(nbp.thetas[2], nbp.thetas[1] + m[s1].mean(0), rtol=1e-14)


@pytest.mark.parametrize(
    "ds",
    [separable(seed=s) for s in range(3)] + [worst_case(50), worst_case(1000), two_point()],
    ids=lambda ds: ds.description,
)
def test_thm33_and_thm53_perceptron_bounds(ds):
    ratio = ds.R**2 / ds.margin**2
    bp = perceptron(ds.A, ds.y)
    nbp = perceptron(ds.A, ds.y, normalized=True)
    assert bp.success and nbp.success
    assert bp.iterations_to_separate <= ds.n * ratio  # Novikoff, batch form (Thm 3.3)
    assert nbp.iterations_to_separate <= ratio  # Thm 5.3


@pytest.mark.parametrize("n", [10, 13, 25, 100, 1000])
def test_thm51_worst_case_needs_order_n_batch_iterations(n):
    ds = worst_case(n)
    assert perceptron(ds.A, ds.y).iterations_to_separate == (3 * n - 8) // 10 + 2
    assert perceptron(ds.A, ds.y, normalized=True).iterations_to_separate == 2


def test_table1_worst_case_row_reproduced_exactly():
    # Table 1: Normalized LR+GD steps 100/10/1/0.1 -> 2/2/16/157 iterations, LR+GD step 100 -> 308.
    ds = worst_case(1000)
    normalized = [
        gd(ds.A, ds.y, g, "normalized", 500, stop_when_separated=True).iterations_to_separate
        for g in (100.0, 10.0, 1.0, 0.1)
    ]
    assert normalized == [2, 2, 16, 157]
    assert (
        gd(ds.A, ds.y, 100.0, max_iter=500, stop_when_separated=True).iterations_to_separate == 308
    )


@pytest.mark.parametrize(
    "ds", [separable(seed=s) for s in range(3)] + [worst_case(1000), two_point()]
)
@pytest.mark.parametrize("gamma", [0.1, 1.0, 10.0, 1e3])
def test_thm61_normalized_lrgd_bound(ds, gamma):
    bound = ds.R**2 / ds.margin**2 + 2 * math.log(2 * ds.n - 1) / (gamma * ds.margin**2)
    run = gd(ds.A, ds.y, gamma, "normalized", max_iter=int(bound) + 1, stop_when_separated=True)
    assert run.success
    assert run.iterations_to_separate <= bound


@pytest.mark.parametrize("gamma", [1e2, 1e4, 1e8])
def test_thm41_loss_grows_while_data_get_separated(gamma):
    ds = two_point()
    run = gd(ds.A, ds.y, gamma, max_iter=2)
    np.testing.assert_allclose(run.thetas[1], gamma * np.array([0.5, 0.75]), rtol=1e-15)
    f1 = 0.5 * (np.logaddexp(0, gamma / 4) + np.logaddexp(0, -3.5 * gamma))
    np.testing.assert_allclose(run.loss[1], f1, rtol=1e-13)
    assert run.loss[1] > run.loss[0] and run.loss[1] >= gamma / 8
    assert run.accuracy[1] == 0.5 and run.iterations_to_separate == 2
    assert run.loss[2] < 1e-30 and run.grad_norm[2] < 1e-30
    np.testing.assert_allclose(run.grad_norm[1], math.sqrt(2) / 2, rtol=1e-10)
    np.testing.assert_allclose(run.thetas[2] / gamma, [1.0, 0.25], atol=1e-20 + 1e-6)


@pytest.mark.parametrize("theta_scale", [0.0, 0.3, 3.0, 30.0])
def test_power_iteration_matches_dense_eigvalsh(theta_scale):
    ds = separable(n=80, d=7, seed=2)
    theta = theta_scale * np.random.default_rng(0).standard_normal(ds.d)
    dense = np.linalg.eigvalsh(hessian(ds.A, ds.y, theta))[-1]
    lam = top_hessian_eigenvalue(ds.A, ds.y, theta, tol=1e-9, max_iter=20000, seed=1)
    np.testing.assert_allclose(lam, dense, rtol=1e-10)


def test_tiny_curvature_far_past_separation_does_not_underflow():
    # theta = c (1, 1/4) on Thm 4.1's data: z = (0.75 c, 2 c), so only sample 1 has curvature.
    ds = two_point()
    theta = 600.0 * np.array([1.0, 0.25])
    e = math.exp(-450.0)  # ~1e-196: its square underflows
    lam = top_hessian_eigenvalue(ds.A, ds.y, theta, tol=1e-12)
    np.testing.assert_allclose(lam, e / (1 + e) ** 2, rtol=1e-12)  # (1/2) h_1 ||m_1||^2
    run = gd(ds.A, ds.y, 1.0, max_iter=0, theta0=theta)
    np.testing.assert_allclose(run.grad_norm[0], 0.5 * e / (1 + e) * math.sqrt(2), rtol=1e-12)


def test_sharpness_along_run_and_edge_of_stability():
    ds = separable(n=80, d=7, seed=2)
    run = gd(ds.A, ds.y, 1.0, max_iter=40, sharpness=True)
    dense = [np.linalg.eigvalsh(hessian(ds.A, ds.y, th))[-1] for th in run.thetas]
    np.testing.assert_allclose(run.sharpness, dense, rtol=1e-8)
    np.testing.assert_allclose(run.gamma_lambda_max, run.sharpness[:-1], rtol=1e-15)
    np.testing.assert_array_equal(
        sharpness_along(ds.A, ds.y, run.thetas, tol=1e-6, seed=0), run.sharpness
    )
    # At theta_0 = 0: H = M^T M / (4n), the classical 2/L limit is gamma = 2/lambda_max.
    m = ds.y[:, None] * ds.A
    np.testing.assert_allclose(run.sharpness[0], np.linalg.eigvalsh(m.T @ m)[-1] / (4 * ds.n))


def test_stiffness_estimate_is_the_shared_one():
    ds = separable(n=50, d=6, seed=4)
    run = gd(ds.A, ds.y, 3.0, max_iter=15)
    for t in range(run.iterations):
        a, b = run.thetas[t], run.thetas[t + 1]
        ga, gb = logistic_gradient(ds.A, ds.y, a), logistic_gradient(ds.A, ds.y, b)
        lam = stiffness_estimate(-ga, -gb, a, b)
        np.testing.assert_allclose(run.stiffness[t], lam, rtol=1e-12)
        np.testing.assert_allclose(run.gamma_lambda[t], 3.0 * lam, rtol=1e-12)


def test_secant_stiffness_is_a_rayleigh_quotient_for_small_steps():
    ds = separable(n=50, d=6, seed=4)
    theta = np.random.default_rng(3).standard_normal(ds.d)
    run = gd(ds.A, ds.y, 1e-7, max_iter=1, theta0=theta)
    step = run.thetas[1] - theta
    H = hessian(ds.A, ds.y, theta)
    rayleigh = np.linalg.norm(H @ step) / np.linalg.norm(step)
    np.testing.assert_allclose(run.stiffness[0], rayleigh, rtol=1e-5)
    assert run.stiffness[0] <= np.linalg.eigvalsh(H)[-1] * (1 + 1e-6)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("gamma", [1e8, 1e12])
def test_no_overflow_at_huge_step(rule, gamma):
    ds = digits(3, 8)
    with np.errstate(all="raise"):
        run = gd(ds.A, ds.y, gamma, rule, max_iter=60, sharpness=True)
    for name in ("thetas", "loss", "grad_norm", "accuracy", "sharpness", "stiffness"):
        assert np.all(np.isfinite(getattr(run, name))), name
    assert np.all(run.loss >= 0.0)
    assert run.loss.max() > 1e6 if rule in ("constant", "normalized") else True


def test_huge_step_gradient_matches_formula():
    ds = separable(n=40, d=5, seed=0)
    theta = 1e8 * np.random.default_rng(1).standard_normal(ds.d)
    z = ds.y * (ds.A @ theta)
    np.testing.assert_allclose(logistic_loss(ds.A, ds.y, theta), np.logaddexp(0, -z).mean())
    weights = np.exp(-np.logaddexp(0, z))
    expected = -(weights[:, None] * ds.y[:, None] * ds.A).mean(0)
    np.testing.assert_allclose(logistic_gradient(ds.A, ds.y, theta), expected, atol=1e-300)


def test_normalized_step_is_gamma_beta():
    ds = separable(n=40, d=5, seed=5)
    run = gd(ds.A, ds.y, 0.7, "normalized", max_iter=10)
    for t in range(run.iterations):
        z = ds.y * (ds.A @ run.thetas[t])
        beta = 1.0 / np.mean(1.0 / (1.0 + np.exp(z)))
        g = logistic_gradient(ds.A, ds.y, run.thetas[t])
        np.testing.assert_allclose(run.step[t], 0.7 * beta, rtol=1e-12)
        np.testing.assert_allclose(run.thetas[t + 1], run.thetas[t] - 0.7 * beta * g, rtol=1e-11)
    assert run.step[0] == pytest.approx(1.4)  # beta_0 = 2 at theta = 0


def test_polyak_and_armijo_steps():
    ds = separable(n=60, d=5, seed=6)
    polyak = gd(ds.A, ds.y, 1.0, "polyak", max_iter=20)
    g0 = logistic_gradient(ds.A, ds.y, np.zeros(ds.d))
    assert polyak.step[0] == pytest.approx(math.log(2) / (g0 @ g0), rel=1e-12)
    np.testing.assert_allclose(polyak.step, polyak.loss[:-1] / polyak.grad_norm[:-1] ** 2)
    armijo = gd(ds.A, ds.y, 100.0, "armijo", max_iter=50)
    decrease = armijo.loss[:-1] - armijo.loss[1:]
    assert np.all(decrease >= 1e-4 * armijo.step * armijo.grad_norm[:-1] ** 2)
    assert np.all(armijo.step <= 100.0) and armijo.stats["backtracks"] > 0
    assert armijo.stats["loss_evaluations"] == armijo.stats["backtracks"] + 2 * 50 + 1


def test_result_contract():
    ds = separable(n=40, d=5, seed=2)
    run = gd(ds.A, ds.y, 100.0, max_iter=30)
    assert run.thetas.shape == (31, 5) and np.all(run.thetas[0] == 0.0)
    for name in ("loss", "grad_norm", "accuracy", "margin"):
        assert getattr(run, name).shape == (31,)
    assert run.step.shape == run.stiffness.shape == run.gamma_lambda.shape == (30,)
    assert np.isnan(run.margin[0]) and run.loss[0] == pytest.approx(math.log(2))
    t = run.iterations_to_separate
    assert run.success and run.accuracy[t] == 1.0 and np.all(run.accuracy[:t] < 1.0)
    assert np.all((run.margin[1:] > 0) == (run.accuracy[1:] == 1.0))
    stopped = gd(ds.A, ds.y, 100.0, max_iter=30, stop_when_separated=True)
    assert stopped.iterations == t and "separated" in stopped.message
    failed = gd(ds.A, ds.y, 1e-3, max_iter=5)
    assert not failed.success and failed.iterations_to_separate is None
    assert "max_iter=5" in failed.message
    assert run.stats["method"] == "LR+GD" and run.stats["gamma"] == 100.0


def test_max_margin_certificate_brackets_exact_margin():
    for ds in (separable(seed=0), worst_case(200), two_point()):
        cert = max_margin(ds.A, ds.y, tol=1e-9)
        assert cert.separable
        assert cert.lower <= ds.margin <= cert.upper * (1 + 1e-12)  # up to rounding
        assert cert.upper - cert.lower <= 1e-8 * ds.margin
        m = ds.y[:, None] * ds.A
        assert np.min(m @ cert.theta) == pytest.approx(cert.lower, rel=1e-12)
    cert = max_margin([[1.0, 0.0], [1.0, 0.0]], [1, -1], max_passes=200)
    assert not cert.separable


def test_data_sets():
    a, b = separable(seed=3), separable(seed=3)
    np.testing.assert_array_equal(a.A, b.A)
    assert not np.array_equal(a.A, separable(seed=4).A)
    assert set(np.unique(a.y)) == {-1.0, 1.0}
    ds = digits(3, 8)
    assert ds.d == 64 and ds.n == 357 and ds.A.min() >= 0 and ds.A.max() <= 1
    imb = load_dataset("digits-3v8-imbalanced")
    assert imb.name == "digits-3v8-imbalanced-0.1"
    assert np.sum(imb.y == 1) == np.sum(ds.y == 1) and np.sum(imb.y == -1) == 17
    assert load_dataset("digits-3v8-imbalanced-0.03").n == 183 + 5
    assert max_margin(imb.A, imb.y).separable
    assert load_dataset("worst-case-30").n == 30
    with pytest.raises(ValueError, match="unknown data set 'mnist'.*synthetic"):
        load_dataset("mnist")


def test_hessian_and_hvp_against_finite_differences():
    ds = separable(n=30, d=4, seed=8)
    theta = np.random.default_rng(2).standard_normal(ds.d)
    H = hessian(ds.A, ds.y, theta)
    eps = 1e-6
    fd = np.column_stack(
        [
            (
                logistic_gradient(ds.A, ds.y, theta + eps * e)
                - logistic_gradient(ds.A, ds.y, theta - eps * e)
            )
            / (2 * eps)
            for e in np.eye(ds.d)
        ]
    )
    np.testing.assert_allclose(H, fd, atol=1e-8)
    v = np.arange(1.0, ds.d + 1)
    np.testing.assert_allclose(hessian_vector_product(ds.A, ds.y, theta, v), H @ v, rtol=1e-12)


GOOD_A = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -1.0]])
GOOD_Y = np.array([1.0, -1.0, 1.0])


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"y": [1, 0, 1]}, ValueError, r"y must contain only labels -1 and \+1"),
        ({"y": [1, 2, -1]}, ValueError, r"\by\b.*found \[2\.0\]"),
        ({"A": [[1.0, np.nan], [0, 1], [1, 1]]}, ValueError, r"A \(features\) contains NaN"),
        ({"A": [[1.0, np.inf], [0, 1], [1, 1]]}, ValueError, "A .*inf"),
        ({"y": [1, -1]}, ValueError, "mismatched shapes"),
        ({"A": [1.0, 2.0, 3.0]}, ValueError, "A must be a non-empty 2-D"),
        ({"A": [["a", "b"]] * 3}, TypeError, "A must be an array of real numbers"),
        ({"y": [True, False, True]}, TypeError, "y must be an array of real numbers"),
        ({"step": 0.0}, ValueError, "step must be positive"),
        ({"step": -1.0}, ValueError, "step must be positive"),
        ({"step": np.nan}, ValueError, "step must be positive and finite"),
        ({"step": np.inf}, ValueError, "step must be positive and finite"),
        ({"step": "1"}, TypeError, "step must be a real number"),
        ({"rule": "adam"}, ValueError, "unknown rule 'adam'; known rules: constant, normalized"),
        ({"max_iter": -1}, ValueError, "max_iter must be >= 0"),
        ({"max_iter": 2.5}, TypeError, "max_iter must be an integer"),
        ({"theta0": [0.0]}, ValueError, r"theta0 must have shape \(2,\)"),
        ({"theta0": [np.nan, 0.0]}, ValueError, "theta0 contains NaN"),
    ],
)
def test_bad_input_is_named(kwargs, error, pattern):
    args = {"A": GOOD_A, "y": GOOD_Y, "step": 1.0, **kwargs}
    with pytest.raises(error, match=pattern):
        gd(**args)
    if "step" not in kwargs and "rule" not in kwargs:
        with pytest.raises(error, match=pattern):
            perceptron(
                args["A"], args["y"], max_iter=args.get("max_iter", 10), theta0=args.get("theta0")
            )
