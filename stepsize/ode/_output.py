"""What the loop stores: output points, dense-output segments, events, switches, the profile.

Storage grows by doubling; its sizes live in the run's ``INFO`` record (``n_out``, ``n_seg``,
``n_ev``, ``n_sw``, ``n_prof``).  The stepping loop allocates nothing (``_loop``): it steps while
:func:`has_room` says one more step's output fits, and :func:`make_room` grows the storage between
such stretches; a push only writes.  With ``t_eval`` the points are sized for all of it at once.
"""

from typing import NamedTuple

import numpy as np

from stepsize.ode._arrays import grow1, grow2, grow3
from stepsize.ode._jit import inlined, twinned

CAPACITY = 256
"""Rows of a run's first storage for a small state: a run of up to 256 steps never grows it, and
so never compiles the growth (:func:`~stepsize.ode._loop.grown_run`, called through a pointer):
a cold first solve of Lorenz (194 steps) skips about 1.4 s of compilation."""
BLOCK = 16384
"""Entries of the first block of points beyond which the first storage has fewer rows (never
fewer than :data:`MIN_CAPACITY`): a large state does not allocate 256 rows of it up front."""
MIN_CAPACITY = 64


@inlined
def first_capacity(n):
    """Rows of the first storage for states of size ``n``: :data:`CAPACITY`, fewer for ``n`` above
    ``BLOCK / CAPACITY - 1`` (63), :data:`MIN_CAPACITY` from ``n = 255`` on."""
    return max(MIN_CAPACITY, min(CAPACITY, BLOCK // (n + 1)))


class Points(NamedTuple):
    """Output times ``t`` (m,) and states ``y`` (m, n)."""

    t: np.ndarray
    y: np.ndarray


class Segments(NamedTuple):
    """Dense output: step ``i`` starts at ``t[i]`` with step ``h[i]`` from ``y[i]``; ``coef[i]``
    its interpolant (power basis in ``theta``)."""

    t: np.ndarray
    h: np.ndarray
    y: np.ndarray
    coef: np.ndarray


class EventLog(NamedTuple):
    """Event occurrences in order: which event, when, and the state there."""

    index: np.ndarray
    t: np.ndarray
    y: np.ndarray


class Output(NamedTuple):
    """Everything a run stores; ``switches`` the times of the automatic switch, ``profile``
    (t, h, h lambda, implicit) per accepted step when asked for."""

    points: Points
    segments: Segments
    events: EventLog
    switches: np.ndarray
    profile: np.ndarray


@twinned
def output_ends(n, degree, dense, profile, n_eval):
    """Where each part of the first storage for states of size ``n`` ends in its block
    ``[points t | points y | segments t, h, y, coef | switch | profile]`` (segments and profile
    only if asked for; room for all ``n_eval`` points of ``t_eval`` and a last one; the events
    start empty): a short run pays for one block (:mod:`stepsize.ode._store`), not eleven
    arrays; :func:`make_room` grows each part into an array of its own."""
    cap = first_capacity(n)
    seg = cap if dense else 0
    n_points = n_eval + 1 if n_eval > 0 else cap
    n_prof = cap if profile else 0
    e0 = n_points
    e1 = e0 + n_points * n
    e2 = e1 + seg
    e3 = e2 + seg
    e4 = e3 + seg * n
    e5 = e4 + seg * n * degree
    e6 = e5 + 1  # room for one switch: a run its first storage holds never grows
    return e0, e1, e2, e3, e4, e5, e6, e6 + 4 * n_prof


@inlined
def has_room(out, info, steps, n_events):
    """Whether one more step's output fits: a point (``t_eval``'s are all allocated), an
    occurrence of every event, a segment, a profile row, a switch."""
    r = info[0]
    return (
        (steps.t_eval.size > 0 or r.n_out < out.points.t.size)
        and r.n_ev + n_events <= out.events.t.size
        and (not steps.dense or r.n_seg < out.segments.t.size)
        and (not steps.profile or r.n_prof < out.profile.shape[0])
        and r.n_sw < out.switches.size
    )


@twinned
def make_room(out, info, steps, n_events):
    """The storage grown (doubled) where :func:`has_room` finds it short."""
    r = info[0]
    p, seg, ev, sw, prof = out.points, out.segments, out.events, out.switches, out.profile
    if r.n_out + 1 > p.t.size:
        p = Points(grow1(p.t, r.n_out + 1), grow2(p.y, r.n_out + 1))
    if r.n_ev + n_events > ev.t.size:
        k = r.n_ev + n_events
        ev = EventLog(grow1(ev.index, k), grow1(ev.t, k), grow2(ev.y, k))
    if steps.dense and r.n_seg + 1 > seg.t.size:
        k = r.n_seg + 1
        seg = Segments(grow1(seg.t, k), grow1(seg.h, k), grow2(seg.y, k), grow3(seg.coef, k))
    if steps.profile and r.n_prof + 1 > prof.shape[0]:
        prof = grow2(prof, r.n_prof + 1)
    if r.n_sw + 1 > sw.size:
        sw = grow1(sw, r.n_sw + 1)
    return Output(p, seg, ev, sw, prof)


@inlined
def push_point(out, info, t, y):
    """Store the output point ``(t, y)``."""
    k = info[0].n_out
    pt, py = out.points.t, out.points.y
    pt[k] = t
    for m in range(y.size):
        py[k, m] = y[m]
    info[0].n_out = k + 1


@inlined
def push_segment(out, info, t, h, y, coef):
    """Store one step of the dense output."""
    k = info[0].n_seg
    seg = out.segments
    seg.t[k] = t
    seg.h[k] = h
    sy, sc = seg.y, seg.coef
    for m in range(y.size):
        sy[k, m] = y[m]
        for j in range(coef.shape[1]):
            sc[k, m, j] = coef[m, j]
    info[0].n_seg = k + 1


@inlined
def push_event(out, info, index, t, y):
    """Store an occurrence of event ``index`` at ``(t, y)``."""
    k = info[0].n_ev
    ev = out.events
    ev.index[k] = index
    ev.t[k] = t
    ey = ev.y
    for m in range(y.size):
        ey[k, m] = y[m]
    info[0].n_ev = k + 1


@inlined
def push_switch(out, info, t):
    """Store the time of a switch between the explicit and the implicit method."""
    k = info[0].n_sw
    out.switches[k] = t
    info[0].n_sw = k + 1


@inlined
def push_profile(out, info, t, h, h_lambda, kind):
    """Store one row ``(t, h, h lambda, kind)`` of the stiffness profile."""
    k = info[0].n_prof
    prof = out.profile
    prof[k, 0] = t
    prof[k, 1] = h
    prof[k, 2] = h_lambda
    prof[k, 3] = kind
    info[0].n_prof = k + 1
