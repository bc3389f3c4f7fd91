"""stepsize.nbody.integrate: convergence orders, conservation, reference solutions, events,
the online controller and bad input."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from stepsize.cli import main
from stepsize.nbody import (
    FIGURE_EIGHT_PERIOD,
    Simulation,
    System,
    figure_eight,
    integrate,
    kepler,
    pythagorean,
)
from stepsize.nbody._ode import Coordinates, gravity_rhs, pair_rhs

KEPLER = kepler(e=0.5)  # G = m1 = m2 = a = 1
PERIOD = 2 * math.pi / math.sqrt(2.0)


@pytest.mark.parametrize("n, d", [(2, 3), (3, 2), (5, 3)])
def test_pair_rhs_in_place_is_the_difference_of_the_accelerations(n, d):
    """``pair_rhs`` sums the accelerations in its own output before writing the pair
    derivatives over them (for N = 2 into the same slot): dw_p/dt = a_j - a_i with the
    accelerations of ``gravity_rhs`` in absolute coordinates, to rounding."""
    rng = np.random.default_rng(n)
    masses = rng.uniform(0.5, 2.0, n)
    pos, vel = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    coords = Coordinates("relative", masses, pos, vel)
    y = coords.state(pos, vel)
    out = np.full_like(y, np.nan)
    pair_rhs(0.0, y, out, tuple(masses), 1.0, 0.01)
    absolute = np.full(2 * n * d, np.nan)
    gravity_rhs(0.0, np.concatenate([pos.ravel(), vel.ravel()]), absolute, masses, 1.0, 0.01)
    acc = absolute[n * d :].reshape(n, d)
    half = y.size // 2
    want = np.concatenate([acc[j] - acc[i] for i, j in coords.pairs])
    np.testing.assert_allclose(out[:half], y[half:], rtol=0, atol=0)
    np.testing.assert_allclose(out[half:], want, rtol=1e-13, atol=1e-13 * np.abs(acc).max())


@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_runge_kutta_states_scan_as_positions_do(kind):
    """``Coordinates.at`` gives back the positions and velocities a state was made of (at a
    later time too: the centre of mass drifts), and ``scan_ode`` tracks the closest pair of
    each state as ``closest_pair`` finds it in those positions; with an encounter distance it
    stops at the first state inside it, with that state's positions."""
    from stepsize.nbody import _gravity as K
    from stepsize.nbody._ode import scan_ode

    rng = np.random.default_rng(3)
    n, d, m = 4, 3, 12
    masses = rng.uniform(0.5, 2.0, n)
    pos, vel = rng.normal(size=(m, n, d)), rng.normal(size=(m, n, d))
    for a in (pos, vel):  # one centre of mass and its velocity, as along a run
        a -= (masses @ a / masses.sum() - masses @ a[0] / masses.sum())[:, None, :]
    coords = Coordinates(kind, masses, pos[0], vel[0], t=1.5)
    ys = np.stack([coords.state(p, v) for p, v in zip(pos, vel)], axis=1)
    times = np.full(m, 1.5)  # the frame's time: the states convert back exactly
    for s in range(m):
        p, v = coords.at(ys[:, s], times[s])
        np.testing.assert_allclose(p, pos[s], rtol=0, atol=1e-14)
        np.testing.assert_allclose(v, vel[s], rtol=0, atol=1e-14)
    scal, cnt = np.zeros(K.N_SCAL), np.zeros(K.N_CNT, dtype=np.int64)
    scal[K.S_RMIN2], cnt[K.C_ARMED] = np.inf, 1
    par = np.zeros(K.N_PAR)
    bodies = (masses, par, scal, cnt, np.zeros(n, dtype=np.int8))
    out_p, out_v = np.zeros((n, d)), np.zeros((n, d))
    assert scan_ode(ys, times, 1, coords.frame, bodies, out_p, out_v) == -1
    closest = [K.closest_pair(pos[s]) for s in range(1, m)]
    i, j, r = min(closest, key=lambda c: c[2])
    assert math.sqrt(scal[K.S_RMIN2]) == pytest.approx(r, rel=1e-14)
    assert (cnt[K.C_RMINI], cnt[K.C_RMINJ]) == (i, j)
    first = next(s for s in range(1, m) if closest[s - 1][2] < np.median([c[2] for c in closest]))
    par[K.P_ENC2] = np.median([c[2] for c in closest]) ** 2
    assert scan_ode(ys, times, 1, coords.frame, bodies, out_p, out_v) == first
    assert cnt[K.C_STATUS] == K.ENCOUNTER
    np.testing.assert_allclose(out_p, pos[first], rtol=0, atol=1e-14)


