"""``stepsize schedule``: show formula schedules and search schedules for a flow model.

``show`` needs only this package; ``search`` is the command-line face of
:func:`stepsize.flow.search_schedules` (the command layer may call any domain).
"""

import json

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
  stepsize schedule search --model checkerboard --steps 4 --method ld3 --solver unipc
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
    search.add_argument(
        "--method", default="bellman", help="bellman, plan (for --solver), ld3, evolve or all"
    )
    search.add_argument("--planner", default="boss", help="Bellman cost: boss, gits or oss")
    search.add_argument("--grid", type=int, default=100, help="fine grid intervals N (100)")
    search.add_argument("--samples", type=int, default=256, help="planning samples (256)")
    search.add_argument("--eval-samples", type=int, default=1024, help="evaluation samples")
    search.add_argument(
        "--metric", default="teacher", help="evolve fitness: teacher, swd, mmd, frechet"
    )
    search.add_argument("--population", type=int, default=50, help="evolve population (50)")
    search.add_argument("--epochs", type=int, default=10, help="evolve generations (10)")
    search.add_argument("--solver", default="euler", help="sampler (euler; see stepsize.flow)")
    search.add_argument(
        "--spacing", default="timesteps", help="grid of plan and ld3: timesteps, time or logsnr"
    )
    search.add_argument("--ld3-iterations", type=int, default=60, help="LD3 steps (60)")
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
    from stepsize.flow._search import SEARCHES
    from stepsize.schedules import SPACINGS

    if args.method not in SEARCHES:
        raise UsageError(f"--method: unknown {args.method!r}; known: {', '.join(SEARCHES)}")
    if args.spacing not in SPACINGS:
        raise UsageError(f"--spacing: unknown {args.spacing!r}; known: {', '.join(SPACINGS)}")
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
    for flag in ("epochs", "workers", "ld3_iterations"):
        positive(getattr(args, flag), "--" + flag.replace("_", "-"), integer=True)
    check_seed(args.seed)
    if args.out:
        check_output_dir(args.out)


def run_search(args):
    """Handler of ``stepsize schedule search``: check, one search, print and save its result."""
    from stepsize.flow import search_schedules
    from stepsize.flow._cli import resolve_model
    from stepsize.flow._search import check_metric
    from stepsize.parallel import Runner

    _check_search(args)
    model = resolve_model(args.model)
    with user_input("--metric"):
        check_metric(model, args.metric)
    workers = None if args.dask else args.workers
    with Runner(workers, client=args.dask) as runner:
        found = search_schedules(
            model,
            args.steps,
            name=args.model,
            method=args.method,
            planner=args.planner,
            n_grid=args.grid,
            n_samples=args.samples,
            eval_samples=args.eval_samples,
            metric=args.metric,
            population=args.population,
            epochs=args.epochs,
            solver=args.solver,
            seed=args.seed,
            spacing=args.spacing,
            ld3_iterations=args.ld3_iterations,
            map=runner.map,
        )
    if args.out:
        found.save(args.out)
    print(json.dumps(found.to_dict(), indent=2) if args.json else found.table())
    return 0
