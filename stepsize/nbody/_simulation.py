"""``Simulation``: an N-body run advanced piecewise, ``evolve(t)`` at a time (the loop of
``integrate`` and the handle an environment or a learned controller drives)."""

import math

import numpy as np

from stepsize.nbody import _archive
from stepsize.nbody import _gravity as K
from stepsize.nbody import _planar3 as P3
from stepsize.nbody._archain import chain_advance, chain_start, chain_state
from stepsize.nbody._gbs import gbs_advance, gbs_start
from stepsize.nbody._gr15 import gr15_advance, gr15_start, gr15_state
from stepsize.nbody._hermite import hermite_advance, hermite_start
from stepsize.nbody._ks import ks_evolve
from stepsize.nbody._leapfrog import leapfrog_advance, leapfrog_start
from stepsize.nbody._ode import Coordinates, scan_ode, scan_states, to_absolute
from stepsize.nbody._options import kernel_params, parse, positive
from stepsize.nbody._result import FAILURES, MESSAGES, ControlInfo, Event, History, NBodyResult
from stepsize.nbody._system import System
from stepsize.nbody._wh import wh_advance, wh_start, wh_state
from stepsize.ode import solve


def no_state(masses, pos, opts, G):
    return ()


# method: (start, advance, state); state(masses, pos, options, G) makes the arrays a kernel
# carries between calls besides the common ones, passed to start and advance after them.
KERNELS = {
    "hermite4": (hermite_start, hermite_advance, no_state),
    "leapfrog": (leapfrog_start, leapfrog_advance, no_state),
    "gbs": (gbs_start, gbs_advance, no_state),
    "gr15": (gr15_start, gr15_advance, gr15_state),
    "wh": (wh_start, wh_advance, wh_state),
    "archain": (chain_start, chain_advance, chain_state),
}
STATUS = {
    K.DONE: "done",
    K.ENCOUNTER: "encounter",
    K.ESCAPE: "escape",
    K.COLLISION: "collision",
    K.MAX_STEPS: "max_steps",
    K.UNDERFLOW: "underflow",
    K.NONFINITE: "nonfinite",
}
ODE_FAILURES = (("max_steps", "max_steps"), ("underflow", "underflow"), ("Non-finite", "nonfinite"))


def relative_error(now, ref):
    """|now - ref| / |ref| (|now - ref| when ref is zero); 3-vectors by their Euclidean norm,
    sqrt(x^2 + y^2 + z^2) summed in that order (as ``integrate_ensemble`` does, elementwise)."""
    if isinstance(ref, float) or np.ndim(ref) == 0:  # the float first: np.ndim costs ~1 us
        diff, scale = abs(now - ref), abs(ref)
    else:
        d = np.subtract(now, ref)
        diff = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
        scale = math.sqrt(ref[0] * ref[0] + ref[1] * ref[1] + ref[2] * ref[2])
    return float(diff / scale) if scale > 0 else float(diff)


def _read_only(a):
    view = a.view()
    view.flags.writeable = False
    return view


