"""``stepsize descent sweep``: Tyurin's Table 1 and figures on a local data set."""

import json
import math
from pathlib import Path

from stepsize._errors import UsageError, check_output_dir, check_seed, user_input
from stepsize.descent._data import DATASET_NAMES, load_dataset


def register(subparsers):
    """Add the ``descent`` subcommand and its actions to the top-level parser."""
    parser = subparsers.add_parser(
        "descent",
        help="gradient descent with large step sizes (Tyurin 2024)",
        description="Logistic regression with large step sizes, perceptrons, Normalized LR+GD.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sweep = actions.add_parser(
        "sweep",
        help="iterations to separate for LR+GD, Normalized LR+GD and both batch perceptrons",
        description=(
            "Run LR+GD and Normalized LR+GD for each step size and both batch perceptrons; "
            "print iterations to separate (the paper's Table 1) and, with --out, save the curves "
            "of loss, gradient norm, accuracy and h*lambda (edge of stability at 2)."
        ),
    )
    sweep.add_argument("--data", default="digits-3v8", help=f"data set: {', '.join(DATASET_NAMES)}")
    sweep.add_argument(
        "--gammas", default="1e-3,1e-2,1e-1,1,10,100", help="comma-separated step sizes"
    )
    sweep.add_argument("--max-iter", type=int, default=2000, help="steps per run (default 2000)")
    sweep.add_argument("--out", default=None, help="directory for descent_sweep.png and .json")
    sweep.add_argument("--json", action="store_true", help="print JSON instead of the table")
    sweep.add_argument("--seed", type=int, default=0, help="seed for data subsampling")
    sweep.set_defaults(func=run_sweep)


def run_sweep(args):
    """Handler of ``stepsize descent sweep``; returns the exit code."""
    from stepsize.descent._sweep import sweep

    gammas = _parse_gammas(args.gammas)
    check_seed(args.seed)
    with user_input():
        data = load_dataset(args.data, seed=args.seed)
    if args.max_iter < 1:
        raise UsageError(f"--max-iter must be >= 1, got {args.max_iter}")
    if args.out is not None:
        check_output_dir(args.out)
    result = sweep(data, gammas, max_iter=args.max_iter, seed=args.seed)
    payload = result.to_dict()
    if args.out is not None:
        out = Path(args.out)
        result.plot(out / "descent_sweep.png")
        (out / "descent_sweep.json").write_text(json.dumps(payload, indent=2))
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(result.table())
        if args.out is not None:
            print(f"wrote {Path(args.out) / 'descent_sweep.png'} and descent_sweep.json")
    return 0


def _parse_gammas(text):
    gammas = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise UsageError(f"--gammas: {part.strip()!r} is not a number") from None
        if not math.isfinite(value) or value <= 0.0:
            raise UsageError(f"--gammas: step sizes must be positive and finite, got {part}")
        gammas.append(value)
    return gammas
