"""A repeat call of ``solve``: what the first call with a set of options checked and built, kept
so that the next one checks only what depends on values.

``solve`` validates its arguments, resolves the method, builds the method bundles and the
problem's adapters and finds the compiled entry point of the loop: some 25 us of Python before
the loop runs (~100 us with events, ~150 us with a mass matrix), the same on every call with
the same function and options.  For the calls of a fit, a sweep or a driver that restarts the
integration -- no ``jac_band``, ``jac_sparsity`` or ``max_step``; scalar float tolerances;
``args`` a tuple of floats and float64 arrays; ``jac`` None or a function; ``mass`` None or a
float64 array of at most :data:`MASS_MAX` entries; events (the same functions, with the same
``direction`` and ``terminal``), a preset ``controller`` name or a ``FilterController`` (by value),
``first_step`` and ``max_steps`` allowed -- :func:`remember` keeps all of that per function (weakly:
it goes with the function) under the key :func:`repeat_key` makes of the options (the mass by its
bytes, the Jacobian by identity), and :func:`solve_again` runs a later call on it after the checks
that depend on the values alone: ``t_span`` two numbers, ``t0`` finite, ``t1`` finite or infinite,
not equal; ``y0`` a finite float64 vector of the remembered size; ``t_eval`` finite, strictly
monotonic in the direction of integration and inside ``t_span``; ``first_step`` in ``(0, |t1 -
t0|]``; ``max_steps`` a positive int; with a singular mass, consistent initial values from ``y0``
and ``t0`` (:func:`~stepsize.ode._mass.consistent_initial`, as the full path). Anything else -- a
first call, other types, a value these checks reject -- takes ``solve``'s full path, which gives the
same result or raises its error."""

import dataclasses
import math
import weakref
from typing import NamedTuple

import numpy as np

from stepsize.control import FilterController
from stepsize.ode._build import describe_fault
from stepsize.ode._bundles import CTX_ARGS, CTX_FAULT, Problem, Steps
from stepsize.ode._mass import consistent_initial, plain_fun
from stepsize.ode._result import run_result

EPS = np.finfo(float).eps
_RTOL_MIN, _INF = 100 * EPS, math.inf
_F8 = np.dtype(np.float64)
"""float64; compared with ``==``, not ``is``: an array that compiled code returns (Numba boxes
it) carries an equal dtype object of its own."""
_NUMBERS = (float, int, np.float64)
_FLOATS = (float, np.float64)
_NO_TIMES = np.zeros(0)  # no t_eval (the loop only reads it)
_new = tuple.__new__
_REMEMBERED = weakref.WeakKeyDictionary()
"""``fun -> {key: Remembered}``; read through its ``data`` (``weakref.ref(fun) -> ...``), which
skips the dictionary's own ``__getitem__`` (~0.1 us a call)."""
_ref = weakref.ref
MASS_MAX = 256 * 256
"""The most entries of a mass matrix that a repeat call keys by its bytes (hashing them costs
~1 us per 10,000); a larger one takes the full path."""
MAX_KEPT = 32
"""Keys kept per function (the table starts afresh when full)."""


class Remembered(NamedTuple):
    """What a repeat call reuses: the loop's compiled ``entry`` point, the problem's addressed
    adapters before and after its context (``head``, ``tail``), the context's size, the method
    bundles ``(explicit, rosenbrock, radau, controls, switch)``, the BDF bundle, the first
    call's tolerance arrays ``(rtol, atol)`` and what it stores ``(dense, profile)``, the result's
    :class:`~stepsize.ode._result.RunOptions`, the problem's spec (to re-raise a fault), the
    ``jac`` it was built with (held: the compiled adapter goes with it) and the checked mass
    matrix (None: none, consistent initial values are not needed)."""

    entry: object
    head: tuple
    tail: tuple
    ctx_size: int
    methods: tuple
    bdf: object
    tols: tuple
    stored: tuple
    options: object
    spec: object
    jac: object
    mass: object


