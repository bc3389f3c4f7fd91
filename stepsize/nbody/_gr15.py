"""``gr15``: the 15th-order Gauss-Radau integrator with adaptive steps (compiled loop).

The acceleration over a step of size dt is the polynomial a(h) = a_0 + b_0 h + ... + b_6 h^7 in
the step fraction h (tableau and notation in ``stepsize.nbody._radau``); integrated twice,

    x(h) = x_0 + dt h v_0 + dt^2 h^2 (a_0/2 + b_0 h/6 + b_1 h^2/12 + ... + b_6 h^7/72),
    v(h) = v_0 + dt h (a_0 + b_0 h/2 + b_1 h^2/3 + ... + b_6 h^7/8).

Predictor-corrector (Everhart 1985; Rein & Spiegel 2015, MNRAS 446, 1424): at each of the seven
Gauss-Radau spacings h_1..h_7 the positions are predicted with the current b's, the force is
evaluated there, the Newton coefficient g_n is recomputed by divided differences and the b's are
corrected by C (g_n new - g_n old).  The sweep is repeated until the relative change of b_6,
max |db_6| / max |a|, falls below max(1e-16, PC_SCALE epsilon^(16/7)), stops falling (rounding
noise) or 12 sweeps are done.  The tolerance follows the step's own error: the step is
dt ~ epsilon^(1/7) tau (tau the time scale of the orbit), and the local error of a 15th-order
step is ~ (dt / tau)^16 ~ epsilon^(16/7), so sweeps that change b_6 by less than that change the
step by less than its truncation error.  PC_SCALE = 1e4 is calibrated on the Pythagorean problem
to t = 70 (against the earlier epsilon^2): at epsilon = 2e-5 the same |dE/E| (6.9e-9) with 37%
fewer force evaluations (23,272 against 36,984), at 1e-6 the same 2e-11 with 20% fewer; at
epsilon = 1e-3 the sweeps stop early enough to cost accuracy (1.8e-5 against 1.6e-7), where
epsilon = 1e-4 reaches 5e-7 in the same time.  Below epsilon ~ 4e-9 the rule is IAS15's 1e-16.
Above that rounding floor the sweeps also stop when the change still to come is below the
tolerance: the sweep is a fixed-point iteration contracting by theta = err_k / err_(k-1), so
the sweeps after the k-th change b_6 by at most err_k theta / (1 - theta) in all (the stopping
rule of Hairer & Wanner, Solving ODEs II, Sec. IV.8, eq. 8.10, for the simplified Newton
iteration of implicit Runge-Kutta methods).  On the Pythagorean problem at epsilon = 1e-5 this
takes 26.8 force evaluations a step against 31.9, with the same steps and |dE/E| (1.6e-9); at
the floor the change is rounding noise, not contraction, and the rule is off.

Step size (``adaptive``):
  * "prs23" (Pham, Rein & Spiegel 2024, arXiv 2401.02849; REBOUND's default since 2024): with
    the acceleration, jerk and snap at the end of the step from the polynomial,
        y2 = a_0 + sum_k b_k,   y3 = sum_k (k+1) b_k / dt,   y4 = sum_k (k+1) k b_k / dt^2,
    tau_i^2 = 2 |y2|^2 / (|y3|^2 + |y2| |y4|) per body and dt_new = (7! epsilon)^(1/7) min_i tau_i.
    A body whose acceleration changes by more than itself over the step (|y2| < |y3| dt: it
    passes near zero, as the middle body of the figure-eight does at t = 0) has no time scale
    |a| / |j|; it takes |j| / |s| instead (our guard: with tau ~ dt the step would otherwise
    shrink fourfold forever).
  * "global" (Rein & Spiegel 2015, eq. 11): dt_new = dt (epsilon / (max |b_6| / max |a|))^(1/7).
A step whose proposal is below a quarter of itself is redone with it (the b's rescaled to the
shorter step); a step grows at most fourfold.  epsilon = 0 keeps the fixed step ``dt``.

Next-step prediction: the converged polynomial continued to the next step (q = dt_new / dt),
b'_k = q^(k+1) sum_m binom(m+1, k+1) b_m, plus the error of the last prediction, b - e
(Everhart 1985).

Rounding (what takes the energy error to machine precision).  Positions and velocities are
carried in double-double arithmetic, x + xl and v + vl (Dekker 1971): the step's increments are
added with TwoSum, and the leading products dt v_0 and dt a are exact (Dekker's product), so the
state's rounding error does not grow with the number of steps beyond a random walk of one
rounding of the increment's small terms per step (Brouwer's law: the energy error is a random
walk, ~ sqrt(steps) eps_machine).  The forces take the separations from both parts,
(x_j - x_i) + (xl_j - xl_i), and the predicted positions keep their low part too: for a close
pair the high difference is exact (Sterbenz's lemma), so a pair at distance r keeps its relative
accuracy eps_machine instead of eps_machine |x| / r.  (On the Pythagorean problem, whose pairs
come within 4e-4 of each other at |x| ~ 1, this takes |dE/E| at t = 70 from 3e-11 to 4e-14 at
epsilon = 1e-9.)
"""

