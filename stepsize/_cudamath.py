"""Python builtins and NumPy scalar functions for Numba's CUDA target, as the CPU computes them.

The compiled step functions of the library call ``min``/``max`` of two to four numbers and
``np.isfinite``, ``np.isnan``, ``np.sqrt``, ``np.arctan`` of one float.  Numba 0.66 to 0.68 turned
``min``/``max`` into ``*args`` overloads that its CUDA target cannot compile (numba issue #10753,
"Signature mismatch"), and the CUDA target types none of those NumPy functions on scalars.
Importing this module registers CUDA-target overloads for them (a target-specific overload comes
first in CUDA code; the CPU keeps Numba's own): ``min``/``max`` as Python's (the first argument
unless a later one is smaller/larger), the NumPy functions as their ``math`` twins, equal on
floats.  Imported by the GPU back ends only.
"""

import math
import operator

import numpy as np
from numba import types
from numba.core.extending import overload


def _numbers(*args):
    return all(isinstance(x, types.Number | types.Boolean) for x in args)


def builtin_on_cuda(fn, pick):
    """``fn`` (``min`` or ``max``) of 2 to 4 numbers in CUDA code, as Python's: the first
    argument unless a later one ``pick``s (``operator.lt`` for ``min``)."""

    @overload(fn, target="cuda")
    def two(a, b):
        if _numbers(a, b):
            return lambda a, b: b if pick(b, a) else a

    @overload(fn, target="cuda")
    def three(a, b, c):
        if _numbers(a, b, c):
            return lambda a, b, c: fn(fn(a, b), c)

    @overload(fn, target="cuda")
    def four(a, b, c, d):
        if _numbers(a, b, c, d):
            return lambda a, b, c, d: fn(fn(fn(a, b), c), d)


def numpy_on_cuda(fn, scalar):
    """NumPy's ``fn`` of one float in CUDA code, as its ``math`` twin ``scalar``."""

    @overload(fn, target="cuda")
    def one(x):
        if isinstance(x, types.Float):
            return lambda x: scalar(x)


builtin_on_cuda(min, operator.lt)
builtin_on_cuda(max, operator.gt)
for _fn, _scalar in (
    (np.isfinite, math.isfinite),
    (np.isnan, math.isnan),
    (np.sqrt, math.sqrt),
    (np.arctan, math.atan),
):
    numpy_on_cuda(_fn, _scalar)
