"""Where the GPU code runs: whether a CUDA GPU is usable, and moving arrays off it.

The GPU back ends are Numba CUDA kernels (``stepsize.nbody._cuda``).  Importing this module
imports no GPU stack and needs no GPU; arrays from any CUDA library (CuPy, PyTorch, Numba) are
recognised by their ``__cuda_array_interface__``.

>>> to_numpy([1.0, 2.0])
array([1., 2.])
"""

import numpy as np


def has_gpu():
    """True when Numba sees a real CUDA GPU (False without one and under the CUDA simulator)."""
    import numba

    if numba.config.ENABLE_CUDASIM:
        return False
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # no driver, no toolkit: both mean "no GPU"
        return False


def is_device_array(a):
    """True for an array in GPU memory (anything with ``__cuda_array_interface__``)."""
    return hasattr(a, "__cuda_array_interface__")


def to_numpy(a):
    """A numpy array of ``a``, copied to the host when it lives on a GPU."""
    if is_device_array(a):
        from numba import cuda

        return cuda.as_cuda_array(a).copy_to_host()
    return np.asarray(a)
