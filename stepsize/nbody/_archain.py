"""``archain``: algorithmic chain regularisation for close encounters of few bodies, an
extrapolated time-transformed leapfrog in chain coordinates (compiled loop).

Chain coordinates (Mikkola & Aarseth 1993, Celest. Mech. 57, 439): the bodies are ordered
c_0 .. c_{N-1} so that consecutive ones are close, and the state is held as the links
X_k = x_{c(k+1)} - x_{c(k)}, W_k = v_{c(k+1)} - v_{c(k)} (k < N - 1) and the centre of mass,
which moves uniformly.  The separation of chain members p < q is X_p + ... + X_{q-1}: the close
pairs are links, and their separations carry no rounding of the large absolute coordinates.
The chain is the greedy one (the closest pair, then the body nearest either end, ...), built
anew after every step that changes it.

Time transformation, the logarithmic Hamiltonian (Mikkola & Tanikawa 1999, MNRAS 310, 745;
Preto & Tremaine 1999, AJ 118, 2532): with the kinetic energy T(W) and Omega = -U(X) in the
centre-of-mass frame and the binding energy B = -E (a constant), the leapfrog in the fictitious
time s made of

    drift(h):  dt = h / (T + B),   X += dt W,   t += dt
    kick(h):   dt = h / Omega,     W += dt A    (A_k = a_{c(k+1)} - a_{c(k)})

as D(h/2) K(h) D(h/2) follows a two-body orbit exactly along its trajectory, through a
collision and for any eccentricity (only the time carries an error): the encounter is
regularised by the algorithm, with no change of variables.  The leapfrog is symmetric, so its
error expands in even powers of h, and a macro step H in s is extrapolated
(Gragg-Bulirsch-Stoer) as ``stepsize.nbody._gbs`` does, with the same
``stepsize.nbody._extrapolation``: n_j = 2j substeps, Aitken-Neville tableau over (X, W, t),
column j of order 2j (Mikkola & Aarseth 2002, Celest. Mech. 84, 343, who extrapolate the same
leapfrog).  The error of column j is the RMS of T_{j,j} - T_{j,j-1} over the links' components,
scaled by atol + rtol |X_k| (resp. |W_k|), and of the time increment, scaled by rtol |dt|; step
and column follow Hairer & Wanner's ODEX.  The step that would pass the output time is redone
with the macro step that lands on it, found by regula falsi on t(H) (monotone: dt/ds > 0;
``_gravity.falsi_guess``).

Point masses only (no softening), at least two of them positive; bodies of mass 0 (test
particles) are chain members like the others.
"""

import math

import numba
import numpy as np

from stepsize.nbody._extrapolation import (
    ACCEPT,
    GIVE_UP,
    INV_RATIO,
    K_MAX,
    column_verdict,
    next_step,
    retry,
    work_table,
)
from stepsize.nbody._gravity import (
    C_NFORCE,
    C_REJECT,
    C_STATUS,
    C_STEPS,
    DONE,
    MAX_STEPS,
    NJIT,
    NONFINITE,
    P_ATOL,
    P_G,
    P_MAXSTEPS,
    P_RTOL,
    P_TEND,
    S_T,
    UNDERFLOW,
    check_events,
    collision_time,
    events_on,
    falsi_guess,
    falsi_update,
    greater,
    lesser,
    track_rmin,
)

CS_B, CS_H, CS_K = range(3)  # the carried scalars: binding energy, macro step in s, column
N_CS = 3
LANDING_ITERATIONS = 40
ANOMALY_STEP = 0.5  # radians of a bound pair's eccentric anomaly per macro step, at most


@numba.njit(**NJIT)
def greedy_chain(pos, order):
    """The chain into ``order``: the closest pair, then repeatedly the unchained body nearest
    either end, attached there (Mikkola & Aarseth 1993)."""
    n, d = pos.shape
    used = np.zeros(n, dtype=np.bool_)
    best, bi, bj = np.inf, 0, 1
    for i in range(n):
        for j in range(i + 1, n):
            r2 = 0.0
            for k in range(d):
                r2 += (pos[j, k] - pos[i, k]) ** 2
            if r2 < best:
                best, bi, bj = r2, i, j
    chain = np.empty(2 * n, dtype=np.int64)  # grows both ways from the middle
    lo, hi = n, n + 1
    chain[lo], chain[hi] = bi, bj
    used[bi] = used[bj] = True
    for _ in range(n - 2):
        best, pick, at_lo = np.inf, -1, False
        for end in range(2):
            e = chain[lo] if end == 0 else chain[hi]
            for b in range(n):
                if used[b]:
                    continue
                r2 = 0.0
                for k in range(d):
                    r2 += (pos[b, k] - pos[e, k]) ** 2
                if r2 < best:
                    best, pick, at_lo = r2, b, end == 0
        used[pick] = True
        if at_lo:
            lo -= 1
            chain[lo] = pick
        else:
            hi += 1
            chain[hi] = pick
    for k in range(n):
        order[k] = chain[lo + k]