class Simulation:
    """An N-body run from time 0 that ``evolve(t)`` advances; ``integrate`` is built on it.

    ``method`` and ``options`` as :func:`stepsize.nbody.integrate`.  Between calls the
    accuracy parameter may be changed through ``value`` (``parameter`` names it: "eta" for
    adaptive hermite4 / leapfrog, "epsilon" for gr15, "dt" for a fixed step (and wh), "rtol"
    for gbs and the Runge-Kutta methods, whose atol then scales by the same factor).  The force
    evaluation and time scale of the last step carry over, so piecewise runs cost what one run
    costs.

    ``archive`` (a directory) and ``every`` (a time interval) keep a simulation archive: a
    snapshot of the complete integrator state at t = 0, every, 2 every, ... (the steps land on
    those times), each written atomically; ``Archive(path)[k]`` loads one back as a System and
    ``Simulation.from_archive(path, k)`` resumes the run from it, continuing bit for bit as the
    uninterrupted run (the compiled methods: hermite4, leapfrog, gbs, gr15, wh, archain).
    """

    def __init__(self, system, method="hermite4", *, archive=None, every=None, **options):
        if not isinstance(system, System):
            raise TypeError(f"system must be a stepsize.nbody.System, got {type(system).__name__}")
        self.options = opts = parse(method, options)
        if opts.radii is not None and len(opts.radii) != system.n_bodies:
            raise ValueError(
                f"radii must have one entry per body ({system.n_bodies}), got {len(opts.radii)}"
            )
        self.method = method
        self._masses = system.masses.copy()
        self._G = system.G
        self._pos = np.ascontiguousarray(system.positions, dtype=float).copy()
        self._vel = np.ascontiguousarray(system.velocities, dtype=float).copy()
        self._e0 = K.total_energy(self._pos, self._vel, self._masses, self._G, opts.softening**2)
        self._l0 = K.angular_momentum(self._pos, self._vel, self._masses)
        self._x0 = K.center_of_mass(self._pos, self._masses)
        self._v0 = K.center_of_mass(self._vel, self._masses)
        self._acc = np.zeros_like(self._pos)
        self._jerk = np.zeros_like(self._pos)
        self._par = kernel_params(opts, self._G)
        self._set_contact()
        self._scal = np.zeros(K.N_SCAL)
        self._scal[K.S_RMIN2] = np.inf
        self._cnt = np.zeros(K.N_CNT, dtype=np.int64)
        self._cnt[K.C_ARMED] = 1
        self._escaped = np.zeros(system.n_bodies, dtype=np.int8)
        self._h_last = None
        self._coords = self._y = None
        self._extra = ()
        self.events = []
        self.status = "done"
        self.changes = []
        self.solver_message = None
        self._archive, self._archive_every, self._archive_index = None, None, 0
        if archive is not None:
            if opts.is_ode:
                raise ValueError(
                    "archive needs a compiled method (hermite4, leapfrog, gbs, gr15, wh, "
                    f"archain), not {method!r}"
                )
            self._archive_every = positive(every, "every")
            self._archive = archive
        elif every is not None:
            raise ValueError("every is the interval of archive snapshots: give archive too")
        if opts.is_ode:
            if opts.regularize is None:
                self._coords = Coordinates(opts.coordinates, self._masses, self._pos, self._vel)
                self._y = self._coords.state(self._pos, self._vel)
            i, j, r = K.closest_pair(self._pos)
            K.track_rmin(self._scal, self._cnt, r * r, i, j)
        else:
            self._start_kernel()
        if self._archive is not None:
            _archive.write(self._archive, 0, self)

    @classmethod
    def from_archive(cls, path, index=-1):
        """The run resumed from snapshot ``index`` of the archive at ``path`` (see the class
        docstring); later snapshots are removed and rewritten as the run reaches them."""
        meta, arrays, extra = _archive.read(path, index)
        sim = cls.__new__(cls)
        sim.options = parse(meta["method"], meta["options"])
        sim.method = meta["method"]
        sim._G = meta["G"]
        sim._e0 = meta["e0"]
        for name, value in arrays.items():
            setattr(sim, name, value)
        sim._extra = extra
        sim._h_last = sim._coords = sim._y = None
        sim.events = meta["events"]
        sim.status = meta["status"]
        sim.changes = meta["changes"]
        sim.solver_message = None
        sim._archive, sim._archive_every = path, meta["every"]
        sim._archive_index = meta["index"]
        for file in _archive.snapshot_files(path)[sim._archive_index + 1 :]:
            file.unlink()
        return sim

    def _start_kernel(self):
        """The kernel's own state and its first evaluations, from the current state."""
        start, _, state = KERNELS[self.method]
        self._extra = state(self._masses, self._pos, self.options, self._G)
        start(
            self._pos,
            self._vel,
            self._acc,
            self._jerk,
            self._masses,
            self._par,
            self._scal,
            self._cnt,
            *self._extra,
        )

    def __repr__(self):
        return (
            f"Simulation(method={self.method!r}, t={self.t:g}, {self.parameter}="
            f"{self.value:g}, status={self.status!r})"
        )

    # ----- state -------------------------------------------------------------------------
    @property
    def t(self):
        return float(self._scal[K.S_T])

    @property
    def system(self):
        """The current state as a new System (a copy; ``positions`` and ``velocities`` read
        the state without copying)."""
        return System._trusted(self._masses, self._pos, self._vel, self._G)

    @property
    def positions(self):
        """The current positions (N, D): a read-only view of the state, which later ``evolve``
        calls overwrite (copy it to keep it)."""
        return _read_only(self._pos)

    @property
    def velocities(self):
        """The current velocities (N, D): a read-only view, as ``positions``."""
        return _read_only(self._vel)

    @property
    def masses(self):
        """The current masses (N,): a read-only view, as ``positions``."""
        return _read_only(self._masses)

    @property
    def G(self):
        return self._G

    @property
    def steps(self):
        return int(self._cnt[K.C_STEPS])

    @property
    def force_evaluations(self):
        return int(self._cnt[K.C_NFORCE])

    @property
    def energy_error(self):
        e = K.total_energy(self._pos, self._vel, self._masses, self._G, self._par[K.P_EPS2])
        return relative_error(e, self._e0)

    @property
    def angular_momentum_error(self):
        return relative_error(K.angular_momentum(self._pos, self._vel, self._masses), self._l0)

    @property
    def com_drift(self):
        return float(K.com_drift(self._pos, self._masses, self._x0, self._v0, self.t))

    @property
    def min_distance(self):
        return math.sqrt(self._scal[K.S_RMIN2])

    @property
    def parameter(self):
        return self.options.parameter

    @property
    def value(self):
        return self.options.value

    @value.setter
    def value(self, new):
        new = positive(new, self.parameter)
        opts = self.options
        if opts.parameter == "rtol":
            opts.atol *= new / opts.value
            self._par[K.P_RTOL], self._par[K.P_ATOL] = new, opts.atol
        else:
            self._par[K.P_DT if opts.parameter == "dt" else K.P_ETA] = new
            if self.method == "wh":  # the corrector depends on dt: map the state anew
                self._start_kernel()
        opts.value = new
        self.changes.append((self.t, new))

    # ----- for compiled drivers of many runs ----------------------------------------------
    @property
    def planar3(self):
        """True when ``evolve`` runs the planar three-body Hermite kernel
        (:mod:`stepsize.nbody._planar3`): hermite4 with the AMUSE criterion and eta, three bodies
        in a plane, no fixed step and no encounter, escape or collision checks."""
        return self.method == "hermite4" and P3.fits(self._pos, self._par)

    @property
    def archive(self):
        """The directory of the simulation archive (None without one)."""
        return self._archive

    @property
    def energy_reference(self):
        """E0, the energy ``energy_error`` is relative to."""
        return self._e0

    @property
    def counters(self):
        """The kernel's live int64 counters (``stepsize.nbody._gravity.C_*``: steps, force
        evaluations, status, ...), which a compiled driver advances in place."""
        return self._cnt

    def bind_state(self, row, counters=None):
        """Move a planar three-body hermite4 run's state into ``row`` (float64, 1-D, at least
        ``N_STATE`` entries): positions, velocities, accelerations, jerks, masses, the kernel
        parameters and scalars become views of consecutive slices of it (the layout ``B_*`` of
        :mod:`stepsize.nbody._planar3`), holding their current values; with ``counters`` (int64,
        1-D, ``N_CNT`` entries) the counters too.  A compiled driver then advances many runs
        through one array (``planar3_many``) while each Simulation reads the same state;
        ``evolve`` goes on working on it."""
        if not self.planar3:
            raise ValueError("bind_state: only for a planar three-body hermite4 run (planar3)")
        if row.dtype != np.float64 or row.ndim != 1 or row.size < P3.N_STATE:
            raise ValueError(f"bind_state: row must be a 1-D float64 array of >= {P3.N_STATE}")
        if counters is not None and (counters.dtype != np.int64 or counters.shape != (K.N_CNT,)):
            raise ValueError(f"bind_state: counters must be a 1-D int64 array of {K.N_CNT}")
        bounds = (P3.B_POS, P3.B_VEL, P3.B_ACC, P3.B_JERK, P3.B_MASSES, P3.B_PAR, P3.B_SCAL)
        bounds += (P3.N_STATE,)
        names = ("_pos", "_vel", "_acc", "_jerk", "_masses", "_par", "_scal")
        for name, start, stop in zip(names, bounds[:-1], bounds[1:], strict=True):
            array = getattr(self, name)
            view = row[start:stop].reshape(array.shape)
            view[...] = array
            setattr(self, name, view)
        if counters is not None:
            counters[...] = self._cnt
            self._cnt = counters

    # ----- advancing ---------------------------------------------------------------------
    def evolve(self, t_end):
        """Advance to ``t_end``; returns the status ("done", an event kind or a failure).

        After a stop at an event, ``evolve`` may be called again to go on; failures are final.
        """
        t_end = float(t_end)
        if not (math.isfinite(t_end) and t_end >= self.t):
            raise ValueError(f"t_end must be finite and >= the current time {self.t}, got {t_end}")
        if self.status in FAILURES:
            return self.status
        if self._archive is not None:
            return self._evolve_archived(t_end)
        if self.options.is_ode:
            while True:
                if self.options.regularize is not None:
                    self._evolve_ks(t_end)
                else:
                    self._evolve_ode(t_end)
                if self.status != "collision" or self.options.collision != "merge":
                    break
                self._merge(int(self._cnt[K.C_EVI]), int(self._cnt[K.C_EVJ]))
                self.status = "done"
        else:
            self._evolve_kernel(t_end)
        self._check_energy()
        return self.status

    def _evolve_archived(self, t_end):
        """``evolve`` in pieces that end on the snapshot times, writing each snapshot."""
        every = self._archive_every
        while True:
            t_snap = (self._archive_index + 1) * every
            if t_snap > t_end:
                break
            self._evolve_kernel(t_snap)
            self._check_energy()
            if self.status != "done":  # stopped before the snapshot time
                return self.status
            self._archive_index += 1
            _archive.write(self._archive, self._archive_index, self)
        self._evolve_kernel(t_end)
        self._check_energy()
        return self.status

    def _check_energy(self):
        limit = self.options.max_energy_error
        if self.status == "done" and limit < math.inf and self.energy_error > limit:
            self.status = "energy"

    def _evolve_kernel(self, t_end):
        self._par[K.P_TEND] = t_end
        advance = P3.planar3_advance if self.planar3 else KERNELS[self.method][1]
        while True:
            code = advance(
                self._pos,
                self._vel,
                self._acc,
                self._jerk,
                self._masses,
                self._par,
                self._scal,
                self._cnt,
                self._escaped,
                *self._extra,
            )
            self.status = STATUS[int(code)]
            if code not in (K.ENCOUNTER, K.ESCAPE, K.COLLISION):
                return
            if code == K.ENCOUNTER and self._by_contact:
                if not self._contact(self._pos):
                    continue  # within reach of a contact but no overlap: go on
                code = K.COLLISION
            self._record_event()
            if code == K.COLLISION:
                if self.options.collision == "stop":
                    return
                self._merge(int(self._cnt[K.C_EVI]), int(self._cnt[K.C_EVJ]))
                self.status = "done"
            elif self.options.on_event == "stop":
                return

    @property
    def _by_contact(self):
        """Collisions found through the encounter check (every method but gr15, which tests
        the overlaps itself after each step)."""
        return self.options.collision is not None and self.method != "gr15"

    def _set_contact(self):
        """For ``_by_contact``: the encounter distance becomes the largest contact distance,
        the sum of the two largest radii, so that a step ending with any pair that close stops
        the compiled loop and ``_contact`` tests the pairs' overlaps."""
        if self._by_contact:
            radii = sorted(self.options.radii)
            reach = radii[-1] + radii[-2] if len(radii) > 1 else 0.0  # one body: no pairs
            self._par[K.P_ENC2] = reach * reach

    def _contact(self, pos):
        """After an encounter stop of ``_by_contact``: True, with the pair (cnt[C_EVI],
        cnt[C_EVJ]) and status "collision", if two bodies overlap at ``pos``; else re-arm the
        encounter check (it fires at every step while a pair is within reach) and False."""
        active = np.flatnonzero(self._masses > 0).astype(np.int64)
        i, j = K.find_overlap(pos, np.array(self.options.radii), self._masses, active)
        if i < 0:
            self._cnt[K.C_ARMED] = 1
            self.status = "done"
            return False
        self._cnt[K.C_EVI], self._cnt[K.C_EVJ] = i, j
        self.status = "collision"
        return True

    def _record_event(self):
        i, j = int(self._cnt[K.C_EVI]), int(self._cnt[K.C_EVJ])
        if self.status in ("encounter", "collision"):
            bodies = (i, j)
            distance = float(np.linalg.norm(self._pos[i] - self._pos[j]))
        else:
            bodies = (i,)
            rest = np.arange(self._masses.size) != i
            xr = K.center_of_mass(np.ascontiguousarray(self._pos[rest]), self._masses[rest])
            distance = float(np.linalg.norm(self._pos[i] - xr))
        self.events.append(Event(self.status, self.t, bodies, distance))

    def _merge(self, i, j):
        """Replace the colliding bodies i < j by one at their centre of mass with their total
        mass and momentum (radius (r_i^3 + r_j^3)^(1/3), volume kept) in row i.  The energy and
        angular momentum the merger removes are taken out of the references E0 and L0, so that
        ``energy_error`` keeps measuring the integration error."""
        m, x, v = self._masses, self._pos, self._vel
        eps2 = self._par[K.P_EPS2]
        e_before = K.total_energy(x, v, m, self._G, eps2)
        l_before = K.angular_momentum(x, v, m)
        mass = m[i] + m[j]
        xi = (m[i] * x[i] + m[j] * x[j]) / mass if mass > 0 else (x[i] + x[j]) / 2
        vi = (m[i] * v[i] + m[j] * v[j]) / mass if mass > 0 else (v[i] + v[j]) / 2
        keep = np.arange(m.size) != j
        radii = np.array(self.options.radii)
        radii[i] = np.cbrt(radii[i] ** 3 + radii[j] ** 3)
        self.options.radii = tuple(radii[keep].tolist())
        m = m.copy()
        m[i] = mass
        x[i], v[i] = xi, vi
        self._masses = np.ascontiguousarray(m[keep])
        self._pos = np.ascontiguousarray(x[keep])
        self._vel = np.ascontiguousarray(v[keep])
        self._acc = np.zeros_like(self._pos)
        self._jerk = np.zeros_like(self._pos)
        self._escaped = np.ascontiguousarray(self._escaped[keep])
        self._e0 += K.total_energy(self._pos, self._vel, self._masses, self._G, eps2) - e_before
        self._l0 = self._l0 + K.angular_momentum(self._pos, self._vel, self._masses) - l_before
        self._set_contact()
        if not self.options.is_ode:
            h = self._scal[K.S_H]
            self._start_kernel()  # the polynomial of the old bodies does not carry over
            self._scal[K.S_H] = h
        elif self.options.regularize is None:
            self._coords = Coordinates(
                self.options.coordinates, self._masses, self._pos, self._vel, self.t
            )
            self._y = self._coords.state(self._pos, self._vel)
        else:
            self._y = None  # regularise the new closest pair

    def _evolve_ode(self, t_end, save_times=None):
        """One ``stepsize.ode.solve`` call to ``t_end``; with ``save_times`` returns the states
        there (from the dense output) up to where the run stopped."""
        opts = self.options
        self.status = "done"
        if t_end == self.t:
            return []
        remaining = opts.max_steps - self.steps
        if remaining < 1:
            self.status = "max_steps"
            return []
        span = t_end - self.t
        r = solve(
            self._coords.rhs,
            (self.t, t_end),
            self._y,
            method=self.method,
            rtol=opts.value,
            atol=opts.atol,
            controller=opts.controller,
            first_step=None if self._h_last is None else min(self._h_last, span),
            max_steps=remaining,
            args=(tuple(self._masses.tolist()), self._G, opts.softening),
            dense_output=save_times is not None,
            inplace=True,
        )
        self._cnt[K.C_NFORCE] += r.nfev
        self._cnt[K.C_STEPS] += r.stats["naccept"]
        if r.t.size > 1:
            self._h_last = float(np.max(np.diff(r.t[-3:])))
        k = self._scan_ode(r.y, r.t)
        if k is not None:
            self._set_state(r.t[k], r.y[:, k])
        if self.status == "done":
            self._set_state(r.t[-1], r.y[:, -1])
            if not r.success:
                self.status = next((s for key, s in ODE_FAILURES if key in r.message), "failed")
                self.solver_message = r.message
        if save_times is None:
            return []
        return [(tk, r.sol(tk)) for tk in save_times if tk < self.t]

    def _scan_ode(self, ys, times):
        """``_scan_events`` on the Runge-Kutta states ``ys`` (columns) at ``times`` after the
        first (the start), converted one at a time in compiled code (``scan_ode``); the column
        the run stops at, else None."""
        start = 1
        bodies = (self._masses, self._par, self._scal, self._cnt, self._escaped)
        while start < times.size:
            k = scan_ode(ys, times, start, self._coords.frame, bodies, self._pos, self._vel)
            if k < 0:
                return None
            self._scal[K.S_T] = times[k]
            if self._event_stops(self._pos):
                return k
            start = k + 1
        return None

    def _event_stops(self, pos):
        """After a compiled scan stopped at an event at ``pos`` (``cnt[C_STATUS]``): whether
        the run stops there (a collision, or ``on_event="stop"``); the event is recorded, an
        encounter within reach but without overlap (``_by_contact``) is not an event."""
        self.status = STATUS[int(self._cnt[K.C_STATUS])]
        if self.status == "encounter" and self._by_contact and not self._contact(pos):
            return False
        self._record_event()
        if self.options.on_event == "stop" or self.status == "collision":
            return True
        self.status = "done"
        return False

    def _scan_events(self, pos, vel, times):
        """Track the closest approach and record the events at the accepted steps' states
        (S, N, D) at ``times``; the index of the state the run stops at, else None."""
        start = 0
        while start < pos.shape[0]:
            args = (self._masses, self._par, self._scal, self._cnt, self._escaped)
            k = scan_states(pos[start:], vel[start:], *args)
            if k < 0:
                return None
            k += start
            self._pos[:], self._vel[:], self._scal[K.S_T] = pos[k], vel[k], times[k]
            if self._event_stops(pos[k]):
                return k
            start = k + 1
        return None

    def _evolve_ks(self, t_end):
        """``regularize="ks"``: KS-regularised segments (``stepsize.nbody._ks``) to t_end."""
        opts = self.options
        self.status = "done"
        remaining = opts.max_steps - self.steps
        if t_end == self.t:
            return
        if remaining < 1:
            self.status = "max_steps"
            return
        run = ks_evolve(
            self._pos,
            self._vel,
            self._masses,
            self._G,
            self.t,
            t_end,
            method=self.method,
            rtol=opts.value,
            atol=opts.atol,
            controller=opts.controller,
            max_steps=remaining,
            first_step=self._h_last,
            resume=self._y,
        )
        self._y = run.resume
        self._cnt[K.C_NFORCE] += run.nfev
        self._cnt[K.C_STEPS] += run.steps
        self._h_last = run.h_last
        if not run.t.size:
            return
        if self._scan_events(run.pos, run.vel, run.t) is not None:
            self._y = None  # stopped at a step before the end: regularise again from there
            return
        self._pos[:], self._vel[:], self._scal[K.S_T] = run.pos[-1], run.vel[-1], run.t[-1]
        if run.message is not None:
            self.status = next((s for key, s in ODE_FAILURES if key in run.message), "failed")
            self.solver_message = run.message
        elif run.t[-1] < t_end:
            self.status = "max_steps"

    def _set_state(self, t, y):
        """Set the time and the Runge-Kutta state ``y`` (and the positions, velocities)."""
        self._scal[K.S_T] = t
        self._y = np.array(y, dtype=float)
        to_absolute(self._y.reshape(-1, 1), 0, float(t), self._coords.frame, self._pos, self._vel)

    # ----- reporting ---------------------------------------------------------------------
    def control_info(self, interval, t_end):
        """The :class:`ControlInfo` an online controller receives."""
        return ControlInfo(
            t=self.t,
            t_end=float(t_end),
            interval=interval,
            system=self.system,
            energy_error=self.energy_error,
            steps=self.steps,
            force_evaluations=self.force_evaluations,
            min_distance=self.min_distance,
            method=self.method,
            parameter=self.parameter,
            value=self.value,
        )

    def result(self, history=None):
        """The run so far as an :class:`NBodyResult`."""
        return NBodyResult(
            system=self.system,
            t=self.t,
            status=self.status,
            success=self.status not in FAILURES,
            message=MESSAGES[self.status],
            steps=self.steps,
            force_evaluations=self.force_evaluations,
            energy_error=self.energy_error,
            angular_momentum_error=self.angular_momentum_error,
            com_drift=self.com_drift,
            min_distance=self.min_distance,
            min_distance_pair=(int(self._cnt[K.C_RMINI]), int(self._cnt[K.C_RMINJ])),
            events=list(self.events),
            history=history,
            stats={
                "method": self.method,
                "options": self.options.as_dict(),
                "parameter": self.parameter,
                "changes": list(self.changes),
                "solver_message": self.solver_message,
            },
        )


class Recorder:
    """Collects the states of a run at its output times into a :class:`History`."""

    def __init__(self, sim):
        self.sim = sim
        self.rows = []
        self.add()

    def add(self, t=None, y=None):
        sim = self.sim
        if y is None:
            t, pos, vel, err = sim.t, sim._pos.copy(), sim._vel.copy(), sim.energy_error
        else:
            pos, vel = sim._coords.at(y, t)
            e = K.total_energy(pos, vel, sim._masses, sim._G, sim._par[K.P_EPS2])
            err = relative_error(e, sim._e0)
        self.rows.append((float(t), pos, vel, err, sim.value))
        return err

    def history(self):
        t, pos, vel, err, value = zip(*self.rows, strict=True)
        return History(np.array(t), np.array(pos), np.array(vel), np.array(err), np.array(value))
