"""Hermite4 and leapfrog for M systems at once, written once against an array namespace ``xp``
(numpy on CPU, cupy on GPU).

Each system keeps its own time, step and time scale; a step is taken by every system still
running, masked where it is not.  Every floating-point operation mirrors the compiled loops of
``_hermite``, ``_leapfrog`` and ``_kernels`` in the same order (pair sums over j ascending,
the same parenthesisation), so on the CPU the results equal those of ``integrate`` exactly.
"""

import math

import numpy as np

from stepsize.nbody import _kernels as K


def _sumsq(a):
    """Sum over the last axis of a * a, left to right like the compiled loops."""
    out = a[..., 0] * a[..., 0]
    for k in range(1, a.shape[-1]):
        out = out + a[..., k] * a[..., k]
    return out


def _dot(a, b):
    out = a[..., 0] * b[..., 0]
    for k in range(1, a.shape[-1]):
        out = out + a[..., k] * b[..., k]
    return out


def _ordered_sum(xp, terms, n):
    """sum_j terms[i][j] for each body i, j ascending, as (M, N, D)."""
    rows = []
    for i in range(n):
        js = [j for j in range(n) if j != i]
        acc = terms[i][js[0]]
        for j in js[1:]:
            acc = acc + terms[i][j]
        rows.append(acc)
    return xp.stack(rows, axis=1)


def forces(xp, pos, vel, masses, G, eps2, with_jerk):
    """Batched ``_kernels.acc_jerk`` / ``accelerations``: (acc, jerk, tau^4, rmin^2, i, j)."""
    m, n, _ = pos.shape
    ta = [[None] * n for _ in range(n)]
    tj = [[None] * n for _ in range(n)]
    tau_q = xp.full(m, np.inf)
    rmin2 = xp.full(m, np.inf)
    imin = xp.zeros(m, dtype=np.int64)
    jmin = xp.zeros(m, dtype=np.int64)
    for i in range(n):
        for j in range(i + 1, n):
            dx = pos[:, j] - pos[:, i]
            r2 = _sumsq(dx)
            closer = r2 < rmin2
            rmin2 = xp.where(closer, r2, rmin2)
            imin = xp.where(closer, i, imin)
            jmin = xp.where(closer, j, jmin)
            r2 = r2 + eps2
            ir3 = (G / (r2 * xp.sqrt(r2)))[:, None]
            da = dx * ir3
            ta[i][j] = masses[:, j, None] * da
            ta[j][i] = -(masses[:, i, None] * da)
            if with_jerk:
                dv = vel[:, j] - vel[:, i]
                v2 = _sumsq(dv)
                rv3 = (3.0 * _dot(dx, dv) / r2)[:, None]
                dj = (dv - rv3 * dx) * ir3
                tj[i][j] = masses[:, j, None] * dj
                tj[j][i] = -(masses[:, i, None] * dj)
                gm = G * (masses[:, i] + masses[:, j])
                tau_q = xp.minimum(tau_q, xp.minimum(r2 * r2 / (v2 * v2), r2 * r2 * r2 / (gm * gm)))
    acc = _ordered_sum(xp, ta, n)
    jerk = _ordered_sum(xp, tj, n) if with_jerk else None
    return acc, jerk, tau_q, rmin2, imin, jmin


def collision_time(xp, pos, vel, masses, G, eps2):
    """Batched ``_kernels.collision_time``."""
    n = pos.shape[1]
    tau_q = xp.full(pos.shape[0], np.inf)
    for i in range(n):
        for j in range(i + 1, n):
            r2 = _sumsq(pos[:, j] - pos[:, i]) + eps2
            v2 = _sumsq(vel[:, j] - vel[:, i])
            gm = G * (masses[:, i] + masses[:, j])
            tau_q = xp.minimum(tau_q, xp.minimum(r2 * r2 / (v2 * v2), r2 * r2 * r2 / (gm * gm)))
    return xp.sqrt(xp.sqrt(tau_q))


def energy(xp, pos, vel, masses, G, eps2):
    """Batched ``_kernels.total_energy``."""
    m, n, _ = pos.shape
    kin = xp.zeros(m)
    for i in range(n):
        kin = kin + 0.5 * masses[:, i] * _sumsq(vel[:, i])
    pot = xp.zeros(m)
    for i in range(n):
        for j in range(i + 1, n):
            r2 = _sumsq(pos[:, j] - pos[:, i]) + eps2
            pot = pot - masses[:, i] * masses[:, j] / xp.sqrt(r2)
    return kin + G * pot


