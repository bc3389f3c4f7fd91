"""Bespoke non-stationary solvers: every sampler read off as linear weights reproduces itself,
and the fitted weights beat the sampler on fresh noise, on the Gaussian mixture of
``test_flow_plan`` whose flow is exact."""

import numpy as np
import pytest
import torch
from test_flow_plan import MODEL, noise

from stepsize import flow
from stepsize import schedules as S

torch.set_num_threads(1)


@pytest.mark.parametrize("solver", sorted(flow.SOLVERS))
def test_linear_weights_reproduce_each_sampler(solver):
    """``e_n = a x_0 + sum_j b_j u_j`` with the probed weights is the sampler itself (to
    rounding: the same arithmetic, regrouped)."""
    schedule = np.array([0.0, 0.3, 0.55, 0.8, 1.0])
    times, a, b = flow.solver_coefficients(MODEL, solver, schedule)
    assert len(times) == len(a) == len(b) == flow.NFE_PER_STEP[solver] * 4 - (solver == "heun")
    assert np.all(np.triu(b, 1) == 0)
    x = noise(16, 0)
    got = flow.sample_linear(MODEL, x, times.tolist(), a, b)
    want = flow.sample(MODEL, x, schedule, solver)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_euler_weights_are_the_step_sizes():
    """Euler: ``e_k = x_0 + sum_{j<k} h_j u_j``, i.e. ``a = 1`` and ``b_kj = h_j``."""
    times, a, b = flow.solver_coefficients(MODEL, "euler", [0.0, 0.25, 0.5, 1.0])
    np.testing.assert_array_equal(times, [0.0, 0.25, 0.5])
    np.testing.assert_array_equal(a, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(b, [[0.25, 0, 0], [0.25, 0.25, 0], [0.25, 0.25, 0.5]])


def test_bns_beats_its_sampler_on_fresh_noise():
    """Fitted from DPM-Solver++(2M) over 3 uniform steps; the validation error starts at the
    sampler's own, and on noise of another seed the fitted solver has under a third of its
    error (measured: 0.17x)."""
    res = flow.plan_bns(
        MODEL, S.uniform(3), "dpmpp_2m_flow", spacing="time", teacher_steps=200, seed=4
    )
    x_valid = flow.make_noise(MODEL, 32, seed=5)
    ref_valid = flow.reference(MODEL, x_valid, 200)
    start = flow.teacher_error(
        flow.sample(MODEL, x_valid, S.uniform(3), "dpmpp_2m_flow"), ref_valid
    )
    assert res.history[0] == (0, pytest.approx(start, rel=1e-6))  # times through the grid
    assert res.error == min(e for _, e in res.history) and res.stats["parameters"] == 11
    x = noise(256, 9)
    ref = flow.reference(MODEL, x, 400)
    learned = flow.teacher_error(res.sample(MODEL, x), ref)
    uniform = flow.teacher_error(flow.sample(MODEL, x, S.uniform(3), "dpmpp_2m_flow"), ref)
    assert learned < uniform / 3, (learned, uniform)


def test_bns_without_rounds_is_the_sampler_and_bad_input_fails():
    res = flow.plan_bns(
        MODEL, [0.0, 0.4, 1.0], "unipc", rounds=0, n_samples=4, n_valid=4, teacher_steps=20
    )
    times, a, b = flow.solver_coefficients(MODEL, "unipc", [0.0, 0.4, 1.0])
    np.testing.assert_array_equal(res.times, times)
    np.testing.assert_array_equal(res.a, a)
    np.testing.assert_array_equal(res.b, b)
    with pytest.raises(ValueError, match="solver: unknown"):
        flow.solver_coefficients(MODEL, "rk4", [0.0, 1.0])
    with pytest.raises(ValueError, match="rounds"):
        flow.plan_bns(MODEL, [0.0, 1.0], rounds=-1)
