"""One builder for the problem the loop runs, compiled or interpreted, and one runner.

:func:`build_problem` turns ``fun``, ``jac``, ``events`` and ``args`` into a
:class:`~stepsize.ode._bundles.Problem`: with ``compiled=True`` adapters compiled by Numba
(``_context``), else plain Python ones, and the same problem with the compiled adapters'
addresses, as the loop is called with them (:mod:`stepsize.ode._packed`);
:meth:`Built.interpreted` gives the interpreted problem for a fall-back.  :func:`run_kernel`
runs a loop function on it: compiled, quietly on first use (no compiler chatter reaches users),
falling back to the interpreted twin with one warning on any compiler failure; afterwards a
fault a compiled adapter recorded is re-raised as the user's own exception
(:func:`describe_fault`).  ``solve`` and ``solve_ensemble`` both use these two.
"""

import contextlib
import warnings
import weakref
from dataclasses import dataclass

import numba
import numpy as np
from numba.core.dispatcher import Dispatcher
from numba.core.errors import NumbaWarning

from stepsize.ode._bundles import (
    CTX_FAULT,
    CTX_T,
    JAC_CONSTANT,
    JAC_DIFFERENCES,
    JAC_FUNCTION,
    Problem,
)
from stepsize.ode._context import (
    EVENTS_RAISED,
    FUN_SHAPE,
    JAC_SHAPE,
    WHO,
    Layout,
    events_source,
    generated,
    jac_source,
    no_events,
    no_jac,
    rhs_source,
)
from stepsize.ode._jit import FUNC, JFUNC, compile_adapter, entry_point, python_twin
from stepsize.ode._rhs_call import PSIG, cached_rhs, compile_rhs
from stepsize.ode._sparse_jac import PythonJac, python_jac_adapter

_ADAPTERS = weakref.WeakKeyDictionary()
_EVENT_ADAPTERS = {}
_WARM = set()
_ENTRIES = {}
COMPILED_ADAPTERS = [0]
"""How many adapters were compiled in this process (tests count compilations with it)."""


@contextlib.contextmanager
def quiet():
    """Silence Numba's warnings (experimental first-class functions, ...) while compiling."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaWarning)
        yield


def _short(exc):
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _python(fun):
    return fun.py_func if isinstance(fun, Dispatcher) else fun


def _compiled_user(fun):
    return fun if isinstance(fun, Dispatcher) else numba.njit(error_model="numpy")(fun)


def _sparse_to_dense(value):
    return value.toarray() if hasattr(value, "toarray") else value


@dataclass
class Spec:
    """What a problem is built from (kept for the fall-back and for re-raising faults)."""

    fun: object
    jac: object
    events: list
    args: tuple
    layout: Layout
    band: tuple | None
    packed: bool
    vectorized: bool
    n: int
    ev_dir: np.ndarray
    ev_term: np.ndarray
    inplace: bool = False


@dataclass
class Built:
    """A built problem: ``problem`` (compiled if ``compiled``) and its :class:`Spec`."""

    problem: Problem
    compiled: bool
    spec: Spec
    addressed: Problem | None = None
    """With ``compiled``: ``problem`` with its adapters' addresses (:mod:`stepsize.ode._packed`)."""

    def interpreted(self):
        """The same problem with plain-Python adapters."""
        return Built(_interpreted_problem(self.spec, self.problem.ctx), False, self.spec)


def _event_options(events):
    if events is None:
        return [], np.zeros(0), np.zeros(0, dtype=np.int64)
    fns = list(events) if isinstance(events, list | tuple) else [events]
    directions, terminal = [], []
    for i, ev in enumerate(fns):
        if not callable(ev):
            raise TypeError(f"events[{i}] must be callable, got {type(ev).__name__}")
        d = getattr(ev, "direction", 0.0)
        try:
            d = float(d)
        except (TypeError, ValueError):
            d = np.nan
        if not np.isfinite(d):
            raise ValueError(f"events[{i}].direction must be a number, got {d!r}")
        directions.append(np.sign(d))
        term = getattr(ev, "terminal", False)
        if term is None or isinstance(term, bool | np.bool_):
            terminal.append(int(bool(term)))
        elif isinstance(term, int | np.integer) and term >= 0:
            terminal.append(int(term))
        else:
            raise ValueError(
                f"events[{i}].terminal must be a bool or an int >= 0 (stop after that many "
                f"occurrences), got {term!r}"
            )
    return fns, np.array(directions, dtype=float), np.array(terminal, dtype=np.int64)


