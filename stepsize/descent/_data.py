"""Separable binary data sets: synthetic with an exact margin, Tyurin's two constructions, digits.

All models are linear without bias, ``sign(a^T theta)``, as in Tyurin (2024, eq. 1).
"""

import re
from dataclasses import dataclass

import numpy as np

from stepsize.descent._validate import check_count, check_data, check_positive


@dataclass(frozen=True)
class Dataset:
    """Features ``A`` (n, d), labels ``y`` in {-1, +1}; ``margin``: the exact ``mu`` if known."""

    name: str
    A: np.ndarray
    y: np.ndarray
    margin: float | None = None
    description: str = ""

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def d(self) -> int:
        return self.A.shape[1]

    @property
    def R(self) -> float:
        """``max_i ||a_i||``."""
        return float(np.linalg.norm(self.A, axis=1).max())


def separable(n=200, d=10, margin=0.05, offset=1.0, noise=0.3, minority=0.1, seed=0):
    """Random data whose margin ``mu`` is exactly ``margin``, hard for mean-based steps.

    With a random unit ``theta*`` and a unit ``e`` orthogonal to it, each signed point
    ``m = y a`` is ``m = s theta* + c e + u``: ``s = margin + |N(0, 1/4)|``, ``c = -offset`` for a
    ``minority`` fraction of the points and ``+offset`` for the rest, and ``u`` is
    ``N(0, noise^2 I)`` projected orthogonally to ``theta*``.  The class mean then points
    mostly along ``e``, so early (batch) perceptron and large-step GD iterates misclassify the
    minority cluster, as in Thm 5.1.  Two of the points are ``margin theta* +- offset e``:
    ``margin theta*`` lies in the convex hull of the ``m_i``, all of which satisfy
    ``m^T theta* >= margin``, so ``mu = margin`` exactly.  Labels are fair coin flips, ``a = y m``.
    """
    n = check_count(n, "n", 2)
    d = check_count(d, "d", 2)
    margin = check_positive(margin, "margin")
    offset = check_positive(offset, "offset")
    noise = check_positive(noise, "noise")
    minority = check_positive(minority, "minority")
    if minority >= 1.0:
        raise ValueError(f"minority must be a fraction in (0, 1), got {minority}")
    rng = np.random.default_rng(seed)
    star = _unit(rng.standard_normal(d))
    e = _orthogonal(rng.standard_normal((1, d)), star)[0]
    s = margin + np.abs(rng.normal(0.0, 0.5, n))
    c = np.where(rng.uniform(size=n) < minority, -offset, offset)
    u = noise * rng.standard_normal((n, d))
    u -= np.outer(u @ star, star)
    s[:2], c[:2], u[:2] = margin, (offset, -offset), 0.0
    m = s[:, None] * star + c[:, None] * e + u
    y = rng.choice([-1.0, 1.0], n)
    order = rng.permutation(n)
    return Dataset(
        name="synthetic",
        A=(y[:, None] * m)[order],
        y=y[order],
        margin=margin,
        description=(
            f"n={n}, d={d}, exact margin {margin}, offset {offset}, noise {noise}, "
            f"minority {minority}, seed {seed}"
        ),
    )


def two_point():
    """Thm 4.1's data: ``(1, -1)`` with label +1 and ``(-1, -4)`` with label -1 (``mu = 1``).

    From ``theta_0 = 0``: ``theta_1 = gamma (1/2, 3/4)`` misclassifies the first point and
    ``f(theta_1) -> infinity``, yet ``theta_2 / gamma -> (1, 1/4)`` separates and
    ``f(theta_2) -> 0`` as ``gamma -> infinity``.  ``mu = 1`` at ``theta* = (1, 0)``.
    """
    return Dataset(
        name="two-point",
        A=np.array([[1.0, -1.0], [-1.0, -4.0]]),
        y=np.array([1.0, -1.0]),
        margin=1.0,
        description="Tyurin (2024) Thm 4.1",
    )


