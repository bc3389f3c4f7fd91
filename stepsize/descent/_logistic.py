"""Numerically stable logistic loss, gradient, Hessian and sharpness (compiled kernels).

With rows ``m_i = y_i a_i`` of ``M`` and margins ``z_i = m_i^T theta`` (Tyurin 2024, eq. 2 and 3):

    f(theta)      = (1/n) sum_i log(1 + exp(-z_i))               = (1/n) sum_i softplus(-z_i)
    grad f(theta) = -(1/n) sum_i sigmoid(-z_i) m_i
    H(theta)      = (1/n) sum_i sigmoid(z_i) sigmoid(-z_i) m_i m_i^T

``softplus(x) = max(x, 0) + log1p(exp(-|x|))`` and the sigmoid evaluated on the side where ``exp``
cannot overflow keep every quantity finite for margins of any size (``gamma = 1e8`` gives
``|z| ~ 1e8``).  The sharpness ``lambda_max(H)`` is found by power iteration with Hessian-vector
products ``H v = (1/n) M^T (h * (M v))``; ``H`` is positive semi-definite, so the dominant
eigenvalue is the largest one.
"""

import numba
import numpy as np


@numba.njit(cache=True)
def softplus(x):
    """``log(1 + exp(x))`` without overflow."""
    if x > 0.0:
        return x + np.log1p(np.exp(-x))
    return np.log1p(np.exp(x))


@numba.njit(cache=True)
def sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow."""
    if x >= 0.0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


@numba.njit(cache=True)
def curvature(x):
    """``sigmoid(x) * sigmoid(-x) = e / (1 + e)^2`` with ``e = exp(-|x|)``."""
    e = np.exp(-abs(x))
    return e / ((1.0 + e) * (1.0 + e))


@numba.njit(cache=True)
def norm2(x):
    """Euclidean norm, scaled by ``max |x_i|`` so squares neither underflow nor overflow."""
    scale = 0.0
    for v in x:
        scale = max(scale, abs(v))
    if scale == 0.0 or not np.isfinite(scale):
        return scale
    total = 0.0
    for v in x:
        total += (v / scale) ** 2
    return scale * np.sqrt(total)


@numba.njit(cache=True)
def evaluate(M, theta, z, w, g):
    """Fill margins ``z``, weights ``w_i = sigmoid(-z_i)`` and ``g = grad f``.

    Returns ``(f, number of z_i > 0, min_i z_i)``.
    """
    n, d = M.shape
    loss = 0.0
    correct = 0
    zmin = np.inf
    for j in range(d):
        g[j] = 0.0
    for i in range(n):
        s = 0.0
        for j in range(d):
            s += M[i, j] * theta[j]
        z[i] = s
        loss += softplus(-s)
        w[i] = sigmoid(-s)
        if s > 0.0:
            correct += 1
        if s < zmin:
            zmin = s
        wi = w[i]
        if wi != 0.0:
            for j in range(d):
                g[j] -= wi * M[i, j]
    for j in range(d):
        g[j] /= n
    return loss / n, correct, zmin


@numba.njit(cache=True)
def loss_only(M, theta):
    """``f(theta)`` alone (Armijo trial points)."""
    n, d = M.shape
    loss = 0.0
    for i in range(n):
        s = 0.0
        for j in range(d):
            s += M[i, j] * theta[j]
        loss += softplus(-s)
    return loss / n


@numba.njit(cache=True)
def _hvp(M, h, v, mv, out):
    n, d = M.shape
    for i in range(n):
        s = 0.0
        for j in range(d):
            s += M[i, j] * v[j]
        mv[i] = h[i] * s
    for j in range(d):
        out[j] = 0.0
    for i in range(n):
        c = mv[i]
        if c != 0.0:
            for j in range(d):
                out[j] += c * M[i, j]
    for j in range(d):
        out[j] /= n


@numba.njit(cache=True)
def curvatures(M, theta, h):
    """Fill ``h_i = sigmoid(z_i) sigmoid(-z_i)``, the Hessian weights."""
    n, d = M.shape
    for i in range(n):
        s = 0.0
        for j in range(d):
            s += M[i, j] * theta[j]
        h[i] = curvature(s)


@numba.njit(cache=True)
def power_iteration(M, theta, v, tol, max_iter):
    """Top eigenvalue of ``H(theta)`` by power iteration from ``v`` (overwritten by the vector).

    The weights ``h_i`` are divided by their maximum (far past separation they are ~1e-200 and
    their squares would underflow) and ``lambda`` is scaled back.  Stops when the residual
    ``||H v - lambda v|| <= tol * lambda``.  Returns ``(lambda, iterations, converged)``.
    """
    n, d = M.shape
    h = np.empty(n)
    mv = np.empty(n)
    u = np.empty(d)
    r = np.empty(d)
    curvatures(M, theta, h)
    scale = h.max()
    if scale == 0.0:
        return 0.0, 0, True
    h /= scale
    nv = norm2(v)
    for j in range(d):
        v[j] /= nv
    lam = 0.0
    for k in range(1, max_iter + 1):
        _hvp(M, h, v, mv, u)
        lam = np.dot(v, u)
        nu = norm2(u)
        if nu == 0.0:
            return 0.0, k, True
        for j in range(d):
            r[j] = u[j] - lam * v[j]
            v[j] = u[j] / nu
        if norm2(r) <= tol * lam:
            return lam * scale, k, True
    return lam * scale, max_iter, False


@numba.njit(cache=True)
def sharpness_path(M, thetas, v, tol, max_iter):
    """``lambda_max(H(theta_t))`` for every row of ``thetas``, warm-starting each from the last."""
    out = np.empty(thetas.shape[0])
    worst = 0
    converged = True
    for t in range(thetas.shape[0]):
        lam, k, ok = power_iteration(M, thetas[t], v, tol, max_iter)
        out[t] = lam
        worst = max(worst, k)
        converged = converged and ok
    return out, worst, converged