def _probe_fun(spec, t0, y0):
    """Call ``fun`` once in Python at ``t0`` and check what it returns (with ``inplace``: that
    it fills ``dydt`` and returns None)."""
    n = y0.size
    if spec.inplace:
        out = np.full(n, np.nan)
        value = _python(spec.fun)(t0, y0.copy(), out, *spec.args)
        if value is not None and value is not out:
            raise ValueError(
                "fun: with inplace=True, fun(t, y, dydt, *args) writes dydt and returns None, "
                f"got a {type(value).__name__}"
            )
        if n and np.isnan(out).all():
            raise ValueError("fun: with inplace=True, fun(t, y, dydt, *args) must write dydt")
        return
    y = y0[:, None].copy() if spec.vectorized else y0.copy()
    value = np.asarray(_python(spec.fun)(t0, y, *spec.args))
    shape = value.shape[:1] if spec.vectorized and value.ndim == 2 else value.shape
    if shape != (n,):
        raise ValueError(f"fun must return an array of shape {(n,)} (as y0), got {value.shape}")


def _probe_events(spec, t0, y0):
    """Call each event function once in Python at ``t0``: a finite scalar each."""
    for i, ev in enumerate(spec.events):
        v = _python(ev)(t0, y0.copy(), *spec.args)
        if np.ndim(v) != 0:
            raise ValueError(
                f"events[{i}] must return a scalar, got an array of shape {np.shape(v)}"
            )
        if not np.isfinite(float(v)):
            raise ValueError(f"events[{i}] must return a finite float, got {v!r} at t0")


def _probe_jac(spec, t0, y0):
    """``(packed, scalar)`` of what ``jac`` returns (a call in Python at ``t0`` if callable)."""
    if spec.jac is None or isinstance(spec.jac, PythonJac):
        return False, False  # a PythonJac checks each value itself
    if callable(spec.jac):
        shape = np.shape(_sparse_to_dense(_python(spec.jac)(t0, y0.copy(), *spec.args)))
    else:
        shape = np.shape(spec.jac)
    return _jac_shape(spec, shape), shape == ()


def _jac_shape(spec, shape):
    """Whether ``jac`` returns packed band storage; a ``ValueError`` for a wrong shape."""
    n, band = spec.n, spec.band
    if shape == () and n == 1:
        return False
    packed = band is not None and shape == (band[0] + band[1] + 1, n) and shape != (n, n)
    if shape != (n, n) and not packed:
        expected = f"({n}, {n})" if band is None else f"({n}, {n}) or {(sum(band) + 1, n)}"
        raise ValueError(f"jac must return an array of shape {expected}, got {shape}")
    return packed


