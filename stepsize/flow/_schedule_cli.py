"""``stepsize schedule``: show formula schedules and search schedules for a flow model."""

import json
from pathlib import Path

from stepsize._errors import (
    UsageError,
    check_output_dir,
    check_output_file,
    check_seed,
    positive,
    user_input,
)

EXAMPLES = """examples:
  stepsize schedule show karras --steps 8 --format diffusers-sigmas
  stepsize schedule search --model moons --steps 4 --method bellman --out results
  stepsize schedule search --model digits --steps 6 --method evolve --metric frechet --workers 2
  stepsize schedule search --model moons --steps 4 --method evolve --dask tcp://host:8786
"""

FORMATS = ("times", "sigmas", "kdiffusion", "diffusers-sigmas", "diffusers-timesteps")


def _lists(kwargs):
    return {k: v.tolist() for k, v in kwargs.items()}


def register(subparsers):
    """Add the ``schedule`` subcommand and its actions to the top-level parser."""
    import argparse

    parser = subparsers.add_parser(
        "schedule",
        help="sampler schedules: formulas, Bellman planning, evolutionary search",
        description="Offline step schedules for flow samplers.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print a formula schedule in an export format")
    show.add_argument("name", help="uniform, karras, logsnr, quadratic or ays")
    show.add_argument("--steps", type=int, default=10, help="steps K (10)")
    show.add_argument("--format", default="times", help=f"one of {', '.join(FORMATS)}")
    show.add_argument("--out", default=None, help="also save the schedule as JSON to this file")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=run_show)

    search = actions.add_parser(
        "search",
        help="plan a schedule for a model and compare it with the formulas",
        description="Plan K steps for a flow model by Bellman dynamic programming and/or "
        "evolutionary search; print the error against a 1000-step teacher and distances to the "
        "data for every schedule; with --out write JSON and a PNG of samples and steps.",
    )
    search.add_argument("--model", default="moons", help="pretrained name or model file")
    search.add_argument("--steps", type=int, default=4, help="sampler steps K (4)")
    search.add_argument("--method", default="bellman", help="bellman, evolve or all")
    search.add_argument("--planner", default="boss", help="Bellman cost: boss, gits or oss")
    search.add_argument("--grid", type=int, default=100, help="fine grid intervals N (100)")
    search.add_argument("--samples", type=int, default=256, help="planning samples (256)")
    search.add_argument("--eval-samples", type=int, default=1024, help="evaluation samples")
    search.add_argument(
        "--metric", default="teacher", help="evolve fitness: teacher, swd, mmd, frechet"
    )
    search.add_argument("--population", type=int, default=50, help="evolve population (50)")
    search.add_argument("--epochs", type=int, default=10, help="evolve generations (10)")
    search.add_argument("--solver", default="euler", help="sampler: euler, heun or midpoint")
    search.add_argument("--seed", type=int, default=0, help="seed (0)")
    search.add_argument("--workers", type=int, default=1, help="local processes for evolve (1)")
    search.add_argument("--dask", metavar="ADDRESS", default=None, help="Dask scheduler address")
    search.add_argument("--out", default=None, help="directory for schedule-search.json/.png")
    search.add_argument("--json", action="store_true", help="print JSON instead of a table")
    search.set_defaults(func=run_search)


def run_show(args):
    from stepsize import schedules

    if args.format not in FORMATS:
        raise UsageError(f"--format: unknown {args.format!r}; known: {', '.join(FORMATS)}")
    with user_input():
        times = schedules.get(args.name, args.steps)
    if args.out:
        check_output_file(args.out)
    value = {
        "times": lambda: times.tolist(),
        "sigmas": lambda: schedules.t_to_sigma(times).tolist(),
        "kdiffusion": lambda: schedules.to_kdiffusion(times).tolist(),
        "diffusers-sigmas": lambda: _lists(schedules.to_diffusers(times, "sigmas")),
        "diffusers-timesteps": lambda: _lists(schedules.to_diffusers(times, "timesteps")),
    }[args.format]()
    if args.out:
        schedules.save_schedule(args.out, times, name=args.name, steps=args.steps)
    print(json.dumps(value) if args.json else value)
    return 0


