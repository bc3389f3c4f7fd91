"""Fourth-order Hermite predictor-corrector with a shared step (compiled loop).

Predictor (Taylor series to the jerk):
    x_p = x0 + v0 h + a0 h^2/2 + j0 h^3/6,     v_p = v0 + a0 h + j0 h^2/2
Time-symmetric corrector (Hut, Makino & McMillan 1995, ApJ 443, L93; AMUSE ``hermite0``):
    v1 = v0 + (a0 + a1) h/2 + (j0 - j1) h^2/12
    x1 = x0 + (v0 + v1) h/2 + (a0 - a1) h^2/12
with a1, j1 evaluated at (x_p, v_p): one force evaluation per step (PEC).

Step criteria:
  * "amuse" (default eta 0.03): h = eta * tau, tau = min_{i<j} min(r/v, sqrt(r^3 / G(m_i + m_j)))
    evaluated with the last force evaluation (AMUSE ``hermite0``: ``calculate_step``).
  * "aarseth" (default eta 0.02): h = min_i sqrt(eta (|a||a2| + |j|^2) / (|j||a3| + |a2|^2))
    (Aarseth 2003, eq. 2.13; NBODY ``TSTEP``), with the snap and crackle at the end of the step
    from the Hermite interpolant (Makino & Aarseth 1992):
        a3 = [12 (a0 - a1) + 6 h (j0 + j1)] / h^3,
        a2 = [-6 (a0 - a1) - h (4 j0 + 2 j1)] / h^2 + h a3.
    The first step uses tau of the "amuse" criterion (the two time scales agree on circular
    orbits) and a step grows at most twofold.
  * a fixed step ``dt``.
A step that would pass the output time is shortened to end on it.
"""

import math

import numba
import numpy as np

from stepsize.nbody._gravity import (
    AMUSE,
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
    S_HLAST,
    S_T,
    S_TAU,
    acc_jerk,
    check_events,
    copy_to,
    events_on,
    lesser,
    step_size,
    track_rmin,
)

N_WORK = 4  # scratch (N, D) arrays of hermite_steps: x0, v0, a0, j0


@numba.njit(**NJIT)
def aarseth_tau(a0, j0, a1, j1, h):
    """min_i sqrt((|a||a2| + |j|^2) / (|j||a3| + |a2|^2)) at the end of a step of size h."""
    n, d = a0.shape
    best = np.inf
    for i in range(n):
        sa = sj = s2 = s3 = 0.0
        for k in range(d):
            da = a0[i, k] - a1[i, k]
            c3 = (12.0 * da + 6.0 * h * (j0[i, k] + j1[i, k])) / (h * h * h)
            c2 = (-6.0 * da - h * (4.0 * j0[i, k] + 2.0 * j1[i, k])) / (h * h) + h * c3
            sa += a1[i, k] * a1[i, k]
            sj += j1[i, k] * j1[i, k]
            s2 += c2 * c2
            s3 += c3 * c3
        ratio = (math.sqrt(sa * s2) + sj) / (math.sqrt(sj * s3) + s2)
        best = lesser(best, math.sqrt(ratio))
    return best


@numba.njit(**NJIT, inline="always")
def predict(pos, vel, acc, jerk, x0, v0, a0, j0, h):
    """Save (x, v, a, j) into (x0, v0, a0, j0), then x += v h + a h^2/2 + j h^3/6 and
    v += a h + j h^2/2, in place, in one pass."""
    h2 = h * h / 2.0
    h3 = h * h * h / 6.0
    n, d = pos.shape
    for i in range(n):
        for k in range(d):
            x, v, a, j = pos[i, k], vel[i, k], acc[i, k], jerk[i, k]
            x0[i, k], v0[i, k], a0[i, k], j0[i, k] = x, v, a, j
            pos[i, k] = x + v * h + a * h2 + j * h3
            vel[i, k] = v + a * h + j * h2


