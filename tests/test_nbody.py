"""stepsize.nbody: System, units, initial conditions and the compiled kernels."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stepsize import nbody
from stepsize.nbody import System, kepler, paper_three_body, pythagorean, units
from stepsize.nbody import _gravity as K

# ----- System ------------------------------------------------------------------------------


def test_pythagorean_energy_is_the_closed_form():
    # Pairs 3-4, 3-5, 4-5 at distances 5, 4, 3: E = -(12/5 + 15/4 + 20/3) = -769/60.
    s = pythagorean()
    assert s.energy() == pytest.approx(-769 / 60, rel=1e-15)
    assert np.allclose(s.center_of_mass()[0], 0.0)
    assert s.closest_pair() == (1, 2, 3.0)


def test_figure_eight_has_zero_momentum_and_angular_momentum():
    s = nbody.figure_eight()
    assert np.abs(s.momentum()).max() < 1e-15
    assert np.abs(s.angular_momentum()).max() < 1e-8


def test_kepler_energy_and_angular_momentum():
    # E = -G m1 m2 / (2a); |L| = mu sqrt(G M a (1 - e^2)).
    s = kepler(e=0.6, a=2.0, masses=(1.0, 0.5), G=3.0, ndim=3)
    mu = 1.0 * 0.5 / 1.5
    assert s.energy() == pytest.approx(-3.0 * 0.5 / 4.0, rel=1e-14)
    assert np.linalg.norm(s.angular_momentum()) == pytest.approx(
        mu * math.sqrt(3.0 * 1.5 * 2.0 * (1 - 0.36)), rel=1e-14
    )


def test_system_is_immutable_and_copies_its_input():
    pos = np.array([[0.0, 0.0], [1.0, 0.0]])
    s = System([1.0, 1.0], pos, np.zeros((2, 2)))
    pos[0, 0] = 5.0
    assert s.positions[0, 0] == 0.0
    with pytest.raises(ValueError):
        s.positions[0, 0] = 1.0
    with pytest.raises(AttributeError):
        s.G = 2.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(masses=[1.0, -1.0]), "masses must be >= 0"),
        (dict(masses=[0.0, 0.0]), "at least one positive"),
        (dict(masses=[1.0]), "masses must be a 1-D array of at least 2"),
        (dict(positions=[[0.0, np.nan], [1.0, 0.0]]), "positions must be finite"),
        (dict(velocities=[[0.0, np.inf], [1.0, 0.0]]), "velocities must be finite"),
        (dict(positions=[[1.0, 2.0], [1.0, 2.0]]), "bodies 0 and 1 coincide"),
        (dict(positions=[[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]), "positions must have"),
        (dict(velocities=np.zeros((3, 2))), r"velocities must have shape \(2, 2\)"),
        (dict(G=0.0), "G must be positive"),
        (dict(masses="heavy"), "masses must be an array of real numbers"),
    ],
)
def test_bad_systems_name_the_argument(kwargs, match):
    base = dict(masses=[1.0, 2.0], positions=[[0.0, 0.0], [1.0, 0.0]], velocities=np.zeros((2, 2)))
    with pytest.raises((ValueError, TypeError), match=match):
        System(**{**base, **kwargs})


def test_to_com_frame():
    s = System([1.0, 3.0], [[0.0, 0.0], [4.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]]).to_com_frame()
    x, v = s.center_of_mass()
    assert np.allclose(x, 0.0) and np.allclose(v, 0.0)
    assert s.positions[0, 0] == -3.0


# ----- units ---------------------------------------------------------------------------------


def test_astronomical_units():
    # yr = 2 pi sqrt(au^3 / GM_sun) = 365.2569 d with IAU au and nominal GM_sun.
    assert units.YEAR_S / 86400.0 == pytest.approx(365.2569, abs=1e-4)
    assert units.kms_to_au_per_yr(1.0) == pytest.approx(0.2109535, rel=1e-6)
    assert units.au_per_yr_to_kms(units.kms_to_au_per_yr(7.0)) == pytest.approx(7.0, rel=1e-15)
    # Earth's circular speed about the Sun: 2 pi au/yr = 29.785 km/s.
    assert units.au_per_yr_to_kms(2 * math.pi) == pytest.approx(29.7847, rel=1e-5)
    assert units.G_AU_MSUN_YR == pytest.approx(39.4784176, rel=1e-9)


def test_nbody_units_round_trip():
    s = paper_three_body(3)
    scaled, sc = units.to_nbody_units(s)
    assert scaled.G == 1.0 and scaled.total_mass == pytest.approx(1.0)
    assert scaled.energy() == pytest.approx(-0.25, rel=1e-13)
    assert np.allclose(scaled.positions * sc.length, s.positions, rtol=1e-14, atol=1e-12)
    assert np.allclose(scaled.velocities * sc.velocity, s.velocities, rtol=1e-14, atol=1e-12)
    assert sc.time == pytest.approx(math.sqrt(sc.length**3 / (s.G * sc.mass)))


def test_nbody_units_need_a_bound_system():
    s = System([1.0, 1.0], [[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [10.0, 0.0]])
    with pytest.raises(ValueError, match="bound"):
        units.to_nbody_units(s)


# ----- initial conditions ------------------------------------------------------------------


def test_paper_three_body_distribution_and_seeds():
    a, b, c = paper_three_body(7), paper_three_body(7), paper_three_body(8)
    assert a == b and a != c
    assert a.G == units.G_AU_MSUN_YR and np.all(a.masses == 1.0)
    x, v = a.center_of_mass()
    assert np.abs(x).max() < 1e-12 and np.abs(v).max() < 1e-12
    for seed in range(50):
        s = paper_three_body(seed)
        rel = s.positions - s.positions[0]  # body 0 was at the origin before the COM shift
        assert 5 <= rel[1, 0] <= 20 and 0 <= rel[1, 1] <= 10
        assert -10 <= rel[2, 0] <= 0 and 5 <= rel[2, 1] <= 20
        dv = units.au_per_yr_to_kms(s.velocities - s.velocities[2])
        assert np.allclose(dv[:2], [[0.0, 10.0], [-10.0, 0.0]])
        # built without System()'s checks: they must pass, and the arrays stay read-only
        assert System(s.masses, s.positions, s.velocities, s.G) == s
        assert not (s.positions.flags.writeable or s.velocities.flags.writeable)
    assert paper_three_body(1, ndim=3).positions.shape == (3, 3)
    with pytest.raises(ValueError, match="ndim"):
        paper_three_body(1, ndim=4)


def test_kepler_rejects_bad_elements():
    with pytest.raises(ValueError, match="e must be"):
        kepler(e=1.0)
    with pytest.raises(ValueError, match="a must be"):
        kepler(a=-1.0)


# ----- kernels -------------------------------------------------------------------------------


def random_system(seed, n=4, d=3):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 2.0, n), rng.normal(size=(n, d)), rng.normal(size=(n, d)))


def test_acceleration_is_minus_the_potential_gradient_and_jerk_its_derivative():
    m, x, v = random_system(0)
    G, eps2 = 1.3, 0.01
    acc, jerk = np.zeros_like(x), np.zeros_like(x)
    K.acc_jerk(x, v, m, G, eps2, acc, jerk)
    h = 1e-6
    for i in range(x.shape[0]):
        for k in range(x.shape[1]):
            xp, xm = x.copy(), x.copy()
            xp[i, k] += h
            xm[i, k] -= h
            grad = (K.potential_energy(xp, m, G, eps2) - K.potential_energy(xm, m, G, eps2)) / 2 / h
            assert acc[i, k] == pytest.approx(-grad / m[i], rel=1e-7, abs=1e-9)
    a1, a2, j_ = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    K.acc_jerk(x + h * v, v, m, G, eps2, a1, j_)
    K.acc_jerk(x - h * v, v, m, G, eps2, a2, j_)
    assert np.allclose(jerk, (a1 - a2) / 2 / h, rtol=1e-6, atol=1e-8)


def test_public_kernels_module():
    from stepsize.nbody import kernels

    s = pythagorean()
    assert kernels.total_energy(s.positions, s.velocities, s.masses, 1.0, 0.0) == s.energy()
    moved = s.positions + np.array([0.5, -0.25])
    x0, v0 = s.center_of_mass()
    assert kernels.com_drift(moved, s.masses, x0, v0, 0.0) == pytest.approx(math.hypot(0.5, 0.25))


def test_collision_time_is_amuse_criterion():
    m, x, v = random_system(1, n=3)
    tau = min(
        min(
            np.linalg.norm(x[j] - x[i]) / np.linalg.norm(v[j] - v[i]),
            math.sqrt(np.linalg.norm(x[j] - x[i]) ** 3 / (2.0 * (m[i] + m[j]))),
        )
        for i in range(3)
        for j in range(i + 1, 3)
    )
    assert K.collision_time(x, v, m, 2.0, 0.0) == pytest.approx(tau, rel=1e-14)
    acc, jerk = np.zeros_like(x), np.zeros_like(x)
    tau_q = K.acc_jerk(x, v, m, 2.0, 0.0, acc, jerk)[0]
    assert tau_q**0.25 == pytest.approx(tau, rel=1e-14)


def test_escaper_needs_distance_recession_and_positive_energy():
    s = System(
        [1.0, 1.0, 1e-3],
        [[-0.5, 0.0], [0.5, 0.0], [10.0, 0.0]],
        [[0.0, -0.7], [0.0, 0.7], [1.0, 0.0]],
    )
    x, v, m = s.positions, s.velocities, s.masses
    none = np.zeros(3, dtype=np.int8)
    assert K.find_escaper(x, v, m, 1.0, 5.0, none) == 2
    assert K.find_escaper(x, v, m, 1.0, 20.0, none) == -1  # not yet beyond the radius
    assert K.find_escaper(x, -v, m, 1.0, 5.0, none) == -1  # approaching
    slow = v.copy()
    slow[2, 0] = 0.3  # v^2/2 = 0.045 < G M / r ~ 0.2: bound
    assert K.find_escaper(x, slow, m, 1.0, 5.0, none) == -1
    assert K.find_escaper(x, v, m, 1.0, 5.0, np.array([0, 0, 1], dtype=np.int8)) == -1


finite = st.floats(-10, 10, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(
    x=arrays(np.float64, (4, 3), elements=finite),
    v=arrays(np.float64, (4, 3), elements=finite),
    shift=arrays(np.float64, (3,), elements=finite),
    boost=arrays(np.float64, (3,), elements=finite),
)
def test_forces_conserve_momentum_and_are_galilean_invariant(x, v, shift, boost):
    if K.closest_pair(x)[2] < 1e-2:
        return
    m = np.array([1.0, 2.0, 0.5, 3.0])
    acc, jerk = np.zeros_like(x), np.zeros_like(x)
    K.acc_jerk(x, v, m, 1.0, 0.0, acc, jerk)
    scale = np.abs(m[:, None] * acc).max() + 1e-300
    assert np.abs(m @ acc).max() <= 1e-12 * scale  # sum of m a = 0 (Newton's third law)
    torque = np.cross(x, m[:, None] * acc).sum(axis=0)  # central forces: no net torque
    assert np.abs(torque).max() <= 1e-11 * scale * (np.abs(x).max() + 1)
    acc2, jerk2 = np.zeros_like(x), np.zeros_like(x)
    K.acc_jerk(x + shift, v + boost, m, 1.0, 0.0, acc2, jerk2)
    assert np.allclose(acc2, acc, rtol=1e-9, atol=1e-9 * scale)
    assert np.allclose(jerk2, jerk, rtol=1e-7, atol=1e-7 * (np.abs(jerk).max() + 1e-300))
