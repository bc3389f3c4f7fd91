"""Kustaanheimo-Stiefel regularisation (``regularize="ks"``): the KS map, a near-radial Kepler
orbit against the analytic solution, the Pythagorean problem through its close encounters."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepsize.nbody import Simulation, System, integrate, kepler, pythagorean
from stepsize.nbody._ks import ks_from_relative, ks_position, ks_transpose, ks_velocity

PERIOD = 2 * math.pi / math.sqrt(2.0)  # kepler(): G = m1 = m2 = a = 1
vectors = st.lists(st.floats(-10, 10), min_size=3, max_size=3).filter(
    lambda r: np.linalg.norm(r) > 1e-3
)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(vectors, vectors)
def test_ks_map_and_its_inverse(r, v):
    r, v = np.array(r), np.array(v)
    u = np.empty(4)
    ks_from_relative(r, u)
    back = np.empty(3)
    ks_position(u, back)
    np.testing.assert_allclose(back, r, rtol=0, atol=1e-14 * np.abs(r).max())
    assert u @ u == pytest.approx(np.linalg.norm(r), rel=1e-14)
    w = np.empty(4)
    ks_transpose(u, v, w)
    w *= 0.5  # w = L^T(u) v / 2
    assert abs(u[3] * w[0] - u[2] * w[1] + u[1] * w[2] - u[0] * w[3]) < 1e-13 * np.abs(u).max()
    vel = np.empty(3)
    ks_velocity(u, w, u @ u, vel)
    np.testing.assert_allclose(vel, v, rtol=0, atol=1e-13 * np.abs(v).max())


def kepler_relative(t, e):
    """Analytic relative position of kepler(e) (pericentre on +x at t = 0, motion towards +y):
    Kepler's equation E - e sin E = n t solved by Newton's method."""
    mean = math.fmod(math.sqrt(2.0) * t, 2 * math.pi)
    ecc = math.pi
    for _ in range(60):
        ecc -= (ecc - e * math.sin(ecc) - mean) / (1 - e * math.cos(ecc))
    speed = math.sqrt(2.0 * (1 + e * math.cos(ecc)) / (1 - e * math.cos(ecc)))  # vis-viva
    return np.array([math.cos(ecc) - e, math.sqrt(1 - e * e) * math.sin(ecc), 0.0]), speed


def test_near_radial_kepler_orbit_follows_the_analytic_solution():
    e = 0.9999  # pericentre 1e-4, speed 200 there against 0.01 at apocentre
    s = kepler(e=e, ndim=3)
    r = integrate(s, 2.5 * PERIOD, "dop853", regularize="ks", rtol=1e-12, save_every=PERIOD / 8)
    assert r.status == "done" and r.t == 2.5 * PERIOD
    for t, pos in zip(r.history.t[1:], r.history.positions[1:], strict=True):
        exact, speed = kepler_relative(t, e)
        # a timing error of ~1e-10 of t moves the pair by speed * dt: 2e-8 at a pericentre
        assert np.abs(pos[1] - pos[0] - exact).max() < 1e-9 * max(1.0, speed), t
    assert r.energy_error < 1e-10
    # the regularised orbit is a harmonic oscillator: a few dozen steps against hundreds
    plain = integrate(s, 2.5 * PERIOD, "dop853", rtol=1e-12)
    assert r.steps < 0.1 * plain.steps and plain.energy_error > 100 * r.energy_error


def test_pythagorean_problem_through_its_close_encounters():
    s = pythagorean()
    r = integrate(s, 70.0, "dop853", regularize="ks", rtol=1e-13)
    assert r.status == "done" and r.t == 70.0
    assert r.energy_error < 1e-10, r.energy_error
    assert r.angular_momentum_error < 1e-10 and r.com_drift < 1e-10
    # Szebehely & Peters (1967): bodies 1 and 2 (masses 4 and 5) end as a binary, body 0
    # (mass 3) escapes; the same outcome as gr15 at machine precision (the encounters amplify
    # differences of 1e-13 to ~1e-5 by t = 70: gr15 at epsilon 1e-9 and 1e-12 differ by 8e-6)
    ref = integrate(s, 70.0, "gr15")
    np.testing.assert_allclose(r.system.positions, ref.system.positions, atol=1e-3)
    x, v, m = r.system.positions, r.system.velocities, r.system.masses
    dv, dx = v[2] - v[1], x[2] - x[1]
    assert dv @ dv / 2 - (m[1] + m[2]) / np.linalg.norm(dx) < 0  # a bound binary
    assert np.linalg.norm(x[0]) > 10 * np.linalg.norm(dx)  # and the escaper far away


def test_perturbed_pair_in_three_dimensions_matches_gr15():
    # a tight eccentric binary perturbed by an inclined third body: every component of the
    # perturbation L^T(u) P enters (the planar problem leaves u3 = u4 = 0)
    s = System(
        [1.0, 0.8, 0.5],
        [[0.0, 0.0, 0.0], [0.05, 0.02, 0.03], [1.5, -0.4, 0.7]],
        [[0.0, 0.0, 0.0], [0.5, 4.0, -2.0], [-0.2, 0.5, 0.3]],
    ).to_com_frame()
    r = integrate(s, 3.0, "dop853", regularize="ks", rtol=1e-13)
    ref = integrate(s, 3.0, "gr15", epsilon=1e-10)
    assert r.energy_error < 1e-11 and ref.energy_error < 1e-13
    np.testing.assert_allclose(r.system.positions, ref.system.positions, atol=1e-9)
    np.testing.assert_allclose(r.system.velocities, ref.system.velocities, atol=1e-8)


def test_regularised_pair_is_chosen_anew_as_pairs_change():
    sim = Simulation(pythagorean(), "dop853", regularize="ks", rtol=1e-11)
    pairs = []
    for t in np.linspace(0.5, 70.0, 140):
        sim.evolve(t)
        segment = sim._y[0]
        pair = tuple(sorted(segment.order[:2].tolist()))
        if not pairs or pairs[-1] != pair:
            pairs.append(pair)
        i, j = segment.order[:2]  # the regularised pair is (within SWITCH) the closest one
        x = sim.system.positions
        d = [np.linalg.norm(x[a] - x[b]) for a, b in ((0, 1), (0, 2), (1, 2))]
        assert np.linalg.norm(x[i] - x[j]) * 0.5 <= min(d) * (1 + 1e-12)
    assert len(set(pairs)) >= 2 and len(pairs) > 10  # a new pair at every close approach


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(regularize="chain"), "regularize: unknown"),
        (dict(regularize="ks", coordinates="absolute"), "sets its own coordinates"),
        (dict(regularize="ks", softening=0.1), "softening is not supported"),
    ],
)
def test_bad_regularize_options(options, match):
    with pytest.raises(ValueError, match=match):
        integrate(pythagorean(), 1.0, "dop853", **options)
