"""Sampler schedules for flow models: formulas, Bellman planners, evolution, straightening.

What is measured
----------------
Models: flows shipped with ``stepsize.flow`` (by default ``checkerboard``, a 2-D MLP, and
``digits``, 8x8 digits, 64-D; ``moons`` and ``8gaussians`` on request), sampled with ``K`` Euler
steps, ``K`` in 2, 4, 6, 8, 10 (torch on one thread).
For every model and ``K`` each schedule samples the same 1024 evaluation noises (seed 1) and we
record

* error: ``mean_b ||x_b - x_ref_b||^2`` against a 1000-step Heun teacher from the same noise,
* swd: sliced Wasserstein distance to 4096 fresh data samples (2-D models), and
  fd: Frechet distance in the feature space of the shipped digits classifier to the 1797 digits
  (digits model); the teacher's own values are in the "reference" rows.

Schedules: the formulas (uniform, karras, logsnr, quadratic, ays); Bellman paths on a 100-step
Euler teacher of 256 planning noises (seed 0, disjoint from the evaluation noise) with BOSS's
squared costs ("bellman"), GITS's L2 costs and coefficient 1.15 ("gits"), and the state-carrying
OSS-style planner ("oss"); AutoDiffusion-style evolutionary search on the same grid with the
teacher error on the planning noise as fitness (population 50, top 10, 10 generations), seeded
with uniform steps only ("evolved-uniform") and with all of the above ("evolved"); LD3
(``plan_ld3`` for Euler from the Bellman path, 40 iterations on the planning noise against a
100-step Heun teacher, "ld3"); and BOSS stage
2: the model fine-tuned on the Bellman steps (4096 teacher pairs, seed 2, 2000 Adam steps) and
sampled on them ("straightened"); its error is against the *original* model's teacher.

Also: ``bellman(cost, K)`` time for ``N = 1000``, ``K = 10`` (random costs; median of 7 after a
compiling call) and the planner applied to an ODE: fixed RK4 steps for the Kepler problem with
eccentricity 0.8 over one period (grid of 400 uniform intervals, RK4 one-step costs on a DOP853
reference from ``stepsize.ode.solve``), uniform against Bellman for ``K`` = 20, 40, 80.

Targets reported against (from the issue): Bellman <= 0.5x uniform's error at K = 4; evolved no
worse than Bellman on its own fitness; straightened + Bellman <= 0.5x Bellman; ``bellman`` for
N = 1000, K = 10 under 0.5 s.

Samplers (``--samplers``, issue 15; writes ``schedules-samplers.json`` and ``.png``): on the
shipped ``checkerboard`` flow (2-D MLP) and the 16x16 digits UNets ``digits16-flow`` (rectified
flow) and ``digits16-ddpm`` (epsilon DDPM), at 4, 6 and 8 NFE, from one evaluation noise (seed
1; 1024 points, 128 images): error against a Heun teacher (1000 steps; 100 for the UNets) and
for the digits the local Frechet distance ("fd") in the shipped classifier's features (16x16
samples averaged to 8x8) to the 1797 training images averaged alike (the raw digits lie 32.8
away from that round trip; runs before ``--rescore`` measured against them). Stock
configurations a user runs today (the issue's set): diffusers' ``DPMSolverMultistepScheduler``
and ``UniPCMultistepScheduler`` with their default schedules (flow models:
``use_flow_sigmas=True``) in a pipeline's loop, and k-diffusion's ``sample_dpmpp_2m`` with
Karras sigmas; k-diffusion's DPM++ 2M with uniform flow sigmas (the issue's first table; the
project's ``dpmpp_2m_flow`` with uniform steps) is compared against as well, outside the stock
set. k-diffusion's ``sampling.py`` is loaded from the installed k-diffusion
(``requirements-nodeps.lock``), its rows are missing without it. The project: each sampler of
``stepsize.flow.SOLVERS`` with ``NFE / NFE_PER_STEP`` uniform steps, with the schedule of
``plan_for_solver`` for that sampler (teacher on 72 / 48 uniform training timesteps, i.e. the
model's whole noise range, a grid on which uniform 4, 6 and 8 steps lie; 256 / 32 planning
noises, seed 0), and for ``dpmpp_2m_flow`` and ``unipc`` the LD3 schedule (``plan_ld3`` started
from that plan; 40 / 20 iterations on 256 / 32 noises of seed 2, validated on seed 3, against a
200 / 100-step Heun teacher). AutoDiffusion row (``digits16-ddpm``): ``evolve`` (population 16,
8 generations, local mutation of up to 8 nodes) of a 4-step Euler (DDIM) schedule on 100 uniform
training timesteps, seeded with DDIM's uniform timesteps and the Bellman plan for Euler, with
the Frechet distance of 128 planning images as fitness, against DDIM with 4 uniform timesteps
(999, 749, 500, 250). Every ratio carries a paired 90% interval over the evaluation samples by
half-sampling (200 subsets of n/2 samples without replacement, ``Quality.interval``), and every
Frechet ratio against a stock configuration its floor, the teacher's distance over the stock
one, and its sample floor, that of as many training images as samples. Teachers come from a
``stepsize.flow.TeacherCache`` on disk and every stage of a model's run (plans, LD3 runs, scored
rows, the AutoDiffusion search) is checkpointed, both under ``$STEPSIZE_BENCH_CACHE`` (default
``~/.cache/stepsize/samplers``): a killed run started again resumes where it stopped. For
the flows a diagnosis on the planning noise (``_samplers_bench.diagnose``): straightness of
the teacher path, the teacher's own error, and each sampler over SD3-style time-shifted uniform
steps. On this shared 2-core machine the UNets
ran a smaller configuration (stored with each model's results): a 100-step teacher (50 for LD3),
plans on 24 timesteps, samplers euler, dpmpp_2m_flow and unipc. ``--models`` picks models, which
may run as separate processes: each merges its results into the file when it writes (results of
other models there are kept).

``--samplers --rescore`` scores the stored runs of ``--models`` again from their recorded
schedules and noise (no planning: a changed metric on the same samples); ``--samplers --direct
SOLVERS [--direct-nfe 4]`` writes ``schedules-direct.json``: the lowest error Nelder-Mead finds
over a schedule's times from uniform steps, then with decoupled evaluation times
(``_samplers_bench.direct_search``), against the stock configurations and uniform steps;
``--samplers --bns SOLVERS`` writes ``schedules-bns.json``: bespoke non-stationary solvers
(``stepsize.flow.plan_bns``: each sampler's linear weights and evaluation times fitted by
L-BFGS through the sampler from its uniform steps, 64 noises of seed 2, validated on 32 of
seed 3, against the same Heun teacher; ``_samplers_bench.bns_search``) at each NFE, scored on
the evaluation noise against the stock configurations and the sampler's uniform steps; with
``--bns-from schedules-samplers.json`` each fit starts from the sampler's planned schedule there
(and is scored against it too). A VP model's uniform flow times leave its high noise levels
unresolved (``model_grid``), so its fits start from uniform training timesteps at least (a row
of their own). The 2-D models fit on 2048 noises (1024 validation).

Usage: ``python benchmarks/schedules.py [--quick] [--out DIR] [--models A,B] [--name STEM]
[--samplers [--rescore | --direct SOLVERS | --bns SOLVERS [--bns-from FILE]]]``.
Writes ``STEM.json`` and ``STEM.png`` (default ``schedules``) to ``DIR`` (default
``benchmarks/results``; ``--quick``: a temporary directory, ``moons`` only, K in 2 and 4, small
searches, for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from stepsize import flow
from stepsize import schedules as S
from stepsize.flow import reference_data
from stepsize.ode import problems, solve

FORMULAS = ("uniform", "karras", "logsnr", "quadratic", "ays")


def time_bellman():
    cost = np.random.default_rng(0).random((1001, 1001))
    S.bellman(cost, 10)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        S.bellman(cost, 10)
        times.append(time.perf_counter() - start)
    return {"N": 1000, "K": 10, "median_s": statistics.median(times), "min_s": min(times)}


def kepler_demo(n_grid=400, steps=(20, 40, 80)):
    p = problems.kepler(eccentricity=0.8)

    def rk4(y, t0, t1):
        h = t1 - t0
        out = np.empty_like(y)
        for b, yb in enumerate(y):
            k1 = p.fun(t0, yb, *p.args)
            k2 = p.fun(t0 + h / 2, yb + h / 2 * k1, *p.args)
            k3 = p.fun(t0 + h / 2, yb + h / 2 * k2, *p.args)
            k4 = p.fun(t1, yb + h * k3, *p.args)
            out[b] = yb + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return out

    def error(times):
        y = p.y0[None].copy()
        for a, b in zip(times[:-1], times[1:]):
            y = rk4(y, a, b)
        return float(np.abs(y[0] - p.y_ref).max())

    grid = np.linspace(*p.t_span, n_grid + 1)
    ref = solve(
        p.fun, p.t_span, p.y0, "dop853", rtol=1e-13, atol=1e-13, args=p.args, dense_output=True
    )
    start = time.perf_counter()
    cost = S.step_cost_matrix(rk4, ref.sol(grid).T[:, None, :], grid)
    cost_s = time.perf_counter() - start
    rows = []
    for K in steps:
        path = S.bellman(cost, K)
        rows.append(
            {
                "K": K,
                "uniform": error(np.linspace(*p.t_span, K + 1)),
                "bellman": error(grid[path]),
                "min_step": float(np.diff(grid[path]).min()),
                "max_step": float(np.diff(grid[path]).max()),
            }
        )
    return {
        "problem": "kepler e=0.8, one period, RK4",
        "grid": n_grid,
        "cost_s": cost_s,
        "rows": rows,
    }


def plan(model, K, cfg):
    """All schedules of one model and K; returns (schedules, extra info)."""
    found = {name: S.get(name, K) for name in FORMULAS}
    for method in flow.PLANNERS:
        found["bellman" if method == "boss" else method] = flow.plan_bellman(
            model, K, cfg["grid"], cfg["plan_samples"], seed=0, method=method
        )
    noise = flow.make_noise(model, cfg["plan_samples"], seed=0)
    fitness = flow.ScheduleFitness(model, noise)
    grid = S.uniform(cfg["grid"])
    info = {}
    for name, init in (("evolved-uniform", []), ("evolved", list(found.values()))):
        res = S.evolve(fitness, grid, K, cfg["population"], cfg["epochs"], init=init, seed=0)
        found[name] = res.times
        info[name] = {
            "fitness": res.fitness,
            "history": res.history.tolist(),
            "evaluations": res.stats["evaluations"],
        }
    res = flow.plan_ld3(
        model,
        K,
        "euler",
        init=found["bellman"],
        spacing="time",
        n_samples=cfg["plan_samples"],
        n_valid=cfg["plan_samples"],
        iterations=cfg["ld3_iterations"],
        teacher_steps=cfg["grid"],
        seed=2,  # training noise seed 2, validation 3: apart from the evaluation noise (seed 1)
    )
    found["ld3"] = res.times
    info["ld3"] = {"history": res.history, "seconds": res.stats["seconds"]}
    info["fitness"] = {name: fitness(t) for name, t in found.items()}
    return found, info


def run_model(name, cfg):
    model = flow.pretrained(name)
    data, classifier = reference_data(model)
    out = []
    for K in cfg["steps"]:
        start = time.perf_counter()
        found, info = plan(model, K, cfg)
        straight = flow.straighten(
            model,
            found["bellman"],
            n_pairs=cfg["pairs"],
            steps=cfg["straighten_steps"],
            lr=1e-3,
            seed=2,
        )
        comp = flow.compare_schedules(
            model, found, n_samples=1024, seed=1, data=data, classifier=classifier
        )
        extra = flow.compare_schedules(
            straight.model,
            {"straightened": found["bellman"]},
            n_samples=1024,
            seed=1,
            data=data,
            classifier=classifier,
        )
        row = extra.rows[0]
        row["error"] = flow.teacher_error(extra.samples["straightened"], comp.reference)
        comp.rows.insert(-1, row)
        out.append(
            {
                "K": K,
                "rows": comp.rows,
                "schedules": {k: np.asarray(v).tolist() for k, v in found.items()},
                "search": info,
                "straighten": straight.stats,
                "seconds": time.perf_counter() - start,
            }
        )
        errors = {r["schedule"]: r["error"] for r in comp.rows}
        print(
            f"{name:12} K={K:2d}  uniform {errors['uniform']:.4g}  bellman "
            f"{errors['bellman']:.4g}  oss {errors['oss']:.4g}  evolved {errors['evolved']:.4g}"
            f"  ld3 {errors['ld3']:.4g}  straightened {errors['straightened']:.4g}"
            f"  ({out[-1]['seconds']:.0f} s)",
            flush=True,
        )
    return {"model": name, "results": out}


def targets(models, bellman_time):
    rows = []
    for m in models:
        at4 = next((r for r in m["results"] if r["K"] == 4), None)
        if at4 is None:
            continue
        e = {r["schedule"]: r["error"] for r in at4["rows"]}
        fit = at4["search"]["fitness"]
        rows.append(
            {
                "model": m["model"],
                "K": 4,
                "bellman_over_uniform": e["bellman"] / e["uniform"],
                "best_planner_over_uniform": min(e["bellman"], e["oss"]) / e["uniform"],
                "evolved_over_bellman_own_fitness": fit["evolved"] / fit["bellman"],
                "evolved_uniform_over_bellman_own_fitness": fit["evolved-uniform"] / fit["bellman"],
                "evolved_over_bellman_eval": e["evolved"] / e["bellman"],
                "ld3_over_bellman": e["ld3"] / e["bellman"] if "ld3" in e else None,
                "straightened_over_bellman": e["straightened"] / e["bellman"],
            }
        )
    return {
        "K4": rows,
        "bellman_N1000_K10_s": bellman_time["median_s"],
        "checks": {
            "bellman <= 0.5 uniform": all(r["bellman_over_uniform"] <= 0.5 for r in rows),
            "evolved <= bellman (own fitness)": all(
                r["evolved_over_bellman_own_fitness"] <= 1.0 for r in rows
            ),
            "straightened <= 0.5 bellman": all(r["straightened_over_bellman"] <= 0.5 for r in rows),
            "bellman N=1000 K=10 < 0.5 s": bellman_time["median_s"] < 0.5,
        },
    }


def plot(doc, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = doc["models"]
    show = ("uniform", "karras", "ays", "bellman", "gits", "oss", "evolved", "ld3", "straightened")
    fig, axes = plt.subplots(2, len(models) + 1, figsize=(4.2 * (len(models) + 1), 7.5))
    axes = np.atleast_2d(axes)
    for col, m in enumerate(models):
        ks = [r["K"] for r in m["results"]]
        dist = "fd" if m["model"] == "digits" else "swd"
        for name in show:
            err = [
                next((x["error"] for x in r["rows"] if x["schedule"] == name), np.nan)
                for r in m["results"]
            ]
            d = [
                next(x.get(dist, np.nan) for x in r["rows"] if x["schedule"] == name)
                for r in m["results"]
            ]
            axes[0, col].semilogy(ks, err, "o-", label=name, ms=3)
            axes[1, col].semilogy(ks, d, "o-", label=name, ms=3)
        ref = next(x.get(dist) for x in m["results"][0]["rows"] if x["schedule"] == "reference")
        axes[1, col].axhline(ref, color="k", ls=":", label="teacher")
        axes[0, col].set_title(f"{m['model']}: error vs 1000-step teacher")
        axes[1, col].set_title(f"{m['model']}: {dist} to data")
        axes[1, col].set_xlabel("Euler steps K")
    axes[0, 0].legend(fontsize=7)
    k = doc["kepler"]
    ks = [r["K"] for r in k["rows"]]
    axes[0, -1].semilogy(ks, [r["uniform"] for r in k["rows"]], "o-", label="uniform RK4")
    axes[0, -1].semilogy(ks, [r["bellman"] for r in k["rows"]], "o-", label="Bellman RK4")
    axes[0, -1].set_title("Kepler e=0.8: end-point error")
    axes[0, -1].set_xlabel("RK4 steps K")
    axes[0, -1].legend(fontsize=7)
    first = models[0]["results"][min(1, len(models[0]["results"]) - 1)]
    for row, name in enumerate(("uniform", "karras", "ays", "bellman", "gits", "oss", "evolved")):
        t = np.asarray(first["schedules"][name])
        axes[1, -1].plot(t, np.full_like(t, row), "|-", ms=10)
    axes[1, -1].set_yticks(
        range(7), ["uniform", "karras", "ays", "bellman", "gits", "oss", "evolved"]
    )
    axes[1, -1].set_title(f"{models[0]['model']}, K={first['K']}: chosen steps")
    axes[1, -1].set_xlabel("t (0 = noise, 1 = data)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", default=None, help="output directory")
    parser.add_argument(
        "--models",
        default="checkerboard,digits",
        help="comma-separated shipped models (checkerboard,digits)",
    )
    parser.add_argument("--name", default=None, help="file stem of the outputs")
    parser.add_argument("--samplers", action="store_true", help="the samplers benchmark")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="with --samplers: score the stored runs of --models again without planning",
    )
    parser.add_argument(
        "--direct",
        metavar="SOLVERS",
        default=None,
        help="with --samplers: direct search of schedules for these samplers "
        "(writes schedules-direct.json)",
    )
    parser.add_argument("--direct-nfe", default="4", help="NFE of --direct (4)")
    parser.add_argument(
        "--bns",
        metavar="SOLVERS",
        default=None,
        help="with --samplers: bespoke non-stationary solvers fitted from these samplers "
        "(writes schedules-bns.json)",
    )
    parser.add_argument(
        "--bns-from",
        metavar="FILE",
        default=None,
        help="with --bns: start each sampler from its planned schedule in this results file "
        "(e.g. schedules-samplers.json) where it holds one, instead of uniform steps",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # these small models run fastest on one thread
    if args.samplers:
        return samplers_main(args)
    args.name = args.name or "schedules"
    if args.quick:
        cfg = {
            "models": ("moons",),
            "steps": (2, 4),
            "grid": 40,
            "plan_samples": 128,
            "population": 10,
            "epochs": 3,
            "pairs": 512,
            "straighten_steps": 200,
            "ld3_iterations": 5,
        }
        out = Path(args.out or tempfile.mkdtemp(prefix="schedules-"))
    else:
        cfg = {
            "models": tuple(args.models.split(",")),
            "steps": (2, 4, 6, 8, 10),
            "grid": 100,
            "plan_samples": 256,
            "population": 50,
            "epochs": 10,
            "pairs": 4096,
            "straighten_steps": 2000,
            "ld3_iterations": 40,
        }
        out = Path(args.out or Path(__file__).parent / "results")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    bellman_time = time_bellman()
    print(f"bellman N=1000 K=10: {1e3 * bellman_time['median_s']:.1f} ms (median)", flush=True)
    kepler = kepler_demo()
    for r in kepler["rows"]:
        print(
            f"kepler K={r['K']:3d}: uniform RK4 error {r['uniform']:.3g}, Bellman "
            f"{r['bellman']:.3g}",
            flush=True,
        )
    models = [run_model(name, cfg) for name in cfg["models"]]
    doc = {
        "config": cfg,
        "bellman_time": bellman_time,
        "kepler": kepler,
        "models": models,
        "targets": targets(models, bellman_time),
        "machine": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "numpy": np.__version__,
            "platform": platform.platform(),
            "threads": torch.get_num_threads(),
        },
        "seconds": time.perf_counter() - started,
    }
    (out / f"{args.name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    plot(doc, out / f"{args.name}.png")
    print(json.dumps(doc["targets"], indent=1))
    print(f"wrote {out / args.name}.json and .png ({doc['seconds']:.0f} s)")
    return 0


def samplers_main(args):
    """The samplers benchmark (``--samplers``); see the module docstring."""
    sys.path.insert(0, str(Path(__file__).parent))
    import _samplers_bench as B

    default = "checkerboard,digits16-flow,digits16-ddpm"
    names = default.split(",") if args.models == "checkerboard,digits" else args.models.split(",")
    cfg = {
        "nfe": (4, 6, 8),
        "eval_points": 1024,
        "eval_images": 128,
        "ref_steps_image": 200,
        "grid": 72,  # 72 and 48 intervals: uniform 4, 6 and 8 steps lie on the grid
        "grid_image": 48,
        "plan_points": 256,
        "plan_images": 64,
        "spacing": "timesteps",
        "ld3_solvers": ("dpmpp_2m_flow", "unipc"),
        "ld3_iterations": 40,
        "ld3_images": 32,
        "ld3_teacher": 200,
        "population": 24,
        "epochs": 8,
        "mutation_step": 8,
        "evolve_images": 128,
        "evolve": True,
        "diagnose": True,
    }
    if any(n.startswith("digits16") for n in names):  # a 2-core machine shared by ~8 jobs
        cfg.update(
            eval_images=128,
            ref_steps_image=100,
            grid_image=24,
            plan_images=32,
            ld3_iterations=20,
            ld3_teacher=50,
            population=16,
            solvers=("euler", "dpmpp_2m_flow", "unipc"),
        )
    if args.quick:
        names = ["moons"]
        cfg.update(
            nfe=(4,),
            eval_points=256,
            grid=20,
            plan_points=64,
            ld3_iterations=5,
            ld3_teacher=40,
            evolve=False,
        )
    out = Path(
        args.out
        or (
            tempfile.mkdtemp(prefix="samplers-")
            if args.quick
            else Path(__file__).parent / "results"
        )
    )
    out.mkdir(parents=True, exist_ok=True)
    stem = args.name or "schedules-samplers"
    path = out / f"{stem}.json"
    kd = B.kdiffusion_sampling()
    print(f"k-diffusion: {'loaded' if kd else 'not found (its rows are skipped)'}", flush=True)
    if args.direct or args.bns:
        if args.direct:
            nfe = tuple(int(n) for n in args.direct_nfe.split(","))
            cfg.update(nfe=nfe, direct_solvers=args.direct.split(","), direct_evaluations=40)
            search, stem = B.direct_search, "schedules-direct"
        else:
            cfg.update(
                bns_solvers=args.bns.split(","),
                bns_images=64,
                bns_points=2048,
                bns_rounds=10,
                bns_from=args.bns_from,
            )
            search, stem = B.bns_search, "schedules-bns"
        path = out / f"{args.name or stem}.json"
        write_search(path, cfg, [search(name, cfg, kd) for name in names], kd)
        print(f"wrote {path}")
        return 0
    if args.rescore:
        stored = {m["model"]: m for m in json.loads(path.read_text())["models"]}
        runs = [B.rescore_model(stored[name], kd) for name in names]
    else:
        runs = [B.run_model(name, cfg, kd) for name in names]
    old = json.loads(path.read_text())["models"] if path.exists() else []  # read late: runs
    models = {m["model"]: m for m in old}  # for other models may have finished meanwhile
    models.update({m["model"]: m for m in runs})
    doc = {
        "config": cfg,
        "models": list(models.values()),
        # each run's own targets carry its bootstrap intervals; older runs are recomputed
        "targets": [t for m in models.values() for t in m.get("targets") or B.targets([m])],
        "peers": {
            "diffusers": __import__("diffusers").__version__,
            "k-diffusion": "0.1.1.post1 sampling.py" if kd else None,
        },
        "machine": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "platform": platform.platform(),
            "threads": torch.get_num_threads(),
        },
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")
    B.plot(doc, out / f"{stem}.png")
    for t in doc["targets"]:
        extra = "".join(
            f" {key} {t[key]}" for key in ("interval", "floor") if t.get(key) is not None
        )
        print(
            f"{t['model']:14s} nfe {t['nfe']} {t['metric']:5s} {t['target']:40s} "
            f"ratio {t['ratio']:.3f} {'met' if t['met'] else 'MISSED'}{extra}"
        )
    print(f"wrote {path} and .png")
    return 0


def write_search(path, cfg, runs, kd):
    """Writes the runs of ``--direct`` or ``--bns`` to ``path``, each with the configuration it
    ran under, keeping the runs of other models already there (models may run as separate
    processes)."""
    old = json.loads(path.read_text()) if path.exists() else {"models": []}
    models = {m["model"]: {"config": old["config"], **m} for m in old["models"]}
    models.update({m["model"]: {**m, "config": cfg} for m in runs})
    doc = {
        "config": cfg,
        "models": list(models.values()),
        "peers": {"diffusers": __import__("diffusers").__version__, "k-diffusion": bool(kd)},
        "machine": {"python": sys.version.split()[0], "torch": torch.__version__},
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
