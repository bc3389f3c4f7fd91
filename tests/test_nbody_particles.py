"""Test particles (mass 0): they feel gravity, exert none, and cost linearly in their number."""

import math
import time

import numpy as np

from stepsize.nbody import System, from_elements, integrate, to_elements
from stepsize.nbody import _gravity as K


def sun_jupiter_and_particles(n, seed=0):
    rng = np.random.default_rng(seed)
    masses = [1.0, 1e-3] + [0.0] * n
    a = np.concatenate([[5.2], rng.uniform(1.0, 3.0, n)])
    e = np.concatenate([[0.05], rng.uniform(0.0, 0.2, n)])
    inc = np.concatenate([[0.02], rng.uniform(0.0, 0.2, n)])
    f = rng.uniform(0, 2 * math.pi, n + 1)
    return from_elements(masses, a, e, inc, 0.0, 0.0, f=f, G=4 * math.pi**2)


def test_particles_do_not_move_the_massive_bodies():
    full = sun_jupiter_and_particles(30)
    alone = System(full.masses[:2], full.positions[:2], full.velocities[:2], full.G)
    # particles weigh nothing: the centre of mass is that of the massive bodies
    assert np.array_equal(full.center_of_mass()[0], alone.center_of_mass()[0])
    for options in (dict(epsilon=0.0, dt=0.01), {}):
        r_full = integrate(full, 12.0, "gr15", **options)
        r_alone = integrate(alone, 12.0, "gr15", **options)
        massive = r_full.system.positions[:2]
        if options:  # the same steps: bit for bit (adding m = 0 terms changes nothing)
            assert np.array_equal(massive, r_alone.system.positions)
        else:  # the particles shorten the steps; the massive orbit stays the same
            assert np.abs(massive - r_alone.system.positions).max() < 1e-11


def test_a_lone_particle_follows_its_kepler_orbit():
    s = from_elements([1.0, 0.0], 1.5, 0.3, 0.4, 0.5, 0.6, f=0.0)
    period = 2 * math.pi * 1.5**1.5
    r = integrate(s, 3 * period, "gr15")
    el = to_elements(r.system)
    assert abs(el.a[0] - 1.5) < 1e-13 and abs(el.e[0] - 0.3) < 1e-13
    assert abs(math.remainder(el.f[0], 2 * math.pi)) < 1e-11
    assert r.system.positions[0].tolist() == s.positions[0].tolist()  # the star never moves


def test_hermite_and_leapfrog_accept_test_particles():
    s = from_elements([1.0, 0.0, 0.0], [1.0, 2.0], 0.1, f=[0.0, 1.0])
    for method, options in (("hermite4", {"eta": 0.01}), ("leapfrog", {"dt": 1e-3})):
        r = integrate(s, 2 * math.pi, method, **options)
        assert r.success
        assert abs(to_elements(r.system).a[0] - 1.0) < 1e-4


def test_gravity_kernel_cost_is_linear_in_the_particles():
    def seconds(n):
        s = sun_jupiter_and_particles(n, seed=1)
        pos, masses = np.ascontiguousarray(s.positions), s.masses
        acc = np.empty_like(pos)
        active = K.massive(masses)
        K.gravity(pos, masses, s.G, 0.0, active, acc)
        best = math.inf
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(20):
                K.gravity(pos, masses, s.G, 0.0, active, acc)
            best = min(best, time.perf_counter() - t)
        return best, acc

    t1, acc = seconds(1000)
    t4, _ = seconds(4000)
    assert t4 / t1 < 8.0  # quadratic cost would be 16x
    # and the accelerations equal the all-pairs kernel's
    s = sun_jupiter_and_particles(1000, seed=1)
    ref = np.empty_like(acc)
    K.accelerations(np.ascontiguousarray(s.positions), s.masses, s.G, 0.0, ref)
    np.testing.assert_allclose(acc, ref, rtol=1e-13, atol=0)
