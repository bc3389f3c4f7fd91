"""The JIT machinery of the loop: function types, compile options, interpreted twins, dispatch.

The user's functions reach the loop as functions of one type each, so that the loop compiles
once for all problems: ``rhs(t, y, out, ctx)`` as a C function of pointers
(:data:`stepsize.ode._rhs_call.RHS`), ``events(t, y, out, ctx)`` of type :data:`FUNC`,
``jac(t, y, out, ctx)`` of type :data:`JFUNC`.  ``ctx`` is the run-time context of a
problem (layout in :mod:`stepsize.ode._context`): the values of ``args`` and a slot where an
adapter reports a fault of the user's function.

Loop functions that call the user's functions or keep loop state in records are declared with
:func:`twinned`; for functions Numba cannot compile, :func:`python_twin` rebuilds such a function
as plain Python (same source) whose own twinned callees are twins too, while pure array helpers
(LU, norms) stay compiled.  :func:`interpreted_as` gives a function a plain-Python twin of its own
(record constructors: NumPy records need a ``recarray`` for attribute access).  Only compiled
code calls a loop function, so it is compiled without Numba's Python and C wrappers; the
functions Python calls into are declared :func:`entry`.

:func:`through_pointer` makes compiled callers call a loop function through a pointer that each
call site resolves on its first call, rather than link it in: the loop is then compiled and
optimised once, not again for every layer above it, and a part a run never reaches (the
implicit methods of a non-stiff "auto" run) is never compiled.  :func:`linked_when_alone` makes
that choice per caller at typing time: linked in where nothing else can step (its first argument
is ``None``), through the pointer otherwise; :func:`pointer_on_cpu` makes it per target: through
the pointer on the CPU, linked in on the GPU.
"""

import contextlib
import ctypes
import pickle
import types as pytypes
import zlib

import numba
import numpy as np
from llvmlite import binding as llvm_binding
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.compiler import Flags
from numba.core.registry import CPUDispatcher
from numba.core.targetconfig import ConfigStack
from numba.experimental.function_type import _get_wrapper_address
from numba.extending import intrinsic, overload

_f8 = types.float64
_vec = types.float64[::1]
_mat = types.float64[:, ::1]
FUNC = types.FunctionType(types.void(_f8, _vec, _vec, _vec))
"""Type of ``events(t, y, out, ctx)`` (the ``rhs`` is :data:`stepsize.ode._rhs_call.RHS`)."""
JFUNC = types.FunctionType(types.void(_f8, _vec, _mat, _vec))
"""Type of ``jac(t, y, out, ctx)``: ``out`` is (n, n), or (kl + ku + 1, n) packed band storage."""
NJIT = {"cache": True, "error_model": "numpy", "nogil": True}
"""Options of every loop function: cached on disk; IEEE arithmetic (a division by zero gives
inf or nan, which the loop reports, rather than raising from compiled code); the GIL released,
so that threads run ensemble members in parallel."""
STEPPING = {**NJIT, "_nrt": False}
"""Options of the stepping loop (:func:`stepping`): compiled without Numba's reference counting,
so nothing in it may allocate."""
ALLOCATING = {**NJIT, "_nrt": True}
"""Options of a loop function that allocates scratch arrays (:func:`allocating`)."""


class CompiledFunction:
    """A compiled adapter handed to the loop with its type and address worked out once.

    Numba types a ``Dispatcher`` argument of a first-class function type anew on every call
    (~30 us each); an object with ``_numba_type_`` and ``__wrapper_address__`` costs ~4 us.
    """

    def __init__(self, dispatcher, ftype):
        self.dispatcher = dispatcher  # keeps the compiled code alive
        self._numba_type_ = ftype
        self._address = _get_wrapper_address(dispatcher, ftype.signature)
        self.address = self._address

    def __wrapper_address__(self):
        return self._address

    def __call__(self, *args):
        return self.dispatcher(*args)


