"""A solver callable from the user's own Numba-compiled code (as numbalsoda's ``dop853``).

:func:`njit_solver` turns a right-hand side and an explicit pair into a ``numba.njit`` function
``solver(t_eval, y0, args, rtol, atol) -> (y, status)``: ``y`` (len(t_eval), n) the states at
``t_eval`` (NaN past a failure), ``status`` the loop's code (0 done, negative a failure, messages
in :data:`stepsize.ode._solve.MESSAGES`).  It calls the very loop of :func:`stepsize.ode.solve`
with the same bundles (same steps, same values): the compiled loop ``solve`` uses, loaded from
Numba's disk cache, with ``fun``'s adapter passed by its address (as numbalsoda takes the
address of a ``cfunc``), so that a new ``fun`` compiles its adapter and the small ``solver``
around the loop (seconds), not the loop (30-40 s).  Per call, from ``@njit`` code, it costs the
loop's own set-up (its store, the first step, the packed output: six allocations,
:mod:`stepsize.ode._store`) and no Python: 1.05 us for a two-step run against numbalsoda's
1.03 us; called from Python, 2.0 us against 3.2 us (``benchmarks/ode_micro.py``, ``fixed``).
The method's arrays reach the loop as views of the factory's own by address, and ``y0`` and
``t_eval`` as they are when they are C-contiguous float64 vectors: nothing is copied per call.

``args`` is a tuple of floats and 1-D float arrays, laid out as the example given to the factory
(the values may change from call to call, the layout not); they reach ``fun(t, y, *args)`` (or
``fun(t, y, dydt, *args)`` with ``inplace``) at run time.  An exception raised by ``fun`` inside
compiled code stops the run with status ``FAULT`` (-6) and the state kept as far as it got.
"""

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic, overload

from stepsize.ode._build import no_events_adapter, no_jac_adapter, rhs_adapter
from stepsize.ode._bundles import (
    CTX_ARGS,
    JAC_DIFFERENCES,
    MODE_EXPLICIT,
    ExplicitMethod,
    Problem,
    Steps,
)
from stepsize.ode._context import Layout, generated
from stepsize.ode._jit import ALLOCATING
from stepsize.ode._loop import integrate
from stepsize.ode._packed import N_OUT, STATUS, packed_count, packed_state
from stepsize.ode._solve import method_bundles
from stepsize.ode._tableaux import TABLEAUX

_OPTIONS = {**ALLOCATING, "cache": False}  # generated source: nothing to cache it by


def _pointer_intrinsic(dtype):
    """An intrinsic ``f(address) -> dtype*`` (for ``numba.carray``)."""
    ptr = types.CPointer(dtype)

    @intrinsic
    def pointer(typingctx, address):
        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptr))

        return ptr(types.int64), codegen

    return pointer


_F8_AT = _pointer_intrinsic(types.float64)
_I8_AT = _pointer_intrinsic(types.int64)
_EMPTY_F8, _EMPTY_I8 = np.zeros(1), np.zeros(1, dtype=np.int64)  # zero-size views of these


def float64_vector(a):
    """``a`` itself when it is a C-contiguous float64 vector (the loop only reads it), else a
    float64 copy; in compiled code the choice is made by type, when compiled."""
    return np.ascontiguousarray(a, dtype=np.float64)


@overload(float64_vector)
def _float64_vector(a):
    if isinstance(a, types.Array) and a.dtype == types.float64 and a.layout == "C":
        return lambda a: a
    return lambda a: np.ascontiguousarray(a).astype(np.float64)


def _view_source(a):
    """Source of a writable view of the array ``a`` (kept alive by the caller) at its address:
    a global array is a read-only constant in compiled code, of another type than the loop's
    bundles, and a copy per call costs an allocation."""
    at = "_F8_AT" if a.dtype == np.float64 else "_I8_AT"
    return f"numba.carray({at}(np.int64({a.ctypes.data})), {a.shape!r})"


_PACK_SCALAR = "    ctx[{k}] = args[{i}]\n"
_PACK_ARRAY = "    for j in range({size}):\n        ctx[{k} + j] = args[{i}][j]\n"


