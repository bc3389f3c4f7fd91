"""A solver callable from the user's own Numba-compiled code (as numbalsoda's ``dop853``).

:func:`njit_solver` turns a right-hand side and an explicit pair into a ``numba.njit`` function
``solver(t_eval, y0, args, rtol, atol) -> (y, status)``: ``y`` (len(t_eval), n) the states at
``t_eval`` (NaN past a failure), ``status`` the loop's code (0 done, negative a failure, messages
in :data:`stepsize.ode._solve.MESSAGES`).  It runs the very loop of :func:`stepsize.ode.solve`
(same steps, same values), specialised to ``fun``: the right-hand side is called directly, not
through a function pointer, and the loop compiles once per ``fun`` when the caller compiles.

``args`` is a tuple of floats and 1-D float arrays, laid out as the example given to the factory
(the values may change from call to call, the layout not); they reach ``fun(t, y, *args)`` (or
``fun(t, y, dydt, *args)`` with ``inplace``) at run time.  An exception raised by ``fun`` inside
compiled code stops the run with status ``FAULT`` (-6) and the state kept as far as it got.
"""

import numba
import numpy as np

from stepsize.control import PRESETS, FilterData
from stepsize.ode._bundles import (
    CTX_ARGS,
    JAC_DIFFERENCES,
    MODE_EXPLICIT,
    Controls,
    ExplicitMethod,
    Problem,
    Steps,
    Switch,
)
from stepsize.ode._context import Layout, generated, rhs_source
from stepsize.ode._jit import ALLOCATING, uncached
from stepsize.ode._loop import integrate
from stepsize.ode._packed import N_OUT, STATUS, packed_count, packed_state
from stepsize.ode._solve import SWITCH
from stepsize.ode._tableaux import TABLEAUX

_OPTIONS = {**ALLOCATING, "cache": False}  # generated source: nothing to cache it by


def _noop(t, y, out, ctx):
    pass


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


def _filter(data):
    return "FilterData(" + ", ".join(repr(v) for v in data) + ")"


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
    layout = Layout(args)
    fn = fun if isinstance(fun, numba.core.dispatcher.Dispatcher) else numba.njit(fun)
    rhs = numba.njit(**_OPTIONS)(generated(rhs_source(layout, False, inplace), "rhs", {"fun": fn}))
    noop = numba.njit(**_OPTIONS)(_noop)
    tab = TABLEAUX[method]
    pi = PRESETS["PI"].data()
    radius = float(tab.stability_radius)
    namespace = {
        "np": np,
        "rhs": rhs,
        "noop": noop,
        "integrate": uncached(integrate),
        "packed_count": packed_count,
        "packed_state": packed_state,
        "N_OUT": N_OUT,
        "STATUS": STATUS,
        "Problem": Problem,
        "ExplicitMethod": ExplicitMethod,
        "Steps": Steps,
        "Controls": Controls,
        "Switch": Switch,
        "FilterData": FilterData,
        "M_c": np.ascontiguousarray(tab.c, dtype=float),
        "M_A": np.ascontiguousarray(tab.A, dtype=float),
        "M_e": np.ascontiguousarray(tab.e, dtype=float),
        "M_e2": np.ascontiguousarray(tab.e2 if tab.e2 is not None else np.zeros(0), dtype=float),
        "M_Q": np.ascontiguousarray(tab.Q, dtype=float),
        "M_ce": np.ascontiguousarray(tab.c_extra, dtype=float),
        "M_Ae": np.ascontiguousarray(tab.A_extra, dtype=float),
        "M_pair": np.array(tab.stiff_pair, dtype=np.int64) % tab.c.size,
    }
    switch = Switch(MODE_EXPLICIT, radius, **SWITCH)  # as solve's (only its mode matters)
    source = f"""
def solver(t_eval, y0, args, rtol, atol):
    n = y0.size
    ctx = np.zeros({CTX_ARGS + n_values} + n)
{pack}    problem = Problem(rhs, noop, noop, ctx, {JAC_DIFFERENCES}, -1, -1, np.zeros(0),
                      np.zeros(0, dtype=np.int64))
    explicit = ExplicitMethod(M_c.copy(), M_A.copy(), M_e.copy(), M_e2.copy(), M_Q.copy(),
                              M_ce.copy(), M_Ae.copy(), M_pair.copy(),
                              {float(tab.error_order + 1)!r})
    controls = Controls({_filter(pi)}, {_filter(pi)}, True)
    switch = Switch{tuple(switch)!r}
    steps = Steps(t_eval[0], t_eval[t_eval.size - 1], np.full(n, float(rtol)),
                  np.full(n, float(atol)), 0.0, np.inf, {int(max_steps)}, t_eval.astype(np.float64),
                  False, False)
    buf = integrate(problem, y0.astype(np.float64), explicit, None, None, controls, switch, steps)
    y = np.full((t_eval.size, n), np.nan)
    for i in range(packed_count(buf, N_OUT)):
        packed_state(buf, i, y[i])
    return y, packed_count(buf, STATUS)
"""
    return numba.njit(**_OPTIONS)(generated(source, "solver", namespace))