def repeat_key(method, y0, tols, args, events, controller, flags, extras):
    """The key of a call (``tols``: rtol, atol; ``flags``: dense_output, profile, inplace;
    ``extras``: jac, mass), or None when its arguments are not of the types a repeat call takes
    (then ``solve`` checks them all).  The key holds the event functions with their
    ``direction`` and ``terminal`` (and their types: the full path rejects some values equal to
    accepted ones, e.g. a float ``terminal``) and the layout of ``args`` (:func:`_args_layout`)."""
    rtol, atol = tols
    if not (
        type(method) is str
        and type(y0) is np.ndarray
        and y0.dtype == _F8
        and y0.ndim == 1
        and type(rtol) is float
        and type(atol) is float
        and _RTOL_MIN <= rtol < _INF
        and 0.0 <= atol < _INF
        and (controller is None or type(controller) in (str, FilterController))
    ):
        return None
    dense, profile, inplace = flags  # no generator: ~0.3 us a call
    if type(dense) is not bool or type(profile) is not bool or type(inplace) is not bool:
        return None
    layout = _args_layout(args)
    if layout is None:
        return None
    jac, mass = extras
    if mass is not None:
        if type(mass) is not np.ndarray or mass.dtype != _F8 or mass.size > MASS_MAX:
            return None
        mass = (mass.shape, mass.tobytes())
    if jac is not None:
        if type(jac) is np.ndarray or not callable(jac):
            return None
        jac = id(jac)  # and solve_again checks that it is the same object
    if events is not None:
        events = _events_key(events)
    return (method, y0.size, rtol, atol, layout, events, controller, flags, jac, mass)


def _args_layout(args):
    """What fixes the layout of ``args`` in the context: ``"f"`` for a float, the shape of a
    float64 array (its values travel at run time, as :class:`~stepsize.ode._context.Layout`
    packs them); None for anything else (``solve``'s full path lays it out)."""
    if args is None or args == ():
        return ()
    if type(args) is not tuple:
        return None
    out = []
    for a in args:
        if type(a) is float:
            out.append("f")
        elif type(a) is np.ndarray and a.dtype == _F8 and a.ndim >= 1:
            out.append(a.shape)
        else:
            return None
    return tuple(out)


def _events_key(events):
    """``((function, direction, its type, terminal, its type), ...)`` of ``events``."""
    fns = events if type(events) in (list, tuple) else (events,)
    out = []
    for ev in fns:
        d = getattr(ev, "direction", 0.0)
        term = getattr(ev, "terminal", False)
        out.append((ev, d, type(d), term, type(term)))
    return tuple(out)


def remember(fun, key, built, run, extras):
    """Keep what the call of ``solve`` under ``key`` built: ``run`` is ``(methods, steps,
    bdf, options, entry)`` (``entry`` None: nothing to keep), ``extras`` ``(jac, mass)``, the
    Jacobian function and the checked mass matrix (None: regular or none)."""
    methods, steps, bdf, options, entry = run
    if entry is None:
        return
    try:
        table = _REMEMBERED.setdefault(fun, {})
    except TypeError:  # not weak-referenceable
        return
    if len(table) >= MAX_KEPT:  # e.g. a new event function on every call: keep the newest
        table.clear()
    a = built.addressed
    table[key] = Remembered(
        entry,
        tuple(a[:3]),
        tuple(a[4:]),
        a.ctx.size,
        methods,
        bdf,
        (steps.rtol, steps.atol),
        (steps.dense, steps.profile),
        options,
        built.spec,
        *extras,
    )


