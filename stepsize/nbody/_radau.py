"""The Gauss-Radau tableau of the 15th-order integrator ``gr15``, derived from its definitions.

Everhart (1985, *Dynamics of Comets*, IAU Coll. 83, 185) and Rein & Spiegel (2015, MNRAS 446,
1424, section 2) expand the acceleration over a step of size dt, in the step fraction h in [0, 1],

    a(h) = a_0 + b_0 h + b_1 h^2 + ... + b_6 h^7                        (monomials)
         = a_0 + g_1 w_1(h) + g_2 w_2(h) + ... + g_7 w_7(h),            (Newton form)
    w_n(h) = h (h - h_1) (h - h_2) ... (h - h_{n-1}),

sampled at the Gauss-Radau spacings h_0 = 0 < h_1 < ... < h_7 < 1: h_0 and the seven roots of
P_7(x) + P_8(x) in (-1, 1], x = 2h - 1 (P_n the Legendre polynomials; Abramowitz & Stegun
25.4.31).  Integrating a(h) twice with these nodes is exact to order 15.

* ``H``: the spacings h_0..h_7.
* ``RR[n, k] = 1 / (h_n - h_k)``: the divided differences giving the g's from the sampled a's,
  g_n = (...((a_n - a_0) / (h_n - h_0) - g_1) / (h_n - h_1) - ... - g_{n-1}) / (h_n - h_{n-1}).
* ``C[k, n - 1]``: the coefficient of h^(k+1) in w_n(h), so that b = C g (upper triangular,
  ones on the diagonal).
* ``D = C^-1``: g = D b.

Everything is computed once in 50-digit decimal arithmetic (the Legendre coefficients are
rational) and rounded to float64, so the tables are correctly rounded, not copied.
"""

from decimal import Decimal, localcontext
from fractions import Fraction
from math import comb

import numpy as np

DIGITS = 50


def _legendre(n):
    """Coefficients (lowest first, exact) of P_n, by Bonnet's recursion."""
    p0, p1 = [Fraction(1)], [Fraction(0), Fraction(1)]
    if n == 0:
        return p0
    for k in range(1, n):
        nxt = [Fraction(0)] * (k + 2)
        for i, c in enumerate(p1):
            nxt[i + 1] += Fraction(2 * k + 1, k + 1) * c
        for i, c in enumerate(p0):
            nxt[i] -= Fraction(k, k + 1) * c
        p0, p1 = p1, nxt
    return p1


def _radau_polynomial():
    """(P_7(x) + P_8(x)) / (1 + x) as exact coefficients, lowest first (degree 7)."""
    p = [a + b for a, b in zip(_legendre(7) + [Fraction(0)], _legendre(8), strict=True)]
    if sum(c * (-1) ** i for i, c in enumerate(p)) != 0:
        raise ArithmeticError("x = -1 must be a root of P_7 + P_8")
    q = [Fraction(0)] * 8  # synthetic division by (x + 1)
    q[7] = p[8]
    for i in range(7, 0, -1):
        q[i - 1] = p[i] - q[i]
    return q


def _eval(coeffs, x):
    value = Decimal(0)
    deriv = Decimal(0)
    for c in reversed(coeffs):
        deriv = deriv * x + value
        value = value * x + c
    return value, deriv


def spacings():
    """h_0 = 0 and the seven Gauss-Radau nodes in (0, 1), as Decimals."""
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        coeffs = [Decimal(c.numerator) / Decimal(c.denominator) for c in _radau_polynomial()]
        guesses = np.polynomial.polynomial.polyroots([float(c) for c in coeffs])
        roots = []
        for g in sorted(guesses.real):
            x = Decimal(repr(float(g)))
            for _ in range(100):
                value, deriv = _eval(coeffs, x)
                step = value / deriv
                x -= step
                if abs(step) < Decimal(10) ** (-DIGITS - 5):
                    break
            roots.append((x + 1) / 2)
        return [Decimal(0)] + roots


def _newton_to_monomial(h):
    """C[n-1][k] = coefficient of h^(k+1) in w_n(h) = h (h - h_1) ... (h - h_{n-1})."""
    rows = []
    poly = [Decimal(0), Decimal(1)]  # w_1 = h
    for n in range(1, 8):
        rows.append(poly[1:] + [Decimal(0)] * (8 - len(poly)))
        nxt = [Decimal(0)] * (len(poly) + 1)  # multiply by (h - h_n)
        for i, c in enumerate(poly):
            nxt[i + 1] += c
            nxt[i] -= h[n] * c
        poly = nxt
    return rows


def _invert_lower(c):
    """Inverse of a unit lower-triangular matrix (forward substitution, exact to the context)."""
    n = len(c)
    inv = [[Decimal(0)] * n for _ in range(n)]
    for j in range(n):
        inv[j][j] = Decimal(1)
        for i in range(j + 1, n):
            inv[i][j] = -sum(c[i][k] * inv[k][j] for k in range(j, i)) / c[i][i]
    return inv


def tableau():
    """(H, RR, C, D) as float64 arrays: b = C @ g, g = D @ b (see the module docstring)."""
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        h = spacings()
        rr = [[Decimal(0) if n == k else 1 / (h[n] - h[k]) for k in range(8)] for n in range(8)]
        w = _newton_to_monomial(h)  # w[n - 1][k]: h^(k+1) in w_n, lower triangular
        d = _invert_lower(w)
        return (
            np.array([float(x) for x in h]),
            np.array([[float(x) for x in row] for row in rr]),
            np.array([[float(w[n][k]) for n in range(7)] for k in range(7)]),
            np.array([[float(d[n][k]) for n in range(7)] for k in range(7)]),
        )


def shift_matrix():
    """S[k, m] = binom(m + 1, k + 1): with q = dt_new / dt, the polynomial of the step just
    taken, continued over the next step, has b'_k = q^(k+1) sum_m S[k, m] b_m (the expansion of
    a(1 + q s) - a(1) in powers of s)."""
    return np.array([[comb(m + 1, k + 1) if m >= k else 0 for m in range(7)] for k in range(7)])


H, RR, C, D = tableau()
SHIFT = shift_matrix().astype(float)
