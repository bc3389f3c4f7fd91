"""Orbital elements: ``from_elements`` builds a ``System`` from (a, e, inc, Omega, omega, f or M)
and ``to_elements`` reads them back, about the primary (body 0) or in Jacobi coordinates.

Two-body orbit of a body about its reference point with mu = G (m_ref + m_i) (Murray & Dermott
1999, *Solar System Dynamics*, sections 2.5-2.8):

    p = a (1 - e^2),   r = p / (1 + e cos f),
    r_orb = r (cos f, sin f, 0),   v_orb = sqrt(mu / p) (-sin f, e + cos f, 0),
    (x, v) = R_z(Omega) R_x(inc) R_z(omega) (r_orb, v_orb).

Hyperbolic orbits have a < 0 and e > 1.  The mean anomaly M = E - e sin E (elliptic) or
M = e sinh F - F (hyperbolic) is solved for the eccentric anomaly by Newton's method.
"primary": every body about body 0, m_ref = m_0.  "jacobi": body i about the centre of mass of
bodies 0..i-1, m_ref = m_0 + ... + m_{i-1} (the hierarchy of a planetary system).

Reading back: h = x cross v, the eccentricity vector e = v cross h / mu - x / r,
a = -mu / (2 (v^2 / 2 - mu / r)); angles by atan2 throughout (well conditioned near inc = 0).
For inc = 0 the node is undefined and Omega = 0; for e = 0 the pericentre is and omega = 0, f
then counts from the node (or from the x axis).
"""

import math
from dataclasses import dataclass

import numpy as np

from stepsize.nbody._system import System

COORDINATES = ("primary", "jacobi")


@dataclass(frozen=True)
class Elements:
    """Osculating elements of bodies 1..N-1 (arrays of N - 1): semi-major axis ``a`` (negative
    when hyperbolic), eccentricity ``e``, inclination ``inc``, longitude of the ascending node
    ``Omega``, argument of pericentre ``omega``, true anomaly ``f``, mean anomaly ``M`` (radians),
    and the gravitational parameter ``mu`` = G (m_ref + m_i) of each orbit."""

    a: np.ndarray
    e: np.ndarray
    inc: np.ndarray
    Omega: np.ndarray
    omega: np.ndarray
    f: np.ndarray
    M: np.ndarray
    mu: np.ndarray

    @property
    def period(self):
        """2 pi sqrt(a^3 / mu) (NaN for unbound orbits)."""
        with np.errstate(invalid="ignore"):
            return np.where(self.a > 0, 2 * np.pi * np.sqrt(self.a**3 / self.mu), np.nan)


def true_from_mean(M, e):
    """True anomaly from the mean anomaly (elliptic e < 1 or hyperbolic e > 1)."""
    if e < 1.0:
        M = math.remainder(M, 2 * math.pi)
        E = M if e < 0.8 else math.copysign(math.pi, M)
        for _ in range(100):
            dE = (E - e * math.sin(E) - M) / (1.0 - e * math.cos(E))
            E -= dE
            if abs(dE) < 1e-16 * max(1.0, abs(E)):
                break
        return 2.0 * math.atan2(
            math.sqrt(1 + e) * math.sin(E / 2), math.sqrt(1 - e) * math.cos(E / 2)
        )
    if e == 1.0:
        raise ValueError("e = 1 (parabolic): give the true anomaly f, not M")
    F = math.asinh(M / e)
    for _ in range(200):
        dF = (e * math.sinh(F) - F - M) / (e * math.cosh(F) - 1.0)
        F -= dF
        if abs(dF) < 1e-16 * max(1.0, abs(F)):
            break
    return 2.0 * math.atan(math.sqrt((e + 1) / (e - 1)) * math.tanh(F / 2))


