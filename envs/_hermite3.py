"""The planar three-body Hermite 4 step of ``stepsize/ThreeBody-v0``, with the state in registers.

:func:`stepsize.nbody._hermite.hermite_steps` with the AMUSE criterion (h = eta tau,
tau = min over pairs of min(r/v, sqrt(r^3 / G(m_i + m_j))) at the last force evaluation), three
bodies in two dimensions and no encounter or escape checks: the paper's set-up.  The same
operations in the same order (predictor, pair forces and jerks summed as ``acc_jerk`` sums them,
time-symmetric corrector, the quartic time scale and the closest pair), so the results are equal
to those of ``hermite_steps`` to the bit (``tests/test_envs_fast_step.py`` asserts it along random
action sequences).

What differs is where the state lives: the 24 numbers of positions, velocities, accelerations and
jerks stay in local variables for the whole interval and go back to the arrays once at its end,
and the previous state needed by the corrector (and kept on a non-finite step) is the previous
value of those variables.  ``hermite_steps`` loads and stores its (N, D) arrays at every step and
loops over a run-time N; here the step is straight-line code: 71-79 ns of CPU per step against
110-118 ns for ``hermite_steps`` (1.5x; one interleaved run on a loaded two-core machine).  What
is left is the chain of dependent operations of a step (predictor, pair separations, square
root, division, corrector, and the two square roots of the time scale that sets the next step).
"""

import math

import numba
import numpy as np

from stepsize.nbody._gravity import (
    C_NFORCE,
    C_RMINI,
    C_RMINJ,
    C_STATUS,
    C_STEPS,
    NJIT,
    NONFINITE,
    P_EPS2,
    P_ETA,
    P_G,
    P_MAXSTEPS,
    P_TEND,
    S_RMIN2,
    S_T,
    S_TAU,
    step_size,
)


@numba.njit(**NJIT, inline="always")
def _pair(dx, dy, du, dv, G, eps2):
    """acc_jerk's pair terms: (c, k) = G r / r^3 and G [v / r^3 - 3 (r.v) r / r^5] (softened r),
    the unsoftened r^2, the softened r^2 and v^2."""
    r2 = dx * dx + dy * dy
    v2 = du * du + dv * dv
    rv = dx * du + dy * dv
    s2 = r2 + eps2
    ir3 = G / (s2 * math.sqrt(s2))
    rv3 = 3.0 * rv / s2
    return dx * ir3, dy * ir3, (du - rv3 * dx) * ir3, (dv - rv3 * dy) * ir3, r2, s2, v2


@numba.njit(**NJIT, inline="always")
def _tau_terms(tau_q, s2, v2, gg):
    """acc_jerk's lesser(lesser(tau_q, r^4 / v^4), r^6 / (G (m_i + m_j))^2)."""
    q = s2 * s2 / (v2 * v2)
    tau_q = q if q < tau_q else tau_q
    q = s2 * s2 * s2 / gg
    return q if q < tau_q else tau_q


@numba.njit(**NJIT, inline="always")
def _zero_if_finite(x, y, u, v):
    """0 when x, y, u, v are all finite, else nan (x * 0 is nan exactly for inf and nan): one
    test on the sum of these replaces twelve ``isfinite`` branches."""
    return x * 0.0 + y * 0.0 + u * 0.0 + v * 0.0


