"""Leapfrog: kick-drift-kick with a fixed or time-symmetric adaptive step, or drift-kick-drift
in the time of the logarithmic Hamiltonian (compiled loop).

One step of size h (second order, symplectic at fixed h, one force evaluation):
    v_half = v0 + a(x0) h/2,   x1 = x0 + v_half h,   v1 = v_half + a(x1) h/2.
Adaptive steps break symplecticity unless the step is a symmetric function of both ends; the
time-symmetric rule of Hut, Makino & McMillan (1995, ApJ 443, L93, eq. 6) takes
    h = eta (tau(x0, v0) + tau(x1, v1)) / 2,
solved by one fixed-point iteration from the trial h_0 = eta tau(x0, v0).  The trial's end
state needs no force evaluation: tau depends on x and v only, and the kick-drift-kick step gives
x1 = x0 + h v0 + h^2 a0 / 2 exactly from a0, while v1 = v0 + h (a0 + a1) / 2 is taken as
v0 + h a0, which differs from it by h (a0 - a1) / 2 = O(h^2 j).  The symmetrised h is then
asymmetric by O((h / tau)^2) relative, the order the earlier trial step with a force evaluation
left too (its tau(x1, v1) was that of the trial h, not of the h taken), at one force evaluation
a step instead of two.  tau is AMUSE's collision time scale,
min_{i<j} min(r/v, sqrt(r^3 / G(m_i + m_j))), even in v and so unchanged under time reversal.
A step that would pass the output time is shortened to end on it.

Time-transformed (``criterion="logh"``): the logarithmic-Hamiltonian leapfrog of Mikkola &
Tanikawa (1999, MNRAS 310, 745) and Preto & Tremaine (1999, AJ 118, 2532), the base method of
``archain`` in plain coordinates.  With T(v) the kinetic energy, Omega(x) = -U(x) and the
binding energy B = -E of the start (a constant), one step of fixed size h in the fictitious
time s, dt = ds / Omega, is

    drift(h/2):  dt_1 = (h/2) / (T(v) + B),  x += dt_1 v
    kick(h):     v += (h / Omega(x)) a(x)
    drift(h/2):  dt_2 = (h/2) / (T(v) + B),  x += dt_2 v,   t += dt_1 + dt_2

(one force evaluation).  It is symplectic and symmetric in the extended phase space at fixed
h, and for two bodies it follows the Kepler orbit exactly along its trajectory, through any
eccentricity, with only a time error: the physical step shrinks as 1 / Omega in a close
encounter, with no step criterion and no rejection.  h = eta Omega(0) tau(0) (tau the
collision time scale above) is set at the start of a run and kept.  The step that would pass
the output time is redone with the step in s that ends on it, found by regula falsi on t(h)
(monotone, as in ``archain``): a drift-kick-drift in t there would spoil the exact ellipse at a
pericentre.
"""

import numba
import numpy as np

from stepsize.nbody._gravity import (
    C_NFORCE,
    C_STATUS,
    C_STEPS,
    NJIT,
    NONFINITE,
    P_CRIT,
    P_DT,
    P_EPS2,
    P_ETA,
    P_G,
    P_MAXSTEPS,
    P_TEND,
    S_H,
    S_K,
    S_T,
    S_TAU,
    accelerations,
    accelerations_potential,
    all_finite,
    check_events,
    collision_time,
    copy_to,
    events_on,
    falsi_guess,
    falsi_update,
    kinetic_energy,
    potential_energy,
    step_size,
    track_rmin,
)

N_WORK = 5  # scratch (N, D) arrays of leapfrog_steps: x0, v0, a0 and the trial end x1, v1
SYMMETRIC, LOGH = 0, 1  # par[P_CRIT] of leapfrog: the adaptive step's rule
LANDING_ITERATIONS = 40
S_B = S_K  # the binding energy B of a logh run (a slot the leapfrog does not use otherwise)


@numba.njit(**NJIT)
def kdk(pos, vel, acc, masses, G, eps2, h):
    """One kick-drift-kick step in place; returns (r_min^2, i_min, j_min) at the new positions."""
    hh = h / 2.0
    n, d = pos.shape
    for i in range(n):
        for k in range(d):
            vel[i, k] = vel[i, k] + acc[i, k] * hh
            pos[i, k] = pos[i, k] + vel[i, k] * h
    rmin2, imin, jmin = accelerations(pos, masses, G, eps2, acc)
    for i in range(n):
        for k in range(d):
            vel[i, k] = vel[i, k] + acc[i, k] * hh
    return rmin2, imin, jmin


