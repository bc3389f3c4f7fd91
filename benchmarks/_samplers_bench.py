"""Samplers and solver-aware schedules against what diffusion users run (issue 15).

Imported by ``benchmarks/schedules.py --samplers``; see its docstring.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

from stepsize import flow
from stepsize import schedules as S
from stepsize._atomic import check_same_config, load_checkpoint, load_pickle, save_checkpoint

SOLVERS = ("euler", "heun", "ipndm", "dpmpp_2m", "dpmpp_2m_flow", "dpmpp_3m", "unipc")

STOCK = ("diffusers DPMSolverMultistep", "diffusers UniPCMultistep", "k-diffusion DPM++ 2M Karras")
"""The issue's stock configurations: what users run today, with their default schedules."""

BASELINE = "k-diffusion DPM++ 2M uniform"
"""k-diffusion's DPM++ 2M over uniform flow sigmas (the issue's first table): the project's
``dpmpp_2m_flow`` with uniform steps, compared against as well, outside the stock set."""


def kdiffusion_sampling():
    """k-diffusion's ``sampling.py`` from the installed distribution, loaded on its own
    (``import k_diffusion`` needs torchvision; the Makefile installs k-diffusion without its
    dependencies, ``requirements-nodeps.lock``); None when it is not installed. Its unused
    imports (torchsde, torchdiffeq) get empty stand-ins and its ``utils`` only
    ``append_dims``."""
    spec = importlib.util.find_spec("k_diffusion")  # finds the package without importing it
    root = Path(spec.origin).parent if spec and spec.origin else None
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


def stock_solver(config):
    """The scheduler class (diffusers) or sampler (k-diffusion) of a stock configuration."""
    return config.split()[1] + "Scheduler" if config.startswith("diffusers") else "dpmpp_2m"


def run_stock(config, loaded, noise, nfe):
    """``(samples, solver)`` of a stock configuration (:data:`STOCK` or :data:`BASELINE`);
    ``loaded`` = ``(model, net, scheduler config, image, k-diffusion's sampling module)``."""
    model, net, sched_cfg, image, kd = loaded
    solver = stock_solver(config)
    if config.startswith("diffusers"):
        x = run_diffusers(solver, dict(sched_cfg), net, noise.float() if image else noise, nfe)
        return x, solver
    return run_kdiffusion(kd, model, noise, nfe, karras=config == STOCK[2]), solver


# ----------------------------------------------------------------------------- metrics


