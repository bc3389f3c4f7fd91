"""The logarithmic-Hamiltonian leapfrog (``leapfrog`` with ``criterion="logh"``).

Mikkola & Tanikawa (1999) and Preto & Tremaine (1999): for two bodies the leapfrog in the time
of the logarithmic Hamiltonian follows the Kepler ellipse exactly, whatever the eccentricity and
the step; only the time along it carries an error.  So the energy and the Runge-Lenz vector are
kept to rounding over many orbits of a near-radial binary, where the time-symmetric leapfrog
in t, at the same number of force evaluations, is far off.
"""

import math

import numpy as np
import pytest

from stepsize.nbody import integrate, kepler, pythagorean
from stepsize.nbody._leapfrog import LANDING_ITERATIONS

E = 0.99
PERIOD = 2 * math.pi / math.sqrt(2.0)  # a = 1, G (m1 + m2) = 2


def runge_lenz(system):
    """The eccentricity vector v x h / (G M) - r / |r| of the relative orbit (planar)."""
    r = system.positions[1] - system.positions[0]
    v = system.velocities[1] - system.velocities[0]
    h = r[0] * v[1] - r[1] * v[0]
    gm = system.G * system.masses.sum()
    return np.array([v[1] * h, -v[0] * h]) / gm - r / np.linalg.norm(r)


def test_logh_leapfrog_keeps_a_near_radial_kepler_ellipse_to_rounding():
    s = kepler(e=E)
    r = integrate(s, 10 * PERIOD, "leapfrog", eta=0.05, criterion="logh")
    assert r.success and r.t == 10 * PERIOD
    # rounding only: |dE/E| of a pericentre state at e = 0.99 carries ~200x the cancellation
    # of its kinetic and potential energies
    assert r.energy_error < 2e-11
    e0, e1 = runge_lenz(s), runge_lenz(r.system)
    assert np.abs(e1 - e0).max() < 1e-10  # the ellipse neither precesses nor changes shape
    assert r.angular_momentum_error < 1e-12
    # the time-symmetric leapfrog with more force evaluations keeps neither
    sym = integrate(s, 10 * PERIOD, "leapfrog", eta=0.005)
    assert sym.force_evaluations > r.force_evaluations
    assert sym.energy_error > 1e3 * max(r.energy_error, 1e-16)
    assert np.abs(runge_lenz(sym.system) - e0).max() > 1e3 * np.abs(e1 - e0).max()


def test_logh_leapfrog_is_second_order_in_the_time_along_the_orbit():
    """The phase error of the Kepler orbit falls as h^2 (the return to pericentre after one
    period: the distance from the start)."""
    s = kepler(e=0.5)
    err = []
    for eta in (0.02, 0.01):
        r = integrate(s, PERIOD, "leapfrog", eta=eta, criterion="logh")
        err.append(np.abs(r.system.positions - s.positions).max())
    assert math.log2(err[0] / err[1]) == pytest.approx(2.0, abs=0.25)


def test_logh_leapfrog_goes_through_the_pythagorean_encounters():
    r = integrate(pythagorean(), 70.0, "leapfrog", eta=0.01, criterion="logh")
    assert r.success and r.t == 70.0
    assert r.energy_error < 1e-4
    # one per step, the start and the end, and the regula falsi of the landing step
    assert r.steps + 3 <= r.force_evaluations <= r.steps + 2 + LANDING_ITERATIONS


def test_logh_is_an_adaptive_leapfrog_criterion_only():
    with pytest.raises(ValueError, match="criterion"):
        integrate(kepler(), 1.0, "leapfrog", criterion="aarseth")
    with pytest.raises(ValueError, match="criterion"):
        integrate(kepler(), 1.0, "leapfrog", dt=0.01, criterion="logh")
    with pytest.raises(ValueError, match="criterion"):
        integrate(kepler(), 1.0, "hermite4", criterion="logh")
