"""Property tests of the logistic kernels and step rules over random inputs (hypothesis)."""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stepsize.descent import (
    gd,
    hessian,
    hessian_vector_product,
    logistic_gradient,
    logistic_loss,
    logistic_loss_and_gradient,
    perceptron,
    top_hessian_eigenvalue,
)

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def problems(draw, max_scale=1e8):
    """Random (A, y, theta) with features up to 1e3 and theta of any scale up to ``max_scale``."""
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, 30))
    d = draw(st.integers(1, 8))
    feature_scale = draw(st.floats(1e-3, 1e3))
    theta_scale = draw(st.floats(0.0, max_scale))
    rng = np.random.default_rng(seed)
    A = feature_scale * rng.standard_normal((n, d))
    y = rng.choice([-1.0, 1.0], n)
    theta = theta_scale * rng.standard_normal(d)
    return A, y, theta


@SETTINGS
@given(problems())
def test_loss_and_gradient_finite_and_bounded_at_any_scale(problem):
    A, y, theta = problem
    loss, grad = logistic_loss_and_gradient(A, y, theta)
    z = y * (A @ theta)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss >= 0.0
    np.testing.assert_allclose(loss, np.logaddexp(0.0, -z).mean(), rtol=1e-12, atol=1e-300)
    # ||grad f|| <= (1/n) sum_i ||a_i|| since every weight sigmoid(-z_i) lies in [0, 1].
    assert np.linalg.norm(grad) <= np.linalg.norm(A, axis=1).mean() * (1 + 1e-12)


@SETTINGS
@given(problems(max_scale=3.0))
def test_gradient_matches_central_differences(problem):
    A, y, theta = problem
    theta = theta / max(1.0, np.abs(A).max())  # keep |z| moderate so differences resolve
    grad = logistic_gradient(A, y, theta)
    eps = 1e-6
    fd = np.array(
        [
            (logistic_loss(A, y, theta + eps * e) - logistic_loss(A, y, theta - eps * e))
            / (2 * eps)
            for e in np.eye(A.shape[1])
        ]
    )
    scale = np.abs(A).max()
    np.testing.assert_allclose(grad, fd, atol=1e-7 * scale + 1e-9)


@SETTINGS
@given(problems(max_scale=3.0), st.integers(0, 2**32 - 1))
def test_hvp_and_power_iteration_match_dense_hessian(problem, seed):
    A, y, theta = problem
    H = hessian(A, y, theta)
    assume(np.abs(H).max() > 1e-250)  # the dense reference itself loses digits to subnormals
    assert np.allclose(H, H.T) and np.all(np.linalg.eigvalsh(H) >= -1e-12 * np.abs(H).max())
    v = np.random.default_rng(seed).standard_normal(A.shape[1])
    np.testing.assert_allclose(
        hessian_vector_product(A, y, theta, v), H @ v, rtol=1e-10, atol=1e-14 * np.abs(H).max()
    )
    top = np.linalg.eigvalsh(H)[-1]
    lam = top_hessian_eigenvalue(A, y, theta, tol=1e-10, max_iter=100_000, seed=seed)
    np.testing.assert_allclose(lam, top, rtol=1e-9, atol=1e-300)


@SETTINGS
@given(problems(max_scale=0.0), st.floats(0.05, 1.0))
def test_gd_below_two_over_L_decreases_the_loss(problem, fraction):
    # Descent lemma: f is L-smooth with L = lambda_max(A^T A)/(4n); gamma < 2/L decreases f.
    A, y, _ = problem
    L = np.linalg.eigvalsh(A.T @ A)[-1] / (4 * A.shape[0])
    run = gd(A, y, 2.0 * fraction / L, max_iter=20)
    assert np.all(np.diff(run.loss) <= 1e-12 * run.loss[:-1])


@SETTINGS
@given(problems(max_scale=0.0), st.floats(1e3, 1e12))
def test_every_rule_stays_finite_at_large_steps(problem, gamma):
    A, y, _ = problem
    for rule in ("constant", "normalized", "polyak", "armijo"):
        run = gd(A, y, gamma, rule, max_iter=15)
        assert np.all(np.isfinite(run.thetas)) and np.all(np.isfinite(run.loss)), rule
        assert np.all(np.isfinite(run.grad_norm)) and np.all(run.accuracy <= 1.0), rule


@SETTINGS
@given(problems(max_scale=0.0))
def test_perceptron_steps_are_sums_over_misclassified(problem):
    A, y, _ = problem
    m = y[:, None] * A
    for normalized in (False, True):
        run = perceptron(A, y, normalized, max_iter=10)
        for t in range(run.iterations):
            if t == 0 and not normalized:
                expected = m.sum(0) / (2 * len(y))
            else:
                s = m @ run.thetas[t] <= 0
                expected = m[s].sum(0) / (s.sum() if normalized else len(y))
            np.testing.assert_allclose(
                run.thetas[t + 1] - run.thetas[t], expected, rtol=1e-9, atol=1e-12 * np.abs(m).max()
            )
