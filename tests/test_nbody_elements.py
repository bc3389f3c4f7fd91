"""Orbital elements: round trips, analytic cases, Jacobi hierarchies and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepsize.nbody import from_elements, integrate, kepler, to_elements

angle = st.floats(0.05, 2 * math.pi - 0.05)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    a=st.floats(0.1, 100.0),
    e=st.floats(0.01, 0.95),
    inc=st.floats(0.01, math.pi - 0.01),
    Omega=angle,
    omega=angle,
    f=angle,
    m1=st.floats(0.0, 0.5),
)
def test_elliptic_round_trip(a, e, inc, Omega, omega, f, m1):
    s = from_elements([1.0, m1], a, e, inc, Omega, omega, f=f, G=2.0)
    el = to_elements(s)
    for got, want in zip((el.a[0] / a, el.e[0], el.inc[0]), (1.0, e, inc), strict=True):
        assert abs(got - want) < 1e-12
    # the node is ill-conditioned as sin(inc) -> 0 and the pericentre as e -> 0
    tol = 1e-13 / min(e, math.sin(inc))
    for got, want in zip((el.Omega[0], el.omega[0], el.f[0]), (Omega, omega, f), strict=True):
        assert abs(math.remainder(got - want, 2 * math.pi)) < tol
    assert abs(el.mu[0] - 2.0 * (1.0 + m1)) < 1e-15


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    a=st.floats(-50.0, -0.5), e=st.floats(1.05, 5.0), inc=st.floats(0.1, 3.0), M=st.floats(-5, 5)
)
def test_hyperbolic_round_trip_through_the_mean_anomaly(a, e, inc, M):
    s = from_elements([1.0, 1e-3], a, e, inc, 0.3, 1.1, M=M)
    el = to_elements(s)
    assert abs(el.a[0] / a - 1) < 1e-12 and abs(el.e[0] - e) < 1e-12
    assert abs(el.M[0] - M) < 1e-10 * max(1.0, abs(M))


def test_mean_anomaly_and_kepler_binary_agree():
    # at pericentre f = M = 0: the same state as kepler(e)
    k = kepler(e=0.6, ndim=3)
    s = from_elements([1.0, 1.0], 1.0, 0.6, M=0.0)
    np.testing.assert_allclose(s.positions, k.positions, atol=1e-15)
    np.testing.assert_allclose(s.velocities, k.velocities, atol=1e-15)
    el = to_elements(from_elements([1.0, 0.0], 1.0, 0.3, M=1.0))
    E = 1.0  # solve E - e sin E = M by fixed point, independently
    for _ in range(200):
        E = 1.0 + 0.3 * math.sin(E)
    f = 2 * math.atan(math.sqrt(1.3 / 0.7) * math.tan(E / 2))
    assert abs(el.f[0] - f) < 1e-13 and abs(el.M[0] - 1.0) < 1e-13


def test_elements_follow_a_kepler_orbit():
    s = from_elements([1.0, 0.0], 2.0, 0.4, 0.3, 0.2, 0.1, f=0.0)
    period = 2 * math.pi * math.sqrt(8.0)
    r = integrate(s, period / 4, "gr15")
    el = to_elements(r.system)
    assert abs(el.a[0] - 2.0) < 1e-13 and abs(el.e[0] - 0.4) < 1e-13
    assert abs(el.M[0] - math.pi / 2) < 1e-12  # M advances uniformly: 2 pi t / P


def test_jacobi_hierarchy_round_trip():
    masses = [1.0, 1e-3, 3e-4, 0.0, 5e-5]
    a = [1.0, 2.0, 3.0, 5.0]
    e = [0.05, 0.1, 0.2, 0.3]
    inc = [0.1, 0.2, 0.3, 0.4]
    for coords in ("primary", "jacobi"):
        s = from_elements(masses, a, e, inc, 1.0, 2.0, f=[0.5, 1.5, 2.5, 3.5], coordinates=coords)
        el = to_elements(s, coords)
        np.testing.assert_allclose(el.a, a, rtol=1e-12)
        np.testing.assert_allclose(el.e, e, atol=1e-12)
        np.testing.assert_allclose(el.inc, inc, atol=1e-12)
        np.testing.assert_allclose(el.f, [0.5, 1.5, 2.5, 3.5], atol=1e-11)
        np.testing.assert_allclose(s.center_of_mass()[0], 0.0, atol=1e-15)
    # the two readings differ for the outer planets (Jacobi includes the inner masses)
    s = from_elements(masses, a, e, inc, f=0.0, coordinates="jacobi")
    assert abs(to_elements(s, "primary").a[1] - 2.0) > 1e-4


def test_planar_system_and_degenerate_angles():
    s = from_elements([1.0, 1e-3], 1.0, 0.0, 0.0, 0.0, 0.0, f=1.0, ndim=2)
    assert s.ndim == 2
    el = to_elements(s)
    assert el.inc[0] == 0.0 and el.Omega[0] == 0.0 and el.omega[0] == 0.0
    assert abs(el.f[0] - 1.0) < 1e-14 and el.e[0] < 1e-15
    # state -> elements -> state is exact even where the angles are degenerate
    back = from_elements(s.masses, el.a, el.e, el.inc, el.Omega, el.omega, f=el.f, ndim=2)
    np.testing.assert_allclose(back.positions, s.positions, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(masses=[1.0, 1.0], a=-1.0, e=0.5), "a must be > 0 for e < 1"),
        (dict(masses=[1.0, 1.0], a=1.0, e=-0.1), "e must be >= 0"),
        (dict(masses=[1.0, 1.0], a=1.0, f=0.0, M=0.0), "not both"),
        (dict(masses=[1.0, 1.0], a=1.0, coordinates="helio"), "coordinates: unknown"),
        (dict(masses=[1.0, 1.0], a=1.0, inc=0.1, ndim=2), "inc must be 0 for ndim=2"),
        (dict(masses=[1.0, 1.0], a=-1.0, e=2.0, f=2.5), "beyond the asymptote"),
    ],
)
def test_bad_elements_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        from_elements(**kwargs)