@numba.njit(**NJIT)
def to_chain(pos, vel, order, lx, lw):
    """Links of (pos, vel) along ``order``."""
    for k in range(order.size - 1):
        a, b = order[k], order[k + 1]
        for q in range(pos.shape[1]):
            lx[k, q] = pos[b, q] - pos[a, q]
            lw[k, q] = vel[b, q] - vel[a, q]


@numba.njit(**NJIT)
def from_links(links, masses, order, out):
    """Centre-of-mass-frame positions (or velocities) of the bodies from the links."""
    n, d = out.shape
    total = 0.0
    for k in range(n):
        total += masses[order[k]]
    for q in range(d):
        u = 0.0  # the position of chain member k relative to member 0
        s = 0.0
        for k in range(1, n):
            u += links[k - 1, q]
            s += masses[order[k]] * u
        u = -s / total
        out[order[0], q] = u
        for k in range(1, n):
            u += links[k - 1, q]
            out[order[k], q] = u


@numba.njit(**NJIT)
def kinetic(lw, masses, order):
    """T = sum m |v|^2 / 2 in the centre-of-mass frame, from the velocity links."""
    n, d = order.size, lw.shape[1]
    total = 0.0
    for k in range(n):
        total += masses[order[k]]
    t = 0.0
    for q in range(d):
        u = 0.0
        s = 0.0
        s2 = 0.0
        for k in range(1, n):
            u += lw[k - 1, q]
            m = masses[order[k]]
            s += m * u
            s2 += m * u * u
        t += 0.5 * (s2 - s * s / total)  # sum m (u - u_cm)^2 = sum m u^2 - (sum m u)^2 / M
    return t


@numba.njit(**NJIT)
def chain_forces(lx, masses, order, G, acc, la):
    """Omega = -U and the link accelerations la (acc: the bodies' accelerations in chain
    order, scratch); also the closest pair (r^2, i, j) in the bodies' own indices.  D is 2 or
    3: the separations are named scalars (z = 0 in 2-D), as in ``_gravity.accelerations``."""
    n, d = acc.shape
    three = d == 3
    for p in range(n):
        for q in range(d):
            acc[p, q] = 0.0
    omega = 0.0
    rmin2, imin, jmin = np.inf, 0, 0
    for p in range(n):
        mp = masses[order[p]]
        sx = sy = sz = 0.0
        for r in range(p + 1, n):
            sx += lx[r - 1, 0]  # x_{c(r)} - x_{c(p)}: a sum of links
            sy += lx[r - 1, 1]
            if three:
                sz += lx[r - 1, 2]
            r2 = sx * sx + sy * sy + sz * sz
            if r2 < rmin2:
                a, b = order[p], order[r]
                rmin2, imin, jmin = r2, lesser(a, b), greater(a, b)
            mr = masses[order[r]]
            ir = 1.0 / math.sqrt(r2)
            f = G * ir * ir * ir
            omega += G * mp * mr * ir
            acc[p, 0] += mr * f * sx
            acc[p, 1] += mr * f * sy
            acc[r, 0] -= mp * f * sx
            acc[r, 1] -= mp * f * sy
            if three:
                acc[p, 2] += mr * f * sz
                acc[r, 2] -= mp * f * sz
    for k in range(n - 1):
        for q in range(d):
            la[k, q] = acc[k + 1, q] - acc[k, q]
    return omega, rmin2, imin, jmin


