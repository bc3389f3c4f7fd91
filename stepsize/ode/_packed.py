"""The loop's call from Python: function addresses in, one packed array out.

A call into compiled code pays for every object that crosses the boundary: ~0.3 us to unbox an
array, two Python calls to unbox a first-class function, ~1.5 us to box an array on the way
back.  :func:`~stepsize.ode._loop.integrate` therefore takes the problem with its adapters as
addresses (:attr:`stepsize.ode._build.Built.addressed`; rebuilt into first-class functions
inside, :func:`bound`) and returns everything the run stored as one float64 array
(:func:`fill_packed`), which :func:`unpacked` cuts into views in Python:

``[INFO fields..., degree | t (m) | y (n, m) | segments: t, h (s), y (s, n), coef (s, n, degree)
| events: index, t (e), y (e, n) | switches (w) | profile (p, 4)]``

``y`` is stored transposed, (n, m) as ``solve_ivp`` returns it, so the result needs no copy.
"""

from functools import cached_property

import numpy as np

from stepsize.ode._bundles import INFO, Problem
from stepsize.ode._jit import func_at, inlined, interpreted_as, jfunc_at, twinned
from stepsize.ode._output import EventLog, Points, Segments
from stepsize.ode._rhs_call import rhs_at

_FLOATS = ("t", "max_ratio", "t_stiff")
COUNTS = (*(f for f in INFO.names if f not in _FLOATS), "degree")
"""The packed head: these counts (the INFO fields that are integers, then the interpolants'
degree), then the times and ratio of :data:`_FLOATS`."""
HEAD = len(COUNTS) + len(_FLOATS)
STATUS, NFEV, NJEV, NLU, NACCEPT, NREJECT, N_OUT = (
    COUNTS.index(f) for f in ("status", "nfev", "njev", "nlu", "naccept", "nreject", "n_out")
)


@interpreted_as(lambda problem: problem)
def bound(problem):
    """The problem with first-class functions rebuilt from the addresses it holds; a problem
    that holds functions (compiled or, for the interpreted twin, Python) as it is."""
    return Problem(
        rhs_at(problem.rhs),
        jfunc_at(problem.jac),
        func_at(problem.events),
        problem.ctx,
        problem.jac_mode,
        problem.kl,
        problem.ku,
        problem.ev_dir,
        problem.ev_term,
    )


@inlined
def packed_size(info, out):
    """The size of the packed array of a run (module docstring)."""
    r = info[0]
    n = out.points.y.shape[1]
    degree = out.segments.coef.shape[2]
    return (
        HEAD
        + r.n_out * (1 + n)
        + r.n_seg * (2 + n + n * degree)
        + r.n_ev * (2 + n)
        + r.n_sw
        + 4 * r.n_prof
    )


@inlined
def fill_packed(buf, info, out):
    """The INFO record and the stored output of a run (the first ``n_out`` points, ...) into
    ``buf`` of :func:`packed_size`.  Without reference counting, as the caller allocates ``buf``
    (each array read here would otherwise cost two atomic updates per call)."""
    r = info[0]
    p, s, e = out.points, out.segments, out.events
    n = p.y.shape[1]
    degree = s.coef.shape[2]
    m, ns, ne, nw, npr = r.n_out, r.n_seg, r.n_ev, r.n_sw, r.n_prof
    counts = (
        r.status,
        r.nfev,
        r.njev,
        r.nlu,
        r.ngev,
        r.naccept,
        r.nreject,
        r.nswitch,
        r.stiff_steps,
        r.max_run,
        m,
        ns,
        ne,
        nw,
        npr,
        degree,
    )  # fmt: skip (the order of COUNTS)
    for i in range(len(counts)):
        buf[i] = counts[i]
    k = len(counts)
    buf[k] = r.t
    buf[k + 1] = r.max_ratio
    buf[k + 2] = r.t_stiff
    k = HEAD
    k = _put(buf, k, p.t, m)
    for j in range(n):
        for i in range(m):
            buf[k + i] = p.y[i, j]
        k += m
    k = _put(buf, k, s.t, ns)
    k = _put(buf, k, s.h, ns)
    k = _put_rows(buf, k, s.y, ns)
    for i in range(ns):
        k = _put_rows(buf, k, s.coef[i], n)
    k = _put(buf, k, e.index, ne)
    k = _put(buf, k, e.t, ne)
    k = _put_rows(buf, k, e.y, ne)
    k = _put(buf, k, out.switches, nw)
    _put_rows(buf, k, out.profile, npr)


@twinned
def _put(buf, k, a, size):
    """``buf[k : k + size] = a[:size]``; returns ``k + size``."""
    for i in range(size):
        buf[k + i] = a[i]
    return k + size


@twinned
def _put_rows(buf, k, a, rows):
    """The first ``rows`` rows of the matrix ``a`` into ``buf`` from ``k``, row by row."""
    for i in range(rows):
        for j in range(a.shape[1]):
            buf[k] = a[i, j]
            k += 1
    return k


@twinned
def packed_count(buf, at):
    """The count at position ``at`` (:data:`STATUS`, :data:`NFEV`, ...) of the packed run."""
    return int(buf[at])


@twinned
def packed_state(buf, i, out):
    """The state stored at output point ``i`` of the packed run ``buf`` into ``out`` (n,)."""
    m = int(buf[N_OUT])
    for j in range(out.size):
        out[j] = buf[HEAD + m + j * m + i]


class Info:
    """The INFO fields (and ``degree``) of a packed run as Python numbers."""

    def __init__(self, buf):
        counts = len(COUNTS)
        self.__dict__.update(zip(COUNTS, buf[:counts].astype(np.int64).tolist()))
        self.__dict__.update(zip(_FLOATS, buf[counts:HEAD].tolist()))


class Unpacked:
    """A packed run cut into views of its parts (module docstring), each made when first
    read: ``info`` (:class:`Info`), ``points`` (``y`` (n, m)), ``segments``, ``events``,
    ``switches``, ``profile``."""

    def __init__(self, buf, n):
        self.buf, self.n = buf, n
        m = int(buf[N_OUT])
        self._seg = HEAD + m * (1 + n)
        self.points = Points(buf[HEAD : HEAD + m], buf[HEAD + m : self._seg].reshape(n, m))

    @cached_property
    def info(self):
        return Info(self.buf)

    def _cut(self, k, *shapes):
        out = []
        for shape in shapes:
            size = int(np.prod(shape))
            out.append(self.buf[k : k + size].reshape(shape))
            k += size
        return out, k

    @cached_property
    def _ends(self):
        i, n = self.info, self.n
        seg, k = self._cut(self._seg, i.n_seg, i.n_seg, (i.n_seg, n), (i.n_seg, n, i.degree))
        ev, k = self._cut(k, i.n_ev, i.n_ev, (i.n_ev, n))
        (sw, prof), _ = self._cut(k, i.n_sw, (i.n_prof, 4))
        return Segments(*seg), EventLog(*ev), sw, prof

    @property
    def segments(self):
        return self._ends[0]

    @property
    def events(self):
        return self._ends[1]

    @property
    def switches(self):
        return self._ends[2]

    @property
    def profile(self):
        return self._ends[3]


def unpacked(buf, n):
    """The parts of the packed run ``buf`` for states of size ``n`` (views into ``buf``)."""
    return Unpacked(buf, n)
