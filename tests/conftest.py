"""Shared pytest configuration: tests marked ``gpu`` run only where Numba sees a CUDA GPU."""

import pytest

from stepsize.backend import has_gpu


def pytest_collection_modifyitems(config, items):
    if has_gpu():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
