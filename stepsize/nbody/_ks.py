"""Kustaanheimo-Stiefel regularisation of the closest pair (``regularize="ks"``).

The relative vector of the pair (a, b), r = x_b - x_a, is written through a 4-vector u as
r = L(u) u with the KS matrix (Kustaanheimo & Stiefel 1965; Stiefel & Scheifele 1971,
*Linear and Regular Celestial Mechanics*, sections 9-10)

           | u1  -u2  -u3   u4 |
    L(u) = | u2   u1  -u4  -u3 |        |r| = u . u,
           | u3   u4   u1   u2 |
           | u4  -u3   u2  -u1 |

and time by the fictitious time s, dt = |r| ds.  With w = du/ds and the Kepler energy of the
pair h = |dr/dt|^2 / 2 - G (m_a + m_b) / |r|, the motion of the pair under the perturbing
acceleration P = a_b - a_a (the other bodies' pull; Stiefel & Scheifele eqs. 9.36, 10.4)

    du/ds = w,    dw/ds = (h / 2) u + (|r| / 2) L^T(u) P,    dh/ds = 2 w . L^T(u) P,
    dt/ds = |r|,

is a harmonic oscillator when P = 0: regular at r = 0, and for a close pair as smooth in s as a
circular orbit, whatever its eccentricity.  The pair's centre of mass X (velocity V) and the
other bodies x_k (v_k) move in the same fictitious time, dX/ds = |r| V, dV/ds = |r| A, with the
accelerations from every pair but (a, b).  Velocities map as dr/dt = 2 L(u) w / |r| and back as
w = L^T(u) (dr/dt) / 2, which satisfies the bilinear relation
u4 w1 - u3 w2 + u2 w3 - u1 w4 = 0 that the equations then keep.  A planar system stays planar
(u3 = u4 = 0 is the Levi-Civita map).  This is the "KS + perturbers" treatment of a close pair
in a few-body system (Aarseth 2003, *Gravitational N-body Simulations*, ch. 8); chains
(Mikkola & Aarseth 1993, Celest. Mech. 57, 439) regularise every link of a chain of bodies
instead of one pair.

The regularised system is an ODE in s for any ``stepsize.ode`` Runge-Kutta method (compiled,
with its error control).  A run is a sequence of segments: each regularises the closest pair
(with a positive mass) and ends at t = t_end (an event on the t component, located on the
interpolant; the state there comes from one more step of the method, not from the interpolant)
or when another pair comes closer than ``SWITCH`` times the regularised one, and the next
segment regularises that pair.  Between calls the regularised state carries over unchanged.
Energy and angular momentum are not enforced; the error control of the method in s sets them.
"""

import math
from dataclasses import dataclass

import numba
import numpy as np

from stepsize.nbody._gravity import NJIT, fill
from stepsize.ode import solve

SWITCH = 0.5  # a new segment when another pair is closer than SWITCH |r| of the regularised one
U, W, HK, TK, XC, VC, OTHERS = 0, 4, 8, 9, 10, 13, 16  # layout of the state y


@numba.njit(**NJIT)
def ks_position(u, r):
    """r = L(u) u (3 components) into ``r``."""
    r[0] = u[0] * u[0] - u[1] * u[1] - u[2] * u[2] + u[3] * u[3]
    r[1] = 2.0 * (u[0] * u[1] - u[2] * u[3])
    r[2] = 2.0 * (u[0] * u[2] + u[1] * u[3])


@numba.njit(**NJIT)
def ks_velocity(u, w, rn, v):
    """dr/dt = 2 L(u) w / |r| into ``v``."""
    f = 2.0 / rn
    v[0] = f * (u[0] * w[0] - u[1] * w[1] - u[2] * w[2] + u[3] * w[3])
    v[1] = f * (u[1] * w[0] + u[0] * w[1] - u[3] * w[2] - u[2] * w[3])
    v[2] = f * (u[2] * w[0] + u[3] * w[1] + u[0] * w[2] + u[1] * w[3])


@numba.njit(**NJIT)
def ks_transpose(u, p, q):
    """q = L^T(u) (p, 0), a 4-vector."""
    q[0] = u[0] * p[0] + u[1] * p[1] + u[2] * p[2]
    q[1] = -u[1] * p[0] + u[0] * p[1] + u[3] * p[2]
    q[2] = -u[2] * p[0] - u[3] * p[1] + u[0] * p[2]
    q[3] = u[3] * p[0] - u[2] * p[1] + u[1] * p[2]


