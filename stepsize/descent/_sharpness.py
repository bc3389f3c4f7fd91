"""Public loss, gradient, Hessian and sharpness helpers (formulas in :mod:`._logistic`).

The sharpness ``lambda_max`` of the Hessian sets gradient descent's stability limit: a step
``h`` with ``h * lambda_max > 2`` is outside explicit Euler's stability interval [-2, 0] for the
gradient flow ``theta' = -grad f(theta)`` (Cohen et al. 2021, "edge of stability").
"""

import warnings

import numpy as np

from stepsize.descent._logistic import curvatures, evaluate, power_iteration, sharpness_path
from stepsize.descent._validate import check_count, check_data, check_positive, check_theta0


def _prepare(A, y, theta):
    A, y = check_data(A, y)
    theta = check_theta0(theta, A.shape[1])
    return np.ascontiguousarray(y[:, None] * A), theta


def logistic_loss(A, y, theta):
    """``f(theta) = (1/n) sum_i log(1 + exp(-y_i a_i^T theta))``, finite for any finite theta."""
    return logistic_loss_and_gradient(A, y, theta)[0]


def logistic_gradient(A, y, theta):
    """``grad f(theta) = -(1/n) sum_i y_i a_i / (1 + exp(y_i a_i^T theta))``."""
    return logistic_loss_and_gradient(A, y, theta)[1]


def logistic_loss_and_gradient(A, y, theta):
    """``(f(theta), grad f(theta))`` in one pass."""
    M, theta = _prepare(A, y, theta)
    n, d = M.shape
    g = np.empty(d)
    loss, _, _ = evaluate(M, theta, np.empty(n), np.empty(n), g)
    return loss, g


def hessian(A, y, theta):
    """Dense ``H(theta) = (1/n) sum_i s_i (1 - s_i) a_i a_i^T`` with ``s_i = sigmoid(z_i)``."""
    M, theta = _prepare(A, y, theta)
    h = np.empty(M.shape[0])
    curvatures(M, theta, h)
    return (M.T * h) @ M / M.shape[0]


def hessian_vector_product(A, y, theta, v):
    """``H(theta) v = (1/n) M^T (h * (M v))`` without forming ``H``."""
    M, theta = _prepare(A, y, theta)
    v = check_theta0(v, M.shape[1])
    h = np.empty(M.shape[0])
    curvatures(M, theta, h)
    return M.T @ (h * (M @ v)) / M.shape[0]


def top_hessian_eigenvalue(A, y, theta, *, tol=1e-6, max_iter=1000, seed=0):
    """``lambda_max(H(theta))`` by power iteration with Hessian-vector products.

    Stops when ``||H v - lambda v|| <= tol * lambda``; the start vector is drawn from ``seed``.
    Raises ``RuntimeError`` if ``max_iter`` iterations do not reach the tolerance.
    """
    M, theta = _prepare(A, y, theta)
    tol = check_positive(tol, "tol")
    max_iter = check_count(max_iter, "max_iter", 1)
    v = np.random.default_rng(seed).standard_normal(M.shape[1])
    lam, its, ok = power_iteration(M, theta, v, tol, max_iter)
    if not ok:
        raise RuntimeError(f"power iteration did not reach tol={tol} in {its} iterations")
    return float(lam)


def sharpness_along(A, y, thetas, *, tol=1e-6, max_iter=1000, seed=0):
    """``lambda_max(H(theta_t))`` for each row of ``thetas`` (power iteration, warm-started).

    Where ``max_iter`` iterations do not reach ``tol`` the entry is the last Rayleigh quotient
    (a lower bound on ``lambda_max``) and a ``RuntimeWarning`` is issued.
    """
    A, y = check_data(A, y)
    thetas = np.ascontiguousarray(np.asarray(thetas, dtype=np.float64))
    if thetas.ndim != 2 or thetas.shape[1] != A.shape[1]:
        raise ValueError(f"thetas must have shape (T, {A.shape[1]}), got {thetas.shape}")
    tol = check_positive(tol, "tol")
    max_iter = check_count(max_iter, "max_iter", 1)
    M = np.ascontiguousarray(y[:, None] * A)
    v = np.random.default_rng(seed).standard_normal(A.shape[1])
    lam, _, ok = sharpness_path(M, thetas, v, tol, max_iter)
    if not ok:
        warnings.warn(
            f"power iteration did not reach tol={tol} in {max_iter} iterations at some iterate; "
            "those sharpness values are lower bounds",
            RuntimeWarning,
            stacklevel=2,
        )
    return lam
