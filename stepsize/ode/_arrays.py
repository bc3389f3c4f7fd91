"""Small array helpers for compiled loops: growable storage and interpolant evaluation.

The growing copies run element by element: a slice assignment compiles its shape check and
the error message of a mismatch, about 3 s of the loop's first compilation for three sizes."""

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.core.imputils import impl_ret_borrowed
from numba.np.arrayobj import populate_array

from stepsize.ode._jit import intrinsic_twinned


@intrinsic_twinned(lambda a, shape: a.reshape(shape))
def shaped(typingctx, a, shape):
    """``a`` (a C-contiguous vector of ``prod(shape)`` entries) viewed as a C array of
    ``shape`` (a tuple of integers), made in place: Numba's ``reshape`` calls a C helper that
    works out any reshape (numba_attempt_nocopy_reshape, 4 % of a short run, which makes its
    matrices as views).  Counted as a view where the caller counts references."""
    vector = isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C"
    dims = isinstance(shape, types.BaseTuple) and all(isinstance(d, types.Integer) for d in shape)
    if not (vector and dims):
        return None
    result = types.Array(a.dtype, len(shape), "C")

    def codegen(context, builder, sig, args):
        src = context.make_array(sig.args[0])(context, builder, args[0])
        given = cgutils.unpack_tuple(builder, args[1], len(shape))
        dims = [context.cast(builder, d, t, types.intp) for d, t in zip(given, shape, strict=True)]
        strides, step = [], src.itemsize
        for d in reversed(dims):
            strides.insert(0, step)
            step = builder.mul(step, d)
        out = context.make_array(result)(context, builder)
        populate_array(out, data=src.data, shape=dims, strides=strides, itemsize=src.itemsize,
                       meminfo=src.meminfo, parent=src.parent)  # fmt: skip
        return impl_ret_borrowed(context, builder, result, out._getvalue())

    return result(a, shape), codegen


@numba.njit(cache=True)
def grow1(a, size):
    """Return ``a`` or a copy with room for at least ``size`` entries."""
    if size <= a.shape[0]:
        return a
    out = np.empty(max(2 * a.shape[0], size))
    for i in range(a.shape[0]):
        out[i] = a[i]
    return out


@numba.njit(cache=True)
def grow2(a, size):
    """Return ``a`` or a copy with room for at least ``size`` rows."""
    if size <= a.shape[0]:
        return a
    out = np.empty((max(2 * a.shape[0], size), a.shape[1]))
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j]
    return out


@numba.njit(cache=True)
def grow3(a, size):
    """Return ``a`` or a copy with room for at least ``size`` slabs."""
    if size <= a.shape[0]:
        return a
    out = np.empty((max(2 * a.shape[0], size), a.shape[1], a.shape[2]))
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                out[i, j, k] = a[i, j, k]
    return out


@numba.njit(cache=True, inline="always")
def copy_into(dst, src):
    """``dst[:] = src`` element by element (a slice assignment needs reference counting)."""
    for m in range(dst.size):
        dst[m] = src[m]


@numba.njit(cache=True)
def eval_dense(y0, coef, theta, out):
    """``out = y0 + sum_j coef[:, j] theta^(j+1)`` by Horner's rule."""
    deg = coef.shape[1]
    for m in range(y0.size):
        acc = 0.0
        for j in range(deg - 1, -1, -1):
            acc = (acc + coef[m, j]) * theta
        out[m] = y0[m] + acc


@numba.njit(cache=True)
def all_finite(x):
    for v in x:
        if not np.isfinite(v):
            return False
    return True
