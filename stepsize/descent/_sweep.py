"""Table 1 of Tyurin (2024) on any data set: all four methods over a grid of step sizes.

For every ``gamma``: LR+GD and Normalized LR+GD from ``theta_0 = 0`` for ``max_iter`` steps with
the sharpness ``lambda_max`` at every iterate; once: Batch Perceptron and Normalized Batch
Perceptron.  Reported with the bounds the paper states: ``n R^2/mu^2`` (Thm 3.3), ``R^2/mu^2``
(Thm 5.3) and ``R^2/mu^2 + 2 log(2n - 1)/(gamma mu^2)`` (Thm 6.1), using the exact margin when
the data set knows it and otherwise the certified lower bound from :func:`max_margin` (which
makes the printed bounds conservative).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from stepsize.descent._data import Dataset, load_dataset
from stepsize.descent._gd import gd
from stepsize.descent._margin import MarginCertificate, max_margin
from stepsize.descent._perceptron import perceptron
from stepsize.descent._result import DescentResult
from stepsize.descent._validate import check_count, check_positive

EDGE_OF_STABILITY = 2.0
METHODS = ("LR+GD", "Normalized LR+GD")
PERCEPTRONS = ("Batch Perceptron", "Normalized Batch Perceptron")


@dataclass
class Sweep:
    """Runs of a sweep: ``runs[(method, gamma)]`` and ``perceptrons[name]``."""

    dataset: Dataset
    gammas: tuple
    max_iter: int
    certificate: MarginCertificate
    runs: dict = field(default_factory=dict)
    perceptrons: dict = field(default_factory=dict)

    @property
    def mu(self) -> float:
        """The exact margin if known, else the certified lower bound."""
        known = self.dataset.margin
        return known if known is not None else self.certificate.lower

    def bound(self, method, gamma=None):
        """The paper's iteration bound for ``method`` (None where the paper gives none)."""
        ratio = self.dataset.R**2 / self.mu**2
        if method == "Batch Perceptron":
            return self.dataset.n * ratio
        if method == "Normalized Batch Perceptron":
            return ratio
        if method == "Normalized LR+GD":
            return ratio + 2.0 * math.log(2 * self.dataset.n - 1) / (gamma * self.mu**2)
        return None

    def rows(self):
        """One summary dict per run (JSON-ready)."""
        out = []
        for (method, gamma), r in self.runs.items():
            out.append(_summary(r, method, gamma, self.bound(method, gamma)))
        for method, r in self.perceptrons.items():
            out.append(_summary(r, method, None, self.bound(method)))
        return out

    def to_dict(self):
        ds = self.dataset
        return _clean(
            {
                "data": {
                    "name": ds.name,
                    "description": ds.description,
                    "n": ds.n,
                    "d": ds.d,
                    "R": ds.R,
                    "mu": self.mu,
                    "mu_exact": ds.margin is not None,
                    "mu_certified": [self.certificate.lower, self.certificate.upper],
                },
                "max_iter": self.max_iter,
                "gammas": list(self.gammas),
                "edge_of_stability": EDGE_OF_STABILITY,
                "runs": self.rows(),
            }
        )

    def table(self):
        """A readable table in the layout of the paper's Table 1."""
        ds = self.dataset
        lines = [
            f"{ds.name}: n={ds.n} d={ds.d} R={ds.R:.4g} mu={self.mu:.4g}"
            f" ({'exact' if ds.margin is not None else 'certified lower bound'})"
            f"  max_iter={self.max_iter}",
            "iterations to separate (first t with accuracy 1; '>N' = not within max_iter)",
            f"{'gamma':>8} {'LR+GD':>8} {'Normalized':>10} {'ratio':>6} {'Thm6.1':>8}"
            f" {'max loss':>10} {'>edge':>6} {'max loss':>10} {'>edge':>6}",
            f"{'':>8} {'':>8} {'LR+GD':>10} {'N/LR':>6} {'bound':>8}"
            f" {'LR+GD':>10} {'LR+GD':>6} {'Normal.':>10} {'Normal.':>6}",
        ]
        for gamma in self.gammas:
            a = _summary(self.runs[(METHODS[0], gamma)], METHODS[0], gamma, None)
            b = _summary(self.runs[(METHODS[1], gamma)], METHODS[1], gamma, None)
            ratio = _ratio(b["iterations_to_separate"], a["iterations_to_separate"])
            lines.append(
                f"{gamma:>8g} {self._its(a):>8} {self._its(b):>10} {ratio:>6}"
                f" {self.bound(METHODS[1], gamma):>8.4g} {a['max_loss_before_separation']:>10.3g}"
                f" {a['fraction_above_edge']:>6.0%} {b['max_loss_before_separation']:>10.3g}"
                f" {b['fraction_above_edge']:>6.0%}"
            )
        for method, r in self.perceptrons.items():
            lines.append(
                f"{method + ':':<29} {self._its(_summary(r, method, None, None)):>8}"
                f"   (bound {self.bound(method):.4g})"
            )
        lines.append(
            "up to separation: max loss = largest f(theta_t) for t >= 1;"
            " >edge = share of steps with h_t * lambda_max(theta_t) > 2"
        )
        return "\n".join(lines)

    def _its(self, summary):
        its = summary["iterations_to_separate"]
        return f">{summary['iterations']}" if its is None else str(its)

    def plot(self, path):
        """Loss, gradient norm, accuracy, ``h * lambda`` per ``gamma`` (edge of stability: 2)."""
        from stepsize.descent._plot import plot_sweep

        plot_sweep(self, path, METHODS, EDGE_OF_STABILITY)