def orders(errors):
    errors = np.asarray(errors)
    return np.log2(errors[:-1] / errors[1:])


def test_hermite4_fixed_step_is_fourth_order():
    errors = [
        np.abs(
            integrate(KEPLER, PERIOD, "hermite4", dt=PERIOD / n).system.positions - KEPLER.positions
        ).max()
        for n in (200, 400, 800)
    ]
    assert np.all((orders(errors) > 3.75) & (orders(errors) < 4.1)), errors


def test_hermite4_error_falls_as_eta_to_the_fourth():
    runs = [integrate(KEPLER, PERIOD, "hermite4", eta=eta) for eta in (0.02, 0.01, 0.005)]
    position = [np.abs(r.system.positions - KEPLER.positions).max() for r in runs]
    assert np.all(np.abs(orders(position) - 4.0) < 0.1), position
    # The time-symmetric corrector cancels the leading energy error over an orbit: eta^5.
    energy = [r.energy_error for r in runs]
    assert np.all(orders(energy) > 4.5), energy


def test_aarseth_criterion_error_falls_as_eta_to_two_and_a_half():
    # h ~ sqrt(eta): an error of h^5 per orbit is eta^2.5.
    errors = [
        integrate(KEPLER, 10 * PERIOD, "hermite4", eta=eta, criterion="aarseth").energy_error
        for eta in (0.02, 0.01, 0.005)
    ]
    assert np.all(np.abs(orders(errors) - 2.5) < 0.1), errors


def test_gbs_error_follows_the_tolerance_and_raises_the_order():
    errors, work = [], []
    for rtol in (1e-6, 1e-8, 1e-10, 1e-12):
        r = integrate(KEPLER, PERIOD, "gbs", rtol=rtol)
        errors.append(np.abs(r.system.positions - KEPLER.positions).max())
        work.append(r.force_evaluations)
    assert np.all(np.array(errors) < 30 * np.array([1e-6, 1e-8, 1e-10, 1e-12])), errors
    assert np.all(np.diff(np.log10(errors)) < 0.0)  # each tighter rtol pays off (down to
    assert errors[-1] < 1e-4 * errors[0]  # the rounding floor near 1e-12)
    assert work[-1] < 4 * work[0]  # high order: 1e6 times more accurate for < 4x the work


def test_leapfrog_is_second_order_with_bounded_energy_error():
    errors = [
        np.abs(
            integrate(KEPLER, PERIOD, "leapfrog", dt=PERIOD / n).system.positions - KEPLER.positions
        ).max()
        for n in (200, 400)
    ]
    assert abs(orders(errors)[0] - 2.0) < 0.05
    r = integrate(KEPLER, 100 * PERIOD, "leapfrog", dt=PERIOD / 200, save_every=PERIOD / 7)
    err = r.history.energy_error
    assert err[-70:].max() < 1.05 * err[:70].max() < 5e-3  # no secular drift over 100 orbits
    assert r.angular_momentum_error < 1e-12  # symplectic and central forces: L to rounding


def test_time_symmetric_leapfrog_has_no_energy_drift_on_an_eccentric_orbit():
    k9 = kepler(e=0.9)
    r = integrate(k9, 100 * PERIOD, "leapfrog", eta=0.02, save_every=PERIOD / 7)
    err = r.history.energy_error
    assert err[-70:].max() < 1.2 * err[:70].max() < 2e-3
    assert r.force_evaluations == r.steps + 1  # the symmetrised step costs no evaluation
    hermite = integrate(k9, 100 * PERIOD, "hermite4", eta=0.02, save_every=PERIOD / 7)
    assert hermite.history.energy_error[-70:].max() > 3 * hermite.history.energy_error[:70].max()


@pytest.mark.parametrize(
    "method, kw",
    [
        ("hermite4", dict(eta=0.005)),
        ("gbs", dict(rtol=1e-12)),
        ("dop853", dict(rtol=1e-12)),
        ("vern7", dict(rtol=1e-12)),
    ],
)
def test_figure_eight_returns_after_one_period(method, kw):
    s = figure_eight()
    r = integrate(s, FIGURE_EIGHT_PERIOD, method, **kw)
    assert r.success and r.t == FIGURE_EIGHT_PERIOD
    # The initial values and the period carry 8-9 digits.
    assert np.abs(r.system.positions - s.positions).max() < 1e-7
    assert np.abs(r.system.velocities - s.velocities).max() < 1e-7


