"""The N-body problem as a first-order system for the ``stepsize.ode`` Runge-Kutta methods.

Two state vectors (``coordinates=``):

* "absolute": y = (x_1..x_N, v_1..v_N) flattened; dy/dt = (v, a(x)) with Plummer-softened
  a_i = G sum_j m_j r_ij / (r_ij^2 + eps^2)^(3/2), r_ij = x_j - x_i (``gravity_rhs``).
* "relative" (default): the separations of all N(N-1)/2 pairs i < j and their time
  derivatives, y = (r_ij, w_ij = v_j - v_i), dr_ij/dt = w_ij, dw_ij/dt = a_j - a_i, with the
  accelerations computed from the r_ij themselves (``pair_rhs``), as in Heggie's (1974)
  global formulation without the regularisation.  The centre of mass moves uniformly,
  X(t) = X0 + V0 t, and x_i = X - (1/M) sum_j m_j r_ij.  The error control of the
  Runge-Kutta method then acts on separations: a close pair keeps its relative accuracy, where
  absolute coordinates of size 1 would leave it only rtol / r.  On the Pythagorean problem to
  t = 70, DOP853 at rtol = 1e-13 ends with |dE/E| = 9e-13 (relative) against 3e-9 (absolute)
  for the same work.

``stepsize.ode.solve`` compiles the right-hand side and runs the whole loop in Numba; the
masses travel as a tuple in ``args``; both right-hand sides write dy/dt in place
(``inplace=True``) and allocate nothing.
"""

import math

import numba
import numpy as np

from stepsize.nbody._gravity import (
    NJIT,
    check_events,
    closest_pair_squared,
    events_on,
    track_rmin,
)

COORDINATES = ("relative", "absolute")


@numba.njit(**NJIT)
def gravity_rhs(t, y, out, masses, G, softening):
    """dy/dt for y = (positions, velocities) flattened, into ``out`` (``solve(...,
    inplace=True)``); ``masses`` a tuple or an array."""
    n = len(masses)
    half = y.size // 2
    d = half // n
    eps2 = softening * softening
    for i in range(half):
        out[i] = y[half + i]
        out[half + i] = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            r2 = 0.0
            for k in range(d):
                dx = y[j * d + k] - y[i * d + k]
                r2 += dx * dx
            r2 += eps2
            ir3 = G / (r2 * math.sqrt(r2))
            for k in range(d):
                da = (y[j * d + k] - y[i * d + k]) * ir3
                out[half + i * d + k] += masses[j] * da
                out[half + j * d + k] -= masses[i] * da


@numba.njit(**NJIT)
def pair_rhs(t, y, out, masses, G, softening):
    """dy/dt for y = (r_p, w_p) over the pairs p = (i, j), i < j, in lexicographic order, into
    ``out`` (``solve(..., inplace=True)``), allocating nothing.

    The accelerations a_i (N x D values) are summed into out[:N D] first, which the pair
    derivatives dw_p/dt = a_j - a_i in out[P D:] do not overlap for N >= 3 (P = N(N-1)/2 >= N);
    for N = 2 the one pair's slot is a_1 itself, read before it is written.  The first half,
    dr_p/dt = w_p, is filled last.
    """
    n = len(masses)
    half = y.size // 2
    d = half // (n * (n - 1) // 2)
    eps2 = softening * softening
    for q in range(n * d):
        out[q] = 0.0
    p = 0
    for i in range(n):
        for j in range(i + 1, n):
            r2 = 0.0
            for k in range(d):
                r2 += y[p * d + k] * y[p * d + k]
            r2 += eps2
            ir3 = G / (r2 * math.sqrt(r2))
            for k in range(d):
                da = y[p * d + k] * ir3
                out[i * d + k] += masses[j] * da
                out[j * d + k] -= masses[i] * da
            p += 1
    p = 0
    for i in range(n):
        for j in range(i + 1, n):
            for k in range(d):
                out[half + p * d + k] = out[j * d + k] - out[i * d + k]
            p += 1
    for q in range(half):
        out[q] = y[half + q]


