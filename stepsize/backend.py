"""Where the GPU code runs: whether a CUDA GPU is usable, and whether an array lives on one.

The GPU back ends are Numba CUDA kernels (``stepsize.nbody._cuda``, ``stepsize.ode._cuda``).
Importing this module imports no GPU stack and needs no GPU; arrays from any CUDA library
(CuPy, PyTorch, Numba) are recognised by their ``__cuda_array_interface__``.

>>> is_device_array([1.0, 2.0])
False
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


WARP = 32


def require_cuda():
    """Numba's CUDA target, usable: an ``ImportError`` naming the ``gpu`` extra without it, a
    ``RuntimeError`` when it sees no GPU (Numba's simulator, ``NUMBA_ENABLE_CUDASIM=1``, counts
    as one)."""
    import importlib

    import numba

    try:
        cuda = importlib.import_module("numba.cuda")
    except ImportError as exc:
        raise ImportError(
            "backend='cuda' needs Numba's CUDA target (numba-cuda) and a CUDA toolkit: "
            "pip install 'stepsize[gpu]' (numba-cuda[cu12], cupy-cuda12x)"
        ) from exc
    if not numba.config.ENABLE_CUDASIM and not has_gpu():
        raise RuntimeError(
            "backend='cuda': Numba sees no CUDA GPU (no driver or no device); run on a machine "
            "with one, or set NUMBA_ENABLE_CUDASIM=1 before importing numba to run the kernel "
            "in Numba's CUDA simulator (slow)"
        )
    return cuda


def lane_fractions(steps, warp=WARP):
    """Useful-lane fractions of a kernel with one thread per member that runs ``steps``
    steps: sum(steps) / (max(steps) x members) over the grid, and sum(steps) / sum over warps
    of (members in the warp x its max steps), the share of the lanes' time that did a step
    while their warp was still running."""
    steps = np.asarray(steps, dtype=float)
    total = steps.sum()
    if total == 0:
        return 1.0, 1.0
    per_warp = [
        (w.size, w.max()) for w in (steps[i : i + warp] for i in range(0, steps.size, warp))
    ]
    warp_cost = sum(lanes * top for lanes, top in per_warp)
    return float(total / (steps.max() * steps.size)), float(total / warp_cost)