def sweep(data, gammas=(1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0), max_iter=2000, seed=0):
    """Run the four methods of the paper on ``data`` (a :class:`Dataset` or a name)."""
    ds = load_dataset(data, seed=seed) if isinstance(data, str) else data
    if not isinstance(ds, Dataset):
        raise TypeError(f"data must be a Dataset or a data set name, got {type(data).__name__}")
    gammas = tuple(check_positive(g, "gammas") for g in gammas)
    if not gammas:
        raise ValueError("gammas must not be empty")
    max_iter = check_count(max_iter, "max_iter", 1)
    cert = max_margin(ds.A, ds.y, seed=seed)
    if not cert.separable:
        raise ValueError(f"data set {ds.name!r} is not linearly separable through the origin")
    result = Sweep(ds, gammas, max_iter, cert)
    for gamma in gammas:
        for method, rule in zip(METHODS, ("constant", "normalized")):
            result.runs[(method, gamma)] = gd(
                ds.A, ds.y, gamma, rule, max_iter=max_iter, sharpness=True, seed=seed
            )
    for method, normalized in zip(PERCEPTRONS, (False, True)):
        result.perceptrons[method] = perceptron(ds.A, ds.y, normalized, max_iter=max_iter)
    return result


def _summary(r: DescentResult, method, gamma, bound):
    its = r.iterations_to_separate
    end = r.iterations if its is None else its
    upto = r.loss[1 : end + 1] if end >= 1 else r.loss[:1]
    glm = r.gamma_lambda_max
    glm = glm[:end] if glm is not None else np.zeros(0)
    glm = glm[np.isfinite(glm)]
    return {
        "method": method,
        "gamma": gamma,
        "iterations_to_separate": its,
        "iterations": r.iterations,
        "bound": bound,
        "max_loss_before_separation": float(upto.max()),
        "final_loss": float(r.loss[-1]),
        "final_accuracy": float(r.accuracy[-1]),
        "final_margin": float(r.margin[-1]),
        "fraction_above_edge": float(np.mean(glm > EDGE_OF_STABILITY)) if glm.size else 0.0,
        "max_gamma_lambda_max": float(glm.max()) if glm.size else None,
        "max_gamma_lambda_hat": (
            float(np.nanmax(r.gamma_lambda)) if np.isfinite(r.gamma_lambda).any() else None
        ),
    }


def _ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def _clean(x):
    """NaN and inf become None so the output is strict JSON."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x
