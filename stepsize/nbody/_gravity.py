"""Compiled gravity kernels on plain arrays: ``pos``, ``vel`` (N, D) float64, ``masses`` (N,).

Pairwise Newtonian gravity with Plummer softening (r^2 -> r^2 + eps^2), r_ij = x_j - x_i:

    a_i = G sum_j m_j r_ij / r^3
    j_i = G sum_j m_j [v_ij / r^3 - 3 (r_ij . v_ij) r_ij / r^5]        (jerk, da_i/dt)
    U   = -G sum_{i<j} m_i m_j / r

(Aarseth 2003, *Gravitational N-body Simulations*, eqs. 2.1-2.3; AMUSE ``hermite0``.)  The pair
loop also returns the quartic AMUSE collision time, min over pairs of
min(r^4 / v^4, r^6 / (G (m_i + m_j))^2), whose fourth root is the time scale of the shared-step
criterion, and the closest (unsoftened) pair.  Every sum runs over j in increasing order.

The kernels called inside a step allocate nothing and use only scalar loops (no slice
assignment, no builtin ``min``/``max``), so that the same functions also compile as CUDA device
functions: ``stepsize.nbody._cuda`` calls them from a kernel with one thread per system.  Those
called once per force evaluation or step (the force kernels, ``fill``, ``copy_to``,
``collision_time``) are inlined into the loops (``inline="always"``): for three bodies the calls
themselves cost a quarter of a gbs run (1000 paper systems, 10 yr, benchmarks/nbody_ensemble.py).
"""

import math

import numba
import numpy as np

NJIT = dict(cache=True, error_model="numpy", nogil=True)


@numba.njit(**NJIT, inline="always")
def lesser(a, b):
    """min(a, b) as Python's builtin (a unless b < a); device-compilable."""
    return b if b < a else a


@numba.njit(**NJIT, inline="always")
def greater(a, b):
    """max(a, b) as Python's builtin (a unless b > a); device-compilable."""
    return b if b > a else a


@numba.njit(**NJIT, inline="always")
def fill(a, value):
    """a[...] = value for a 2-D array, in place."""
    n, d = a.shape
    for i in range(n):
        for k in range(d):
            a[i, k] = value


@numba.njit(**NJIT, inline="always")
def copy_to(dst, src):
    """dst[...] = src for 2-D arrays of one shape, in place."""
    n, d = src.shape
    for i in range(n):
        for k in range(d):
            dst[i, k] = src[i, k]


# Status codes of the compiled loops (negative: the run cannot go on).
DONE, ENCOUNTER, ESCAPE, ENERGY, COLLISION = 0, 1, 2, 3, 4
MAX_STEPS, UNDERFLOW, NONFINITE = -1, -2, -3

# Layout of the float parameters ``par`` and the carried scalars ``scal`` / counters ``cnt``.
P_TEND, P_ETA, P_DT, P_EPS2, P_G, P_ENC2, P_ESC, P_MAXSTEPS, P_CRIT, P_RTOL, P_ATOL = range(11)
S_T, S_TAU, S_HLAST, S_RMIN2, S_H, S_K = range(6)
C_STEPS, C_NFORCE, C_STATUS, C_EVI, C_EVJ, C_ARMED, C_RMINI, C_RMINJ, C_REJECT = range(9)
N_PAR, N_SCAL, N_CNT = 11, 6, 9
AMUSE, AARSETH = 0, 1


