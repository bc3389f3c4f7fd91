"""Run-time parameters and the adapters that call the user's functions from the loop.

``args`` travel at run time in the problem's context ``ctx`` (float64, layout
``[fault code, fault time, values of args..., state at the fault (n)]``): floats, ints, bools and
float arrays (nested in tuples or lists, which arrive as tuples) are packed into it, so that a new
value changes ``ctx`` but not the compiled code; anything else (strings, integer arrays, objects)
is frozen into the adapter as a constant, which compiles once per distinct value.  An adapter is
generated from the *layout* of ``args`` (which entry goes where), compiled once per user function
and layout, and reused for every value.

An adapter catches an exception of the user's function, or an output of the wrong length, and
records it in ``ctx`` (:func:`report`) with the time and state; the loop stops at its next check
and :func:`raise_fault` re-raises the user's exception in Python (re-running the function at that
state), saying at which ``t`` it happened.
"""

import numba
import numpy as np

from stepsize.ode._bundles import CTX_ARGS, CTX_FAULT, CTX_T
from stepsize.ode._jit import STEPPING

FUN_RAISED, JAC_RAISED, EVENTS_RAISED, FUN_SHAPE, JAC_SHAPE = 1.0, 2.0, 3.0, 4.0, 5.0
WHO = {
    FUN_RAISED: "fun",
    JAC_RAISED: "jac",
    EVENTS_RAISED: "events",
    FUN_SHAPE: "fun",
    JAC_SHAPE: "jac",
}


class Layout:
    """Where each value of ``args`` goes: ``expr`` the source text rebuilding ``args`` from
    ``ctx`` (and the frozen constants ``c0, c1, ...``), ``key`` what identifies the layout (equal
    keys: one adapter), ``values`` this call's packed values."""

    def __init__(self, args, extra=()):
        self.values = []
        self.frozen = {}
        keys = []
        exprs = []
        for a in args:
            e, k = self._pack(a)
            exprs.append(e)
            keys.append(k)
        self.args_expr = "".join(f", {e}" for e in exprs)
        self.extra = []
        for a in extra:
            e, k = self._pack(np.ascontiguousarray(a, dtype=float))
            self.extra.append(e)
            keys.append(k)
        self.key = tuple(keys)

    def _pack(self, value):
        k = CTX_ARGS + len(self.values)
        if isinstance(value, bool | np.bool_):
            self.values.append(float(value))
            return f"(ctx[{k}] != 0.0)", "b"
        if isinstance(value, int | np.integer) and abs(int(value)) < 2**53:
            self.values.append(float(value))
            return f"np.int64(ctx[{k}])", "i"
        if isinstance(value, float | np.floating):
            self.values.append(float(value))
            return f"ctx[{k}]", "f"
        if isinstance(value, np.ndarray) and value.dtype == np.float64 and value.ndim >= 1:
            self.values.extend(value.ravel().tolist())
            expr = f"ctx[{k}:{k + value.size}]"
            if value.ndim > 1:
                expr += f".reshape({value.shape})"
            return expr, ("a", value.shape)
        if isinstance(value, tuple | list) and not hasattr(value, "_fields"):
            parts = [self._pack(v) for v in value]
            expr = "(" + ", ".join(p[0] for p in parts) + ("," if len(parts) == 1 else "") + ")"
            return expr, ("t", tuple(p[1] for p in parts))
        name = f"c{len(self.frozen)}"
        self.frozen[name] = value
        return name, ("c", _constant_key(value))

    def context(self, n):
        """A fresh context for states of size ``n``."""
        ctx = np.zeros(CTX_ARGS + len(self.values) + n)
        ctx[CTX_ARGS : CTX_ARGS + len(self.values)] = self.values
        return ctx


def _constant_key(value):
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    try:
        hash(value)
        return (type(value), value)
    except TypeError:
        return ("id", id(value))


@numba.njit(**STEPPING)
def report(ctx, code, t, y):
    """Record a fault of a user function (the first one wins): code, time, state.  Without
    reference counting: an adapter that calls it from its ``except`` branch costs ~10 ns less
    per call than one calling a counting function."""
    if ctx[CTX_FAULT] == 0.0:
        ctx[CTX_FAULT] = code
        ctx[CTX_T] = t
        off = ctx.size - y.size
        for i in range(y.size):
            ctx[off + i] = y[i]


def no_jac(t, y, out, ctx):
    """The ``jac`` adapter of a problem without ``jac``: the loop differentiates (never called)."""