def build_problem(
    fun,
    t0,
    y0,
    args,
    *,
    jac=None,
    band=None,
    events=None,
    compiled=True,
    vectorized=False,
    inplace=False,
):
    """The :class:`Built` problem for ``fun`` (and ``jac``, ``events``) with ``args``.

    ``jac``: None (finite differences), a constant matrix (dense or sparse) or a callable;
    ``band = (kl, ku)`` or None; ``inplace``: ``fun(t, y, dydt, *args)`` writes ``dydt``.  With
    ``compiled`` the adapters are compiled (or reused); a compiler failure of any kind falls back
    to the interpreted problem with one warning.
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    fns, ev_dir, ev_term = _event_options(events)
    const = None
    if jac is not None and not callable(jac):
        const = np.asarray(_sparse_to_dense(jac), dtype=float)
    layout = Layout(args, () if const is None else (const.reshape(const.shape or (1, 1)),))
    spec = Spec(
        fun,
        const if const is not None else jac,
        fns,
        args,
        layout,
        band,
        False,
        bool(vectorized),
        y0.size,
        ev_dir,
        ev_term,
        bool(inplace),
    )
    ctx = layout.context(y0.size)
    if isinstance(jac, PythonJac):
        jac.bind(ctx)
    key = (
        "problem",
        layout.key,
        band,
        spec.vectorized,
        spec.inplace,
        np.shape(const) if const is not None else None,
    )
    addresses = None
    if compiled:
        try:
            problem, addresses = _compiled_problem(spec, ctx, key, t0, y0)
        except _UserError as exc:
            raise exc.error from None
        except Exception as exc:  # any compiler failure
            warnings.warn(
                f"Numba could not compile the problem ({_short(exc)}); using the interpreted "
                "path, which gives the same results more slowly",
                RuntimeWarning,
                stacklevel=3,
            )
            compiled = False
    if not compiled:
        _probe_fun(spec, t0, y0)
        _probe_events(spec, t0, y0)
        spec.packed = _probe_jac(spec, t0, y0)[0]
        problem = _interpreted_problem(spec, ctx)
    return Built(problem, compiled, spec, addresses)


class _UserError(Exception):
    """An error of the user's input found while building (not a compiler failure)."""

    def __init__(self, error):
        self.error = error


def _entry(fun):
    try:
        return _ADAPTERS.setdefault(fun, {})
    except TypeError:  # not weak-referenceable: compile afresh
        return {}


def _user(probe, *a):
    try:
        return probe(*a)
    except Exception as exc:
        raise _UserError(exc) from exc


def _compiled_problem(spec, ctx, key, t0, y0):
    entry = _entry(spec.fun)
    if key not in entry:
        _user(_probe_fun, spec, t0, y0)
        source = rhs_source(spec.layout, spec.vectorized, spec.inplace, pointers=True)
        namespace = {"fun": _compiled_user(spec.fun), **spec.layout.frozen}
        entry[key] = _adapter(source, "rhs", namespace, PSIG)
    rhs, jac, events = entry[key], _compile_jac(spec, t0, y0), _compile_events(spec, t0, y0)
    rest = (ctx, _jac_mode(spec), *_band(spec), spec.ev_dir, spec.ev_term)
    addresses = Problem(rhs.address, jac.address, events.address, *rest)
    return Problem(rhs, jac, events, *rest), addresses


def rhs_adapter(fun, layout, inplace=False):
    """The compiled ``rhs`` adapter of ``fun`` for ``args`` laid out as ``layout``: the one
    :func:`build_problem` makes (and shares), here without probing ``fun`` (for
    :func:`~stepsize.ode.njit_solver`, which knows no state yet)."""
    entry = _entry(fun)
    key = ("problem", layout.key, None, False, bool(inplace), None)
    if key not in entry:
        namespace = {"fun": _compiled_user(fun), **layout.frozen}
        source = rhs_source(layout, False, inplace, pointers=True)
        entry[key] = _adapter(source, "rhs", namespace, PSIG)
    return entry[key]


def no_jac_adapter():
    """The ``jac`` adapter of a problem without ``jac`` (the loop differentiates)."""
    return _shared(no_jac, JFUNC)


def no_events_adapter():
    """The ``events`` adapter of a problem without events."""
    return _shared(no_events, FUNC)


def _jac_mode(spec):
    if spec.jac is None:
        return JAC_DIFFERENCES
    return JAC_FUNCTION if callable(spec.jac) else JAC_CONSTANT


def _band(spec):
    return spec.band if spec.band is not None else (-1, -1)


def _adapter(source, name, namespace, ftype):
    with quiet():
        if ftype is PSIG:
            fn = cached_rhs(source, namespace) or compile_rhs(generated(source, name, namespace))
        else:
            fn = compile_adapter(generated(source, name, namespace), ftype)
    COMPILED_ADAPTERS[0] += 1
    return fn


_SHARED = {}  # adapters that belong to no user function: no Jacobian, no events, a constant one


