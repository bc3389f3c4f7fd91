"""``stepsize ode``: solve a named test problem with chosen methods and controllers."""

import json
import time

import numpy as np

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
    from stepsize.ode import TABLEAUX, problems, solve
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
    atol = args.rtol * problem.atol_ratio if args.atol is None else args.atol
    rows = []
    for method in methods:
        for controller in controllers:
            kw = dict(
                method=method,
                controller=None if controller == "default" else controller,
                rtol=args.rtol,
                atol=atol,
                args=problem.args,
                jac_band=problem.jac_band,
                max_steps=10**6,
            )
            solve(problem.fun, problem.t_span, problem.y0, **kw)  # compile / warm up
            start = time.perf_counter()
            r = solve(problem.fun, problem.t_span, problem.y0, **kw)
            wall = time.perf_counter() - start
            rows.append(
                dict(
                    problem=problem.name,
                    method=method,
                    controller=controller,
                    success=r.success,
                    error=float(np.abs(r.y[:, -1] - problem.y_ref).max()),
                    nfev=r.nfev,
                    naccept=r.stats["naccept"],
                    nreject=r.stats["nreject"],
                    nswitch=r.stats["nswitch"],
                    wall_ms=1e3 * wall,
                )
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{problem.name}: t in {problem.t_span}, rtol={args.rtol:g}, atol={atol:g}")
    print(
        f"{'method':12} {'controller':10} {'ok':3} {'max error':>10} {'nfev':>8} "
        f"{'accept':>7} {'reject':>7} {'switch':>6} {'ms':>8}"
    )
    for r in rows:
        print(
            f"{r['method']:12} {r['controller']:10} {'yes' if r['success'] else 'NO':3} "
            f"{r['error']:10.2e} {r['nfev']:8d} {r['naccept']:7d} {r['nreject']:7d} "
            f"{r['nswitch']:6d} {r['wall_ms']:8.2f}"
        )
    return 0
