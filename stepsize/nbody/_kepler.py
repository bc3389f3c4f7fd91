"""Kepler drift in universal variables: the exact two-body motion over a time dt for every
eccentricity (elliptic, parabolic, hyperbolic), compiled.

With r0 = |x0|, eta0 = x0 . v0, beta = 2 mu / r0 - v0^2 (= mu / a) and zeta0 = mu - beta r0,
the universal anomaly s solves Kepler's equation (Danby 1988, *Fundamentals of Celestial
Mechanics*, ch. 6.9; Wisdom & Hernandez 2015, MNRAS 453, 3015)

    F(s) = r0 s + eta0 G2(s) + zeta0 G3(s) - dt = 0,   F'(s) = r(s) = r0 + eta0 G1 + zeta0 G2,

with the G-functions G_n = s^n c_n(beta s^2) and the Stumpff functions c_n.  F is increasing
(F' = r > 0), so Halley's iteration is kept inside a bracket [lo, hi] of the root and falls
back to bisection where it would leave the bracket or stall: it cannot diverge.  The Stumpff
functions come from their series for |z| <= 1 and the quadrupling formulas beyond (Danby's
reduction), accurate for any z.  The new state,

    x = x0 + (f - 1) x0 + g v0,        v = v0 + fdot x0 + (gdot - 1) v0,
    f - 1 = -mu G2 / r0,  g = r0 G1 + eta0 G2,  fdot = -mu G1 / (r r0),  gdot - 1 = -mu G2 / r,

is written as increments (no cancellation in f - 1 and gdot - 1).

Cost: the first guess is the Taylor series of s(t) to third order, and Halley's step from it
is usually within rounding of the root.  Halley's iteration converges cubically,
e_next = K e^3 with K = F''^2 / (4 F'^2) - F''' / (6 F') and F''' = zeta0 G0 - beta eta0 G1
(Traub 1964, *Iterative Methods for the Solution of Equations*, sec. 5.2): once the step ds
is small (|ds| <= 1e-3 |s|, the asymptotic regime) and |K| |ds|^3 is below a tenth of an ulp
of s, the root is s + ds to rounding, and the G-functions are carried there by their Taylor
series (G_n' = G_{n-1}, G_0' = -beta G_1, to third order; remainder ~ (beta ds^2)^2 / 24,
held below 1e-17) instead of a new Stumpff evaluation: one Stumpff evaluation per drift for
planetary steps up to a few per cent of the innermost period.  ``kepler_row`` returns 1 / r
at the end (1 / F' at the root), which the Wisdom-Holman kick reuses.
"""

import math

import numba
import numpy as np

from stepsize.nbody._gravity import NJIT, greater

N_SERIES = 9  # |z| <= 1: remainder below 1 / 20! = 4e-19
C2_SERIES = np.array([(-1.0) ** k / math.factorial(2 * k + 2) for k in range(N_SERIES)])
C3_SERIES = np.array([(-1.0) ** k / math.factorial(2 * k + 3) for k in range(N_SERIES)])
ASYMPTOTIC = 1e-3  # |ds| <= ASYMPTOTIC |s|: Halley's error constant K applies
ROUNDING = 1e-17  # accept once |K| |ds|^3 < ROUNDING |s| (a tenth of an ulp)
CARRY = 1e-8  # and |beta| ds^2 < CARRY: the third-order carry of the G-functions is exact
SIXTH, THIRD = 1.0 / 6.0, 1.0 / 3.0


@numba.njit(**NJIT)
def stumpff(z):
    """(c0, c1, c2, c3)(z): c0 = cos sqrt z, c1 = sin sqrt z / sqrt z, c2 = (1 - c0) / z,
    c3 = (1 - c1) / z (hyperbolic continuations for z < 0)."""
    n = 0
    while abs(z) > 1.0:
        z *= 0.25
        n += 1
    az = abs(z)
    # the remainder z^k / (2k + 2)! of k terms stays below 1e-18 c
    terms = series_terms(az)
    c2 = C2_SERIES[terms - 1]
    c3 = C3_SERIES[terms - 1]
    for k in range(terms - 2, -1, -1):  # Horner
        c2 = c2 * z + C2_SERIES[k]
        c3 = c3 * z + C3_SERIES[k]
    c1 = 1.0 - z * c3
    c0 = 1.0 - z * c2
    for _ in range(n):  # c(4z) from c(z)
        c3 = 0.25 * (c2 + c0 * c3)
        c2 = 0.5 * c1 * c1
        c1 = c0 * c1
        c0 = 2.0 * c0 * c0 - 1.0
    return c0, c1, c2, c3


