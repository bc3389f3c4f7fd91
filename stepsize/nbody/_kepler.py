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

Cost: the first guess is the Taylor series of s(t) to third order, Halley's step from it is
usually within rounding of the root (its next error is ~ z |ds/s|^3 / 6 of s, z = beta s^2),
and the G-functions are then carried to the corrected s by their Taylor series
(G_n' = G_{n-1}, G_0' = -beta G_1; remainder ~ |ds/s|^4) instead of a new Stumpff evaluation:
one or two Stumpff evaluations per drift for planetary steps.
"""

import math

import numba
import numpy as np

from stepsize.nbody._gravity import NJIT

N_SERIES = 9  # |z| <= 1: remainder below 1 / 20! = 4e-19
C2_SERIES = np.array([(-1.0) ** k / math.factorial(2 * k + 2) for k in range(N_SERIES)])
C3_SERIES = np.array([(-1.0) ** k / math.factorial(2 * k + 3) for k in range(N_SERIES)])
TAYLOR = 1e-6  # finish once |ds| < TAYLOR |s| or z |ds / s|^3 < ROUNDING
ROUNDING = 1e-17
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
    terms = 4 if az < 1e-3 else (7 if az < 0.1 else N_SERIES)
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


@numba.njit(**NJIT)
def solve_universal(r0, ir0, eta0, zeta0, beta, mu, dt):
    """(G0, G1, G2) at the root s of Kepler's equation in universal variables.

    First guess: the Taylor series of s(t): s' = 1/r, s'' = -eta / r^3 and
    s''' = 3 eta^2 / r^5 - (v^2 - mu / r) / r^3, where v^2 - mu / r = mu / r - beta.
    """
    s = dt * ir0
    if abs(eta0 * dt) < 0.1 * r0 * r0 and abs(beta) * dt * dt < 0.1 * r0 * r0:
        ir3 = ir0 * ir0 * ir0
        s += dt * dt * ir3 * (-0.5 * eta0 + dt * (0.5 * eta0 * eta0 * ir0 * ir0
                                                  - (mu * ir0 - beta) * SIXTH))  # fmt: skip
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
        g0 = c0
        g1 = s * c1
        g2 = s * s * c2
        g3 = s * s * s * c3
        F = r0 * s + eta0 * g2 + zeta0 * g3 - dt
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
            return g0, g1, g2
        dF = r0 + eta0 * g1 + zeta0 * g2
        ddF = eta0 * g0 + zeta0 * g1
        # Halley, ds = -F F' / (F'^2 - F F''/2); Newton where that denominator loses its sign
        den = dF * dF - 0.5 * F * ddF
        ds = -F * dF / den if math.isfinite(den) and den > 0.0 else -F / dF
        s_new = s + ds
        a = abs(ds)
        if (a <= TAYLOR * abs(s) or a * a * a * abs(beta) < ROUNDING * abs(s)) and (
            lo <= s_new <= hi
        ):
            # carry the G-functions from s to s + ds (third order)
            h2 = 0.5 * ds * ds
            h3 = h2 * ds * THIRD
            n0 = g0 - beta * (ds * g1 + h2 * g0) + beta * beta * h3 * g1
            n1 = g1 + ds * g0 - beta * (h2 * g1 + h3 * g0)
            n2 = g2 + ds * g1 + h2 * g0 - beta * h3 * g1
            return n0, n1, n2
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


@numba.njit(**NJIT)
def kepler_row(x, v, i, mu, dt):
    """Advance row i of the relative states x, v (2-D arrays, in place) by dt on its orbit."""
    d = x.shape[1]
    r0 = 0.0
    v2 = 0.0
    eta0 = 0.0
    for k in range(d):
        r0 += x[i, k] * x[i, k]
        v2 += v[i, k] * v[i, k]
        eta0 += x[i, k] * v[i, k]
    r0 = math.sqrt(r0)
    ir0 = 1.0 / r0
    beta = 2.0 * mu * ir0 - v2
    zeta0 = mu - beta * r0
    g0, g1, g2 = solve_universal(r0, ir0, eta0, zeta0, beta, mu, dt)
    ir = 1.0 / (r0 + eta0 * g1 + zeta0 * g2)
    fm1 = -mu * g2 * ir0
    g = r0 * g1 + eta0 * g2
    fd = -mu * g1 * ir * ir0
    gdm1 = -mu * g2 * ir
    for k in range(d):
        xk, vk = x[i, k], v[i, k]
        x[i, k] = xk + (fm1 * xk + g * vk)
        v[i, k] = vk + (fd * xk + gdm1 * vk)


@numba.njit(**NJIT)
def kepler_drift(x, v, mu, dt):
    """Advance the relative state x, v (1-D arrays, in place) by dt on its Kepler orbit."""
    kepler_row(x.reshape((1, x.size)), v.reshape((1, v.size)), 0, mu, dt)