import math

import numba
import numpy as np

from stepsize.nbody._gravity import (
    C_EVI,
    C_EVJ,
    C_NFORCE,
    C_REJECT,
    C_STATUS,
    C_STEPS,
    COLLISION,
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
    UNDERFLOW,
    all_finite,
    check_events,
    collision_time,
    events_on,
    fill,
    find_overlap,
    step_size,
    track_rmin,
)
from stepsize.nbody._radau import RR, SHIFT, C, D, H

PRS23, GLOBAL = 0, 1
SAFETY = 0.25  # reject when dt_new < SAFETY dt; grow at most 1 / SAFETY
PC_TOL = 1e-16
PC_SCALE = 1e4  # pc_tol = max(PC_TOL, PC_SCALE epsilon^(16/7))
PC_MAX = 12
# x(h): b_k h^(k+3) / ((k+2)(k+3)); v(h): b_k h^(k+2) / (k+2)
XFAC = np.array([1.0 / ((k + 2) * (k + 3)) for k in range(7)])
VFAC = np.array([1.0 / (k + 2) for k in range(7)])
F7 = 5040.0  # 7!
SPLIT = 134217729.0  # 2^27 + 1, Veltkamp's splitting constant


@numba.njit(**NJIT, inline="always")
def two_sum(a, b):
    """(s, e) with s = fl(a + b) and s + e = a + b exactly (Knuth's TwoSum)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@numba.njit(**NJIT, inline="always")
def two_prod(a, b):
    """(p, e) with p = fl(a b) and p + e = a b exactly (Dekker's product, Veltkamp's split)."""
    p = a * b
    t = SPLIT * a
    ah = t - (t - a)
    al = a - ah
    t = SPLIT * b
    bh = t - (t - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@numba.njit(**NJIT, inline="always")
def add_dd(hi, lo, value, value_lo):
    """(hi, lo) + (value, value_lo) in double-double arithmetic, renormalised."""
    s, e = two_sum(hi, value)
    e += lo + value_lo
    t = s + e
    return t, e - (t - s)


@numba.njit(**NJIT, inline="always")
def predict(x0, xl0, v0, vl0, a0, b, dt, h, x, xl):
    """Positions at the step fraction h from the current polynomial, as (x, xl) in
    double-double: x + xl carries x0 + xl0 + increment without rounding away the low part."""
    n, d = x0.shape
    for i in range(n):
        for k in range(d):
            s = 0.0
            for m in range(6, -1, -1):
                s = (s + b[m, i, k] * XFAC[m]) * h
            s = 0.5 * a0[i, k] + s
            x[i, k], e = two_sum(x0[i, k], dt * h * (v0[i, k] + (vl0[i, k] + dt * h * s)))
            xl[i, k] = e + xl0[i, k]


@numba.njit(**NJIT)
def gravity_dd(x, xl, masses, G, eps2, active, acc):
    """``_gravity.gravity`` on double-double positions x + xl: each separation is
    (x_j - x_i) + (xl_j - xl_i), exact in its high part for a close pair (Sterbenz), so a pair
    at distance r keeps the relative accuracy eps_machine rather than eps_machine |x| / r."""
    n, d = x.shape
    fill(acc, 0.0)
    rmin2 = np.inf
    imin = jmin = 0
    everyone = active.size == n
    for p in range(active.size):
        i = active[p]
        for j in range(0 if not everyone else i + 1, n):
            if not everyone and (j == i or (masses[j] > 0.0 and j < i)):
                continue  # each massive pair once, from its lower index
            r2 = 0.0
            for k in range(d):
                dx = (x[j, k] - x[i, k]) + (xl[j, k] - xl[i, k])
                r2 += dx * dx
            if r2 < rmin2:
                rmin2, imin, jmin = r2, min(i, j), max(i, j)
            r2 += eps2
            ir3 = G / (r2 * math.sqrt(r2))
            for k in range(d):
                da = ((x[j, k] - x[i, k]) + (xl[j, k] - xl[i, k])) * ir3
                acc[i, k] += masses[j] * da
                acc[j, k] -= masses[i] * da
    return rmin2, imin, jmin


@numba.njit(**NJIT)
def sweep(x0, xl0, v0, vl0, a0, b, g, masses, G, eps2, active, dt, x, xl, at):
    """One predictor-corrector sweep over h_1..h_7, correcting b and g in place.

    Returns (max |db_6| / max |a|, r_min^2, i_min, j_min).
    """
    n, d = x0.shape
    rmin2 = np.inf
    imin = jmin = 0
    maxdb = 0.0
    maxa = 0.0
    for s in range(1, 8):
        predict(x0, xl0, v0, vl0, a0, b, dt, H[s], x, xl)
        r2, i2, j2 = gravity_dd(x, xl, masses, G, eps2, active, at)
        if r2 < rmin2:
            rmin2, imin, jmin = r2, i2, j2
        for i in range(n):
            for k in range(d):
                gn = (at[i, k] - a0[i, k]) * RR[s, 0]
                for m in range(1, s):
                    gn = (gn - g[m - 1, i, k]) * RR[s, m]
                dg = gn - g[s - 1, i, k]
                g[s - 1, i, k] = gn
                for m in range(s):
                    b[m, i, k] += C[m, s - 1] * dg
                if s == 7:
                    maxdb = max(maxdb, abs(dg))
                    maxa = max(maxa, abs(at[i, k]))
    err = maxdb / maxa if maxa > 0.0 else 0.0
    return err, rmin2, imin, jmin


@numba.njit(**NJIT)
def proposal(a0, b, dt, epsilon, mode, at):
    """The next step from the converged polynomial of a step of size dt (see module docstring)."""
    n, d = a0.shape
    if mode == GLOBAL:
        maxb = 0.0
        maxa = 0.0
        for i in range(n):
            for k in range(d):
                maxb = max(maxb, abs(b[6, i, k]))
                maxa = max(maxa, abs(at[i, k]))
        err = maxb / maxa if maxa > 0.0 else 0.0
        if not err > 0.0:
            return dt / SAFETY
        return dt * (epsilon / err) ** (1.0 / 7.0)
    tau2 = np.inf
    for i in range(n):
        y2 = y3 = y4 = 0.0
        for k in range(d):
            a = a0[i, k]
            j = 0.0
            s = 0.0
            for m in range(7):
                a += b[m, i, k]
                j += (m + 1) * b[m, i, k]
                s += (m + 1) * m * b[m, i, k]
            y2 += a * a
            y3 += j * j
            y4 += s * s
        if y2 >= y3:
            den = y3 + math.sqrt(y2 * y4)
            if den > 0.0:
                tau2 = min(tau2, 2.0 * y2 / den)  # in units of dt^2
        elif y4 > 0.0:  # |a| < |da| over the step: a passes near 0; the jerk / snap time
            tau2 = min(tau2, y3 / y4)
    if not tau2 < np.inf:
        return dt / SAFETY
    return math.sqrt(tau2) * dt * (F7 * epsilon) ** (1.0 / 7.0)


@numba.njit(**NJIT)
def rescale(b, q):
    """b_k -> q^(k+1) b_k: the same polynomial in time over a step q times as long."""
    f = q
    for m in range(7):
        b[m] *= f
        f *= q


@numba.njit(**NJIT)
def extrapolate(b, e, q, valid):
    """Predict the next step's b (into b) and remember the prediction (in e)."""
    _, n, d = b.shape
    new = np.empty(7)
    for i in range(n):
        for k in range(d):
            f = q
            for m in range(7):
                acc = 0.0
                for l in range(m, 7):
                    acc += SHIFT[m, l] * b[l, i, k]
                new[m] = f * acc
                f *= q
            for m in range(7):
                correction = b[m, i, k] - e[m, i, k] if valid else 0.0
                e[m, i, k] = new[m]
                b[m, i, k] = new[m] + correction