@numba.njit(**NJIT, inline="always")
def first_guess(r0, ir0, eta0, beta, mu, dt):
    """(s, series): the Taylor series of s(t) to third order where it converges fast
    (|eta0 dt| and |beta| dt^2 below r0^2 / 10), else dt / r0 (series False).

    s' = 1/r, s'' = -eta / r^3 and s''' = 3 eta^2 / r^5 - (v^2 - mu / r) / r^3, where
    v^2 - mu / r = mu / r - beta.
    """
    s = dt * ir0
    if abs(eta0 * dt) < 0.1 * r0 * r0 and abs(beta) * dt * dt < 0.1 * r0 * r0:
        ir3 = ir0 * ir0 * ir0
        s += dt * dt * ir3 * (-0.5 * eta0 + dt * (0.5 * eta0 * eta0 * ir0 * ir0
                                                  - (mu * ir0 - beta) * SIXTH))  # fmt: skip
        return s, True
    return s, False


@numba.njit(**NJIT, inline="always")
def halley(s, c0, c1, c2, c3, r0, eta0, zeta0, beta, dt):
    """One Halley step at s, from the Stumpff functions of beta s^2: (F, ds, converged, G0,
    G1, G2) with ds = -F F' / (F'^2 - F F'' / 2) (Newton's -F / F' where that denominator is
    not positive); converged when s + ds is the root to rounding (the test of the module doc),
    and then the G-functions carried to s + ds, else those at s."""
    g0 = c0
    g1 = s * c1
    g2 = s * s * c2
    g3 = s * s * s * c3
    F = r0 * s + eta0 * g2 + zeta0 * g3 - dt
    dF = r0 + eta0 * g1 + zeta0 * g2
    ddF = eta0 * g0 + zeta0 * g1
    den = dF * dF - 0.5 * F * ddF
    ds = -F * dF / den if math.isfinite(den) and den > 0.0 else -F / dF
    a = abs(ds)
    k3 = abs(0.25 * ddF * ddF - (zeta0 * g0 - beta * eta0 * g1) * dF * SIXTH)  # |K| F'^2
    if not (
        a <= ASYMPTOTIC * abs(s)
        and a * a * a * k3 < ROUNDING * abs(s) * dF * dF
        and abs(beta) * a * a < CARRY
    ):
        return F, ds, False, g0, g1, g2
    # carry the G-functions from s to s + ds (third order)
    h2 = 0.5 * ds * ds
    h3 = h2 * ds * THIRD
    n0 = g0 - beta * (ds * g1 + h2 * g0) + beta * beta * h3 * g1
    n1 = g1 + ds * g0 - beta * (h2 * g1 + h3 * g0)
    n2 = g2 + ds * g1 + h2 * g0 - beta * h3 * g1
    return F, ds, True, n0, n1, n2


@numba.njit(**NJIT)
def solve_universal(r0, ir0, eta0, zeta0, beta, mu, dt):
    """(G0, G1, G2) at the root s of Kepler's equation in universal variables, from
    ``first_guess``: Halley's iteration kept in a bracket of the root (module doc)."""
    s, _ = first_guess(r0, ir0, eta0, beta, mu, dt)
    if dt > 0.0:
        lo, hi = 0.0, math.inf
    else:
        lo, hi = -math.inf, 0.0
    dx_old = math.inf
    g0 = g1 = g2 = 0.0
    for it in range(200):
        if it == 1 and beta > 0.0:
            # elliptic: s grows by 2 pi / sqrt(beta) per orbit (set once the first Halley step
            # has not finished, which for planetary steps it usually has)
            span = 2.0 * math.pi / math.sqrt(beta) + abs(dt) * beta / mu
            lo, hi = max(lo, -span), min(hi, span)
        if not (lo < s < hi):
            if math.isinf(hi):
                s = 2.0 * max(lo, 0.0) + abs(dt) * ir0
            elif math.isinf(lo):
                s = 2.0 * min(hi, 0.0) - abs(dt) * ir0
            else:
                s = 0.5 * (lo + hi)
        c0, c1, c2, c3 = stumpff(beta * s * s)
        F, ds, converged, g0, g1, g2 = halley(s, c0, c1, c2, c3, r0, eta0, zeta0, beta, dt)
        if not math.isfinite(F):  # overflow far beyond the root (hyperbolic orbits)
            if s > 0.0:
                hi = s
            else:
                lo = s
            continue
        if F < 0.0:
            lo = s
        elif F > 0.0:
            hi = s
        else:
            return c0, s * c1, s * s * c2
        s_new = s + ds
        if converged and lo <= s_new <= hi:
            return g0, g1, g2
        if math.isinf(hi - lo):
            # at most double the distance from 0 per iteration while the bracket is open
            step = 2.0 * abs(s) + abs(dt) * ir0
            s = min(max(s_new, s - step), s + step)
            continue
        if not (lo < s_new < hi) or abs(ds) > 0.5 * dx_old:
            s_new = 0.5 * (lo + hi)  # bisect where Halley leaves the bracket or stalls
        dx_old = abs(s_new - s)
        s = s_new
        if hi - lo <= 2e-16 * max(abs(lo), abs(hi)):
            break
    return g0, g1, g2


