"""Shared pytest configuration.

* Tests marked ``gpu`` run only where Numba sees a CUDA GPU.
* Hypothesis runs under the fixed-seed profile ``stepsize`` (``derandomize=True``, no example
  database): every run, on every machine, draws the same examples, so CI is deterministic.
  ``HYPOTHESIS_PROFILE=explore`` draws fresh random examples, more of them, for local fuzzing.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

from stepsize.backend import has_gpu

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


def pytest_collection_modifyitems(config, items):
    if has_gpu():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
