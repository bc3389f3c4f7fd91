"""Planning grids over a model's noise range, samplers differentiated in their times, LD3,
and AutoDiffusion's local mutation, on a Gaussian mixture whose flow is exact."""

import inspect

import numpy as np
import pytest
import torch

from stepsize import flow
from stepsize import schedules as S
from stepsize.flow._solvers import _lam

torch.set_num_threads(1)

MU = torch.tensor([[2.0, -1.0], [-1.5, 1.0]], dtype=torch.float64)
VAR = torch.tensor([0.3, 0.1], dtype=torch.float64)
WEIGHT = torch.tensor([0.6, 0.4], dtype=torch.float64)


def gmm_denoise(x, sigma):
    """E[x_data | x_data + sigma noise = x] of an isotropic two-component mixture in 2-D;
    ``sigma`` a number or a 0-d tensor (then differentiable in it)."""
    s2 = VAR + sigma**2
    diff = x[:, None, :] - MU[None]
    logw = torch.log(WEIGHT) - 0.5 * (diff**2).sum(-1) / s2 - torch.log(s2)
    w = torch.softmax(logw, dim=1)
    return (w[..., None] * (MU[None] + (VAR / s2)[None, :, None] * diff)).sum(1)


class Mixture(flow.Model):
    """The mixture's exact flow as an adapter: ``D(x, t) = E[x_data | x / t]`` at
    ``sigma = (1 - t) / t`` (torch arithmetic, so times may be tensors)."""

    defined_at_data = False
    dim = 2

    def denoise(self, x, t):
        if t <= 0.0:  # pure noise: the data mean
            return (WEIGHT[:, None] * MU).sum(0).expand_as(x)
        return gmm_denoise(x / t, (1.0 - t) / t)


MODEL = Mixture()


