"""Hermite 4 for three bodies in a plane, with the state in registers; and many such runs at once.

:func:`stepsize.nbody._hermite.hermite_steps` with the AMUSE criterion (h = eta tau,
tau = min over pairs of min(r/v, sqrt(r^3 / G(m_i + m_j))) at the last force evaluation), three
bodies in two dimensions, no fixed step and no encounter or escape checks (:func:`fits`): the
set-up of Saz Ulibarrena & Portegies Zwart's three-body environment.  :func:`planar3_step` does
the operations of one step in ``hermite_steps``' order (predictor, pair forces and jerks summed
as ``acc_jerk`` sums them, time-symmetric corrector, the quartic time scale and the closest
pair), so the results equal those of ``hermite_steps`` to the bit
(``tests/test_envs_fast_step.py`` asserts it, non-finite steps included).

What differs is where the state lives.  :func:`planar3_steps` (one run) keeps the 24 numbers of
positions, velocities, accelerations and jerks in local variables for the whole interval and
writes them back once at its end: straight-line code, 71-79 ns of CPU per step against 110-118
for ``hermite_steps`` on the same machine (60-61 ns against 66 before the finiteness test went
from 12 multiplications by 0 to one sum, :func:`_sum_is_finite`).  That is the latency of
one step's chain of dependent operations (predictor, separations, a square root and a division
per pair, corrector, and the two square roots of the time scale that sets the next step), with
the floating-point ports busy about two thirds of it (llvm-mca); the divider and square-root
unit sit idle most of it.
:func:`planar3_many` advances many runs, each to its own end time, in
``LANES`` interleaved lanes: each pass of its inner loop takes one step of every lane, with no
branch in the loop body (``step_size``'s outcome and the finiteness test become selects), so the
lanes' chains overlap and the compiler puts the lanes into one SIMD register.  A lane whose run
stops is written back and refilled with the next run; the last run left finishes alone in
``planar3_steps``.  Every lane does every run's operations in its order, so ``planar3_many``
too equals ``hermite_steps`` to the bit.

Why four lanes: a step is 14 divisions and 5 square roots, and the divide/square-root unit,
shared by the lanes, is what a pass waits for: a pass of 8 lanes (two 4-wide registers) costs
about twice one of 4, and 4 lanes lose little throughput (256 runs of 0.3 yr at random eta,
every lane busy: 19.0-19.8 ns per lane-step against 18.3-18.6 with 8, load 4.5-4.9).  A pass
of 4 lanes costs about one lone step (its chain's latency), so the longest run, which sets a
vector step's time when one copy sits at eta = 1e-4 in a close encounter, advances at that
speed from its first pass, where with 8 lanes it advanced at half of it until the others were
done.  The paper-setting vector of 256 (``benchmarks/rl_env_speed.py``'s set-up, random
actions) took 17-22% less CPU time with 4 lanes than with 8 and the narrowing tail 8 lanes
needed (4 lanes, then 2 runs one by one); with one fixed eta = 1e-4 for all, 4-6% less.

Runs of ``planar3_many`` live in the rows of one float64 array, in :meth:`Simulation.bind_state`'s
layout (``B_*``): positions, velocities, accelerations, jerks (row-major (3, 2) each), masses,
the kernel parameters ``P_*`` and the scalars ``S_*`` of :mod:`stepsize.nbody._gravity`; their
counters ``C_*`` in the rows of an int64 array.
"""

import math

import numba
import numpy as np

from stepsize.nbody._gravity import (
    AMUSE,
    C_NFORCE,
    C_RMINI,
    C_RMINJ,
    C_STATUS,
    C_STEPS,
    N_PAR,
    N_SCAL,
    NJIT,
    NONFINITE,
    P_CRIT,
    P_DT,
    P_ENC2,
    P_EPS2,
    P_ESC,
    P_ETA,
    P_G,
    P_MAXSTEPS,
    P_TEND,
    S_RMIN2,
    S_T,
    S_TAU,
    step_size,
)

B_POS, B_VEL, B_ACC, B_JERK, B_MASSES, B_PAR = 0, 6, 12, 18, 24, 27
B_SCAL = B_PAR + N_PAR
N_STATE = B_SCAL + N_SCAL  # the entries of one run's row
LANES = 4  # runs interleaved by planar3_many: one AVX2 register of float64
SOLO = 1  # runs left that planar3_many finishes one by one (in planar3_steps)
# the lane arrays of planar3_many beyond the 24 state numbers
L_T, L_TAU, L_BEST, L_BI, L_BJ, L_STEPS, L_NFORCE, L_CODE = range(24, 32)
L_M0, L_M1, L_M2, L_G, L_EPS2, L_ETA, L_TEND, L_MAXSTEPS = range(32, 40)
L_GG01, L_GG02, L_GG12 = range(40, 43)  # pair_constants, computed once per run
N_LANE = 43


