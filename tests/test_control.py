"""Step-size controllers: Söderlind's filter family, limiter, rejection, presets."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepsize.control import (
    PRESETS,
    FilterController,
    accept_ratio,
    get_controller,
    new_history,
    pid,
    reject_ratio,
)


def run_filter(ctrl, errs, k=5.0):
    params = ctrl.data()
    history = new_history()
    return np.array([accept_ratio(params, history, e, k) for e in errs])


def test_elementary_controller_is_safety_times_err_power():
    ratios = run_filter(PRESETS["I"], [0.5, 0.01, 1e-9, 0.9], k=5.0)
    expected = np.clip(0.9 * np.array([0.5, 0.01, 1e-9, 0.9]) ** (-1 / 5), 0.2, 10.0)
    np.testing.assert_allclose(ratios, expected, rtol=1e-14)


def test_pi_preset_is_hairers_dopri5_controller():
    # Hairer's dopri5.f: fac11 = err^(0.2 - 0.75 beta), fac = fac11 / facold^beta, h_new = h/fac
    # clamped to [1/10, 1/0.2]; beta = 0.04, facold = previous err.  The safety factor enters each
    # c = safety err^(-1/5), so the constant factor is safety^(0.85 - 0.2) (dopri5.f: safety).
    errs = [0.3, 0.8, 0.05, 0.6]
    ratios = run_filter(PRESETS["PI"], errs, k=5.0)
    beta, facold, expected = 0.04, 0.9**5, []
    for err in errs:
        fac = err ** (0.2 - 0.75 * beta) / facold**beta
        expected.append(1.0 / max(0.1, min(5.0, fac / 0.9**0.65)))
        facold = err
    np.testing.assert_allclose(ratios, expected, rtol=1e-12)


def test_presets_carry_soderlinds_coefficients():
    # (k*beta1, k*beta2, k*beta3; alpha2, alpha3) as tabulated in PETSc's adaptdsp.c
    assert PRESETS["H211b"].b == (0.25, 0.25, 0.0) and PRESETS["H211b"].a == (0.25, 0.0)
    assert PRESETS["H312b"].b == (1 / 8, 1 / 4, 1 / 8) and PRESETS["H312b"].a == (3 / 8, 1 / 8)
    assert PRESETS["H0321"].b == (5 / 4, 1 / 2, -3 / 4) and PRESETS["H0321"].a == (-1 / 4, -3 / 4)
    assert PRESETS["PI42"].b == (3 / 5, -1 / 5, 0.0)


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("err", [0.5, 3.0])
def test_every_preset_follows_its_recursion_under_a_constant_error(name, err):
    """Under a constant error every c_n is the same c = safety err^(-1/k), and the filter is the
    linear recursion P(E) log rho_n = (b1+b2+b3) log c with P(z) = z^2 + a2 z + a3.  With
    P(1) != 0 it settles at log rho = (b1+b2+b3) log c / P(1); the filters with integral
    action on the ratio (P(1) = 0: H0321, H321) instead grow log rho by (b1+b2+b3) log c / P'(1)
    a step."""
    ctrl = dataclasses.replace(PRESETS[name], limiter="clamp", qmin=1e-12, qmax=1e12)
    a2, a3 = ctrl.a
    log_c = np.log(ctrl.safety * err ** (-1 / 5))
    if abs(1 + a2 + a3) > 1e-12:
        ratios = run_filter(ctrl, [err] * 400, k=5.0)
        np.testing.assert_allclose(np.log(ratios[-1]), sum(ctrl.b) * log_c / (1 + a2 + a3), 1e-9)
    else:
        log_rho = np.log(run_filter(ctrl, [err] * 100, k=5.0))
        np.testing.assert_allclose(log_rho[-1] - log_rho[-2], sum(ctrl.b) * log_c / (2 + a2), 1e-9)


def test_h211b_filters_out_nyquist_oscillation():
    # Errors alternating 2, 0.5, 2, ... (log c = -+L): the I controller oscillates the step at
    # full amplitude; H211b has a zero at z = -1 and a pole at -1/4, so its ratio settles to 1.
    errs = [2.0, 0.5] * 20
    plain = dict(safety=1.0, limiter="clamp")
    osc_i = np.log(run_filter(get_controller("I", **plain), errs)[-4:])
    osc_b = np.log(run_filter(get_controller("H211b", **plain), errs)[-4:])
    assert np.all(np.abs(osc_i) > 0.13)
    assert np.all(np.abs(osc_b) < 1e-6)


def test_pid_gains_map_to_filter():
    assert pid(0.0, 1.0).b == PRESETS["I"].b
    c = pid(0.1, 0.3, 0.05)
    assert c.b == pytest.approx((0.45, -0.2, 0.05))


def test_custom_coefficients_and_overrides():
    c = get_controller([0.7, -0.4, 0.0, 0.0, 0.0], qmax=5.0)
    assert c.b == (0.7, -0.4, 0.0) and c.qmax == 5.0
    assert get_controller(c) is c


@pytest.mark.parametrize(
    "bad, match",
    [
        ("PIDX", "known: I, PI"),
        ([1.0, 2.0], "5 coefficients"),
    ],
)
def test_bad_controller_names_the_argument(bad, match):
    with pytest.raises(ValueError, match=match):
        get_controller(bad)


def test_bad_controller_fields():
    with pytest.raises(ValueError, match="limiter"):
        FilterController(limiter="tanh")
    with pytest.raises(ValueError, match="qmin"):
        FilterController(qmin=2.0)
    with pytest.raises(ValueError, match="finite"):
        FilterController(b=(np.nan, 0, 0))


@given(
    name=st.sampled_from(sorted(PRESETS)),
    errs=st.lists(st.floats(1e-12, 1e12), min_size=1, max_size=8),
    k=st.sampled_from([3.0, 5.0, 8.0]),
)
def test_ratios_stay_within_limits(name, errs, k):
    ctrl = PRESETS[name]
    ratios = run_filter(ctrl, errs, k)
    assert np.all(ratios >= ctrl.qmin) and np.all(ratios <= ctrl.qmax)


@given(err1=st.floats(1.0001, 1e6), err2=st.floats(1.0001, 1e6))
def test_rejection_shrinks_the_step_more_for_larger_errors(err1, err2):
    params = PRESETS["PI"].data()
    r1, r2 = reject_ratio(params, err1, 5.0), reject_ratio(params, err2, 5.0)
    assert r1 < 1.0 and r2 < 1.0
    if err1 < err2:
        assert r1 >= r2
    assert reject_ratio(params, np.inf, 5.0) == pytest.approx(PRESETS["PI"].qmin)


def product_form(ctrl, errs, k):
    """Söderlind's filter as the product of powers (the module docstring's formula), in numpy:
    the reference for the log-space recursion of ``accept_ratio``."""
    c_hist, rho_hist, out = [1.0, 1.0], [1.0, 1.0], []
    (b1, b2, b3), (a2, a3) = ctrl.b, ctrl.a
    for err in errs:
        c = ctrl.safety * max(err, 1e-10) ** (-1.0 / k)
        rho = c**b1 * c_hist[0] ** b2 * c_hist[1] ** b3 * rho_hist[0] ** -a2 * rho_hist[1] ** -a3
        if ctrl.limiter == "atan":
            rho = 1.0 + np.arctan(rho - 1.0)
        ratio = min(ctrl.qmax, max(ctrl.qmin, rho))
        c_hist, rho_hist = [c, c_hist[0]], [ratio, rho_hist[0]]
        out.append(ratio)
    return np.array(out)


@given(
    name=st.sampled_from(sorted(PRESETS)),
    errs=st.lists(st.floats(1e-12, 1e3), min_size=1, max_size=12),
    k=st.sampled_from([3.0, 5.0, 8.0]),
)
def test_log_space_filter_equals_the_product_of_powers(name, errs, k):
    # accept_ratio keeps log c and log rho and takes one exp; the ratios are the product form's
    # to rounding (a few ulps per factor, compounded through the history)
    ctrl = PRESETS[name]
    np.testing.assert_allclose(run_filter(ctrl, errs, k), product_form(ctrl, errs, k), rtol=1e-13)


def test_elementary_controller_is_scipys_factor_bit_for_bit():
    # SciPy's rk.py: factor = min(MAX_FACTOR, SAFETY * error_norm ** error_exponent)
    errs = [0.5, 0.01, 0.9, 0.37, 1e-3]
    ratios = run_filter(PRESETS["I"], errs, k=8.0)
    assert ratios.tolist() == [min(10.0, 0.9 * e ** (-1 / 8.0)) for e in errs]
