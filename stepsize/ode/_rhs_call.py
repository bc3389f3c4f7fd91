"""The right-hand side as a C function of pointers, called with arrays.

The loop calls ``problem.rhs(t, y, out, ctx)`` with three C-contiguous float64 vectors.  As a
first-class function of :data:`~stepsize.ode._jit.FUNC`, each call hands over three array
structures of seven fields each (22 machine words, most of them on the stack) to a wrapper that
rebuilds them; as a C function ``rhs(t, n, y, out, ctx)`` of :data:`PSIG` (``t``, ``y.size``
and the three data pointers, all in registers) a call costs about 20 ns instead of 30 for
Lorenz, about 110 ns per DOP853 step.  :data:`RHS` is the Numba type of such a function inside
the loop: calling it with arrays passes their data pointers (:func:`_call`), so every call site
keeps the array form, and the interpreted twin calls its Python function with the same
arguments.

The adapter itself (:func:`stepsize.ode._context.rhs_source` with ``pointers``) views the
pointers as arrays: one C call per evaluation, from the loop into the adapter with the user's
function inlined.

An adapter compiles once per user function and layout (~0.5 CPU-s); :func:`cached_rhs` keeps it
in Numba's disk cache, so that a new process loads it (with the user's function linked in) rather
than compile either.
"""

import ctypes
import hashlib
import marshal
import os
import types as pytypes

import llvmlite.ir as llir
import numba
import numpy as np
from numba import types
from numba.core import typing
from numba.core.dispatcher import Dispatcher
from numba.core.imputils import lower_builtin
from numba.extending import NativeValue, intrinsic, models, register_model, unbox
from numba.misc.appdirs import user_cache_dir

from stepsize.ode._context import report
from stepsize.ode._jit import CompiledFunction

_f8 = types.float64
_ptr = types.CPointer(_f8)
PSIG = types.void(types.float64, types.intp, _ptr, _ptr, _ptr)
"""``rhs(t, n, y, out, ctx)``: ``y``, ``out`` of ``n`` entries, ``ctx`` the problem's context."""
_PFUNC = types.FunctionType(PSIG)
_C_RHS = ctypes.CFUNCTYPE(None, ctypes.c_double, ctypes.c_ssize_t, *3 * (ctypes.c_void_p,))


class RhsType(types.Callable):
    """A C function of :data:`PSIG`, called as ``rhs(t, y, out, ctx)`` with C-contiguous float64
    vectors (``y.size`` is passed as ``n``)."""

    def __init__(self):
        super().__init__(name="stepsize.rhs")

    def get_call_type(self, context, args, kws):
        vec = all(
            isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C" and a.dtype == _f8
            for a in args[1:]
        )
        if kws or len(args) != 4 or not vec or not isinstance(args[0], types.Number):
            return None
        return typing.signature(types.void, types.float64, *args[1:], recvr=self)

    def get_call_signatures(self):
        return (), True

    def get_impl_key(self, sig):
        return type(self)


RHS = RhsType()
"""The Numba type of a right-hand side in the loop (:class:`RhsType`)."""


@register_model(RhsType)
class _RhsModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, llir.IntType(8).as_pointer())


@unbox(RhsType)
def _unbox(typ, obj, c):
    """A :class:`RhsFunction` from Python: its ``address``."""
    address = c.pyapi.object_getattr_string(obj, "address")
    ptr = c.pyapi.long_as_voidptr(address)
    c.pyapi.decref(address)
    return NativeValue(ptr, is_error=c.pyapi.c_api_error())


@lower_builtin(RhsType, RhsType, types.Number, types.Array, types.Array, types.Array)
def _call(context, builder, sig, args):
    fn, t, y, out, ctx = args
    t = context.cast(builder, t, sig.args[1], types.float64)
    arrays = [
        context.make_array(ty)(context, builder, value)
        for ty, value in zip(sig.args[2:], (y, out, ctx))
    ]
    f8p = llir.DoubleType().as_pointer()
    size = context.get_value_type(types.intp)
    fnty = llir.FunctionType(llir.VoidType(), [llir.DoubleType(), size, f8p, f8p, f8p])
    ptr = builder.bitcast(fn, fnty.as_pointer())
    builder.call(ptr, [t, arrays[0].nitems, *(a.data for a in arrays)])
    return context.get_dummy_value()


@intrinsic
def rhs_at(typingctx, address):
    """``rhs_at(address)``: the :data:`RHS` function at ``address`` (an integer); anything else
    (a compiled array-form function, :mod:`stepsize.ode._njit_solver`) passes through."""
    if not isinstance(address, types.Integer):
        return address(address), lambda context, builder, sig, args: args[0]

    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], llir.IntType(8).as_pointer())

    return RHS(address), codegen