@numba.njit(**NJIT)
def hermite3_steps(pos, vel, acc, jerk, masses, par, scal, cnt):
    """Advance in place from scal[S_T] to par[P_TEND] as ``hermite_steps`` does (see the module
    docstring); sets cnt[C_STATUS] and returns it."""
    x0, y0, x1, y1, x2, y2 = pos[0, 0], pos[0, 1], pos[1, 0], pos[1, 1], pos[2, 0], pos[2, 1]
    u0, v0, u1, v1, u2, v2 = vel[0, 0], vel[0, 1], vel[1, 0], vel[1, 1], vel[2, 0], vel[2, 1]
    ax0, ay0, ax1, ay1 = acc[0, 0], acc[0, 1], acc[1, 0], acc[1, 1]
    ax2, ay2 = acc[2, 0], acc[2, 1]
    jx0, jy0, jx1, jy1 = jerk[0, 0], jerk[0, 1], jerk[1, 0], jerk[1, 1]
    jx2, jy2 = jerk[2, 0], jerk[2, 1]
    m0, m1, m2 = masses[0], masses[1], masses[2]
    G, eps2, eta, t_end, max_steps = par[P_G], par[P_EPS2], par[P_ETA], par[P_TEND], par[P_MAXSTEPS]
    g01, g02, g12 = G * (m0 + m1), G * (m0 + m2), G * (m1 + m2)
    gg01, gg02, gg12 = g01 * g01, g02 * g02, g12 * g12
    t, tau, steps, nforce = scal[S_T], scal[S_TAU], cnt[C_STEPS], cnt[C_NFORCE]
    best, bi, bj = scal[S_RMIN2], cnt[C_RMINI], cnt[C_RMINJ]
    while True:
        h, state = step_size(eta * tau, t, t_end, steps, max_steps)
        if state != 1:
            break
        h2 = h * h / 2.0
        h3 = h * h * h / 6.0
        hh = h / 2.0
        h12 = h * h / 12.0
        px0 = x0 + u0 * h + ax0 * h2 + jx0 * h3
        py0 = y0 + v0 * h + ay0 * h2 + jy0 * h3
        px1 = x1 + u1 * h + ax1 * h2 + jx1 * h3
        py1 = y1 + v1 * h + ay1 * h2 + jy1 * h3
        px2 = x2 + u2 * h + ax2 * h2 + jx2 * h3
        py2 = y2 + v2 * h + ay2 * h2 + jy2 * h3
        pu0, pv0 = u0 + ax0 * h + jx0 * h2, v0 + ay0 * h + jy0 * h2
        pu1, pv1 = u1 + ax1 * h + jx1 * h2, v1 + ay1 * h + jy1 * h2
        pu2, pv2 = u2 + ax2 * h + jx2 * h2, v2 + ay2 * h + jy2 * h2
        cx01, cy01, kx01, ky01, r01, s01, w01 = _pair(
            px1 - px0, py1 - py0, pu1 - pu0, pv1 - pv0, G, eps2
        )
        cx02, cy02, kx02, ky02, r02, s02, w02 = _pair(
            px2 - px0, py2 - py0, pu2 - pu0, pv2 - pv0, G, eps2
        )
        cx12, cy12, kx12, ky12, r12, s12, w12 = _pair(
            px2 - px1, py2 - py1, pu2 - pu1, pv2 - pv1, G, eps2
        )
        nforce += 1
        # sums in acc_jerk's order: body j > i receives -m_i c_ij when pair (i, j) is visited
        bx0, by0 = 0.0 + m1 * cx01 + m2 * cx02, 0.0 + m1 * cy01 + m2 * cy02
        bx1, by1 = 0.0 - m0 * cx01 + m2 * cx12, 0.0 - m0 * cy01 + m2 * cy12
        bx2, by2 = 0.0 - m0 * cx02 - m1 * cx12, 0.0 - m0 * cy02 - m1 * cy12
        kx0, ky0 = 0.0 + m1 * kx01 + m2 * kx02, 0.0 + m1 * ky01 + m2 * ky02
        kx1, ky1 = 0.0 - m0 * kx01 + m2 * kx12, 0.0 - m0 * ky01 + m2 * ky12
        kx2, ky2 = 0.0 - m0 * kx02 - m1 * kx12, 0.0 - m0 * ky02 - m1 * ky12
        tau_q = _tau_terms(np.inf, s01, w01, gg01)
        tau_q = _tau_terms(tau_q, s02, w02, gg02)
        tau_q = _tau_terms(tau_q, s12, w12, gg12)
        nu0 = u0 + (ax0 + bx0) * hh + (jx0 - kx0) * h12
        nv0 = v0 + (ay0 + by0) * hh + (jy0 - ky0) * h12
        nu1 = u1 + (ax1 + bx1) * hh + (jx1 - kx1) * h12
        nv1 = v1 + (ay1 + by1) * hh + (jy1 - ky1) * h12
        nu2 = u2 + (ax2 + bx2) * hh + (jx2 - kx2) * h12
        nv2 = v2 + (ay2 + by2) * hh + (jy2 - ky2) * h12
        nx0 = x0 + (u0 + nu0) * hh + (ax0 - bx0) * h12
        ny0 = y0 + (v0 + nv0) * hh + (ay0 - by0) * h12
        nx1 = x1 + (u1 + nu1) * hh + (ax1 - bx1) * h12
        ny1 = y1 + (v1 + nv1) * hh + (ay1 - by1) * h12
        nx2 = x2 + (u2 + nu2) * hh + (ax2 - bx2) * h12
        ny2 = y2 + (v2 + nv2) * hh + (ay2 - by2) * h12
        zero = _zero_if_finite(nx0, ny0, nu0, nv0) + _zero_if_finite(nx1, ny1, nu1, nv1)
        if not zero + _zero_if_finite(nx2, ny2, nu2, nv2) == 0.0:
            state = NONFINITE  # the arrays keep the state before the step
            break
        x0, y0, x1, y1, x2, y2 = nx0, ny0, nx1, ny1, nx2, ny2
        u0, v0, u1, v1, u2, v2 = nu0, nv0, nu1, nv1, nu2, nv2
        ax0, ay0, ax1, ay1, ax2, ay2 = bx0, by0, bx1, by1, bx2, by2
        jx0, jy0, jx1, jy1, jx2, jy2 = kx0, ky0, kx1, ky1, kx2, ky2
        t = t_end if h == t_end - t else t + h
        steps += 1
        tau = math.sqrt(math.sqrt(tau_q))
        rmin2, imin, jmin = np.inf, 0, 0  # acc_jerk's closest pair, then track_rmin
        if r01 < rmin2:
            rmin2, imin, jmin = r01, 0, 1
        if r02 < rmin2:
            rmin2, imin, jmin = r02, 0, 2
        if r12 < rmin2:
            rmin2, imin, jmin = r12, 1, 2
        if rmin2 < best:
            best, bi, bj = rmin2, imin, jmin
    pos[0, 0], pos[0, 1], pos[1, 0], pos[1, 1], pos[2, 0], pos[2, 1] = x0, y0, x1, y1, x2, y2
    vel[0, 0], vel[0, 1], vel[1, 0], vel[1, 1], vel[2, 0], vel[2, 1] = u0, v0, u1, v1, u2, v2
    acc[0, 0], acc[0, 1], acc[1, 0], acc[1, 1], acc[2, 0], acc[2, 1] = ax0, ay0, ax1, ay1, ax2, ay2
    jerk[0, 0], jerk[0, 1], jerk[1, 0], jerk[1, 1] = jx0, jy0, jx1, jy1
    jerk[2, 0], jerk[2, 1] = jx2, jy2
    scal[S_T], scal[S_TAU], scal[S_RMIN2] = t, tau, best
    cnt[C_STEPS], cnt[C_NFORCE], cnt[C_RMINI], cnt[C_RMINJ] = steps, nforce, bi, bj
    cnt[C_STATUS] = state
    return state