def _compile_jac(spec, t0, y0):
    if spec.jac is None:
        return _shared(no_jac, JFUNC)
    if isinstance(spec.jac, PythonJac):
        return python_jac_adapter()
    constant = not callable(spec.jac)
    entry = _SHARED if constant else _entry(spec.jac)
    key = ("jac", spec.layout.key, spec.band, spec.n if constant else None)
    if key not in entry:
        packed, scalar = _user(_probe_jac, spec, t0, y0)
        rows = spec.n if spec.band is None else sum(spec.band) + 1
        ku = -1 if spec.band is None or packed else spec.band[1]
        source = jac_source(spec.layout, rows, ku, scalar, constant)
        namespace = dict(spec.layout.frozen)
        if not constant:
            namespace["jacf"] = _compiled_user(spec.jac)
        entry[key] = (_adapter(source, "jac", namespace, JFUNC), packed)
    adapter, spec.packed = entry[key]
    return adapter


def _shared(func, ftype):
    """The adapter ``func`` of :mod:`stepsize.ode._context` that serves every problem, compiled
    once (from Numba's disk cache after the first process)."""
    if func not in _SHARED:
        with quiet():
            _SHARED[func] = compile_adapter(func, ftype, cache=True)
    return _SHARED[func]


def _compile_events(spec, t0, y0):
    if not spec.events:
        return _shared(no_events, FUNC)
    ids = tuple(id(f) for f in spec.events)
    key = (ids, spec.layout.key)
    hit = _EVENT_ADAPTERS.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[1], spec.events)):
        return hit[0]
    _user(_probe_events, spec, t0, y0)
    source = events_source(spec.layout, len(spec.events))
    namespace = {f"ev{i}": _compiled_user(f) for i, f in enumerate(spec.events)}
    adapter = _adapter(source, "events", {**namespace, **spec.layout.frozen}, FUNC)
    _EVENT_ADAPTERS[key] = (adapter, list(spec.events))
    return adapter


def _noted(exc, who, t):
    exc.add_note(f"(raised by `{who}` at t = {t!r})")
    return exc


def _interpreted_problem(spec, ctx):
    """Plain-Python adapters; exceptions propagate with the ``t`` where they happened."""
    f, args, n = _python(spec.fun), spec.args, spec.n
    vectorized = spec.vectorized

    def rhs_inplace(t, y, out, ctx):
        try:
            f(t, y, out, *args)
        except Exception as exc:
            raise _noted(exc, "fun", t) from None

    def rhs(t, y, out, ctx):
        try:
            r = f(t, y[:, None] if vectorized else y, *args)
        except Exception as exc:
            raise _noted(exc, "fun", t) from None
        r = np.asarray(r, dtype=float)
        r = r[:, 0] if vectorized and r.ndim == 2 else r
        if r.shape != out.shape:
            raise ValueError(
                f"fun returned an array of shape {r.shape} at t = {t!r}; expected "
                f"{out.shape} (the shape of y0)"
            )
        out[:] = r

    evs = [_python(ev) for ev in spec.events]

    def events(t, y, out, ctx):
        for i, ev in enumerate(evs):
            try:
                v = ev(t, y, *args)
            except Exception as exc:
                raise _noted(exc, f"events[{i}]", t) from None
            if np.ndim(v) != 0:
                raise ValueError(
                    f"events[{i}] must return a scalar, got an array of shape "
                    f"{np.shape(v)} at t = {t!r}"
                )
            out[i] = v

    jac_fn = spec.jac
    rows = n if spec.band is None else sum(spec.band) + 1
    ku = -1 if spec.band is None or spec.packed else spec.band[1]

    def jac(t, y, out, ctx):
        if jac_fn is None:
            return
        try:
            r = _python(jac_fn)(t, y, *args) if callable(jac_fn) else jac_fn
        except Exception as exc:
            raise _noted(exc, "jac", t) from None
        r = (
            np.asarray(_sparse_to_dense(r), dtype=float).reshape(-1, n)
            if n == 1
            else np.asarray(_sparse_to_dense(r), dtype=float)
        )
        expected = (n, n) if ku >= 0 or spec.band is None else (rows, n)
        if r.shape != expected and not (spec.packed and r.shape == (rows, n)):
            raise ValueError(
                f"jac returned an array of shape {r.shape} at t = {t!r}; expected {expected}"
            )
        if ku < 0:
            out[:] = r
            return
        for a in range(rows):
            for b in range(n):
                i = a - ku + b
                out[a, b] = r[i, b] if 0 <= i < n else 0.0

    if spec.inplace:
        rhs = rhs_inplace
    if isinstance(jac_fn, PythonJac):
        jac = jac_fn.interpreted
    return Problem(rhs, jac, events, ctx, _jac_mode(spec), *_band(spec), spec.ev_dir, spec.ev_term)