@pytest.fixture(scope="module")
def pythagorean_reference():
    """SciPy's DOP853 at rtol = atol = 1e-13 through the first close encounter (t = 1.88)."""
    s = pythagorean()
    y0 = np.concatenate([s.positions.ravel(), s.velocities.ravel()])

    def rhs(t, y):
        out = np.empty_like(y)
        gravity_rhs(t, y, out, s.masses, 1.0, 0.0)
        return out

    ref = solve_ivp(
        rhs,
        (0, 2.5),
        y0,
        method="DOP853",
        rtol=1e-13,
        atol=1e-13,
        dense_output=True,
    )
    return ref.sol


@pytest.mark.parametrize(
    "method, kw, tol",
    [
        ("hermite4", dict(eta=0.003), 3e-10),
        ("hermite4", dict(eta=0.01), 3e-8),
        ("leapfrog", dict(eta=0.002), 5e-6),
        ("gbs", dict(rtol=1e-12), 1e-9),
        ("dop853", dict(rtol=1e-12), 1e-10),
        ("vern7", dict(rtol=1e-12), 1e-10),
    ],
)
def test_pythagorean_agrees_with_an_independent_solution(pythagorean_reference, method, kw, tol):
    r = integrate(pythagorean(), 2.5, method, save_every=0.25, **kw)
    ref = np.array([pythagorean_reference(t)[:6] for t in r.history.t])
    assert np.abs(r.history.positions.reshape(-1, 6) - ref).max() < tol
    assert r.min_distance == pytest.approx(0.0097, rel=2e-3)  # first encounter of masses 4, 5
    assert r.min_distance_pair == (1, 2)


def test_pythagorean_to_70_energy_error_and_escape():
    r = integrate(pythagorean(), 70.0, "dop853", rtol=3e-14)
    assert r.success and r.energy_error < 1e-11 and r.angular_momentum_error < 1e-10
    # Pair separations as variables keep the close encounters' relative accuracy.
    a = integrate(pythagorean(), 70.0, "dop853", rtol=3e-14, coordinates="absolute")
    assert a.success and a.energy_error > 100 * r.energy_error
    assert abs(a.force_evaluations / r.force_evaluations - 1) < 0.1
    h = integrate(pythagorean(), 70.0, "hermite4", eta=0.01)
    assert h.energy_error < 1e-5
    # Szebehely & Peters (1967): mass 3 escapes; masses 4 and 5 leave as a binary.
    for res in (
        integrate(pythagorean(), 70.0, "dop853", rtol=1e-12, escape_radius=5.0),
        integrate(pythagorean(), 70.0, "hermite4", eta=0.005, escape_radius=5.0),
    ):
        assert res.status == "escape" and res.success
        (event,) = res.events
        assert event.bodies == (0,) and 60.0 < event.t < 61.5 and event.distance > 5.0
        assert res.t == event.t < 70.0
        binary = System(res.system.masses[1:], res.system.positions[1:], res.system.velocities[1:])
        assert binary.energy() - binary.momentum() @ binary.momentum() / 18.0 < 0  # bound


def test_runge_kutta_safety_scales_the_steps_and_the_default_rarely_rejects():
    # The I controller takes h = safety h_opt: the step count scales as 1 / safety.
    orbit = (kepler(e=0.5), 20 * 2 * math.pi / math.sqrt(2), "dop853")
    runs = {s: integrate(*orbit, rtol=1e-10, safety=s) for s in (0.5, 0.8, 0.9)}
    assert 1.5 < runs[0.5].steps / runs[0.9].steps < 1.9
    assert runs[0.8].stats["options"]["safety"] == 0.8  # the default
    assert runs[0.8].stats["options"]["step_controller"] == "I"
    # DOP853 costs 12 evaluations an accepted step: at safety 0.9 (error steered to
    # 0.9^8 = 0.43 of the tolerance) many steps are redone, at 0.8 (0.17) few.
    assert runs[0.8].force_evaluations / runs[0.8].steps < 13.0
    assert runs[0.9].force_evaluations / runs[0.9].steps > 14.0
    assert runs[0.8].energy_error < 2e-8


