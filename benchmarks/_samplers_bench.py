"""Samplers and solver-aware schedules against what diffusion users run (issue 15).

Imported by ``benchmarks/schedules.py --samplers``; see its docstring.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

from stepsize import flow
from stepsize import schedules as S

SOLVERS = ("euler", "heun", "ipndm", "dpmpp_2m", "dpmpp_2m_flow", "dpmpp_3m", "unipc")


def kdiffusion_sampling():
    """k-diffusion's ``sampling.py`` loaded on its own (``import k_diffusion`` needs
    torchvision): from an installed ``k_diffusion`` or the directory ``$KDIFFUSION_DIR``;
    None when neither is there. Its unused imports (torchsde, torchdiffeq) get empty stand-ins
    and its ``utils`` only ``append_dims``."""
    spec = importlib.util.find_spec("k_diffusion")
    root = Path(spec.origin).parent if spec and spec.origin else None
    if root is None and os.environ.get("KDIFFUSION_DIR"):
        root = Path(os.environ["KDIFFUSION_DIR"]) / "k_diffusion"
    if root is None or not (root / "sampling.py").exists():
        return None
    stubs = [n for n in ("torchsde", "torchdiffeq") if importlib.util.find_spec(n) is None]
    for name in stubs:
        stub = types.ModuleType(name)
        stub.odeint = stub.BrownianTree = None
        sys.modules[name] = stub
    pkg = types.ModuleType("kdiffusion_peer")
    pkg.__path__ = [str(root)]
    utils = types.ModuleType("kdiffusion_peer.utils")

    def append_dims(x, target_dims):
        return x[(...,) + (None,) * (target_dims - x.ndim)]

    utils.append_dims = append_dims
    sys.modules["kdiffusion_peer"], sys.modules["kdiffusion_peer.utils"] = pkg, utils
    pkg.utils = utils
    spec = importlib.util.spec_from_file_location("kdiffusion_peer.sampling", root / "sampling.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        for name in stubs:  # others (diffusers) look these up; they are not installed
            del sys.modules[name]
    return module


# ----------------------------------------------------------------------------- models


class FlowNet:
    """A flow velocity model as a diffusers-style network ``net(x, timestep) -> noise - data``."""

    def __init__(self, model):
        self.model = flow.as_model(model)

    def __call__(self, x, timestep):
        return -self.model.velocity(x, 1.0 - float(timestep) / 1000.0)


def load(name):
    """``(adapter, diffusers-style net, scheduler config, sample shape)`` of a shipped model."""
    if name.startswith("digits16"):
        m = flow.pretrained(name)
        return m, lambda x, ts: m._net(x, float(ts)), _config(m), (1, 16, 16)
    mlp = flow.pretrained(name)
    m = flow.as_model(mlp)
    cfg = {
        "num_train_timesteps": 1000,
        "use_flow_sigmas": True,
        "prediction_type": "flow_prediction",
    }
    return m, FlowNet(mlp), cfg, (mlp.dim,)


def _config(m):
    from stepsize.flow._unet import SCHEDULER_CONFIGS

    kind = "flow" if m.process.kind == "flow" else "ddpm"
    cfg = {k: v for k, v in SCHEDULER_CONFIGS[kind].items() if not k.startswith("_")}
    if kind == "flow":
        cfg = {
            "num_train_timesteps": 1000,
            "use_flow_sigmas": True,
            "prediction_type": "flow_prediction",
        }
    return cfg


# ----------------------------------------------------------------------------- stock peers


@torch.no_grad()
def run_diffusers(cls_name, cfg, net, noise, nfe):
    """A diffusers pipeline's denoising loop with the scheduler's default schedule."""
    import diffusers

    sched = getattr(diffusers, cls_name)(**cfg)
    sched.set_timesteps(nfe)
    x = noise * sched.init_noise_sigma
    for ts in sched.timesteps:
        out = net(sched.scale_model_input(x, ts), ts)
        x = sched.step(out, ts, x).prev_sample
    return x


@torch.no_grad()
def run_kdiffusion(kd, model, noise, nfe, karras=True):
    """k-diffusion's ``sample_dpmpp_2m`` on the model's denoiser: VE sigmas for a VP model
    (``[sigma_min, sigma_max]`` of its training table), flow sigmas (max 1, ComfyUI's "CONST"
    convention, min 1e-3) for a flow; Karras rho = 7 or uniform in flow time."""
    proc = model.process
    if proc.kind == "flow":
        smin, smax = 1e-3, 1.0

        def denoiser(x, sigma):
            return model.denoise(x, 1.0 - float(sigma[0]))
    else:
        smin, smax = proc.sigma_min, proc.sigma_max

        def denoiser(x, sigma):
            t = 1.0 / (1.0 + float(sigma[0]))
            return model.denoise(x * t, t)

    if karras:
        sigmas = kd.get_sigmas_karras(nfe, smin, smax).double()
    else:
        sigmas = torch.as_tensor(S.to_kdiffusion(S.uniform(nfe), proc))
        sigmas[0] = smax
    x = noise.double() * smax
    return kd.sample_dpmpp_2m(denoiser, x, sigmas, disable=True)


# ----------------------------------------------------------------------------- metrics


class Quality:
    """Teacher error and, for digits models, the local Frechet distance."""

    def __init__(self, name, ref):
        self.ref = ref
        self.classifier = None
        if name.startswith("digits16"):
            from stepsize.flow._data import load_data
            from stepsize.flow._unet import downscale

            self.downscale = downscale
            self.classifier = flow.pretrained("digits-classifier")
            self.data_features = flow.classifier_features(self.classifier, load_data("digits"))

    def fd(self, x):
        feats = flow.classifier_features(self.classifier, self.downscale(x).numpy())
        return flow.frechet_distance(feats, self.data_features)

    def __call__(self, x):
        x = torch.as_tensor(x).double()
        if not torch.isfinite(x).all():
            return {"error": float("inf")}
        out = {"error": flow.teacher_error(x.reshape(len(x), -1), self.ref.reshape(len(x), -1))}
        if self.classifier is not None:
            out["fd"] = self.fd(x.float())
        return out


class FrechetFitness:
    """AutoDiffusion's fitness: Frechet distance of one sampler's samples over a schedule."""

    def __init__(self, model, noise, quality, solver="euler"):
        self.model, self.noise, self.quality, self.solver = model, noise, quality, solver

    def __call__(self, times):
        x = flow.sample(self.model, self.noise, times, self.solver)
        return self.quality.fd(x) if torch.isfinite(x).all() else float("inf")


# ----------------------------------------------------------------------------- one model


def run_model(name, cfg, kd):
    started = time.perf_counter()
    model, net, sched_cfg, shape = load(name)
    image = name.startswith("digits16")
    n_eval = cfg["eval_images"] if image else cfg["eval_points"]
    noise = torch.randn((n_eval, *shape), generator=torch.Generator().manual_seed(1))
    noise = noise.double() if not image else noise
    ref = flow.reference(model, noise, cfg["ref_steps_image"] if image else 1000).double()
    quality = Quality(name, ref)
    rows = []

    def add(config, kind, nfe, x, solver, schedule=None):
        row = {"config": config, "kind": kind, "nfe": nfe, "solver": solver, **quality(x)}
        if schedule is not None:
            row["schedule"] = np.round(np.asarray(schedule), 5).tolist()
        rows.append(row)
        print(
            f"  {name} {config:32s} nfe {nfe}: "
            + ", ".join(f"{k} {row[k]:.4g}" for k in ("error", "fd") if k in row),
            flush=True,
        )

    if image:
        rows.append(
            {
                "config": "teacher",
                "kind": "reference",
                "nfe": 2 * cfg["ref_steps_image"],
                "solver": "heun",
                "error": 0.0,
                "fd": quality.fd(ref.float()),
            }
        )
    plans = {}
    for solver in cfg.get("solvers", SOLVERS):
        ks = sorted({n // flow.NFE_PER_STEP[solver] for n in cfg["nfe"]})
        t0 = time.perf_counter()
        planned = flow.plan_for_solver(
            model,
            ks,
            solver,
            cfg["grid_image"] if image else cfg["grid"],
            cfg["plan_images"] if image else cfg["plan_points"],
            seed=0,
            shape=shape,
        )
        plans.update({(solver, k): p for k, p in zip(ks, planned)})
        print(f"  {name} planned {solver} in {time.perf_counter() - t0:.0f} s", flush=True)
    for nfe in cfg["nfe"]:
        sched_cfgs = dict(sched_cfg)
        for cls in ("DPMSolverMultistepScheduler", "UniPCMultistepScheduler"):
            x = run_diffusers(cls, sched_cfgs, net, noise.float() if image else noise, nfe)
            add(f"diffusers {cls[:-9]}", "stock", nfe, x, cls)
        if kd is not None:
            add(
                "k-diffusion DPM++ 2M Karras",
                "stock",
                nfe,
                run_kdiffusion(kd, model, noise, nfe, True),
                "dpmpp_2m",
            )
            add(
                "k-diffusion DPM++ 2M uniform",
                "stock",
                nfe,
                run_kdiffusion(kd, model, noise, nfe, False),
                "dpmpp_2m",
            )
        for solver in cfg.get("solvers", SOLVERS):
            k = nfe // flow.NFE_PER_STEP[solver]
            add(
                f"{solver} uniform",
                "uniform",
                nfe,
                flow.sample(model, noise, S.uniform(k), solver),
                solver,
                S.uniform(k),
            )
            add(
                f"{solver} planned",
                "planned",
                nfe,
                flow.sample(model, noise, plans[solver, k], solver),
                solver,
                plans[solver, k],
            )
    out = {"model": name, "config": dict(cfg), "rows": rows}
    if image and cfg["evolve"] and model.process.kind == "vp":  # DDIM baseline: VP timesteps
        out["autodiffusion"] = autodiffusion(model, shape, quality, cfg)
    out["seconds"] = time.perf_counter() - started
    return out


def autodiffusion(model, shape, quality, cfg):
    """AutoDiffusion's search: a 4-step Euler (DDIM) schedule by Frechet fitness on planning
    noise (seed 0), scored on the evaluation noise against DDIM with 4 uniform timesteps."""
    plan_noise = torch.randn(
        (cfg["eval_images"], *shape), generator=torch.Generator().manual_seed(0)
    )
    grid = np.linspace(0.0, 1.0, 101)
    grid[1:] = np.maximum(grid[1:], model.process.t_min * 1.01)
    grid = np.unique(grid)
    fit = FrechetFitness(model, plan_noise, quality)
    t0 = time.perf_counter()
    res = S.evolve(fit, grid, 4, population=cfg["population"], epochs=cfg["epochs"], seed=0)
    eval_noise = torch.randn(
        (cfg["eval_images"], *shape), generator=torch.Generator().manual_seed(1)
    )
    searched = quality.fd(flow.sample(model, eval_noise, res.times, "euler"))
    # DDIM's uniform spacing is in timesteps: 999, 749, 500, 250
    ddim = S.from_diffusers(timesteps=np.rint(np.linspace(999, 0, 5)[:-1]), process=model.process)
    uniform = quality.fd(flow.sample(model, eval_noise, ddim, "euler"))
    return {
        "schedule": np.round(res.times, 4).tolist(),
        "fd_searched": searched,
        "fd_ddim_uniform": uniform,
        "ratio": searched / uniform,
        "paper": {"searched": 17.86, "ddim_uniform": 138.66, "ratio": 17.86 / 138.66},
        "seconds": time.perf_counter() - t0,
    }


def targets(models):
    """The issue's ratios: best project / best stock, planned / uniform per solver, evolve."""
    out = []
    for m in models:
        for nfe in sorted({r["nfe"] for r in m["rows"] if r["kind"] != "reference"}):
            rows = [r for r in m["rows"] if r["nfe"] == nfe]
            for metric in ("error", "fd"):
                if metric not in rows[0]:
                    continue
                stock = min((r for r in rows if r["kind"] == "stock"), key=lambda r: r[metric])
                ours = min((r for r in rows if r["kind"] == "planned"), key=lambda r: r[metric])
                out.append(
                    {
                        "model": m["model"],
                        "nfe": nfe,
                        "metric": metric,
                        "target": "best planned <= 0.5x best stock",
                        "ours": ours["config"],
                        "stock": stock["config"],
                        "ratio": ours[metric] / stock[metric],
                        "met": ours[metric] <= 0.5 * stock[metric],
                    }
                )
            for solver in m.get("config", {}).get("solvers", SOLVERS):
                u = next(r for r in rows if r["config"] == f"{solver} uniform")
                p = next(r for r in rows if r["config"] == f"{solver} planned")
                out.append(
                    {
                        "model": m["model"],
                        "nfe": nfe,
                        "metric": "error",
                        "target": f"{solver}: planned <= 0.5x uniform",
                        "ratio": p["error"] / u["error"],
                        "met": p["error"] <= 0.5 * u["error"],
                    }
                )
        if "autodiffusion" in m:
            a = m["autodiffusion"]
            out.append(
                {
                    "model": m["model"],
                    "nfe": 4,
                    "metric": "fd",
                    "target": "AutoDiffusion searched vs DDIM uniform (paper 0.129)",
                    "ratio": a["ratio"],
                    "met": a["ratio"] <= 17.86 / 138.66,
                }
            )
    return out


def plot(doc, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = doc["models"]
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4), squeeze=False)
    for ax, m in zip(axes[0], models):
        rows = [r for r in m["rows"] if r["kind"] != "reference"]
        for config in dict.fromkeys(r["config"] for r in rows):
            pts = sorted((r["nfe"], r["error"]) for r in rows if r["config"] == config)
            kind = next(r["kind"] for r in rows if r["config"] == config)
            style = {"stock": "k--", "uniform": ":", "planned": "-"}[kind]
            ax.plot(
                *zip(*pts),
                style,
                marker="o",
                ms=3,
                label=config,
                lw=1.5 if kind == "planned" else 1,
            )
        ax.set_yscale("log")
        ax.set_title(m["model"])
        ax.set_xlabel("NFE")
        ax.set_ylabel("error vs teacher")
    axes[0][-1].legend(fontsize=6, loc="upper right", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