@numba.njit(**NJIT, inline="always")
def acc_jerk(pos, vel, masses, G, eps2, acc, jerk):
    """Write accelerations and jerks; return (tau^4, r_min^2, i_min, j_min) over the pairs.

    D is 2 or 3 (``System``): the components are named scalars (z = 0 in 2-D, which adds
    exact zeros), so the pair loop keeps them in registers; the sums are those of a loop over
    the components, in the same order, so the results are the same to the bit."""
    n, d = pos.shape
    three = d == 3
    for i in range(n):  # zeroed here, not by ``fill``: a call per array costs more for N = 3
        for k in range(d):
            acc[i, k] = 0.0
            jerk[i, k] = 0.0
    tau_q = np.inf
    rmin2 = np.inf
    imin = jmin = 0
    for i in range(n):
        xi, yi, zi = pos[i, 0], pos[i, 1], pos[i, 2] if three else 0.0
        ui, vi, wi = vel[i, 0], vel[i, 1], vel[i, 2] if three else 0.0
        ax, ay, az = acc[i, 0], acc[i, 1], acc[i, 2] if three else 0.0
        jx, jy, jz = jerk[i, 0], jerk[i, 1], jerk[i, 2] if three else 0.0
        mi = masses[i]
        for j in range(i + 1, n):
            dx, dy = pos[j, 0] - xi, pos[j, 1] - yi
            dz = pos[j, 2] - zi if three else 0.0
            du, dv = vel[j, 0] - ui, vel[j, 1] - vi
            dw = vel[j, 2] - wi if three else 0.0
            r2 = dx * dx + dy * dy + dz * dz
            v2 = du * du + dv * dv + dw * dw
            rv = dx * du + dy * dv + dz * dw
            if r2 < rmin2:
                rmin2, imin, jmin = r2, i, j
            r2 += eps2
            ir3 = G / (r2 * math.sqrt(r2))
            rv3 = 3.0 * rv / r2
            mj = masses[j]
            cx, cy, cz = dx * ir3, dy * ir3, dz * ir3
            kx, ky, kz = (du - rv3 * dx) * ir3, (dv - rv3 * dy) * ir3, (dw - rv3 * dz) * ir3
            ax, ay, az = ax + mj * cx, ay + mj * cy, az + mj * cz
            jx, jy, jz = jx + mj * kx, jy + mj * ky, jz + mj * kz
            acc[j, 0] -= mi * cx
            acc[j, 1] -= mi * cy
            jerk[j, 0] -= mi * kx
            jerk[j, 1] -= mi * ky
            if three:
                acc[j, 2] -= mi * cz
                jerk[j, 2] -= mi * kz
            gm = G * (mi + mj)
            tau_q = lesser(lesser(tau_q, r2 * r2 / (v2 * v2)), r2 * r2 * r2 / (gm * gm))
        acc[i, 0], acc[i, 1] = ax, ay
        jerk[i, 0], jerk[i, 1] = jx, jy
        if three:
            acc[i, 2] = az
            jerk[i, 2] = jz
    return tau_q, rmin2, imin, jmin


PAIR_ROWS = 5  # rows of the ``work`` of ``accelerations``: dx, dy, dz, r^2, G / r^3 per pair


@numba.njit(**NJIT, inline="always")
def accelerations(pos, masses, G, eps2, acc, work=None):
    """Write accelerations; return (r_min^2, i_min, j_min) over the pairs (unsoftened r):
    ``accelerations_potential`` without the potential (inlined, its sum is compiled away)."""
    rmin2, imin, jmin, _ = accelerations_potential(pos, masses, G, eps2, acc, work)
    return rmin2, imin, jmin


@numba.njit(**NJIT, inline="always")
def accelerations_potential(pos, masses, G, eps2, acc, work=None):
    """Write accelerations; return (r_min^2, i_min, j_min) over the pairs (unsoftened r; named
    components x, y, z, with z = 0 in 2-D, as ``acc_jerk``) and the potential energy
    U = -G sum_{i<j} m_i m_j / sqrt(r_ij^2 + eps^2), from the same pass: G / sqrt(s^2) =
    (G / s^3) s^2, with no square root or division of its own (the logarithmic-Hamiltonian
    leapfrog needs both at every step).

    With ``work`` (PAIR_ROWS, >= N(N-1)/2) the pairs' separations and G / (r^2 + eps^2)^(3/2)
    are computed first, in two loops free of other work that the compiler turns into vector
    square roots and divisions, and the sums then read them: the same results to the bit, a
    quarter off the pair loop from about ten pairs on (``wh`` on the outer Solar System, 15
    pairs).  Without it (``None``, resolved at compile time) each pair is done in one pass,
    which is faster for a few bodies and needs no scratch (the CUDA device functions)."""
    n, d = pos.shape
    three = d == 3
    if work is not None:
        p = 0
        for i in range(n):
            xi, yi, zi = pos[i, 0], pos[i, 1], pos[i, 2] if three else 0.0
            for j in range(i + 1, n):
                dx, dy = pos[j, 0] - xi, pos[j, 1] - yi
                dz = pos[j, 2] - zi if three else 0.0
                work[0, p], work[1, p], work[2, p] = dx, dy, dz
                work[3, p] = dx * dx + dy * dy + dz * dz
                p += 1
        for q in range(p):
            r2 = work[3, q] + eps2
            work[4, q] = G / (r2 * math.sqrt(r2))
    for i in range(n):
        for k in range(d):
            acc[i, k] = 0.0
    rmin2 = np.inf
    imin = jmin = 0
    u = 0.0
    p = 0
    for i in range(n):
        xi, yi, zi = pos[i, 0], pos[i, 1], pos[i, 2] if three else 0.0
        ax, ay, az = acc[i, 0], acc[i, 1], acc[i, 2] if three else 0.0
        mi = masses[i]
        for j in range(i + 1, n):
            if work is None:
                dx, dy = pos[j, 0] - xi, pos[j, 1] - yi
                dz = pos[j, 2] - zi if three else 0.0
                r2 = dx * dx + dy * dy + dz * dz
                s2 = r2 + eps2
                ir3 = G / (s2 * math.sqrt(s2))
            else:
                dx, dy, dz, r2, ir3 = work[0, p], work[1, p], work[2, p], work[3, p], work[4, p]
                s2 = r2 + eps2
                p += 1
            u -= mi * masses[j] * (ir3 * s2)
            if r2 < rmin2:
                rmin2, imin, jmin = r2, i, j
            mj = masses[j]
            cx, cy, cz = dx * ir3, dy * ir3, dz * ir3
            ax, ay, az = ax + mj * cx, ay + mj * cy, az + mj * cz
            acc[j, 0] -= mi * cx
            acc[j, 1] -= mi * cy
            if three:
                acc[j, 2] -= mi * cz
        acc[i, 0], acc[i, 1] = ax, ay
        if three:
            acc[i, 2] = az
    return rmin2, imin, jmin, u


