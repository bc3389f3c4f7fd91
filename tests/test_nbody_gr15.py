"""The 15th-order Gauss-Radau integrator ``gr15``: its tableau against its definitions, its
order, Kepler orbits to machine precision, the step criteria and REBOUND's IAS15 (if installed)."""

import math

import numpy as np
import pytest
from numpy.polynomial import legendre

from stepsize.nbody import (
    FIGURE_EIGHT_PERIOD,
    Simulation,
    figure_eight,
    integrate,
    kepler,
    outer_solar_system,
    pythagorean,
)
from stepsize.nbody._gravity import P_ETA
from stepsize.nbody._radau import RR, SHIFT, C, D, H

PERIOD = 2 * math.pi / math.sqrt(2.0)  # kepler(): G = m1 = m2 = a = 1

# Everhart (1985) / Rein & Spiegel (2015) Gauss-Radau spacings, 30 digits as published.
PUBLISHED_H = [
    0.0562625605369221464656521910318,
    0.180240691736892364987579942780,
    0.352624717113169637373907769648,
    0.547153626330555383001448554766,
    0.734210177215410531523210605558,
    0.885320946839095768090359771030,
    0.977520613561287501891174488626,
]


def test_spacings_are_the_gauss_radau_nodes():
    assert H[0] == 0.0
    np.testing.assert_allclose(H[1:], PUBLISHED_H, rtol=2e-16, atol=0)
    p78 = legendre.Legendre.basis(7) + legendre.Legendre.basis(8)
    assert np.abs(p78(2 * H[1:] - 1)).max() < 1e-13
    assert np.all(np.diff(H) > 0)


