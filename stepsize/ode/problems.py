"""Named initial value problems with sources and reference solutions, non-stiff and stiff.

Each factory returns a :class:`Problem`: the right-hand side ``fun(t, y, *args)``, the time span,
the initial value, a reference solution ``y_ref`` at ``t_span[1]`` and, where one exists, the
exact solution. Every ``fun`` is a plain Python function that also compiles with
``numba.njit(fun)`` in nopython mode (float64 array in, new float64 array out, parameters passed
through ``args``), so a compiled integrator can run the whole integration without calling back
into Python.

=============  ====  ============  ==================================================  ==========
name           n     t_span        reference                                           accuracy
=============  ====  ============  ==================================================  ==========
arenstorf      4     [0, T]        y0 (periodic orbit, T one period)                   ~1e-24
lorenz         3     [0, 16]       own Taylor series in mpmath (see below)             < 1e-25
pleiades       28    [0, 3]        Bari test set PLEI (PSIDE, rtol = atol = 1e-16)     ~2e-15
brusselator    2     [0, 20]       own Taylor series in mpmath (see below)             < 1e-25
kepler         4     [0, 2 pi k]   exact (Kepler's equation, Newton)                   ~1e-15
=============  ====  ============  ==================================================  ==========

Stiff problems (``STIFF_PROBLEMS``, ``stiff=True``, defined in ``_stiff_problems``):

=============  ====  ============  ==================================================
name           n     t_span        reference
=============  ====  ============  ==================================================
rober          3     [0, 1e11]     Bari test set ROBER (RADAU, 1.1e-18)
hires          8     [0, 321.8122] Bari test set HIRES (RADAU5, 1.1e-18)
vdpol          2     [0, 2000]     Bari test set VDPOLM, mu = 1e3 (RADAU, 1.1e-18)
orego          3     [0, 360]      Bari test set OREGO (RADAU, 1.1e-18)
e5             4     [0, 1e13]     Bari test set E5 (RADAU, atol 1.1e-40)
pollu          20    [0, 60]       Bari test set POLLU (RADAU5, 1.1e-18)
heat           200   [0, 0.1]      exact solution of the semi-discrete system (banded)
bruss1d        400   [0, 10]       SciPy Radau at 1e-12 (banded, Hairer II eq. IV.1.6)
=============  ====  ============  ==================================================

How the computed references were obtained (``_taylor_reference`` in this module does it again):
a Taylor-series integrator in ``mpmath`` whose coefficients come from the exact recurrences of
automatic differentiation (Cauchy products for products, ``k s_0 q_k = sum_{j<k} (alpha (k - j)
- j) s_{k-j} q_j`` for ``q = s**alpha``), stepping with ``h = min((eps/|c_{N-1}|)**(1/(N-1)),
(eps/|c_N|)**(1/N))`` (``eps = 10**(3 - dps)`` times ``max(1, |y|_inf)``) and the last step cut to
land on ``t_end``. Lorenz and the Brusselator were run at (dps, order) = (30, 25), (40, 30),
(50, 40), (60, 50) and (80, 60): all runs agree in every one of the 30 digits compared, and the
stored digits are those of the (60, 50) run. As an independent check, ``mpmath.odefun`` (mpmath's
own Taylor integrator) at ``mp.dps = 40`` reproduces the same 30 digits for both problems.

References
----------
E. Hairer, S. P. Nørsett, G. Wanner, *Solving Ordinary Differential Equations I: Nonstiff
Problems*, 2nd ed., Springer 1993: Section II.0 and II.10 (problems AREN, LRNZ, PLEI),
Section I.16 (Lorenz, Brusselator). F. Mazzia, C. Magherini, *Test Set for IVP Solvers*,
University of Bari (http://www.dm.uniba.it/~testset/, problem PLEI, file ``plei.f``; also in the
R package deTestSet). E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*, 2nd ed.,
Springer 2006, Section I.2 (Kepler problem).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from stepsize.ode._problem import Problem

__all__ = [
    "PROBLEMS",
    "DAE_PROBLEMS",
    "STIFF_PROBLEMS",
    "Problem",
    "arenstorf",
    "bruss1d",
    "brusselator",
    "e5",
    "get",
    "heat",
    "hires",
    "kepler",
    "lorenz",
    "mixed_error",
    "orego",
    "pleiades",
    "pollu",
    "rober",
    "vdpol",
]


# --------------------------------------------------------------------------------------------
# Arenstorf orbit (restricted three-body problem, earth-moon)
# --------------------------------------------------------------------------------------------

ARENSTORF_MU = 0.012277471
ARENSTORF_PERIOD = 17.0652165601579625588917206249
_ARENSTORF_Y0 = (0.994, 0.0, 0.0, -2.00158510637908252240537862224)


def _arenstorf_fun(t, y, mu):
    mu1 = 1.0 - mu
    x = y[0]
    z = y[1]
    u = y[2]
    v = y[3]
    a = x + mu
    b = x - mu1
    r1 = a * a + z * z
    r2 = b * b + z * z
    w1 = mu1 / (r1 * math.sqrt(r1))
    w2 = mu / (r2 * math.sqrt(r2))
    out = np.empty(4, dtype=np.float64)
    out[0] = u
    out[1] = v
    out[2] = x + 2.0 * v - w1 * a - w2 * b
    out[3] = z - 2.0 * u - (w1 + w2) * z
    return out


def arenstorf() -> Problem:
    """Arenstorf orbit: a periodic orbit of the restricted three-body problem (earth, moon, ship).

    ``x'' = x + 2 y' - mu' (x + mu)/D1 - mu (x - mu')/D2``,
    ``y'' = y - 2 x' - mu' y/D1 - mu y/D2``, ``D1 = ((x + mu)^2 + y^2)^(3/2)``,
    ``D2 = ((x - mu')^2 + y^2)^(3/2)``, ``mu = 0.012277471``, ``mu' = 1 - mu``; state
    ``(x, y, x', y')``, ``y0 = (0.994, 0, 0, -2.00158510637908252240537862224)``, integrated over
    one period ``T = 17.0652165601579625588917206249`` (Hairer, Nørsett & Wanner, Solving ODEs I,
    eq. (II.0.1) and problem AREN of Section II.10). The reference is ``y0`` itself. A Taylor
    series integration in mpmath at 30 digits (``_taylor_reference``) returns to ``y0`` within
    3e-24, so the reference error is far below float64 resolution. The orbit's close approach to
    the moon amplifies a perturbation of the initial value by about 1e6 over one period: SciPy's
    DOP853 at rtol = atol = 1e-12 lands 1.4e-9 from ``y0``.
    """
    return Problem(
        name="arenstorf",
        fun=_arenstorf_fun,
        t_span=(0.0, ARENSTORF_PERIOD),
        y0=np.array(_ARENSTORF_Y0),
        y_ref=np.array(_ARENSTORF_Y0),
        args=(ARENSTORF_MU,),
        source=(
            "Hairer, Norsett & Wanner, Solving ODEs I, eq. (II.0.1), problem AREN (Sec. II.10); "
            "reference: periodic, y(T) = y0 (checked to 3e-24 by a 30-digit Taylor integration)"
        ),
    )


# --------------------------------------------------------------------------------------------
# Lorenz
# --------------------------------------------------------------------------------------------

_LORENZ_ARGS = (10.0, 28.0, 8.0 / 3.0)
_LORENZ_REF = (
    -9.131313027368752927862671515,
    -12.47617881107825333391899424,
    22.84333896098238820550190414,
)


def _lorenz_fun(t, y, sigma, rho, beta):
    out = np.empty(3, dtype=np.float64)
    out[0] = sigma * (y[1] - y[0])
    out[1] = y[0] * (rho - y[2]) - y[1]
    out[2] = y[0] * y[1] - beta * y[2]
    return out


def lorenz() -> Problem:
    """Lorenz system (problem LRNZ of Hairer, Nørsett & Wanner, Solving ODEs I, Sec. II.10).

    ``x' = sigma (y - x)``, ``y' = x (r - z) - y``, ``z' = x y - b z`` with ``sigma = 10``,
    ``r = 28``, ``b = 8/3`` (``args``), ``y0 = (-8, 8, 27)``, ``t`` in ``[0, 16]``.

    Reference: computed for this module with a Taylor-series integrator in mpmath (exact Cauchy
    product recurrences; ``_taylor_reference("lorenz", dps, order)``) at (dps, order) = (30, 25),
    (40, 30), (50, 40), (60, 50), (80, 60): all agree to the 30 digits compared; the stored digits
    come from (60, 50). ``mpmath.odefun`` at ``mp.dps = 40`` gives the same 30 digits. The problem
    is chaotic: a perturbation of the initial value grows by about 4e6 over ``[0, 16]``. SciPy's
    DOP853 converges to the reference as its tolerance shrinks: the error at ``t = 16`` is 5e-4,
    4e-5, 3e-6, 9e-7 at rtol = atol = 1e-11, 1e-12, 1e-13, 3e-14.
    """
    return Problem(
        name="lorenz",
        fun=_lorenz_fun,
        t_span=(0.0, 16.0),
        y0=np.array([-8.0, 8.0, 27.0]),
        y_ref=np.array(_LORENZ_REF),
        args=_LORENZ_ARGS,
        source=(
            "Hairer, Norsett & Wanner, Solving ODEs I, problem LRNZ (Sec. II.10); reference: "
            "own mpmath Taylor-series integration (60 digits, order 50), confirmed by "
            "mpmath.odefun at 40 digits; accurate to > 25 digits"
        ),
    )


# --------------------------------------------------------------------------------------------
# Pleiades
# --------------------------------------------------------------------------------------------

_PLEIADES_Y0 = (
    # x_1..x_7
    3.0, 3.0, -1.0, -3.0, 2.0, -2.0, 2.0,
    # y_1..y_7
    3.0, -3.0, 2.0, 0.0, 0.0, -4.0, 4.0,
    # x'_1..x'_7
    0.0, 0.0, 0.0, 0.0, 0.0, 1.75, -1.5,
    # y'_1..y'_7
    0.0, 0.0, 0.0, -1.25, 1.0, 0.0, 0.0,
)  # fmt: skip

# Test Set for IVP Solvers (Bari), plei.f, subroutine pleiasoln: PSIDE at rtol = atol = 1e-16.
_PLEIADES_REF = (
    0.3706139143970502e0, 0.3237284092057233e1, -0.3222559032418324e1, 0.6597091455775310e0,
    0.3425581707156584e0, 0.1562172101400631e1, -0.7003092922212495e0, -0.3943437585517392e1,
    -0.3271380973972550e1, 0.5225081843456543e1, -0.2590612434977470e1, 0.1198213693392275e1,
    -0.2429682344935824e0, 0.1091449240428980e1, 0.3417003806314313e1, 0.1354584501625501e1,
    -0.2590065597810775e1, 0.2025053734714242e1, -0.1155815100160448e1, -0.8072988170223021e0,
    0.5952396354208710e0, -0.3741244961234010e1, 0.3773459685750630e0, 0.9386858869551073e0,
    0.3667922227200571e0, -0.3474046353808490e0, 0.2344915448180937e1, -0.1947020434263292e1,
)  # fmt: skip


def _pleiades_fun(t, y):
    out = np.empty(28, dtype=np.float64)
    for i in range(14):
        out[i] = y[i + 14]
        out[i + 14] = 0.0
    for i in range(7):
        xi = y[i]
        yi = y[i + 7]
        mi = i + 1.0
        for j in range(i + 1, 7):
            dx = y[j] - xi
            dy = y[j + 7] - yi
            r2 = dx * dx + dy * dy
            w = 1.0 / (r2 * math.sqrt(r2))
            fx = dx * w
            fy = dy * w
            mj = j + 1.0
            out[i + 14] += mj * fx
            out[i + 21] += mj * fy
            out[j + 14] -= mi * fx
            out[j + 21] -= mi * fy
    return out


def pleiades() -> Problem:
    """Pleiades: seven bodies in the plane (problem PLEI; Hairer, Nørsett & Wanner, Sec. II.10).

    ``x_i'' = sum_{j != i} m_j (x_j - x_i)/r_ij^3``, same for ``y``, ``G = 1``, masses
    ``m_j = j``; state ``(x_1..x_7, y_1..y_7, x'_1..x'_7, y'_1..y'_7)`` (28 equations), initial
    values of Hairer I as in the Bari test set, ``t`` in ``[0, 3]``.

    Reference: the published value of the Test Set for IVP Solvers (Bari), ``plei.f``, subroutine
    ``pleiasoln`` (PSIDE, rtol = atol = 1e-16, Cray C90). Checked for this module with a
    Taylor-series integration in mpmath (``_taylor_reference("pleiades", 25, 20)`` and
    ``(35, 28)``, agreeing with each other to 3e-21): the published values agree with it to
    1.9e-15 (absolute) in every component, i.e. to within a few units of their last digit.
    """
    return Problem(
        name="pleiades",
        fun=_pleiades_fun,
        t_span=(0.0, 3.0),
        y0=np.array(_PLEIADES_Y0),
        y_ref=np.array(_PLEIADES_REF),
        source=(
            "Hairer, Norsett & Wanner, Solving ODEs I, problem PLEI (Sec. II.10); reference: "
            "Test Set for IVP Solvers (Mazzia & Magherini, Bari), plei.f, PSIDE at 1e-16; "
            "agrees with an own mpmath Taylor integration to 1.9e-15"
        ),
    )


# --------------------------------------------------------------------------------------------
# Brusselator (two-variable)
# --------------------------------------------------------------------------------------------

_BRUSSELATOR_ARGS = (1.0, 3.0)
_BRUSSELATOR_REF = (0.4986370712683478486498554830, 4.596780349452011183201743953)


def _brusselator_fun(t, y, a, b):
    u = y[0]
    v = y[1]
    uuv = u * u * v
    out = np.empty(2, dtype=np.float64)
    out[0] = a + uuv - (b + 1.0) * u
    out[1] = b * u - uuv
    return out


def brusselator() -> Problem:
    """Brusselator, the two-variable chemical oscillator with a limit cycle.

    ``u' = A + u^2 v - (B + 1) u``, ``v' = B u - u^2 v`` with ``A = 1``, ``B = 3`` (``args``),
    ``y0 = (1.5, 3)``, ``t`` in ``[0, 20]`` (Hairer, Nørsett & Wanner, Solving ODEs I,
    Sec. I.16; Prigogine & Lefever 1968).

    Reference: computed for this module as for :func:`lorenz` (mpmath Taylor series at
    (dps, order) from (30, 25) to (80, 60), identical to 30 digits; digits stored from (60, 50));
    ``mpmath.odefun`` at ``mp.dps = 40`` agrees to 30 digits.
    """
    return Problem(
        name="brusselator",
        fun=_brusselator_fun,
        t_span=(0.0, 20.0),
        y0=np.array([1.5, 3.0]),
        y_ref=np.array(_BRUSSELATOR_REF),
        args=_BRUSSELATOR_ARGS,
        source=(
            "Hairer, Norsett & Wanner, Solving ODEs I, Sec. I.16 (Brusselator, A = 1, B = 3); "
            "reference: own mpmath Taylor-series integration (60 digits, order 50), confirmed "
            "by mpmath.odefun at 40 digits; accurate to > 25 digits"
        ),
    )


# --------------------------------------------------------------------------------------------
# Kepler two-body problem
# --------------------------------------------------------------------------------------------


def _kepler_fun(t, y):
    x = y[0]
    z = y[1]
    r2 = x * x + z * z
    w = 1.0 / (r2 * math.sqrt(r2))
    out = np.empty(4, dtype=np.float64)
    out[0] = y[2]
    out[1] = y[3]
    out[2] = -x * w
    out[3] = -z * w
    return out


def _eccentric_anomaly(m, e):
    """Solve Kepler's equation ``E - e sin E = m`` for ``m`` in ``[-pi, pi]`` (vectorised).

    Newton's method from Danby's start ``m + 0.85 e sign(m)``, safeguarded by the bracket
    ``[-pi, pi]`` (a step that leaves the current bracket is replaced by bisection).
    """
    m = np.asarray(m, dtype=np.float64)
    lo = np.full(m.shape, -math.pi)
    hi = np.full(m.shape, math.pi)
    ecc = np.clip(m + 0.85 * e * np.sign(m), -math.pi, math.pi)
    for _ in range(100):
        f = ecc - e * np.sin(ecc) - m
        lo = np.where(f < 0.0, ecc, lo)
        hi = np.where(f > 0.0, ecc, hi)
        new = ecc - f / (1.0 - e * np.cos(ecc))
        new = np.where((new > lo) & (new < hi), new, 0.5 * (lo + hi))
        done = np.abs(new - ecc) <= 4.0 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(ecc))
        ecc = np.where(f == 0.0, ecc, new)
        if np.all(done | (f == 0.0)):
            break
    return ecc


def _kepler_exact_solution(e):
    b = math.sqrt((1.0 - e) * (1.0 + e))

    def exact(t):
        """Exact solution ``(x, y, x', y')`` of the Kepler problem at time(s) ``t``."""
        t = np.asarray(t, dtype=np.float64)
        # mean motion 1 (a = 1, G(m1 + m2) = 1), pericentre passage at t = 0
        m = np.remainder(t + math.pi, 2.0 * math.pi) - math.pi
        ecc = _eccentric_anomaly(m, e)
        c = np.cos(ecc)
        s = np.sin(ecc)
        den = 1.0 - e * c
        return np.stack([c - e, b * s, -s / den, b * c / den])

    return exact


def kepler(eccentricity: float = 0.5, periods: float = 1.0) -> Problem:
    """Kepler two-body problem in relative coordinates, ``G (m1 + m2) = 1``.

    ``x'' = -x/r^3``, ``y'' = -y/r^3``; state ``(x, y, x', y')``, starting at the pericentre
    ``(1 - e, 0, 0, sqrt((1 + e)/(1 - e)))`` (Hairer, Lubich & Wanner, Geometric Numerical
    Integration, Sec. I.2), so the semi-major axis and the mean motion are 1, the period is
    ``2 pi`` and ``t_end = periods * 2 pi``. The exact solution solves Kepler's equation
    ``E - e sin E = t`` by safeguarded Newton iteration (vectorised over ``t``):
    ``x = cos E - e``, ``y = sqrt(1 - e^2) sin E``, ``x' = -sin E/(1 - e cos E)``,
    ``y' = sqrt(1 - e^2) cos E/(1 - e cos E)``. ``y_ref = exact(t_end)``, accurate to a few
    units of float64 rounding (relative to ``1/(1 - e)`` for the velocities).

    Parameters
    ----------
    eccentricity : float
        Orbital eccentricity, ``0 <= e < 1``.
    periods : float
        Length of the integration interval in orbital periods, ``> 0``.
    """
    e = float(eccentricity)
    if not (math.isfinite(e) and 0.0 <= e < 1.0):
        raise ValueError(f"eccentricity must satisfy 0 <= eccentricity < 1, got {eccentricity!r}")
    k = float(periods)
    if not (math.isfinite(k) and k > 0.0):
        raise ValueError(f"periods must be a finite positive number, got {periods!r}")
    exact = _kepler_exact_solution(e)
    t_end = 2.0 * math.pi * k
    y0 = np.array([1.0 - e, 0.0, 0.0, math.sqrt((1.0 + e) / (1.0 - e))])
    return Problem(
        name="kepler",
        fun=_kepler_fun,
        t_span=(0.0, t_end),
        y0=y0,
        y_ref=exact(t_end),
        exact=exact,
        source=(
            f"Kepler problem, e = {e!r}, {k!r} period(s) (Hairer, Lubich & Wanner, Geometric "
            "Numerical Integration, Sec. I.2); reference: exact solution via Kepler's equation"
        ),
    )


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

PROBLEMS: dict[str, Callable[[], Problem]] = {
    "arenstorf": arenstorf,
    "lorenz": lorenz,
    "pleiades": pleiades,
    "brusselator": brusselator,
    "kepler": kepler,
}


def get(name: str) -> Problem:
    """Return the named problem (with default parameters); ``ValueError`` for an unknown name.

    Looks in :data:`PROBLEMS` (non-stiff), :data:`STIFF_PROBLEMS` and :data:`DAE_PROBLEMS`.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    factory = PROBLEMS.get(name) or STIFF_PROBLEMS.get(name) or DAE_PROBLEMS.get(name)
    if factory is None:
        known = ", ".join(sorted([*PROBLEMS, *STIFF_PROBLEMS, *DAE_PROBLEMS]))
        raise ValueError(f"unknown problem {name!r}; known problems: {known}")
    return factory()


def mixed_error(problem: Problem, y) -> float:
    """``max_i |y_i - y_ref_i| / (atol_ratio + |y_ref_i|)`` (the Test Set's *mescd* is -log10)."""
    y = np.asarray(y, dtype=float)
    return float(np.max(np.abs(y - problem.y_ref) / (problem.atol_ratio + np.abs(problem.y_ref))))


from stepsize.ode._stiff_problems import (  # noqa: E402  (kept next to their registry)
    bruss1d,
    e5,
    heat,
    hires,
    orego,
    pollu,
    rober,
    vdpol,
)

STIFF_PROBLEMS: dict[str, Callable[[], Problem]] = {
    "rober": rober,
    "hires": hires,
    "vdpol": vdpol,
    "orego": orego,
    "e5": e5,
    "pollu": pollu,
    "heat": heat,
    "bruss1d": bruss1d,
}
"""Stiff problems (``stiff=True``): the Test Set's ROBER, HIRES, VDPOL (mu = 1e3), OREGO, E5 and
POLLU, and two semi-discretised PDEs with banded Jacobians (see ``_stiff_problems``)."""

from stepsize.ode._dae_problems import chemakzo, rober_dae, transamp  # noqa: E402

DAE_PROBLEMS: dict[str, Callable[[], Problem]] = {
    "rober_dae": rober_dae,
    "chemakzo": chemakzo,
    "transamp": transamp,
}
"""Index-1 differential-algebraic problems ``M y' = f`` (``mass`` set; see ``_dae_problems``):
Robertson with its conservation law as the algebraic equation, the Test Set's CHEMAKZO and its
transistor amplifier (a non-diagonal singular ``M``)."""


# --------------------------------------------------------------------------------------------
# High-precision references (not used at import; needs mpmath)
# --------------------------------------------------------------------------------------------


def _taylor_reference(name: str, dps: int = 40, order: int = 30) -> list:
    """Recompute a reference solution with a Taylor-series integrator in mpmath.

    ``name`` is one of ``"lorenz"``, ``"brusselator"``, ``"arenstorf"``, ``"pleiades"``; the
    result is a list of ``mpmath.mpf`` at ``t_span[1]`` computed with ``mp.dps = dps`` and series
    of degree ``order``. Taylor coefficients come from the exact recurrences of automatic
    differentiation; the step is ``h = min((eps/|c_{N-1}|)**(1/(N-1)), (eps/|c_N|)**(1/N))`` with
    ``eps = 10**(3 - dps) * max(1, |y|_inf)`` (norms over components), the last step cut to end
    at ``t_span[1]``. Run times on one core: Lorenz (60, 50) 4 s, Brusselator 1 s, Arenstorf
    (30, 20) 3 s, Pleiades (25, 20) 25 s.
    """
    import mpmath
    from mpmath import mp, mpf

    def cauchy(a, b, k):
        return mp.fsum(a[j] * b[k - j] for j in range(k + 1))

    def power(s, q, k, alpha):  # k-th coefficient of s**alpha
        if k == 0:
            return s[0] ** alpha
        return mp.fsum((alpha * (k - j) - j) * s[k - j] * q[j] for j in range(k)) / (k * s[0])

    with mp.workdps(dps):
        three_halves = mpf(-3) / 2

        def lorenz_series(y, n):
            sigma, rho, beta = mpf(10), mpf(28), mpf(8) / 3
            x, u, z = ([c] for c in y)
            for k in range(n):
                xz, xu = cauchy(x, z, k), cauchy(x, u, k)
                x.append(sigma * (u[k] - x[k]) / (k + 1))
                u.append((rho * x[k] - xz - u[k]) / (k + 1))
                z.append((xu - beta * z[k]) / (k + 1))
            return [x, u, z]

        def brusselator_series(y, n):
            a, b = mpf(1), mpf(3)
            u, v = ([c] for c in y)
            uu, uuv = [], []
            for k in range(n):
                uu.append(cauchy(u, u, k))
                uuv.append(cauchy(uu, v, k))
                u.append(((a if k == 0 else 0) + uuv[k] - (b + 1) * u[k]) / (k + 1))
                v.append((b * u[k] - uuv[k]) / (k + 1))
            return [u, v]

        def arenstorf_series(y, n):
            mu = mpf("0.012277471")
            mu1 = 1 - mu
            x, z, u, v = ([c] for c in y)
            a, b, s1, s2, q1, q2 = [], [], [], [], [], []
            for k in range(n):
                a.append(x[k] + (mu if k == 0 else 0))
                b.append(x[k] - (mu1 if k == 0 else 0))
                s1.append(cauchy(a, a, k) + cauchy(z, z, k))
                s2.append(cauchy(b, b, k) + cauchy(z, z, k))
                q1.append(power(s1, q1, k, three_halves))
                q2.append(power(s2, q2, k, three_halves))
                ax = x[k] + 2 * v[k] - mu1 * cauchy(a, q1, k) - mu * cauchy(b, q2, k)
                az = z[k] - 2 * u[k] - mu1 * cauchy(z, q1, k) - mu * cauchy(z, q2, k)
                x.append(u[k] / (k + 1))
                z.append(v[k] / (k + 1))
                u.append(ax / (k + 1))
                v.append(az / (k + 1))
            return [x, z, u, v]

        def pleiades_series(y, n):
            c = [[v] for v in y]
            pairs = [(i, j) for i in range(7) for j in range(i + 1, 7)]
            aux = {p: ([], [], [], []) for p in pairs}  # dx, dy, r^2, r^-3
            for k in range(n):
                ax, ay = [mpf(0)] * 7, [mpf(0)] * 7
                for i, j in pairs:
                    dx, dy, s, q = aux[(i, j)]
                    dx.append(c[j][k] - c[i][k])
                    dy.append(c[j + 7][k] - c[i + 7][k])
                    s.append(cauchy(dx, dx, k) + cauchy(dy, dy, k))
                    q.append(power(s, q, k, three_halves))
                    fx, fy = cauchy(dx, q, k), cauchy(dy, q, k)
                    ax[i] += (j + 1) * fx
                    ay[i] += (j + 1) * fy
                    ax[j] -= (i + 1) * fx
                    ay[j] -= (i + 1) * fy
                for i in range(14):
                    c[i].append(c[i + 14][k] / (k + 1))
                for i in range(7):
                    c[i + 14].append(ax[i] / (k + 1))
                    c[i + 21].append(ay[i] / (k + 1))
            return c

        if name == "lorenz":
            series, y, t_end = lorenz_series, [-8, 8, 27], mpf(16)
        elif name == "brusselator":
            series, y, t_end = brusselator_series, [mpf(3) / 2, 3], mpf(20)
        elif name == "arenstorf":
            y = [mpf("0.994"), 0, 0, mpf("-2.00158510637908252240537862224")]
            series, t_end = arenstorf_series, mpf("17.0652165601579625588917206249")
        elif name == "pleiades":
            series, y, t_end = pleiades_series, [mpf(v) for v in _PLEIADES_Y0], mpf(3)
        else:
            raise ValueError(
                "name must be one of 'lorenz', 'brusselator', 'arenstorf', 'pleiades', "
                f"got {name!r}"
            )
        y = [mpf(v) for v in y]
        t = mpf(0)
        eps = mpf(10) ** (3 - dps)
        while t < t_end:
            coef = series(y, order)
            scale = eps * max(1, max(abs(v) for v in y))
            tiny = mpf(10) ** (-10 * dps)  # guards against vanishing coefficients
            c1 = max(tiny, max(abs(ci[order - 1]) for ci in coef))
            c2 = max(tiny, max(abs(ci[order]) for ci in coef))
            h = min((scale / c1) ** (mpf(1) / (order - 1)), (scale / c2) ** (mpf(1) / order))
            last = t + h >= t_end
            if last:
                h = t_end - t
            y = [mpmath.polyval(ci[::-1], h) for ci in coef]
            t = t_end if last else t + h
        return [+v for v in y]
