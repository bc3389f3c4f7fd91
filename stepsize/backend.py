"""Array namespace: numpy on CPU, cupy on GPU, one code path.

Batched code is written once against ``xp`` (the module that plays numpy's role) and runs on
either device.  CuPy is optional: importing this module never needs a GPU.

>>> xp = get_xp("numpy")          # or "cupy", or "auto" (cupy when a GPU is usable)
>>> a = xp.zeros(3); to_numpy(a)
array([0., 0., 0.])
"""

import importlib

import numpy as np

BACKENDS = ("numpy", "cupy", "auto")


def _cupy():
    """The cupy module if it imports and sees a CUDA device, else None."""
    try:
        cp = importlib.import_module("cupy")
        if cp.cuda.runtime.getDeviceCount() > 0:
            return cp
    except Exception:  # no cupy, no driver, no device: all mean "no GPU"
        return None
    return None


def has_gpu():
    """True when cupy is installed and a CUDA device is usable."""
    return _cupy() is not None


def get_xp(backend="numpy"):
    """The array module for ``backend``: "numpy", "cupy" or "auto" (cupy if a GPU is usable).

    Raises ValueError for an unknown name and RuntimeError when "cupy" is asked for but no GPU
    (or no cupy) is available.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend: unknown {backend!r}; known: {', '.join(BACKENDS)}")
    if backend == "numpy":
        return np
    cp = _cupy()
    if cp is None:
        if backend == "auto":
            return np
        raise RuntimeError("backend 'cupy' needs cupy and a CUDA GPU (pip install stepsize[gpu])")
    return cp


def array_namespace(*arrays):
    """The module owning ``arrays``: cupy if any of them is a cupy array, else numpy."""
    for a in arrays:
        if type(a).__module__.split(".")[0] == "cupy":
            return importlib.import_module("cupy")
    return np


def to_numpy(a):
    """A numpy copy of ``a`` (a cupy array is moved to the host; anything else goes through
    ``np.asarray``)."""
    if type(a).__module__.split(".")[0] == "cupy":
        return a.get()
    return np.asarray(a)
