"""Stiff test problems of :mod:`stepsize.ode.problems` (registered there in ``STIFF_PROBLEMS``).

Sources: F. Mazzia, C. Magherini, *Test Set for IVP Solvers*, University of Bari
(http://www.dm.uniba.it/~testset/, files ``rober.f``, ``hires.f``, ``vdpolm.f``, ``orego.f``,
``e5.f``, ``pollu.f``: right-hand sides, Jacobians and the reference values at ``t_end``
computed with RADAU5 at ``rtol = atol = 1.1e-18`` in true double precision; also in the R
package deTestSet); E. Hairer, G. Wanner, *Solving ODEs II*, Sec. IV.1 (ROBER, HIRES, VDPOL,
OREGO, E5 and the Brusselator with diffusion).  ``atol_ratio`` is the ``atol / rtol`` a problem
needs; the mixed error ``max_i |y_i - y_ref_i| / (atol_ratio + |y_ref_i|)`` is the Test Set's
*mescd* measure (``-log10`` of it: significant correct digits).

Every ``fun``/``jac`` compiles with ``numba.njit`` (float64 array in, new array out).
"""

import numpy as np

from stepsize.ode._bruss_reference import BRUSS1D_REF
from stepsize.ode._problem import Problem

# ---------------------------------------------------------------------------------------------
# ROBER


def _rober_fun(t, y):
    out = np.empty(3)
    out[0] = -0.04 * y[0] + 1e4 * y[1] * y[2]
    out[1] = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1]
    out[2] = 3e7 * y[1] * y[1]
    return out


def _rober_jac(t, y):
    J = np.zeros((3, 3))
    J[0, 0] = -0.04
    J[0, 1] = 1e4 * y[2]
    J[0, 2] = 1e4 * y[1]
    J[1, 0] = 0.04
    J[1, 1] = -1e4 * y[2] - 6e7 * y[1]
    J[1, 2] = -1e4 * y[1]
    J[2, 1] = 6e7 * y[1]
    return J


def rober() -> Problem:
    """Robertson's chemical kinetics (problem ROBER), ``t`` in ``[0, 1e11]``.

    ``y1' = -0.04 y1 + 1e4 y2 y3``, ``y2' = 0.04 y1 - 1e4 y2 y3 - 3e7 y2^2``, ``y3' = 3e7 y2^2``,
    ``y0 = (1, 0, 0)``.  ``y2`` falls to 8e-14, so ``atol`` must be far below ``rtol``
    (``atol_ratio`` 1e-4 as in SciMLBenchmarks).  Reference: Bari ``rober.f``.
    """
    return Problem(
        name="rober",
        fun=_rober_fun,
        t_span=(0.0, 1e11),
        y0=np.array([1.0, 0.0, 0.0]),
        y_ref=np.array([0.2083340149701255e-07, 0.8333360770334713e-13, 0.9999999791665050]),
        jac=_rober_jac,
        atol_ratio=1e-4,
        stiff=True,
        source="Robertson 1966; Test Set for IVP Solvers (Bari), rober.f: RADAU at 1.1e-18",
    )


# ---------------------------------------------------------------------------------------------
# HIRES


def _hires_fun(t, y):
    out = np.empty(8)
    r = 280.0 * y[5] * y[7]
    out[0] = -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007
    out[1] = 1.71 * y[0] - 8.75 * y[1]
    out[2] = -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4]
    out[3] = 8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3]
    out[4] = -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6]
    out[5] = -r + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6]
    out[6] = r - 1.81 * y[6]
    out[7] = -r + 1.81 * y[6]
    return out


def _hires_jac(t, y):
    J = np.zeros((8, 8))
    J[0, 0], J[0, 1], J[0, 2] = -1.71, 0.43, 8.32
    J[1, 0], J[1, 1] = 1.71, -8.75
    J[2, 2], J[2, 3], J[2, 4] = -10.03, 0.43, 0.035
    J[3, 1], J[3, 2], J[3, 3] = 8.32, 1.71, -1.12
    J[4, 4], J[4, 5], J[4, 6] = -1.745, 0.43, 0.43
    J[5, 3], J[5, 4], J[5, 6] = 0.69, 1.71, 0.69
    J[5, 5], J[5, 7] = -280.0 * y[7] - 0.43, -280.0 * y[5]
    J[6, 5], J[6, 6], J[6, 7] = 280.0 * y[7], -1.81, 280.0 * y[5]
    J[7, 5], J[7, 6], J[7, 7] = -280.0 * y[7], 1.81, -280.0 * y[5]
    return J