def test_newton_and_monomial_forms_agree():
    rng = np.random.default_rng(1)
    g = rng.normal(size=7)
    b = C @ g
    np.testing.assert_allclose(D @ b, g, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(C @ D, np.eye(7), atol=2e-15)
    for h in rng.uniform(0, 1, 5):
        newton = sum(g[n] * np.prod([h - H[k] for k in range(n + 1)]) for n in range(7))
        monomial = sum(b[k] * h ** (k + 1) for k in range(7))
        assert abs(newton - monomial) < 1e-13 * np.abs(g).sum()
    # divided differences recover g from samples of the polynomial at the nodes
    a = [sum(b[k] * h ** (k + 1) for k in range(7)) for h in H]
    for s in range(1, 8):
        gs = (a[s] - a[0]) * RR[s, 0]
        for m in range(1, s):
            gs = (gs - g[m - 1]) * RR[s, m]
        assert abs(gs - g[s - 1]) < 1e-10 * np.abs(g).max()


def test_shift_continues_the_polynomial():
    rng = np.random.default_rng(2)
    b = rng.normal(size=7)
    q = 1.7
    shifted = q ** np.arange(1, 8) * (SHIFT @ b)
    for s in (0.2, 0.9):
        direct = sum(b[k] * ((1 + q * s) ** (k + 1) - 1) for k in range(7))
        assert abs(direct - sum(shifted[k] * s ** (k + 1) for k in range(7))) < 1e-12


def test_fixed_step_is_fifteenth_order():
    k = kepler(e=0.1)
    ns = (5, 6, 7, 8)
    errors = [
        np.abs(
            integrate(k, PERIOD, "gr15", epsilon=0, dt=PERIOD / n).system.positions - k.positions
        ).max()
        for n in ns
    ]
    orders = np.log(np.array(errors[:-1]) / errors[1:]) / np.log(np.array(ns[1:]) / ns[:-1])
    assert np.all(orders > 11.5), (errors, orders)
    assert orders[-1] > 13.5


@pytest.mark.parametrize("e", [0.0, 0.5, 0.9, 0.99])
def test_kepler_orbits_return_at_machine_precision(e):
    k = kepler(e=e, ndim=3)
    r = integrate(k, 10 * PERIOD, "gr15")
    assert r.status == "done" and r.success
    assert r.energy_error < 1e-14
    assert r.angular_momentum_error < 1e-14
    # after ten periods the binary is back at pericentre; the phase error grows with e
    assert np.abs(r.system.positions - k.positions).max() < (3e-13 if e < 0.9 else 1e-10)
    assert r.com_drift < 1e-14


def test_energy_error_stays_at_rounding_level_over_a_thousand_orbits():
    r = integrate(kepler(e=0.5), 1000 * PERIOD, "gr15")
    assert r.energy_error < 2e-14, r.energy_error
    assert r.angular_momentum_error < 2e-14


def test_outer_solar_system_to_machine_precision():
    r = integrate(outer_solar_system().to_com_frame(), 1e5, "gr15")
    # double-double state: the rounding of ~860 steps adds up to a few eps, not sqrt(860) eps
    assert r.energy_error < 2e-15, r.energy_error
    assert 700 < r.steps < 1000  # about 11.6 days per step, as IAS15 takes


def test_close_encounters_keep_their_relative_accuracy():
    # the Pythagorean problem: pairs within 4e-4 at |x| ~ 1; separations from the
    # double-double positions keep the energy near rounding level (IAS15: 3e-11 at 1e-9)
    r = integrate(pythagorean(), 70.0, "gr15", epsilon=1e-9)
    assert r.min_distance < 1e-3
    assert r.energy_error < 1e-12, r.energy_error


@pytest.mark.parametrize("epsilon", [1e-8, 1e-9])
def test_figure_eight_returns_at_the_limit_of_its_initial_conditions(epsilon):
    # the middle body starts with a = 0 exactly: its a/j time scale vanishes (the guard)
    f = figure_eight()
    r = integrate(f, FIGURE_EIGHT_PERIOD, "gr15", epsilon=epsilon)
    assert r.status == "done" and r.energy_error < 1e-14
    # 8-digit initial conditions and period: the orbit closes to ~3e-8, not better
    assert 1e-8 < np.abs(r.system.positions - f.positions).max() < 1e-7


def test_global_criterion_and_epsilon_trade_steps_for_accuracy():
    k = kepler(e=0.9)
    loose = integrate(k, 10 * PERIOD, "gr15", epsilon=1e-6)
    tight = integrate(k, 10 * PERIOD, "gr15", epsilon=1e-9)
    glob = integrate(k, 10 * PERIOD, "gr15", adaptive="global")
    assert loose.steps < tight.steps
    assert glob.energy_error < 1e-13 and glob.success
    assert glob.stats["options"]["adaptive"] == "global"


def test_epsilon_can_change_between_evolve_calls():
    sim = Simulation(pythagorean(), "gr15")
    assert (sim.parameter, sim.value) == ("epsilon", 1e-9)
    sim.evolve(5.0)
    steps = sim.steps
    sim.value = 1e-6
    sim.evolve(10.0)
    assert sim._par[P_ETA] == 1e-6
    ref = Simulation(pythagorean(), "gr15")
    ref.evolve(10.0)
    assert sim.steps - steps < ref.steps - steps


def test_encounter_event_stops_gr15():
    r = integrate(pythagorean(), 70.0, "gr15", encounter_distance=0.05)
    assert r.status == "encounter" and r.events[0].kind == "encounter"
    assert r.events[0].distance < 0.05


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(epsilon=-1.0), "epsilon must be >= 0"),
        (dict(epsilon="tight"), "epsilon must be a number"),
        (dict(epsilon=0.0), "needs dt"),
        (dict(adaptive="local"), "adaptive: unknown 'local'"),
        (dict(eta=0.1), "takes no option 'eta'"),
    ],
)
def test_bad_gr15_options_name_the_argument(options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        integrate(kepler(), 1.0, "gr15", **options)


def test_step_sequence_matches_rebound_ias15():
    rebound = pytest.importorskip("rebound")
    k = kepler(e=0.99, ndim=3)
    sim = rebound.Simulation()
    for m, x, v in zip(k.masses, k.positions, k.velocities, strict=True):
        sim.add(m=m, x=x[0], y=x[1], z=x[2], vx=v[0], vy=v[1], vz=v[2])
    sim.integrator = "ias15"
    sim.integrate(10 * PERIOD, exact_finish_time=1)
    r = integrate(k, 10 * PERIOD, "gr15")
    assert abs(r.steps - sim.steps_done) <= 0.01 * sim.steps_done
    ours = r.system.positions
    theirs = np.array([[p.x, p.y, p.z] for p in sim.particles])
    assert np.abs(ours - theirs).max() < 1e-10