def solve_again(fun, t_span, y0, args, t_eval, limits, key, jac):
    """The result of ``solve`` for a call under ``key`` that :func:`remember` kept, or None
    when there is none or a value needs ``solve``'s full checks; ``limits``: ``(first_step,
    max_steps)``."""
    try:
        kept = _REMEMBERED.data[_ref(fun)][key]
    except (KeyError, TypeError):  # TypeError: an unhashable direction or terminal, or a fun
        return None  # that is not weak-referenceable
    if kept.jac is not jac:  # another function under a reused id
        return None
    if type(t_span) not in (tuple, list) or len(t_span) != 2:
        return None
    t0, t1 = t_span
    if type(t0) not in _NUMBERS or type(t1) not in _NUMBERS:
        return None
    t0, t1 = float(t0), float(t1)
    if t0 == t1 or not (math.isfinite(t0) and t1 == t1 and _finite(y0)):  # t1 may be inf
        return None
    first, max_steps = limits
    if type(max_steps) is not int or max_steps < 1:
        return None
    if first is None:
        first = 0.0
    elif type(first) not in _FLOATS or not (0.0 < first <= abs(t1 - t0)):
        return None
    if t_eval is None:
        t_eval = _NO_TIMES
    else:
        t_eval = _times(t_eval, t0, t1)
        if t_eval is None:
            return None
    if kept.mass is not None:  # the full path's consistent initial values (or its error)
        fun_ = plain_fun(fun, key[7][2], False)
        y0 = consistent_initial(fun_, t0, y0, kept.mass, args or (), key[2], key[3])
    ctx = np.zeros(kept.ctx_size)
    if args:
        _pack_args(ctx, args)
    (rtol, atol), (dense, profile), (rhs, jac_, events) = kept.tols, kept.stored, kept.head
    # tuple.__new__ of the fields: a named tuple's own constructor costs ~0.5 us more per bundle
    steps = _new(Steps, (t0, t1, rtol, atol, first, _INF, max_steps, t_eval, dense, profile))
    problem = _new(Problem, (rhs, jac_, events, ctx, *kept.tail))
    if not y0.flags.c_contiguous:  # the entry point reads y0 as a C-contiguous vector
        y0 = y0.copy()
    buf = kept.entry(problem, y0, *kept.methods, steps, kept.bdf)  # the loop copies y0
    if ctx[CTX_FAULT] != 0.0:
        raise describe_fault(dataclasses.replace(kept.spec, args=args or ()), ctx)
    return run_result(buf, y0.size, t0, kept.options)


def _pack_args(ctx, args):
    """The values of ``args`` (floats and float64 arrays, :func:`_args_layout`) into ``ctx``
    where :class:`~stepsize.ode._context.Layout` puts them: in order from ``CTX_ARGS``, arrays
    in C order."""
    k = CTX_ARGS
    for a in args:
        if type(a) is float:
            ctx[k] = a
            k += 1
        else:
            size = a.size
            ctx[k : k + size] = a.ravel()
            k += size


def _finite(y):
    """Whether every value of the float vector ``y`` is finite (a finite sum: all are)."""
    if y.size <= 16:
        return math.isfinite(sum(y.tolist()))
    return math.isfinite(y.sum()) or bool(np.all(np.isfinite(y)))


def _times(t_eval, t0, t1):
    """A copy of ``t_eval`` (a float64 vector; ``solve``'s own, as its full path makes it) when
    it is finite, strictly monotonic from ``t0`` towards ``t1`` and inside ``[t0, t1]``; else
    None."""
    if type(t_eval) is not np.ndarray or t_eval.dtype != _F8 or t_eval.ndim != 1:
        return None
    sign = 1.0 if t1 > t0 else -1.0
    if t_eval.size > 32:  # the same checks, vectorised
        d = np.diff(t_eval) * sign
        ok = (t_eval[0] - t0) * sign >= 0.0 and (t1 - t_eval[-1]) * sign >= 0.0
        return np.array(t_eval) if ok and bool(np.all(d > 0.0)) else None
    ts = t_eval.tolist()
    if not ts:
        return None
    last = t0 * sign
    for i, t in enumerate(ts):
        t *= sign
        if not (t > last or (i == 0 and t == last)):  # nan fails too
            return None
        last = t
    return np.array(t_eval) if last <= t1 * sign else None
