"""``stepsize flow``: train flow-matching models and sample them over a schedule."""

import json
from pathlib import Path

from stepsize._errors import UsageError, check_output_dir, check_seed, positive, user_input
from stepsize.flow._train_models import TRAINABLE, UNETS, check_names

EXAMPLES = """examples:
  stepsize flow train moons --steps 5000 --out models
  stepsize flow train moons,8gaussians,checkerboard --workers 3 --out models --json
  stepsize flow sample moons --steps 4 --schedule karras --out samples
"""


def register(subparsers):
    """Add the ``flow`` subcommand and its actions to the top-level parser."""
    import argparse

    parser = subparsers.add_parser(
        "flow",
        help="train flow-matching models and sample them",
        description="Flow-matching models on offline data: train, sample over a schedule.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = actions.add_parser(
        "train",
        help="train models (several in parallel)",
        description="Train a velocity MLP per data set (digits16-ddpm, digits16-flow: the "
        "16x16 digits UNets); with --out save DIR/NAME.pt and keep a resumable DIR/NAME.ckpt.",
    )
    train.add_argument("data", help=f"comma-separated data sets: {', '.join(TRAINABLE)}")
    train.add_argument("--steps", type=int, default=None, help="optimizer steps (5000; UNets 6000)")
    train.add_argument("--batch", type=int, default=None, help="batch size (512; UNets 64)")
    train.add_argument(
        "--lr", type=float, default=None, help="initial learning rate (1e-3; UNets 2e-3)"
    )
    train.add_argument("--hidden", type=int, default=None, help="width (128, 256 for digits)")
    train.add_argument("--depth", type=int, default=None, help="hidden layers (3, 4 for digits)")
    train.add_argument("--seed", type=int, default=0, help="random seed (0)")
    train.add_argument("--out", default=None, help="directory for the model files")
    train.add_argument("--workers", type=int, default=None, help="local processes")
    train.add_argument("--dask", metavar="ADDRESS", default=None, help="Dask scheduler address")
    train.add_argument("--json", action="store_true", help="print JSON instead of a table")
    train.set_defaults(func=run_train)

    smp = actions.add_parser(
        "sample",
        help="sample a model over a schedule",
        description="Sample a model with a formula or Bellman schedule and "
        "report the error against the teacher and distances to the data.",
    )
    smp.add_argument("model", help="pretrained name or model file")
    smp.add_argument("--steps", type=int, default=4, help="sampler steps K (4)")
    smp.add_argument(
        "--schedule",
        default="uniform",
        help="uniform, karras, logsnr, quadratic, ays, bellman or a JSON file",
    )
    smp.add_argument("--solver", default="euler", help="euler, heun or midpoint")
    smp.add_argument("--samples", type=int, default=1024, help="number of samples (1024)")
    smp.add_argument("--seed", type=int, default=0, help="noise seed (0)")
    smp.add_argument("--out", default=None, help="directory for samples.npy, JSON and PNG")
    smp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    smp.set_defaults(func=run_sample)


def resolve_model(spec):
    """A pretrained name or the path of a model file -> the flow model."""
    from stepsize.flow import PRETRAINED, VelocityMLP, load_model, pretrained

    if spec in PRETRAINED or Path(spec).is_file():
        # a file that is not a model raises UsageError naming it
        model = pretrained(spec) if spec in PRETRAINED else load_model(spec)
        if not isinstance(model, VelocityMLP):
            raise UsageError(f"--model: {spec!r} is a {type(model).__name__}, not a flow model")
        return model
    raise UsageError(
        f"--model: {spec!r} is neither a pretrained model ({', '.join(PRETRAINED)}) "
        "nor a model file"
    )


def run_train(args):
    """Handler of ``stepsize flow train``: check, :func:`stepsize.flow.train_models`, report."""
    from stepsize.flow import train_models
    from stepsize.parallel import Runner

    names = [n.strip() for n in args.data.split(",") if n.strip()]
    for flag in ("steps", "batch", "hidden", "depth", "workers"):
        positive(getattr(args, flag), f"--{flag}", integer=True)
    positive(args.lr, "--lr")
    check_seed(args.seed)
    with user_input("data"):
        check_names(names)
    unets = [n for n in names if n in UNETS]
    for flag in ("hidden", "depth"):
        if unets and getattr(args, flag) is not None:
            raise UsageError(f"--{flag}: {', '.join(unets)} is a UNet of fixed size")
    out = check_output_dir(args.out) if args.out else None
    workers = args.workers if args.workers is not None or args.dask else min(len(names), 4)
    with Runner(None if args.dask else workers, client=args.dask) as runner:
        trained = train_models(
            names,
            steps=args.steps,
            batch=args.batch,
            lr=args.lr,
            hidden=args.hidden,
            depth=args.depth,
            seed=args.seed,
            checkpoint_dir=out,
            map=runner.map,
        )
    paths = trained.save(out) if out else []
    if args.json:
        print(json.dumps({**trained.to_dict(), "files": [str(p) for p in paths]}, indent=2))
    else:
        print(trained.table())
        for path in paths:
            print(f"wrote {path}")
    return 0


def schedule_by_name(spec, model, K):
    """Times of a formula schedule, ``bellman`` (BOSS on the model) or a schedule JSON file."""
    from stepsize import schedules

    if spec == "bellman":
        from stepsize.flow import plan_bellman

        return plan_bellman(model, K)
    with user_input():
        if spec in schedules.SCHEDULES:
            return schedules.get(spec, K)
        if Path(spec).is_file():
            return schedules.check_schedule(schedules.load_schedule(spec)[0])
    known = ", ".join([*schedules.SCHEDULES, "bellman"])
    raise UsageError(f"--schedule: unknown {spec!r}; known: {known} or a schedule file")


def run_sample(args):
    """Handler of ``stepsize flow sample``: one schedule against the teacher and the data."""
    import numpy as np

    from stepsize.flow import SOLVERS, compare_schedules, comparison_table, reference_data

    if args.solver not in SOLVERS:
        raise UsageError(f"--solver: unknown {args.solver!r}; known: {', '.join(SOLVERS)}")
    if args.steps < 1 or args.samples < 2:
        raise UsageError("--steps must be >= 1 and --samples >= 2")
    check_seed(args.seed)
    if args.out:
        check_output_dir(args.out)
    model = resolve_model(args.model)
    times = schedule_by_name(args.schedule, model, args.steps)
    data, classifier = reference_data(model)
    comp = compare_schedules(
        model,
        {args.schedule: times},
        n_samples=args.samples,
        seed=args.seed,
        solver=args.solver,
        data=data,
        classifier=classifier,
    )
    doc = {"model": args.model, "schedule": times.tolist(), "rows": comp.rows}
    if args.out:
        title = f"{args.model}, {args.steps} {args.solver} steps"
        doc = comp.save(args.out, args.schedule, times, title, model=args.model)
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(
        f"{args.model}: {args.steps} {args.solver} steps over {args.schedule}: "
        f"{np.array2string(times, precision=3)}"
    )
    print(comparison_table(comp.rows))
    return 0