@numba.njit(**NJIT)
def update(x0, xl0, v0, vl0, a0, b, dt):
    """(x0, xl0), (v0, vl0) to the end of the step in double-double arithmetic; the
    products dt v0 and dt a are exact (two_prod), the rest is rounded once."""
    n, d = x0.shape
    for i in range(n):
        for k in range(d):
            sx = 0.5 * a0[i, k]
            sv = a0[i, k]
            for m in range(7):
                sx += b[m, i, k] * XFAC[m]
                sv += b[m, i, k] * VFAC[m]
            p, e = two_prod(dt, v0[i, k])
            vl = vl0[i, k]
            x0[i, k], xl0[i, k] = add_dd(x0[i, k], xl0[i, k], p, e + dt * (vl + dt * sx))
            p, e = two_prod(dt, sv)
            v0[i, k], vl0[i, k] = add_dd(v0[i, k], vl, p, e)


@numba.njit(**NJIT)
def gr15_start(pos, vel, acc, jerk, masses, par, scal, cnt, b, e, xlo, vlo, active, radii):
    """First force evaluation and step of a run: ``dt`` if given, else a hundredth of the
    shortest two-body time scale (the first steps adapt from there)."""
    rmin2, imin, jmin = gravity_dd(pos, xlo, masses, par[P_G], par[P_EPS2], active, acc)
    cnt[C_NFORCE] += 1
    if par[P_DT] > 0.0:
        scal[S_H] = par[P_DT]
    else:
        scal[S_H] = 0.01 * collision_time(pos, vel, masses, par[P_G], par[P_EPS2])
    scal[S_K] = 0.0  # no prediction yet
    track_rmin(scal, cnt, rmin2, imin, jmin)