def mean_from_true(f, e):
    """Mean anomaly from the true anomaly (NaN for e = 1)."""
    if e < 1.0:
        E = 2.0 * math.atan2(math.sqrt(1 - e) * math.sin(f / 2), math.sqrt(1 + e) * math.cos(f / 2))
        return (E - e * math.sin(E)) % (2 * math.pi)
    if e == 1.0:
        return math.nan
    F = 2.0 * math.atanh(math.sqrt((e - 1) / (e + 1)) * math.tan(f / 2))
    return e * math.sinh(F) - F


def _rotation(inc, Omega, omega):
    cO, sO, ci, si, co, so = (
        math.cos(Omega),
        math.sin(Omega),
        math.cos(inc),
        math.sin(inc),
        math.cos(omega),
        math.sin(omega),
    )
    return np.array(
        [
            [cO * co - sO * so * ci, -cO * so - sO * co * ci, sO * si],
            [sO * co + cO * so * ci, -sO * so + cO * co * ci, -cO * si],
            [so * si, co * si, ci],
        ]
    )


def orbit_state(mu, a, e, inc, Omega, omega, f):
    """Relative position and velocity (3-vectors) of a two-body orbit."""
    if not (mu > 0 and math.isfinite(mu)):
        raise ValueError(f"mu must be positive, got {mu!r}")
    if e < 0 or not math.isfinite(e):
        raise ValueError(f"e must be >= 0, got {e!r}")
    if (e < 1 and not a > 0) or (e > 1 and not a < 0) or e == 1:
        raise ValueError(
            f"a must be > 0 for e < 1 and < 0 for e > 1 (e = 1 unsupported); "
            f"got a = {a!r}, e = {e!r}"
        )
    p = a * (1.0 - e * e)
    den = 1.0 + e * math.cos(f)
    if not den > 0:
        raise ValueError(f"f = {f!r} is beyond the asymptote of the hyperbola (e = {e!r})")
    r = p / den
    sp = math.sqrt(mu / p)
    R = _rotation(inc, Omega, omega)
    x = R @ np.array([r * math.cos(f), r * math.sin(f), 0.0])
    v = R @ np.array([-sp * math.sin(f), sp * (e + math.cos(f)), 0.0])
    return x, v


def _angle(y, x):
    return math.atan2(y, x) % (2 * math.pi)


def orbit_elements(mu, x, v):
    """(a, e, inc, Omega, omega, f, M) of the relative position x and velocity v (3-vectors)."""
    r = math.sqrt(x @ x)
    h = np.cross(x, v)
    hn = math.sqrt(h @ h)
    if hn == 0:
        raise ValueError("a radial orbit (x parallel to v) has no orbital plane")
    ev = np.cross(v, h) / mu - x / r
    e = math.sqrt(ev @ ev)
    energy = 0.5 * (v @ v) - mu / r
    a = -mu / (2.0 * energy)
    inc = math.atan2(math.hypot(h[0], h[1]), h[2])
    k = h / hn
    if math.hypot(h[0], h[1]) > 1e-15 * hn:
        Omega = _angle(h[0], -h[1])
        node = np.array([math.cos(Omega), math.sin(Omega), 0.0])
    else:
        Omega = 0.0
        node = np.array([1.0, 0.0, 0.0])
    if e > 1e-15:
        omega = _angle(np.cross(node, ev) @ k, node @ ev)
        f = _angle(np.cross(ev, x) @ k, ev @ x)
    else:
        omega = 0.0
        f = _angle(np.cross(node, x) @ k, node @ x)
    if e > 1:
        f = math.remainder(f, 2 * math.pi)
    return a, e, inc, Omega, omega, f, mean_from_true(f, e)


def _broadcast(n, **values):
    out = {}
    for name, value in values.items():
        arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)) if value is not None else None
        if arr is not None and not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
        out[name] = arr
    return out


