"""The compiled gravity kernels, for use from Python or inside your own ``numba.njit`` code.

Plain float64 arrays: ``pos``, ``vel`` (N, D), ``masses`` (N,); ``G`` and the squared Plummer
softening ``eps2`` are floats.  Formulas and sources in ``stepsize.nbody._gravity``.
"""

from stepsize.nbody._gravity import (
    acc_jerk,
    accelerations,
    angular_momentum,
    center_of_mass,
    closest_pair,
    collision_time,
    com_drift,
    kinetic_energy,
    potential_energy,
    total_energy,
)

__all__ = [
    "acc_jerk",
    "accelerations",
    "angular_momentum",
    "center_of_mass",
    "closest_pair",
    "collision_time",
    "com_drift",
    "kinetic_energy",
    "potential_energy",
    "total_energy",
]
