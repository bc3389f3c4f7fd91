"""Collisions with radii: "stop" reports the pair, "merge" conserves mass, momentum and the
centre of mass."""

import functools

import numpy as np
import pytest

from stepsize.nbody import Simulation, System, integrate, pythagorean


def test_stop_reports_status_and_pair():
    r = integrate(pythagorean(), 70.0, "gr15", radii=[0.05, 0.05, 0.05], collision="stop")
    assert r.status == "collision" and r.success
    (event,) = r.events
    assert event.kind == "collision" and event.bodies == (1, 2)
    assert event.distance < 0.1 and r.t == event.t
    # the integration up to the collision was not disturbed
    free = integrate(pythagorean(), r.t, "gr15")
    np.testing.assert_allclose(r.system.positions, free.system.positions, atol=1e-9)


def test_merge_conserves_mass_momentum_and_centre_of_mass():
    s = System(
        [1.0, 0.5, 1e-3, 0.0],
        [[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, -4.0, 0.1]],
        [[0.0, -0.1, 0.05], [0.0, 0.2, -0.1], [0.5, 0.0, 0.0], [0.4, 0.0, 0.0]],
    )
    p0, l0 = s.momentum(), s.angular_momentum()
    x0, v0 = s.center_of_mass()
    sim = Simulation(s, "gr15", radii=[0.4, 0.3, 0.01, 0.0], collision="merge")
    sim.evolve(3.0)  # bodies 0 and 1 fall together at t ~ 1
    assert sim.status == "done"
    (event,) = sim.events
    assert event.kind == "collision" and event.bodies == (0, 1)
    out = sim.system
    assert out.n_bodies == 4 - len(sim.events)
    assert abs(out.total_mass - s.total_mass) < 1e-15
    np.testing.assert_allclose(out.momentum(), p0, atol=1e-14)
    x, v = out.center_of_mass()
    np.testing.assert_allclose(x, x0 + v0 * sim.t, atol=1e-12)
    assert np.max(np.abs(out.angular_momentum() - l0)) > 1e-6  # the orbital part is lost
    # measured against E0 less what the merger removed (99.8% of it): the error is at the
    # rounding level of the energy before the merger
    assert sim.energy_error * abs(out.energy()) < 1e-15 * abs(s.energy())
    merged = sim.options.radii[0]
    assert merged == pytest.approx((0.4**3 + 0.3**3) ** (1 / 3))


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(radii=[0.1, 0.1, 0.1]), "needs both radii and collision"),
        (dict(collision="stop"), "needs both radii and collision"),
        (dict(radii=[0.1, 0.1], collision="stop"), "one entry per body"),
        (dict(radii=[0.1, -0.1, 0.1], collision="merge"), "radii must be"),
        (dict(radii=[0.1, 0.1, 0.1], collision="bounce"), "collision must be"),
    ],
)
def test_bad_collision_options(options, match):
    with pytest.raises(ValueError, match=match):
        Simulation(pythagorean(), "gr15", **options)


def test_merge_with_history_is_refused():
    with pytest.raises(ValueError, match="save_every cannot follow mergers"):
        integrate(pythagorean(), 1.0, "gr15", radii=[0.1] * 3, collision="merge", save_every=0.5)


FALLING = System(
    [1.0, 0.5, 1e-3, 0.0],
    [[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, -4.0, 0.1]],
    [[0.0, -0.1, 0.05], [0.0, 0.2, -0.1], [0.5, 0.0, 0.0], [0.4, 0.0, 0.0]],
)
RADII = [0.4, 0.3, 0.01, 0.0]
OTHERS = [
    ("hermite4", dict(eta=0.01)),
    ("leapfrog", dict(eta=0.003)),
    ("gbs", {}),
    ("wh", dict(dt=0.01)),
    ("dop853", {}),
    ("dp5", dict(coordinates="absolute")),
    ("dop853", dict(regularize="ks")),
    ("archain", {}),
]


def test_merging_down_to_one_body():
    # two mergers in the Pythagorean problem with large radii: the last body moves on alone
    r = integrate(pythagorean(), 5.0, "archain", radii=[0.05] * 3, collision="merge")
    assert r.success and r.t == 5.0 and r.system.n_bodies == 1
    assert [e.bodies for e in r.events] == [(1, 2), (0, 1)]
    np.testing.assert_allclose(r.system.positions, 0.0, atol=1e-12)  # the centre of mass


@functools.cache
def contact_time():
    """When bodies 0 and 1 of FALLING first touch (separation 0.7), by bisection on gr15."""
    lo, hi = 2.0, 3.0

    def gap(t):
        x = integrate(FALLING, t, "gr15").system.positions
        return np.linalg.norm(x[1] - x[0]) - 0.7

    assert gap(lo) > 0 > gap(hi)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if gap(mid) > 0 else (lo, mid)
    return hi


@pytest.mark.parametrize("method, options", OTHERS)
def test_every_method_stops_at_the_step_the_bodies_overlap(method, options):
    t_contact = contact_time()
    r = integrate(FALLING, 3.0, method, radii=RADII, collision="stop", **options)
    assert r.status == "collision"
    (event,) = r.events
    assert event.bodies == (0, 1) and event.distance < 0.7 and event.t == r.t
    # found at the end of the step that crossed the contact: within a step of it (gbs, high
    # order, steps from 2.43 to 2.66 across it)
    assert t_contact <= r.t < t_contact + 0.25


@pytest.mark.parametrize("method, options", OTHERS)
def test_every_method_merges_conserving_mass_and_momentum(method, options):
    sim = Simulation(FALLING, method, radii=RADII, collision="merge", **options)
    assert sim.evolve(3.0) == "done" and sim.t == pytest.approx(3.0, abs=0.005)
    out = sim.system
    assert out.n_bodies == 3 and [e.bodies for e in sim.events] == [(0, 1)]
    assert abs(out.total_mass - FALLING.total_mass) < 1e-15
    np.testing.assert_allclose(out.momentum(), FALLING.momentum(), atol=1e-14)
    x, _ = out.center_of_mass()
    x0, v0 = FALLING.center_of_mass()
    np.testing.assert_allclose(x, x0 + v0 * sim.t, atol=1e-10)


def test_contact_check_does_not_take_encounter_distance_as_well():
    with pytest.raises(ValueError, match="encounter_distance or radii"):
        integrate(FALLING, 1.0, "hermite4", radii=RADII, collision="stop", encounter_distance=1)
