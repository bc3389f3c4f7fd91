"""Validation of schedules, grids and step counts, shared by the schedule functions."""

import numbers
import operator

import numpy as np


def check_real(value, name):
    """``value`` as a float; TypeError naming ``name`` unless it is a real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def check_array(values, name):
    """``values`` as a float64 array; TypeError naming ``name`` when they are not numbers."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers ({exc})") from None


def check_steps(K, name="K", low=1):
    """``K`` as a Python int ``>= low``; bools and floats are refused."""
    try:
        k = operator.index(K)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(K).__name__}") from None
    if isinstance(K, bool) or k < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {K!r}")
    return k


def check_grid(times, name="times", min_len=2):
    """A finite, strictly increasing 1-D float64 array of at least ``min_len`` points."""
    t = check_array(times, name)
    if t.ndim != 1 or t.size < min_len:
        raise ValueError(
            f"{name} must be a 1-D array of at least {min_len} times, got shape {t.shape}"
        )
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{name} must be finite")
    if not np.all(np.diff(t) > 0):
        raise ValueError(f"{name} must be strictly increasing")
    return t


def check_schedule(schedule, name="schedule"):
    """Validate a sampling schedule: strictly increasing flow times from exactly 0 to exactly 1.

    Returns the schedule as a float64 array; raises ``ValueError`` naming ``name`` otherwise.
    """
    t = check_grid(schedule, name)
    if t[0] != 0.0 or t[-1] != 1.0:
        raise ValueError(
            f"{name} must start at exactly 0 (noise) and end at exactly 1 (data), "
            f"got {t[0]!r} ... {t[-1]!r}"
        )
    return t