@numba.njit(**NJIT, inline="always")
def collision_time(pos, vel, masses, G, eps2):
    """AMUSE's collision time scale min_{i<j} min(r/v, sqrt(r^3 / (G (m_i + m_j))))."""
    n = pos.shape[0]
    three = pos.shape[1] == 3
    tau_q = np.inf
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = pos[j, 0] - pos[i, 0], pos[j, 1] - pos[i, 1]
            dz = pos[j, 2] - pos[i, 2] if three else 0.0
            du, dv = vel[j, 0] - vel[i, 0], vel[j, 1] - vel[i, 1]
            dw = vel[j, 2] - vel[i, 2] if three else 0.0
            r2 = dx * dx + dy * dy + dz * dz + eps2
            v2 = du * du + dv * dv + dw * dw
            gm = G * (masses[i] + masses[j])
            tau_q = lesser(lesser(tau_q, r2 * r2 / (v2 * v2)), r2 * r2 * r2 / (gm * gm))
    return math.sqrt(math.sqrt(tau_q))


@numba.njit(**NJIT)
def potential_energy(pos, masses, G, eps2):
    """U = -G sum_{i<j} m_i m_j / sqrt(r_ij^2 + eps^2)."""
    n, d = pos.shape
    u = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            r2 = 0.0
            for k in range(d):
                dx = pos[j, k] - pos[i, k]
                r2 += dx * dx
            r2 += eps2
            u -= masses[i] * masses[j] / math.sqrt(r2)
    return G * u


@numba.njit(**NJIT)
def kinetic_energy(vel, masses):
    """T = sum_i m_i |v_i|^2 / 2."""
    n, d = vel.shape
    t = 0.0
    for i in range(n):
        v2 = 0.0
        for k in range(d):
            v2 += vel[i, k] * vel[i, k]
        t += 0.5 * masses[i] * v2
    return t


@numba.njit(**NJIT)
def total_energy(pos, vel, masses, G, eps2):
    """E = T + U."""
    return kinetic_energy(vel, masses) + potential_energy(pos, masses, G, eps2)


@numba.njit(**NJIT)
def angular_momentum_into(pos, vel, masses, out):
    """out[:] = L = sum_i m_i x_i cross v_i, a 3-vector (only its z component is non-zero in
    2-D); allocates nothing."""
    n, d = pos.shape
    for k in range(3):
        out[k] = 0.0
    for i in range(n):
        if d == 2:
            out[2] += masses[i] * (pos[i, 0] * vel[i, 1] - pos[i, 1] * vel[i, 0])
        else:
            out[0] += masses[i] * (pos[i, 1] * vel[i, 2] - pos[i, 2] * vel[i, 1])
            out[1] += masses[i] * (pos[i, 2] * vel[i, 0] - pos[i, 0] * vel[i, 2])
            out[2] += masses[i] * (pos[i, 0] * vel[i, 1] - pos[i, 1] * vel[i, 0])


@numba.njit(**NJIT)
def angular_momentum(pos, vel, masses):
    """L = sum_i m_i x_i cross v_i as a new 3-vector (``angular_momentum_into``)."""
    out = np.empty(3)
    angular_momentum_into(pos, vel, masses, out)
    return out


