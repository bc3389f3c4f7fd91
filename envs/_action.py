"""Checking an action against the action space before an environment acts on it.

Gymnasium leaves this to the environment; without it ``Discrete`` index ``-1`` silently picks the
last value and a NaN reaches the integrator.  Every environment of the package calls
:func:`check_action` first in ``step``.
"""

import numbers

import gymnasium as gym
import numpy as np


def check_action(space, action):
    """``action`` as the environment uses it: an ``int`` for ``Discrete``, a float64 array of
    ``space.shape`` for ``Box``.

    Raises ValueError naming ``space`` for an action outside it: an index that is not an integer
    or not in ``[start, start + n)``, a Box action of another shape, NaN or outside its bounds.
    """
    if isinstance(space, gym.spaces.Discrete):
        return _discrete(space, action)
    if isinstance(space, gym.spaces.Box):
        return _box(space, action)
    raise TypeError(f"check_action: unsupported action space {space}")


def _reject(space, action, why):
    raise ValueError(f"action {action!r} is not in the action space {space}: {why}")


def _discrete(space, action):
    a = action
    if isinstance(a, np.ndarray):
        if a.size != 1:
            _reject(space, action, f"expected one integer, got shape {a.shape}")
        a = a.reshape(-1)[0]
    if isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Integral):
        _reject(space, action, f"expected an integer, got {type(a).__name__}")
    lo, n = int(space.start), int(space.n)
    if not lo <= int(a) < lo + n:
        _reject(space, action, f"expected an integer in [{lo}, {lo + n - 1}]")
    return int(a)


def _box(space, action):
    try:
        a = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError):
        _reject(space, action, "expected an array of numbers")
    if a.shape != space.shape and not (a.size == 1 and int(np.prod(space.shape)) == 1):
        _reject(space, action, f"expected shape {space.shape}, got {a.shape}")
    a = a.reshape(space.shape)
    if not np.all(np.isfinite(a)):
        _reject(space, action, "expected finite numbers")
    if np.any(a < space.low) or np.any(a > space.high):
        _reject(space, action, f"expected values in [{space.low}, {space.high}]")
    return a