def _from_address(ftype):
    """An intrinsic ``f(address) -> ftype``: the first-class function whose C wrapper lives at
    ``address`` (an integer from :attr:`CompiledFunction.address`); a function passes through.

    Passing the address rather than the function object saves the call into compiled code two
    Python calls per function (Numba's unboxing of a first-class function asks Python for its
    C wrapper and its JIT address); the function is then called through its C wrapper, as an
    unboxed adapter is."""

    @intrinsic
    def from_address(typingctx, address):
        if not isinstance(address, types.Integer):
            return address(address), lambda context, builder, sig, args: args[0]

        def codegen(context, builder, sig, args):
            fn = cgutils.create_struct_proxy(ftype)(context, builder)  # zero-filled
            fn.c_addr = builder.inttoptr(args[0], context.get_value_type(types.voidptr))
            return fn._getvalue()

        return ftype(address), codegen

    return from_address


func_at = _from_address(FUNC)
"""``func_at(address)``: the :data:`FUNC` at ``address`` (a function: itself)."""
jfunc_at = _from_address(JFUNC)
"""``jfunc_at(address)``: the :data:`JFUNC` at ``address`` (a function: itself)."""


def compile_adapter(func, ftype, cache=False):
    """``numba.njit`` ``func`` for the function type ``ftype``, as a :class:`CompiledFunction`;
    ``cache``: on disk (for a function of a module, not generated source)."""
    dispatcher = numba.njit(cache=cache, error_model="numpy")(func)
    dispatcher.compile(ftype.signature)
    return CompiledFunction(dispatcher, ftype)


_SOURCES = {}
_OVERRIDES = {}
_TWINS = {}


WITHOUT_WRAPPERS = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}
"""Target options of a loop function called only from compiled code: Numba builds no wrapper
that unboxes its arguments from Python objects (nor a C-callable one).  For a function taking
the run's bundles, nested named tuples of arrays and records, that wrapper is a large part of
the code LLVM optimises and emits, once in the function's own library and again in every
library that links it."""


class _LoopDispatcher(CPUDispatcher):
    """The dispatcher of a loop function compiled without wrappers (:data:`WITHOUT_WRAPPERS`).
    Compiled callers call its native code; a call from Python (a test, a record constructor
    called by the CUDA set-up) goes to a copy compiled with the wrappers, without the disk
    cache, whose index does not tell the two apart."""

    _from_python = None

    def __call__(self, *args, **kwargs):
        if self._from_python is None:
            options = {k: v for k, v in self.targetoptions.items() if k not in WITHOUT_WRAPPERS}
            self._from_python = numba.njit(**{**options, "cache": False})(self.py_func)
        return self._from_python(*args, **kwargs)


def twinned(func):
    """``numba.njit(**NJIT)`` for a loop function; registers its source for :func:`python_twin`."""
    return _register(func, NJIT)


def entry(func):
    """:func:`twinned`, for a function that Python calls (``integrate``, ``ensemble_chunk``):
    compiled with Numba's CPython wrapper, so the call goes straight into compiled code (no C
    wrapper: no caller takes its address)."""
    return _register(func, NJIT, wrappers=True)


def _register(func, options, wrappers=False):
    if wrappers:
        dispatcher = numba.njit(**options, no_cfunc_wrapper=True)(func)
    else:
        compiled = {k: v for k, v in options.items() if k != "cache"}
        dispatcher = _LoopDispatcher(py_func=func, targetoptions={**compiled, **WITHOUT_WRAPPERS})
        if options.get("cache"):
            dispatcher.enable_caching()
    _SOURCES[id(dispatcher)] = func
    return dispatcher


def stepping(func):
    """:func:`twinned` without reference counting (``_nrt=False``), for the loop that runs the
    steps.  Compiled code counts references to every array it copies out of a bundle or views,
    with two atomic updates each; in the per-step code, which hands the run's bundles from
    function to function, that cost more than the steps' arithmetic.  Functions it calls inherit
    the option, so the per-step code allocates nothing: the arrays live in the bundles, made by
    the caller, which keeps them alive; a callee that does allocate is declared
    :func:`allocating` and must return no array."""
    return _register(func, STEPPING)


def allocating(func):
    """:func:`twinned`, with reference counting even when called from :func:`stepping` code:
    for a function that allocates scratch arrays and returns none."""
    return _register(func, ALLOCATING)


