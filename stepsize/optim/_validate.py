"""Named checks of hyper-parameters shared by the optimizers, batch tests and schedulers."""

import math
import numbers


def check_nonneg(value, name):
    """A finite real ``value >= 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return float(value)


def check_positive(value, name):
    """A finite real ``value > 0``."""
    value = check_nonneg(value, name)
    if value == 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def check_unit(value, name):
    """A real number in [0, 1)."""
    value = check_nonneg(value, name)
    if value >= 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def check_betas(betas):
    """``(beta1, beta2)``, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return (check_unit(betas[0], "betas[0]"), check_unit(betas[1], "betas[1]"))


def check_count(value, name, minimum=1):
    """An integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_choice(value, name, choices):
    """``value`` is one of ``choices``."""
    if value not in choices:
        known = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: unknown {value!r}; known: {known}")
    return value