def _packing(args):
    """Source lines writing the values of ``args`` into ``ctx`` (floats and 1-D float arrays)."""
    lines, k = [], CTX_ARGS
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype == np.float64:
            lines.append(_PACK_ARRAY.format(size=a.size, k=k, i=i))
            k += a.size
        elif isinstance(a, int | float | np.integer | np.floating) and not isinstance(a, bool):
            lines.append(_PACK_SCALAR.format(k=k, i=i))
            k += 1
        else:
            raise TypeError(
                f"args[{i}]: njit_solver takes floats and 1-D float arrays, got {type(a).__name__}"
            )
    return "".join(lines), k - CTX_ARGS


def njit_solver(fun, method="dop853", args=(), inplace=False, max_steps=100_000):
    """A ``numba.njit`` solver for ``fun`` with the explicit pair ``method``.

    ``fun(t, y, *args)`` returning dy/dt, or with ``inplace=True`` ``fun(t, y, dydt, *args)``
    writing it; ``args`` an example of the parameters' layout (see the module docstring).  The
    step-size controller is ``solve``'s default for explicit pairs (Hairer's PI controller).

    Returns ``solver(t_eval, y0, args, rtol, atol) -> (y, status)``, callable from Python or
    from ``@numba.njit`` code; ``t_eval`` (at least 2 increasing or decreasing times, the first
    the initial time) where ``y`` is wanted, ``rtol``, ``atol`` scalars.
    """
    if method not in TABLEAUX:
        raise ValueError(f"method: an explicit pair of {sorted(TABLEAUX)}, got {method!r}")
    args = tuple(args)
    pack, n_values = _packing(args)
    rhs = rhs_adapter(fun, Layout(args), inplace)
    ex, _, _, controls, switch, _ = method_bundles(MODE_EXPLICIT, method, None, None)
    namespace = {
        "np": np,
        "numba": numba,
        "_F8_AT": _F8_AT,
        "_I8_AT": _I8_AT,
        "float64_vector": float64_vector,
        "integrate": integrate,
        "packed_count": packed_count,
        "packed_state": packed_state,
        "N_OUT": N_OUT,
        "STATUS": STATUS,
        "Problem": Problem,
        "ExplicitMethod": ExplicitMethod,
        "Steps": Steps,
        "CONTROLS": controls,
        "SWITCH": switch,
        "SUMS": ex.sums,  # the pair's marker: selects its sums over the stages
        # the adapters and the method's arrays, viewed by address, live as long as the solver
        "KEEP": (rhs, no_jac_adapter(), no_events_adapter(), ex, _EMPTY_F8, _EMPTY_I8),
    }
    # writable views of the arrays: the types of solve's bundles, so that the solver calls the
    # loop that solve compiled (one specialisation for both)
    methods = ", ".join(_view_source(a) for a in (ex.c, ex.Q, ex.c_extra, ex.pair))
    no_dir = f"numba.carray(_F8_AT(np.int64({_EMPTY_F8.ctypes.data})), 0)"
    no_term = f"numba.carray(_I8_AT(np.int64({_EMPTY_I8.ctypes.data})), 0)"
    source = f"""
def solver(t_eval, y0, args, rtol, atol):
    n = y0.size
    m = {CTX_ARGS + n_values} + n
    buf = np.zeros(m + 2 * n)  # one allocation: the context, rtol and atol per component
    ctx, tol = buf[:m], buf[m:]
{pack}    problem = Problem(np.int64({rhs.address}), np.int64({no_jac_adapter().address}),
                      np.int64({no_events_adapter().address}), ctx, np.int64({JAC_DIFFERENCES}),
                      np.int64(-1), np.int64(-1), {no_dir}, {no_term})
    explicit = ExplicitMethod({methods}, SUMS, {ex.k!r})
    for i in range(n):
        tol[i] = rtol
        tol[n + i] = atol
    t_eval = float64_vector(t_eval)
    steps = Steps(t_eval[0], t_eval[t_eval.size - 1], tol[:n], tol[n:], 0.0, np.inf,
                  np.int64({int(max_steps)}), t_eval, False, False)
    buf = integrate(problem, float64_vector(y0), explicit, None, None, CONTROLS, SWITCH,
                    steps, None)
    y = np.full((t_eval.size, n), np.nan)
    for i in range(packed_count(buf, N_OUT)):
        packed_state(buf, i, y[i])
    return y, packed_count(buf, STATUS)
"""
    return numba.njit(**_OPTIONS)(generated(source, "solver", namespace))
