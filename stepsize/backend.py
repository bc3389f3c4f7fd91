"""Where the GPU code runs: whether a CUDA GPU is usable, and whether an array lives on one.

The GPU back ends are Numba CUDA kernels (``stepsize.nbody._cuda``).  Importing this module
imports no GPU stack and needs no GPU; arrays from any CUDA library (CuPy, PyTorch, Numba) are
recognised by their ``__cuda_array_interface__``.

>>> is_device_array([1.0, 2.0])
False
"""


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