def hires() -> Problem:
    """High Irradiance RESponse of plant photomorphogenesis (problem HIRES), 8 equations.

    ``t`` in ``[0, 321.8122]``, ``y0 = (1, 0, 0, 0, 0, 0, 0, 0.0057)``; Schäfer 1975, Hairer &
    Wanner II, Sec. IV.10.  Reference: Bari ``hires.f`` (RADAU5 at 1.1e-18, Cray C90).
    """
    return Problem(
        name="hires",
        fun=_hires_fun,
        t_span=(0.0, 321.8122),
        y0=np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0057]),
        y_ref=np.array(
            [
                0.7371312573325668e-3,
                0.1442485726316185e-3,
                0.5888729740967575e-4,
                0.1175651343283149e-2,
                0.2386356198831331e-2,
                0.6238968252742796e-2,
                0.2849998395185769e-2,
                0.2850001604814231e-2,
            ]
        ),
        jac=_hires_jac,
        atol_ratio=1e-4,
        stiff=True,
        source="Schaefer 1975; Test Set for IVP Solvers (Bari), hires.f: RADAU5 at 1.1e-18",
    )


# ---------------------------------------------------------------------------------------------
# Van der Pol, mu = 1000


def _vdpol_fun(t, y, mu):
    out = np.empty(2)
    out[0] = y[1]
    out[1] = mu * (1.0 - y[0] * y[0]) * y[1] - y[0]
    return out


def _vdpol_jac(t, y, mu):
    J = np.zeros((2, 2))
    J[0, 1] = 1.0
    J[1, 0] = -2.0 * mu * y[0] * y[1] - 1.0
    J[1, 1] = mu * (1.0 - y[0] * y[0])
    return J


def vdpol() -> Problem:
    """Van der Pol's oscillator with ``mu = 1000`` (problem VDPOLM), ``t`` in ``[0, 2000]``.

    ``y1' = y2``, ``y2' = mu (1 - y1^2) y2 - y1``, ``y0 = (2, 0)``: slow stiff arcs (``|J| ~
    mu``) joined by fast jumps, where explicit steps are cheap again -- the test of switching
    back and forth.  Reference: Bari ``vdpolm.f`` (RADAU at 1.1e-18).
    """
    return Problem(
        name="vdpol",
        fun=_vdpol_fun,
        t_span=(0.0, 2000.0),
        y0=np.array([2.0, 0.0]),
        y_ref=np.array([0.1706167732170469e1, -0.8928097010248125e-3]),
        args=(1000.0,),
        jac=_vdpol_jac,
        stiff=True,
        source="Test Set for IVP Solvers (Bari), vdpolm.f (mu = 1e3): RADAU at 1.1e-18",
    )


# ---------------------------------------------------------------------------------------------
# OREGO


def _orego_fun(t, y):
    out = np.empty(3)
    out[0] = 77.27 * (y[1] + y[0] * (1.0 - 8.375e-6 * y[0] - y[1]))
    out[1] = (y[2] - (1.0 + y[0]) * y[1]) / 77.27
    out[2] = 0.161 * (y[0] - y[2])
    return out


def _orego_jac(t, y):
    J = np.zeros((3, 3))
    J[0, 0] = 77.27 * (1.0 - 2.0 * 8.375e-6 * y[0] - y[1])
    J[0, 1] = 77.27 * (1.0 - y[0])
    J[1, 0] = -y[1] / 77.27
    J[1, 1] = -(1.0 + y[0]) / 77.27
    J[1, 2] = 1.0 / 77.27
    J[2, 0] = 0.161
    J[2, 2] = -0.161
    return J