def counted_and_free(func):
    """Two compilations of ``func``, a function that makes views of arrays its caller holds
    and returns them: ``(counted, free)``, the first with reference counting (:func:`allocating`:
    for callers that keep what it returns), the second without (:func:`inlined`: for
    :func:`stepping` code, where its views cost nothing).  ``func`` must call nothing that
    returns an array (a callee is compiled once, with the options of its first caller).  To
    Numba, and to its disk cache, whose index does not tell options apart, they are two
    functions (``counted`` one named ``<name>_counted``)."""
    copy = pytypes.FunctionType(func.__code__, func.__globals__, f"{func.__name__}_counted")
    copy.__qualname__ = f"{func.__qualname__}_counted"
    return allocating(copy), inlined(func)


def inlined(func):
    """:func:`twinned`, and inlined into its compiled callers by LLVM (``alwaysinline``): a
    per-step function that takes the run's bundles, whose calls would otherwise pass every
    array in them, field by field.  Inlined by LLVM rather than in Numba's IR, each such
    function is typed and lowered once, not again at every call site and in every caller up
    the chain.  Compiled without reference counting wherever it is called from (a caller
    without :func:`stepping`'s option would otherwise decide it for every caller)."""
    return _register(func, {**STEPPING, "forceinline": True, "inline": _in_llvm_only})


def _in_llvm_only(call, caller_ir, callee_ir):
    """Numba's inlining cost model of :func:`inlined` functions: never in Numba's IR.  A cost
    model rather than ``"never"``: the CUDA target takes a set ``inline`` option as its own
    ``forceinline``, so that in the GPU kernel too the step functions are inlined (by NVVM)."""
    return False


def interpreted_as(python_func):
    """Like :func:`twinned`, with ``python_func`` as the twin."""

    def wrap(func):
        dispatcher = _register(func, NJIT)
        _OVERRIDES[id(dispatcher)] = python_func
        return dispatcher

    return wrap


def intrinsic_twinned(python_func):
    """``numba.extending.intrinsic``, with ``python_func`` as the twin."""

    def wrap(func):
        compiled = intrinsic(func)
        _OVERRIDES[id(compiled)] = python_func
        return compiled

    return wrap


def python_twin(func, name=None):
    """Plain-Python version of ``func`` (a function or a :func:`twinned` dispatcher)."""
    if id(func) in _OVERRIDES:
        return _OVERRIDES[id(func)]
    func = _SOURCES.get(id(func), func)
    key = id(func)
    if key not in _TWINS:
        namespace = dict(func.__globals__)
        _TWINS[key] = pytypes.FunctionType(func.__code__, namespace, name or func.__name__)
        for ref in func.__code__.co_names:
            target = namespace.get(ref)
            if id(target) in _SOURCES or id(target) in _OVERRIDES:
                namespace[ref] = python_twin(target)
    return _TWINS[key]


def _type_key(value):
    """What determines the Numba type of ``value`` (None when unknown: no caching)."""
    if isinstance(value, np.ndarray):
        f = value.flags
        return (value.dtype.str, value.ndim, f.c_contiguous, f.f_contiguous, f.writeable, f.aligned)
    if isinstance(value, tuple):
        keys = tuple(_type_key(v) for v in value)
        return None if any(k is None for k in keys) else (type(value), keys)
    if value is None or type(value) in (bool, int, float):
        return type(value)
    return getattr(value, "_numba_type_", None)


_TYPES = {}


def fast_dispatch(dispatcher):
    """Cache the Numba types of named-tuple arguments by structure (dtype, layout of each array,
    type of each scalar), so that calling ``dispatcher`` with bundles costs microseconds: Numba's
    own typing of a named tuple of arrays takes ~50-250 us per argument and call."""
    typeof_pyval = dispatcher.typeof_pyval

    def cached(value):
        key = _type_key(value) if isinstance(value, tuple) else None
        if key is None:
            return typeof_pyval(value)
        tp = _TYPES.get(key)
        if tp is None:
            tp = _TYPES[key] = typeof_pyval(value)
        else:
            dispatcher._types_active_call.add(tp)
        return tp

    dispatcher.typeof_pyval = cached
    return dispatcher


