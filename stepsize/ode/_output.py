"""What the loop stores: output points, dense-output segments, events, switches, the profile.

Storage grows by doubling; its sizes live in the run's ``INFO`` record (``n_out``, ``n_seg``,
``n_ev``, ``n_sw``, ``n_prof``).  A push returns the :class:`Output`, a new one when an array had
to grow.
"""

from typing import NamedTuple

import numpy as np

from stepsize.ode._arrays import grow1, grow2, grow3
from stepsize.ode._types import inlined, twinned

CAPACITY = 64


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
def new_output(n, degree, dense, profile):
    """Empty storage for states of size ``n`` (segments and profile only if asked for)."""
    cap = CAPACITY
    seg = cap if dense else 0
    points = Points(np.empty(cap), np.empty((cap, n)))
    segments = Segments(
        np.empty(seg), np.empty(seg), np.empty((seg, n)), np.empty((seg, n, degree))
    )
    events = EventLog(np.empty(0), np.empty(0), np.empty((0, n)))
    prof = np.empty((cap if profile else 0, 4))
    return Output(points, segments, events, np.empty(0), prof)


@inlined
def push_point(out, info, t, y):
    """Store the output point ``(t, y)``."""
    k = info[0].n_out
    points = out.points
    if k == points.t.size:
        points = Points(grow1(points.t, k + 1), grow2(points.y, k + 1))
        out = Output(points, out.segments, out.events, out.switches, out.profile)
    points.t[k] = t
    points.y[k] = y
    info[0].n_out = k + 1
    return out


@twinned
def push_segment(out, info, t, h, y, coef):
    """Store one step of the dense output."""
    k = info[0].n_seg
    seg = out.segments
    if k == seg.t.size:
        seg = Segments(
            grow1(seg.t, k + 1), grow1(seg.h, k + 1), grow2(seg.y, k + 1), grow3(seg.coef, k + 1)
        )
        out = Output(out.points, seg, out.events, out.switches, out.profile)
    seg.t[k] = t
    seg.h[k] = h
    seg.y[k] = y
    seg.coef[k] = coef
    info[0].n_seg = k + 1
    return out


@twinned
def push_event(out, info, index, t, y):
    """Store an occurrence of event ``index`` at ``(t, y)``."""
    k = info[0].n_ev
    ev = out.events
    if k == ev.t.size:
        ev = EventLog(grow1(ev.index, k + 1), grow1(ev.t, k + 1), grow2(ev.y, k + 1))
        out = Output(out.points, out.segments, ev, out.switches, out.profile)
    ev.index[k] = index
    ev.t[k] = t
    ev.y[k] = y
    info[0].n_ev = k + 1
    return out


@twinned
def push_switch(out, info, t):
    """Store the time of a switch between the explicit and the implicit method."""
    k = info[0].n_sw
    switches = out.switches
    if k == switches.size:
        switches = grow1(switches, k + 1)
        out = Output(out.points, out.segments, out.events, switches, out.profile)
    switches[k] = t
    info[0].n_sw = k + 1
    return out


@twinned
def push_profile(out, info, t, h, h_lambda, kind):
    """Store one row ``(t, h, h lambda, kind)`` of the stiffness profile."""
    k = info[0].n_prof
    prof = out.profile
    if k == prof.shape[0]:
        prof = grow2(prof, k + 1)
        out = Output(out.points, out.segments, out.events, out.switches, prof)
    prof[k, 0] = t
    prof[k, 1] = h
    prof[k, 2] = h_lambda
    prof[k, 3] = kind
    info[0].n_prof = k + 1
    return out


@twinned
def trimmed(out, info):
    """The stored output cut to its sizes."""
    r = info[0]
    p, s, e = out.points, out.segments, out.events
    return Output(
        Points(p.t[: r.n_out], p.y[: r.n_out]),
        Segments(s.t[: r.n_seg], s.h[: r.n_seg], s.y[: r.n_seg], s.coef[: r.n_seg]),
        EventLog(e.index[: r.n_ev], e.t[: r.n_ev], e.y[: r.n_ev]),
        out.switches[: r.n_sw],
        out.profile[: r.n_prof],
    )
