"""Initial conditions: the Pythagorean problem, the figure-eight, the paper's random three-body
systems and a Kepler binary."""

import math

import numpy as np

from stepsize.nbody._system import System
from stepsize.nbody.units import G_AU_MSUN_YR, kms_to_au_per_yr

FIGURE_EIGHT_PERIOD = 6.32591398


def pythagorean():
    """Burrau's Pythagorean problem (Szebehely & Peters 1967, AJ 72, 876), G = 1.

    Masses 3, 4, 5 at rest at (1, 3), (-2, -1), (1, -1), the vertices of a 3-4-5 right triangle,
    each opposite the side of its own length; the centre of mass is at the origin.  After many
    close encounters the bodies of mass 4 and 5 leave as a binary and mass 3 escapes (t ~ 60-70).
    """
    return System([3.0, 4.0, 5.0], [[1.0, 3.0], [-2.0, -1.0], [1.0, -1.0]], np.zeros((3, 2)))


def figure_eight():
    """Chenciner & Montgomery's (2000) figure-eight choreography, G = m = 1.

    x1 = -x2 = (0.97000436, -0.24308753), x3 = 0, v3 = (-0.93240737, -0.86473146),
    v1 = v2 = -v3/2 (Chenciner & Montgomery 2000, Ann. Math. 152, 881; initial values of Simó);
    period ``FIGURE_EIGHT_PERIOD`` = 6.32591398.
    """
    x1 = np.array([0.97000436, -0.24308753])
    v3 = np.array([-0.93240737, -0.86473146])
    return System(np.ones(3), [x1, -x1, [0.0, 0.0]], [-v3 / 2, -v3 / 2, v3])


def paper_three_body(seed=None, ndim=2):
    """A random three-body system of Saz Ulibarrena & Portegies Zwart (2025, CNSNS; arXiv
    2502.12809), in au, Msun, yr (G = 4 pi^2).

    Three 1 Msun bodies: body 0 at (0, 0), body 1 at x ~ U[5, 20], y ~ U[0, 10], body 2 at
    x ~ U[-10, 0], y ~ U[5, 20] (au), with velocities (0, 10), (-10, 0) and (0, 0) km/s, moved to
    the centre-of-mass frame.  ``seed`` is an int or a ``numpy.random.Generator``; ``ndim`` 3
    adds z = vz = 0.
    """
    if ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim!r}")
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        kind = type(exc)
        raise kind(f"seed must be None, an integer >= 0 or a Generator, got {seed!r}") from None
    pos = np.zeros((3, ndim))
    pos[1, :2] = rng.uniform(5.0, 20.0), rng.uniform(0.0, 10.0)
    pos[2, :2] = rng.uniform(-10.0, 0.0), rng.uniform(5.0, 20.0)
    vel = np.zeros((3, ndim))
    vel[0, :2] = kms_to_au_per_yr([0.0, 10.0])
    vel[1, :2] = kms_to_au_per_yr([-10.0, 0.0])
    # Valid by construction (positive masses, finite G; body 2 has y >= 5 and x <= 0, body 1
    # x >= 5, body 0 sits at the origin: no two coincide), so the checks of System() are
    # skipped: they were half the time of a draw, which every ThreeBody-v0 reset makes.
    return System._trusted(np.ones(3), pos, vel, G_AU_MSUN_YR).to_com_frame()


def kepler(e=0.0, a=1.0, masses=(1.0, 1.0), G=1.0, ndim=2):
    """Two bodies on a Kepler orbit of eccentricity ``e`` and semi-major axis ``a``, starting at
    pericentre in the centre-of-mass frame; period 2 pi sqrt(a^3 / (G (m1 + m2))).

    Relative orbit: r_p = a (1 - e), v_p = sqrt(G M (1 + e) / (a (1 - e))).
    """
    if not 0.0 <= e < 1.0:
        raise ValueError(f"e must be in [0, 1), got {e!r}")
    if not a > 0:
        raise ValueError(f"a must be positive, got {a!r}")
    m1, m2 = (float(m) for m in masses)
    total = m1 + m2
    r = a * (1.0 - e)
    v = math.sqrt(G * total * (1.0 + e) / r)
    pos = np.zeros((2, ndim))
    vel = np.zeros((2, ndim))
    pos[0, 0], pos[1, 0] = -m2 / total * r, m1 / total * r
    vel[0, 1], vel[1, 1] = -m2 / total * v, m1 / total * v
    return System([m1, m2], pos, vel, G)


G_AU_MSUN_DAY = 2.95912208286e-4
OUTER_SOLAR_SYSTEM = (
    # name, mass / Msun, position (au), velocity (au / day) on 1994 September 5, 0h00
    ("Sun", 1.00000597682, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    ("Jupiter", 0.000954786104043, (-3.5023653, -3.8169847, -1.5507963),
     (0.00565429, -0.00412490, -0.00190589)),
    ("Saturn", 0.000285583733151, (9.0755314, -3.0458353, -1.6483708),
     (0.00168318, 0.00483525, 0.00192462)),
    ("Uranus", 0.0000437273164546, (8.3101420, -16.2901086, -7.2521278),
     (0.00354178, 0.00137102, 0.00055029)),
    ("Neptune", 0.0000517759138449, (11.4707666, -25.7294829, -10.8169456),
     (0.00288930, 0.00114527, 0.00039677)),
    ("Pluto", 1.0 / 1.3e8, (-15.5387357, -25.2225594, -3.1902382),
     (0.00276725, -0.00170702, -0.00136504)),
)  # fmt: skip


def outer_solar_system(pluto=True):
    """The Sun, the four giant planets and Pluto (Hairer, Lubich & Wanner 2006, *Geometric
    Numerical Integration*, 2nd ed., section I.2.4, Table 2.1), in au, Msun and days with
    G = 2.95912208286e-4; the Sun's mass includes the inner planets.  Heliocentric as
    published (not moved to the centre-of-mass frame); ``pluto=False`` leaves Pluto out."""
    rows = OUTER_SOLAR_SYSTEM if pluto else OUTER_SOLAR_SYSTEM[:-1]
    return System([r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows], G_AU_MSUN_DAY)