def orego() -> Problem:
    """The Oregonator, Field & Noyes' model of the Belousov–Zhabotinskii reaction (OREGO).

    ``t`` in ``[0, 360]``, ``y0 = (1, 2, 3)``; the solution swings over six orders of magnitude.
    Reference: Bari ``orego.f`` (RADAU at 1.1e-18).
    """
    return Problem(
        name="orego",
        fun=_orego_fun,
        t_span=(0.0, 360.0),
        y0=np.array([1.0, 2.0, 3.0]),
        y_ref=np.array([0.1000814870318523e1, 0.1228178521549917e4, 0.1320554942846706e3]),
        jac=_orego_jac,
        stiff=True,
        source="Field & Noyes 1974; Test Set for IVP Solvers (Bari), orego.f: RADAU at 1.1e-18",
    )


# ---------------------------------------------------------------------------------------------
# E5

_E5_ARGS = (7.89e-10, 1.1e7, 1.13e3, 1e6)


def _e5_fun(t, y, a, b, c, m):
    out = np.empty(4)
    p1 = a * y[0]
    p2 = b * y[0] * y[2]
    p3 = m * c * y[1] * y[2]
    p4 = c * y[3]
    out[0] = -p1 - p2
    out[1] = p1 - p3
    out[3] = p2 - p4
    out[2] = out[1] - out[3]
    return out


def _e5_jac(t, y, a, b, c, m):
    J = np.zeros((4, 4))
    J[0, 0], J[0, 2] = -a - b * y[2], -b * y[0]
    J[1, 0], J[1, 1], J[1, 2] = a, -m * c * y[2], -m * c * y[1]
    J[2, 0], J[2, 1], J[2, 2], J[2, 3] = a - b * y[2], -m * c * y[2], -b * y[0] - m * c * y[1], c
    J[3, 0], J[3, 2], J[3, 3] = b * y[2], b * y[0], -c
    return J


def e5() -> Problem:
    """Chemical pyrolysis (problem E5 of Enright, Hull & Lindberg's stiff DETEST), ``t`` to 1e13.

    ``A = 7.89e-10``, ``B = 1.1e7``, ``C = 1.13e3``, ``M = 1e6`` (``args``), ``y0 =
    (1.76e-3, 0, 0, 0)``.  The values fall to 1e-22 and 1e-291: only a tiny ``atol`` gives
    them meaning (``atol_ratio`` 1e-20; the Test Set runs with ``atol = 1.7e-24``).  Reference:
    Bari ``e5.f`` (RADAU with ``atol = 1.1e-40``).
    """
    return Problem(
        name="e5",
        fun=_e5_fun,
        t_span=(0.0, 1e13),
        y0=np.array([1.76e-3, 0.0, 0.0, 0.0]),
        y_ref=np.array(
            [0.1152903278711829e-290, 0.8867655517642120e-22, 0.8854814626268838e-22, 0.0]
        ),
        args=_E5_ARGS,
        jac=_e5_jac,
        atol_ratio=1e-20,
        stiff=True,
        source="Enright, Hull & Lindberg 1975 (E5); Test Set for IVP Solvers (Bari), e5.f",
    )


# ---------------------------------------------------------------------------------------------
# POLLU

_POLLU_K = (
    0.35,
    0.266e2,
    0.123e5,
    0.86e-3,
    0.82e-3,
    0.15e5,
    0.13e-3,
    0.24e5,
    0.165e5,
    0.9e4,
    0.22e-1,
    0.12e5,
    0.188e1,
    0.163e5,
    0.48e7,
    0.35e-3,
    0.175e-1,
    0.1e9,
    0.444e12,
    0.124e4,
    0.21e1,
    0.578e1,
    0.474e-1,
    0.178e4,
    0.312e1,
)
_POLLU_REF = (
    0.5646255480022769e-01, 0.1342484130422339e00, 0.4139734331099427e-08, 0.5523140207484359e-02,
    0.2018977262302196e-06, 0.1464541863493966e-06, 0.7784249118997964e-01, 0.3245075353396018e00,
    0.7494013383880406e-02, 0.1622293157301561e-07, 0.1135863833257075e-07, 0.2230505975721359e-02,
    0.2087162882798630e-03, 0.1396921016840158e-04, 0.8964884856898295e-02, 0.4352846369330103e-17,
    0.6899219696263405e-02, 0.1007803037365946e-03, 0.1772146513969984e-05, 0.5682943292316392e-04,
)  # fmt: skip


