"""Logistic regression with gradient descent (LR+GD) and its step rules, in one compiled loop.

Rules for ``theta_{t+1} = theta_t - h_t grad f(theta_t)``:

* ``constant``   ``h_t = gamma`` (LR+GD; Tyurin 2024, eq. 3).
* ``normalized`` ``h_t = gamma * beta_t``, ``beta_t = ((1/n) sum_i 1/(1 + exp(z_i)))^(-1)``
  (Normalized LR+GD; Tyurin 2024, Sec. 6).  Then ``h_t grad f = -gamma sum_i p_i y_i a_i`` with
  ``p = softmax(-softplus(z))``, evaluated in log space so that it stays finite when every
  ``exp(-z_i)`` underflows.
* ``polyak``     ``h_t = gamma * (f(theta_t) - f_star) / ||grad f||^2`` (``gamma = 1``, ``f_star
  = 0`` is Polyak's step; the infimum of ``f`` on separable data is 0).
* ``armijo``     backtracking from ``h = gamma``: ``h <- shrink * h`` until
  ``f(theta - h g) <= f(theta) - c h ||g||^2`` (Armijo 1966; ``c = 1e-4``).
"""

import time

import numba
import numpy as np

from stepsize.control import stiffness_estimate
from stepsize.descent._logistic import evaluate, loss_only, norm2, softplus
from stepsize.descent._result import DescentResult
from stepsize.descent._sharpness import sharpness_along
from stepsize.descent._validate import (
    check_count,
    check_data,
    check_positive,
    check_rule,
    check_theta0,
)

_MAX_ITER, _SEPARATED, _NONFINITE, _BACKTRACK, _VANISHED, _TARGET = range(6)


@numba.njit(cache=True)
def _normalized_direction(M, z, out):
    """``out = sum_i p_i m_i`` with ``p = softmax(-softplus(z))``; returns ``log(n / sum w)``."""
    n, d = M.shape
    top = -np.inf
    for i in range(n):
        top = max(top, -softplus(z[i]))
    total = 0.0
    for j in range(d):
        out[j] = 0.0
    for i in range(n):
        p = np.exp(-softplus(z[i]) - top)
        total += p
        for j in range(d):
            out[j] += p * M[i, j]
    for j in range(d):
        out[j] /= total
    return np.log(n) - top - np.log(total)


@numba.njit(cache=True)
def _record(t, theta, loss, correct, zmin, g, n, losses, gnorms, accs, margins):
    losses[t] = loss
    gnorms[t] = norm2(g)
    accs[t] = correct / n
    norm = norm2(theta)
    margins[t] = zmin / norm if norm > 0.0 else np.nan


@numba.njit(cache=True)
def _gd_kernel(M, rule, gamma, stop_separated, f_star, c, shrink, max_backtracks, thetas, out):
    """Run up to ``thetas.shape[0] - 1`` steps; ``thetas[0]`` holds theta0.

    ``out`` rows: loss, grad_norm, accuracy, margin, step, stiffness, gamma_lambda.
    Returns ``(iterations, status, first separated t or -1, backtracks, loss evaluations)``.
    """
    n, d = M.shape
    max_iter = thetas.shape[0] - 1
    z = np.empty(n)
    w = np.empty(n)
    g = np.empty(d)
    f_old = np.empty(d)
    f_new = np.empty(d)
    direction = np.empty(d)
    loss, correct, zmin = evaluate(M, thetas[0], z, w, g)
    _record(0, thetas[0], loss, correct, zmin, g, n, out[0], out[1], out[2], out[3])
    first = 0 if correct == n else -1
    backtracks = 0
    trials = 0
    t = 0
    status = _MAX_ITER
    while t < max_iter:
        if first >= 0 and stop_separated:
            status = _SEPARATED
            break
        theta = thetas[t]
        new = thetas[t + 1]
        gn = norm2(g)
        if rule == 1:
            h = gamma * np.exp(_normalized_direction(M, z, direction))
            for j in range(d):
                new[j] = theta[j] + gamma * direction[j]
        else:
            if rule == 0:
                h = gamma
            elif rule == 2:
                if loss <= f_star:
                    status = _TARGET
                    break
                if gn == 0.0:
                    status = _VANISHED
                    break
                h = gamma * ((loss - f_star) / gn) / gn
            else:
                h = gamma
                halvings = 0
                while True:
                    for j in range(d):
                        new[j] = theta[j] - h * g[j]
                    trials += 1
                    if loss_only(M, new) <= loss - c * h * gn * gn:
                        break
                    h *= shrink
                    halvings += 1
                    if halvings > max_backtracks:
                        status = _BACKTRACK
                        break
                backtracks += halvings
                if status == _BACKTRACK:
                    break
            for j in range(d):
                new[j] = theta[j] - h * g[j]
        for j in range(d):
            f_old[j] = -g[j]
        loss, correct, zmin = evaluate(M, new, z, w, g)
        if not (np.isfinite(loss) and np.all(np.isfinite(new))):
            status = _NONFINITE
            break
        for j in range(d):
            f_new[j] = -g[j]
        lam = stiffness_estimate(f_old, f_new, theta, new)
        out[4, t] = h
        out[5, t] = lam
        out[6, t] = h * lam if lam > 0.0 else 0.0
        t += 1
        _record(t, new, loss, correct, zmin, g, n, out[0], out[1], out[2], out[3])
        if first < 0 and correct == n:
            first = t
    if first >= 0 and status == _MAX_ITER:
        status = _SEPARATED
    return t, status, first, backtracks, trials


