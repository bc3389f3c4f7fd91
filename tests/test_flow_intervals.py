"""The samplers benchmark's paired half-sampling intervals (``benchmarks/_samplers_bench.py``):
exact for proportional rows, the width of the delta method's interval for a ratio of means, and
centred on their own point for a Frechet ratio (duplicates of a with-replacement bootstrap
inflate the distance and pull the ratio toward 1)."""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import _samplers_bench as B  # noqa: E402

torch.set_num_threads(1)


def quality(name="checkerboard"):
    return B.Quality(name, torch.zeros(4, 2, dtype=torch.float64))


def test_proportional_rows_give_a_point_interval():
    q = quality()
    b = np.random.default_rng(0).exponential(size=256)
    q.parts = {"a": {"error": 0.4 * b, "fd": None}, "b": {"error": b, "fd": None}}
    np.testing.assert_allclose(q.interval("a", "b", "error"), [0.4, 0.4], atol=1e-4)


def test_ratio_of_means_interval_has_the_delta_method_width():
    rng = np.random.default_rng(1)
    n = 400
    b = rng.exponential(size=n)
    a = 0.5 * b * rng.lognormal(0.0, 0.5, n)
    q = quality()
    q.parts = {"a": {"error": a, "fd": None}, "b": {"error": b, "fd": None}}
    lo, hi = q.interval("a", "b", "error", n_sub=2000)
    r = a.mean() / b.mean()
    # delta method: var(r) = var(a - r b) / (n mean(b)^2); 90%: +-1.645 sd
    sd = np.std(a - r * b, ddof=1) / (np.sqrt(n) * b.mean())
    assert lo < r < hi
    np.testing.assert_allclose(hi - lo, 2 * 1.645 * sd, rtol=0.15)


def test_frechet_ratio_interval_holds_its_own_point():
    from stepsize.flow._unet import digit_images

    q = quality("digits16-flow")
    images = digit_images()[np.random.default_rng(2).choice(1797, 128, replace=False)]
    blur = torch.randn(images.shape, generator=torch.Generator().manual_seed(3))
    parts = {"clean": q.features(images), "noisy": q.features(images + 0.6 * blur)}
    q.parts = {k: {"error": np.zeros(128), "fd": f} for k, f in parts.items()}
    fd = {k: B.flow.frechet_distance(f, q.data_features) for k, f in parts.items()}
    ratio = fd["clean"] / fd["noisy"]
    lo, hi = q.interval("clean", "noisy", "fd")
    assert ratio < 0.8 and lo < ratio < hi
    # centred on it: resampling with replacement gave [0.53, 0.87] around 0.57 here
    assert abs((lo + hi) / 2 - ratio) < 0.2 * (hi - lo)