def _pollu_fun(t, y, k):
    r = np.empty(25)
    r[0] = k[0] * y[0]
    r[1] = k[1] * y[1] * y[3]
    r[2] = k[2] * y[4] * y[1]
    r[3] = k[3] * y[6]
    r[4] = k[4] * y[6]
    r[5] = k[5] * y[6] * y[5]
    r[6] = k[6] * y[8]
    r[7] = k[7] * y[8] * y[5]
    r[8] = k[8] * y[10] * y[1]
    r[9] = k[9] * y[10] * y[0]
    r[10] = k[10] * y[12]
    r[11] = k[11] * y[9] * y[1]
    r[12] = k[12] * y[13]
    r[13] = k[13] * y[0] * y[5]
    r[14] = k[14] * y[2]
    r[15] = k[15] * y[3]
    r[16] = k[16] * y[3]
    r[17] = k[17] * y[15]
    r[18] = k[18] * y[15]
    r[19] = k[19] * y[16] * y[5]
    r[20] = k[20] * y[18]
    r[21] = k[21] * y[18]
    r[22] = k[22] * y[0] * y[3]
    r[23] = k[23] * y[18] * y[0]
    r[24] = k[24] * y[19]
    f = np.empty(20)
    f[0] = -r[0] - r[9] - r[13] - r[22] - r[23] + r[1] + r[2] + r[8] + r[10] + r[11] + r[21] + r[24]
    f[1] = -r[1] - r[2] - r[8] - r[11] + r[0] + r[20]
    f[2] = -r[14] + r[0] + r[16] + r[18] + r[21]
    f[3] = -r[1] - r[15] - r[16] - r[22] + r[14]
    f[4] = -r[2] + r[3] + r[3] + r[5] + r[6] + r[12] + r[19]
    f[5] = -r[5] - r[7] - r[13] - r[19] + r[2] + r[17] + r[17]
    f[6] = -r[3] - r[4] - r[5] + r[12]
    f[7] = r[3] + r[4] + r[5] + r[6]
    f[8] = -r[6] - r[7]
    f[9] = -r[11] + r[6] + r[8]
    f[10] = -r[8] - r[9] + r[7] + r[10]
    f[11] = r[8]
    f[12] = -r[10] + r[9]
    f[13] = -r[12] + r[11]
    f[14] = r[13]
    f[15] = -r[17] - r[18] + r[15]
    f[16] = -r[19]
    f[17] = r[19]
    f[18] = -r[20] - r[21] - r[23] + r[22] + r[24]
    f[19] = -r[24] + r[23]
    return f


def pollu() -> Problem:
    """Air pollution model of the Dutch RIVM (problem POLLU): 20 species, 25 reactions.

    ``t`` in ``[0, 60]`` (minutes), rate constants from 1e-4 to 4.4e11 (``args``); ``y0`` zero
    but ``y2 = 0.2, y4 = 0.04, y7 = 0.1, y8 = 0.3, y9 = 0.01, y17 = 0.007``.  Verwer, SIAM J.
    Sci. Comput. 15 (1994).  Reference: Bari ``pollu.f`` (RADAU5 at 1.1e-18, Cray C90).
    """
    y0 = np.zeros(20)
    y0[[1, 3, 6, 7, 8, 16]] = [0.2, 0.04, 0.1, 0.3, 0.01, 0.007]
    return Problem(
        name="pollu",
        fun=_pollu_fun,
        t_span=(0.0, 60.0),
        y0=y0,
        y_ref=np.array(_POLLU_REF),
        args=(_POLLU_K,),
        atol_ratio=1e-4,
        stiff=True,
        source="Verwer 1994; Test Set for IVP Solvers (Bari), pollu.f: RADAU5 at 1.1e-18",
    )


# ---------------------------------------------------------------------------------------------
# Semi-discretised PDEs (banded Jacobians)


def _heat_fun(t, y, c):
    n = y.size
    out = np.empty(n)
    for i in range(n):
        left = y[i - 1] if i > 0 else 0.0
        right = y[i + 1] if i < n - 1 else 0.0
        out[i] = c * (left - 2.0 * y[i] + right)
    return out


def _heat_jac(t, y, c):
    n = y.size
    J = np.zeros((3, n))  # packed band, kl = ku = 1: J[1 + i - j, j]
    for j in range(n):
        J[0, j] = c if j > 0 else 0.0
        J[1, j] = -2.0 * c
        J[2, j] = c if j < n - 1 else 0.0
    return J