class Quality:
    """Teacher error and, for digits models, the local Frechet distance; ``parts`` keeps each
    row's per-sample errors and features for the bootstrap intervals of :func:`targets`.

    The Frechet distance is against the distribution the UNets learn, the 1797 training images
    (the digits upscaled to 16x16) averaged back to 8x8 (:func:`stepsize.flow._unet.downscale`):
    bilinear upscaling is not undone by 2x2 means, and the raw 8x8 digits lie at distance 32.8
    from their own round trip, a floor no model of the 16x16 images can go below (runs before
    this one measured against the raw digits)."""

    def __init__(self, name, ref):
        self.ref = ref
        self.classifier = None
        self.parts = {}
        if name.startswith("digits16"):
            from stepsize.flow._unet import digit_images, downscale

            self.downscale = downscale
            self.classifier = flow.pretrained("digits-classifier")
            self.data_features = self.features(digit_images())

    def features(self, x):
        return flow.classifier_features(self.classifier, self.downscale(x).numpy())

    def fd(self, x):
        return flow.frechet_distance(self.features(x), self.data_features)

    def __call__(self, x, key=None):
        x = torch.as_tensor(x).double()
        if not torch.isfinite(x).all():
            return {"error": float("inf")}
        err = ((x - self.ref) ** 2).reshape(len(x), -1).sum(1).numpy()
        out = {"error": float(err.mean())}
        feats = None
        if self.classifier is not None:
            feats = self.features(x.float())
            out["fd"] = flow.frechet_distance(feats, self.data_features)
        if key is not None:
            self.parts[key] = {"error": err, "fd": feats}
        return out

    def interval(self, a, b, metric, n_sub=200, seed=0):
        """Paired 90% interval of the ratio ``metric(a) / metric(b)`` of two rows (keys of
        ``parts``) by half-sampling: ``n_sub`` subsets of ``m = n / 2`` of the ``n`` samples
        drawn without replacement, both rows at the same indices (they share their noise).

        Without duplicates, because a resample with repeated samples has fewer distinct ones,
        which inflates a Frechet distance and pulls the ratio toward 1 (the with-replacement
        bootstrap of earlier runs gave intervals that missed their own point). For ``m = n / 2``
        the spread of a smooth statistic over half-samples equals its spread at ``n`` to first
        order (the delete-d jackknife with ``d = n / 2``, Shao & Wu, Ann. Statist. 17, 1989),
        so the half-sample ratios need no rescaling; the Frechet distance of ``n / 2`` samples
        is still biased, so the interval is their 5th and 95th percentiles shifted by the
        offset of their median from the ratio of all ``n`` samples. None where a row has no
        parts."""
        pa, pb = self.parts.get(a), self.parts.get(b)
        if pa is None or pb is None or pa[metric] is None:
            return None

        def stat(v):
            return np.mean(v) if metric == "error" else flow.frechet_distance(v, self.data_features)

        rng = np.random.default_rng(seed)
        n = len(pa["error"])
        whole = stat(pa[metric]) / stat(pb[metric])
        ratios = []
        for _ in range(n_sub):
            i = rng.choice(n, n // 2, replace=False)
            ratios.append(stat(pa[metric][i]) / stat(pb[metric][i]))
        low, mid, high = np.percentile(ratios, [5, 50, 95])
        return np.round([whole + low - mid, whole + high - mid], 4).tolist()


INTERVAL = "half-sampling"
"""How the intervals of :meth:`Quality.interval` are drawn (stored with each target; runs
before it resampled with replacement, "bootstrap")."""


def training_images(n, seed=1):
    """``n`` of the 16x16 training images drawn without replacement (seed ``seed``)."""
    from stepsize.flow._unet import digit_images

    images = digit_images()
    return images[np.random.default_rng(seed).choice(len(images), n, replace=False)]


class FrechetFitness:
    """AutoDiffusion's fitness: Frechet distance of one sampler's samples over a schedule."""

    def __init__(self, model, noise, quality, solver="euler"):
        self.model, self.noise, self.quality, self.solver = model, noise, quality, solver

    def __call__(self, times):
        x = flow.sample(self.model, self.noise, times, self.solver)
        return self.quality.fd(x) if torch.isfinite(x).all() else float("inf")


# ----------------------------------------------------------------------------- one model


def cache_folder():
    """Where teachers and run checkpoints persist between runs: ``$STEPSIZE_BENCH_CACHE`` or
    ``~/.cache/stepsize/samplers`` (outside the repository)."""
    default = Path.home() / ".cache" / "stepsize" / "samplers"
    return Path(os.environ.get("STEPSIZE_BENCH_CACHE") or default)


def teacher_cache(name):
    """The :class:`stepsize.flow.TeacherCache` of a shipped model, keyed by its file's SHA-256
    (retrained weights miss), on disk in :func:`cache_folder`."""
    from stepsize.flow._pretrained import _DIR

    digest = hashlib.sha256((_DIR / f"{name}.pt").read_bytes()).hexdigest()[:16]
    return flow.TeacherCache(f"{name}@{digest}", cache_folder() / "teachers")


class Stages:
    """A run's finished stages (plans, LD3 runs, scored rows) kept in an atomic checkpoint, so
    a killed run resumes where it stopped: ``stages(key, compute)`` returns the stored value of
    ``key`` or computes, stores and saves it. Every stage is a deterministic function of the
    configuration (seeded noise and searches), so a resumed run gives the results of an
    uninterrupted one; a checkpoint of another configuration is refused."""

    def __init__(self, path, config):
        self.path, self.config = path, config
        self.done = {}
        state = None if path is None else load_checkpoint(path, load_pickle)
        if state is not None:
            check_same_config(path, state["config"], config)
            self.done = state["done"]
            print(f"  resuming {path.name}: {len(self.done)} stages done", flush=True)
        self.resumed = set(self.done)

    def __call__(self, key, compute):
        if key not in self.done:
            self.done[key] = compute()
            if self.path is not None:
                save_checkpoint(
                    self.path,
                    lambda fh: pickle.dump({"config": self.config, "done": self.done}, fh),
                )
        return self.done[key]


def run_model(name, cfg, kd, resume=True):
    """One model's rows, plans and targets (see ``benchmarks/schedules.py``); teachers come
    from :func:`teacher_cache`, and with ``resume`` every stage is checkpointed
    (:class:`Stages`, in :func:`cache_folder`)."""
    started, cpu_started, load_started = time.perf_counter(), time.process_time(), os.getloadavg()
    model, net, sched_cfg, shape = load(name)
    image = name.startswith("digits16")
    cache = teacher_cache(name)
    run_key = {"model": cache.model_key, **{k: cfg[k] for k in sorted(cfg)}}
    tag = hashlib.sha256(json.dumps(run_key, default=list).encode()).hexdigest()[:12]
    stages = Stages(cache_folder() / f"run-{name}-{tag}.pkl" if resume else None, run_key)
    n_eval = cfg["eval_images"] if image else cfg["eval_points"]
    noise = torch.randn((n_eval, *shape), generator=torch.Generator().manual_seed(1))
    noise = noise.double() if not image else noise
    ref = cache.reference(model, noise, cfg["ref_steps_image"] if image else 1000).double()
    quality = Quality(name, ref)
    rows = []

    def add(config, kind, nfe, draw, solver, schedule=None, **extra):
        def score():
            row = {"config": config, "kind": kind, "nfe": nfe, "solver": solver}
            row.update(quality(draw(), (config, nfe)))
            if schedule is not None:
                row["schedule"] = np.round(np.asarray(schedule), 5).tolist()
            return row, quality.parts[config, nfe]

        row, quality.parts[config, nfe] = stages(("row", config, nfe), score)
        rows.append({**row, **extra})
        print(
            f"  {name} {config:32s} nfe {nfe}: "
            + ", ".join(f"{k} {row[k]:.4g}" for k in ("error", "fd") if k in row),
            flush=True,
        )

    if image:

        def teacher_row():
            return {
                "config": "teacher",
                "kind": "reference",
                "nfe": 2 * cfg["ref_steps_image"],
                "solver": "heun",
                "error": 0.0,
                "fd": quality(ref.float(), ("teacher", 0))["fd"],
                # the distance of as many training images as samples: the floor of its noise
                "fd_training_images": quality.fd(training_images(n_eval)),
            }, quality.parts["teacher", 0]

        row, quality.parts["teacher", 0] = stages(("teacher",), teacher_row)
        rows.append(row)
    plans = {}
    for solver in cfg.get("solvers", SOLVERS):
        ks = sorted({n // flow.NFE_PER_STEP[solver] for n in cfg["nfe"]})

        def plan(solver=solver, ks=ks):
            t0 = time.process_time()
            planned = flow.plan_for_solver(
                model,
                ks,
                solver,
                cfg["grid_image"] if image else cfg["grid"],
                cfg["plan_images"] if image else cfg["plan_points"],
                seed=0,
                shape=shape,
                spacing=cfg["spacing"],
                cache=cache,
            )
            print(f"  {name} planned {solver} in {time.process_time() - t0:.0f} CPU-s", flush=True)
            return planned

        plans.update({(solver, k): p for k, p in zip(ks, stages(("plan", solver), plan))})
    learned = {}
    for solver in cfg["ld3_solvers"]:
        for nfe in cfg["nfe"]:
            k = nfe // flow.NFE_PER_STEP[solver]
            learned[solver, k] = stages(
                ("ld3", solver, k),
                lambda s=solver, k=k: ld3(model, s, k, plans, cfg, image, shape, cache),
            )
    loaded = (model, net, sched_cfg, image, kd)
    for nfe in cfg["nfe"]:
        for config in STOCK + (BASELINE,):
            if config.startswith("diffusers") or kd is not None:
                kind = "stock" if config in STOCK else "baseline"
                draw = lambda c=config, n=nfe: run_stock(c, loaded, noise, n)[0]  # noqa: E731
                add(config, kind, nfe, draw, stock_solver(config))
        for solver in cfg.get("solvers", SOLVERS):
            k = nfe // flow.NFE_PER_STEP[solver]
            for how, times in (("uniform", S.uniform(k)), ("planned", plans[solver, k])):
                add(
                    f"{solver} {how}",
                    how,
                    nfe,
                    lambda t=times, s=solver: flow.sample(model, noise, t, s),
                    solver,
                    times,
                )
        for solver in cfg["ld3_solvers"]:
            res = learned[solver, nfe // flow.NFE_PER_STEP[solver]]
            add(
                f"{solver} LD3",
                "planned",
                nfe,
                lambda t=res.times, s=solver: flow.sample(model, noise, t, s),
                solver,
                res.times,
                ld3={
                    "validation": [list(h) for h in res.history],
                    **{key: res.stats[key] for key in ("iterations", "model_calls", "seconds")},
                },
            )
    out = {"model": name, "config": dict(cfg), "rows": rows}
    if image and cfg["evolve"] and model.process.kind == "vp":  # DDIM baseline: VP timesteps
        keys = (("evolved", 4), ("ddim", 4))  # the search's scored rows

        def search():
            found = autodiffusion(model, shape, quality, cfg, plans.get(("euler", 4)))
            return found, {key: quality.parts[key] for key in keys}

        out["autodiffusion"], parts = stages(("autodiffusion",), search)
        quality.parts.update(parts)
    if cfg.get("diagnose") and model.process.kind == "flow":
        out["diagnosis"] = stages(("diagnosis",), lambda: diagnose(model, shape, cfg, image))
    out["targets"] = targets([out], quality)
    out["seconds"] = time.perf_counter() - started
    out["cpu_seconds"] = time.process_time() - cpu_started
    out["cpu_seconds_note"] = "this process only: stages resumed from a checkpoint cost nothing"
    out["resumed_stages"] = sorted(map(str, stages.resumed))
    out["teacher_cache"] = {"hits": cache.hits, "misses": cache.misses}
    out["load"] = {"start": list(load_started), "end": list(os.getloadavg())}
    return out


def ld3(model, solver, k, plans, cfg, image, shape, cache):
    """LD3 for ``solver`` at ``k`` steps from its Bellman plan (training noise seed 2,
    validation seed 3: apart from planning and evaluation)."""
    t0 = time.process_time()
    res = flow.plan_ld3(
        model,
        k,
        solver,
        init=plans[solver, k],
        spacing=cfg["spacing"],
        n_samples=cfg["ld3_images"] if image else cfg["plan_points"],
        n_valid=cfg["ld3_images"] if image else cfg["plan_points"],
        iterations=cfg["ld3_iterations"],
        teacher_steps=cfg["ld3_teacher"],
        seed=2,
        shape=shape,
        cache=cache,
    )
    print(
        f"  LD3 {solver} K={k}: {res.stats['initial_error']:.4g} -> "
        f"{res.error:.4g} (validation) in {time.process_time() - t0:.0f} CPU-s",
        flush=True,
    )
    return res


def rescore_model(old, kd):
    """A stored run of :func:`run_model` scored again without planning anew: every row's
    samples redrawn from the same evaluation noise (seed 1) over its recorded schedule (stock
    rows: their configuration) and the teacher recomputed, so the Frechet distance is against
    the current :class:`Quality` reference; ``error_stored`` keeps each row's stored error (the
    recorded schedules are rounded to 5 decimals). Plans, LD3 histories and the AutoDiffusion
    search stay those of the stored run."""
    started, cpu_started, load_started = time.perf_counter(), time.process_time(), os.getloadavg()
    name, cfg = old["model"], old["config"]
    model, net, sched_cfg, shape = load(name)
    image = name.startswith("digits16")
    n_eval = cfg["eval_images"] if image else cfg["eval_points"]
    noise = torch.randn((n_eval, *shape), generator=torch.Generator().manual_seed(1))
    noise = noise.double() if not image else noise
    cache = teacher_cache(name)
    ref = cache.reference(model, noise, cfg["ref_steps_image"] if image else 1000).double()
    quality = Quality(name, ref)
    rows = []
    for r in old["rows"]:
        r = {**r, "error_stored": r["error"]}
        if r["kind"] == "reference":
            r.update(fd=quality(ref.float(), ("teacher", 0))["fd"])
            r["fd_training_images"] = quality.fd(training_images(n_eval))
        elif r["config"] in STOCK + (BASELINE,):
            r["kind"] = "stock" if r["config"] in STOCK else "baseline"
            x, _ = run_stock(r["config"], (model, net, sched_cfg, image, kd), noise, r["nfe"])
            r.update(quality(x, (r["config"], r["nfe"])))
        else:
            x = flow.sample(model, noise, r["schedule"], r["solver"])
            r.update(quality(x, (r["config"], r["nfe"])))
        rows.append(r)
    out = {**old, "rows": rows}
    if "autodiffusion" in old:
        a = dict(old["autodiffusion"])
        ddim = S.from_diffusers(
            timesteps=np.rint(np.linspace(999, 0, 5)[:-1]), process=model.process
        )
        a["fd_searched"] = quality(
            flow.sample(model, noise, a["schedule"], "euler"), ("evolved", 4)
        )["fd"]
        a["fd_ddim_uniform"] = quality(flow.sample(model, noise, ddim, "euler"), ("ddim", 4))["fd"]
        a["ratio"] = a["fd_searched"] / a["fd_ddim_uniform"]
        a["note"] = "searched with the raw 8x8 digits as the fitness's Frechet reference"
        out["autodiffusion"] = a
    out["targets"] = targets([out], quality)
    out["rescored"] = {
        "what": "Frechet distance against the training images averaged back to 8x8",
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "load": {"start": list(load_started), "end": list(os.getloadavg())},
    }
    return out


def autodiffusion(model, shape, quality, cfg, bellman=None):
    """AutoDiffusion's search: a 4-step Euler (DDIM) schedule by Frechet fitness on planning
    noise (seed 0), scored on the evaluation noise against DDIM with 4 uniform timesteps.

    Candidates live on the grid of 100 uniform training timesteps (the model's whole noise
    range); the first generation holds DDIM's uniform timesteps and the Bellman plan for Euler
    as seeds; mutations move a point by up to ``cfg["mutation_step"]`` grid nodes."""
    plan_noise = torch.randn(
        (cfg["evolve_images"], *shape), generator=torch.Generator().manual_seed(0)
    )
    grid = S.model_grid(model.process, 100, "timesteps")
    # DDIM's uniform spacing is in timesteps: 999, 749, 500, 250
    ddim = S.from_diffusers(timesteps=np.rint(np.linspace(999, 0, 5)[:-1]), process=model.process)
    fit = FrechetFitness(model, plan_noise, quality)
    t0 = time.perf_counter()
    res = S.evolve(
        fit,
        grid,
        4,
        population=cfg["population"],
        epochs=cfg["epochs"],
        mutation_step=cfg["mutation_step"],
        init=[ddim] + ([] if bellman is None else [bellman]),
        seed=0,
    )
    eval_noise = torch.randn(
        (cfg["eval_images"], *shape), generator=torch.Generator().manual_seed(1)
    )
    searched = quality(flow.sample(model, eval_noise, res.times, "euler"), ("evolved", 4))["fd"]
    uniform = quality(flow.sample(model, eval_noise, ddim, "euler"), ("ddim", 4))["fd"]
    return {
        "schedule": np.round(res.times, 4).tolist(),
        "fd_searched": searched,
        "fd_ddim_uniform": uniform,
        "ratio": searched / uniform,
        "fitness_searched": res.fitness,
        "fitness_ddim_uniform": fit(ddim),
        "evaluations": res.stats["evaluations"],
        "history": res.history.tolist(),
        "paper": {"searched": 17.86, "ddim_uniform": 138.66, "ratio": 17.86 / 138.66},
        "seconds": time.perf_counter() - t0,
    }


SHIFTS = (1 / 3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)


def shifted(K, shift):
    """``K`` uniform steps in noise level ``sigma = 1 - t`` under SD3's time shift
    ``shift sigma / (1 + (shift - 1) sigma)`` (shift > 1: more steps near the data)."""
    times = 1.0 - S.shift_sigmas(1.0 - S.uniform(K), shift)
    times[0], times[-1] = 0.0, 1.0
    return times


def diagnose(model, shape, cfg, image):
    """Why planning gains little on a flow: measured on the planning noise (seed 0), never on
    the evaluation noise.

    - ``straightness``: the teacher path's length over its chord (1 for a straight line) and
      the RMS acceleration ``|x''(t)|`` (second differences of a 100-step Heun teacher) at ten
      times: a flat profile means uniform steps already equidistribute the local error.
    - ``teacher``: the error between the teacher of ``ref_steps`` steps and one of twice as
      many, the teacher's own discretisation error (against which no error below it is
      resolved).
    - ``shift``: each sampler's error at each NFE over uniform steps time-shifted by the
      factors :data:`SHIFTS` (1 is uniform), the best factor and its error over uniform's.
    """
    n = cfg["plan_images"] if image else cfg["plan_points"]
    noise = flow.make_noise(model, n, 0, shape)
    tr = flow.teacher(model, noise, 100, solver="heun")
    x = tr.x.reshape(len(tr.x), n, -1)
    h = tr.times[1] - tr.times[0]
    acc = np.sqrt((((x[2:] - 2 * x[1:-1] + x[:-2]) / h**2) ** 2).sum(-1).mean(-1))
    length = np.sqrt((np.diff(x, axis=0) ** 2).sum(-1)).sum(0).mean()
    chord = np.sqrt(((x[-1] - x[0]) ** 2).sum(-1)).mean()
    at = np.linspace(0, len(acc) - 1, 10).astype(int)
    steps = cfg["ref_steps_image"] if image else 1000
    ref = flow.reference(model, noise, steps).double()
    fine = flow.reference(model, noise, 2 * steps).double()
    shift = {}
    for solver in cfg.get("solvers", SOLVERS):
        for nfe in cfg["nfe"]:
            k = nfe // flow.NFE_PER_STEP[solver]
            errs = [
                flow.teacher_error(
                    flow.sample(model, noise, shifted(k, c), solver).reshape(n, -1),
                    ref.reshape(n, -1),
                )
                for c in SHIFTS
            ]
            best = int(np.argmin(errs))
            shift[f"{solver} {nfe}"] = {
                "errors": np.round(errs, 6).tolist(),
                "best_shift": SHIFTS[best],
                "best_over_uniform": errs[best] / errs[SHIFTS.index(1.0)],
            }
    return {
        "noise": f"planning noise, seed 0, {n} samples",
        "straightness": {
            "length_over_chord": float(length / chord),
            "times": np.round(tr.times[1:-1][at], 3).tolist(),
            "acceleration_rms": np.round(acc[at], 4).tolist(),
        },
        "teacher": {
            "steps": steps,
            "error_vs_twice_the_steps": flow.teacher_error(ref.reshape(n, -1), fine.reshape(n, -1)),
        },
        "shifts": list(SHIFTS),
        "shift": shift,
    }


def targets(models, quality=None):
    """The issue's ratios: best project / best stock, planned / uniform per solver, evolve.

    With ``quality`` (the :class:`Quality` of the run) each ratio gets its paired bootstrap
    90% interval ("interval"); a Frechet ratio against a stock configuration also gets its
    "floor", the teacher's distance over the stock one: no sampler of this model can go below
    it (beyond sampling noise), whatever its schedule.
    """
    out = []

    def ci(a, b, nfe, metric):
        if quality is None:
            return {}
        return {"interval": quality.interval((a, nfe), (b, nfe), metric), "interval_by": INTERVAL}

    for m in models:
        teacher = next((r for r in m["rows"] if r["kind"] == "reference"), None)
        for nfe in sorted({r["nfe"] for r in m["rows"] if r["kind"] != "reference"}):
            rows = [r for r in m["rows"] if r["nfe"] == nfe and r["kind"] != "reference"]
            for metric in ("error", "fd"):
                if metric not in rows[0]:
                    continue
                stock = min((r for r in rows if r["config"] in STOCK), key=lambda r: r[metric])
                ours = min((r for r in rows if r["kind"] == "planned"), key=lambda r: r[metric])
                row = {
                    "model": m["model"],
                    "nfe": nfe,
                    "metric": metric,
                    "target": "best planned <= 0.5x best stock",
                    "ours": ours["config"],
                    "stock": stock["config"],
                    "ratio": ours[metric] / stock[metric],
                    "met": ours[metric] <= 0.5 * stock[metric],
                    **ci(ours["config"], stock["config"], nfe, metric),
                }
                if metric == "fd" and teacher is not None:
                    row["floor"] = teacher["fd"] / stock["fd"]
                    if "fd_training_images" in teacher:
                        row["sample_floor"] = teacher["fd_training_images"] / stock["fd"]
                out.append(row)
                base = next((r for r in rows if r["config"] == BASELINE), None)
                if base is not None:
                    out.append(
                        {
                            "model": m["model"],
                            "nfe": nfe,
                            "metric": metric,
                            "target": f"best planned <= 0.5x {BASELINE} (outside the stock set)",
                            "ours": ours["config"],
                            "baseline": BASELINE,
                            "ratio": ours[metric] / base[metric],
                            "met": ours[metric] <= 0.5 * base[metric],
                            **ci(ours["config"], BASELINE, nfe, metric),
                        }
                    )
            for solver in m.get("config", {}).get("solvers", SOLVERS):
                u = next(r for r in rows if r["config"] == f"{solver} uniform")
                for how in ("planned", "LD3"):
                    p = next((r for r in rows if r["config"] == f"{solver} {how}"), None)
                    if p is None:
                        continue
                    out.append(
                        {
                            "model": m["model"],
                            "nfe": nfe,
                            "metric": "error",
                            "target": f"{solver}{' LD3' if how == 'LD3' else ''}: {how} "
                            "<= 0.5x uniform",
                            "ratio": p["error"] / u["error"],
                            "met": p["error"] <= 0.5 * u["error"],
                            **ci(p["config"], u["config"], nfe, "error"),
                        }
                    )
        if "autodiffusion" in m:
            a = m["autodiffusion"]
            row = {
                "model": m["model"],
                "nfe": 4,
                "metric": "fd",
                "target": "AutoDiffusion searched vs DDIM uniform (paper 0.129)",
                "ratio": a["ratio"],
                "met": a["ratio"] <= 17.86 / 138.66,
                **ci("evolved", "ddim", 4, "fd"),
            }
            if teacher is not None:
                row["floor"] = teacher["fd"] / a["fd_ddim_uniform"]
                if "fd_training_images" in teacher:
                    row["sample_floor"] = teacher["fd_training_images"] / a["fd_ddim_uniform"]
            out.append(row)
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
            style = {"stock": "k--", "baseline": "k:", "uniform": ":", "planned": "-"}[kind]
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


# ----------------------------------------------------------------------------- direct search


def search_record(name, rows, ratios, clocks):
    """The record of one model's ``--direct`` or ``--bns`` run; ``clocks`` the wall and CPU
    clocks and the load averages at its start."""
    started, cpu_started, load_started = clocks
    return {
        "model": name,
        "rows": rows,
        "ratios": ratios,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "load": {"start": list(load_started), "end": list(os.getloadavg())},
    }


def direct_search(name, cfg, kd):
    """The lowest error any schedule reaches: Nelder-Mead over a ``K``-step schedule's
    ``K`` logits (times ``cumsum(softmax)`` on the coordinate of uniform training timesteps,
    as :func:`stepsize.flow.plan_ld3`) from uniform steps, then over the times together with
    decoupled evaluation times (``sample(..., eval_times=...)``: ``K`` offsets on that
    coordinate, from 0), on the planning noise (seed 0) against the ``ref_steps_image``-step
    Heun teacher; scored on the evaluation noise (seed 1) against the stock configurations
    and the sampler's uniform steps, with paired bootstrap 90% intervals."""
    from scipy.optimize import minimize

    clocks = time.perf_counter(), time.process_time(), os.getloadavg()
    model, net, sched_cfg, shape = load(name)
    image = name.startswith("digits16")
    n_plan, n_eval = (cfg["plan_images"], cfg["eval_images"]) if image else (256, 1024)
    steps = cfg["ref_steps_image"] if image else 1000
    plan_noise = flow.make_noise(model, n_plan, 0, shape)
    noise = torch.randn((n_eval, *shape), generator=torch.Generator().manual_seed(1))
    cache = teacher_cache(name)
    plan_ref = cache.reference(model, plan_noise, steps).double()
    quality = Quality(name, cache.reference(model, noise, steps).double())
    grid = S.model_grid(model.process, 1000, "timesteps")
    grid[0] = max(grid[0], model.process.t_min)
    u_grid = np.linspace(0.0, 1.0, len(grid))

    def schedule(p, K):
        w = np.exp(p[:K] - p[:K].max())
        u = np.concatenate([[0.0], np.cumsum(w / w.sum())])
        times = np.interp(u, u_grid, grid)
        times[0], times[-1] = 0.0, 1.0
        if len(p) == K:
            return times, None
        u_eval = np.clip(u[:-1] + p[K:], 0.0, 0.999)
        return times, np.interp(u_eval, u_grid, grid)

    def plan_error(p, K, solver):
        times, ev = schedule(p, K)
        if np.any(np.diff(times) <= 0):
            return np.inf
        x = flow.sample(model, plan_noise, times, solver, eval_times=ev).double()
        ok = torch.isfinite(x).all()
        return float(((x - plan_ref) ** 2).reshape(n_plan, -1).sum(1).mean()) if ok else np.inf

    rows, ratios = [], []

    def add(config, nfe, x, **extra):
        rows.append({"config": config, "nfe": nfe, **quality(x, (config, nfe)), **extra})

    for nfe in cfg["nfe"]:
        for config in STOCK:
            if config.startswith("diffusers") or kd is not None:
                x, _ = run_stock(config, (model, net, sched_cfg, image, kd), noise, nfe)
                add(config, nfe, x)
        stock = min((r for r in rows if r["nfe"] == nfe), key=lambda r: r["error"])
        for solver in cfg["direct_solvers"]:
            K = nfe // flow.NFE_PER_STEP[solver]
            add(f"{solver} uniform", nfe, flow.sample(model, noise, S.uniform(K), solver))
            fits = {}
            p = np.zeros(K)
            for how, n in (("direct", K), ("direct decoupled", 2 * K)):
                p = np.concatenate([p, np.zeros(n - len(p))])
                res = minimize(
                    plan_error,
                    p,
                    args=(K, solver),
                    method="Nelder-Mead",
                    options={"maxfev": cfg["direct_evaluations"] * n, "xatol": 1e-4},
                )
                p = res.x
                times, ev = schedule(p, K)
                x = flow.sample(model, noise, times, solver, eval_times=ev)
                extra = {"schedule": np.round(times, 5).tolist(), "plan_error": res.fun}
                if ev is not None:
                    extra["eval_times"] = np.round(ev, 5).tolist()
                add(f"{solver} {how}", nfe, x, evaluations=int(res.nfev), **extra)
                fits[how] = rows[-1]
            for r in fits.values():
                for base in (stock["config"], f"{solver} uniform"):
                    b = next(q for q in rows if q["config"] == base and q["nfe"] == nfe)
                    ratios.append(
                        {
                            "nfe": nfe,
                            "ratio of": f"{r['config']} / {base}",
                            "ratio": r["error"] / b["error"],
                            "interval": quality.interval((r["config"], nfe), (base, nfe), "error"),
                            "interval_by": INTERVAL,
                        }
                    )
            print(f"  {name} direct {solver} nfe {nfe}: " + str(ratios[-4:]), flush=True)
    return search_record(name, rows, ratios, clocks)


def stored_models(name):
    """The ``models`` of the results file ``name`` in ``benchmarks/results`` (none for
    ``None`` or a missing file)."""
    path = Path(__file__).parent / "results" / name if name else None
    return json.loads(path.read_text())["models"] if path and path.exists() else []


def bns_search(name, cfg, kd):
    """Bespoke non-stationary solvers (:func:`stepsize.flow.plan_bns`): for each sampler of
    ``cfg["bns_solvers"]`` at each NFE, its weights and evaluation times fitted from its
    uniform steps on the ``cfg["spacing"]`` coordinate (a VP model's uniform training
    timesteps, scored as a row of their own), or from the sampler's planned schedule in
    ``cfg["bns_from"]`` (a ``schedules-samplers.json``) where that holds one, on
    ``cfg["bns_images"]`` (images) or ``cfg["bns_points"]`` (2-D) noises of seed 2
    (validation: half as many of seed 3) against the ``ref_steps_image``-step Heun teacher;
    scored on the evaluation noise (seed 1) against the stock configurations and the
    sampler's uniform steps, error and Frechet distance, with paired half-sampling 90%
    intervals."""
    clocks = time.perf_counter(), time.process_time(), os.getloadavg()
    model, net, sched_cfg, shape = load(name)
    image = name.startswith("digits16")
    n_eval = cfg["eval_images"] if image else cfg["eval_points"]
    steps = cfg["ref_steps_image"] if image else 1000
    n_train = cfg["bns_images"] if image else cfg["bns_points"]
    noise = torch.randn((n_eval, *shape), generator=torch.Generator().manual_seed(1))
    noise = noise.double() if not image else noise
    cache = teacher_cache(name)
    quality = Quality(name, cache.reference(model, noise, steps).double())
    rows, ratios = [], []
    planned = {  # the samplers benchmark's plans (its planning noise, seed 0), where it has them
        (r["solver"], r["nfe"]): r["schedule"]
        for m in stored_models(cfg.get("bns_from"))
        if m["model"] == name
        for r in m["rows"]
        if r.get("kind") == "planned"
    }

    def add(config, nfe, x, **extra):
        rows.append({"config": config, "nfe": nfe, **quality(x, (config, nfe)), **extra})
        print(f"  {name} {config:32s} nfe {nfe}: " + str(rows[-1])[:160], flush=True)

    for nfe in cfg["nfe"]:
        for config in STOCK:
            if config.startswith("diffusers") or kd is not None:
                x, _ = run_stock(config, (model, net, sched_cfg, image, kd), noise, nfe)
                add(config, nfe, x)
        stock = {
            m: min((r for r in rows if r["nfe"] == nfe), key=lambda r: r[m])
            for m in (("error", "fd") if image else ("error",))
        }
        for solver in cfg["bns_solvers"]:
            K = nfe // flow.NFE_PER_STEP[solver]
            add(f"{solver} uniform", nfe, flow.sample(model, noise, S.uniform(K), solver))
            bases = [f"{solver} uniform"]
            start = S.model_grid(model.process, K, cfg["spacing"])
            if not np.allclose(start, S.uniform(K)):  # a VP model's uniform training timesteps
                bases.append(f"{solver} uniform {cfg['spacing']}")
                add(bases[-1], nfe, flow.sample(model, noise, start, solver))
            if (solver, nfe) in planned:
                bases.append(f"{solver} planned")
                start = np.asarray(planned[solver, nfe])
                add(
                    bases[-1],
                    nfe,
                    flow.sample(model, noise, start, solver),
                    schedule=start.tolist(),
                )
            t0 = time.process_time()
            res = flow.plan_bns(
                model,
                start,
                solver,
                spacing=cfg["spacing"],
                n_samples=n_train,
                n_valid=n_train // 2,
                rounds=cfg["bns_rounds"],
                teacher_steps=steps,
                seed=2,
                shape=shape,
                cache=cache,
            )
            add(
                f"{solver} BNS",
                nfe,
                res.sample(model, noise),
                times=np.round(res.times, 5).tolist(),
                a=np.round(res.a, 6).tolist(),
                b=np.round(res.b, 6).tolist(),
                validation=[list(h) for h in res.history],
                cpu_seconds=time.process_time() - t0,
                **{k: res.stats[k] for k in ("parameters", "model_calls")},
            )
            for metric, best in stock.items():
                for base in (best["config"], *bases):
                    b = next(q for q in rows if q["config"] == base and q["nfe"] == nfe)
                    ratios.append(
                        {
                            "nfe": nfe,
                            "metric": metric,
                            "ratio of": f"{solver} BNS / {base}",
                            "ratio": rows[-1][metric] / b[metric],
                            "met": rows[-1][metric] / b[metric] <= 0.5,
                            "interval": quality.interval(
                                (f"{solver} BNS", nfe), (base, nfe), metric
                            ),
                            "interval_by": INTERVAL,
                        }
                    )
            print(f"  {name} BNS {solver} nfe {nfe}: " + str(ratios[-6:]), flush=True)
    return search_record(name, rows, ratios, clocks)