@numba.njit(**NJIT)
def gr15_advance(
    pos, vel, acc, jerk, masses, par, scal, cnt, escaped, b, e, xlo, vlo, active, radii
):
    """Advance in place from scal[S_T] to par[P_TEND]; sets cnt[C_STATUS] and returns it.

    ``b``, ``e`` (7, N, D): the polynomial and its prediction; ``xlo``, ``vlo``: the low
    parts of the positions and velocities (pos + xlo, vel + vlo in double-double);
    ``active``: indices of the massive bodies;
    ``radii``: the bodies' radii (empty: no collision detection), a pair overlapping at the end
    of a step stops the loop with COLLISION and the pair in cnt[C_EVI], cnt[C_EVJ].
    """
    G, eps2, epsilon = par[P_G], par[P_EPS2], par[P_ETA]
    mode = int(par[P_CRIT])
    pc_tol = max(PC_TOL, PC_SCALE * epsilon ** (16.0 / 7.0))
    n, d = pos.shape
    g = np.empty((7, n, d))
    x = np.empty((n, d))
    xl = np.empty((n, d))
    at = np.empty((n, d))
    events = events_on(par)
    while True:
        t = scal[S_T]
        dt, state = step_size(scal[S_H], t, par[P_TEND], cnt[C_STEPS], par[P_MAXSTEPS])
        if state != 1:
            cnt[C_STATUS] = state
            return state
        landing = dt == par[P_TEND] - t
        while True:  # attempts at this step
            if dt != scal[S_H]:
                rescale(b, dt / scal[S_H])
            for i in range(n):
                for k in range(d):
                    for m in range(7):
                        s = 0.0
                        for l in range(m, 7):
                            s += D[m, l] * b[l, i, k]
                        g[m, i, k] = s
            err_last = np.inf
            rmin2 = np.inf
            imin = jmin = 0
            for it in range(PC_MAX):
                err, r2, i2, j2 = sweep(
                    pos, xlo, vel, vlo, acc, b, g, masses, G, eps2, active, dt, x, xl, at
                )
                cnt[C_NFORCE] += 7
                if r2 < rmin2:
                    rmin2, imin, jmin = r2, i2, j2
                if err < pc_tol or (it >= 2 and err >= err_last):
                    break
                if pc_tol > PC_TOL and it >= 1 and err < err_last:
                    theta = err / err_last  # contraction: what the next sweeps would still change
                    if err * theta / (1.0 - theta) < pc_tol:
                        break
                err_last = err
            if epsilon > 0.0:
                dt_new = proposal(acc, b, dt, epsilon, mode, at)
            else:
                dt_new = par[P_DT]
            if not (math.isfinite(dt_new) and all_finite(b[6]) and all_finite(at)):
                cnt[C_STATUS] = NONFINITE
                return NONFINITE
            if epsilon > 0.0 and dt_new < SAFETY * dt:
                cnt[C_REJECT] += 1
                scal[S_H] = dt
                dt = dt_new
                landing = False
                scal[S_K] = 0.0
                if not (dt > 0.0) or t + dt == t:
                    cnt[C_STATUS] = UNDERFLOW
                    return UNDERFLOW
                continue
            break
        dt_new = min(dt_new, dt / SAFETY) if epsilon > 0.0 else dt_new
        update(pos, xlo, vel, vlo, acc, b, dt)
        scal[S_T] = par[P_TEND] if landing else t + dt
        cnt[C_STEPS] += 1
        r2, i2, j2 = gravity_dd(pos, xlo, masses, G, eps2, active, acc)
        cnt[C_NFORCE] += 1
        if r2 < rmin2:
            rmin2, imin, jmin = r2, i2, j2
        extrapolate(b, e, dt_new / dt, scal[S_K] > 0.0)
        scal[S_K] = 1.0
        scal[S_H] = dt_new
        track_rmin(scal, cnt, rmin2, imin, jmin)
        if events and check_events(pos, vel, masses, par, cnt, escaped, rmin2, imin, jmin):
            return cnt[C_STATUS]
        if radii.size:
            i, j = find_overlap(pos, radii, masses, active)
            if i >= 0:
                cnt[C_STATUS] = COLLISION
                cnt[C_EVI] = i
                cnt[C_EVJ] = j
                return COLLISION


def gr15_state(masses, pos, opts, G):
    """The arrays ``gr15`` carries between calls: b, e, xlo, vlo, the massive bodies and the
    radii for collision detection."""
    n, d = pos.shape
    return (
        np.zeros((7, n, d)),
        np.zeros((7, n, d)),
        np.zeros((n, d)),
        np.zeros((n, d)),
        np.flatnonzero(masses > 0).astype(np.int64),
        np.array(opts.radii if opts.radii is not None else [], dtype=float),
    )
