"""Checks of environment constructor arguments: a ValueError or TypeError naming the argument."""

import math
import numbers

import numpy as np


def _real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def positive_int(value, name, low=1):
    """``value`` as an int ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not (math.isfinite(value) and value == int(value) and value >= low):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def positive_real(value, name, zero=False):
    """``value`` as a finite float ``> 0`` (``>= 0`` with ``zero=True``)."""
    x = _real(value, name)
    if not (math.isfinite(x) and (x >= 0 if zero else x > 0)):
        raise ValueError(
            f"{name} must be {'>= 0' if zero else 'positive'} and finite, got {value!r}"
        )
    return x


def positive_grid(values, name="values"):
    """``values`` as a non-empty 1-D float array of positive finite numbers."""
    try:
        grid = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        grid = np.zeros(0)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid) & (grid > 0)):
        raise ValueError(f"{name} must be a non-empty list of positive finite numbers")
    return grid
