"""A callable ``jac`` run in Python from the compiled loop: one that returns a ``scipy.sparse``
matrix (SciPy's ``solve_ivp`` accepts ``jac(t, y) -> csc/csr``), or any callable ``jac`` given
together with ``jac_sparsity``.

Numba cannot compile a function that builds a ``scipy.sparse`` matrix, so rather than running the
whole loop interpreted the compiled loop calls the function back through a C callback
(``ctypes``, which takes the GIL for the call): the adapter of :func:`python_jac_adapter` (of the
loop's ``jac(t, y, out, ctx)`` type) passes the addresses of ``y``, ``out`` and ``ctx`` to
:func:`_callback`, and the :class:`PythonJac` bound to that ``ctx`` writes the Jacobian into
``out``: dense ``(n, n)`` for the dense methods, or its values on the fixed pattern that the
sparse LU of :mod:`stepsize.ode._sparse` was set up for -- the entries of its value at
``(t0, y0)`` and at a state nearby (an entry of ``2 u v`` vanishes where ``u = 0``, and
``scipy.sparse`` drops zeros), joined with ``jac_sparsity`` where given.  A later value with a
nonzero outside the pattern is an error that names ``jac_sparsity``; an exception of ``jac`` is
recorded as any adapter records it and re-raised in Python with its ``t``.  The loop keeps each
Jacobian for many steps (CVODE's reuse), so the ~20 us of a callback are nothing next to building
the matrix.
"""

import ctypes
import weakref

import numpy as np

from stepsize.ode._context import JAC_RAISED, generated
from stepsize.ode._jit import JFUNC, compile_adapter
from stepsize.ode._sparse import pattern_csc, scatter_csc

_CALLBACK_TYPE = ctypes.CFUNCTYPE(
    ctypes.c_int64,  # 0: done, 1: jac raised or returned something wrong
    ctypes.c_double,  # t
    ctypes.c_int64,  # address of y
    ctypes.c_int64,  # n
    ctypes.c_int64,  # address of out
    ctypes.c_int64,  # out.size
    ctypes.c_int64,  # address of ctx
)
_BOUND = weakref.WeakValueDictionary()
"""The :class:`PythonJac` of each live run, by the address of its ``ctx``."""
_ADAPTER = []
_DENSE = weakref.WeakSet()
"""Functions whose first value was not ``scipy.sparse``: not called again to find out (a call
in Python is a good part of the fixed cost of a small problem's ``solve``)."""

ADAPTER_SOURCE = f"""
def jac(t, y, out, ctx):
    if callback(t, y.ctypes.data, y.size, out.ctypes.data, out.size, ctx.ctypes.data) != 0:
        report(ctx, {JAC_RAISED}, t, y)
        out[:] = nan
"""


def _view(address, size):
    return np.ctypeslib.as_array((ctypes.c_double * size).from_address(address))


def _callback(t, y_at, n, out_at, size, ctx_at):
    try:
        _BOUND[ctx_at].fill(t, _view(y_at, n).copy(), _view(out_at, size))
    except BaseException:  # noqa: BLE001 -- reported through ctx, re-raised in Python
        return 1
    return 0


def python_jac_adapter():
    """The compiled ``jac(t, y, out, ctx)`` adapter that calls :func:`_callback` (compiled once
    per process: the callback's address is a constant of the code, so not cached on disk)."""
    if not _ADAPTER:
        callback = _CALLBACK_TYPE(_callback)
        fn = generated(ADAPTER_SOURCE, "jac", {"callback": callback})
        _ADAPTER.extend((compile_adapter(fn, JFUNC), callback))  # keep the callback alive
    return _ADAPTER[0]