def escaper(xp, pos, vel, masses, G, radius, escaped):
    """Batched ``_kernels.find_escaper``: index of the first escaping body per system, or -1."""
    m, n, d = pos.shape
    total = masses[:, 0]
    for i in range(1, n):
        total = total + masses[:, i]
    xc = masses[:, 0, None] * pos[:, 0]
    vc = masses[:, 0, None] * vel[:, 0]
    for i in range(1, n):
        xc = xc + masses[:, i, None] * pos[:, i]
        vc = vc + masses[:, i, None] * vel[:, i]
    xc = xc / total[:, None]
    vc = vc / total[:, None]
    found = xp.full(m, -1, dtype=np.int64)
    for i in range(n):
        scale = (total / (total - masses[:, i]))[:, None]
        dx = (pos[:, i] - xc) * scale
        dv = (vel[:, i] - vc) * scale
        r2 = _sumsq(dx)
        hit = (r2 > radius * radius) & (_dot(dx, dv) > 0.0)
        hit &= 0.5 * _sumsq(dv) > G * total / xp.sqrt(r2)
        found = xp.where((found < 0) & hit & (escaped[:, i] == 0), i, found)
    return found


def aarseth_tau(xp, a0, j0, a1, j1, h):
    """Batched ``_hermite.aarseth_tau`` (h per system)."""
    hb = h[:, None, None]
    da = a0 - a1
    c3 = (12.0 * da + 6.0 * hb * (j0 + j1)) / (hb * hb * hb)
    c2 = (-6.0 * da - hb * (4.0 * j0 + 2.0 * j1)) / (hb * hb) + hb * c3
    ratio = (xp.sqrt(_sumsq(a1) * _sumsq(c2)) + _sumsq(j1)) / (
        xp.sqrt(_sumsq(j1) * _sumsq(c3)) + _sumsq(c2)
    )
    return xp.min(xp.sqrt(ratio), axis=1)