@numba.njit(**NJIT, inline="always")
def correct(pos, vel, acc, jerk, x0, v0, a0, j0, h):
    """The time-symmetric corrector, in place ((acc, jerk) are a1, j1); True when the new
    positions and velocities are all finite."""
    hh = h / 2.0
    h12 = h * h / 12.0
    n, d = pos.shape
    finite = True
    for i in range(n):
        for k in range(d):
            v = v0[i, k] + (a0[i, k] + acc[i, k]) * hh + (j0[i, k] - jerk[i, k]) * h12
            x = x0[i, k] + (v0[i, k] + v) * hh + (a0[i, k] - acc[i, k]) * h12
            vel[i, k], pos[i, k] = v, x
            finite = finite and math.isfinite(x) and math.isfinite(v)
    return finite


@numba.njit(**NJIT)
def hermite_start(pos, vel, acc, jerk, masses, par, scal, cnt):
    """First force evaluation and time scale of a run."""
    tau_q, rmin2, imin, jmin = acc_jerk(pos, vel, masses, par[P_G], par[P_EPS2], acc, jerk)
    cnt[C_NFORCE] += 1
    scal[S_TAU] = math.sqrt(math.sqrt(tau_q))
    scal[S_HLAST] = np.inf
    track_rmin(scal, cnt, rmin2, imin, jmin)


@numba.njit(**NJIT)
def hermite_advance(pos, vel, acc, jerk, masses, par, scal, cnt, escaped):
    """Advance in place from scal[S_T] to par[P_TEND]; sets cnt[C_STATUS] and returns it."""
    work = np.empty((N_WORK,) + pos.shape)
    return hermite_steps(pos, vel, acc, jerk, masses, par, scal, cnt, escaped, work)


@numba.njit(**NJIT)
def hermite_steps(pos, vel, acc, jerk, masses, par, scal, cnt, escaped, work):
    """``hermite_advance`` with its scratch in ``work`` (N_WORK, N, D): allocates nothing, so
    it also compiles as a CUDA device function."""
    x0, v0, a0, j0 = work[0], work[1], work[2], work[3]
    G, eps2, eta = par[P_G], par[P_EPS2], par[P_ETA]
    aarseth = par[P_CRIT] != AMUSE
    events = events_on(par)
    while True:
        t = scal[S_T]
        if par[P_DT] > 0.0:
            h_crit = par[P_DT]
        elif aarseth:
            h_crit = lesser(math.sqrt(eta) * scal[S_TAU], 2.0 * scal[S_HLAST])
        else:
            h_crit = eta * scal[S_TAU]
        h, state = step_size(h_crit, t, par[P_TEND], cnt[C_STEPS], par[P_MAXSTEPS])
        if state != 1:
            cnt[C_STATUS] = state
            return state
        predict(pos, vel, acc, jerk, x0, v0, a0, j0, h)
        tau_q, rmin2, imin, jmin = acc_jerk(pos, vel, masses, G, eps2, acc, jerk)
        cnt[C_NFORCE] += 1
        if not correct(pos, vel, acc, jerk, x0, v0, a0, j0, h):
            copy_to(pos, x0)
            copy_to(vel, v0)
            copy_to(acc, a0)
            copy_to(jerk, j0)
            cnt[C_STATUS] = NONFINITE
            return NONFINITE
        scal[S_T] = par[P_TEND] if h == par[P_TEND] - t else t + h
        cnt[C_STEPS] += 1
        if not aarseth:
            scal[S_TAU] = math.sqrt(math.sqrt(tau_q))
        elif h >= 1e-3 * h_crit:  # a sliver before an output time says little about a2, a3
            scal[S_TAU] = aarseth_tau(a0, j0, acc, jerk, h)
            scal[S_HLAST] = h_crit
        track_rmin(scal, cnt, rmin2, imin, jmin)
        if events and check_events(pos, vel, masses, par, cnt, escaped, rmin2, imin, jmin):
            return cnt[C_STATUS]
