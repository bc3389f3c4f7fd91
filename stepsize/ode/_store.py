"""A run's storage: a few allocations, and the bundles of the run as views of them.

Compiled code with reference counting counts every array it holds, with two atomic updates
each, when it makes the array, hands it on in a bundle and drops it; a view counts as an array.
A short run holds about 40 (the :class:`Work` vectors, the explicit pair's, the events', the
first output's), and their counting was 40 % of the cost of a two-step solve called from
``@njit`` code.  So a run's arrays are the views of a :class:`Store` (the vectors of all its
bundles in one float array and one integer array, the three records, the implicit methods'
workspaces), made by :func:`views` in two compilations of one function: without reference
counting in the stepping code that runs the steps (:func:`free_views`: views cost nothing, the
caller holds the store), and with it where allocating code keeps the bundles
(:func:`counted_views`: a run that outgrows its first output storage).

``floats`` is ``[Work | the explicit pair's | the events' (4 per event) | the first output |
the packed run]`` (:func:`float_layout`): a run that ends in its first output returns its packed
run as a view of the store; ``ints`` the events' counts and order (2 per event).
"""

from typing import NamedTuple

import numpy as np

from stepsize.control import HISTORY_SIZE
from stepsize.ode._arrays import shaped
from stepsize.ode._bdf import BDFWork, bdf_work
from stepsize.ode._bundles import new_implicit_state, new_info, new_state
from stepsize.ode._events import EventWork
from stepsize.ode._explicit import ExplicitWork
from stepsize.ode._jit import counted_and_free, twinned
from stepsize.ode._output import EventLog, Output, Points, Segments, output_ends
from stepsize.ode._packed import HEAD
from stepsize.ode._radau import RadauWork, radau_work
from stepsize.ode._rosenbrock import RosenbrockWork, rosenbrock_work

N_VECTORS = 7
"""The vectors of :class:`Work` (``y`` to ``err``)."""
N_EXPLICIT = 3
"""The vectors of :class:`~stepsize.ode._explicit.ExplicitWork` besides its stages."""


class Work(NamedTuple):
    """Arrays every method uses: the state and the next one, F at both, buffers, the error
    vector, the step's interpolant coefficients, the controllers' histories."""

    y: np.ndarray
    y_new: np.ndarray
    f0: np.ndarray
    f_new: np.ndarray
    ybuf: np.ndarray
    fbuf: np.ndarray
    err: np.ndarray
    coef: np.ndarray
    history: np.ndarray
    history_imp: np.ndarray


class Run(NamedTuple):
    """The mutable side of a run: workspaces (a family's is None without it), event values,
    the loop's :data:`~stepsize.ode._bundles.STATE`, the implicit method's state and the
    :data:`~stepsize.ode._bundles.INFO` record."""

    work: Work
    ew: ExplicitWork
    rw: RosenbrockWork
    radw: RadauWork
    events: EventWork
    state: np.ndarray
    imp: np.ndarray
    info: np.ndarray
    bdw: BDFWork


class Store(NamedTuple):
    """The arrays a run owns (module docstring), states of size ``n``, interpolants of
    degree ``degree``."""

    floats: np.ndarray
    ints: np.ndarray
    state: np.ndarray
    imp: np.ndarray
    info: np.ndarray
    rw: RosenbrockWork
    radw: RadauWork
    bdw: BDFWork
    n: int
    degree: int


@twinned
def float_layout(n, degree, explicit, n_events, steps):
    """Where the parts of ``floats`` start: ``(explicit pair's, events', output, packed run,
    end)``; the packed run has room for all the first output can hold."""
    x = N_VECTORS * n + n * degree + 2 * HISTORY_SIZE
    e = x if explicit is None else x + (explicit.sums.stages + N_EXPLICIT) * n
    o = e + 4 * n_events
    ends = output_ends(n, degree, steps.dense, steps.profile, steps.t_eval.size)
    size = ends[len(ends) - 1]
    return x, e, o, o + size, o + size + HEAD + size


