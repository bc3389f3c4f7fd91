"""Samplers and exports against diffusers' own schedulers, on a Gaussian-mixture model whose
denoiser is exact (so flow, VP-epsilon, VP-v and VE models are the same model)."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

diffusers = pytest.importorskip("diffusers")

from stepsize import flow  # noqa: E402
from stepsize import schedules as S  # noqa: E402

torch.set_num_threads(1)

MU = torch.tensor([[2.0, -1.0], [-1.5, 1.0]], dtype=torch.float64)
VAR = torch.tensor([0.3, 0.1], dtype=torch.float64)
WEIGHT = torch.tensor([0.6, 0.4], dtype=torch.float64)


def gmm_denoise(x, sigma):
    """E[x_data | x_data + sigma noise = x] of an isotropic two-component mixture in 2-D."""
    s2 = VAR + sigma**2
    diff = x[:, None, :] - MU[None]
    logw = torch.log(WEIGHT) - 0.5 * (diff**2).sum(-1) / s2 - torch.log(s2)
    w = torch.softmax(logw, dim=1)
    post = MU[None] + (VAR / s2)[None, :, None] * diff
    return (w[..., None] * post).sum(1)


def flow_velocity(x, t):
    """Exact velocity of the rectified flow of the mixture; ``v(x, 1) = x``."""
    t = float(t[0])
    if t >= 1.0:
        return x.clone()
    if t <= 0.0:
        return (WEIGHT[:, None] * MU).sum(0) - x
    sigma = (1 - t) / t
    d = gmm_denoise(x / t, sigma)
    return (d - x) / (1 - t)


def noise(n=32, seed=0):
    return torch.randn((n, 2), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


class VPNet:
    """A 'network' ``net(x_vp, timestep)`` of a VP model on its training table."""

    def __init__(self, process, prediction):
        self.sig = torch.as_tensor(process.train_sigmas)
        self.prediction = prediction

    def __call__(self, x_vp, timestep, sigma=None):
        ts = float(timestep.reshape(-1)[0])
        k = int(math.floor(ts))
        frac = ts - k
        log_s = torch.log(self.sig)
        sigma = float(torch.exp(log_s[k] + frac * (log_s[min(k + 1, len(log_s) - 1)] - log_s[k])))
        a = 1 / math.sqrt(1 + sigma**2)
        x_ve = x_vp / a
        d = gmm_denoise(x_ve, sigma)
        eps = (x_ve - d) / sigma
        return eps if self.prediction == "epsilon" else a * eps - sigma * a * d


def run_diffusers(scheduler, model_output, x):
    """The denoising loop of a diffusers pipeline; ``model_output(x, timestep, sigma)``."""
    scale = getattr(scheduler, "scale_model_input", None)
    for timestep in scheduler.timesteps:
        sigma = float(scheduler.sigmas[scheduler.index_for_timestep(timestep)])
        inp = x if scale is None else scale(x, timestep)
        x = scheduler.step(model_output(inp, timestep, sigma), timestep, x).prev_sample
    return x


def flow_output(x, timestep, sigma):
    """diffusers' flow-matching model output ``noise - data = -v`` at noise level ``sigma``
    (UniPC hands the network truncated integer timesteps; the exact level is its sigma)."""
    return -flow_velocity(x, torch.full((len(x),), 1.0 - sigma, dtype=torch.float64))


# ----------------------------------------------------------------------------- flow models


def test_flow_euler_matches_flowmatch_euler_with_shift_both_ways():
    sched = diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0)
    times = S.karras(6, sigma_min=0.02, rho=3.0)
    kw = S.to_diffusers(times, scheduler=sched)
    sched.set_timesteps(**kw)
    np.testing.assert_allclose(S.from_scheduler(sched), times, atol=2e-7)
    x = run_diffusers(sched, flow_output, noise())
    ours = flow.sample(flow_velocity, noise(), times, "euler")
    np.testing.assert_allclose(x.numpy(), ours.numpy(), atol=2e-6)
    # without undoing, the scheduler's shift reshapes the schedule
    sched.set_timesteps(sigmas=S.t_to_sigma(times[:-1]))
    assert np.abs(S.from_scheduler(sched) - times).max() > 0.1
    np.testing.assert_allclose(
        S.from_diffusers(sigmas=S.t_to_sigma(times[:-1]), process=S.flow_process(shift=3.0)),
        S.from_scheduler(sched),
        atol=2e-7,
    )


def test_flow_heun_matches_flowmatch_heun():
    sched = diffusers.FlowMatchHeunDiscreteScheduler()  # takes no custom schedule
    sched.set_timesteps(5)
    times = S.from_scheduler(sched)
    with pytest.raises(ValueError, match="cannot take a custom flow schedule"):
        S.to_diffusers(times, scheduler=sched)
    x = run_diffusers(sched, flow_output, noise())
    # diffusers' step sizes are float32 differences of its float32 levels
    np.testing.assert_allclose(
        x.numpy(), flow.sample(flow_velocity, noise(), times, "heun").numpy(), atol=1e-5
    )


def test_diffusers_flow_heun_never_evaluates_at_zero_noise():
    """A diffusers flow network is not evaluated at timestep 0: Heun's last step is Euler, as
    in FlowMatchHeunDiscreteScheduler. The network below is wrong at timestep 0 only."""

    class Net:
        def __call__(self, x, timestep):
            out = flow_output(x, None, float(timestep[0]) / 1000.0)
            return out + 1e3 * (timestep.reshape(-1, 1) == 0)

    model = flow.DiffusersModel(Net(), {"_class_name": "FlowMatchEulerDiscreteScheduler"})
    sched = diffusers.FlowMatchHeunDiscreteScheduler()
    sched.set_timesteps(4)
    x = run_diffusers(sched, flow_output, noise())
    ours = flow.sample(model, noise(), S.from_scheduler(sched), "heun")
    np.testing.assert_allclose(x.numpy(), ours.numpy(), atol=1e-5)


@pytest.mark.parametrize("order", [2, 3])
def test_flow_unipc_accepts_the_export_and_matches(order):
    sched = diffusers.UniPCMultistepScheduler(
        use_flow_sigmas=True, prediction_type="flow_prediction", flow_shift=2.0, solver_order=order
    )
    times = S.quadratic(7)
    sched.set_timesteps(**S.to_diffusers(times, scheduler=sched))
    np.testing.assert_allclose(S.from_scheduler(sched), times, atol=2e-6)
    run = (1.0 - sched.sigmas.double()).tolist()  # UniPC starts at sigma = 1 - 1e-6
    model = flow.as_model(flow_velocity)
    x = run_diffusers(sched, flow_output, noise())
    ours = flow.sample_unipc(model, noise(), run, order=order)
    np.testing.assert_allclose(x.numpy(), ours.numpy(), atol=2e-5)


# ----------------------------------------------------------------------------- VP models


def sd_scheduler(cls, **kw):
    return cls(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, **kw)


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
def test_vp_euler_matches_euler_discrete_with_ve_sigmas(prediction):
    sched = sd_scheduler(diffusers.EulerDiscreteScheduler, prediction_type=prediction)
    proc = S.process_from_config(sched)
    ramp = np.linspace(0, 1, 6)
    karras = (proc.sigma_max ** (1 / 7) + ramp * (0.05 ** (1 / 7) - proc.sigma_max ** (1 / 7))) ** 7
    times = S.from_diffusers(sigmas=np.append(karras, 0.0), process=proc)
    kw = S.to_diffusers(times, scheduler=sched)
    assert kw["sigmas"][0] == pytest.approx(proc.sigma_max) and kw["sigmas"][-1] == 0.0
    sched.set_timesteps(**kw)
    net = VPNet(proc, prediction)
    x = run_diffusers(sched, net, noise() * sched.init_noise_sigma)
    model = flow.DiffusersModel(net, sched.config)
    ours = flow.sample(model, noise(), times, "euler")
    np.testing.assert_allclose(x.numpy(), ours.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="flow noise levels"):
        S.check_scheduler_sigmas(sched, S.to_kdiffusion(times))
    with pytest.raises(ValueError, match="exceed 1"):
        S.from_diffusers(sigmas=kw["sigmas"])


@pytest.mark.parametrize(("order", "steps"), [(2, 6), (3, 16)])
def test_vp_dpmpp_matches_dpmsolver_multistep_via_timesteps(order, steps):
    sched = sd_scheduler(diffusers.DPMSolverMultistepScheduler, solver_order=order)
    proc = S.process_from_config(sched)
    kw = S.to_diffusers(S.logsnr_uniform(steps, eps=0.07), scheduler=sched)
    sched.set_timesteps(**kw)
    times = S.from_diffusers(timesteps=kw["timesteps"], process=proc)
    net = VPNet(proc, "epsilon")
    x = run_diffusers(sched, net, noise())
    # diffusers starts from unit noise; the project from sigma_max noise in VE terms
    scale = 1.0 / math.sqrt(1.0 - proc.alphas_cumprod[-1])
    ours = flow.sample(
        flow.DiffusersModel(net, sched.config), noise() * scale, times, f"dpmpp_{order}m"
    )
    np.testing.assert_allclose(x.numpy(), ours.numpy(), atol=5e-5)


def test_vp_unipc_and_dpm_flow_sigmas_cannot_take_a_custom_schedule():
    with pytest.raises(ValueError, match="takes no custom schedule"):
        S.to_diffusers(S.uniform(4), scheduler=sd_scheduler(diffusers.UniPCMultistepScheduler))
    with pytest.raises(ValueError, match="cannot take a custom flow schedule"):
        S.to_diffusers(
            S.uniform(4), scheduler=diffusers.DPMSolverMultistepScheduler(use_flow_sigmas=True)
        )


# ----------------------------------------------------------------------------- VE / k-diffusion


def test_ve_export_and_invariance_of_exponential_integrators():
    """DPM-Solver++ and UniPC are invariant under the VE <-> flow rescaling: the same mixture as
    a k-diffusion denoiser and as a flow gives the same samples on equal-SNR schedules."""
    proc = S.ve_process(0.002, 80.0)
    times = S.karras(8, sigma_min=0.01)
    times[1:] = np.maximum(times[1:], 1.5 * proc.t_min)
    sig = S.to_kdiffusion(times, proc)
    assert sig[0] == 80.0 and sig[-1] == 0.0
    np.testing.assert_allclose(S.from_kdiffusion(sig, proc), times, atol=1e-15)
    ve = flow.KDiffusionModel(lambda x, s: gmm_denoise(x, float(s[0])), 0.002, 80.0)
    run = [proc.t_min, *times[1:].tolist()]
    for name in ("dpmpp_2m", "dpmpp_3m", "unipc", "euler"):
        a = flow.SOLVERS[name](ve, noise() * (1 - proc.t_min), run)
        b = flow.SOLVERS[name](flow.as_model(flow_velocity), noise() * (1 - proc.t_min), run)
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-9, err_msg=name)


def kdiffusion():
    """k-diffusion's own ``sampling.py`` (``_samplers_bench.kdiffusion_sampling``; the Makefile
    installs k-diffusion without its dependencies, ``requirements-nodeps.lock``)."""
    bench = str(Path(__file__).resolve().parents[1] / "benchmarks")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    import _samplers_bench

    kd = _samplers_bench.kdiffusion_sampling()
    if kd is None:
        pytest.skip("k-diffusion is not installed (requirements-nodeps.lock)")
    return kd


def kdiffusion_run(kd, name, denoise, x, sigmas):
    """k-diffusion's sampler ``name`` on ``denoise(x, sigma)``; its SDE samplers with
    ``eta = 0`` (no noise drawn: their ODE limits)."""
    extra = {}
    if name.endswith("_sde"):
        extra = {"eta": 0.0, "noise_sampler": lambda s, s_next: torch.zeros_like(x)}
    return getattr(kd, name)(denoise, x, sigmas, disable=True, **extra)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("euler", "sample_euler"),
        ("dpmpp_2m", "sample_dpmpp_2m"),
        ("dpmpp_2m", "sample_dpmpp_2m_sde"),
    ],
)
def test_ve_samplers_match_kdiffusion(ours, theirs):
    """On VE sigmas (k-diffusion's own convention): Euler and DPM-Solver++ 2M (also its SDE
    form at ``eta = 0``) give k-diffusion's samples to float64 rounding. Its Heun integrates
    in sigma, ours in flow time (they agree on flow sigmas, below); its 3M SDE at ``eta = 0``
    is another third-order variant than diffusers' 3M, which ``dpmpp_3m`` matches."""
    kd = kdiffusion()
    sigmas = torch.tensor([80.0, 10.0, 2.0, 0.5, 0.1, 0.0], dtype=torch.float64)
    x = kdiffusion_run(kd, theirs, lambda x, s: gmm_denoise(x, float(s[0])), noise() * 80, sigmas)
    proc = S.ve_process(0.002, 80.0)
    ve = flow.KDiffusionModel(lambda x, s: gmm_denoise(x, float(s[0])), 0.002, 80.0)
    ours = flow.sample(ve, noise(), S.from_kdiffusion(sigmas.numpy(), proc), ours)
    np.testing.assert_allclose(ours.numpy(), x.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("euler", "sample_euler"),
        ("heun", "sample_heun"),
        ("dpmpp_2m_flow", "sample_dpmpp_2m"),
        ("dpmpp_2m_flow", "sample_dpmpp_2m_sde"),
    ],
)
@pytest.mark.parametrize("steps", [S.quadratic(5), S.uniform(6)])
def test_flow_samplers_match_kdiffusion_on_flow_sigmas(ours, theirs, steps):
    """On a flow's denoiser ``x + sigma v`` over flow sigmas ``1 - t`` (ComfyUI's CONST):
    Euler, Heun (last step to data an Euler step, as k-diffusion's) and ``dpmpp_2m_flow``."""
    kd = kdiffusion()
    model = flow.as_model(flow_velocity)
    model.defined_at_data = False  # k-diffusion never evaluates at sigma = 0
    sigmas = torch.as_tensor(S.to_kdiffusion(steps))
    x = kdiffusion_run(
        kd, theirs, lambda x, s: model.denoise(x, 1.0 - float(s[0])), noise(), sigmas
    )
    ours = flow.sample(model, noise(), steps, ours)
    np.testing.assert_allclose(ours.numpy(), x.numpy(), rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- orders, guidance


REFERENCE = {}


@pytest.mark.parametrize(
    ("name", "order"),
    [
        ("euler", 1),
        ("heun", 2),
        ("ipndm", 2),
        ("dpmpp_2m", 2),
        ("dpmpp_2m_flow", 2),
        ("dpmpp_3m", 2),
        ("unipc", 2),
    ],
)
def test_convergence_orders_on_the_exact_flow(name, order):
    """Error against a fine Heun solution falls like ``K^-p`` (observed order >= p - 0.5).

    iPNDM's fixed Adams-Bashforth weights are 4th order on uniform steps only; on these
    varying steps it is 2nd order. The multistep methods' first-order last step to data
    (``x = D``, as in k-diffusion and diffusers) caps them at 2nd order."""
    ref = REFERENCE.get("ref")
    if ref is None:
        ref = REFERENCE["ref"] = flow.reference(flow_velocity, noise(), 1000)
    errs = []
    for k in (12, 24):
        t = 1 - (1 - S.uniform(k)) ** 1.5  # smooth, non-uniform steps
        errs.append(flow.teacher_error(flow.sample(flow_velocity, noise(), t, name), ref))
    observed = 0.5 * math.log2(errs[0] / errs[1])  # teacher_error is squared
    assert observed > order - 0.5, (name, errs, observed)


def test_guidance_wrapper_combines_predictions():
    cond = flow.as_model(flow_velocity)
    uncond = flow.as_model(lambda x, t: -x)
    g = flow.Guided(cond, uncond, 3.0)
    x = noise()
    v_c = flow_velocity(x, torch.full((32,), 0.3, dtype=torch.float64))
    np.testing.assert_allclose(g.velocity(x, 0.3), -x + 3.0 * (v_c + x), atol=1e-12)
    np.testing.assert_allclose(g.denoise(x, 0.3), x + 0.7 * g.velocity(x, 0.3), atol=1e-12)
    with pytest.raises(ValueError, match="share one noise process"):
        flow.Guided(cond, flow.KDiffusionModel(lambda x, s: x), 2.0)


# ----------------------------------------------------------------------------- solver-aware plans


def test_bellman_multistep_is_the_exact_optimum():
    import itertools

    rng = np.random.default_rng(3)
    n = 9
    first, second = rng.random((n, n)), rng.random((n, n, n))
    for k in (1, 2, 3, 5):
        path = S.bellman_multistep(first, second, k)
        best = min(
            S.multistep_path_cost(first, second, [0, *c, n - 1])
            for c in itertools.combinations(range(1, n - 1), k - 1)
        )
        assert path[0] == 0 and path[-1] == n - 1 and len(path) == k + 1
        assert S.multistep_path_cost(first, second, path) == pytest.approx(best, rel=1e-12)
    with pytest.raises(ValueError, match="second must have shape"):
        S.bellman_multistep(first, second[:-1], 2)


class ExactFlow(torch.nn.Module):
    """The mixture's exact flow as a module with ``dim`` (what the planners expect)."""

    dim = 2

    def forward(self, x, t):
        return flow_velocity(x.double(), t.double()).to(x.dtype)


@pytest.mark.parametrize("solver", ["dpmpp_2m", "unipc", "heun"])
def test_plans_for_the_solver_beat_uniform_steps(solver):
    model = ExactFlow()
    k = 4 if solver != "heun" else 2
    plan = flow.plan_for_solver(model, k, solver, n_grid=24, n_samples=64)
    assert plan[0] == 0.0 and plan[-1] == 1.0 and len(plan) == k + 1
    x0 = flow.make_noise(model, 256, seed=5)
    ref = flow.reference(model, x0, 400)
    planned = flow.teacher_error(flow.sample(model, x0, plan, solver), ref)
    uniform = flow.teacher_error(flow.sample(model, x0, S.uniform(k), solver), ref)
    assert planned < 0.8 * uniform, (planned, uniform)


@pytest.mark.parametrize("solver", ["euler", "heun", "dpmpp_2m", "unipc"])
def test_decoupled_eval_times_move_only_the_denoisers_time(solver):
    model = flow.as_model(ExactFlow())
    x0, times = noise(64, 3), [0.0, 0.35, 0.8, 1.0]
    same = flow.sample(model, x0, times, solver, eval_times=times[:-1])
    torch.testing.assert_close(same, flow.sample(model, x0, times, solver), rtol=0, atol=1e-12)
    # one Euler step of the wrapped model: D taken at s, the step's coefficients at t
    t0, t1, s = 0.35, 0.8, 0.42
    x = 0.65 * x0  # a state at t0
    wrapped = flow.Decoupled(model, [t0], [s])
    d = model.denoise(x, s)
    torch.testing.assert_close(wrapped.velocity(x, t0), (d - x) / (1 - t0), rtol=1e-12, atol=0)
    torch.testing.assert_close(wrapped.velocity(x, t1), model.velocity(x, t1), rtol=0, atol=0)
    moved = flow.sample(model, x0, times, solver, eval_times=[0.0, 0.42, 0.8])
    assert (moved - same).abs().max() > 1e-3
    with pytest.raises(ValueError, match="eval_times must be 3 times"):
        flow.sample(model, x0, times, solver, eval_times=[0.0, 0.5])
    with pytest.raises(ValueError, match="eval_times must be 3 times"):
        flow.sample(model, x0, times, solver, eval_times=[0.0, 0.5, 1.0])


def test_shipped_digits_unets_load_and_sample():
    from stepsize.flow._unet import digit_images, downscale

    ddpm, rf = flow.pretrained("digits16-ddpm"), flow.pretrained("digits16-flow")
    assert ddpm.process.kind == "vp" and ddpm.prediction_type == "epsilon"
    assert rf.process.kind == "flow" and rf.prediction_type == "flow_prediction"
    assert ddpm.meta["steps"] == rf.meta["steps"] == 1200
    x0 = torch.randn((4, 1, 16, 16), generator=torch.Generator().manual_seed(0))
    for model in (ddpm, rf):
        x = flow.sample(model, x0, S.uniform(3), "dpmpp_2m")
        assert x.shape == x0.shape and torch.isfinite(x).all()
    # the upscaled digits average back to the 8x8 originals' scale
    images = digit_images(5)
    assert images.shape == (5, 1, 16, 16)
    np.testing.assert_allclose(downscale(images).mean(), images.mean(), atol=1e-6)