@numba.njit(**NJIT)
def anomaly_cap(lx, lw, masses, order, G):
    """The largest macro step in s that advances the eccentric anomaly of no bound pair by more
    than ANOMALY_STEP: Omega min_pairs r sqrt(a / (G M)) over the pairs with a negative
    two-body energy (inf when none is bound).

    For a pair that dominates Omega (a close encounter), dE/ds = sqrt(G M / a) / (r Omega):
    the leapfrog of the logarithmic Hamiltonian samples such an orbit uniformly in its
    eccentric anomaly, and the extrapolation, which combines leapfrog solutions that reach
    different phases, needs several steps per orbit (a step over a whole near-radial orbit can
    pass its error test by chance)."""
    n, d = order.size, lx.shape[1]
    omega = 0.0
    best = np.inf
    for p in range(n):
        for r in range(p + 1, n):
            r2 = v2 = 0.0
            for q in range(d):
                sx = sv = 0.0
                for k in range(p, r):
                    sx += lx[k, q]
                    sv += lw[k, q]
                r2 += sx * sx
                v2 += sv * sv
            gm = G * (masses[order[p]] + masses[order[r]])
            rr = math.sqrt(r2)
            omega += G * masses[order[p]] * masses[order[r]] / rr
            inv_a = 2.0 / rr - v2 / gm  # 1 / a from the two-body energy
            if inv_a > 0.0:
                best = lesser(best, rr / math.sqrt(gm * inv_a))
    return ANOMALY_STEP * omega * best


@numba.njit(**NJIT)
def rechain(lx, lw, order, new_order, ux, uw):
    """Links along ``new_order`` from those along ``order``, through the positions relative
    to the old chain's first member, u_{c(k)} = X_0 + ... + X_{k-1} (ux, uw: scratch (N, D))."""
    n, d = ux.shape
    for q in range(d):
        ux[order[0], q] = 0.0
        uw[order[0], q] = 0.0
        for k in range(1, n):
            ux[order[k], q] = ux[order[k - 1], q] + lx[k - 1, q]
            uw[order[k], q] = uw[order[k - 1], q] + lw[k - 1, q]
    for i in range(n):
        order[i] = new_order[i]
    to_chain(ux, uw, order, lx, lw)


@numba.njit(**NJIT)
def leapfrog_row(x0, w0, masses, order, G, B, H, nsub, lx, lw, acc, la):
    """nsub steps D(h/2) K(h) D(h/2), h = H / nsub, from (x0, w0) into (lx, lw); returns the
    time increment and the closest pair seen."""
    h = H / nsub
    m, d = x0.shape
    for k in range(m):
        for q in range(d):
            lx[k, q] = x0[k, q]
            lw[k, q] = w0[k, q]
    dt = 0.5 * h / (kinetic(lw, masses, order) + B)
    for k in range(m):
        for q in range(d):
            lx[k, q] += dt * lw[k, q]
    rmin2, imin, jmin = np.inf, 0, 0
    for i in range(nsub):
        omega, r2, i2, j2 = chain_forces(lx, masses, order, G, acc, la)
        if r2 < rmin2:
            rmin2, imin, jmin = r2, i2, j2
        dk = h / omega
        for k in range(m):
            for q in range(d):
                lw[k, q] += dk * la[k, q]
        dd = (h if i < nsub - 1 else 0.5 * h) / (kinetic(lw, masses, order) + B)
        for k in range(m):
            for q in range(d):
                lx[k, q] += dd * lw[k, q]
        dt += dd
    return dt, rmin2, imin, jmin


@numba.njit(**NJIT)
def extrapolated_step(x0, w0, masses, order, G, B, H, k, rtol, atol, tab, cols, work, tmp):
    """One macro step H in s, extrapolated up to column k + 1 at most: (accepted column or 0,
    dt, force evaluations, closest pair); T_{j,j} in tab[j - 1], cols[j] = (H_j, W_j) and the
    time increments of the tableau in cols[1:, 2]."""
    lx, lw, acc, la = tmp[0], tmp[1], tmp[2], tmp[3]
    m, d = x0.shape
    for j in range(K_MAX + 1):
        cols[j, 0] = cols[j, 1] = 0.0
    dts = cols[1:, 2]
    nforce = 0
    rmin2, imin, jmin = np.inf, 0, 0
    for j in range(1, K_MAX + 1):
        dt, r2, i2, j2 = leapfrog_row(x0, w0, masses, order, G, B, H, 2 * j, lx, lw, acc, la)
        nforce += 2 * j
        if r2 < rmin2:
            rmin2, imin, jmin = r2, i2, j2
        for l in range(1, j):  # Aitken-Neville: row j from row j - 1, in place
            inv = INV_RATIO[j, l]
            for a in range(m):
                for q in range(d):
                    nx = lx[a, q] + (lx[a, q] - tab[l - 1, 0, a, q]) * inv
                    nw = lw[a, q] + (lw[a, q] - tab[l - 1, 1, a, q]) * inv
                    tab[l - 1, 0, a, q] = lx[a, q]
                    tab[l - 1, 1, a, q] = lw[a, q]
                    lx[a, q] = nx
                    lw[a, q] = nw
            ndt = dt + (dt - dts[l - 1]) * inv
            dts[l - 1] = dt
            dt = ndt
        for a in range(m):
            for q in range(d):
                tab[j - 1, 0, a, q] = lx[a, q]
                tab[j - 1, 1, a, q] = lw[a, q]
        dts[j - 1] = dt
        if j < 2:
            continue
        err = link_error(tab[j - 1], tab[j - 2], dts[j - 1], dts[j - 2], rtol, atol)
        verdict = column_verdict(err, H, j, k, work, cols[:, 0], cols[:, 1])
        if verdict == ACCEPT:
            return j, dts[j - 1], nforce, rmin2, imin, jmin
        if verdict == GIVE_UP:
            return 0, dts[j - 1], nforce, rmin2, imin, jmin
    return 0, dts[K_MAX - 1], nforce, rmin2, imin, jmin