@twinned
def packed_at(store, explicit, steps):
    """Where the packed run starts in ``store.floats``."""
    return float_layout(store.n, store.degree, explicit, store.ints.size // 2, steps)[3]


@twinned
def new_store(problem, y0, degree, explicit, rosenbrock, radau, steps, bdf):
    """The storage of a run from ``y0``: ``y`` its values; the other vectors, the interpolant,
    the controllers' histories and the stages zeros (the histories are set again where the run
    starts: :func:`~stepsize.control.reset_history`); the events' values and the output unset;
    the records new."""
    n, n_events = y0.size, problem.ev_dir.size
    _, e, _, _, end = float_layout(n, degree, explicit, n_events, steps)
    floats = np.empty(end)
    for i in range(n):
        floats[i] = y0[i]
    for i in range(n, e):
        floats[i] = 0.0
    # a run without events has no counts: the problem's (empty) terminal counts stand in
    ints = np.zeros(2 * n_events, dtype=np.int64) if n_events > 0 else problem.ev_term
    return Store(
        floats,
        ints,
        new_state(),
        new_implicit_state(),
        new_info(),
        rosenbrock_work(rosenbrock, problem, n),
        radau_work(radau, problem, n, degree),
        bdf_work(bdf, problem, n),
        n,
        degree,
    )


def views(store, explicit, steps):
    """The run's :class:`Run` and first :class:`~stepsize.ode._output.Output`, views of
    ``store`` (made again, they are the same arrays: the run goes on where it was).  One
    function, no callee that returns an array (``shaped`` is an intrinsic, lowered in it): each
    compilation counts (or does not count) every view it makes, as :func:`counted_and_free`
    asks."""
    f, n, degree = store.floats, store.n, store.degree
    m = store.ints.size // 2
    x, e, o, q, _ = float_layout(n, degree, explicit, m, steps)
    c = N_VECTORS * n + n * degree  # where the histories start
    work = Work(f[:n], f[n : 2 * n], f[2 * n : 3 * n], f[3 * n : 4 * n], f[4 * n : 5 * n],
                f[5 * n : 6 * n], f[6 * n : 7 * n], shaped(f[7 * n : c], (n, degree)),
                f[c : c + HISTORY_SIZE], f[c + HISTORY_SIZE : x])  # fmt: skip
    if explicit is None:
        ew = None
    else:
        k = e - N_EXPLICIT * n  # where the stages end
        ew = ExplicitWork(shaped(f[x:k], ((k - x) // n, n)), f[k : k + n], f[k + n : k + 2 * n],
                          f[k + 2 * n : e])  # fmt: skip
    g, ints = f[e:o], store.ints
    events = EventWork(g[:m], g[m : 2 * m], g[2 * m : 3 * m], ints[:m], g[3 * m :], ints[m:])
    run = Run(work, ew, store.rw, store.radw, events, store.state, store.imp, store.info,
              store.bdw)  # fmt: skip
    b = f[o:q]
    e0, e1, e2, e3, e4, e5, e6, e7 = output_ends(
        n, degree, steps.dense, steps.profile, steps.t_eval.size
    )
    seg = e2 - e1
    points = Points(b[:e0], shaped(b[e0:e1], (e0, n)))
    segments = Segments(
        b[e1:e2], b[e2:e3], shaped(b[e3:e4], (seg, n)), shaped(b[e4:e5], (seg, n, degree))
    )
    none = b[:0]
    out = Output(points, segments, EventLog(none, none, shaped(none, (0, n))), b[e5:e6],
                 shaped(b[e6:e7], ((e7 - e6) // 4, 4)))  # fmt: skip
    return run, out


counted_views, free_views = counted_and_free(views)
""":func:`views` with reference counting (for allocating code, which keeps the bundles) and
without (for stepping code, inlined: the views cost nothing; its caller holds the store)."""