_MESSAGES = {
    _MAX_ITER: "not separated within max_iter={max_iter} iterations",
    _SEPARATED: "data separated at iteration {first}",
    _NONFINITE: "non-finite iterate or loss at iteration {t}; stopped",
    _BACKTRACK: "Armijo backtracking failed (step underflow) at iteration {t}",
    _VANISHED: "gradient underflowed to zero at iteration {t}; Polyak step undefined",
    _TARGET: "f(theta) <= f_star at iteration {t}; Polyak step undefined",
}


def gd(
    A,
    y,
    step,
    rule="constant",
    max_iter=1000,
    theta0=None,
    *,
    stop_when_separated=False,
    f_star=0.0,
    armijo_c=1e-4,
    armijo_shrink=0.5,
    armijo_max_backtracks=60,
    sharpness=False,
    sharpness_tol=1e-6,
    sharpness_max_iter=1000,
    seed=0,
):
    """Logistic regression by gradient descent with a step rule.

    Parameters
    ----------
    A, y : features (n, d) and labels in {-1, +1} (n,).
    step : ``gamma > 0``: the constant step, Normalized LR+GD's ``gamma``, Polyak's scale, or
        Armijo's initial trial step (see the module docstring for the formulas).
    rule : "constant" | "normalized" | "polyak" | "armijo".
    max_iter : maximum number of steps (default 1000).
    theta0 : start, zero by default (Tyurin's theorems assume ``theta0 = 0``).
    stop_when_separated : stop at the first iterate that separates the data.
    f_star : Polyak's target value (default 0, the infimum on separable data).
    armijo_c, armijo_shrink, armijo_max_backtracks : sufficient-decrease constant (1e-4),
        shrink factor (0.5) and number of shrinks allowed in one step (60).
    sharpness : also compute ``lambda_max(H(theta_t))`` at every iterate (power iteration).
    sharpness_tol, sharpness_max_iter, seed : power-iteration residual tolerance (relative),
        iteration cap and seed of its random start vector.

    Returns
    -------
    DescentResult
    """
    A, y = check_data(A, y)
    gamma = check_positive(step, "step")
    code = check_rule(rule)
    max_iter = check_count(max_iter, "max_iter")
    theta0 = check_theta0(theta0, A.shape[1])
    f_star = float(f_star)
    if not np.isfinite(f_star):
        raise ValueError(f"f_star must be finite, got {f_star}")
    armijo_c = check_positive(armijo_c, "armijo_c")
    armijo_shrink = check_positive(armijo_shrink, "armijo_shrink")
    if armijo_c >= 1.0 or armijo_shrink >= 1.0:
        raise ValueError("armijo_c and armijo_shrink must lie in (0, 1)")
    armijo_max_backtracks = check_count(armijo_max_backtracks, "armijo_max_backtracks", 1)

    M = np.ascontiguousarray(y[:, None] * A)
    thetas = np.zeros((max_iter + 1, A.shape[1]))
    thetas[0] = theta0
    out = np.full((7, max_iter + 1), np.nan)
    start = time.perf_counter()
    t, status, first, backtracks, trials = _gd_kernel(
        M,
        code,
        gamma,
        bool(stop_when_separated),
        f_star,
        armijo_c,
        armijo_shrink,
        armijo_max_backtracks,
        thetas,
        out,
    )
    elapsed = time.perf_counter() - start
    message = _MESSAGES[status].format(max_iter=max_iter, first=first, t=t)
    if first >= 0 and status != _SEPARATED:
        message += f" (data separated at iteration {first})"
    result = DescentResult(
        thetas=thetas[: t + 1],
        loss=out[0, : t + 1],
        grad_norm=out[1, : t + 1],
        accuracy=out[2, : t + 1],
        margin=out[3, : t + 1],
        step=out[4, :t],
        stiffness=out[5, :t],
        gamma_lambda=out[6, :t],
        iterations_to_separate=None if first < 0 else int(first),
        success=first >= 0,
        message=message,
        stats={
            "method": "Normalized LR+GD" if rule == "normalized" else "LR+GD",
            "rule": rule,
            "gamma": gamma,
            "n": A.shape[0],
            "d": A.shape[1],
            "R": float(np.linalg.norm(A, axis=1).max()),
            "gradient_evaluations": t + 1,
            "loss_evaluations": t + 1 + trials,
            "backtracks": backtracks,
            "time_s": elapsed,
        },
    )
    if sharpness:
        result.sharpness = sharpness_along(
            A, y, result.thetas, tol=sharpness_tol, max_iter=sharpness_max_iter, seed=seed
        )
    return result