@numba.njit(**NJIT)
def link_error(t1, t2, dt1, dt2, rtol, atol):
    """RMS of T1 - T2 over the links' components (scaled by atol + rtol |link|) and of the time
    increment (scaled by rtol |dt|)."""
    m, d = t1.shape[1:]
    total = 0.0
    for k in range(m):
        r2 = 0.0
        w2 = 0.0
        for q in range(d):
            r2 += t1[0, k, q] * t1[0, k, q]
            w2 += t1[1, k, q] * t1[1, k, q]
        inv_r = 1.0 / (atol + rtol * math.sqrt(r2))
        inv_w = 1.0 / (atol + rtol * math.sqrt(w2))
        for q in range(d):
            ex = (t1[0, k, q] - t2[0, k, q]) * inv_r
            ew = (t1[1, k, q] - t2[1, k, q]) * inv_w
            total += ex * ex + ew * ew
    et = (dt1 - dt2) / (rtol * abs(dt1))
    return math.sqrt((total + et * et) / (2 * m * d + 1))


@numba.njit(**NJIT)
def physical(lx, lw, masses, order, cm, t, pos, vel):
    """(pos, vel) at time t: the bodies from the links plus the uniformly moving centre."""
    from_links(lx, masses, order, pos)
    from_links(lw, masses, order, vel)
    n, d = pos.shape
    for i in range(n):
        for q in range(d):
            pos[i, q] += cm[0, q] + cm[1, q] * t
            vel[i, q] += cm[1, q]


@numba.njit(**NJIT)
def chain_start(pos, vel, acc, jerk, masses, par, scal, cnt, order, lx, lw, cm, cs):
    """The chain, its links, the centre of mass and B = -E of the current state; the first
    macro step (a tenth of AMUSE's collision time scale, times Omega) and column 4."""
    n, d = pos.shape
    total = 0.0
    for i in range(n):
        total += masses[i]
    for q in range(d):
        sx = sv = 0.0
        for i in range(n):
            sx += masses[i] * pos[i, q]
            sv += masses[i] * vel[i, q]
        cm[1, q] = sv / total
        cm[0, q] = sx / total - cm[1, q] * scal[S_T]
    if n < 2:
        return
    greedy_chain(pos, order)
    to_chain(pos, vel, order, lx, lw)
    la = np.empty((n - 1, d))
    omega, rmin2, imin, jmin = chain_forces(lx, masses, order, par[P_G], acc, la)
    cnt[C_NFORCE] += 1
    cs[CS_B] = omega - kinetic(lw, masses, order)
    cs[CS_H] = 0.1 * collision_time(pos, vel, masses, par[P_G], 0.0) * omega
    cs[CS_K] = 4.0
    track_rmin(scal, cnt, rmin2, imin, jmin)


