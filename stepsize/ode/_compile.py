"""Compiling the user's right-hand side, Jacobian and event functions for the integration loop.

``fun(t, y, *args)`` is compiled with ``numba.njit`` when Numba can type it.  The loop calls an
adapter ``rhs(t, y, out)`` that writes the derivative into ``out`` (so ``fun`` may return an array,
a list or a tuple) with ``args`` frozen into it; adapters have one function type
(:data:`stepsize.ode._kernel.FUNC`), so the loop itself is compiled once and cached on disk.
Event functions are gathered into one adapter writing the vector of their values; ``jac(t, y,
*args)`` gets an adapter ``jac(t, y, out)`` of type :data:`stepsize.ode._types.JFUNC`.  When Numba
cannot compile them, the interpreted path is used and a warning says why.
"""

import warnings
import weakref

import numba
import numpy as np
from numba.core.dispatcher import Dispatcher
from numba.core.errors import NumbaError

from stepsize.ode._types import FUNC, JFUNC, compile_adapter

_CACHE = weakref.WeakKeyDictionary()


def _short(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _entry(fun):
    try:
        return _CACHE.setdefault(fun, {})
    except TypeError:  # not weak-referenceable: compile afresh
        return {}


def _key(kind, args):
    try:
        hash(args)
    except TypeError:  # arrays in args: no reuse
        return None
    return (kind, args)


def _warn(what, exc):
    warnings.warn(
        f"Numba could not compile {what} ({_short(exc)}); using the interpreted path, which gives "
        "the same results more slowly",
        RuntimeWarning,
        stacklevel=4,
    )


def _jit(fun, entry):
    if "jit" not in entry:
        entry["jit"] = fun if isinstance(fun, Dispatcher) else numba.njit(fun)
    return entry["jit"]


def _python(fun):
    return fun.py_func if isinstance(fun, Dispatcher) else fun


def compile_rhs(fun, t0, y0, args, compiled):
    """Return ``(rhs, compiled)``; checks that ``fun`` returns an array of ``y0``'s shape."""
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    entry = _entry(fun)
    if compiled:
        try:
            value = _jit(fun, entry)(t0, y0.copy(), *args)
        except NumbaError as exc:
            _warn("`fun`", exc)
            compiled = False
    if not compiled:
        value = _python(fun)(t0, y0.copy(), *args)
    shape = np.shape(value)
    if shape != y0.shape:
        raise ValueError(f"fun must return an array of shape {y0.shape} (as y0), got {shape}")
    key = _key(compiled, args)
    if key in entry:
        return entry[key], compiled
    if compiled:
        f = entry["jit"]

        def rhs(t, y, out):
            r = f(t, y, *args)
            for i in range(out.size):
                out[i] = r[i]

        rhs = compile_adapter(rhs, FUNC)
    else:
        f = _python(fun)

        def rhs(t, y, out):
            out[:] = f(t, y, *args)

    if key is not None:
        entry[key] = rhs
    return rhs, compiled


def _no_events(t, y, out):
    pass


_no_events_compiled = compile_adapter(_no_events, FUNC)


def compile_events(events, t0, y0, args, compiled):
    """Return ``(g, directions, terminal, compiled)`` for solve_ivp-style event functions.

    ``g(t, y, out)`` writes all event values; ``directions`` and ``terminal`` come from each
    function's ``direction`` and ``terminal`` attributes (0 and False when absent).
    """
    if events is None:
        g = _no_events_compiled if compiled else _no_events
        return g, np.zeros(0), np.zeros(0, dtype=bool), compiled
    fns = list(events) if isinstance(events, list | tuple) else [events]
    for i, ev in enumerate(fns):
        if not callable(ev):
            raise TypeError(f"events[{i}] must be callable, got {type(ev).__name__}")
    directions = np.array([float(getattr(ev, "direction", 0.0)) for ev in fns])
    terminal = np.array([bool(getattr(ev, "terminal", False)) for ev in fns])
    values = np.empty(len(fns))
    if compiled:
        try:
            g = _gather([_jit(ev, _entry(ev)) for ev in fns], args, True)
            g(t0, y0.copy(), values)
        except NumbaError as exc:
            _warn("the event functions", exc)
            compiled = False
    if not compiled:
        g = _gather([_python(ev) for ev in fns], args, False)
        g(t0, y0.copy(), values)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"event functions must return finite floats, got {values} at t0")
    return g, directions, terminal, compiled


_GATHERED = {}


def _gather(fns, args, compiled):
    """One adapter writing every event value (generated source, so Numba can compile it).

    Adapters are reused for the same event functions and (hashable) ``args``.
    """
    key = _key((tuple(id(f) for f in fns), compiled), args)
    if key is not None and key in _GATHERED and all(
        a is b for a, b in zip(_GATHERED[key][1], fns)
    ):
        return _GATHERED[key][0]
    lines = ["def events(t, y, out):"]
    lines += [f"    out[{i}] = ev{i}(t, y, *args)" for i in range(len(fns))]
    namespace = {"args": args, **{f"ev{i}": f for i, f in enumerate(fns)}}
    exec("\n".join(lines), namespace)
    g = namespace["events"]
    g = compile_adapter(g, FUNC) if compiled else g
    if key is not None:
        _GATHERED[key] = (g, fns)
    return g


def _no_jac(t, y, out):
    pass


_no_jac_compiled = compile_adapter(_no_jac, JFUNC)


def compile_jac(jac, t0, y0, args, compiled, band):
    """Return ``(jac, have_jac, compiled)``: an adapter writing ``J`` into ``out``.

    ``jac`` is None (finite differences are used), a constant array, or ``jac(t, y, *args)``
    returning the (n, n) matrix ``dF/dy`` -- or with ``band = (kl, ku)`` either that or the packed
    band ``(kl + ku + 1, n)`` with ``J[ku + i - j, j] = dF_i/dy_j`` (SciPy's LSODA convention).
    """
    n = y0.size
    if jac is None:
        return (_no_jac_compiled if compiled else _no_jac), False, compiled
    if not callable(jac):
        const = np.array(jac, dtype=float)

        def jac(t, y, *args):
            return const

        entry = {}
    else:
        entry = _entry(jac)
    if compiled:
        try:
            value = _jit(jac, entry)(t0, y0.copy(), *args)
        except NumbaError as exc:
            _warn("`jac`", exc)
            compiled = False
    if not compiled:
        value = _python(jac)(t0, y0.copy(), *args)
    shape = np.shape(value)
    packed = band is not None and shape == (band[0] + band[1] + 1, n) and shape != (n, n)
    if shape != (n, n) and not packed:
        expected = f"({n}, {n})" if band is None else f"({n}, {n}) or {(sum(band) + 1, n)}"
        raise ValueError(f"jac must return an array of shape {expected}, got {shape}")
    key = _key(("jac", compiled, band, packed), args)
    if key in entry:
        return entry[key], True, compiled
    if compiled:
        f = entry["jit"]
    else:
        py_jac = _python(jac)

        def f(t, y, *args):
            return np.asarray(py_jac(t, y, *args), dtype=float)

    ku = -1 if band is None or packed else band[1]

    def adapter(t, y, out):
        r = f(t, y, *args)
        for a in range(out.shape[0]):
            for b in range(n):
                i = a if ku < 0 else a - ku + b
                out[a, b] = r[i, b] if 0 <= i < n else 0.0

    adapter = compile_adapter(adapter, JFUNC) if compiled else adapter
    if key is not None:
        entry[key] = adapter
    return adapter, True, compiled