@numba.njit(**NJIT, inline="always")
def orbit_constants(x, v, i, mu):
    """(r0, 1 / r0, eta0 = x . v, beta = 2 mu / r0 - v^2, zeta0 = mu - beta r0) of row i."""
    r2 = 0.0
    v2 = 0.0
    eta0 = 0.0
    for k in range(x.shape[1]):
        r2 += x[i, k] * x[i, k]
        v2 += v[i, k] * v[i, k]
        eta0 += x[i, k] * v[i, k]
    r0 = math.sqrt(r2)
    ir0 = 1.0 / r0
    beta = 2.0 * mu * ir0 - v2
    return r0, ir0, eta0, beta, mu - beta * r0


@numba.njit(**NJIT, inline="always")
def update_row(x, v, i, mu, r0, ir0, eta0, zeta0, g1, g2):
    """x, v of row i from the G-functions at the root (the f and g functions, as increments);
    returns 1 / r at the end (r = F' at the root: no square root)."""
    ir = 1.0 / (r0 + eta0 * g1 + zeta0 * g2)
    fm1 = -mu * g2 * ir0
    g = r0 * g1 + eta0 * g2
    fd = -mu * g1 * ir * ir0
    gdm1 = -mu * g2 * ir
    for k in range(x.shape[1]):
        xk, vk = x[i, k], v[i, k]
        x[i, k] = xk + (fm1 * xk + g * vk)
        v[i, k] = vk + (fd * xk + gdm1 * vk)
    return ir


@numba.njit(**NJIT)
def kepler_row(x, v, i, mu, dt):
    """Advance row i of the relative states x, v (2-D arrays, in place) by dt on its orbit;
    returns 1 / r at the end."""
    r0, ir0, eta0, beta, zeta0 = orbit_constants(x, v, i, mu)
    g0, g1, g2 = solve_universal(r0, ir0, eta0, zeta0, beta, mu, dt)
    return update_row(x, v, i, mu, r0, ir0, eta0, zeta0, g1, g2)


# rows of the work array (N_WORK, N) of ``kepler_rows``
W_R0, W_IR0, W_ETA, W_BETA, W_ZETA, W_S, W_Z, W_C2, W_C3, W_IR, W_ROW = range(11)
N_WORK = 11
# work[W_ROW, i] of ``kepler_lockstep``: the row is done, or left to the bracketed iteration
# of ``kepler_rest``
ROW_DONE, ROW_REST = 0.0, 2.0
RETRY_STEP = 0.1  # a second lockstep Halley step where the first moved s by less than 10 %


@numba.njit(**NJIT)
def kepler_rows(x, v, mu, dt, work):
    """Advance rows 1.. of x, v by dt on their orbits (mu[i]); work[W_IR, i] = 1 / r at the end.

    The solution of ``kepler_row``, computed in lockstep (``kepler_lockstep``) and, for the
    rows that need it, by the bracketed iteration (``kepler_rest``)."""
    if not kepler_lockstep(x, v, mu, dt, work):
        kepler_rest(x, v, mu, dt, work)


