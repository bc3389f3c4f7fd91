"""Kick-drift-kick leapfrog, fixed or time-symmetric adaptive step (compiled loop).

One step of size h (second order, symplectic at fixed h, one force evaluation):
    v_half = v0 + a(x0) h/2,   x1 = x0 + v_half h,   v1 = v_half + a(x1) h/2.
Adaptive steps break symplecticity unless the step is a symmetric function of both ends; the
time-symmetric rule of Hut, Makino & McMillan (1995, ApJ 443, L93, eq. 6) takes
    h = eta (tau(x0, v0) + tau(x1, v1)) / 2,
solved by one fixed-point iteration: a trial step with h = eta tau(x0, v0) gives (x1, v1), then
the step is redone with the symmetrised h (two force evaluations per step).  tau is AMUSE's
collision time scale, min_{i<j} min(r/v, sqrt(r^3 / G(m_i + m_j))), even in v and so unchanged
under time reversal.  A step that would pass the output time is shortened to end on it.
"""

import numba
import numpy as np

from stepsize.nbody._gravity import (
    C_NFORCE,
    C_STATUS,
    C_STEPS,
    NJIT,
    NONFINITE,
    P_DT,
    P_EPS2,
    P_ETA,
    P_G,
    P_MAXSTEPS,
    P_TEND,
    S_T,
    S_TAU,
    accelerations,
    all_finite,
    check_events,
    collision_time,
    copy_to,
    step_size,
    track_rmin,
)

N_WORK = 3  # scratch (N, D) arrays of leapfrog_steps: x0, v0, a0


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


@numba.njit(**NJIT)
def leapfrog_start(pos, vel, acc, jerk, masses, par, scal, cnt):
    """First force evaluation and time scale of a run (``jerk`` is unused)."""
    rmin2, imin, jmin = accelerations(pos, masses, par[P_G], par[P_EPS2], acc)
    cnt[C_NFORCE] += 1
    scal[S_TAU] = collision_time(pos, vel, masses, par[P_G], par[P_EPS2])
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
    x0, v0, a0 = work[0], work[1], work[2]
    G, eps2, eta = par[P_G], par[P_EPS2], par[P_ETA]
    fixed = par[P_DT] > 0.0
    while True:
        t = scal[S_T]
        h_crit = par[P_DT] if fixed else eta * scal[S_TAU]
        h, state = step_size(h_crit, t, par[P_TEND], cnt[C_STEPS], par[P_MAXSTEPS])
        if state != 1:
            cnt[C_STATUS] = state
            return state
        copy_to(x0, pos)
        copy_to(v0, vel)
        copy_to(a0, acc)
        if not fixed:
            kdk(pos, vel, acc, masses, G, eps2, h)
            cnt[C_NFORCE] += 1
            tau1 = collision_time(pos, vel, masses, G, eps2)
            h_sym = eta * (scal[S_TAU] + tau1) / 2.0
            h, state = step_size(h_sym, t, par[P_TEND], cnt[C_STEPS], par[P_MAXSTEPS])
            copy_to(pos, x0)
            copy_to(vel, v0)
            copy_to(acc, a0)
            if state != 1:
                cnt[C_STATUS] = state
                return state
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
        if check_events(pos, vel, masses, par, cnt, escaped, rmin2, imin, jmin):
            return cnt[C_STATUS]