def test_encounters_stop_or_are_recorded():
    stop = integrate(pythagorean(), 70.0, "hermite4", eta=0.005, encounter_distance=0.05)
    assert stop.status == "encounter" and stop.events[0].bodies == (1, 2)
    assert stop.t == stop.events[0].t == pytest.approx(1.87, abs=0.02)
    assert stop.system.closest_pair()[2] < 0.05
    rec = integrate(
        pythagorean(), 20.0, "dop853", rtol=1e-12, encounter_distance=0.05, on_event="record"
    )
    assert rec.status == "done" and rec.t == 20.0
    times = [e.t for e in rec.events]
    assert len(times) >= 3 and times == sorted(times) and times[0] == pytest.approx(1.87, abs=0.02)
    # The piecewise Simulation continues after a stop.
    sim = Simulation(pythagorean(), "hermite4", eta=0.005, encounter_distance=0.05)
    assert sim.evolve(20.0) == "encounter"
    assert sim.evolve(20.0) in ("encounter", "done")


def test_head_on_collision_stops_at_the_free_fall_time():
    # Two unit masses at rest 1 apart collide at t = pi/4 (radial Kepler orbit).
    s = System([1.0, 1.0], [[0.0, 0.0], [1.0, 0.0]], np.zeros((2, 2)))
    for method in ("hermite4", "leapfrog", "dop853"):
        r = integrate(s, 2.0, method)
        assert not r.success and r.status == "underflow"
        assert r.t == pytest.approx(math.pi / 4, abs=1e-6)
        assert np.all(np.isfinite(r.system.positions)) and r.min_distance < 1e-8
    soft = integrate(s, 2.0, "hermite4", softening=0.01)
    assert soft.success and soft.energy_error < 1e-4


def test_max_steps_and_max_energy_error_stop_the_run():
    r = integrate(pythagorean(), 10.0, "hermite4", max_steps=100)
    assert r.status == "max_steps" and not r.success and r.steps == 100 and r.t < 10.0
    r = integrate(pythagorean(), 70.0, "hermite4", eta=0.1, max_energy_error=1e-3, save_every=1.0)
    assert r.status == "energy" and not r.success and r.energy_error > 1e-3
    assert r.history.t[-1] == r.t and r.history.energy_error[-2] <= 1e-3


def test_piecewise_evolution_equals_integrate_with_the_same_output_times():
    whole = integrate(pythagorean(), 3.0, "hermite4", save_every=1.0)
    sim = Simulation(pythagorean(), "hermite4")
    for t in (1.0, 2.0, 3.0):
        sim.evolve(t)
    assert sim.system == whole.system and sim.steps == whole.steps
    assert sim.force_evaluations == whole.force_evaluations == whole.steps + 1


def test_controller_changes_the_accuracy_parameter_between_intervals():
    seen = []

    def halve(info):
        seen.append(info)
        return info.value / 2

    r = integrate(pythagorean(), 2.0, "hermite4", save_every=0.5, controller=halve)
    assert [i.interval for i in seen] == [0, 1, 2] and seen[0].parameter == "eta"
    assert [i.value for i in seen] == [0.03, 0.015, 0.0075]
    assert np.allclose(r.history.value, [0.03, 0.03, 0.015, 0.0075, 0.00375])
    assert r.stats["changes"] == [(0.5, 0.015), (1.0, 0.0075), (1.5, 0.00375)]
    assert seen[1].t == 1.0 and seen[1].energy_error >= 0 and seen[1].system.n_bodies == 3
    keep = integrate(pythagorean(), 2.0, "hermite4", save_every=0.5, controller=lambda i: None)
    plain = integrate(pythagorean(), 2.0, "hermite4", save_every=0.5)
    assert keep.system == plain.system
    tighter = integrate(
        pythagorean(), 2.0, "dop853", rtol=1e-6, save_every=0.5, controller=lambda i: 1e-10
    )
    assert tighter.stats["options"]["rtol"] == 1e-10
    assert tighter.stats["options"]["atol"] == pytest.approx(1e-10)
    gbs = integrate(
        pythagorean(), 2.0, "gbs", rtol=1e-6, save_every=0.5, controller=lambda i: i.value / 10
    )
    assert gbs.stats["options"]["rtol"] == pytest.approx(1e-9)
    assert gbs.stats["options"]["atol"] == pytest.approx(1e-9)
    with pytest.raises(ValueError, match="eta must be positive"):
        integrate(pythagorean(), 2.0, "hermite4", save_every=0.5, controller=lambda i: -1.0)