@numba.njit(**NJIT)
def chain_advance(pos, vel, acc, jerk, masses, par, scal, cnt, escaped, order, lx, lw, cm, cs):
    """Advance from scal[S_T] to par[P_TEND] (landing on it); (pos, vel) get the physical
    state after every step.  Sets cnt[C_STATUS] and returns it."""
    n, d = pos.shape
    t_end = par[P_TEND]
    if n < 2:  # nothing left to integrate (after mergers): the centre moves on
        scal[S_T] = t_end
        physical(lx, lw, masses, order, cm, t_end, pos, vel)
        cnt[C_STATUS] = DONE
        return DONE
    G, rtol, atol, B = par[P_G], par[P_RTOL], par[P_ATOL], cs[CS_B]
    m = n - 1
    tab = np.empty((K_MAX, 2, m, d))
    tmp = np.empty((4, n, d))  # lx, lw, acc, la (rows 0 .. m - 1 of the links)
    cols = np.zeros((K_MAX + 1, 3))
    work = np.empty(K_MAX + 1)
    work_table(work)
    x0 = np.empty((m, d))
    w0 = np.empty((m, d))
    new_order = np.empty(n, dtype=np.int64)
    events = events_on(par)
    while True:
        t = scal[S_T]
        if t >= t_end:
            cnt[C_STATUS] = DONE
            return DONE
        if cnt[C_STEPS] >= par[P_MAXSTEPS]:
            cnt[C_STATUS] = MAX_STEPS
            return MAX_STEPS
        for a in range(m):
            for q in range(d):
                x0[a, q] = lx[a, q]
                w0[a, q] = lw[a, q]
        H, k = lesser(cs[CS_H], anomaly_cap(lx, lw, masses, order, G)), int(cs[CS_K])
        while True:  # attempts at this step
            j, dt, nf, rmin2, imin, jmin = extrapolated_step(
                x0, w0, masses, order, G, B, H, k, rtol, atol, tab, cols, work, tmp
            )
            cnt[C_NFORCE] += nf
            if j:
                break
            cnt[C_REJECT] += 1
            H, k = retry(H, K_MAX, cols[:, 0], cols[:, 1])  # columns not reached have W = 0
            if not (H > 0.0):
                cnt[C_STATUS] = UNDERFLOW
                return UNDERFLOW
        landing = t + dt >= t_end
        if landing:  # the macro step that lands on t_end: t(H) = t_end, bracketed
            lo_h, lo_f, hi_h, hi_f = 0.0, t - t_end, H, t + dt - t_end
            side = 0
            for _ in range(LANDING_ITERATIONS):
                h_try = falsi_guess(lo_h, lo_f, hi_h, hi_f)
                j, dt, nf, r2, i2, j2 = extrapolated_step(
                    x0, w0, masses, order, G, B, h_try, k, rtol, atol, tab, cols, work, tmp
                )
                cnt[C_NFORCE] += nf
                if r2 < rmin2:
                    rmin2, imin, jmin = r2, i2, j2
                f = t + dt - t_end
                if abs(f) <= 4e-16 * abs(t_end) or hi_h - lo_h <= 1e-15 * hi_h:
                    break
                lo_h, lo_f, hi_h, hi_f, side = falsi_update(lo_h, lo_f, hi_h, hi_f, side, h_try, f)
            if not j:  # a shorter step has a smaller error: accept the last column computed
                j = k + 1 if k + 1 <= K_MAX else K_MAX
        for a in range(m):
            for q in range(d):
                lx[a, q] = tab[j - 1, 0, a, q]
                lw[a, q] = tab[j - 1, 1, a, q]
        scal[S_T] = t_end if landing else t + dt
        cnt[C_STEPS] += 1
        finite = math.isfinite(scal[S_T])
        for a in range(m):
            for q in range(d):
                finite = finite and math.isfinite(lx[a, q]) and math.isfinite(lw[a, q])
        if not finite:
            cnt[C_STATUS] = NONFINITE
            return NONFINITE
        cs[CS_K], cs[CS_H] = next_step(j, landing, cs[CS_H], work, cols[:, 0], cols[:, 1])
        physical(lx, lw, masses, order, cm, scal[S_T], pos, vel)
        greedy_chain(pos, new_order)
        same = True
        for i in range(n):
            same = same and new_order[i] == order[i]
        if not same:
            rechain(lx, lw, order, new_order, tmp[0], tmp[1])
        track_rmin(scal, cnt, rmin2, imin, jmin)
        if events and check_events(pos, vel, masses, par, cnt, escaped, rmin2, imin, jmin):
            return cnt[C_STATUS]


def chain_state(masses, pos, opts, G):
    """The arrays ``archain`` carries after the common ones (the order of ``chain_advance``):
    the chain order, the links X and W, the centre of mass (x(0), v) and the scalars B, H, k."""
    masses = np.asarray(masses, dtype=float)
    n, d = np.shape(pos)
    if n > 1 and np.count_nonzero(masses > 0) < 2:
        raise ValueError(
            "method 'archain' needs two bodies of positive mass (its time step is set by the "
            "potential energy)"
        )
    m = max(n - 1, 1)
    return (
        np.arange(n, dtype=np.int64),
        np.zeros((m, d)),
        np.zeros((m, d)),
        np.zeros((2, d)),
        np.zeros(N_CS),
    )