def run_kernel(built, kernel, *rest, types=None, addressed=False):
    """``kernel(problem, *rest)`` on the built problem: compiled (falling back to the twin, with
    one warning, if compiling the kernel fails) or interpreted.  Returns ``(built, result)``.

    ``types``: a hashable key that fixes the Numba types of all arguments (the caller
    guarantees it); the compiled entry point is then called directly, without Numba's
    dispatch (:func:`~stepsize.ode._jit.entry_point`).  ``addressed``: the compiled kernel
    takes the problem with its adapters' addresses (:attr:`Built.addressed`)."""
    if built.compiled:
        problem = built.addressed if addressed else built.problem
        if types is not None:
            fast = _ENTRIES.get((id(kernel), types))
            if fast is not None:
                return built, fast(problem, *rest)
        key = (id(kernel), tuple(x is None for x in rest))
        if key in _WARM:
            return built, _remember(kernel, types, problem, rest)
        try:
            with quiet():
                result = kernel(problem, *rest)
            _WARM.add(key)
            _remember(kernel, types, problem, rest, ran=True)
            return built, result
        except Exception as exc:  # any compiler failure
            warnings.warn(
                f"Numba could not compile the integration loop ({_short(exc)}); using the "
                "interpreted path, which gives the same results more slowly",
                RuntimeWarning,
                stacklevel=3,
            )
            built = built.interpreted()
    return built, python_twin(kernel)(built.problem, *rest)


def compiled_entry(kernel, types):
    """The entry point :func:`run_kernel` keeps for ``kernel`` and ``types`` (None before the
    kernel ran compiled for them)."""
    return _ENTRIES.get((id(kernel), types))


def _remember(kernel, types, problem, rest, ran=False):
    """Keep the entry point of ``kernel`` for ``types`` (after running it, unless ``ran``)."""
    result = None if ran else kernel(problem, *rest)
    if types is not None:
        fast = entry_point(kernel, (problem, *rest))
        if fast is not None:
            _ENTRIES[(id(kernel), types)] = fast
    return result


def fault_of(ctx):
    """``(code, t)`` of a fault recorded in ``ctx`` (code 0: none)."""
    return float(ctx[CTX_FAULT]), float(ctx[CTX_T])


def describe_fault(spec, ctx):
    """The exception a fault recorded in ``ctx`` stands for: the user's own, re-raised by running
    the function in Python at the recorded state, with the time noted."""
    code, t = fault_of(ctx)
    y = ctx[ctx.size - spec.n :].copy()
    who = WHO[code]
    if code in (FUN_SHAPE, JAC_SHAPE):
        fn = spec.fun if code == FUN_SHAPE else spec.jac
        try:
            shape = np.shape(_sparse_to_dense(_python(fn)(t, y, *spec.args)))
        except Exception:
            shape = "another shape"
        return ValueError(
            f"{who} returned an array of shape {shape} at t = {t!r}, not the shape "
            f"it had at the start: its output length must not change"
        )
    fns = spec.events if code == EVENTS_RAISED else [spec.fun if who == "fun" else spec.jac]
    for i, fn in enumerate(fns):
        extra = (np.empty(spec.n),) if spec.inplace and fn is spec.fun else ()
        try:
            _python(fn)(t, y, *extra, *spec.args)
        except Exception as exc:
            name = f"events[{i}]" if code == EVENTS_RAISED else who
            return _noted(exc, name, t)
    return RuntimeError(
        f"`{who}` raised an exception in compiled code at t = {t!r}, which "
        "running it in Python at the same state did not reproduce"
    )
