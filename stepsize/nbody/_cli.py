"""``stepsize nbody``: integrate a named N-body problem (or an ensemble) with chosen methods."""

import argparse
import json
import math

from stepsize._errors import UsageError, check_output_dir, check_seed, user_input

PROBLEMS = ("pythagorean", "figure-eight", "paper", "kepler", "outer-solar-system")
EXAMPLES = """examples:
  stepsize nbody --problem pythagorean --method hermite4,leapfrog,gbs,dop853 --t-end 70
  stepsize nbody --problem pythagorean --method hermite4 --eta 0.01 --criterion aarseth --json
  stepsize nbody --problem outer-solar-system --method gr15,wh --dt 50 --corrector 11
  stepsize nbody --problem paper --ensemble 1000 --t-end 10 --seed 1 --out results/
"""


def register(subparsers):
    """Add the ``nbody`` subcommand to the top-level parser."""
    p = subparsers.add_parser(
        "nbody",
        help="integrate an N-body problem (Pythagorean, figure-eight, random three-body)",
        description="Integrate a named N-body problem with the chosen methods and print energy "
        "error, work and time; --ensemble runs many random three-body systems at once.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--problem", default="pythagorean", help=f"one of {', '.join(PROBLEMS)}")
    p.add_argument("--method", default="hermite4", help="comma-separated methods")
    p.add_argument(
        "--t-end",
        type=float,
        default=None,
        help="end time (default: 70 Pythagorean, one period figure-eight / kepler, 10 yr paper, "
        "1e6 days outer-solar-system)",
    )
    p.add_argument("--eta", type=float, default=None, help="step parameter (hermite4, leapfrog)")
    p.add_argument("--dt", type=float, default=None, help="fixed step (hermite4, leapfrog, wh)")
    p.add_argument("--epsilon", type=float, default=None, help="gr15 accuracy (default 1e-9)")
    p.add_argument("--corrector", type=int, default=None, help="wh corrector: 0, 3, 5, 7, 9, 11")
    p.add_argument(
        "--criterion",
        default=None,
        help="step criterion: amuse, aarseth (hermite4); symmetric, logh (leapfrog)",
    )
    p.add_argument("--rtol", type=float, default=None, help="tolerance (Runge-Kutta methods)")
    p.add_argument("--softening", type=float, default=None, help="Plummer softening length")
    p.add_argument("--encounter-distance", type=float, default=None, help="stop at encounters")
    p.add_argument("--escape-radius", type=float, default=None, help="stop at escapes")
    p.add_argument("--save-every", type=float, default=None, help="history interval")
    p.add_argument(
        "--ensemble",
        type=int,
        default=None,
        help="integrate this many paper_three_body systems (seeds seed, seed+1, ...)",
    )
    p.add_argument("--backend", default="numba", help="ensemble back end: numba or cuda")
    p.add_argument("--seed", type=int, default=0, help="seed of the random systems (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--out", default=None, help="directory for nbody_run.json and nbody_run.png")
    p.set_defaults(func=run)


def _system(args):
    from stepsize import nbody

    if args.problem not in PROBLEMS:
        raise UsageError(f"--problem: unknown {args.problem!r}; known: {', '.join(PROBLEMS)}")
    if args.problem == "pythagorean":
        return nbody.pythagorean(), 70.0
    if args.problem == "figure-eight":
        return nbody.figure_eight(), nbody.FIGURE_EIGHT_PERIOD
    if args.problem == "kepler":
        return nbody.kepler(e=0.5), 2.0 * math.pi / math.sqrt(2.0)
    if args.problem == "outer-solar-system":
        return nbody.outer_solar_system().to_com_frame(), 1e6
    return nbody.paper_three_body(args.seed), 10.0


METHOD_FLAGS = ("eta", "dt", "criterion", "rtol", "epsilon", "corrector")
COMMON_FLAGS = ("softening", "encounter_distance", "escape_radius")


def _accepted(method):
    from stepsize.nbody._options import ODE_OPTIONS, SPECIFIC

    return SPECIFIC.get(method, ODE_OPTIONS)


def _options(args, method):
    names = [n for n in METHOD_FLAGS if n in _accepted(method)] + list(COMMON_FLAGS)
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def _check_flags(args, methods):
    for name in METHOD_FLAGS:
        if getattr(args, name) is not None and not any(name in _accepted(m) for m in methods):
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} applies to none of the methods {', '.join(methods)}")


def _check_options(args, methods, t_end):
    """The options of every method, checked by the library's own parser before anything runs."""
    from stepsize.nbody._ensemble import BACKENDS
    from stepsize.nbody._integrate import output_times
    from stepsize.nbody._options import parse

    with user_input():
        output_times(t_end, args.save_every)
        for method in methods:
            parse(method, _options(args, method))
    if args.ensemble is None:
        return
    if args.backend not in BACKENDS:
        raise UsageError(f"--backend: unknown {args.backend!r}; known: {', '.join(BACKENDS)}")
    other = [m for m in methods if m not in ("hermite4", "leapfrog")]
    if args.backend != "numba" and other:
        raise UsageError(f"--backend {args.backend} runs hermite4 and leapfrog, not {other[0]}")
    rk = [m for m in other if m != "gbs"]
    if rk and (args.encounter_distance or args.escape_radius):
        raise UsageError("--encounter-distance and --escape-radius need hermite4, leapfrog or gbs")


def run(args):
    """Handler of ``stepsize nbody``; returns the exit code."""
    from stepsize import nbody

    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    if not methods:
        raise UsageError("--method needs at least one method")
    for m in methods:
        if m not in nbody.methods():
            raise UsageError(f"--method: unknown {m!r}; known: {', '.join(nbody.methods())}")
    _check_flags(args, methods)
    if args.ensemble is not None and args.ensemble < 1:
        raise UsageError(f"--ensemble must be >= 1, got {args.ensemble}")
    check_seed(args.seed)
    system, t_default = _system(args)
    t_end = t_default if args.t_end is None else args.t_end
    _check_options(args, methods, t_end)
    if args.out is not None:
        check_output_dir(args.out)
    if args.ensemble is None:
        systems = system
    else:
        systems = [nbody.paper_three_body(args.seed + k) for k in range(args.ensemble)]
    options = {m: _options(args, m) for m in methods}
    if args.ensemble is not None:
        options = {m: {**kw, "backend": args.backend} for m, kw in options.items()}
    runs = nbody.compare_methods(
        systems, t_end, methods, options, problem=args.problem, save_every=args.save_every
    )
    if args.out is not None:
        runs.save(args.out)
    print(json.dumps(runs.rows, indent=2) if args.json else runs.table())
    return 0
