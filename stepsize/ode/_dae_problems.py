"""Index-1 differential-algebraic problems ``M y' = f(t, y)`` of :mod:`stepsize.ode.problems`
(registered there in ``DAE_PROBLEMS``); ``solve(..., mass=problem.mass)``.

Sources: F. Mazzia, C. Magherini, *Test Set for IVP Solvers*, University of Bari, file
``chemakzo.f`` (right-hand side, consistent initial values, and the reference solution at
``t = 180`` computed with PSIDE at ``rtol = atol = 1e-19`` on a Cray C90), file ``transamp.f``
(the transistor amplifier; its reference at ``t = 0.2`` from PSIDE at ``rtol = atol = 1e-14``);
Hairer & Wanner,
*Solving ODEs II*, Sec. VI.1 (Robertson's problem as a DAE).
"""

import numpy as np

from stepsize.ode._problem import Problem
from stepsize.ode._stiff_problems import rober

# ---------------------------------------------------------------------------------------------
# Robertson as a DAE


def _rober_dae_fun(t, y):
    out = np.empty(3)
    out[0] = -0.04 * y[0] + 1e4 * y[1] * y[2]
    out[1] = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1]
    out[2] = y[0] + y[1] + y[2] - 1.0
    return out


def _rober_dae_jac(t, y):
    J = np.zeros((3, 3))
    J[0, 0] = -0.04
    J[0, 1] = 1e4 * y[2]
    J[0, 2] = 1e4 * y[1]
    J[1, 0] = 0.04
    J[1, 1] = -1e4 * y[2] - 6e7 * y[1]
    J[1, 2] = -1e4 * y[1]
    J[2, 0] = J[2, 1] = J[2, 2] = 1.0
    return J


def rober_dae() -> Problem:
    """ROBER with ``y3`` from the conservation law ``y1 + y2 + y3 = 1`` (``M = diag(1, 1, 0)``),
    ``t`` in ``[0, 1e11]``: the same solution as the ODE, so the Bari ``rober.f`` reference.

    ``jac`` matters here: forward differences of the conservation law at ``y2 = 0`` with an
    increment scaled by ``atol`` (1e-10 h) lose it to cancellation against ``y1 = 1``."""
    ode = rober()
    return Problem(
        name="rober_dae",
        fun=_rober_dae_fun,
        t_span=ode.t_span,
        y0=ode.y0,
        y_ref=ode.y_ref,
        jac=_rober_dae_jac,
        atol_ratio=ode.atol_ratio,
        stiff=True,
        mass=np.diag([1.0, 1.0, 0.0]),
        source="Robertson 1966 as an index-1 DAE (Hairer & Wanner II, VI.1); Bari rober.f",
    )


# ---------------------------------------------------------------------------------------------
# CHEMAKZO: the chemical Akzo Nobel problem

_AKZO = (18.7, 0.58, 0.09, 0.42, 34.4, 3.3, 115.83, 0.9, 737.0)
"""``k1, k2, k3, k4, K, klA, Ks, pCO2, H`` of ``chemakzo.f``."""


def _chemakzo_fun(t, y, k1, k2, k3, k4, kbig, kla, ks, pco2, hh):
    out = np.empty(6)
    r1 = k1 * y[0] ** 4 * np.sqrt(y[1])
    r2 = k2 * y[2] * y[3]
    r3 = k2 / kbig * y[0] * y[4]
    r4 = k3 * y[0] * y[3] ** 2
    r5 = k4 * y[5] ** 2 * np.sqrt(y[1])
    fin = kla * (pco2 / hh - y[1])
    out[0] = -2.0 * r1 + r2 - r3 - r4
    out[1] = -0.5 * r1 - r4 - 0.5 * r5 + fin
    out[2] = r1 - r2 + r3
    out[3] = -r2 + r3 - 2.0 * r4
    out[4] = r2 - r3 + r5
    out[5] = ks * y[0] * y[3] - y[5]
    return out