@numba.njit(**NJIT, inline="always")
def trial_end(pos, vel, acc, h, x1, v1):
    """The end of a kick-drift-kick step of size h without its force evaluation:
    x1 = x + h v + h^2 a / 2 (exact) and v1 = v + h a (the second half-kick with a(x))."""
    n, d = pos.shape
    for i in range(n):
        for k in range(d):
            x1[i, k] = pos[i, k] + h * (vel[i, k] + 0.5 * h * acc[i, k])
            v1[i, k] = vel[i, k] + h * acc[i, k]


@numba.njit(**NJIT, inline="always")
def drift(pos, vel, dt):
    """x += dt v, in place."""
    n, d = pos.shape
    for i in range(n):
        for k in range(d):
            pos[i, k] = pos[i, k] + vel[i, k] * dt


@numba.njit(**NJIT, inline="always")
def kick(vel, acc, dt, masses):
    """v += dt a, in place; returns the kinetic energy of the new v, summed as
    ``kinetic_energy`` sums it (the same bits, without a second pass over v)."""
    n, d = vel.shape
    t = 0.0
    for i in range(n):
        v2 = 0.0
        for k in range(d):
            v = vel[i, k] + acc[i, k] * dt
            vel[i, k] = v
            v2 += v * v
        t += 0.5 * masses[i] * v2
    return t


@numba.njit(**NJIT)
def logh_dkd(pos, vel, acc, masses, G, eps2, h, B):
    """One drift-kick-drift step of size h in the logarithmic-Hamiltonian time s, in place;
    returns (dt, r_min^2, i_min, j_min) at the midpoint."""
    dt1 = 0.5 * h / (kinetic_energy(vel, masses) + B)
    drift(pos, vel, dt1)
    rmin2, imin, jmin, u = accelerations_potential(pos, masses, G, eps2, acc)
    dt2 = 0.5 * h / (kick(vel, acc, -h / u, masses) + B)
    drift(pos, vel, dt2)
    return dt1 + dt2, rmin2, imin, jmin


@numba.njit(**NJIT)
def leapfrog_start(pos, vel, acc, jerk, masses, par, scal, cnt):
    """First force evaluation and time scale of a run (``jerk`` is unused)."""
    rmin2, imin, jmin = accelerations(pos, masses, par[P_G], par[P_EPS2], acc)
    cnt[C_NFORCE] += 1
    scal[S_TAU] = collision_time(pos, vel, masses, par[P_G], par[P_EPS2])
    if par[P_CRIT] == LOGH and par[P_DT] == 0.0:
        omega = -potential_energy(pos, masses, par[P_G], par[P_EPS2])
        scal[S_B] = omega - kinetic_energy(vel, masses)
        scal[S_H] = par[P_ETA] * omega * scal[S_TAU]
    track_rmin(scal, cnt, rmin2, imin, jmin)


@numba.njit(**NJIT)
def leapfrog_advance(pos, vel, acc, jerk, masses, par, scal, cnt, escaped):
    """Advance in place from scal[S_T] to par[P_TEND]; sets cnt[C_STATUS] and returns it."""
    work = np.empty((N_WORK,) + pos.shape)
    return leapfrog_steps(pos, vel, acc, jerk, masses, par, scal, cnt, escaped, work)


