"""What ``solve`` returns: :class:`ODEResult` (SciPy's fields plus ``stats``), its dense output
:class:`DenseSolution`, and :func:`run_result`, the result of a run read from the packed array
the loop returns (:mod:`stepsize.ode._packed`).

A run's result holds ``t``, ``y`` (views into the packed array), the counts, ``status`` and
``message`` at once; ``sol``, ``t_events``, ``y_events``, ``stats`` and ``profile`` are cut from
the packed array when first read, so that a call whose caller reads ``y`` alone pays for nothing
else (:class:`RunResult`).
"""

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np

from stepsize.ode._bundles import (
    DONE,
    EVENT,
    FAULT,
    MAX_STEPS,
    NEWTON,
    NONFINITE,
    SINGULAR,
    UNDERFLOW,
)
from stepsize.ode._packed import HEAD, N_OUT, NFEV, NJEV, NLU, STATUS, unpacked
from stepsize.ode._profile import StiffnessProfile

MESSAGES = {
    DONE: "The solver successfully reached the end of the integration interval.",
    EVENT: "A termination event occurred.",
    MAX_STEPS: "Too many steps: max_steps reached before the end of the interval.",
    UNDERFLOW: "Required step size is less than spacing between numbers (step size underflow).",
    NONFINITE: "Non-finite values (inf or nan) in the state or its derivative.",
    SINGULAR: "The iteration matrix of the implicit method is singular to working precision "
    "(repeatedly, or down to the smallest step size).",
    NEWTON: "The Newton iteration of the implicit method failed to converge down to the "
    "smallest step size.",
    FAULT: "A user function raised an exception.",
}


@dataclass
class ODEResult:
    """What ``scipy.integrate.solve_ivp`` returns, plus ``stats``.

    ``t`` (n_points,), ``y`` (n, n_points); ``sol`` a :class:`DenseSolution` when
    ``dense_output=True``; ``t_events``/``y_events`` lists per event (None without events);
    ``status`` -1 failure, 0 end reached, 1 terminal event; ``stats`` holds naccept, nreject,
    ngev (event-function evaluations), the method, controller, whether the loop was compiled,
    ``nswitch`` and ``intervals`` (``[(t_start, t_stop, method), ...]``) of the automatic switch
    and ``stiffness`` (the largest ``h lambda / R`` seen, how many explicit steps were judged
    stiff, the longest run of such steps and ``stiff_at``, the time Hairer's tally of them first
    exceeded the switching threshold -- his "problem seems to become stiff" -- or None);
    ``profile`` the per-step :class:`~stepsize.ode.StiffnessProfile` (see
    :func:`~stepsize.ode.stiffness_profile`).
    """

    t: np.ndarray
    y: np.ndarray
    sol: "DenseSolution | None"
    t_events: list | None
    y_events: list | None
    nfev: int
    njev: int
    nlu: int
    status: int
    message: str
    success: bool
    stats: dict = field(default_factory=dict)
    profile: StiffnessProfile | None = None


class DenseSolution:
    """Piecewise-polynomial continuous solution, callable like SciPy's ``OdeSolution``.

    Segment ``i`` starts at ``t0s[i]`` with step ``hs[i]``; on it
    ``y(t) = ys[i] + sum_j coefs[i, :, j] theta^(j+1)`` with ``theta = (t - t0s[i]) / hs[i]``;
    at the last time ``t_end`` it returns the solution stored there, ``y_end``, exactly.
    """

    def __init__(self, t0s, hs, ys, coefs, t_end, y_end=None):
        self.t0s, self.hs, self.ys, self.coefs = t0s, hs, ys, coefs
        self.t_end, self.y_end = t_end, y_end
        self.ts = np.append(t0s, t_end)
        self.t_min, self.t_max = min(self.ts[0], t_end), max(self.ts[0], t_end)

    def __call__(self, t):
        t = np.asarray(t, dtype=float)
        flat = np.atleast_1d(t)
        if self.hs.size == 0:  # nothing integrated: the constant y_end
            out = np.repeat(self.y_end[:, None], flat.size, axis=1)
            return out[:, 0] if t.ndim == 0 else out
        forward = self.hs[0] > 0
        key = flat if forward else -flat
        starts = self.t0s if forward else -self.t0s
        idx = np.clip(np.searchsorted(starts, key, side="right") - 1, 0, self.hs.size - 1)
        theta = (flat - self.t0s[idx]) / self.hs[idx]
        coefs = self.coefs[idx]
        acc = np.zeros((flat.size, coefs.shape[1]))
        for j in range(coefs.shape[2] - 1, -1, -1):
            acc = (acc + coefs[:, :, j]) * theta[:, None]
        out = self.ys[idx] + acc
        if self.y_end is not None:
            out[flat == self.t_end] = self.y_end  # the stored end point exactly
        out = out.T
        return out[:, 0] if t.ndim == 0 else out


