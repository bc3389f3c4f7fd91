"""Unit helpers: N-body (Hénon) units and astronomical units (au, solar mass, year).

Astronomical units take G = 4 pi^2 au^3 / (Msun yr^2): the "year" is then the period of a
massless body on a circular orbit of 1 au about 1 Msun,
    yr = 2 pi sqrt(au^3 / GM_sun) = 365.2568 days,
with au = 149 597 870 700 m (IAU 2012 Resolution B2) and GM_sun = 1.3271244e20 m^3 s^-2 (IAU 2015
Resolution B3 nominal value), so that 1 km/s = 0.210945 au/yr.  Using a Julian year instead
would change velocities by 2e-5.

N-body units (Hénon 1971; Heggie & Mathieu 1986): G = M = 1 and E = -1/4, so the virial radius
R = -G M^2 / (4 E) is 1.
"""

import math
from dataclasses import dataclass

import numpy as np

from stepsize.nbody._system import System

AU_M = 149_597_870_700.0
GM_SUN = 1.3271244e20
G_AU_MSUN_YR = 4.0 * math.pi**2
YEAR_S = 2.0 * math.pi * math.sqrt(AU_M**3 / GM_SUN)
KMS_IN_AU_PER_YR = 1e3 * YEAR_S / AU_M


def kms_to_au_per_yr(v):
    """Convert km/s to au/yr (1 km/s = 0.210945 au/yr)."""
    return np.asarray(v, dtype=float) * KMS_IN_AU_PER_YR


def au_per_yr_to_kms(v):
    """Convert au/yr to km/s (1 au/yr = 4.74057 km/s)."""
    return np.asarray(v, dtype=float) / KMS_IN_AU_PER_YR


@dataclass(frozen=True)
class Scales:
    """The mass, length and time units of a rescaled system, in the original units.

    A quantity q of dimension mass^a length^b time^c converts back as
    q_original = q_scaled * mass^a * length^b * time^c (e.g. velocity: length / time).
    """

    mass: float
    length: float
    time: float

    @property
    def velocity(self):
        return self.length / self.time


def to_nbody_units(system, softening=0.0):
    """Rescale a bound system to N-body units (G = M = 1, E = -1/4).

    Returns ``(scaled_system, scales)``: mass unit M, length unit R = -G M^2 / (4 E), time unit
    sqrt(R^3 / (G M)).  ``softening`` enters E and is scaled like a length (``softening /
    scales.length`` in the new units).  Raises ValueError if E >= 0 (nothing to scale to).
    """
    if not isinstance(system, System):
        raise TypeError(f"system must be a System, got {type(system).__name__}")
    energy = system.energy(softening)
    if not energy < 0:
        raise ValueError(f"system must be bound (E < 0) for N-body units, got E = {energy:g}")
    mass = system.total_mass
    length = -system.G * mass**2 / (4.0 * energy)
    time = math.sqrt(length**3 / (system.G * mass))
    scales = Scales(mass, length, time)
    scaled = System._trusted(
        system.masses / mass, system.positions / length, system.velocities / scales.velocity, 1.0
    )
    return scaled, scales