class RhsFunction(CompiledFunction):
    """A compiled C function of :data:`PSIG`, typed :data:`RHS` when handed to the loop."""

    def __init__(self, dispatcher):
        super().__init__(dispatcher, _PFUNC)
        self._numba_type_ = RHS
        self._c = _C_RHS(self.address)

    def __call__(self, t, y, out, ctx):
        """From Python as in the loop: ``rhs(t, y, out, ctx)`` with C-contiguous float64
        vectors (their data pointers go to the C function)."""
        for name, a in (("y", y), ("out", out), ("ctx", ctx)):
            if a.dtype != np.float64 or a.ndim != 1 or not a.flags.c_contiguous:
                raise ValueError(f"{name}: a C-contiguous float64 vector")
        self._c(float(t), y.size, *(a.ctypes.data for a in (y, out, ctx)))


def compile_rhs(func, cache=False):
    """``numba.njit`` ``func`` (``rhs(t, n, y, out, ctx)``) for :data:`PSIG`, as a
    :class:`RhsFunction`; ``cache``: on disk (``func`` defined in a file)."""
    dispatcher = numba.njit(cache=cache, error_model="numpy")(func)
    dispatcher.compile(PSIG)
    return RhsFunction(dispatcher)


def cached_rhs(source, namespace):
    """The adapter ``rhs`` defined by ``source`` (globals ``namespace``: ``fun`` and the
    shared names), compiled through Numba's disk cache; None when it cannot be cached (a
    frozen constant of ``args``, a closure, a global of unknown kind).

    The source is written to a file named by a digest of itself and of everything the
    compiled code depends on (:func:`fingerprint` of ``fun`` and of ``report``), so that the
    cache, which Numba keys by the file, never serves code compiled from another function or
    another value of a global it reads."""
    if set(namespace) != {"fun"}:
        return None
    mark = fingerprint(namespace["fun"])
    folder = _adapter_folder()
    if mark is None or folder is None:
        return None
    mark += fingerprint(report)  # linked into the adapter too
    digest = hashlib.sha256(f"{numba.__version__}\n{source}\n".encode() + mark).hexdigest()
    path = os.path.join(folder, f"rhs_{digest[:24]}.py")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as fh:
            fh.write(source)
        os.replace(tmp, path)  # atomic: a concurrent process sees all of it or nothing
    glob = {"np": np, "nan": np.nan, "carray": numba.carray, **namespace}
    glob["report"] = report
    # an importable module name: a cached function's environment is rebuilt from it in the
    # next process (None, exec's default, fails there and the run falls back to Python)
    glob["__name__"] = __name__
    exec(compile(source, path, "exec"), glob)
    return compile_rhs(glob["rhs"], cache=True)


_FOLDER = []


def _adapter_folder():
    """Where generated adapter sources live: under ``NUMBA_CACHE_DIR`` when set, else next to
    this package's own cache (``__pycache__``), else in the user's cache folder; None when
    none is writable."""
    if not _FOLDER:
        here = os.path.join(os.path.dirname(__file__), "__pycache__", "adapters")
        candidates = [here, os.path.join(user_cache_dir("stepsize"), "adapters")]
        if numba.config.CACHE_DIR:
            candidates = [os.path.join(numba.config.CACHE_DIR, "stepsize_adapters")]
        _FOLDER.append(next((c for c in candidates if _writable(c)), None))
    return _FOLDER[0]


def _writable(folder):
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def fingerprint(fun, _seen=None):
    """Bytes that change whenever the compiled code of ``fun`` (a function or a Numba
    dispatcher) may: its byte code and constants, its compile options, and the value of every
    global it reads (numbers, strings, arrays; functions by their own fingerprint; modules by
    name), since Numba freezes globals into compiled code.  None for a closure or a global of
    another kind."""
    seen = set() if _seen is None else _seen
    options = b""
    if isinstance(fun, Dispatcher):
        options = repr(sorted(fun.targetoptions.items())).encode()
        fun = fun.py_func
    if not isinstance(fun, pytypes.FunctionType) or fun.__closure__:
        return None
    if id(fun) in seen:
        return b"recursive"
    seen.add(id(fun))
    parts = [marshal.dumps(fun.__code__), options]
    for name in sorted(_names(fun.__code__)):
        if name not in fun.__globals__:
            continue
        part = _value_mark(fun.__globals__[name], seen)
        if part is None:
            return None
        parts.append(name.encode() + b"=" + part)
    return hashlib.sha256(b"\0".join(parts)).digest()


def _names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, pytypes.CodeType):
            names |= _names(const)
    return names


def _value_mark(value, seen):
    if isinstance(value, pytypes.ModuleType):
        return b"module " + value.__name__.encode()
    if value is None or isinstance(value, bool | int | float | complex | str | np.generic):
        return repr((type(value).__name__, value)).encode()
    if isinstance(value, np.ndarray):
        return repr((value.dtype.str, value.shape)).encode() + value.tobytes()
    if isinstance(value, tuple):
        parts = [_value_mark(v, seen) for v in value]
        return None if None in parts else b"(" + b",".join(parts) + b")"
    if isinstance(value, pytypes.FunctionType | Dispatcher):
        return fingerprint(value, seen)
    return None