class RunOptions(NamedTuple):
    """What a run's result needs beyond the packed array, the same for every call of one set
    of options: the method ``names`` (explicit, implicit; "-" for none), the ``first`` method to
    step, the stability ``radius`` (None without a profile), the stats known before the run
    (method, controller, compiled), the number of events (None without events), whether there is
    dense output."""

    names: tuple
    first: str
    radius: float | None
    stats: dict
    n_events: int | None
    dense_output: bool


class RunResult(ODEResult):
    """The :class:`ODEResult` of a run: ``t``, ``y``, the counts and the status set at once,
    the other fields computed from the packed run when first read (then kept, and assignable as
    any field).  Made by :func:`run_result`."""

    @cached_property
    def _out(self):
        return unpacked(self._buf, self._n)

    @cached_property
    def sol(self):
        if not self._options.dense_output:
            return None
        seg, points, t_last = self._out.segments, self._out.points, self._out.info.t
        y_last = points.y[:, -1].copy() if points.t.size and points.t[-1] == t_last else None
        return DenseSolution(seg.t, seg.h, seg.y, seg.coef, t_last, y_last)

    @cached_property
    def _events(self):
        n_events = self._options.n_events
        if n_events is None:
            return None, None
        ev = self._out.events
        idx = ev.index.astype(np.int64)
        t_events, y_events = [], []
        for i in range(n_events):
            hit = idx == i
            t_events.append(ev.t[hit])
            y_events.append(ev.y[hit] if hit.any() else np.zeros(0))
        return t_events, y_events

    @cached_property
    def t_events(self):
        return self._events[0]

    @cached_property
    def y_events(self):
        return self._events[1]

    @cached_property
    def stats(self):
        info, opts, t0 = self._out.info, self._options, self._t0
        if info.nswitch == 0:
            intervals = [(t0, info.t, opts.first)]
        else:
            intervals = _intervals(t0, info.t, self._out.switches, opts.names, opts.first)
        return {
            **opts.stats,
            "naccept": info.naccept,
            "nreject": info.nreject,
            "ngev": info.ngev,
            "nswitch": info.nswitch,
            "intervals": intervals,
            "stiffness": {
                "max_h_lambda_over_radius": info.max_ratio,
                "stiff_steps": info.stiff_steps,
                "longest_stiff_run": info.max_run,
                "stiff_at": None if info.t_stiff != info.t_stiff else info.t_stiff,
            },
        }

    @cached_property
    def profile(self):
        radius = self._options.radius
        if radius is None:
            return None
        prof = self._out.profile
        return StiffnessProfile(
            t=prof[:, 0].copy(),
            h=prof[:, 1].copy(),
            h_lambda=prof[:, 2].copy(),
            implicit=prof[:, 3] > 0.5,
            radius=radius,
            methods=self._options.names,
        )


_object_new = object.__new__


def run_result(buf, n, t0, options):
    """The :class:`RunResult` of the packed run ``buf`` (states of size ``n``) from ``t0``."""
    r = _object_new(RunResult)  # the lazy fields are not set
    r._buf, r._n, r._t0, r._options = buf, n, t0, options
    head = buf[:HEAD].tolist()
    m = int(head[N_OUT])
    r.t = buf[HEAD : HEAD + m]
    r.y = buf[HEAD + m : HEAD + m * (1 + n)].reshape(n, m)  # the layout of _packed
    status = int(head[STATUS])
    r.nfev, r.njev, r.nlu = int(head[NFEV]), int(head[NJEV]), int(head[NLU])
    r.status = status if status >= 0 else -1
    r.message = MESSAGES[status]
    r.success = status >= 0
    return r


def _intervals(t0, t_last, switches, names, first):
    """``[(t_start, t_stop, method), ...]`` from the switch times."""
    other = {names[0]: names[1], names[1]: names[0]}
    bounds = [t0, *switches.tolist(), t_last]
    out, method = [], first
    for a, b in zip(bounds[:-1], bounds[1:]):
        out.append((float(a), float(b), method))
        method = other[method]
    return out