def chemakzo_jac(t, y, k1, k2, k3, k4, kbig, kla, ks, pco2, hh):
    """The exact Jacobian ``df/dy`` of CHEMAKZO (Bari ``chemakzo.f``'s ``jeval``), for runs
    paired with solvers that differentiate exactly; ``chemakzo()`` itself leaves ``jac`` to
    finite differences.  ``y2 > 0`` (``d sqrt(y2) / dy2``)."""
    J = np.zeros((6, 6))
    s2 = np.sqrt(y[1])
    r11 = 4.0 * k1 * y[0] ** 3 * s2  # dr1/dy1
    r12 = 0.5 * k1 * y[0] ** 4 / s2  # dr1/dy2
    r23, r24 = k2 * y[3], k2 * y[2]  # dr2/dy3, dr2/dy4
    r31, r35 = k2 / kbig * y[4], k2 / kbig * y[0]  # dr3/dy1, dr3/dy5
    r41, r44 = k3 * y[3] ** 2, 2.0 * k3 * y[0] * y[3]  # dr4/dy1, dr4/dy4
    r52, r56 = 0.5 * k4 * y[5] ** 2 / s2, 2.0 * k4 * y[5] * s2  # dr5/dy2, dr5/dy6
    J[0, 0] = -2.0 * r11 - r31 - r41
    J[0, 1] = -2.0 * r12
    J[0, 2] = r23
    J[0, 3] = r24 - r44
    J[0, 4] = -r35
    J[1, 0] = -0.5 * r11 - r41
    J[1, 1] = -0.5 * r12 - 0.5 * r52 - kla
    J[1, 3] = -r44
    J[1, 5] = -0.5 * r56
    J[2, 0] = r11 + r31
    J[2, 1] = r12
    J[2, 2] = -r23
    J[2, 3] = -r24
    J[2, 4] = r35
    J[3, 0] = r31 - 2.0 * r41
    J[3, 2] = -r23
    J[3, 3] = -r24 - 2.0 * r44
    J[3, 4] = r35
    J[4, 0] = -r31
    J[4, 1] = r52
    J[4, 2] = r23
    J[4, 3] = r24
    J[4, 4] = -r35
    J[4, 5] = r56
    J[5, 0] = ks * y[3]
    J[5, 3] = ks * y[0]
    J[5, 5] = -1.0
    return J


def chemakzo() -> Problem:
    """The chemical Akzo Nobel problem (CHEMAKZO): 5 differential equations and one algebraic,
    ``M = diag(1, 1, 1, 1, 1, 0)``, ``t`` in ``[0, 180]``; ``y6 = Ks y1 y4`` at the start.  A
    negative ``y2`` makes ``sqrt(y2)`` nan, which the solvers reject.  Reference: Bari
    ``chemakzo.f`` (PSIDE at 1e-19)."""
    ks = _AKZO[6]
    return Problem(
        name="chemakzo",
        fun=_chemakzo_fun,
        t_span=(0.0, 180.0),
        y0=np.array([0.444, 0.00123, 0.0, 0.007, 0.0, ks * 0.444 * 0.007]),
        y_ref=np.array(
            [
                0.1150794920661702,
                0.1203831471567715e-2,
                0.1611562887407974,
                0.3656156421249283e-3,
                0.1708010885264404e-1,
                0.4873531310307455e-2,
            ]
        ),
        args=_AKZO,
        atol_ratio=1.0,
        stiff=True,
        mass=np.diag([1.0, 1.0, 1.0, 1.0, 1.0, 0.0]),
        source="Test Set for IVP Solvers (Bari), chemakzo.f: PSIDE at 1e-19",
    )


# ---------------------------------------------------------------------------------------------
# TRANSAMP: the transistor amplifier

_TRANSAMP = (6.0, 0.026, 0.99, 1e-6, 1000.0, 9000.0)
"""``Ub, UF, alpha, beta, R0, R`` of ``transamp.f`` (``R1 = ... = R9 = R``)."""