@pytest.mark.parametrize(
    "args, kwargs, err, match",
    [
        ((pythagorean(), 1.0, "rk4"), {}, ValueError, "method: unknown 'rk4'; known: hermite4"),
        ((pythagorean(), 1.0), dict(eta=0.0), ValueError, "eta must be positive"),
        ((pythagorean(), 1.0), dict(eta=0.1, dt=0.1), ValueError, "eta .* or dt"),
        ((pythagorean(), 1.0), dict(rtol=1e-8), TypeError, "takes no option 'rtol'"),
        ((pythagorean(), 1.0, "dop853"), dict(eta=0.1), TypeError, "takes no option 'eta'"),
        ((pythagorean(), 1.0), dict(criterion="x"), ValueError, "criterion: unknown 'x'"),
        ((pythagorean(), 1.0), dict(dt=0.1, criterion="aarseth"), ValueError, "criterion"),
        ((pythagorean(), -1.0), {}, ValueError, "t_end must be positive"),
        ((pythagorean(), np.nan), {}, ValueError, "t_end must be positive"),
        ((pythagorean(), 1.0), dict(softening=-1.0), ValueError, "softening"),
        ((pythagorean(), 1.0), dict(on_event="ignore"), ValueError, "on_event"),
        ((pythagorean(), 1.0), dict(max_steps=0), ValueError, "max_steps"),
        ((pythagorean(), 1.0), dict(encounter_distance=-1), ValueError, "encounter_distance"),
        ((pythagorean(), 1.0), dict(save_every=0.0), ValueError, "save_every"),
        ((pythagorean(), 1.0), dict(controller=lambda i: None), ValueError, "save_every"),
        ((pythagorean(), 1.0), dict(controller=3, save_every=0.5), TypeError, "callable"),
        ((np.ones(3), 1.0), {}, TypeError, "system must be"),
        ((pythagorean(), 1.0, "dop853"), dict(step_controller="X"), ValueError, "step_contr"),
        ((pythagorean(), 1.0, "dop853"), dict(safety=0.0), ValueError, "safety"),
        ((pythagorean(), 1.0, "dop853"), dict(safety=1.5), ValueError, "safety"),
        ((pythagorean(), 1.0), dict(safety=0.8), TypeError, "takes no option 'safety'"),
    ],
)
def test_bad_input_names_the_argument(args, kwargs, err, match):
    with pytest.raises(err, match=match):
        integrate(*args, **kwargs)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shift=st.floats(-100, 100),
    method=st.sampled_from(["hermite4", "leapfrog", "dop853"]),
)
def test_momentum_is_conserved_and_a_shift_moves_the_result(seed, shift, method):
    rng = np.random.default_rng(seed)  # fixed masses: the compiled Runge-Kutta rhs is reused
    s = System([1.0, 2.0, 0.5, 1.5], rng.uniform(-1, 1, (4, 3)), rng.normal(0, 0.3, (4, 3)))
    if s.closest_pair()[2] < 0.2:
        return
    r = integrate(s, 0.5, method)
    p_scale = np.abs(s.masses[:, None] * r.system.velocities).sum()
    assert np.abs(r.system.momentum() - s.momentum()).max() < 1e-12 * p_scale
    assert r.com_drift < 1e-12 * (1 + np.abs(s.positions).max() + p_scale)
    moved = integrate(s.replace(positions=s.positions + shift), 0.5, method)
    assert moved.steps == r.steps
    assert np.allclose(
        moved.system.positions - shift, r.system.positions, rtol=0, atol=1e-9 * (1 + abs(shift))
    )


def test_cli_runs_and_rejects_bad_arguments(capsys, tmp_path):
    assert (
        main(
            [
                "nbody",
                "--problem",
                "figure-eight",
                "--method",
                "hermite4,dop853",
                "--t-end",
                "1",
                "--save-every",
                "0.1",
                "--json",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in rows] == ["hermite4", "dop853"]
    assert all(r["status"] == "done" and r["energy_error"] < 1e-6 for r in rows)
    assert (tmp_path / "nbody_run.json").exists() and (tmp_path / "nbody_run.png").exists()
    assert (
        main(["nbody", "--problem", "paper", "--ensemble", "4", "--t-end", "1", "--seed", "3"]) == 0
    )
    assert "4/4 done" in capsys.readouterr().out
    assert main(["nbody", "--method", "rk4"]) == 2
    assert main(["nbody", "--method", "gbs", "--eta", "0.1"]) == 2
    assert main(["nbody", "--problem", "moon"]) == 2
    assert "--problem: unknown 'moon'" in capsys.readouterr().err