@numba.njit(**NJIT)
def leapfrog_steps(pos, vel, acc, jerk, masses, par, scal, cnt, escaped, work):
    """``leapfrog_advance`` with its scratch in ``work`` (N_WORK, N, D): allocates nothing, so
    it also compiles as a CUDA device function."""
    fixed = par[P_DT] > 0.0
    if par[P_CRIT] == LOGH and not fixed:
        return logh_steps(pos, vel, acc, masses, par, scal, cnt, escaped, work)
    x0, v0, a0, x1, v1 = work[0], work[1], work[2], work[3], work[4]
    G, eps2, eta = par[P_G], par[P_EPS2], par[P_ETA]
    events = events_on(par)
    while True:
        t = scal[S_T]
        h_crit = par[P_DT] if fixed else eta * scal[S_TAU]
        h, state = step_size(h_crit, t, par[P_TEND], cnt[C_STEPS], par[P_MAXSTEPS])
        if state != 1:
            cnt[C_STATUS] = state
            return state
        if not fixed:
            trial_end(pos, vel, acc, h, x1, v1)
            tau1 = collision_time(x1, v1, masses, G, eps2)
            h_sym = eta * (scal[S_TAU] + tau1) / 2.0
            h, state = step_size(h_sym, t, par[P_TEND], cnt[C_STEPS], par[P_MAXSTEPS])
            if state != 1:
                cnt[C_STATUS] = state
                return state
        copy_to(x0, pos)
        copy_to(v0, vel)
        copy_to(a0, acc)
        rmin2, imin, jmin = kdk(pos, vel, acc, masses, G, eps2, h)
        cnt[C_NFORCE] += 1
        if not (all_finite(pos) and all_finite(vel)):
            copy_to(pos, x0)
            copy_to(vel, v0)
            copy_to(acc, a0)
            cnt[C_STATUS] = NONFINITE
            return NONFINITE
        scal[S_T] = par[P_TEND] if h == par[P_TEND] - t else t + h
        cnt[C_STEPS] += 1
        if not fixed:
            scal[S_TAU] = collision_time(pos, vel, masses, G, eps2)
        track_rmin(scal, cnt, rmin2, imin, jmin)
        if events and check_events(pos, vel, masses, par, cnt, escaped, rmin2, imin, jmin):
            return cnt[C_STATUS]


@numba.njit(**NJIT)
def logh_steps(pos, vel, acc, masses, par, scal, cnt, escaped, work):
    """``leapfrog_steps`` in the logarithmic-Hamiltonian time (``logh_dkd``, step scal[S_H]
    in s); the last step lands on par[P_TEND] with a shorter step in s."""
    x0, v0, a0 = work[0], work[1], work[2]
    G, eps2, h, B = par[P_G], par[P_EPS2], scal[S_H], scal[S_B]
    events = events_on(par)
    while True:
        t = scal[S_T]
        _, state = step_size(1.0, t, par[P_TEND], cnt[C_STEPS], par[P_MAXSTEPS])
        if state != 1:
            accelerations(pos, masses, G, eps2, acc)  # a(x) at the end, as the other methods
            cnt[C_NFORCE] += 1
            cnt[C_STATUS] = state
            return state
        copy_to(x0, pos)
        copy_to(v0, vel)
        copy_to(a0, acc)
        dt, rmin2, imin, jmin = logh_dkd(pos, vel, acc, masses, G, eps2, h, B)
        cnt[C_NFORCE] += 1
        landing = not (t + dt < par[P_TEND])
        if landing:  # redo it with the step in s that ends on the output time
            lo_h, lo_f, hi_h, hi_f = 0.0, t - par[P_TEND], h, t + dt - par[P_TEND]
            side = 0
            for _ in range(LANDING_ITERATIONS):
                h_try = falsi_guess(lo_h, lo_f, hi_h, hi_f)
                copy_to(pos, x0)
                copy_to(vel, v0)
                dt, rmin2, imin, jmin = logh_dkd(pos, vel, acc, masses, G, eps2, h_try, B)
                cnt[C_NFORCE] += 1
                f = t + dt - par[P_TEND]
                if abs(f) <= 4e-16 * abs(par[P_TEND]) or hi_h - lo_h <= 1e-15 * hi_h:
                    break
                lo_h, lo_f, hi_h, hi_f, side = falsi_update(lo_h, lo_f, hi_h, hi_f, side, h_try, f)
        if not (all_finite(pos) and all_finite(vel) and dt > 0.0):
            copy_to(pos, x0)
            copy_to(vel, v0)
            copy_to(acc, a0)
            cnt[C_STATUS] = NONFINITE
            return NONFINITE
        scal[S_T] = par[P_TEND] if landing else t + dt
        cnt[C_STEPS] += 1
        track_rmin(scal, cnt, rmin2, imin, jmin)
        if events and check_events(pos, vel, masses, par, cnt, escaped, rmin2, imin, jmin):
            accelerations(pos, masses, G, eps2, acc)
            cnt[C_NFORCE] += 1
            return cnt[C_STATUS]