@numba.njit(**NJIT)
def ks_from_relative(r, u):
    """A u with L(u) u = r (Stiefel & Scheifele's choice: u4 = 0 for r1 >= 0, else u3 = 0)."""
    rn = math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2])
    if r[0] >= 0.0:
        u[0] = math.sqrt(0.5 * (rn + r[0]))
        u[1] = 0.5 * r[1] / u[0]
        u[2] = 0.5 * r[2] / u[0]
        u[3] = 0.0
    else:
        u[1] = math.sqrt(0.5 * (rn - r[0]))
        u[0] = 0.5 * r[1] / u[1]
        u[3] = 0.5 * r[2] / u[1]
        u[2] = 0.0


@numba.njit(**NJIT)
def bodies(y, masses, x, v, vec):
    """Positions and velocities (N, 3) of every body (the pair in rows 0, 1) from y;
    ``vec`` (6,) is scratch space."""
    n = masses.size
    ma, mb = masses[0], masses[1]
    m = ma + mb
    u = y[U : U + 4]
    rel, vrel = vec[0:3], vec[3:6]
    ks_position(u, rel)
    rn = u[0] * u[0] + u[1] * u[1] + u[2] * u[2] + u[3] * u[3]
    ks_velocity(u, y[W : W + 4], rn, vrel)
    for k in range(3):
        x[0, k] = y[XC + k] - mb / m * rel[k]
        x[1, k] = y[XC + k] + ma / m * rel[k]
        v[0, k] = y[VC + k] - mb / m * vrel[k]
        v[1, k] = y[VC + k] + ma / m * vrel[k]
    for i in range(2, n):
        for k in range(3):
            x[i, k] = y[OTHERS + 3 * (i - 2) + k]
            v[i, k] = y[OTHERS + 3 * (n - 2) + 3 * (i - 2) + k]


@numba.njit(**NJIT)
def ks_rhs(s, y, dyds, masses, G, t_end, work, vec):
    """dy/ds of the regularised system (module docstring), in place; the pair in rows 0, 1.
    ``work`` (2, N, 3) and ``vec`` (10,) are scratch space (nothing is allocated per call)."""
    n = masses.size
    ma, mb = masses[0], masses[1]
    m = ma + mb
    u = y[U : U + 4]
    w = y[W : W + 4]
    rn = u[0] * u[0] + u[1] * u[1] + u[2] * u[2] + u[3] * u[3]
    rel, p, q = vec[0:3], vec[3:6], vec[6:10]
    ks_position(u, rel)
    x, acc = work[0], work[1]
    for k in range(3):
        x[0, k] = y[XC + k] - mb / m * rel[k]
        x[1, k] = y[XC + k] + ma / m * rel[k]
    for i in range(2, n):
        for k in range(3):
            x[i, k] = y[OTHERS + 3 * (i - 2) + k]
    fill(acc, 0.0)
    for i in range(n):
        for j in range(max(i + 1, 2), n):  # every pair but (0, 1)
            r2 = 0.0
            for k in range(3):
                dx = x[j, k] - x[i, k]
                r2 += dx * dx
            ir3 = G / (r2 * math.sqrt(r2))
            for k in range(3):
                da = (x[j, k] - x[i, k]) * ir3
                acc[i, k] += masses[j] * da
                acc[j, k] -= masses[i] * da
    for k in range(3):
        p[k] = acc[1, k] - acc[0, k]
    ks_transpose(u, p, q)
    dh = 0.0
    for k in range(4):
        dyds[U + k] = w[k]
        dyds[W + k] = 0.5 * y[HK] * u[k] + 0.5 * rn * q[k]
        dh += w[k] * q[k]
    dyds[HK] = 2.0 * dh
    dyds[TK] = rn
    for k in range(3):
        dyds[XC + k] = rn * y[VC + k]
        dyds[VC + k] = rn * (ma * acc[0, k] + mb * acc[1, k]) / m
    half = 3 * (n - 2)
    for i in range(2, n):
        for k in range(3):
            q3 = 3 * (i - 2) + k
            dyds[OTHERS + q3] = rn * y[OTHERS + half + q3]
            dyds[OTHERS + half + q3] = rn * acc[i, k]


@numba.njit(**NJIT)
def reached(s, y, masses, G, t_end, work, vec):
    """t(s) - t_end: the segment ends when it crosses zero upwards."""
    return y[TK] - t_end


