"""Events: sign changes of the event functions over a step, their roots, and termination.

As ``scipy.integrate.solve_ivp``: event ``i`` occurs in a step when ``g_i`` goes from ``<= 0`` to
``>= 0`` (``direction > 0``), from ``>= 0`` to ``<= 0`` (``direction < 0``) or either way
(``direction == 0``); its time is located on the step's interpolant; occurrences in one step are
reported in the order of their times, and a terminal event with a count ``k`` ends the run at its
``k``-th occurrence (``terminal=True`` is ``k = 1``).
"""

from typing import NamedTuple

import numpy as np

from stepsize.ode._arrays import eval_dense
from stepsize.ode._jit import twinned
from stepsize.ode._output import push_event

EPS = np.finfo(float).eps


class EventWork(NamedTuple):
    """Event values at the start and end of the step, a buffer, occurrences so far per event,
    the roots found in a step and the order of the events that occurred."""

    g_old: np.ndarray
    g_new: np.ndarray
    gbuf: np.ndarray
    count: np.ndarray
    roots: np.ndarray
    order: np.ndarray


@twinned
def crossed(g_old, g_new, direction):
    """Whether an event of ``direction`` occurs between the values ``g_old`` and ``g_new``."""
    up = g_old <= 0.0 and g_new >= 0.0
    down = g_old >= 0.0 and g_new <= 0.0
    return (direction > 0 and up) or (direction < 0 and down) or (direction == 0 and (up or down))


@twinned
def any_crossed(ew, ev_dir):
    """Whether any event occurs over the step (values in ``ew.g_old``, ``ew.g_new``)."""
    for i in range(ev_dir.size):
        if crossed(ew.g_old[i], ew.g_new[i], ev_dir[i]):
            return True
    return False


@twinned
def locate_event(problem, i, t_old, h, y_old, coef, a, b, fa, fb, ybuf, gbuf):
    """Root of event ``i`` between times ``a`` and ``b`` on the step's interpolant (Brent's method).

    Brent's zeroin (R. P. Brent, *Algorithms for Minimization without Derivatives*, 1973, ch. 4):
    inverse quadratic interpolation or secant steps, falling back to bisection; tolerance
    ``4 eps (|t| + |h|)``.  Returns (root, event-function evaluations).
    """
    nev = 0
    c = a
    fc = fa
    d = b - a
    e = d
    for _ in range(200):
        if fb * fc > 0.0:
            c = a
            fc = fa
            d = b - a
            e = d
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = 2.0 * EPS * (abs(b) + abs(h))
        m = 0.5 * (c - b)
        if abs(m) <= tol or fb == 0.0:
            break
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:
                p = 2.0 * m * s
                q = 1.0 - s
            else:
                q = fa / fc
                r = fb / fc
                p = s * (2.0 * m * q * (q - r) - (b - a) * (r - 1.0))
                q = (q - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if 2.0 * p < min(3.0 * m * q - abs(tol * q), abs(e * q)):
                e = d
                d = p / q
            else:
                d = m
                e = m
        else:
            d = m
            e = m
        a = b
        fa = fb
        b += d if abs(d) > tol else (tol if m > 0.0 else -tol)
        eval_dense(y_old, coef, (b - t_old) / h, ybuf)
        problem.events(b, ybuf, gbuf, problem.ctx)
        fb = gbuf[i]
        nev += 1
    return b, nev


@twinned
def handle_events(problem, ew, t, h, y, coef, t_new, ybuf, out, info):
    """Locate and store the events of the step from ``t`` to ``t_new`` (interpolant ``coef``).

    Returns ``(t_stop, terminal)``: the time the run stops at (``t_new`` unless a terminal event
    occurred) and whether it does.  Occurrences are stored in the order of their times (an
    insertion sort of the few events found, in ``ew.order``).
    """
    direction = 1.0 if h > 0.0 else -1.0
    n_found = 0
    for i in range(ew.g_old.size):
        if crossed(ew.g_old[i], ew.g_new[i], problem.ev_dir[i]):
            root, ng = locate_event(
                problem, i, t, h, y, coef, t, t_new, ew.g_old[i], ew.g_new[i], ybuf, ew.gbuf
            )
            info[0].ngev += ng
            ew.roots[i] = root
            k = n_found
            while k > 0 and direction * ew.roots[ew.order[k - 1]] > direction * root:
                ew.order[k] = ew.order[k - 1]
                k -= 1
            ew.order[k] = i
            n_found += 1
    t_stop = t_new
    terminal = False
    for k in range(n_found):
        idx = ew.order[k]
        eval_dense(y, coef, (ew.roots[idx] - t) / h, ybuf)
        push_event(out, info, idx, ew.roots[idx], ybuf)
        ew.count[idx] += 1
        if problem.ev_term[idx] > 0 and ew.count[idx] >= problem.ev_term[idx]:
            terminal = True
            t_stop = ew.roots[idx]
            break
    return t_stop, terminal