@numba.njit(**NJIT)
def center_of_mass_into(x, masses, out):
    """out[:] = sum_i m_i x_i / sum_i m_i (positions or velocities); allocates nothing."""
    n, d = x.shape
    for k in range(d):
        out[k] = 0.0
    total = 0.0
    for i in range(n):
        total += masses[i]
        for k in range(d):
            out[k] += masses[i] * x[i, k]
    for k in range(d):
        out[k] = out[k] / total


@numba.njit(**NJIT)
def center_of_mass(x, masses):
    """sum_i m_i x_i / sum_i m_i as a new array (``center_of_mass_into``)."""
    out = np.empty(x.shape[1])
    center_of_mass_into(x, masses, out)
    return out


@numba.njit(**NJIT)
def com_drift(pos, masses, x0, v0, t):
    """|X(t) - X(0) - V(0) t|: how far the centre of mass strayed from uniform motion."""
    n, d = pos.shape
    total = 0.0
    for i in range(n):
        total += masses[i]
    s = 0.0
    for k in range(d):
        xc = 0.0  # the centre of mass, summed as center_of_mass_into does (no allocation)
        for i in range(n):
            xc += masses[i] * pos[i, k]
        dk = xc / total - (x0[k] + v0[k] * t)
        s += dk * dk
    return math.sqrt(s)


@numba.njit(**NJIT, inline="always")
def closest_pair_squared(pos):
    """(i, j, r_ij^2) of the closest pair, i < j."""
    n, d = pos.shape
    best = np.inf
    bi = bj = 0
    for i in range(n):
        for j in range(i + 1, n):
            r2 = 0.0
            for k in range(d):
                dx = pos[j, k] - pos[i, k]
                r2 += dx * dx
            if r2 < best:
                best, bi, bj = r2, i, j
    return bi, bj, best


@numba.njit(**NJIT)
def closest_pair(pos):
    """(i, j, r_ij) of the closest pair, i < j."""
    bi, bj, best = closest_pair_squared(pos)
    return bi, bj, math.sqrt(best)


@numba.njit(**NJIT)
def find_escaper(pos, vel, masses, G, radius, escaped):
    """Index of the first body not yet in ``escaped`` that escapes, else -1.

    Body i escapes when, relative to the centre of mass of the other bodies, it is farther than
    ``radius``, receding (r . v > 0) and unbound in the point-mass approximation of the rest:
    |v|^2 / 2 - G (m_i + M_rest) / r > 0.
    """
    n, d = pos.shape
    total = 0.0
    for i in range(n):
        total += masses[i]
    for i in range(n):
        if escaped[i]:
            continue
        scale = total / (total - masses[i])  # x_i - X_rest = (x_i - X) M / (M - m_i)
        r2 = 0.0
        v2 = 0.0
        rv = 0.0
        for k in range(d):
            xc = 0.0  # the centre of mass, summed as center_of_mass does (no allocation)
            vc = 0.0
            for b in range(n):
                xc += masses[b] * pos[b, k]
                vc += masses[b] * vel[b, k]
            dx = (pos[i, k] - xc / total) * scale
            dv = (vel[i, k] - vc / total) * scale
            r2 += dx * dx
            v2 += dv * dv
            rv += dx * dv
        if r2 > radius * radius and rv > 0.0 and 0.5 * v2 > G * total / math.sqrt(r2):
            return i
    return -1


@numba.njit(**NJIT)
def all_finite(a):
    """True when every entry of the 2-D array ``a`` is finite."""
    n, d = a.shape
    for i in range(n):
        for k in range(d):
            if not math.isfinite(a[i, k]):
                return False
    return True


@numba.njit(**NJIT, inline="always")
def events_on(par):
    """Whether ``check_events`` can stop a run (an encounter distance or an escape radius is
    set).  The loops test it once and skip the call otherwise: the call costs some 50-70 ns
    even when it finds nothing (the reference counts of its array arguments; measured on the
    Pythagorean problem, about a third of a leapfrog step)."""
    return par[P_ENC2] > 0.0 or par[P_ESC] > 0.0


@numba.njit(**NJIT)
def check_events(pos, vel, masses, par, cnt, escaped, rmin2, imin, jmin):
    """After a step: arm/trigger the encounter event, look for an escaper; True to stop."""
    if par[P_ENC2] > 0.0:
        if rmin2 < par[P_ENC2]:
            if cnt[C_ARMED]:
                cnt[C_ARMED] = 0
                cnt[C_STATUS] = ENCOUNTER
                cnt[C_EVI] = imin
                cnt[C_EVJ] = jmin
                return True
        else:
            cnt[C_ARMED] = 1
    if par[P_ESC] > 0.0:
        i = find_escaper(pos, vel, masses, par[P_G], par[P_ESC], escaped)
        if i >= 0:
            escaped[i] = 1
            cnt[C_STATUS] = ESCAPE
            cnt[C_EVI] = i
            cnt[C_EVJ] = -1
            return True
    return False


