"""``stepsize ode``: solve a named test problem with chosen methods and controllers."""

import json

from stepsize._errors import UsageError, positive, user_input
from stepsize.control import PRESETS

EXAMPLES = """examples:
  stepsize ode --problem arenstorf --method dp5,dop853 --rtol 1e-8
  stepsize ode --problem pleiades --method tsit5 --controller PI,H211b,H312b --json
  stepsize ode --problem rober --method auto,rodas4,radau --rtol 1e-6
"""


def register(subparsers):
    import argparse

    p = subparsers.add_parser(
        "ode",
        help="solve a named test problem and compare methods / controllers",
        description="Solve a problem of stepsize.ode.problems and print accuracy and work.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--problem", default="arenstorf", help="problem name (default arenstorf)")
    p.add_argument(
        "--method",
        default="dp5",
        help="comma-separated methods, explicit, implicit or auto (default dp5)",
    )
    p.add_argument(
        "--controller",
        default="default",
        help="comma-separated controller presets (default: each method's own)",
    )
    p.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance (default 1e-6)")
    p.add_argument(
        "--atol",
        type=float,
        default=None,
        help="absolute tolerance (default rtol times the problem's atol_ratio)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args):
    from stepsize.ode import TABLEAUX, compare_methods, problems
    from stepsize.ode._solve import IMPLICIT

    with user_input():
        problem = problems.get(args.problem)
    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    controllers = [c.strip() for c in args.controller.split(",") if c.strip()]
    known = [*TABLEAUX, *IMPLICIT, "auto"]
    for m in methods:
        if m not in known:
            raise UsageError(f"--method: unknown {m!r}; known: {', '.join(known)}")
    for c in controllers:
        if c not in PRESETS and c != "default":
            raise UsageError(f"--controller: unknown {c!r}; known: {', '.join(PRESETS)}")
    if not methods or not controllers:
        raise UsageError("--method and --controller need at least one name each")
    positive(args.rtol, "--rtol")
    positive(args.atol, "--atol")  # atol = 0 would divide by zero where a component is 0
    comparison = compare_methods(problem, methods, controllers, args.rtol, args.atol)
    print(json.dumps(comparison.to_dict(), indent=2) if args.json else comparison.table())
    return 0