@numba.njit(**NJIT)
def kepler_lockstep(x, v, mu, dt, work):
    """``kepler_rows`` where Halley's iteration from the series guess converges in one or two
    steps: True when it does for every row; the other rows are left as they were, marked
    (work[W_ROW, i] = ROW_REST) for ``kepler_rest``, their orbit constants in work.

    Each stage (orbit constants, first guess, Stumpff series, Halley step) runs over all rows
    before the next, so that the rows' chains of dependent operations overlap (one row's
    drift is a chain of some 200 cycles of latency; in the planetary case, one Halley step per
    row, no branch depends on the data).  The series takes as many terms as the largest
    |z| = |beta s^2| needs (``stumpff``).  Rows whose guess (the series or dt / r0, as
    ``solve_universal`` starts) has |z| > 1 are left to ``kepler_rest``.  A row whose first
    Halley step has not converged but moved s by less than RETRY_STEP |s| takes a second one
    from s + ds (its own series, |z| <= 1), the step ``solve_universal`` would take from
    there: for steps of a sizeable fraction of the period (Jupiter at dt = 400 days, 1/11 of
    its period: the guess dt / r0 is 1e-2 off, the root after one step 1e-9 off) the second
    step is the last, without the bracketed iteration.  The second step follows the row's
    first at once, so that its chain overlaps the next rows' (2-5 % of the step).  Rows that
    still have not converged are left to ``kepler_rest``.  No call: a function that calls
    another compiled function keeps the reference counting of its array arguments (eight
    atomic updates per call; the bracketed iteration called from here cost the outer Solar
    System's drift 100 of its 230 ns)."""
    n = x.shape[0]
    zmax = 0.0
    for i in range(1, n):
        r0, ir0, eta0, beta, zeta0 = orbit_constants(x, v, i, mu[i])
        s, _ = first_guess(r0, ir0, eta0, beta, mu[i], dt)
        z = beta * s * s
        if not abs(z) <= 1.0:
            z = math.inf  # marks the row for the bracketed iteration
        else:
            zmax = greater(zmax, abs(z))
        work[W_R0, i], work[W_IR0, i], work[W_ETA, i] = r0, ir0, eta0
        work[W_BETA, i], work[W_ZETA, i], work[W_S, i], work[W_Z, i] = beta, zeta0, s, z
    terms = series_terms(zmax)
    for i in range(1, n):
        work[W_C2, i] = C2_SERIES[terms - 1]
        work[W_C3, i] = C3_SERIES[terms - 1]
    for k in range(terms - 2, -1, -1):  # Horner, over the rows
        for i in range(1, n):
            z = work[W_Z, i]
            work[W_C2, i] = work[W_C2, i] * z + C2_SERIES[k]
            work[W_C3, i] = work[W_C3, i] * z + C3_SERIES[k]
    for i in range(1, n):
        r0, ir0, eta0 = work[W_R0, i], work[W_IR0, i], work[W_ETA, i]
        beta, zeta0, s, z = work[W_BETA, i], work[W_ZETA, i], work[W_S, i], work[W_Z, i]
        state = ROW_REST
        if z != math.inf:
            c2, c3 = work[W_C2, i], work[W_C3, i]
            _, ds, converged, _, g1, g2 = halley(
                s, 1.0 - z * c2, 1.0 - z * c3, c2, c3, r0, eta0, zeta0, beta, dt
            )
            if converged:
                work[W_IR, i] = update_row(x, v, i, mu[i], r0, ir0, eta0, zeta0, g1, g2)
                state = ROW_DONE
            elif abs(ds) < RETRY_STEP * abs(s):
                work[W_S, i] = s + ds
                state = retry_row(x, v, i, mu[i], dt, work)
        work[W_ROW, i] = state
    done = True
    for i in range(1, n):
        done = done and work[W_ROW, i] == ROW_DONE
    return done


@numba.njit(**NJIT, inline="always")
def series_terms(az):
    """The number of terms of the Stumpff series for |z| <= az (remainder below 1e-18)."""
    return 4 if az < 1e-3 else (7 if az < 0.1 else N_SERIES)


@numba.njit(**NJIT, inline="always")
def retry_row(x, v, i, mu, dt, work):
    """The second Halley step of ``kepler_lockstep`` for row i, from s = work[W_S, i]: the
    row's new state (ROW_DONE, row updated; or ROW_REST)."""
    r0, ir0, eta0 = work[W_R0, i], work[W_IR0, i], work[W_ETA, i]
    beta, zeta0, s = work[W_BETA, i], work[W_ZETA, i], work[W_S, i]
    z = beta * s * s
    if not abs(z) <= 1.0:
        return ROW_REST
    terms = series_terms(abs(z))
    c2 = C2_SERIES[terms - 1]
    c3 = C3_SERIES[terms - 1]
    for k in range(terms - 2, -1, -1):
        c2 = c2 * z + C2_SERIES[k]
        c3 = c3 * z + C3_SERIES[k]
    _, _, converged, _, g1, g2 = halley(
        s, 1.0 - z * c2, 1.0 - z * c3, c2, c3, r0, eta0, zeta0, beta, dt
    )
    if not converged:
        return ROW_REST
    work[W_IR, i] = update_row(x, v, i, mu, r0, ir0, eta0, zeta0, g1, g2)
    return ROW_DONE


@numba.njit(**NJIT)
def kepler_rest(x, v, mu, dt, work):
    """The rows ``kepler_lockstep`` left (work[W_ROW, i] = ROW_REST), by ``solve_universal``
    from their orbit constants in work."""
    for i in range(1, x.shape[0]):
        if work[W_ROW, i] == ROW_REST:
            r0, ir0, eta0 = work[W_R0, i], work[W_IR0, i], work[W_ETA, i]
            beta, zeta0 = work[W_BETA, i], work[W_ZETA, i]
            _, g1, g2 = solve_universal(r0, ir0, eta0, zeta0, beta, mu[i], dt)
            work[W_IR, i] = update_row(x, v, i, mu[i], r0, ir0, eta0, zeta0, g1, g2)


@numba.njit(**NJIT)
def kepler_drift(x, v, mu, dt):
    """Advance the relative state x, v (1-D arrays, in place) by dt on its Kepler orbit."""
    kepler_row(x.reshape((1, x.size)), v.reshape((1, v.size)), 0, mu, dt)