def noise(n, seed):
    return torch.randn((n, 2), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ----------------------------------------------------------------------------- grids


def test_model_grid_spacings_cover_a_ddpm_range():
    vp = S.vp_process("linear", 1e-4, 0.02)
    g = S.model_grid(vp, 20, "timesteps")
    assert g[0] == 0.0 and g[-1] == 1.0 and np.all(np.diff(g) > 0) and g.size == 21
    # the interior nodes sit on uniform training timesteps 999 * (19 - i) / 19, i = 1..19
    np.testing.assert_allclose(vp.timesteps(g[1:-1]), np.linspace(999, 0, 20)[1:], atol=1e-6)
    # a flow-time grid of the same size leaves sigma 157..14 within its first interval
    assert vp.ve_sigma(S.model_grid(vp, 20, "time")[1]) < 20 < vp.ve_sigma(g[2])
    ls = S.model_grid(vp, 20, "logsnr")
    step = np.log(vp.sigma_max / vp.sigma_min) / 19  # uniform in lambda = -log sigma
    np.testing.assert_allclose(np.diff(np.log(ls[1:-1] / (1 - ls[1:-1]))), step, rtol=1e-9)
    fl = S.flow_process()
    np.testing.assert_array_equal(S.model_grid(fl, 8, "timesteps"), S.model_grid(fl, 8, "time"))
    with pytest.raises(ValueError, match="spacing"):
        S.model_grid(S.ve_process(), 8, "timesteps")
    with pytest.raises(ValueError, match="spacing: unknown"):
        S.model_grid(vp, 8, "karras")


# ----------------------------------------------------------------------------- gradients in t


@pytest.mark.parametrize("solver", sorted(flow.SOLVERS))
def test_samplers_are_differentiable_in_their_times(solver):
    """The tensor-time path gives the float-time sampler's result, and its gradient in the
    interior times matches central differences of the float-time sampler."""
    x0 = noise(16, 0)
    times = [0.0, 0.15, 0.4, 0.7, 1.0]
    ref = flow.sample(MODEL, x0, times, solver)
    inner = torch.tensor(times[1:-1], dtype=torch.float64, requires_grad=True)
    run = inspect.unwrap(flow.SOLVERS[solver])
    out = run(MODEL, x0, [0.0, *inner.unbind(), 1.0])
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    w = noise(16, 1)
    (grad,) = torch.autograd.grad((out * w).sum(), inner)
    for i in range(3):
        h = 1e-6
        up, down = list(times), list(times)
        up[i + 1] += h
        down[i + 1] -= h
        fd = (flow.sample(MODEL, x0, up, solver) - flow.sample(MODEL, x0, down, solver)) * w
        assert float(grad[i]) == pytest.approx(float(fd.sum()) / (2 * h), rel=1e-5, abs=1e-7)


def test_diffusers_vp_adapter_carries_the_time_gradient():
    """A VP epsilon network's timestep and noise level follow a tensor time (slope of the
    training table's interpolation by central differences)."""
    proc = S.vp_process("linear", 1e-4, 0.02)
    sig = torch.as_tensor(proc.train_sigmas)

    def net(x_vp, timestep):
        ts = timestep.reshape(-1)[0]
        k = int(torch.clamp(ts.detach().floor(), 0, 998))
        sigma = torch.exp(torch.log(sig[k]) + (ts - k) * torch.log(sig[k + 1] / sig[k]))
        a = (1 + sigma**2) ** -0.5
        return (x_vp / a - gmm_denoise(x_vp / a, sigma)) / sigma

    cfg = {
        "num_train_timesteps": 1000,
        "beta_schedule": "linear",
        "beta_start": 1e-4,
        "beta_end": 0.02,
        "prediction_type": "epsilon",
    }
    model = flow.DiffusersModel(net, cfg)
    x = noise(8, 2)
    t = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    d = model.denoise(x, t)
    torch.testing.assert_close(d, MODEL.denoise(x, 0.4), rtol=1e-9, atol=1e-9)
    (g,) = torch.autograd.grad(d.sum(), t)
    fd = (model.denoise(x, 0.4 + 1e-6) - model.denoise(x, 0.4 - 1e-6)).sum() / 2e-6
    assert float(g) == pytest.approx(float(fd), rel=1e-4)


# ----------------------------------------------------------------------------- LD3


def test_ld3_finds_the_scanned_optimum_of_one_interior_time():
    """K = 2 with the hard loss (radius 0): the learned interior time is the minimiser of
    the validation error found by a scan of that time (an independent search)."""
    res = flow.plan_ld3(
        MODEL,
        2,
        "dpmpp_2m_flow",
        spacing="time",
        n_samples=64,
        n_valid=64,
        iterations=60,
        lr=0.05,
        radius=0.0,
        check_every=2,
        teacher_steps=200,
    )
    x_valid = flow.make_noise(MODEL, 64, seed=1)  # LD3's validation noise (seed + 1)
    ref = flow.reference(MODEL, x_valid, 200)
    scan = np.linspace(0.02, 0.98, 97)
    errs = [
        flow.teacher_error(flow.sample(MODEL, x_valid, [0, s, 1], "dpmpp_2m_flow"), ref)
        for s in scan
    ]
    best = scan[int(np.argmin(errs))]
    assert abs(res.times[1] - best) <= 0.02, (res.times, best)
    assert res.error <= 1.05 * min(errs)
    assert res.history[0][0] == 0 and res.history[0][1] == res.stats["initial_error"]


def test_ld3_soft_loss_beats_uniform_steps_on_fresh_noise():
    k = 3
    res = flow.plan_ld3(
        MODEL,
        k,
        "unipc",
        spacing="time",
        n_samples=64,
        n_valid=64,
        iterations=40,
        radius=0.05,
        teacher_steps=200,
        seed=3,
    )
    assert res.stats["radius"] == 0.05 and len(res.times) == k + 1
    assert res.times[0] == 0.0 and res.times[-1] == 1.0 and np.all(np.diff(res.times) > 0)
    x = noise(256, 9)
    ref = flow.reference(MODEL, x, 400)
    learned = flow.teacher_error(flow.sample(MODEL, x, res.times, "unipc"), ref)
    uniform = flow.teacher_error(flow.sample(MODEL, x, S.uniform(k), "unipc"), ref)
    assert learned < 0.7 * uniform, (learned, uniform)
    with pytest.raises(ValueError, match="init must have K \\+ 1"):
        flow.plan_ld3(MODEL, k, "unipc", init=S.uniform(2), iterations=0)
    with pytest.raises(ValueError, match="solver: unknown"):
        flow.plan_ld3(MODEL, k, "rk4")
    with pytest.raises(ValueError, match="radius and shift_lr must be >= 0"):
        flow.plan_ld3(MODEL, k, "unipc", radius=-1.0, iterations=0, n_samples=4, n_valid=4)


def test_ld3_starts_from_a_given_schedule():
    init = np.array([0.0, 0.3, 0.55, 1.0])
    res = flow.plan_ld3(
        MODEL,
        3,
        "euler",
        init=init,
        spacing="time",
        iterations=0,
        n_samples=8,
        n_valid=8,
        teacher_steps=20,
    )
    np.testing.assert_allclose(res.times, init, atol=1e-12)


# ----------------------------------------------------------------------------- evolve


def test_evolve_local_mutation_moves_points_by_at_most_the_step():
    from stepsize.schedules._evolve import _Search

    search = _Search(50, 6, np.random.default_rng(0), 0.5, mutation_step=2)
    parent = (5, 12, 20, 30, 41)
    for _ in range(200):
        child = search.mutate(parent)
        assert child != parent and np.abs(np.subtract(child, parent)).max() <= 2
    grid = np.linspace(0.0, 1.0, 41)
    target = np.array([0.0, 0.1, 0.35, 0.6, 1.0])
    res = S.evolve(
        lambda t: float(np.abs(t - target).sum()),
        grid,
        4,
        12,
        15,
        mutation_step=3,
        seed=1,
    )
    np.testing.assert_allclose(res.times, target, atol=1e-12)
    with pytest.raises(ValueError, match="mutation_step"):
        S.evolve(lambda t: 0.0, grid, 4, mutation_step=0)


def test_lambda_of_a_tensor_time_is_the_float_one():
    assert float(_lam(torch.tensor(0.3, dtype=torch.float64))) == pytest.approx(_lam(0.3), 1e-15)