@numba.njit(**NJIT)
def overtaken(s, y, masses, G, t_end, work, vec):
    """min over the other pairs of |x_j - x_i| - SWITCH |r|: zero when a pair overtakes."""
    n = masses.size
    x = work[0]
    bodies(y, masses, x, work[1], vec)
    u = y[U : U + 4]
    best = np.inf
    for i in range(n):
        for j in range(max(i + 1, 2), n):
            if masses[i] + masses[j] > 0.0:
                r2 = 0.0
                for k in range(3):
                    dx = x[j, k] - x[i, k]
                    r2 += dx * dx
                best = min(best, r2)
    if best == np.inf:  # two bodies: nothing can overtake
        return 1.0
    return math.sqrt(best) - SWITCH * (u[0] * u[0] + u[1] * u[1] + u[2] * u[2] + u[3] * u[3])


reached.terminal, reached.direction = True, 1.0
overtaken.terminal, overtaken.direction = True, -1.0


@numba.njit(**NJIT)
def closest_massive_pair(pos, masses):
    """(i, j), i < j, of the closest pair with m_i + m_j > 0."""
    n, d = pos.shape
    best = np.inf
    bi, bj = 0, 1
    for i in range(n):
        for j in range(i + 1, n):
            if masses[i] + masses[j] > 0.0:
                r2 = 0.0
                for k in range(d):
                    dx = pos[j, k] - pos[i, k]
                    r2 += dx * dx
                if r2 < best:
                    best, bi, bj = r2, i, j
    return bi, bj


@numba.njit(**NJIT)
def states_to_bodies(ys, masses, order, ndim, pos, vel):
    """Positions and velocities (S, N, ndim), in the original body order, of the KS states
    ``ys`` (size, S) of one segment."""
    n = masses.size
    x = np.empty((n, 3))
    v = np.empty((n, 3))
    vec = np.empty(6)
    for s in range(ys.shape[1]):
        bodies(ys[:, s], masses, x, v, vec)
        for i in range(n):
            for k in range(ndim):
                pos[s, order[i], k] = x[i, k]
                vel[s, order[i], k] = v[i, k]


@numba.njit(**NJIT)
def ks_state(pos, vel, order, masses, G, t):
    """The KS state y at time t of the bodies (pos, vel) (N, D), taken in ``order`` (the pair
    first; ``masses`` in that order): u from r = x_b - x_a, w = L^T(u) (dr/dt) / 2, the pair's
    Kepler energy h, t, the pair's centre of mass and the other bodies (module docstring)."""
    n, ndim = pos.shape
    x = np.zeros((n, 3))
    v = np.zeros((n, 3))
    for i in range(n):
        for k in range(ndim):
            x[i, k] = pos[order[i], k]
            v[i, k] = vel[order[i], k]
    ma, mb = masses[0], masses[1]
    y = np.empty(OTHERS + 6 * (n - 2))
    u = y[U : U + 4]
    rel = x[1] - x[0]
    rel_v = v[1] - v[0]
    ks_from_relative(rel, u)
    ks_transpose(u, rel_v, y[W : W + 4])
    rn = 0.0
    v2 = 0.0
    for k in range(4):
        y[W + k] *= 0.5
        rn += u[k] * u[k]
    for k in range(3):
        v2 += rel_v[k] * rel_v[k]
    y[HK] = 0.5 * v2 - G * (ma + mb) / rn
    y[TK] = t
    for k in range(3):
        y[XC + k] = (ma * x[0, k] + mb * x[1, k]) / (ma + mb)
        y[VC + k] = (ma * v[0, k] + mb * v[1, k]) / (ma + mb)
    for i in range(2, n):
        for k in range(3):
            y[OTHERS + 3 * (i - 2) + k] = x[i, k]
            y[OTHERS + 3 * (n - 2) + 3 * (i - 2) + k] = v[i, k]
    return y