def entry_point(dispatcher, args):
    """The compiled entry point of ``dispatcher`` for these ``args`` (already compiled for
    them), or None: calling it skips Numba's typing of every argument and its search for the
    overload, the larger part of the fixed cost of a call.  Valid for any later arguments of
    the same Numba types (the caller keys it by what fixes them)."""
    sig = tuple(dispatcher.typeof_pyval(a) for a in args)
    cres = dispatcher.overloads.get(sig)
    return None if cres is None else cres.entry_point


_NATIVE = {}
"""The targets of :func:`through_pointer`, by name (the resolver finds them by it)."""
_RESOLVED = {}
RESOLVE_FAILURE = [None]
"""The exception of the last target that :func:`_resolve` could not compile (the call site
raises a ``RuntimeError`` naming the target)."""


def _resolve(key):
    """The address of the compiled code that a :func:`through_pointer` call site asks for by
    ``key`` (the target's name, its argument and result types, pickled); compiled, or loaded
    from the disk cache, on first use.  0 on failure, which the call site raises."""
    try:
        address = _RESOLVED.get(key)
        if address is None:
            name, argtys, restype = pickle.loads(bytes.fromhex(key.decode()))
            dispatcher, inherited = _NATIVE[name]
            with ConfigStack().enter(inherited) if inherited else contextlib.nullcontext():
                dispatcher.compile(argtys)
            cres = dispatcher.overloads[argtys]
            if cres.signature.return_type != restype:
                raise TypeError(
                    f"{name} returns {cres.signature.return_type}, its caller expects {restype}"
                )
            address = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
            _RESOLVED[key] = address
        return address
    except BaseException as exc:  # raised by the call site, in compiled code
        RESOLVE_FAILURE[0] = exc
        return 0


_RESOLVER = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p)(_resolve)
_RESOLVER_SYMBOL = "stepsize_ode_resolve_native"
llvm_binding.add_symbol(_RESOLVER_SYMBOL, ctypes.cast(_RESOLVER, ctypes.c_void_p).value)


def _pointer_call(name, restype):
    """The intrinsic ``call(args)``: ``_NATIVE[name](*args)`` through a pointer that the call site
    keeps in a global of its own, asked of :func:`_resolve` on its first call."""

    @intrinsic
    def call(typingctx, args):
        argtys = tuple(args)
        key = pickle.dumps((name, argtys, restype)).hex()

        def codegen(context, builder, sig, llargs):
            module = builder.module
            voidptr = ir.IntType(8).as_pointer()
            cell = cgutils.add_global_variable(
                module, voidptr, f"native.{name}.{zlib.crc32(key.encode()):08x}"
            )
            cell.linkage = "internal"
            cell.initializer = ir.Constant(voidptr, None)
            with builder.if_then(cgutils.is_null(builder, builder.load(cell)), likely=False):
                resolver = cgutils.get_or_insert_function(
                    module, ir.FunctionType(voidptr, [voidptr]), _RESOLVER_SYMBOL
                )
                builder.store(
                    builder.call(resolver, [context.insert_const_string(module, key)]), cell
                )
            address = builder.load(cell)
            with cgutils.if_unlikely(builder, cgutils.is_null(builder, address)):
                context.call_conv.return_user_exc(
                    builder, RuntimeError, (f"stepsize could not compile {name}",)
                )
            fnty = context.call_conv.get_function_type(restype, argtys)
            fn = builder.bitcast(address, fnty.as_pointer())
            flat = cgutils.unpack_tuple(builder, llargs[0], len(argtys))
            status, result = context.call_conv.call_function(builder, fn, restype, argtys, flat)
            with cgutils.if_unlikely(builder, status.is_error):
                context.call_conv.return_status_propagate(builder, status)
            return result

        return restype(args), codegen

    return call


