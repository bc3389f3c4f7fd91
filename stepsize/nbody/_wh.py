"""``wh``: the Wisdom-Holman map with a fixed step, in Jacobi or democratic heliocentric
coordinates, and symplectic correctors (compiled loop).

Jacobi coordinates (Wisdom & Holman 1991, AJ 102, 1528): r'_i = x_i - X_{i-1}, with X_{i-1} the
centre of mass of bodies 0..i-1 and eta_i = m_0 + ... + m_i; r'_0 is the centre of mass.  The
Hamiltonian splits into Kepler orbits of r'_i with mu_i = G eta_i and the interaction

    H_I = -sum_{i<j} G m_i m_j / r_ij + sum_{i>=1} G m_i eta_{i-1} / r'_i,

whose acceleration on r'_i is the Jacobi transform of the direct accelerations plus
G eta_i r'_i / r'_i^3 (linear in the bodies: the transform is a running sum).  One step is
drift(h/2) kick(h) drift(h/2) (the halves of consecutive steps merge into one Kepler drift).

Democratic heliocentric coordinates (Duncan, Levison & Lee 1998, AJ 116, 2067): heliocentric
positions Q_i = x_i - x_0 and barycentric velocities V_i; Kepler orbits about m_0 (mu = G m_0),
the planet-planet interaction and the "jump" Q_i += h sum_j m_j V_j / m_0.  One step is
kick(h/2) jump(h/2) drift(h) jump(h/2) kick(h/2).  The step is never shortened: ``evolve(t)``
stops at the whole step nearest t (within dt/2), which ``Simulation.t`` reports.

Test particles feel the massive bodies and exert nothing; the Kepler drifts use the universal
variable solver of ``stepsize.nbody._kepler``, exact for any eccentricity.

Symplectic correctors (Wisdom, Holman & Touma 1996, Fields Inst. Commun. 10, 217): with
A the Kepler part and B the interaction, the map W = e^{hA/2} e^{hB} e^{hA/2} is, to first order
in the interaction, e^{h A + h g(h ad_A) B} with g(y) = (y/2) / sinh(y/2), so W = C Phi_h C^-1
(Phi_h the exact flow) with C = exp(h (g(y) - 1) / y |_{y = h ad_A} B).  The corrector
C ~ prod_i X(alpha_i, beta_i) X(-alpha_i, -beta_i), X(a, b) = drift(a h) kick(b h) drift(-a h),
with alpha_i = i sqrt(7/40) (WHT96's spacing) matches the odd powers y^1..y^(2p-1) of
(g(y) - 1) / y = sum_n (2^(1-2n) - 1) B_2n y^(2n-1) / (2n)!  (B_2n Bernoulli numbers) when
2 sum_i beta_i alpha_i^m / m! equals the coefficient of y^m; p = 1..5 pairs give the
correctors of order 3, 5, 7, 9, 11.  The run carries W's variables w = C^-1 x and reports
x = C w at every output, never changing w: the correctors cost nothing per step.
"""

import functools
import math
from fractions import Fraction

import numba
import numpy as np

from stepsize.nbody._gravity import (
    C_NFORCE,
    C_STATUS,
    C_STEPS,
    DONE,
    MAX_STEPS,
    NJIT,
    NONFINITE,
    P_DT,
    P_ENC2,
    P_G,
    P_MAXSTEPS,
    P_TEND,
    PAIR_ROWS,
    S_RMIN2,
    S_T,
    accelerations,
    check_events,
    gravity,
    track_rmin,
)
from stepsize.nbody._kepler import N_WORK, W_IR, kepler_lockstep, kepler_rest

JACOBI, DEMOCRATIC = 0, 1
COORDINATES = {"jacobi": JACOBI, "democratic_heliocentric": DEMOCRATIC}
CORRECTORS = (0, 3, 5, 7, 9, 11)
ALPHA2 = Fraction(7, 40)  # alpha^2 of WHT96


def _bernoulli(n):
    """B_0..B_n (B_1 = -1/2), exact."""
    b = [Fraction(1)]
    for m in range(1, n + 1):
        b.append(-sum(math.comb(m + 1, k) * b[k] for k in range(m)) / (m + 1))
    return b


