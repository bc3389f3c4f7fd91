"""Shared pytest configuration.

* Tests marked ``gpu`` run only where Numba sees a CUDA GPU.
* Hypothesis runs under the fixed-seed profile ``stepsize`` (``derandomize=True``, no example
  database): every run, on every machine, draws the same examples, so CI is deterministic.
  ``HYPOTHESIS_PROFILE=explore`` draws fresh random examples, more of them, for local fuzzing.
* Torch, OpenMP and OpenBLAS run one thread (subprocesses inherit it through the environment):
  the tests' tensors and matrices are small, and on a 2-core machine their worker threads spin
  against Numba's -- README example 3 took 139 CPU-s with torch's default 2 threads against 7 s
  with one, on a loaded machine.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402 (after the thread settings above)
from hypothesis import HealthCheck, settings  # noqa: E402

from stepsize.backend import has_gpu  # noqa: E402

settings.register_profile(
    "stepsize",
    derandomize=True,
    database=None,
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "stepsize"))


def pytest_configure(config):
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    if has_gpu():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