def _transamp_fun(t, y, ub, uf, alpha, beta, r0, r):
    out = np.empty(8)
    g23 = beta * (np.exp((y[1] - y[2]) / uf) - 1.0)
    g56 = beta * (np.exp((y[4] - y[5]) / uf) - 1.0)
    out[0] = (y[0] - 0.1 * np.sin(200.0 * np.pi * t)) / r0
    out[1] = y[1] / r + (y[1] - ub) / r + (1.0 - alpha) * g23
    out[2] = y[2] / r - g23
    out[3] = (y[3] - ub) / r + alpha * g23
    out[4] = y[4] / r + (y[4] - ub) / r + (1.0 - alpha) * g56
    out[5] = y[5] / r - g56
    out[6] = (y[6] - ub) / r + alpha * g56
    out[7] = y[7] / r
    return out


def _transamp_jac(t, y, ub, uf, alpha, beta, r0, r):
    J = np.zeros((8, 8))
    d23 = beta * np.exp((y[1] - y[2]) / uf) / uf
    d56 = beta * np.exp((y[4] - y[5]) / uf) / uf
    J[0, 0] = 1.0 / r0
    for k, d in ((1, d23), (4, d56)):  # the two transistors: nodes k, k + 1, k + 2
        J[k, k] = 2.0 / r + (1.0 - alpha) * d
        J[k, k + 1] = -(1.0 - alpha) * d
        J[k + 1, k] = -d
        J[k + 1, k + 1] = 1.0 / r + d
        J[k + 2, k] = alpha * d
        J[k + 2, k + 1] = -alpha * d
        J[k + 2, k + 2] = 1.0 / r
    J[7, 7] = 1.0 / r
    return J


def _transamp_mass():
    """The capacitances ``C_k = k 1e-6`` between the nodes (1, 2), 3, (4, 5), 6, (7, 8)."""
    m = np.zeros((8, 8))
    for (i, j), c in zip(((0, 1), (2, 2), (3, 4), (5, 5), (6, 7)), (1e-6, 2e-6, 3e-6, 4e-6, 5e-6)):
        m[i, i] = m[j, j] = -c
        if i != j:
            m[i, j] = m[j, i] = c
    return m


def transamp() -> Problem:
    """The transistor amplifier (TRANSAMP; Hairer & Wanner's AMP1 with two transistors): 8 node
    voltages, ``M y' = f(t, y)`` with the capacitances in a constant, symmetric ``M`` of rank 5
    that is not diagonal -- no component is algebraic by itself: the algebraic equations are the
    sums of the rows (1, 2), (4, 5), (7, 8), the algebraic directions ``e1 + e2``, ``e4 + e5``,
    ``e7 + e8``.  Input ``Ue(t) = 0.1 sin(200 pi t)``, transistor current
    ``g(U) = 1e-6 (exp(U / 0.026) - 1)``, ``t`` in ``[0, 0.2]`` (20 periods), ``y0`` the
    consistent values of ``transamp.f``.  Reference: Bari ``transamp.f`` (PSIDE at
    ``rtol = atol = 1e-14`` on a Cray C90)."""
    ub, r = _TRANSAMP[0], _TRANSAMP[5]
    half = ub / (r / r + 1.0)
    return Problem(
        name="transamp",
        fun=_transamp_fun,
        t_span=(0.0, 0.2),
        y0=np.array([0.0, half, half, ub, half, half, ub, 0.0]),
        y_ref=np.array(
            [
                -0.5562145012262709e-2,
                0.3006522471903042e1,
                0.2849958788608128e1,
                0.2926422536206241e1,
                0.2704617865010554e1,
                0.2761837778393145e1,
                0.4770927631616772e1,
                0.1236995868091548e1,
            ]
        ),
        args=_TRANSAMP,
        jac=_transamp_jac,
        atol_ratio=1.0,
        stiff=True,
        mass=_transamp_mass(),
        source="Test Set for IVP Solvers (Bari), transamp.f: PSIDE at 1e-14",
    )