class PythonJac:
    """The user's ``jac(t, y, *args)`` (dense or ``scipy.sparse`` values), written into the
    loop's storage: dense, or the values on ``pattern`` (a :class:`~stepsize.ode._sparse.
    SparsePattern`, set by :meth:`use_pattern`)."""

    def __init__(self, fun, args, n):
        self.fun, self.args, self.n = fun, tuple(args), n
        self.pattern = None

    def use_pattern(self, pattern):
        self.pattern = pattern

    def bind(self, ctx):
        """Serve the compiled adapter's calls for the run with this ``ctx``."""
        _BOUND[ctx.ctypes.data] = self

    def __call__(self, t, y, *args):
        """``jac(t, y, *args)``, checked: (n, n), and with a pattern no nonzero outside it (a
        ``ValueError`` naming ``jac_sparsity``).  Returns the dense matrix, or with a pattern
        its values there."""
        import scipy.sparse as sps

        value = self.fun(t, y, *args)
        n = self.n
        if self.pattern is None:
            value = value.toarray() if sps.issparse(value) else value
            value = np.asarray(value, dtype=float)
            value = value.reshape(n, n) if n == 1 and value.size == 1 else value
            if value.shape != (n, n):
                raise ValueError(f"jac must return an array of shape ({n}, {n}), got {value.shape}")
            return value
        value = sps.csc_matrix(value, dtype=float, copy=True)  # canonical: sorted, summed
        value.sum_duplicates()
        if value.shape != (n, n):
            raise ValueError(f"jac must return an array of shape ({n}, {n}), got {value.shape}")
        sp, ptr = self.pattern, value.indptr.astype(np.int64)
        out = np.empty(sp.rows.size)
        bad = scatter_csc(sp.colptr, sp.rows, ptr, value.indices.astype(np.int64), value.data, out)
        if bad:
            i, j = value.indices[bad - 1], np.searchsorted(ptr, bad - 1, "right") - 1
            raise ValueError(
                f"jac returned a nonzero at ({i}, {j}) at t = {t!r}, outside the sparsity "
                "pattern (the entries of jac at t0, joined with jac_sparsity): pass a "
                "jac_sparsity that holds every entry jac may return"
            )
        return out

    def fill(self, t, y, out):
        """Write ``jac(t, y)`` into the flat ``out``: dense (n, n) row by row, or on the
        pattern."""
        out[:] = self(t, y, *self.args).reshape(-1)

    def interpreted(self, t, y, out, ctx):
        """The interpreted loop's ``jac(t, y, out, ctx)`` adapter."""
        try:
            self.fill(t, y.copy(), out.reshape(-1))
        except Exception as exc:
            exc.add_note(f"(raised by `jac` at t = {t!r})")
            raise


def _known_dense(fun):
    try:
        return fun in _DENSE
    except TypeError:
        return False


def _remember_dense(fun):
    try:
        _DENSE.add(fun)
    except TypeError:  # not weak-referenceable
        pass


def _nearby(fun, t0, t1, y0, args, n):
    """The nonzeros of ``jac`` at a state near ``(t0, y0)``, as 0/1 CSC, or None where it raises
    or is not finite there: entries whose value vanishes at ``y0`` (a product with a zero
    component, ``scipy.sparse.diags`` of such values, which drops zeros) or at ``t0``."""
    import scipy.sparse as sps

    rng = np.random.default_rng(0)
    y = y0 * (1.0 + 1e-3 * rng.uniform(0.5, 1.0, n)) + 1e-6 * rng.uniform(0.5, 1.0, n)
    t = t0 + 1e-3 * (t1 - t0) if np.isfinite(t1) else t0 + 1e-3 * max(1.0, abs(t0))
    try:
        value = fun(t, y, *args)
        value = sps.csc_matrix(value, dtype=float)
    except Exception:  # noqa: BLE001 -- only a hint: the pattern at (t0, y0) stands alone
        return None
    if value.shape != (n, n) or not np.all(np.isfinite(value.data)):
        return None
    value.eliminate_zeros()
    value.data[:] = 1.0
    return value


def python_jac(jac, jac_sparsity, implicit, band, t_span, y0, args, sparse_methods=("bdf",)):
    """``(jac, jac_sparsity)`` for the run: a callable ``jac`` returning ``scipy.sparse`` (or any
    callable with ``jac_sparsity``) becomes a :class:`PythonJac`; with a method of
    ``sparse_methods`` (or a ``jac_sparsity`` given) the pattern is the stored entries of
    ``jac(t0, y0)`` (explicit zeros included), joined with the nonzeros at a nearby state
    (:func:`_nearby`) and with ``jac_sparsity``.  Anything else is returned as it came."""
    import scipy.sparse as sps
    from numba.core.dispatcher import Dispatcher

    if not callable(jac) or implicit is None or band is not None:
        return jac, jac_sparsity
    t0, t1 = t_span
    fun = jac.py_func if isinstance(jac, Dispatcher) else jac
    if jac_sparsity is None and (isinstance(jac, Dispatcher) or _known_dense(fun)):
        return jac, None  # compiled code returns no scipy.sparse matrix
    first = fun(t0, y0.copy(), *args)
    if not sps.issparse(first):
        if jac_sparsity is None:
            _remember_dense(fun)
            return jac, None
        return PythonJac(fun, args, y0.size), jac_sparsity
    n = y0.size
    if first.shape != (n, n):
        raise ValueError(f"jac must return an array of shape ({n}, {n}), got {first.shape}")
    wrapped = PythonJac(fun, args, n)
    if jac_sparsity is None and implicit not in sparse_methods:
        return wrapped, None
    pattern = abs(sps.csc_matrix(first, dtype=float, copy=True))
    pattern.data[:] = 1.0
    near = _nearby(fun, t0, t1, y0, args, n)
    if near is not None:
        pattern = pattern + near
    if jac_sparsity is not None:
        pattern = pattern + pattern_csc(jac_sparsity, n)
    return wrapped, pattern