@numba.njit(**NJIT, inline="always")
def track_rmin(scal, cnt, rmin2, imin, jmin):
    if rmin2 < scal[S_RMIN2]:
        scal[S_RMIN2] = rmin2
        cnt[C_RMINI] = imin
        cnt[C_RMINJ] = jmin


@numba.njit(**NJIT, inline="always")
def falsi_guess(lo_h, lo_f, hi_h, hi_f):
    """The next trial of a bracketed root f(h) = 0, f(lo_h) < 0 < f(hi_h): regula falsi, or
    the midpoint where rounding puts it outside the bracket."""
    h = lo_h + (hi_h - lo_h) * lo_f / (lo_f - hi_f)
    return h if lo_h < h < hi_h else 0.5 * (lo_h + hi_h)


@numba.njit(**NJIT, inline="always")
def falsi_update(lo_h, lo_f, hi_h, hi_f, side, h, f):
    """The bracket after the trial (h, f(h)), Illinois variant (Dowell & Jarratt 1971): an end
    kept twice in a row has its residual halved, so that the bracket closes superlinearly.
    Returns (lo_h, lo_f, hi_h, hi_f, side)."""
    if f < 0.0:
        if side < 0:
            hi_f *= 0.5
        return h, f, hi_h, hi_f, -1
    if side > 0:
        lo_f *= 0.5
    return lo_h, lo_f, h, f, 1


@numba.njit(**NJIT, inline="always")
def step_size(h, t, t_end, nsteps, max_steps):
    """The step to take toward ``t_end`` (truncated to land on it) and a status: DONE when
    ``t_end`` is reached, MAX_STEPS or UNDERFLOW when the loop must stop, else 1 (go on)."""
    if t >= t_end:
        return 0.0, DONE
    if nsteps >= max_steps:
        return 0.0, MAX_STEPS
    remaining = t_end - t
    if h >= remaining:
        return remaining, 1
    if not (h > 0.0) or t + h == t:
        return h, UNDERFLOW
    return h, 1


@numba.njit(**NJIT)
def massive(masses):
    """Indices of the bodies with m > 0, in increasing order (the sources of gravity)."""
    n = 0
    for m in masses:
        if m > 0.0:
            n += 1
    out = np.empty(n, dtype=np.int64)
    n = 0
    for i in range(masses.size):
        if masses[i] > 0.0:
            out[n] = i
            n += 1
    return out


@numba.njit(**NJIT)
def gravity(pos, masses, G, eps2, active, acc):
    """Accelerations of every body due to the massive ones, ``active`` (from ``massive``).

    Test particles (m = 0) feel gravity and exert none: the pairs of two test particles are
    skipped, so the cost is O(N_active N) rather than O(N^2).  Returns (r_min^2, i_min, j_min)
    over the pairs computed (those with at least one massive body).
    """
    n, d = pos.shape
    if active.size == n:  # no test particles: the plain pair loop
        return accelerations(pos, masses, G, eps2, acc)
    acc[:] = 0.0
    rmin2 = np.inf
    imin = jmin = 0
    for p in range(active.size):
        i = active[p]
        for j in range(n):
            if j == i or (masses[j] > 0.0 and j < i):
                continue  # each massive pair once, from its lower index
            r2 = 0.0
            for k in range(d):
                dx = pos[j, k] - pos[i, k]
                r2 += dx * dx
            if r2 < rmin2:
                rmin2, imin, jmin = r2, min(i, j), max(i, j)
            r2 += eps2
            ir3 = G / (r2 * math.sqrt(r2))
            for k in range(d):
                da = (pos[j, k] - pos[i, k]) * ir3
                acc[i, k] += masses[j] * da
                acc[j, k] -= masses[i] * da
    return rmin2, imin, jmin


@numba.njit(**NJIT)
def find_overlap(pos, radii, masses, active):
    """The first pair (i < j) closer than r_i + r_j, else (-1, -1); pairs of two test
    particles are not checked (cost O(N_active N))."""
    n, d = pos.shape
    for p in range(active.size):
        i = active[p]
        for j in range(n):
            if j == i or (masses[j] > 0.0 and j < i):
                continue
            r2 = 0.0
            for k in range(d):
                dx = pos[j, k] - pos[i, k]
                r2 += dx * dx
            reach = radii[i] + radii[j]
            if r2 < reach * reach:
                return min(i, j), max(i, j)
    return -1, -1