class Batch:
    """State of M systems on the device of ``xp`` and the loop advancing them."""

    def __init__(self, xp, method, pos, vel, masses, G, opts):
        self.xp, self.method, self.opts = xp, method, opts
        self.pos = xp.asarray(pos, dtype=np.float64)
        self.vel = xp.asarray(vel, dtype=np.float64)
        self.masses = xp.asarray(masses, dtype=np.float64)
        self.G = xp.asarray(G, dtype=np.float64)
        self.eps2 = opts.softening**2
        m = self.pos.shape[0]
        self.t = xp.zeros(m)
        self.hlast = xp.full(m, np.inf)
        self.steps = xp.zeros(m, dtype=np.int64)
        self.nforce = xp.ones(m, dtype=np.int64)
        self.status = xp.zeros(m, dtype=np.int64)
        self.alive = xp.ones(m, dtype=bool)
        self.armed = xp.ones(m, dtype=bool)
        self.escaped = xp.zeros(self.pos.shape[:2], dtype=np.int8)
        self.ev_i = xp.zeros(m, dtype=np.int64)
        self.ev_j = xp.zeros(m, dtype=np.int64)
        hermite = method == "hermite4"
        self.acc, self.jerk, tau_q, rmin2, imin, jmin = forces(
            xp, self.pos, self.vel, self.masses, self.G, self.eps2, hermite
        )
        if hermite:
            self.tau = xp.sqrt(xp.sqrt(tau_q))
        else:
            self.tau = collision_time(xp, self.pos, self.vel, self.masses, self.G, self.eps2)
        self.rmin2, self.rmin_i, self.rmin_j = rmin2, imin, jmin
        self.e0 = self.energy()

    def energy(self):
        return energy(self.xp, self.pos, self.vel, self.masses, self.G, self.eps2)

    def _h_crit(self):
        o = self.opts
        if o.parameter == "dt":
            return self.xp.full(self.t.shape, o.value)
        if self.method == "hermite4" and o.criterion == "aarseth":
            return self.xp.minimum(math.sqrt(o.value) * self.tau, 2.0 * self.hlast)
        return o.value * self.tau

    def _step_size(self, h_crit, t_end, running):
        """Mirror of ``_kernels.step_size``; marks stopped systems, returns (h, running)."""
        xp = self.xp
        at_end = self.t >= t_end
        maxed = ~at_end & (self.steps >= self.opts.max_steps)
        remaining = t_end - self.t
        landing = h_crit >= remaining
        under = ~at_end & ~maxed & ~landing & (~(h_crit > 0.0) | (self.t + h_crit == self.t))
        self._stop(running & maxed, K.MAX_STEPS)
        self._stop(running & under, K.UNDERFLOW)
        h = xp.where(landing, remaining, h_crit)
        return h, running & ~at_end & ~maxed & ~under

    def _stop(self, mask, code):
        self.status = self.xp.where(mask, code, self.status)
        self.alive &= ~mask

    def advance(self, t_end):
        """Advance every live system to ``t_end`` (each with its own steps); returns the mask
        of systems that stopped on the way."""
        xp = self.xp
        was_alive = self.alive.copy()
        running = self.alive.copy()
        while True:
            h_crit = self._h_crit()
            h, running = self._step_size(h_crit, t_end, running)
            if not bool(running.any()):
                return was_alive & ~self.alive
            h = xp.where(running, h, 0.0)
            if self.method == "hermite4":
                new = self._hermite_step(h)
            else:
                new, running = self._leapfrog_step(h, h_crit, t_end, running)
            running = self._commit(new, h_crit, t_end, running)

    def _hermite_step(self, h):
        xp, hb = self.xp, h[:, None, None]
        h2 = hb * hb / 2.0
        h3 = hb * hb * hb / 6.0
        pos = self.pos + self.vel * hb + self.acc * h2 + self.jerk * h3
        vel = self.vel + self.acc * hb + self.jerk * h2
        acc, jerk, tau_q, rmin2, imin, jmin = forces(
            xp, pos, vel, self.masses, self.G, self.eps2, True
        )
        hh = hb / 2.0
        h12 = hb * hb / 12.0
        vel = self.vel + (self.acc + acc) * hh + (self.jerk - jerk) * h12
        pos = self.pos + (self.vel + vel) * hh + (self.acc - acc) * h12
        return dict(
            pos=pos,
            vel=vel,
            acc=acc,
            jerk=jerk,
            tau_q=tau_q,
            rmin=(rmin2, imin, jmin),
            nforce=1,
            h=h,
        )

    def _kdk(self, pos, vel, acc, h):
        hb = h[:, None, None]
        hh = hb / 2.0
        vel = vel + acc * hh
        pos = pos + vel * hb
        acc, _, _, rmin2, imin, jmin = forces(
            self.xp, pos, vel, self.masses, self.G, self.eps2, False
        )
        return pos, vel + acc * hh, acc, (rmin2, imin, jmin)

    def _leapfrog_step(self, h, h_crit, t_end, running):
        xp = self.xp
        nforce = 1
        if self.opts.parameter == "eta":
            pos, vel, _, _ = self._kdk(self.pos, self.vel, self.acc, h)
            tau1 = collision_time(xp, pos, vel, self.masses, self.G, self.eps2)
            h_sym = self.opts.value * (self.tau + tau1) / 2.0
            h, running = self._step_size(h_sym, t_end, running)
            h = xp.where(running, h, 0.0)
            nforce = 2
        pos, vel, acc, rmin = self._kdk(self.pos, self.vel, self.acc, h)
        return dict(pos=pos, vel=vel, acc=acc, rmin=rmin, nforce=nforce, h=h), running

    def _commit(self, new, h_crit, t_end, running):
        """Accept the step ``new`` (of size new["h"]) where ``running``; update clocks, time
        scales and events."""
        xp = self.xp
        h = new["h"]
        finite = xp.all(xp.isfinite(new["pos"]) & xp.isfinite(new["vel"]), axis=(1, 2))
        self.nforce = self.nforce + xp.where(running, new["nforce"], 0)
        self._stop(running & ~finite, K.NONFINITE)
        ok = running & finite
        okb = ok[:, None, None]
        a0, j0 = self.acc, self.jerk
        for name in ("pos", "vel", "acc") + (("jerk",) if self.method == "hermite4" else ()):
            setattr(self, name, xp.where(okb, new[name], getattr(self, name)))
        self.t = xp.where(ok, xp.where(h == t_end - self.t, t_end, self.t + h), self.t)
        self.steps = self.steps + ok
        if self.method == "hermite4":
            if self.opts.criterion == "aarseth" and self.opts.parameter == "eta":
                upd = ok & (h >= 1e-3 * h_crit)
                h_safe = xp.where(upd, h, 1.0)
                tau = aarseth_tau(xp, a0, j0, self.acc, self.jerk, h_safe)
                self.tau = xp.where(upd, tau, self.tau)
                self.hlast = xp.where(upd, h_crit, self.hlast)
            else:
                self.tau = xp.where(ok, xp.sqrt(xp.sqrt(new["tau_q"])), self.tau)
        elif self.opts.parameter == "eta":
            tau = collision_time(xp, self.pos, self.vel, self.masses, self.G, self.eps2)
            self.tau = xp.where(ok, tau, self.tau)
        rmin2, imin, jmin = new["rmin"]
        closer = ok & (rmin2 < self.rmin2)
        self.rmin2 = xp.where(closer, rmin2, self.rmin2)
        self.rmin_i = xp.where(closer, imin, self.rmin_i)
        self.rmin_j = xp.where(closer, jmin, self.rmin_j)
        return self._events(ok, rmin2, imin, jmin)

    def _events(self, ok, rmin2, imin, jmin):
        """Mirror of ``_kernels.check_events`` (stop mode); returns the still-running mask."""
        xp, o = self.xp, self.opts
        hit = xp.zeros_like(ok)
        if o.encounter_distance > 0.0:
            close = rmin2 < o.encounter_distance**2
            hit = ok & close & self.armed
            self.armed = xp.where(ok, ~close, self.armed)
            self.ev_i = xp.where(hit, imin, self.ev_i)
            self.ev_j = xp.where(hit, jmin, self.ev_j)
            self._stop(hit, K.ENCOUNTER)
        if o.escape_radius > 0.0:
            who = escaper(
                xp, self.pos, self.vel, self.masses, self.G, o.escape_radius, self.escaped
            )
            esc = ok & ~hit & (who >= 0)
            self.ev_i = xp.where(esc, who, self.ev_i)
            self.ev_j = xp.where(esc, -1, self.ev_j)
            self._stop(esc, K.ESCAPE)
            hit = hit | esc
        return ok & ~hit