def fits(pos, par):
    """True when ``hermite_steps`` takes exactly :func:`planar3_steps`' steps: three bodies in
    a plane, the AMUSE criterion with eta, no fixed step, no encounter or escape checks."""
    return (
        pos.shape == (3, 2)
        and par[P_CRIT] == AMUSE
        and par[P_DT] == 0.0
        and par[P_ENC2] == 0.0
        and par[P_ESC] == 0.0
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
def _sum_is_finite(s):
    """True when the sum of the 12 positions and velocities of s is finite, which they all are
    then (an inf or a nan among them makes the sum inf or nan); False also when finite values
    overflow the sum, so False is checked again by :func:`_all_finite`.  11 additions, where
    testing each number (x * 0 == 0, or ``isfinite``) takes 12 multiplications more."""
    a = (s[0] + s[1]) + (s[2] + s[3])
    b = (s[4] + s[5]) + (s[6] + s[7])
    c = (s[8] + s[9]) + (s[10] + s[11])
    total = (a + b) + c
    return total - total == 0.0


@numba.njit(**NJIT)
def _all_finite(s):
    """True when the 12 positions and velocities of s are all finite (correct's test)."""
    for x in s[0:12]:
        if not math.isfinite(x):
            return False
    return True


@numba.njit(**NJIT, inline="always")
def pair_constants(m0, m1, m2, G):
    """(G (m_i + m_j))^2 of the pairs 01, 02, 12: the denominators of the time scale."""
    g01, g02, g12 = G * (m0 + m1), G * (m0 + m2), G * (m1 + m2)
    return g01 * g01, g02 * g02, g12 * g12


@numba.njit(**NJIT, inline="always")
def planar3_step(s, h, m0, m1, m2, G, eps2, gg):
    """One Hermite 4 step of size h from the state s = (x0, y0, x1, y1, x2, y2, u0, v0, ...,
    ax0, ..., jx0, ..., jy2) (positions, velocities, accelerations, jerks, body by body);
    ``gg`` is :func:`pair_constants`' tuple.

    Returns (the new state, the quartic time scale tau^4, the squared pair distances r01^2,
    r02^2, r12^2 at the predicted positions, :func:`_sum_is_finite` of the new state: True
    when it is finite, False when it may not be)."""
    x0, y0, x1, y1, x2, y2, u0, v0, u1, v1, u2, v2 = s[0:12]
    ax0, ay0, ax1, ay1, ax2, ay2, jx0, jy0, jx1, jy1, jx2, jy2 = s[12:24]
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
    # sums in acc_jerk's order: body j > i receives -m_i c_ij when pair (i, j) is visited
    bx0, by0 = 0.0 + m1 * cx01 + m2 * cx02, 0.0 + m1 * cy01 + m2 * cy02
    bx1, by1 = 0.0 - m0 * cx01 + m2 * cx12, 0.0 - m0 * cy01 + m2 * cy12
    bx2, by2 = 0.0 - m0 * cx02 - m1 * cx12, 0.0 - m0 * cy02 - m1 * cy12
    kx0, ky0 = 0.0 + m1 * kx01 + m2 * kx02, 0.0 + m1 * ky01 + m2 * ky02
    kx1, ky1 = 0.0 - m0 * kx01 + m2 * kx12, 0.0 - m0 * ky01 + m2 * ky12
    kx2, ky2 = 0.0 - m0 * kx02 - m1 * kx12, 0.0 - m0 * ky02 - m1 * ky12
    tau_q = _tau_terms(np.inf, s01, w01, gg[0])
    tau_q = _tau_terms(tau_q, s02, w02, gg[1])
    tau_q = _tau_terms(tau_q, s12, w12, gg[2])
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
    new = (nx0, ny0, nx1, ny1, nx2, ny2, nu0, nv0, nu1, nv1, nu2, nv2)
    new = new + (bx0, by0, bx1, by1, bx2, by2, kx0, ky0, kx1, ky1, kx2, ky2)
    return new, tau_q, r01, r02, r12, _sum_is_finite(new)


@numba.njit(**NJIT, inline="always")
def _closest(best, bi, bj, r01, r02, r12):
    """acc_jerk's closest pair of a step (the first of equals), then track_rmin's running
    minimum (best, bi, bj)."""
    rmin2, imin, jmin = np.inf, 0, 0
    if r01 < rmin2:
        rmin2, imin, jmin = r01, 0, 1
    if r02 < rmin2:
        rmin2, imin, jmin = r02, 0, 2
    if r12 < rmin2:
        rmin2, imin, jmin = r12, 1, 2
    if rmin2 < best:
        return rmin2, imin, jmin
    return best, bi, bj


@numba.njit(**NJIT, inline="always")
def _next_time(t, h, t_end):
    """hermite_steps' clock: the end time exactly when the step was cut to land on it."""
    return t_end if h == t_end - t else t + h


@numba.njit(**NJIT)
def planar3_steps(pos, vel, acc, jerk, masses, par, scal, cnt):
    """Advance in place from scal[S_T] to par[P_TEND] as ``hermite_steps`` does (see the module
    docstring); sets cnt[C_STATUS] and returns it."""
    s = (pos[0, 0], pos[0, 1], pos[1, 0], pos[1, 1], pos[2, 0], pos[2, 1])
    s = s + (vel[0, 0], vel[0, 1], vel[1, 0], vel[1, 1], vel[2, 0], vel[2, 1])
    s = s + (acc[0, 0], acc[0, 1], acc[1, 0], acc[1, 1], acc[2, 0], acc[2, 1])
    s = s + (jerk[0, 0], jerk[0, 1], jerk[1, 0], jerk[1, 1], jerk[2, 0], jerk[2, 1])
    m0, m1, m2 = masses[0], masses[1], masses[2]
    G, eps2, eta, t_end, max_steps = par[P_G], par[P_EPS2], par[P_ETA], par[P_TEND], par[P_MAXSTEPS]
    t, tau, steps, nforce = scal[S_T], scal[S_TAU], cnt[C_STEPS], cnt[C_NFORCE]
    best, bi, bj = scal[S_RMIN2], cnt[C_RMINI], cnt[C_RMINJ]
    gg = pair_constants(m0, m1, m2, G)
    while True:
        h, state = step_size(eta * tau, t, t_end, steps, max_steps)
        if state != 1:
            break
        new, tau_q, r01, r02, r12, finite = planar3_step(s, h, m0, m1, m2, G, eps2, gg)
        nforce += 1
        if not finite and not _all_finite(new):
            state = NONFINITE  # the arrays keep the state before the step
            break
        s = new
        t = _next_time(t, h, t_end)
        steps += 1
        tau = math.sqrt(math.sqrt(tau_q))
        best, bi, bj = _closest(best, bi, bj, r01, r02, r12)
    pos[0, 0], pos[0, 1], pos[1, 0], pos[1, 1], pos[2, 0], pos[2, 1] = s[0:6]
    vel[0, 0], vel[0, 1], vel[1, 0], vel[1, 1], vel[2, 0], vel[2, 1] = s[6:12]
    acc[0, 0], acc[0, 1], acc[1, 0], acc[1, 1], acc[2, 0], acc[2, 1] = s[12:18]
    jerk[0, 0], jerk[0, 1], jerk[1, 0], jerk[1, 1], jerk[2, 0], jerk[2, 1] = s[18:24]
    scal[S_T], scal[S_TAU], scal[S_RMIN2] = t, tau, best
    cnt[C_STEPS], cnt[C_NFORCE], cnt[C_RMINI], cnt[C_RMINJ] = steps, nforce, bi, bj
    cnt[C_STATUS] = state
    return state


@numba.njit(**NJIT)
def planar3_advance(pos, vel, acc, jerk, masses, par, scal, cnt, escaped):
    """:func:`planar3_steps` with the signature of ``Simulation``'s kernels (``escaped`` unused:
    :func:`fits` excludes escape checks)."""
    return planar3_steps(pos, vel, acc, jerk, masses, par, scal, cnt)


@numba.njit(**NJIT, inline="always")
def _lane_state(lanes, k):
    """The 24 state numbers of lane k as a tuple."""
    a = lanes
    s = (a[0, k], a[1, k], a[2, k], a[3, k], a[4, k], a[5, k], a[6, k], a[7, k])
    s = s + (a[8, k], a[9, k], a[10, k], a[11, k], a[12, k], a[13, k], a[14, k], a[15, k])
    return s + (a[16, k], a[17, k], a[18, k], a[19, k], a[20, k], a[21, k], a[22, k], a[23, k])


@numba.njit(**NJIT, inline="always")
def _put_state(a, k, s):
    """The state tuple s into lane k (constant tuple indices: a loop over a tuple with a
    variable index compiles to a switch)."""
    a[0, k], a[1, k], a[2, k], a[3, k], a[4, k], a[5, k] = s[0:6]
    a[6, k], a[7, k], a[8, k], a[9, k], a[10, k], a[11, k] = s[6:12]
    a[12, k], a[13, k], a[14, k], a[15, k], a[16, k], a[17, k] = s[12:18]
    a[18, k], a[19, k], a[20, k], a[21, k], a[22, k], a[23, k] = s[18:24]


@numba.njit(**NJIT, inline="always")
def _lane_begin(a, k):
    """Lane k's state, its step (``step_size``) and its step's outcome."""
    s = _lane_state(a, k)
    h, state = step_size(
        a[L_ETA, k] * a[L_TAU, k], a[L_T, k], a[L_TEND, k], a[L_STEPS, k], a[L_MAXSTEPS, k]
    )
    return s, h, state


@numba.njit(**NJIT, inline="always")
def _lane_step(a, k, s, h):
    """planar3_step of lane k's state s."""
    gg = (a[L_GG01, k], a[L_GG02, k], a[L_GG12, k])
    return planar3_step(s, h, a[L_M0, k], a[L_M1, k], a[L_M2, k], a[L_G, k], a[L_EPS2, k], gg)


@numba.njit(**NJIT, inline="always")
def _pick(c, x, y):
    """x if c else y, with no branch (both are computed already)."""
    return x if c else y


@numba.njit(**NJIT, inline="always")
def _lane_end(a, k, s, h, state, out):
    """Lane k after its step ``out`` (planar3_step's tuple), with selects, not branches: a
    lane not running (L_CODE != 1) or whose step was not to be taken (``state`` != 1) keeps
    its state; one whose step may not be finite (``_sum_is_finite``) keeps it and stops with
    NONFINITE, which ``planar3_many`` checks again (``_recheck``)."""
    new, tau_q, r01, r02, r12, finite = out
    code = a[L_CODE, k]
    running = code == 1.0
    run = running & (state == 1)
    keep = run & finite
    _put_state(a, k, _pick(keep, new, s))
    t, tau = a[L_T, k], a[L_TAU, k]
    a[L_T, k] = _pick(keep, _next_time(t, h, a[L_TEND, k]), t)
    a[L_TAU, k] = _pick(keep, math.sqrt(math.sqrt(tau_q)), tau)
    a[L_NFORCE, k] += _pick(run, 1.0, 0.0)
    a[L_STEPS, k] += _pick(keep, 1.0, 0.0)
    best, bi, bj = a[L_BEST, k], a[L_BI, k], a[L_BJ, k]
    nbest, nbi, nbj = _closest(best, bi, bj, r01, r02, r12)
    a[L_BEST, k] = _pick(keep, nbest, best)
    a[L_BI, k] = _pick(keep, nbi, bi)
    a[L_BJ, k] = _pick(keep, nbj, bj)
    stopped = _pick(run, float(NONFINITE), float(state))
    a[L_CODE, k] = _pick(keep, 1.0, _pick(running, stopped, code))


@numba.njit(**NJIT, inline="always")
def _lanes_step(a):
    """One step of every running lane (L_CODE 1) of ``a`` (N_LANE, LANES); a lane that stops
    gets its status in L_CODE.  The body has no branch that the compiler cannot turn into a
    select, and LANES is a constant, so the loop over the lanes is vectorised: the lanes'
    identical operations run in SIMD registers."""
    for k in range(LANES):
        s, h, state = _lane_begin(a, k)
        _lane_end(a, k, s, h, state, _lane_step(a, k, s, h))


@numba.njit(**NJIT)
def _load_lane(lanes, k, row, cnt):
    """Run ``row`` (``B_*``) with counters ``cnt`` into lane k."""
    a = lanes
    for i in range(24):
        a[i, k] = row[i]
    scal = row[B_SCAL:]
    a[L_T, k], a[L_TAU, k], a[L_BEST, k] = scal[S_T], scal[S_TAU], scal[S_RMIN2]
    a[L_BI, k], a[L_BJ, k] = cnt[C_RMINI], cnt[C_RMINJ]
    a[L_STEPS, k], a[L_NFORCE, k], a[L_CODE, k] = cnt[C_STEPS], cnt[C_NFORCE], 1.0
    a[L_M0, k], a[L_M1, k], a[L_M2, k] = row[B_MASSES], row[B_MASSES + 1], row[B_MASSES + 2]
    par = row[B_PAR:]
    a[L_G, k], a[L_EPS2, k], a[L_ETA, k] = par[P_G], par[P_EPS2], par[P_ETA]
    a[L_TEND, k], a[L_MAXSTEPS, k] = par[P_TEND], par[P_MAXSTEPS]
    a[L_GG01, k], a[L_GG02, k], a[L_GG12, k] = pair_constants(
        a[L_M0, k], a[L_M1, k], a[L_M2, k], a[L_G, k]
    )


@numba.njit(**NJIT)
def _store_lane(lanes, k, row, cnt):
    """Lane k back into its run's ``row`` and ``cnt``."""
    a = lanes
    for i in range(24):
        row[i] = a[i, k]
    scal = row[B_SCAL:]
    scal[S_T], scal[S_TAU], scal[S_RMIN2] = a[L_T, k], a[L_TAU, k], a[L_BEST, k]
    cnt[C_RMINI], cnt[C_RMINJ] = int(a[L_BI, k]), int(a[L_BJ, k])
    cnt[C_STEPS], cnt[C_NFORCE] = int(a[L_STEPS, k]), int(a[L_NFORCE, k])
    cnt[C_STATUS] = int(a[L_CODE, k])


@numba.njit(**NJIT)
def _row_steps(row, cnt):
    """planar3_steps on a run's row (``B_*``) and counters."""
    pos = row[B_POS:B_VEL].reshape((3, 2))
    vel = row[B_VEL:B_ACC].reshape((3, 2))
    acc = row[B_ACC:B_JERK].reshape((3, 2))
    jerk = row[B_JERK:B_MASSES].reshape((3, 2))
    masses, par, scal = row[B_MASSES:B_PAR], row[B_PAR:B_SCAL], row[B_SCAL:N_STATE]
    return planar3_steps(pos, vel, acc, jerk, masses, par, scal, cnt)


@numba.njit(**NJIT)
def _recheck(row, cnt):
    """A run whose lane stopped at a step :func:`_sum_is_finite` did not pass: that step again
    in :func:`planar3_steps` (its force evaluation not counted twice), which stops there too
    when a number is not finite, and else (finite numbers whose sum overflows) goes on."""
    cnt[C_NFORCE] -= 1
    _row_steps(row, cnt)


@numba.njit(**NJIT)
def planar3_many(rows, cnts):
    """Advance every run (a row of ``rows``, ``B_*``, counters in the same row of ``cnts``)
    from its S_T to its P_TEND, LANES runs interleaved (see the module docstring); each run's
    cnt[C_STATUS] gets its status, as :func:`planar3_steps` sets it.  Returns the number of
    passes over the lanes (each pass steps every running lane once).

    The runs go into the lanes longest first, by the steps they would take at their present
    time scale, (t_end - t) / (eta tau), so that the last passes are not one long run with the
    other lanes idle; the last run, once no other is waiting, finishes alone in
    ``planar3_steps``, which takes a step in less time than a pass of all lanes."""
    n = rows.shape[0]
    work = np.empty(n)
    for r in range(n):
        par, scal = rows[r, B_PAR:B_SCAL], rows[r, B_SCAL:N_STATE]
        work[r] = -(par[P_TEND] - scal[S_T]) / (par[P_ETA] * scal[S_TAU])
    order = np.argsort(work, kind="mergesort")
    lanes = np.zeros((N_LANE, LANES))
    lanes[L_CODE, :] = 2.0  # empty: not running, nothing to write back
    owner = np.full(LANES, -1)
    queued = passes = 0
    while True:
        running = 0
        for k in range(LANES):
            if lanes[L_CODE, k] == 1.0:
                running += 1
                continue
            if owner[k] >= 0:
                _store_lane(lanes, k, rows[owner[k]], cnts[owner[k]])
                if lanes[L_CODE, k] == NONFINITE:
                    _recheck(rows[owner[k]], cnts[owner[k]])
                owner[k] = -1
            if queued < n:
                r = order[queued]
                _load_lane(lanes, k, rows[r], cnts[r])
                owner[k] = r
                queued += 1
                running += 1
        if queued == n and running <= SOLO:
            break
        _lanes_step(lanes)
        passes += 1
    for k in range(LANES):
        if owner[k] >= 0:
            _store_lane(lanes, k, rows[owner[k]], cnts[owner[k]])
            _row_steps(rows[owner[k]], cnts[owner[k]])
    return passes
