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
"""

import math

import numba

from stepsize.nbody._kernels import NJIT


@numba.njit(**NJIT)
def stumpff(z):
    """(c0, c1, c2, c3)(z): c0 = cos sqrt z, c1 = sin sqrt z / sqrt z, c2 = (1 - c0) / z,
    c3 = (1 - c1) / z (hyperbolic continuations for z < 0)."""
    n = 0
    while abs(z) > 1.0:
        z *= 0.25
        n += 1
    c2 = c3 = 0.0
    term2 = 0.5  # (-z)^k / (2k + 2)!
    term3 = 1.0 / 6.0  # (-z)^k / (2k + 3)!
    for k in range(11):  # remainder < 1 / 25! for |z| <= 1
        c2 += term2
        c3 += term3
        term2 *= -z / ((2 * k + 3) * (2 * k + 4))
        term3 *= -z / ((2 * k + 4) * (2 * k + 5))
    c1 = 1.0 - z * c3
    c0 = 1.0 - z * c2
    for _ in range(n):  # c(4z) from c(z)
        c3 = 0.25 * (c2 + c0 * c3)
        c2 = 0.5 * c1 * c1
        c1 = c0 * c1
        c0 = 2.0 * c0 * c0 - 1.0
    return c0, c1, c2, c3


@numba.njit(**NJIT)
def kepler_drift(x, v, mu, dt):
    """Advance the relative state x, v (1-D arrays, in place) by dt on its Kepler orbit."""
    d = x.size
    r0 = 0.0
    v2 = 0.0
    eta0 = 0.0
    for k in range(d):
        r0 += x[k] * x[k]
        v2 += v[k] * v[k]
        eta0 += x[k] * v[k]
    r0 = math.sqrt(r0)
    beta = 2.0 * mu / r0 - v2
    zeta0 = mu - beta * r0
    # initial guess: the Taylor series of s(dt), then clipped to a bracket of the root
    s = dt / r0
    if abs(eta0 * dt) < r0 * r0:
        s -= 0.5 * eta0 * dt * dt / (r0 * r0 * r0)
    if dt > 0.0:
        lo, hi = 0.0, math.inf
    else:
        lo, hi = -math.inf, 0.0
    if beta > 0.0:  # elliptic: one period of s is 2 pi / sqrt(beta)
        span = 2.0 * math.pi / math.sqrt(beta) * (abs(dt) * beta**1.5 / (2.0 * math.pi * mu) + 1.0)
        lo, hi = max(lo, -span), min(hi, span)
    g1 = g2 = g3 = 0.0
    c0 = 1.0
    dx_old = math.inf
    for _ in range(200):
        if not (lo < s < hi):
            if math.isinf(hi):
                s = 2.0 * max(lo, 0.0) + abs(dt) / r0
            elif math.isinf(lo):
                s = 2.0 * min(hi, 0.0) - abs(dt) / r0
            else:
                s = 0.5 * (lo + hi)
        c0, c1, c2, c3 = stumpff(beta * s * s)
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
            break
        dF = r0 + eta0 * g1 + zeta0 * g2
        ddF = eta0 * c0 + zeta0 * g1
        ds = -F / dF  # Newton; Halley's correction where it is finite and keeps the sign
        den = dF - 0.5 * F * ddF / dF
        if math.isfinite(den) and den * dF > 0.0:
            ds = -F / den
        s_new = s + ds
        if (s_new == s or abs(ds) <= 1e-16 * abs(s)) and lo <= s_new <= hi:
            s = s_new
            break
        if math.isinf(hi - lo):
            # at most double the distance from 0 per iteration while the bracket is open
            step = 2.0 * abs(s) + abs(dt) / r0
            s = min(max(s_new, s - step), s + step)
            continue
        if not (lo < s_new < hi) or abs(ds) > 0.5 * dx_old:
            s_new = 0.5 * (lo + hi)  # bisect where Newton leaves the bracket or stalls
        dx_old = abs(s_new - s)
        s = s_new
        if hi - lo <= 2e-16 * max(abs(lo), abs(hi)):
            break
    c0, c1, c2, c3 = stumpff(beta * s * s)
    g1 = s * c1
    g2 = s * s * c2
    r = r0 + eta0 * g1 + zeta0 * g2
    fm1 = -mu * g2 / r0
    g = r0 * g1 + eta0 * g2
    fd = -mu * g1 / (r * r0)
    gdm1 = -mu * g2 / r
    for k in range(d):
        xk, vk = x[k], v[k]
        x[k] = xk + (fm1 * xk + g * vk)
        v[k] = vk + (fd * xk + gdm1 * vk)