def no_events(t, y, out, ctx):
    """The ``events`` adapter of a problem without events (never called)."""


def generated(source, name, namespace):
    """The function ``name`` defined by ``source`` in ``namespace`` (adapters are generated so
    that Numba sees the layout of ``args`` as plain code)."""
    namespace = {"np": np, "report": report, "nan": np.nan, "carray": numba.carray, **namespace}
    exec(compile(source, f"<stepsize adapter {name}>", "exec"), namespace)
    return namespace[name]


def rhs_source(layout, vectorized, inplace=False, pointers=False):
    """Source of ``rhs(t, y, out, ctx)`` calling ``fun(t, y, *args)``, or with ``inplace``
    ``fun(t, y, out, *args)``, which writes ``out`` (nothing allocated per call).

    With ``pointers``: ``rhs(t, n, y, out, ctx)`` taking the vectors' data pointers
    (:data:`stepsize.ode._rhs_call.PSIG`), viewed as arrays (``carray``) in the function
    itself, so that the call from the loop and the adapter are one C call."""
    head = "def rhs(t, y, out, ctx):"
    if pointers:
        size = CTX_ARGS + len(layout.values)
        head = f"""def rhs(t, n, y, out, ctx):
    y = carray(y, n)
    out = carray(out, n)
    ctx = carray(ctx, {size} + n)"""
    if inplace:
        return f"""
{head}
    try:
        fun(t, y, out{layout.args_expr})
    except Exception:
        report(ctx, {FUN_RAISED}, t, y)
        for i in range(out.size):
            out[i] = nan
"""
    y = "y.reshape((y.size, 1))" if vectorized else "y"
    get = "r[i, 0]" if vectorized else "r[i]"
    return f"""
{head}
    try:
        r = fun(t, {y}{layout.args_expr})
    except Exception:
        report(ctx, {FUN_RAISED}, t, y)
        for i in range(out.size):
            out[i] = nan
        return
    if len(r) != out.size:
        report(ctx, {FUN_SHAPE}, t, y)
        for i in range(out.size):
            out[i] = nan
        return
    for i in range(out.size):
        out[i] = {get}
"""


def events_source(layout, n_events):
    """Source of ``events(t, y, out, ctx)`` writing every event value."""
    calls = "".join(f"\n        out[{i}] = ev{i}(t, y{layout.args_expr})" for i in range(n_events))
    return f"""
def events(t, y, out, ctx):
    try:{calls}
        pass
    except Exception:
        report(ctx, {EVENTS_RAISED}, t, y)
        out[:] = nan
"""


def jac_source(layout, rows, packed_from, scalar, constant):
    """Source of ``jac(t, y, out, ctx)``: ``out`` dense (n, n), or packed band (``rows``, n) taken
    from a dense matrix (``packed_from = ku >= 0``) or as returned; ``scalar`` for n = 1 returning
    a number; ``constant`` reads the matrix from ``ctx``."""
    if constant:
        call = f"r = {layout.extra[0]}"
    else:
        call = f"r = jacf(t, y{layout.args_expr})"
    if scalar:
        fill = "out[0, 0] = r"
        check = ""
    else:
        src_rows = "n" if packed_from >= 0 else str(rows)
        check = f"""
    if r.shape[0] != {src_rows} or r.shape[1] != n:
        report(ctx, {JAC_SHAPE}, t, y)
        out[:] = nan
        return"""
        if packed_from >= 0:
            fill = f"""for a in range(out.shape[0]):
        for b in range(n):
            i = a - {packed_from} + b
            out[a, b] = r[i, b] if 0 <= i < n else 0.0"""
        else:
            fill = """for a in range(out.shape[0]):
        for b in range(n):
            out[a, b] = r[a, b]"""
    return f"""
def jac(t, y, out, ctx):
    n = y.size
    try:
        {call}
    except Exception:
        report(ctx, {JAC_RAISED}, t, y)
        out[:] = nan
        return{check}
    {fill}
"""


def device_rhs_source(layout, inplace):
    """Source of ``rhs(t, y, out, ctx)`` for a GPU thread: as :func:`rhs_source`, without the
    ``try`` (CUDA device code cannot catch; a failing ``fun`` shows as NaN, which stops the
    member) and without the length check (the output is written element by element)."""
    if inplace:
        return f"""
def rhs(t, y, out, ctx):
    fun(t, y, out{layout.args_expr})
"""
    return f"""
def rhs(t, y, out, ctx):
    r = fun(t, y{layout.args_expr})
    for i in range(out.size):
        out[i] = r[i]
"""
