"""``archain``: algorithmic chain regularisation (logarithmic-Hamiltonian leapfrog in chain
coordinates, extrapolated) against gr15 on the Pythagorean problem, two-body orbits, the chain
and bad input."""

import math

import numpy as np
import pytest

from stepsize.nbody import Simulation, System, from_elements, integrate, pythagorean
from stepsize.nbody._archain import from_links, greedy_chain, kinetic, to_chain


def test_pythagorean_problem_agrees_with_gr15_at_machine_precision():
    # to t = 20 the three bodies pass their first close encounters (r_min 4e-4); two gr15 runs
    # (epsilon 1e-12 and 1e-10) agree there to 2.4e-12, archain with them to 1.6e-12
    ref = integrate(pythagorean(), 20.0, "gr15", epsilon=1e-12)
    ar = integrate(pythagorean(), 20.0, "archain", rtol=1e-14)
    assert ar.success and ar.t == 20.0
    assert np.abs(ar.system.positions - ref.system.positions).max() < 2e-11
    assert np.abs(ar.system.velocities - ref.system.velocities).max() < 2e-10
    assert ar.min_distance == pytest.approx(ref.min_distance, rel=1e-2)  # (sampled at steps)
    # to t = 70 the run ends with the binary and the escaper (chaos then amplifies any
    # difference 1e7-fold, gr15's among its own settings too): the energy error stays near
    # machine precision, where IAS15 stops at 8e-12 (benchmarks/nbody_pythagorean.py)
    full = integrate(pythagorean(), 70.0, "archain", rtol=1e-14)
    assert full.success and full.energy_error < 1e-12
    # L0 = 0 (the bodies start at rest): the error is absolute, against sum m |x| |v| ~ 1e2
    assert full.angular_momentum_error < 1e-10
    assert full.steps < 1500  # gr15 at epsilon 1e-12: 14436 steps for 8.6e-15


def test_two_body_orbit_returns_after_ten_periods():
    # the leapfrog of the logarithmic Hamiltonian follows a Kepler orbit along its exact
    # trajectory (Mikkola & Tanikawa 1999), uniformly in the eccentric anomaly: the steps are
    # capped at half a radian of it (13 per orbit); the return to the start measures the
    # phase error
    s = from_elements([1.0, 1.0], 1.0, 0.9, 0.0, f=math.pi)
    period = 2 * math.pi / math.sqrt(2.0)
    r = integrate(s, 10 * period, "archain", rtol=1e-13)
    assert r.success and 10 * 2 * math.pi / 0.5 <= r.steps < 150
    assert np.abs(r.system.positions - s.positions).max() < 1e-9
    assert r.energy_error < 1e-11


def test_chain_coordinates_round_trip_and_kinetic_energy():
    rng = np.random.default_rng(3)
    pos, vel = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    masses = rng.uniform(0.5, 2.0, 5)
    pos -= masses @ pos / masses.sum()
    vel -= masses @ vel / masses.sum()
    order = np.empty(5, dtype=np.int64)
    greedy_chain(pos, order)
    assert sorted(order) == list(range(5))
    # the closest pair is a link
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.eye(5) * 1e9
    i, j = np.unravel_index(d.argmin(), d.shape)
    assert abs(list(order).index(i) - list(order).index(j)) == 1
    lx, lw = np.empty((4, 3)), np.empty((4, 3))
    to_chain(pos, vel, order, lx, lw)
    back_x, back_v = np.empty_like(pos), np.empty_like(vel)
    from_links(lx, masses, order, back_x)
    from_links(lw, masses, order, back_v)
    np.testing.assert_allclose(back_x, pos, atol=1e-14)
    np.testing.assert_allclose(back_v, vel, atol=1e-14)
    assert kinetic(lw, masses, order) == pytest.approx(0.5 * masses @ (vel**2).sum(1), rel=1e-14)


def test_output_times_are_landed_on_and_a_moving_centre_is_kept():
    s = pythagorean()
    moving = System(s.masses, s.positions + 3.0, s.velocities + [0.5, -0.25], G=s.G)
    sim = Simulation(moving, "archain", rtol=1e-12)
    for t in (0.5, 1.25, 3.0):
        assert sim.evolve(t) == "done" and sim.t == t
    ref = integrate(pythagorean(), 3.0, "gr15", epsilon=1e-12)
    np.testing.assert_allclose(sim.system.positions - [1.5, -0.75] - 3.0, ref.system.positions,
                               atol=1e-9)  # fmt: skip
    assert sim.com_drift < 1e-13


@pytest.mark.parametrize(
    "system, options, match",
    [
        (System([1.0, 0.0], [[0.0, 0.0], [1.0, 0.0]], [[0, 0], [0, 1.0]]), {}, "two bodies of"),
        (None, dict(softening=0.01), "softening is not supported by 'archain'"),
        (None, dict(eta=0.1), "takes no option 'eta'"),
        (None, dict(rtol=-1.0), "rtol must be positive"),
    ],
)
def test_bad_archain_input_names_the_argument(system, options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        integrate(system or pythagorean(), 1.0, "archain", **options)