class Coordinates:
    """The state vector of one system at time ``t``: building it, and positions / velocities
    from it."""

    def __init__(self, kind, masses, pos, vel, t=0.0):
        if kind not in COORDINATES:
            raise ValueError(f"coordinates: unknown {kind!r}; known: {', '.join(COORDINATES)}")
        self.kind = kind
        self.rhs = pair_rhs if kind == "relative" else gravity_rhs
        self.shape = pos.shape
        n = masses.size
        self.pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        total = masses.sum()
        self.v0 = masses @ vel / total
        self.x0 = masses @ pos / total - self.v0 * t  # (pos, vel) at time t
        self.A = np.zeros((n, len(self.pairs)))  # x_i - X = sum_p A[i, p] r_p
        for p, (i, j) in enumerate(self.pairs):
            self.A[i, p] = -masses[j] / total
            self.A[j, p] = masses[i] / total
        self.frame = (kind == "relative", self.A, self.x0, self.v0)  # for to_absolute

    def state(self, pos, vel):
        if self.kind == "absolute":
            return np.concatenate([pos.ravel(), vel.ravel()])
        i, j = np.array(self.pairs).T
        return np.concatenate([(pos[j] - pos[i]).ravel(), (vel[j] - vel[i]).ravel()])

    def at(self, y, t):
        """Positions and velocities (N, D) of the state ``y`` at time ``t`` (``to_absolute``,
        the conversion the compiled scan and every other caller use, so that they agree to
        the bit)."""
        pos, vel = np.empty(self.shape), np.empty(self.shape)
        to_absolute(np.asarray(y, dtype=float).reshape(-1, 1), 0, float(t), self.frame, pos, vel)
        return pos, vel


@numba.njit(**NJIT)
def scan_states(pos, vel, masses, par, scal, cnt, escaped):
    """Track the closest approach and, where events are asked for (``events_on``, tested
    once), check them at each accepted step's state, ``pos``, ``vel`` (S, N, D); returns the
    index of the first state that stops the run, else -1."""
    events = events_on(par)
    for s in range(pos.shape[0]):
        imin, jmin, rmin2 = closest_pair_squared(pos[s])
        track_rmin(scal, cnt, rmin2, imin, jmin)
        if events and check_events(pos[s], vel[s], masses, par, cnt, escaped, rmin2, imin, jmin):
            return s
    return -1


@numba.njit(**NJIT, inline="always")
def to_absolute(ys, s, t, frame, pos, vel):
    """Positions and velocities (N, D) of the Runge-Kutta state ``ys[:, s]`` (a column: the
    solver's ``y``) at time ``t`` into ``pos``, ``vel``; ``frame`` is ``Coordinates.frame``,
    (relative, A, x0, v0): for relative coordinates x_i = x0 + v0 t + sum_p A[i, p] r_p and
    v_i = v0 + sum_p A[i, p] w_p.  Indexes ``ys`` in place (no column view: the views and
    their reference counts cost more than the arithmetic)."""
    relative, A, x0, v0 = frame
    n, d = pos.shape
    half = ys.shape[0] // 2
    if not relative:
        for i in range(n):
            for k in range(d):
                pos[i, k] = ys[i * d + k, s]
                vel[i, k] = ys[half + i * d + k, s]
        return
    for i in range(n):
        for k in range(d):
            x = 0.0
            v = 0.0
            for p in range(A.shape[1]):
                x += A[i, p] * ys[p * d + k, s]
                v += A[i, p] * ys[half + p * d + k, s]
            pos[i, k] = x0[k] + v0[k] * t + x
            vel[i, k] = v0[k] + v


@numba.njit(**NJIT, inline="always")
def closest_in_state(ys, s, relative, n, d):
    """(r^2, i, j) of the closest pair i < j in the state ``ys[:, s]``: from the pair
    separations r_p themselves (relative coordinates) or from the positions (absolute)."""
    rmin2 = np.inf
    imin = jmin = 0
    p = 0
    for i in range(n):
        for j in range(i + 1, n):
            r2 = 0.0
            for k in range(d):
                dx = ys[p * d + k, s] if relative else ys[j * d + k, s] - ys[i * d + k, s]
                r2 += dx * dx
            if r2 < rmin2:
                rmin2, imin, jmin = r2, i, j
            p += 1
    return rmin2, imin, jmin


@numba.njit(**NJIT)
def scan_ode(ys, times, first, frame, bodies, pos, vel):
    """Track the closest approach and check the events at the states ``ys[:, s]`` (columns:
    the solver's ``y``) at ``times[s]`` for s >= ``first``; ``bodies`` is (masses, par, scal,
    cnt, escaped).  The closest pair comes from the state itself (``closest_in_state``); only
    where events are asked for is each state converted (``to_absolute``, into ``pos``, ``vel``
    (N, D)) for ``check_events``.  Returns the first s that stops the run, its state left in
    ``pos``, ``vel``; else -1."""
    masses, par, scal, cnt, escaped = bodies
    events = events_on(par)
    n, d = pos.shape
    relative = frame[0]
    for s in range(first, times.size):
        rmin2, imin, jmin = closest_in_state(ys, s, relative, n, d)
        track_rmin(scal, cnt, rmin2, imin, jmin)
        if events:
            to_absolute(ys, s, times[s], frame, pos, vel)
            if check_events(pos, vel, masses, par, cnt, escaped, rmin2, imin, jmin):
                return s
    return -1