def from_elements(
    masses,
    a,
    e=0.0,
    inc=0.0,
    Omega=0.0,
    omega=0.0,
    f=None,
    M=None,
    *,
    G=1.0,
    coordinates="primary",
    ndim=3,
):
    """A System of a primary (``masses[0]``) and N - 1 bodies on the given orbits.

    ``a``, ``e``, ``inc``, ``Omega``, ``omega`` and one of ``f`` (true anomaly, the default 0) or
    ``M`` (mean anomaly) are scalars or arrays of N - 1; angles in radians.  ``coordinates``:
    "primary" (each body about body 0) or "jacobi" (body i about the centre of mass of bodies
    0..i-1).  Masses may be 0 (test particles).  The result is in the centre-of-mass frame;
    ``ndim=2`` needs coplanar prograde orbits (inc = 0) and drops z.
    """
    m = np.asarray(masses, dtype=float)
    if m.ndim != 1 or m.size < 2:
        raise ValueError(f"masses must be a 1-D array of at least 2 bodies, got shape {m.shape}")
    if coordinates not in COORDINATES:
        raise ValueError(f"coordinates: unknown {coordinates!r}; known: {', '.join(COORDINATES)}")
    if ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim!r}")
    if f is not None and M is not None:
        raise ValueError("give the true anomaly f or the mean anomaly M, not both")
    n = m.size - 1
    el = _broadcast(n, a=a, e=e, inc=inc, Omega=Omega, omega=omega, f=f, M=M)
    if ndim == 2 and np.any(el["inc"] != 0):
        raise ValueError("inc must be 0 for ndim=2")
    pos = np.zeros((m.size, 3))
    vel = np.zeros((m.size, 3))
    ref_m = m[0]
    ref_x = np.zeros(3)
    ref_v = np.zeros(3)
    for i in range(1, m.size):
        k = i - 1
        ei = float(el["e"][k])
        anomaly = float(el["f"][k]) if f is not None else None
        if anomaly is None:
            anomaly = true_from_mean(float(el["M"][k]), ei) if M is not None else 0.0
        mu = G * (ref_m + m[i])
        x, v = orbit_state(
            mu, float(el["a"][k]), ei, float(el["inc"][k]), float(el["Omega"][k]),
            float(el["omega"][k]), anomaly,
        )  # fmt: skip
        if coordinates == "primary":
            pos[i], vel[i] = pos[0] + x, vel[0] + v
        else:
            pos[i], vel[i] = ref_x + x, ref_v + v
            total = ref_m + m[i]
            if total > 0:
                ref_x = (ref_m * ref_x + m[i] * pos[i]) / total
                ref_v = (ref_m * ref_v + m[i] * vel[i]) / total
            ref_m = total
    system = System(m, pos[:, :ndim], vel[:, :ndim], G)
    return system.to_com_frame()


def to_elements(system, coordinates="primary"):
    """The osculating :class:`Elements` of bodies 1..N-1 of ``system`` (about body 0, or in
    Jacobi coordinates), the inverse of :func:`from_elements`."""
    if not isinstance(system, System):
        raise TypeError(f"system must be a stepsize.nbody.System, got {type(system).__name__}")
    if coordinates not in COORDINATES:
        raise ValueError(f"coordinates: unknown {coordinates!r}; known: {', '.join(COORDINATES)}")
    m = system.masses
    pos = np.zeros((m.size, 3))
    vel = np.zeros((m.size, 3))
    pos[:, : system.ndim] = system.positions
    vel[:, : system.ndim] = system.velocities
    rows = []
    ref_m, ref_x, ref_v = m[0], pos[0].copy(), vel[0].copy()
    for i in range(1, m.size):
        if coordinates == "primary":
            x, v, mu = pos[i] - pos[0], vel[i] - vel[0], system.G * (m[0] + m[i])
        else:
            x, v, mu = pos[i] - ref_x, vel[i] - ref_v, system.G * (ref_m + m[i])
            total = ref_m + m[i]
            if total > 0:
                ref_x = (ref_m * ref_x + m[i] * pos[i]) / total
                ref_v = (ref_m * ref_v + m[i] * vel[i]) / total
            ref_m = total
        rows.append(orbit_elements(mu, x, v) + (mu,))
    cols = np.array(rows).T
    return Elements(*cols)