@functools.cache
def corrector_coefficients(order):
    """(alpha_i, beta_i), i = 1..p, of the corrector of ``order`` = 2p + 1 (see module doc)."""
    if order not in CORRECTORS or order == 0:
        raise ValueError(f"corrector must be one of 3, 5, 7, 9, 11, got {order!r}")
    p = (order - 1) // 2
    bern = _bernoulli(2 * p)  # exact rationals: computed once per order (cached)
    # target coefficients of y^m, m = 2n - 1: (2^(1-2n) - 1) B_2n / (2n)!
    rows, rhs = [], []
    for n in range(1, p + 1):
        m = 2 * n - 1
        t_m = (Fraction(2) ** (1 - 2 * n) - 1) * bern[2 * n] / math.factorial(2 * n)
        # 2 sum_i beta_i (i alpha)^m / m! = t_m; with beta_i = gamma_i / alpha the system
        # sum_i gamma_i i^m alpha^(m-1) = m! t_m / 2 is rational (m - 1 is even).
        rows.append([Fraction(i) ** m * ALPHA2 ** ((m - 1) // 2) for i in range(1, p + 1)])
        rhs.append(math.factorial(m) * t_m / 2)
    gamma = _solve(rows, rhs)
    alpha = math.sqrt(float(ALPHA2))
    return tuple((i * alpha, float(g) / alpha) for i, g in zip(range(1, p + 1), gamma, strict=True))


def _solve(a, b):
    """Gaussian elimination in exact rationals."""
    n = len(b)
    m = [row[:] + [rhs] for row, rhs in zip(a, b, strict=True)]
    for c in range(n):
        piv = next(r for r in range(c, n) if m[r][c] != 0)
        m[c], m[piv] = m[piv], m[c]
        for r in range(n):
            if r != c and m[r][c] != 0:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def corrector_program(order, inverse=False):
    """The corrector C (or C^-1) as alternating Kepler drifts and kicks, in units of the step:
    arrays (drift, kick) of equal length, applied as drift[0], kick[0], drift[1], ...; the
    drifts between consecutive X's are merged and the last kick is 0."""
    if not order:
        return np.zeros(1), np.zeros(1)
    ops = []
    for a, b in corrector_coefficients(order):
        ops += [(a, b), (-a, -b)]
    if inverse:  # (X_1 ... X_k)^-1 = X_k^-1 ... X_1^-1 and X(a, b)^-1 = X(a, -b)
        ops = [(a, -b) for a, b in reversed(ops)]
    drift, kick = [], []
    pending = 0.0
    for a, b in ops:
        drift.append(pending + a)
        kick.append(b)
        pending = -a
    drift.append(pending)
    kick.append(0.0)
    return np.array(drift), np.array(kick)


# ----- coordinates -----------------------------------------------------------------------
@numba.njit(**NJIT)
def to_jacobi(pos, vel, masses, wx, wv):
    """Jacobi coordinates of (pos, vel) into (wx, wv); wx[0], wv[0] the centre of mass."""
    n, d = pos.shape
    cx = np.zeros(d)
    cv = np.zeros(d)
    total = 0.0
    for i in range(n):
        if i > 0:
            for k in range(d):
                wx[i, k] = pos[i, k] - cx[k] / total
                wv[i, k] = vel[i, k] - cv[k] / total
        total += masses[i]
        for k in range(d):
            cx[k] += masses[i] * pos[i, k]
            cv[k] += masses[i] * vel[i, k]
    for k in range(d):
        wx[0, k] = cx[k] / total
        wv[0, k] = cv[k] / total


@numba.njit(**NJIT)
def jacobi_factors(masses, eta, G):
    """The constants of the Jacobi maps and kicks, once per call of the loop (no divisions
    in a step): rows m_i / eta_i, 1 / eta_i and G eta_i."""
    jf = np.empty((3, masses.size))
    for i in range(masses.size):
        jf[0, i] = masses[i] / eta[i]
        jf[1, i] = 1.0 / eta[i]
        jf[2, i] = G * eta[i]
    return jf


@numba.njit(**NJIT)
def from_jacobi(wx, wv, jf, pos, vel):
    """Inverse of ``to_jacobi``: X_{i-1} = X_i - (m_i / eta_i) r'_i, x_i = X_{i-1} + r'_i."""
    jacobi_positions(wx, jf, pos)
    jacobi_positions(wv, jf, vel)


@numba.njit(**NJIT, inline="always")
def jacobi_positions(wx, jf, pos):
    """Inertial positions (or velocities) from Jacobi ones (``jf`` from ``jacobi_factors``),
    written row by row: the pair loop that reads them next loads each row whole, which stores
    of one component over all rows (columns) would make wait on the stores (50 ns of the
    kick on the outer Solar System); inlined (a call of its own took another 50 ns)."""
    n, d = wx.shape
    three = d == 3
    cx, cy = wx[0, 0], wx[0, 1]
    cz = wx[0, 2] if three else 0.0
    for i in range(n - 1, 0, -1):
        f = jf[0, i]
        cx -= f * wx[i, 0]
        cy -= f * wx[i, 1]
        pos[i, 0] = cx + wx[i, 0]
        pos[i, 1] = cy + wx[i, 1]
        if three:
            cz -= f * wx[i, 2]
            pos[i, 2] = cz + wx[i, 2]
    pos[0, 0], pos[0, 1] = cx, cy
    if three:
        pos[0, 2] = cz


@numba.njit(**NJIT)
def to_democratic(pos, vel, masses, wx, wv):
    """Heliocentric positions, barycentric velocities; wx[0], wv[0] the centre of mass."""
    n, d = pos.shape
    total = 0.0
    for i in range(n):
        total += masses[i]
    for k in range(d):
        sx = 0.0
        sv = 0.0
        for i in range(n):
            sx += masses[i] * pos[i, k]
            sv += masses[i] * vel[i, k]
        wx[0, k] = sx / total
        wv[0, k] = sv / total
        for i in range(1, n):
            wx[i, k] = pos[i, k] - pos[0, k]
            wv[i, k] = vel[i, k] - wv[0, k]


@numba.njit(**NJIT)
def from_democratic(wx, wv, masses, eta, pos, vel):
    """x_0 = X - sum m_i Q_i / M, x_i = x_0 + Q_i; v_0 = V - sum m_i V_i / m_0, v_i = V + V_i."""
    n, d = wx.shape
    total = eta[n - 1]
    for k in range(d):
        sx = 0.0
        sv = 0.0
        for i in range(1, n):
            sx += masses[i] * wx[i, k]
            sv += masses[i] * wv[i, k]
        pos[0, k] = wx[0, k] - sx / total
        vel[0, k] = wv[0, k] - sv / masses[0]
        for i in range(1, n):
            pos[i, k] = pos[0, k] + wx[i, k]
            vel[i, k] = wv[0, k] + wv[i, k]


# ----- the pieces of the map -------------------------------------------------------------
@numba.njit(**NJIT, inline="always")
def drift(wx, wv, mu, h, work):
    """Kepler drift of every body i >= 1 by h (mu[i] its parameter, the rows in lockstep:
    ``kepler_rows``, which leaves 1 / r'_i in work[W_IR]); the centre moves freely.  Inlined,
    and its two parts called from here (in the step loop) rather than through ``kepler_rows``:
    a compiled function that calls another one updates the reference counts of its arrays at
    every call, the loop once for the run."""
    for k in range(wx.shape[1]):
        wx[0, k] += h * wv[0, k]
    if not kepler_lockstep(wx, wv, mu, h, work):
        kepler_rest(wx, wv, mu, h, work)


@numba.njit(**NJIT)
def wh_work(n):
    """The scratch of the drifts and kicks: rows 0..N_WORK-1 for ``kepler_lockstep`` (one column
    per body), the PAIR_ROWS after them for ``_gravity.accelerations`` (one column per pair)."""
    return np.empty((N_WORK + PAIR_ROWS, max(n, n * (n - 1) // 2)))


@numba.njit(**NJIT)
def jacobi_kick(wx, wv, masses, jf, G, active, h, pos, acc, work):
    """wv += h a'_int with a'_int the interaction acceleration in Jacobi coordinates; the
    Kepler term G eta_i r'_i / r'_i^3 takes 1 / r'_i from the drift before (work[W_IR]).
    ``active``: the massive bodies (with test particles: ``gravity``), or None for massive
    bodies only (``accelerations`` over its pair rows in ``work``), which the compiler then
    specialises with the pair loop alone (its loop took 110 instead of 190 ns with the branch
    to ``gravity`` compiled in, on the outer Solar System).  One pass over the rows, the
    running sum sum_{j<i} m_j a_j in scalars."""
    n, d = wx.shape
    three = d == 3
    jacobi_positions(wx, jf, pos)
    if active is None or active.size == n:
        rmin2, imin, jmin = accelerations(pos, masses, G, 0.0, acc, work[N_WORK:])
    else:
        rmin2, imin, jmin = gravity(pos, masses, G, 0.0, active, acc)
    m0 = masses[0]
    sx, sy = m0 * acc[0, 0], m0 * acc[0, 1]
    sz = m0 * acc[0, 2] if three else 0.0
    for i in range(1, n):
        ir = work[W_IR, i]
        kep = jf[2, i] * ir * ir * ir
        e = jf[1, i - 1]
        mi = masses[i]
        ax, ay = acc[i, 0], acc[i, 1]
        wv[i, 0] += h * (ax - sx * e + kep * wx[i, 0])
        wv[i, 1] += h * (ay - sy * e + kep * wx[i, 1])
        sx += mi * ax
        sy += mi * ay
        if three:
            az = acc[i, 2]
            wv[i, 2] += h * (az - sz * e + kep * wx[i, 2])
            sz += mi * az
    return rmin2, imin, jmin


@numba.njit(**NJIT)
def democratic_kick(wx, wv, planets, G, active, h, acc):
    """wv_i += h sum_j G m_j (Q_j - Q_i) / |Q_j - Q_i|^3 over the massive planets j (row 0, the
    centre of mass, takes no part).  Returns the closest pair, star-planet pairs included."""
    rmin2, imin, jmin = gravity(wx[1:], planets[1:], G, 0.0, active, acc[1:])
    imin += 1
    jmin += 1
    n, d = wx.shape
    for i in range(1, n):
        r2 = 0.0
        for k in range(d):
            wv[i, k] += h * acc[i, k]
            r2 += wx[i, k] * wx[i, k]
        if r2 < rmin2:
            rmin2, imin, jmin = r2, 0, i
    return rmin2, imin, jmin


@numba.njit(**NJIT)
def jump(wx, wv, masses, h):
    """Q_i += h sum_j m_j V_j / m_0."""
    n, d = wx.shape
    for k in range(d):
        p = 0.0
        for i in range(1, n):
            p += masses[i] * wv[i, k]
        p *= h / masses[0]
        for i in range(1, n):
            wx[i, k] += p


@numba.njit(**NJIT)
def apply_corrector(wx, wv, masses, jf, mu, G, active, dt, drifts, kicks, pos, vel, acc,
                    work):  # fmt: skip
    """The corrector program (``corrector_program``) with step dt, in place (Jacobi); its
    drifts are never zero, so that every kick follows a drift."""
    for q in range(drifts.size):
        drift(wx, wv, mu, drifts[q] * dt, work)
        if kicks[q] != 0.0:
            jacobi_kick(wx, wv, masses, jf, G, active, kicks[q] * dt, pos, acc, work)


# ----- the loop --------------------------------------------------------------------------
@numba.njit(**NJIT, inline="always")
def finite_sum(a, b):
    """False if a or b holds a nan or an inf (or overflows when summed): a branch-free check."""
    s = 0.0
    n, d = a.shape
    for i in range(n):
        for k in range(d):
            s += a[i, k] + b[i, k]
    return math.isfinite(s)


@numba.njit(**NJIT, inline="always")
def outer(mode, wx, wv, masses, planets, eta, mu, G, active, h, pos, vel, acc, work):
    """The half-step operator at both ends of a step: drift (Jacobi) or kick (democratic)."""
    if mode == JACOBI:
        drift(wx, wv, mu, h, work)
        return np.inf, 0, 0
    return democratic_kick(wx, wv, planets, G, active, h, acc)


@numba.njit(**NJIT, inline="always")
def steps(mode, wx, wv, masses, planets, jf, mu, G, active, dt, pos, vel, acc, work, par, scal,
          cnt, escaped):  # fmt: skip
    """Whole steps from scal[S_T] to the one nearest P_TEND: (status code, last step) with
    the last half-step operator still to apply.  Called with the constant ``mode`` from
    ``jacobi_steps`` and ``democratic_steps``: each loop holds only its own operators, called
    directly (one loop over both, dispatching on a run-time mode through ``outer`` and an
    inner operator, took 640 instead of 480 ns per step on the outer Solar System)."""
    h_prev = 0.0
    events = par[P_ENC2] > 0.0  # (escapes are refused for wh)
    while True:
        t = scal[S_T]
        if t + 0.5 * dt > par[P_TEND]:  # whole steps only: the nearest to P_TEND
            return DONE, h_prev
        if cnt[C_STEPS] >= par[P_MAXSTEPS]:
            return MAX_STEPS, h_prev
        h = dt
        if mode == JACOBI:  # drift(h/2) of this step merged with that of the step before
            drift(wx, wv, mu, 0.5 * (h_prev + h), work)
            rmin2, imin, jmin = jacobi_kick(wx, wv, masses, jf, G, active, h, pos, acc, work)
        else:  # the same for the kicks; then jump(h/2) drift(h) jump(h/2)
            rmin2, imin, jmin = democratic_kick(wx, wv, planets, G, active, 0.5 * (h_prev + h),
                                                acc)  # fmt: skip
            jump(wx, wv, masses, 0.5 * h)
            drift(wx, wv, mu, h, work)
            jump(wx, wv, masses, 0.5 * h)
        cnt[C_NFORCE] += 1
        cnt[C_STEPS] += 1
        h_prev = h
        scal[S_T] = t + h
        if (cnt[C_STEPS] & 31) == 0 and not finite_sum(wx, wv):  # every 32 steps (and below)
            return NONFINITE, h_prev
        if rmin2 < scal[S_RMIN2]:
            track_rmin(scal, cnt, rmin2, imin, jmin)
        if events and check_events(pos, vel, masses, par, cnt, escaped, rmin2, imin, jmin):
            return cnt[C_STATUS], h_prev


@numba.njit(**NJIT)
def jacobi_steps(wx, wv, masses, planets, jf, mu, G, active, dt, pos, vel, acc, work, par, scal,
                 cnt, escaped):  # fmt: skip
    """``steps`` in Jacobi coordinates."""
    return steps(JACOBI, wx, wv, masses, planets, jf, mu, G, active, dt, pos, vel, acc, work, par,
                 scal, cnt, escaped)  # fmt: skip


@numba.njit(**NJIT)
def democratic_steps(wx, wv, masses, planets, jf, mu, G, active, dt, pos, vel, acc, work, par,
                     scal, cnt, escaped):  # fmt: skip
    """``steps`` in democratic heliocentric coordinates."""
    return steps(DEMOCRATIC, wx, wv, masses, planets, jf, mu, G, active, dt, pos, vel, acc, work,
                 par, scal, cnt, escaped)  # fmt: skip


@numba.njit(**NJIT)
def synchronize(mode, wx, wv, masses, eta, mu, G, active, dt, drifts, kicks, pos, vel, acc):
    """The physical state x = C w into (pos, vel); w is left unchanged."""
    jf = jacobi_factors(masses, eta, G)
    if mode == DEMOCRATIC:
        from_democratic(wx, wv, masses, eta, pos, vel)
        return
    if drifts.size > 1:
        cx = wx.copy()
        cv = wv.copy()
        work = wh_work(wx.shape[0])
        apply_corrector(cx, cv, masses, jf, mu, G, active, dt, drifts, kicks, pos, vel, acc,
                        work)  # fmt: skip
        from_jacobi(cx, cv, jf, pos, vel)
    else:
        from_jacobi(wx, wv, jf, pos, vel)


@numba.njit(**NJIT)
def wh_start(pos, vel, acc, jerk, masses, par, scal, cnt, wx, wv, planets, eta, mu, active,
             mode, drifts, kicks, inverse_drifts, inverse_kicks):  # fmt: skip
    """Mapping variables w = C^-1 x of the initial state."""
    G = par[P_G]
    if mode == DEMOCRATIC:
        to_democratic(pos, vel, masses, wx, wv)
        return
    to_jacobi(pos, vel, masses, wx, wv)
    if drifts.size > 1:
        px = pos.copy()
        pv = vel.copy()
        apply_corrector(
            wx, wv, masses, jacobi_factors(masses, eta, G), mu, G, active, par[P_DT],
            inverse_drifts, inverse_kicks, px, pv, acc, wh_work(pos.shape[0]),
        )  # fmt: skip


@numba.njit(**NJIT)
def wh_advance(pos, vel, acc, jerk, masses, par, scal, cnt, escaped, wx, wv, planets, eta, mu,
               active, mode, drifts, kicks, inverse_drifts, inverse_kicks):  # fmt: skip
    """Advance from scal[S_T] by whole steps par[P_DT] to the step nearest P_TEND (a shortened
    step would break the symplectic map and its corrector); (pos, vel) get the corrected
    physical state at the end."""
    G, dt = par[P_G], par[P_DT]
    n, d = pos.shape
    px = np.empty((n, d))
    pv = np.empty((n, d))
    work = wh_work(n)
    jf = jacobi_factors(masses, eta, G)
    if mode == JACOBI and active.size == n:  # massive bodies only (``jacobi_kick``)
        code, h_prev = jacobi_steps(wx, wv, masses, planets, jf, mu, G, None, dt, px, pv, acc,
                                    work, par, scal, cnt, escaped)  # fmt: skip
    elif mode == JACOBI:
        code, h_prev = jacobi_steps(wx, wv, masses, planets, jf, mu, G, active, dt, px, pv, acc,
                                    work, par, scal, cnt, escaped)  # fmt: skip
    else:
        code, h_prev = democratic_steps(wx, wv, masses, planets, jf, mu, G, active, dt, px, pv,
                                        acc, work, par, scal, cnt, escaped)  # fmt: skip
    if code != NONFINITE and not finite_sum(wx, wv):
        code = NONFINITE
    if h_prev > 0.0:
        r2, i2, j2 = outer(mode, wx, wv, masses, planets, eta, mu, G, active, 0.5 * h_prev,
                           px, pv, acc, work)  # fmt: skip
        track_rmin(scal, cnt, r2, i2, j2)
        if mode == DEMOCRATIC:
            cnt[C_NFORCE] += 1
    if code != NONFINITE:
        synchronize(mode, wx, wv, masses, eta, mu, G, active, dt, drifts, kicks, pos, vel, acc)
    cnt[C_STATUS] = code
    return code


def wh_state(masses, pos, opts, G):
    """The arrays ``wh`` carries after the common ones (the order of ``wh_advance``): the
    mapping variables, the planets' masses, eta, the Kepler parameters, the massive bodies, the
    mode and the corrector programs C and C^-1."""
    masses = np.asarray(masses, dtype=float)
    if not masses[0] > 0:
        raise ValueError("method 'wh' needs a massive primary: masses[0] must be positive")
    n = masses.size
    eta = np.cumsum(masses)
    mode = COORDINATES[opts.coordinates]
    if mode == JACOBI:
        mu = G * eta
        planets = masses.copy()
        active = np.flatnonzero(masses > 0).astype(np.int64)
    else:
        mu = np.full(n, G * masses[0])
        planets = masses.copy()
        planets[0] = 0.0
        active = np.flatnonzero(planets[1:] > 0).astype(np.int64)  # indices into rows 1..
    drifts, kicks = corrector_program(opts.corrector, inverse=True)
    inv_drifts, inv_kicks = corrector_program(opts.corrector)
    return (
        np.zeros_like(pos),
        np.zeros_like(pos),
        planets,
        eta,
        mu,
        active,
        mode,
        drifts,
        kicks,
        inv_drifts,
        inv_kicks,
    )
