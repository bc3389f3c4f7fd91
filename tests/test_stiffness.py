"""The shared stiffness diagnostics of stepsize.control: Hairer's estimate, the run counter."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stepsize.control import stiffness_count, stiffness_estimate, stiffness_tally


def test_estimate_of_a_linear_map_is_its_rayleigh_like_quotient():
    # F(y) = A y: ||A (y_b - y_a)|| / ||y_b - y_a||; exact |lambda| along an eigenvector
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    lam = np.array([-1.0, -10.0, -100.0, -1e3, -1e4])
    A = Q @ np.diag(lam) @ Q.T
    y_a = rng.normal(size=5)
    for k in range(5):
        y_b = y_a + 1e-3 * Q[:, k]
        est = stiffness_estimate(A @ y_a, A @ y_b, y_a, y_b)
        assert est == np.float64(abs(lam[k])) or abs(est / abs(lam[k]) - 1) < 1e-9
    d = rng.normal(size=5)
    est = stiffness_estimate(A @ y_a, A @ (y_a + d), y_a, y_a + d)
    assert 1.0 <= est <= 1e4 * (1 + 1e-12)
    assert stiffness_estimate(A @ y_a, A @ y_a, y_a, y_a.copy()) == 0.0


def test_estimate_is_gradient_descents_sharpness_on_a_quadratic():
    # gradient descent on L = x^T H x / 2 is explicit Euler on x' = -H x: along the top
    # eigenvector the estimate is lambda_max, and gamma * lambda_max = 2 is the edge of stability
    H = np.diag([4.0, 1.0, 0.25])
    x = np.array([1.0, 0.0, 0.0])
    gamma = 0.5
    x_new = x - gamma * H @ x
    est = stiffness_estimate(-H @ x, -H @ x_new, x, x_new)
    assert gamma * est == 2.0


def test_counter_keeps_runs_of_equal_verdicts():
    verdicts = [True, True, True, False, False, True, False, False, False, False]
    count = 0
    seen = []
    for v in verdicts:
        count = stiffness_count(count, v)
        seen.append(count)
    assert seen == [1, 2, 3, -1, -2, 1, -1, -2, -3, -4]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60))
def test_counter_equals_the_length_of_the_current_run(verdicts):
    count = 0
    for v in verdicts:
        count = stiffness_count(count, v)
    last = verdicts[-1]
    run = 0
    for v in reversed(verdicts):
        if v != last:
            break
        run += 1
    assert count == (run if last else -run)


def test_tally_survives_isolated_nonstiff_verdicts_as_in_dopri5():
    # dopri5.f: iasti counts stiff verdicts; only 6 non-stiff ones in a row reset it
    verdicts = [True] * 4 + [False] + [True] * 3 + [False] * 5 + [True] + [False] * 6 + [True]
    count = tally = 0
    seen = []
    for v in verdicts:
        count = stiffness_count(count, v)
        tally = stiffness_tally(tally, count, 6)
        seen.append(tally)
    assert seen[:8] == [1, 2, 3, 4, 4, 5, 6, 7]
    assert seen[12:14] == [7, 8]  # 5 non-stiff verdicts did not reset it
    assert seen[19:] == [0, 1]  # the 6th non-stiff verdict in a row did


def test_stiffness_estimate_does_not_underflow_for_tiny_differences():
    y_a, y_b = np.zeros(3), np.full(3, 1e-200)
    f_a, f_b = np.zeros(3), np.full(3, -2e-199)
    assert abs(stiffness_estimate(f_a, f_b, y_a, y_b) - 20.0) < 1e-13
    assert stiffness_estimate(f_a, f_b, y_a, y_a) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 30),
    log_dy=st.floats(-200.0, 200.0),
    log_ratio=st.floats(-90.0, 90.0),
    seed=st.integers(0, 2**16),
)
def test_one_pass_and_scaled_norms_agree_on_both_sides_of_the_switch(n, log_dy, log_ratio, seed):
    # Differences of 1e-290 .. 1e290 cross _SAFE = 1e150 both ways: within it the sums of squares
    # are taken unscaled, outside each norm is scaled by its largest difference; either way the
    # result is ||df|| / ||dy|| to rounding, here in exact rational arithmetic.
    from fractions import Fraction
    from math import isqrt

    rng = np.random.default_rng(seed)
    dy = rng.normal(size=n) * 10.0**log_dy
    df = rng.normal(size=n) * 10.0 ** (log_dy + log_ratio)
    zero = np.zeros(n)
    est = stiffness_estimate(zero, df, zero, dy)
    ratio2 = sum(Fraction(x) ** 2 for x in df) / sum(Fraction(x) ** 2 for x in dy)
    scale = 10**100
    exact = isqrt(int(ratio2 * scale**2)) / scale
    assert abs(est / exact - 1.0) < 1e-14, (est, exact)
