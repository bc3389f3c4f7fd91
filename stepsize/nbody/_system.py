"""``System``: masses, positions and velocities of N bodies in 2-D or 3-D, and G."""

import numpy as np

from stepsize.nbody import _gravity as K


def _array(value, name, shape=None):
    try:
        a = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, got {value!r}") from None
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (it contains nan or inf)")
    return a


class System:
    """N point masses under Newtonian gravity.

    Parameters
    ----------
    masses : (N,) masses >= 0, N >= 2, at least one positive.  A body of mass 0 is a test
        particle: it feels the gravity of the others and exerts none (``gr15`` and ``wh`` skip
        the pairs of two test particles, so their cost grows linearly with their number).
    positions, velocities : (N, D) with D = 2 or 3, finite; no two bodies at the same place.
    G : gravitational constant (1 in N-body units, 4 pi^2 in au / Msun / yr).

    The arrays are read-only copies; methods return new objects.  Energies use no softening
    unless asked (``softening`` is the Plummer length eps, r^2 -> r^2 + eps^2).
    """

    __slots__ = ("masses", "positions", "velocities", "G", "_total_mass")

    def __init__(self, masses, positions, velocities, G=1.0):
        m = _array(masses, "masses")
        if m.ndim != 1 or m.size < 2:
            raise ValueError(
                f"masses must be a 1-D array of at least 2 bodies, got shape {m.shape}"
            )
        if np.any(m < 0) or not np.any(m > 0):
            raise ValueError(
                f"masses must be >= 0 (0 for a test particle) with at least one positive, "
                f"got {m.tolist()}"
            )
        x = _array(positions, "positions")
        if x.ndim != 2 or x.shape[0] != m.size or x.shape[1] not in (2, 3):
            raise ValueError(
                f"positions must have shape ({m.size}, 2) or ({m.size}, 3) for {m.size} masses, "
                f"got shape {x.shape}"
            )
        v = _array(velocities, "velocities", x.shape)
        try:
            G = float(G)
        except (TypeError, ValueError):
            raise TypeError(f"G must be a positive number, got {G!r}") from None
        if not (np.isfinite(G) and G > 0):
            raise ValueError(f"G must be positive and finite, got {G}")
        i, j, r = K.closest_pair(x)
        if r == 0.0:
            raise ValueError(f"positions: bodies {i} and {j} coincide at {x[i].tolist()}")
        self._set(m, x, v, G)

    def _set(self, m, x, v, G):
        for a in (m, x, v):
            a.flags.writeable = False
        object.__setattr__(self, "masses", m)
        object.__setattr__(self, "positions", x)
        object.__setattr__(self, "velocities", v)
        object.__setattr__(self, "G", G)
        object.__setattr__(self, "_total_mass", float(m.sum()))

    @classmethod
    def _trusted(cls, masses, positions, velocities, G):
        """A System from arrays already checked (copied, not validated again)."""
        obj = cls.__new__(cls)
        obj._set(
            np.array(masses, dtype=float),
            np.array(positions, dtype=float),
            np.array(velocities, dtype=float),
            float(G),
        )
        return obj

    def __setattr__(self, name, value):
        raise AttributeError("System is immutable; build a new one")

    def __repr__(self):
        return f"System(n_bodies={self.n_bodies}, ndim={self.ndim}, G={self.G:g})"

    def __eq__(self, other):
        if not isinstance(other, System):
            return NotImplemented
        return (
            self.G == other.G
            and np.array_equal(self.masses, other.masses)
            and np.array_equal(self.positions, other.positions)
            and np.array_equal(self.velocities, other.velocities)
        )

    __hash__ = None

    @property
    def n_bodies(self):
        return self.masses.size

    @property
    def ndim(self):
        return self.positions.shape[1]

    @property
    def total_mass(self):
        return self._total_mass

    def kinetic_energy(self):
        """T = sum m v^2 / 2."""
        return float(K.kinetic_energy(self.velocities, self.masses))

    def potential_energy(self, softening=0.0):
        """U = -G sum_{i<j} m_i m_j / sqrt(r_ij^2 + softening^2)."""
        return float(K.potential_energy(self.positions, self.masses, self.G, softening**2))

    def energy(self, softening=0.0):
        """Total energy T + U."""
        return self.kinetic_energy() + self.potential_energy(softening)

    def angular_momentum(self):
        """sum m x cross v as a 3-vector (x, y, z); in 2-D only z is non-zero."""
        return K.angular_momentum(self.positions, self.velocities, self.masses)

    def momentum(self):
        """sum m v."""
        return self.masses @ self.velocities

    def center_of_mass(self):
        """(position, velocity) of the centre of mass."""
        return (
            K.center_of_mass(self.positions, self.masses),
            K.center_of_mass(self.velocities, self.masses),
        )

    @property
    def test_particles(self):
        """Indices of the bodies of mass 0."""
        return np.flatnonzero(self.masses == 0)

    def closest_pair(self):
        """(i, j, distance) of the closest pair, i < j."""
        i, j, r = K.closest_pair(self.positions)
        return int(i), int(j), float(r)

    def to_com_frame(self):
        """The same system moved to its centre-of-mass frame (position and velocity zero)."""
        xc, vc = self.center_of_mass()
        return System._trusted(self.masses, self.positions - xc, self.velocities - vc, self.G)

    def replace(self, masses=None, positions=None, velocities=None, G=None):
        """A validated copy with some fields replaced."""
        return System(
            self.masses if masses is None else masses,
            self.positions if positions is None else positions,
            self.velocities if velocities is None else velocities,
            self.G if G is None else G,
        )
