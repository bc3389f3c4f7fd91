"""Batch Perceptron and Normalized Batch Perceptron (Tyurin 2024, Sec. 3 and Thm 5.3).

With ``S_t = {i : y_i a_i^T theta_t <= 0}`` (the misclassified samples):

* Batch Perceptron (Novikoff 1962; Duda, Hart & Stork 2001): ``theta_1 = theta_0 + (1/(2n))
  sum_i y_i a_i``, then ``theta_{t+1} = theta_t + (1/n) sum_{i in S_t} y_i a_i`` while
  ``S_t`` is not empty.  It is the limit of ``theta_t / gamma`` of LR+GD as ``gamma -> infinity``
  (Thm 3.2) and separates within ``n R^2 / mu^2`` iterations from ``theta_0 = 0`` (Thm 3.3).
* Normalized Batch Perceptron: ``theta_{t+1} = theta_t + (1/|S_t|) sum_{i in S_t} y_i a_i`` for
  all ``t >= 0``; it separates within ``R^2 / mu^2`` iterations from ``theta_0 = 0`` (Thm 5.3).

The run stops as soon as ``S_t`` is empty.  The logistic loss, gradient norm, accuracy and margin
of each iterate are recorded as for gradient descent, so the two are directly comparable.
"""

import time

import numba
import numpy as np

from stepsize.descent._gd import _record
from stepsize.descent._logistic import evaluate
from stepsize.descent._result import DescentResult
from stepsize.descent._validate import check_count, check_data, check_theta0


@numba.njit(cache=True)
def _perceptron_kernel(M, normalized, thetas, out):
    """Run up to ``thetas.shape[0] - 1`` steps; returns ``(iterations, separated)``."""
    n, d = M.shape
    max_iter = thetas.shape[0] - 1
    z = np.empty(n)
    w = np.empty(n)
    g = np.empty(d)
    t = 0
    loss, correct, zmin = evaluate(M, thetas[0], z, w, g)
    _record(0, thetas[0], loss, correct, zmin, g, n, out[0], out[1], out[2], out[3])
    while correct < n and t < max_iter:
        theta = thetas[t]
        new = thetas[t + 1]
        if t == 0 and not normalized:
            coef = 0.5 / n
            for j in range(d):
                new[j] = theta[j]
            for i in range(n):
                for j in range(d):
                    new[j] += coef * M[i, j]
        else:
            coef = 1.0 / (n - correct) if normalized else 1.0 / n
            for j in range(d):
                new[j] = theta[j]
            for i in range(n):
                if z[i] <= 0.0:
                    for j in range(d):
                        new[j] += coef * M[i, j]
        out[4, t] = coef
        t += 1
        loss, correct, zmin = evaluate(M, new, z, w, g)
        _record(t, new, loss, correct, zmin, g, n, out[0], out[1], out[2], out[3])
    return t, correct == n


def perceptron(A, y, normalized=False, max_iter=10_000, theta0=None):
    """Batch Perceptron, or Normalized Batch Perceptron with ``normalized=True``.

    Parameters
    ----------
    A, y : features (n, d) and labels in {-1, +1} (n,).
    normalized : use ``1/|S_t|`` instead of ``1/n`` (and no half first step).
    max_iter : maximum number of steps (default 10000); memory grows as max_iter * d.
    theta0 : start, zero by default (the bounds assume ``theta0 = 0``).

    Returns
    -------
    DescentResult with ``stiffness`` and ``gamma_lambda`` NaN (no gradient step is taken).
    """
    A, y = check_data(A, y)
    max_iter = check_count(max_iter, "max_iter")
    theta0 = check_theta0(theta0, A.shape[1])
    M = np.ascontiguousarray(y[:, None] * A)
    thetas = np.zeros((max_iter + 1, A.shape[1]))
    thetas[0] = theta0
    out = np.full((5, max_iter + 1), np.nan)
    start = time.perf_counter()
    t, separated = _perceptron_kernel(M, bool(normalized), thetas, out)
    elapsed = time.perf_counter() - start
    name = "Normalized Batch Perceptron" if normalized else "Batch Perceptron"
    return DescentResult(
        thetas=thetas[: t + 1],
        loss=out[0, : t + 1],
        grad_norm=out[1, : t + 1],
        accuracy=out[2, : t + 1],
        margin=out[3, : t + 1],
        step=out[4, :t],
        stiffness=np.full(t, np.nan),
        gamma_lambda=np.full(t, np.nan),
        iterations_to_separate=t if separated else None,
        success=bool(separated),
        message=(
            f"data separated at iteration {t}"
            if separated
            else f"not separated within max_iter={max_iter} iterations"
        ),
        stats={
            "method": name,
            "n": A.shape[0],
            "d": A.shape[1],
            "R": float(np.linalg.norm(A, axis=1).max()),
            "time_s": elapsed,
        },
    )