def heat(n: int = 200, t_end: float = 0.1) -> Problem:
    """Heat equation ``u_t = u_xx`` on (0, 1), ``u = 0`` at both ends, ``n`` interior points.

    Second differences on ``x_i = i/(n + 1)`` give ``y' = (n + 1)^2 (y_{i-1} - 2 y_i + y_{i+1})``,
    tridiagonal (``jac_band = (1, 1)``), eigenvalues ``-mu_k = -4 (n + 1)^2 sin^2(k pi / (2 (n +
    1)))`` down to about ``-4 (n + 1)^2`` (1.6e5 for n = 200) with eigenvectors ``sin(k pi x_i)``.
    From ``u(x, 0) = sin(pi x) + 0.5 sin(n pi x)`` the exact solution of the ODE system is
    ``sin(pi x_i) e^(-mu_1 t) + 0.5 sin(n pi x_i) e^(-mu_n t)`` (``exact``): the stiff mode
    decays at once, the smooth one slowly.
    """
    if int(n) != n or n < 3:
        raise ValueError(f"n must be an integer >= 3, got {n!r}")
    n = int(n)
    x = np.arange(1, n + 1) / (n + 1)
    c = float((n + 1) ** 2)
    mu = 4.0 * c * np.sin(np.array([1, n]) * np.pi / (2 * (n + 1))) ** 2
    modes = np.stack([np.sin(np.pi * x), 0.5 * np.sin(n * np.pi * x)])

    def exact(t):
        t = np.asarray(t, dtype=float)
        return np.tensordot(modes.T, np.exp(-np.multiply.outer(mu, t)), axes=1)

    return Problem(
        name="heat",
        fun=_heat_fun,
        t_span=(0.0, float(t_end)),
        y0=exact(0.0),
        y_ref=exact(float(t_end)),
        args=(c,),
        exact=exact,
        jac=_heat_jac,
        jac_band=(1, 1),
        stiff=True,
        source="u_t = u_xx, second differences; exact solution of the semi-discrete system",
    )


def _bruss1d_fun(t, y, c):
    n = y.size // 2
    out = np.empty(2 * n)
    for i in range(n):
        u = y[2 * i]
        v = y[2 * i + 1]
        ul = y[2 * i - 2] if i > 0 else 1.0
        vl = y[2 * i - 1] if i > 0 else 3.0
        ur = y[2 * i + 2] if i < n - 1 else 1.0
        vr = y[2 * i + 3] if i < n - 1 else 3.0
        uuv = u * u * v
        out[2 * i] = 1.0 + uuv - 4.0 * u + c * (ul - 2.0 * u + ur)
        out[2 * i + 1] = 3.0 * u - uuv + c * (vl - 2.0 * v + vr)
    return out


def bruss1d() -> Problem:
    """Brusselator with diffusion in 1-D (Hairer & Wanner II, Sec. IV.1, eq. (1.6)), 400 equations.

    ``u_t = 1 + u^2 v - 4 u + alpha u_xx``, ``v_t = 3 u - u^2 v + alpha v_xx``, ``alpha = 1/50``,
    ``u = 1``, ``v = 3`` at ``x = 0, 1``; ``u(x, 0) = 1 + sin(2 pi x)``, ``v(x, 0) = 3``; 200
    interior points ``x_i = i/201``, unknowns interleaved ``(u_1, v_1, u_2, v_2, ...)`` so the
    Jacobian is banded, ``jac_band = (2, 2)``; ``t`` in ``[0, 10]``.  Reference: SciPy's Radau
    (``rtol = atol = 1e-12``, exact sparse Jacobian), see ``_bruss_reference``.
    """
    n = 200
    x = np.arange(1, n + 1) / (n + 1)
    y0 = np.empty(2 * n)
    y0[0::2] = 1.0 + np.sin(2.0 * np.pi * x)
    y0[1::2] = 3.0
    return Problem(
        name="bruss1d",
        fun=_bruss1d_fun,
        t_span=(0.0, 10.0),
        y0=y0,
        y_ref=np.array(BRUSS1D_REF),
        args=((n + 1) ** 2 / 50.0,),
        jac_band=(2, 2),
        stiff=True,
        source="Hairer & Wanner II, eq. (IV.1.6), N = 200; reference: SciPy Radau at 1e-12",
    )
