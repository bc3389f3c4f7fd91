"""Offline data sets: 2-D toys and scikit-learn's bundled 8x8 digits (no downloads)."""

import numpy as np

DATASETS = ("moons", "8gaussians", "checkerboard", "digits")
"""Names accepted by :func:`load_data`."""


def _moons(n, rng):
    """Two interleaved half circles with noise 0.05, centred and scaled by 2 (``make_moons``)."""
    from sklearn.datasets import make_moons

    x, _ = make_moons(n, noise=0.05, random_state=int(rng.integers(2**31)))
    return 2.0 * (x - np.array([0.5, 0.25]))


def _eight_gaussians(n, rng):
    """Eight Gaussians of variance 0.1 centred on the circle of radius 5 (torchcfm's toy)."""
    angles = 2.0 * np.pi * rng.integers(8, size=n) / 8.0
    centres = 5.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return centres + np.sqrt(0.1) * rng.standard_normal((n, 2))


def _checkerboard(n, rng):
    """FFJORD's 4x4 checkerboard on [-4, 4]^2."""
    x1 = 4.0 * rng.random(n) - 2.0
    x2 = rng.random(n) - 2.0 * rng.integers(2, size=n) + np.floor(x1) % 2
    return 2.0 * np.stack([x1, x2], axis=1)


def _digits():
    """The 1797 images of ``sklearn.datasets.load_digits``, pixels 0..16 mapped to [-1, 1]."""
    from sklearn.datasets import load_digits

    return load_digits().data / 8.0 - 1.0


def digit_labels():
    """Class labels of the digits, in the order of ``load_data("digits")``."""
    from sklearn.datasets import load_digits

    return load_digits().target.copy()


def load_data(name, n=None, seed=0):
    """Samples of data set ``name`` as a float64 array ``(n, dim)``.

    Toys draw ``n`` fresh samples (default 10,000). ``digits`` returns all 1797 images when ``n``
    is None, else ``n`` images drawn at random (without replacement while ``n <= 1797``).
    """
    if name not in DATASETS:
        raise ValueError(f"data: unknown {name!r}; known: {', '.join(DATASETS)}")
    rng = np.random.default_rng(seed)
    if name == "digits":
        x = _digits()
        if n is None:
            return x
        return x[rng.choice(len(x), size=int(n), replace=int(n) > len(x))]
    n = 10_000 if n is None else int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return {"moons": _moons, "8gaussians": _eight_gaussians, "checkerboard": _checkerboard}[name](
        n, rng
    )
