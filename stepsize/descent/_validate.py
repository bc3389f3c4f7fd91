"""Early, named checks of user input shared by every public entry point."""

import numbers

import numpy as np

RULES = ("constant", "normalized", "polyak", "armijo")


def check_data(A, y):
    """Return ``(A, y)`` as float64 arrays, shapes (n, d) and (n,), labels in {-1, +1}."""
    A = _real_array(A, "A")
    y = _real_array(y, "y")
    if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"A must be a non-empty 2-D array (n, d), got shape {A.shape}")
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {y.shape}")
    if y.shape[0] != A.shape[0]:
        raise ValueError(
            f"A and y have mismatched shapes: A has {A.shape[0]} rows, y has {y.shape[0]} labels"
        )
    if not np.all(np.isfinite(A)):
        raise ValueError("A (features) contains NaN or inf")
    bad = ~np.isin(y, (-1.0, 1.0))
    if bad.any():
        raise ValueError(
            f"y must contain only labels -1 and +1; found {np.unique(y[bad])[:5].tolist()}"
        )
    return np.ascontiguousarray(A), np.ascontiguousarray(y)


def check_theta0(theta0, d):
    """Zero by default; otherwise a finite float64 vector of length ``d``."""
    if theta0 is None:
        return np.zeros(d)
    theta0 = _real_array(theta0, "theta0")
    if theta0.shape != (d,):
        raise ValueError(f"theta0 must have shape ({d},) to match A, got {theta0.shape}")
    if not np.all(np.isfinite(theta0)):
        raise ValueError("theta0 contains NaN or inf")
    return np.ascontiguousarray(theta0)


def check_positive(value, name):
    """A finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


def check_count(value, name, minimum=0):
    """An integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_rule(rule):
    """One of :data:`RULES`."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; known rules: {', '.join(RULES)}")
    return RULES.index(rule)


def _real_array(x, name):
    arr = np.asarray(x)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)