def pointer_call(dispatcher, restype, stepping=False):
    """``call(args)``: ``dispatcher(*args)`` through a pointer, as :func:`through_pointer` calls it,
    without its wrapper: for a caller with reference counting that calls it once per run, where
    the wrapper (which counts references to every array of the bundles it hands on) took longer
    to compile than the call saves (``grown_run``: about 0.5 s of a cold start)."""
    name = f"{dispatcher.py_func.__module__}.{dispatcher.py_func.__qualname__}"
    inherited = None  # a compilation started from Python: Numba's defaults
    if stepping:  # the options a callee of stepping code inherits (the others: Flags' defaults)
        inherited = Flags()
        inherited.nrt = False
    _NATIVE[name] = dispatcher, inherited
    call = _pointer_call(name, restype)
    _OVERRIDES[id(call)] = lambda args: python_twin(dispatcher)(*args)
    return call


def through_pointer(dispatcher, restype, stepping=False):
    """``dispatcher`` for compiled callers, called through a pointer rather than linked in; it
    returns ``restype`` (a Numba type); ``stepping``: called from :func:`stepping` code, whose
    options it inherits (no reference counting) as a linked callee would.

    A compiled caller of a dispatcher links the callee's code into its own and optimises all of
    it again: the whole stepping loop, once more for each layer above it (``integrate``, the
    ensemble).  Called through a pointer, the callee is compiled once (cached on disk) and
    shared, and only when a run first calls it: a method family the run never steps with (the
    implicit one of a non-stiff "auto" run) is never compiled.  The call costs an indirect
    call and a load.  The interpreted twin calls the twin of ``dispatcher``."""
    call = pointer_call(dispatcher, restype, stepping)

    def via_pointer(*args):
        return call(args)

    # Without reference counting, the wrapper hands the bundles on without two atomic updates
    # for every array in them; Numba requires it where the result is an array it returns.
    returns_array = any(isinstance(t, types.Array) for t in _leaves(restype))
    wrapper = _register(via_pointer, NJIT if returns_array else STEPPING)
    _OVERRIDES[id(wrapper)] = lambda *args: python_twin(dispatcher)(*args)
    return wrapper


def _leaves(tp):
    """The types inside the (nested) tuple type ``tp``; ``[tp]`` for any other type."""
    if isinstance(tp, types.BaseTuple):
        return [leaf for t in tp.types for leaf in _leaves(t)]
    return [tp]


def pointer_on_cpu(dispatcher, restype, stepping=False):
    """``call(args)``: ``dispatcher(*args)`` through a pointer in CPU code (:func:`through_pointer`,
    ``restype``, ``stepping``), so that it compiles when a run first calls it (event location,
    which a run without events never reaches), and linked in on the CUDA target, which calls
    no pointers.  The interpreted twin calls the twin of ``dispatcher``."""
    indirect = through_pointer(dispatcher, restype, stepping)

    def call(args):
        return python_twin(dispatcher)(*args)

    # Not inlined in Numba's IR (LLVM inlines the small function): inlined there, into the
    # loop's code without reference counting, the loop went on with event values from before
    # the call (events were "located" on every later step).
    @overload(call, target="cpu")
    def _on_cpu(args):
        return lambda args: indirect(*args)

    @overload(call, target="cuda")
    def _on_cuda(args):
        return lambda args: dispatcher(*args)

    return call


def linked_when_alone(dispatcher, restype, stepping=False):
    """``call(other, args)``: ``dispatcher(*args)``, linked in where ``other`` is ``None``, and
    through a pointer (:func:`through_pointer`, ``restype``, ``stepping``) where it is not.

    The choice is made when Numba types the call (``@overload`` on ``other``'s type, the call
    inlined in Numba's IR), not by an ``other is None`` branch, which Numba was found to type
    in "auto" runs too (they then compiled the attempt from a cold cache): so a caller that may
    also step with ``other`` (the explicit pair of an "auto" run) compiles ``dispatcher`` only
    when it first calls it, while one that steps with ``dispatcher`` alone (``method="bdf"``)
    links it in and passes its bundles as values, not field by field through the pointer's
    calling convention.  The interpreted twin calls the twin of ``dispatcher`` either way."""
    indirect = through_pointer(dispatcher, restype, stepping)

    def call(other, args):
        return python_twin(dispatcher)(*args)

    @overload(call, inline="always")
    def _typed(other, args):
        if isinstance(other, types.NoneType):
            return lambda other, args: dispatcher(*args)
        return lambda other, args: indirect(*args)

    return call