def _check_search(args):
    from stepsize.flow import METRICS, PLANNERS, SOLVERS

    if args.method not in ("bellman", "evolve", "all"):
        raise UsageError(f"--method: unknown {args.method!r}; known: bellman, evolve, all")
    if args.planner not in PLANNERS:
        raise UsageError(f"--planner: unknown {args.planner!r}; known: {', '.join(PLANNERS)}")
    if args.metric not in METRICS:
        raise UsageError(f"--metric: unknown {args.metric!r}; known: {', '.join(METRICS)}")
    if args.solver not in SOLVERS:
        raise UsageError(f"--solver: unknown {args.solver!r}; known: {', '.join(SOLVERS)}")
    if not 1 <= args.steps < args.grid:
        raise UsageError(f"--steps must lie in [1, --grid), got {args.steps}")
    if args.samples < 2 or args.eval_samples < 2:
        raise UsageError("--samples and --eval-samples must be >= 2")
    if args.population < 2:
        raise UsageError(f"--population must be >= 2, got {args.population}")
    for flag in ("epochs", "workers"):
        positive(getattr(args, flag), f"--{flag}", integer=True)
    check_seed(args.seed)
    if args.out:
        check_output_dir(args.out)


def run_search(args):
    import numpy as np

    from stepsize import schedules
    from stepsize.flow import ScheduleFitness, compare_schedules, make_noise, plan_bellman
    from stepsize.flow._cli import data_and_classifier, print_rows, resolve_model
    from stepsize.flow._plot import plot_comparison

    _check_search(args)
    model = resolve_model(args.model)
    data, classifier = data_and_classifier(model)
    if args.metric in ("swd", "mmd", "frechet") and data is None:
        raise UsageError(f"--metric {args.metric} needs a model of a known data set")
    if args.metric == "frechet" and classifier is None:
        raise UsageError("--metric frechet needs the digits model")
    K = args.steps
    found = {name: schedules.get(name, K) for name in schedules.SCHEDULES}
    if args.method in ("bellman", "all"):
        found["bellman" if args.planner == "boss" else args.planner] = plan_bellman(
            model, K, args.grid, args.samples, args.seed, method=args.planner
        )
    info = {}
    if args.method in ("evolve", "all"):
        noise = make_noise(model, args.samples, args.seed)
        fit = ScheduleFitness(
            model,
            noise,
            args.metric,
            None if args.metric == "teacher" else data,
            solver=args.solver,
            classifier=classifier,
        )
        from stepsize.parallel import Runner

        with Runner(None if args.dask else args.workers, client=args.dask) as runner:
            res = schedules.evolve(
                fit,
                schedules.uniform(args.grid),
                K,
                args.population,
                args.epochs,
                init=list(found.values()),
                seed=args.seed,
                map=runner.map,
            )
        found["evolved"] = res.times
        info = {"fitness": res.fitness, "history": res.history.tolist(), **res.stats}
    comp = compare_schedules(
        model,
        found,
        n_samples=args.eval_samples,
        seed=args.seed + 1,
        solver=args.solver,
        data=data,
        classifier=classifier,
    )
    doc = {
        "model": args.model,
        "steps": K,
        "solver": args.solver,
        "schedules": {k: np.asarray(v).tolist() for k, v in found.items()},
        "rows": comp.rows,
        "evolve": info,
    }
    if args.out:
        out = Path(args.out)
        (out / "schedule-search.json").write_text(json.dumps(doc, indent=2) + "\n")
        plot_comparison(
            out / "schedule-search.png", comp, found, f"{args.model}: {K} {args.solver} steps"
        )
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"{args.model}: {K} {args.solver} steps, evaluated on {args.eval_samples} samples")
    print_rows(comp.rows)
    for name in ("bellman", "gits", "oss", "evolved"):
        if name in found:
            print(f"{name:8} t = {np.array2string(np.asarray(found[name]), precision=3)}")
    return 0
