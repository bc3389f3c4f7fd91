"""Wisdom-Holman (``wh``): the Kepler solver, second order, symplectic correctors, both
coordinate systems, test particles and bad input."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepsize.nbody import Simulation, from_elements, integrate, outer_solar_system, to_elements
from stepsize.nbody._elements import orbit_state, true_from_mean
from stepsize.nbody._kepler import N_WORK, W_IR, kepler_drift, kepler_row, kepler_rows, stumpff
from stepsize.nbody._wh import corrector_coefficients, corrector_program

OSS = outer_solar_system().to_com_frame()


def test_stumpff_functions_match_closed_forms():
    for z in (1e-3, 0.5, 7.0, 300.0):
        w = math.sqrt(z)
        want = (math.cos(w), math.sin(w) / w, (1 - math.cos(w)) / z, (w - math.sin(w)) / w**3)
        np.testing.assert_allclose(stumpff(z), want, rtol=1e-12)
        w = math.sqrt(z)
        want = (math.cosh(w), math.sinh(w) / w, (math.cosh(w) - 1) / z, (math.sinh(w) - w) / w**3)
        np.testing.assert_allclose(stumpff(-z), want, rtol=1e-12)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    e=st.one_of(st.floats(0.0, 0.99), st.floats(1.01, 8.0)),
    M0=st.floats(-3.0, 3.0),
    dt=st.one_of(st.floats(-30.0, -1e-3), st.floats(1e-3, 30.0)),
    angles=st.tuples(st.floats(0, 3), st.floats(0, 6), st.floats(0, 6)),
)
def test_kepler_drift_follows_the_mean_anomaly(e, M0, dt, angles):
    mu = 1.7
    a = 1.0 if e < 1 else -1.0
    n = math.sqrt(mu / abs(a) ** 3)
    x, v = orbit_state(mu, a, e, *angles, true_from_mean(M0, e))
    want_x, want_v = orbit_state(mu, a, e, *angles, true_from_mean(M0 + n * dt, e))
    kepler_drift(x, v, mu, dt)
    # Kepler's equation is ill-conditioned near pericentre of very eccentric orbits
    tol = 1e-12 * (1 + abs(n * dt)) / (1 - min(e, 0.99)) ** 1.5
    assert np.abs(x - want_x).max() <= tol * np.abs(want_x).max()
    assert np.abs(v - want_v).max() <= tol * np.abs(want_v).max()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    e=st.lists(
        st.one_of(st.floats(0.0, 0.3), st.floats(0.3, 0.999), st.floats(1.01, 5.0)),
        min_size=1,
        max_size=6,
    ),  # fmt: skip
    dt=st.one_of(st.floats(-20.0, -1e-4), st.floats(1e-4, 20.0)),
    M0=st.floats(-3.0, 3.0),
)
def test_kepler_rows_in_lockstep_equal_one_row_at_a_time(e, dt, M0):
    # planetary rows (one Halley step, lockstep) mixed with rows that need the bracketed
    # iteration (hyperbolic, near-parabolic, long steps): the same orbit to rounding
    mu = np.linspace(1.0, 2.0, len(e) + 1)
    x = np.zeros((len(e) + 1, 3))
    v = np.zeros_like(x)
    for i, ei in enumerate(e, start=1):
        x[i], v[i] = orbit_state(mu[i], 1.0 if ei < 1 else -1.0, ei, 0.3, 1.0, 2.0 * i,
                                 true_from_mean(M0 + i, ei))  # fmt: skip
    xr, vr = x.copy(), v.copy()
    work = np.zeros((N_WORK, x.shape[0]))
    kepler_rows(x, v, mu, dt, work)
    for i in range(1, x.shape[0]):
        ir = kepler_row(xr, vr, i, mu[i], dt)
        scale_x, scale_v = np.abs(xr[i]).max(), np.abs(vr[i]).max()
        tol = 1e-13 / (1 - min(e[i - 1], 0.999)) ** 1.5 * (1 + abs(dt))
        assert np.abs(x[i] - xr[i]).max() <= tol * scale_x
        assert np.abs(v[i] - vr[i]).max() <= tol * scale_v
        # 1 / r at the end, from Kepler's equation, is that of the new position
        assert work[W_IR, i] == pytest.approx(1 / np.linalg.norm(x[i]), rel=1e-14)
        assert ir == pytest.approx(1 / np.linalg.norm(xr[i]), rel=1e-14)


def test_two_bodies_are_exact_up_to_rounding():
    s = from_elements([1.0, 1e-3], 1.0, 0.9, 0.3, f=0.0)
    period = 2 * math.pi / math.sqrt(1.001)
    fine = integrate(s, 10 * period, "wh", dt=period / 37)
    assert fine.energy_error < 1e-13
    el = to_elements(fine.system)
    # the phase follows the time, a sum of 370 steps (~1e-12), times df/dt ~ 40 at pericentre
    assert abs(el.a[0] - 1.0) < 1e-13 and abs(math.remainder(el.f[0], 2 * math.pi)) < 5e-10
    # a few huge steps: the interaction is zero up to the rounding of the star's pull
    # (~ eps G M / r_peri^2 per kick), no truncation error
    coarse = integrate(s, 10 * period, "wh", dt=period / 3.7)
    assert coarse.energy_error < 1e-11


@pytest.mark.parametrize("coordinates", ["jacobi", "democratic_heliocentric"])
def test_second_order_energy_error(coordinates):
    errors = [
        integrate(OSS, 2e4, "wh", dt=dt, coordinates=coordinates).energy_error
        for dt in (100.0, 50.0)
    ]
    assert 3.5 < errors[0] / errors[1] < 4.5, errors
    assert errors[0] < 2e-7


def test_correctors_remove_the_first_order_error():
    plain = integrate(OSS, 2e4, "wh", dt=50.0).energy_error
    errors = {k: integrate(OSS, 2e4, "wh", dt=50.0, corrector=k).energy_error for k in (3, 11)}
    assert errors[3] < plain / 300, (plain, errors)
    assert errors[11] < plain / 300
    # corrected, the error is of second order in the planetary masses and still ~ dt^2
    assert integrate(OSS, 2e4, "wh", dt=25.0, corrector=11).energy_error < errors[11] / 3


def test_corrector_coefficients_solve_their_conditions():
    ((a, b),) = corrector_coefficients(3)
    assert abs(a - math.sqrt(7 / 40)) < 1e-16 and abs(b + 1 / (48 * a)) < 1e-16
    # the series (x/2)/sinh(x/2) = 1 + sum_n t_n x^(2n) (Abramowitz & Stegun 4.5.65, x -> x/2)
    t = [-1 / 24, 7 / 5760, -31 / 967680, 127 / 154828800, -73 / 3503554560]
    for order in (5, 7, 9, 11):
        pairs = corrector_coefficients(order)
        assert len(pairs) == (order - 1) // 2
        # 2 sum_i beta_i alpha_i^m / m! must equal t_n, m = 2n - 1, for m < order - 1
        for n in range(1, len(pairs) + 1):
            m = 2 * n - 1
            got = sum(2 * b * a**m for a, b in pairs) / math.factorial(m)
            assert abs(got - t[n - 1]) < 1e-13 * abs(t[n - 1]), (order, m)
    drift, kick = corrector_program(5)
    inv_drift, inv_kick = corrector_program(5, inverse=True)
    assert drift.sum() == pytest.approx(0.0, abs=1e-15) and kick[-1] == 0.0
    np.testing.assert_allclose(inv_kick[:-1], -kick[-2::-1])


def test_output_times_do_not_change_the_mapping():
    one = integrate(OSS, 1e4, "wh", dt=50.0, corrector=7)
    sim = Simulation(OSS, "wh", dt=50.0, corrector=7)
    for t in np.arange(1000.0, 10001.0, 1000.0):
        sim.evolve(t)
    np.testing.assert_allclose(sim.system.positions, one.system.positions, rtol=0, atol=1e-12)
    assert sim.steps == one.steps == 200


def test_changing_dt_between_calls():
    sim = Simulation(OSS, "wh", dt=100.0, corrector=5)
    sim.evolve(5000.0)
    sim.value = 25.0
    sim.evolve(10000.0)
    assert sim.steps == 50 + 200
    assert sim.energy_error < 1e-10


def test_test_particles_in_both_coordinates():
    masses = np.concatenate([OSS.masses[:3], np.zeros(5)])
    a = [5.2, 9.5, 20.0, 25.0, 30.0, 35.0, 40.0]
    e = [0.05, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1]
    f = [0.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    massive = from_elements(OSS.masses[:3], a[:2], e[:2], f=f[:2], G=OSS.G, coordinates="jacobi")
    full = from_elements(masses, a, e, f=f, G=OSS.G, coordinates="jacobi")
    assert np.array_equal(full.positions[:3], massive.positions)
    for coordinates in ("jacobi", "democratic_heliocentric"):
        a = integrate(massive, 2e4, "wh", dt=50.0, coordinates=coordinates)
        b = integrate(full, 2e4, "wh", dt=50.0, coordinates=coordinates)
        np.testing.assert_allclose(b.system.positions[:3], a.system.positions, rtol=0, atol=1e-13)
        assert b.success and np.all(to_elements(b.system).e[2:] < 0.2)


@pytest.mark.parametrize(
    "options, match",
    [
        ({}, "give dt"),
        (dict(dt=10.0, coordinates="helio"), "coordinates: unknown 'helio'"),
        (dict(dt=10.0, corrector=4), "corrector must be one of"),
        (dict(dt=10.0, corrector=3, coordinates="democratic_heliocentric"), "needs coordinates"),
        (dict(dt=10.0, escape_radius=100.0), "escape_radius is not supported"),
        (dict(dt=10.0, eta=0.1), "takes no option 'eta'"),
    ],
)
def test_bad_wh_options_name_the_argument(options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        integrate(OSS, 100.0, "wh", **options)


@pytest.mark.parametrize("corrector", [0, 5, 11])
def test_matches_rebound_whfast(corrector):
    rebound = pytest.importorskip("rebound")
    sim = rebound.Simulation()
    sim.G = OSS.G
    for m, x, v in zip(OSS.masses, OSS.positions, OSS.velocities, strict=True):
        sim.add(m=m, x=x[0], y=x[1], z=x[2], vx=v[0], vy=v[1], vz=v[2])
    sim.integrator = "whfast"
    sim.dt = 50.0
    sim.integrator.corrector = corrector
    e0 = sim.energy()
    sim.integrate(2e4, exact_finish_time=0)
    sim.synchronize()
    theirs = np.array([[p.x, p.y, p.z] for p in sim.particles])
    r = integrate(OSS, 2e4, "wh", dt=50.0, corrector=corrector)
    assert r.steps == sim.steps_done and r.t == pytest.approx(sim.t)
    assert np.abs(r.system.positions - theirs).max() < 1e-9
    err = abs((sim.energy() - e0) / e0)
    assert abs(r.energy_error - err) < 0.05 * err + 1e-15


def test_cli_runs_wh_and_gr15_on_the_outer_solar_system(capsys):
    from stepsize.cli import main

    argv = ["nbody", "--problem", "outer-solar-system", "--method", "wh,gr15", "--t-end", "1e4"]
    assert main(argv + ["--dt", "50", "--corrector", "5", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in rows] == ["wh", "gr15"]
    assert rows[0]["energy_error"] < 1e-10 and rows[1]["energy_error"] < 1e-14
    assert main(argv + ["--corrector", "4"]) == 2  # a clear error, not a traceback


@pytest.mark.parametrize("ndim, softening", [(3, 0.0), (3, 0.01), (2, 0.0)])
def test_pair_row_accelerations_equal_the_one_pass_loop_to_the_bit(ndim, softening):
    """``wh``'s force loop is ``_gravity.accelerations`` over a pair-row scratch: separations and
    G / r^3 first, then the sums; the same numbers as the one-pass loop of the other methods."""
    from stepsize.nbody._gravity import PAIR_ROWS, accelerations

    rng = np.random.default_rng(7)
    n = 9
    pos, masses = rng.normal(size=(n, ndim)), rng.uniform(0.1, 1.0, n)
    plain, rowed = np.empty((n, ndim)), np.empty((n, ndim))
    work = np.empty((PAIR_ROWS, n * (n - 1) // 2))
    a = accelerations(pos, masses, 1.3, softening**2, plain)
    b = accelerations(pos, masses, 1.3, softening**2, rowed, work)
    assert a == b
    assert np.array_equal(plain, rowed)
    r = pos[None, :, :] - pos[:, None, :]  # r[i, j] = x_j - x_i
    s2 = np.sum(r**2, axis=2) + softening**2
    np.fill_diagonal(s2, np.inf)  # no self-force
    inv3 = s2**-1.5
    direct = 1.3 * np.einsum("j,ij,ijk->ik", masses, inv3, r)
    assert np.allclose(plain, direct, rtol=1e-12, atol=1e-14)
