"""A one-dimensional Gaussian-process regressor and the LCB acquisition, for AutoLRS.

Matern-5/2 kernel ``k(r) = s^2 (1 + sqrt5 r/l + 5 r^2/(3 l^2)) exp(-sqrt5 r/l)`` on inputs in
[0, 1] (the normalised log learning rate), outputs standardised; the length scale ``l`` is the
maximiser of the log marginal likelihood over a fixed grid, the noise is a small fixed fraction
of the (unit) signal variance.  Rasmussen & Williams, *Gaussian Processes for Machine Learning*,
Alg. 2.1 (Cholesky).  scikit-optimize's ``gp_minimize`` -- what the AutoLRS authors call -- uses
the same kernel family.
"""

import numpy as np

LENGTH_SCALES = np.geomspace(0.03, 1.0, 12)


def matern52(a, b, length):
    r = np.abs(a[:, None] - b[None, :]) / length
    s5 = np.sqrt(5.0) * r
    return (1.0 + s5 + s5 * s5 / 3.0) * np.exp(-s5)


class GP:
    """Fit with :meth:`fit(x, y)`; :meth:`predict(xq)` returns ``(mean, std)``."""

    def __init__(self, noise=1e-4):
        self.noise = noise

    def fit(self, x, y):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        self.x = x
        self.mu = y.mean()
        self.sd = y.std() if y.size > 1 and y.std() > 0 else 1.0
        z = (y - self.mu) / self.sd
        best = None
        for length in LENGTH_SCALES:
            K = matern52(x, x, length) + self.noise * np.eye(x.size)
            L = np.linalg.cholesky(K)
            alpha = np.linalg.solve(L.T, np.linalg.solve(L, z))
            lml = -0.5 * z @ alpha - np.log(np.diag(L)).sum()
            if best is None or lml > best[0]:
                best = (lml, length, L, alpha)
        _, self.length, self.L, self.alpha = best
        return self

    def predict(self, xq):
        xq = np.asarray(xq, dtype=np.float64)
        Ks = matern52(xq, self.x, self.length)
        mean = Ks @ self.alpha
        v = np.linalg.solve(self.L, Ks.T)
        var = np.maximum(1.0 - (v * v).sum(axis=0), 1e-12)
        return self.mu + self.sd * mean, self.sd * np.sqrt(var)


def lcb_next(x, y, kappa, grid):
    """The grid point minimising ``mean - kappa * std`` of the GP fitted to ``(x, y)``,
    excluding points already evaluated."""
    mean, std = GP().fit(x, y).predict(grid)
    score = mean - kappa * std
    taken = np.isclose(grid[:, None], np.asarray(x)[None, :], atol=0.5 / grid.size).any(axis=1)
    score[taken] = np.inf
    return float(grid[int(np.argmin(score))])