class Segment:
    """One regularised segment: the body order (pair first), the 3-D embedding and the maps
    between the absolute state (pos, vel) at time t and the KS state y."""

    def __init__(self, pos, masses, G):
        self.n, self.ndim = pos.shape
        self.G = G
        a, b = closest_massive_pair(pos, masses)
        self.order = np.array([a, b] + [k for k in range(self.n) if k not in (a, b)])
        self.masses = np.ascontiguousarray(masses[self.order], dtype=float)

    def state(self, pos, vel, t):
        return ks_state(pos, vel, self.order, self.masses, self.G, t)

    def absolute(self, ys):
        """(pos, vel) (S, N, D) in the original body order and dimension of the states ys
        (size, S), and their times (S,)."""
        ys = np.ascontiguousarray(ys, dtype=float)
        pos = np.empty((ys.shape[1], self.n, self.ndim))
        vel = np.empty_like(pos)
        states_to_bodies(ys, self.masses, self.order, self.ndim, pos, vel)
        return pos, vel, ys[TK].copy()


@dataclass
class KSRun:
    """What ``ks_evolve`` returns: the states at the ends of its accepted steps (S, N, D) with
    their times, the final state, counters, segments and the solver's failure message."""

    t: np.ndarray
    pos: np.ndarray
    vel: np.ndarray
    nfev: int
    steps: int
    segments: int
    h_last: float | None
    message: str | None
    resume: tuple | None


def _landed(y, args):
    """Whether a segment that a terminal event ended stopped at t_end (``reached``) rather
    than at an overtaking pair: the event that fired is the one whose function is at its root,
    the other is still away from its own (the same as asking ``t_events``, without unpacking
    the solver's event records)."""
    return abs(reached(0.0, y, *args)) <= abs(overtaken(0.0, y, *args))


def ks_evolve(pos, vel, masses, G, t, t_end, *, method, rtol, atol, controller, max_steps,
              first_step=None, resume=None):  # fmt: skip
    """Advance from (pos, vel) at t to t_end in KS-regularised segments (module docstring).

    ``first_step`` is in fictitious time (the last one of a previous call); ``resume`` is the
    ``resume`` of the previous call's :class:`KSRun`, (segment, y) at t: the regularised
    state goes on as it was, instead of being derived again from (pos, vel), which near a
    pericentre loses digits (h = v^2 / 2 - G M / r cancels).  Returns a :class:`KSRun`; on a
    solver failure its ``message`` says why and the states end there.
    """
    ts, ps, vs = [], [], []
    nfev = steps = segments = 0
    message = None
    h_last = first_step
    while t < t_end and steps < max_steps:
        if resume is None:
            seg = Segment(pos, masses, G)
            y0 = seg.state(pos, vel, t)
        else:
            seg, y0 = resume
            resume = None
        args = (seg.masses, G, t_end, np.empty((2, seg.n, 3)), np.empty(10))
        options = dict(method=method, rtol=rtol, atol=atol, controller=controller, inplace=True)
        r = solve(
            ks_rhs,
            (0.0, np.inf),
            y0,
            first_step=h_last,
            max_steps=max_steps - steps,
            args=args,
            events=[reached, overtaken],
            **options,
        )
        segments += 1
        nfev += r.nfev
        steps += r.stats["naccept"]
        landed = r.status == 1 and _landed(r.y[:, -1], args)
        if landed and r.t.size > 2 and r.t[-1] > r.t[-2]:
            # the state at t_end by one more step from the last step's end: the interpolant is
            # less accurate than a step, and near a pericentre (pos, vel) amplify its error
            last = solve(
                ks_rhs,
                (r.t[-2], r.t[-1]),
                r.y[:, -2],
                first_step=r.t[-1] - r.t[-2],
                max_steps=100,
                args=args,
                **options,
            )
            nfev += last.nfev
            if last.success:
                r.y[:, -1] = last.y[:, -1]
        if r.t.size > 1:
            h_last = float(np.max(np.diff(r.t[-3:])))
        if r.y.shape[1] > 1:
            p, v, tk = seg.absolute(r.y[:, 1:])
            ts.append(tk)
            ps.append(p)
            vs.append(v)
        if r.y.shape[1] < 2 or not r.success or r.status != 1:
            if not r.success:
                message = r.message
            break
        pos, vel, t = ps[-1][-1], vs[-1][-1], ts[-1][-1]
        if landed:  # on t_end (to the root finder's tolerance)
            ts[-1][-1] = t = t_end
            y = r.y[:, -1].copy()
            y[TK] = t_end
            resume = (seg, y)
    if not ts:
        ts, ps, vs = [np.empty(0)], [np.empty((0,) + pos.shape)], [np.empty((0,) + pos.shape)]
    return KSRun(
        np.concatenate(ts),
        np.concatenate(ps),
        np.concatenate(vs),
        nfev,
        steps,
        segments,
        h_last,
        message,
        resume,
    )
