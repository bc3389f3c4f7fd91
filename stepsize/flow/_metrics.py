"""Sample-quality metrics that need no downloads; inputs are ``(n, ...)`` arrays or tensors."""

import numpy as np
import torch

from stepsize.schedules._check import check_steps


def _flat(x, name):
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim < 1 or len(a) < 2:
        raise ValueError(f"{name} must be a batch of at least 2 samples")
    a = a.reshape(len(a), -1)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def _pair(x, y):
    a, b = _flat(x, "x"), _flat(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"x and y must have the same sample size, got {a.shape[1]} and {b.shape[1]}"
        )
    return a, b


def teacher_error(x, ref):
    """``mean_b ||x_b - ref_b||^2``: the error of samples against the teacher's from the same noise
    (the unit of BOSS's cost)."""
    a, b = _pair(x, ref)
    if len(a) != len(b):
        raise ValueError("x and ref must hold the same number of samples")
    return float(np.mean(np.sum((a - b) ** 2, axis=1)))


def _w2_squared_1d(pa, pb):
    """Exact squared 2-Wasserstein distances between the columns of two samples (1-D each).

    ``int_0^1 (F^-1(u) - G^-1(u))^2 du`` for the empirical quantile functions, summed over the
    intervals between their breakpoints ``k/n`` and ``j/m``.
    """
    sa, sb = np.sort(pa, axis=0), np.sort(pb, axis=0)
    n, m = len(sa), len(sb)
    cuts = np.union1d(np.arange(1, n + 1) / n, np.arange(1, m + 1) / m)
    lower = np.concatenate([[0.0], cuts[:-1]])
    mid = 0.5 * (lower + cuts)
    ia = np.minimum((mid * n).astype(np.int64), n - 1)
    ib = np.minimum((mid * m).astype(np.int64), m - 1)
    return ((cuts - lower)[:, None] * (sa[ia] - sb[ib]) ** 2).sum(axis=0)


def sliced_wasserstein(x, y, n_projections=256, seed=0):
    """Sliced 2-Wasserstein distance ``sqrt(mean_theta W_2^2(theta.x, theta.y))``.

    Random unit directions ``theta`` (seeded), exact 1-D distances between the projected empirical
    distributions (samples of any sizes).
    """
    a, b = _pair(x, y)
    n_projections = check_steps(n_projections, "n_projections")
    theta = np.random.default_rng(seed).standard_normal((a.shape[1], n_projections))
    theta /= np.linalg.norm(theta, axis=0)
    return float(np.sqrt(np.mean(_w2_squared_1d(a @ theta, b @ theta))))


def _sq_dists(a, b):
    d = np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def mmd(x, y, bandwidths=None):
    """Unbiased squared maximum mean discrepancy with a sum of Gaussian kernels.

    ``k(u, w) = sum_s exp(-||u - w||^2 / (2 s^2))``; bandwidths ``s`` default to 0.5, 1 and 2
    times the median distance of the pooled samples (Gretton et al., JMLR 2012).
    """
    a, b = _pair(x, y)
    daa, dbb, dab = _sq_dists(a, a), _sq_dists(b, b), _sq_dists(a, b)
    if bandwidths is None:
        pooled = np.concatenate([daa[np.triu_indices(len(a), 1)], dab.ravel()])
        med = np.sqrt(np.median(pooled)) or 1.0
        bandwidths = (0.5 * med, med, 2.0 * med)
    try:
        s = np.asarray(bandwidths, dtype=float)
    except (TypeError, ValueError):
        s = np.zeros(0)
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s) & (s > 0)):
        raise ValueError(f"bandwidths must be a list of positive numbers, got {bandwidths!r}")
    kaa, kbb, kab = (sum(np.exp(-d / (2.0 * s * s)) for s in bandwidths) for d in (daa, dbb, dab))
    n, m = len(a), len(b)
    term_a = (kaa.sum() - np.trace(kaa)) / (n * (n - 1))
    term_b = (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
    return float(term_a + term_b - 2.0 * kab.mean())


def energy_distance(x, y):
    """Energy distance ``2 E||X - Y|| - E||X - X'|| - E||Y - Y'||`` (Szekely & Rizzo)."""
    a, b = _pair(x, y)
    dab, daa, dbb = (np.sqrt(_sq_dists(u, w)).mean() for u, w in ((a, b), (a, a), (b, b)))
    return float(2.0 * dab - daa - dbb)


def frechet_distance(fx, fy):
    """Frechet distance of Gaussians fitted to two feature sets (FID's formula).

    ``||mu_x - mu_y||^2 + tr(S_x + S_y - 2 (S_x^{1/2} S_y S_x^{1/2})^{1/2})``.
    """
    a, b = _pair(fx, fy)
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    w, q = np.linalg.eigh(sa)
    root = (q * np.sqrt(np.maximum(w, 0.0))) @ q.T
    cross = np.sqrt(np.maximum(np.linalg.eigvalsh(root @ sb @ root), 0.0)).sum()
    return float(mu @ mu + np.trace(sa) + np.trace(sb) - 2.0 * cross)


@torch.no_grad()
def classifier_features(classifier, x):
    """Features of ``x`` in a classifier's last hidden layer (``classifier.features``)."""
    t = torch.as_tensor(_flat(x, "x"), dtype=torch.float32)
    return classifier.features(t).double().numpy()