def worst_case(n=1000):
    """Thm 5.1's data: ``(0.5, -1)`` labelled +1 and ``n - 1`` copies of ``(-0.5, -1)`` labelled -1.

    ``mu = 1/2`` at ``theta* = (1, 0)`` and ``R^2 = 5/4``, yet Batch Perceptron needs
    ``floor((3n - 8)/10) + 2`` iterations (``Omega(n)``; the count follows from the proof of
    Thm 5.1 by solving its two linear conditions), while Normalized LR+GD at large ``gamma``
    needs 2 (Table 1).
    """
    n = check_count(n, "n", 10)
    A = np.vstack([[0.5, -1.0], np.tile([-0.5, -1.0], (n - 1, 1))])
    y = np.concatenate([[1.0], -np.ones(n - 1)])
    return Dataset(
        name=f"worst-case-{n}",
        A=A,
        y=y,
        margin=0.5,
        description=f"Tyurin (2024) Thm 5.1 with n={n}",
    )


def digits(positive=3, negative=8, minority_fraction=None, seed=0):
    """Two classes of scikit-learn's bundled 8x8 digits (1797 images, no download).

    Features are the 64 pixel intensities divided by 16 (into [0, 1]); no bias is added, as in
    the paper's model (pairs 3v8, 1v7, 4v9, 3v5, 2v3, 5v6, 0v1 are separable through the origin,
    margins 0.21 to 0.58; :func:`max_margin` certifies any other).  Labels: ``positive`` -> +1,
    ``negative`` -> -1.  With ``minority_fraction`` the negative class is subsampled (seeded) to
    that fraction of its size, giving an imbalanced set.
    """
    from sklearn.datasets import load_digits

    for name, value in (("positive", positive), ("negative", negative)):
        if check_count(value, name) > 9:
            raise ValueError(f"{name} must be a digit 0..9, got {value}")
    if positive == negative:
        raise ValueError("positive and negative must be different digits")
    X, target = load_digits(return_X_y=True)
    pos = np.flatnonzero(target == positive)
    neg = np.flatnonzero(target == negative)
    name = f"digits-{positive}v{negative}"
    if minority_fraction is not None:
        minority_fraction = check_positive(minority_fraction, "minority_fraction")
        if minority_fraction > 1.0:
            raise ValueError(f"minority_fraction must be <= 1, got {minority_fraction}")
        keep = max(1, round(minority_fraction * neg.size))
        neg = np.sort(np.random.default_rng(seed).choice(neg, keep, replace=False))
        name += f"-imbalanced-{minority_fraction:g}"
    idx = np.concatenate([pos, neg])
    A = X[idx] / 16.0
    y = np.where(target[idx] == positive, 1.0, -1.0)
    A, y = check_data(A, y)
    return Dataset(
        name=name,
        A=A,
        y=y,
        description=f"{pos.size} x '{positive}' (+1) vs {neg.size} x '{negative}' (-1), pixels/16",
    )


DATASET_NAMES = (
    "synthetic",
    "two-point",
    "worst-case[-N]",
    "digits-PvQ",
    "digits-PvQ-imbalanced[-F]",
)


def load_dataset(name, seed=0):
    """A data set by name: one of :data:`DATASET_NAMES` (``P``, ``Q`` digits, ``N`` >= 10).

    "synthetic" is ``separable(seed=seed)``; "worst-case" has ``n = 1000``; "-imbalanced" keeps
    10% of the negative class, "-imbalanced-F" the fraction ``F``.
    """
    if not isinstance(name, str):
        raise TypeError(f"data set name must be a string, got {type(name).__name__}")
    if name == "synthetic":
        return separable(seed=seed)
    if name == "two-point":
        return two_point()
    match = re.fullmatch(r"worst-case(?:-(\d+))?", name)
    if match:
        return worst_case(int(match.group(1) or 1000))
    match = re.fullmatch(r"digits-(\d)v(\d)(-imbalanced(?:-([0-9.]+))?)?", name)
    if match:
        fraction = float(match.group(4) or 0.1) if match.group(3) else None
        return digits(int(match.group(1)), int(match.group(2)), fraction, seed=seed)
    raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASET_NAMES)}")


def _unit(v):
    return v / np.linalg.norm(v)


def _orthogonal(V, u):
    """Rows of ``V`` projected orthogonally to the unit ``u`` and normalised."""
    V = V - np.outer(V @ u, u)
    return V / np.linalg.norm(V, axis=1, keepdims=True)
