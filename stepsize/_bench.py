"""``stepsize bench NAME [ARGS...]``: run one of the side-by-side benchmarks of a source checkout.

Each benchmark lives in ``benchmarks/NAME.py``, compares the project with its peers in the same
run and writes ``benchmarks/results/NAME.json`` and a PNG; extra arguments go to the script
(e.g. ``stepsize bench ode_nonstiff --quick``).
"""

import argparse
import subprocess
import sys
from pathlib import Path

from stepsize._errors import UsageError

BENCHMARKS = (
    "ode_nonstiff",
    "ode_stiff",
    "ode_micro",
    "nbody_pythagorean",
    "nbody_rebound",
    "nbody_ensemble",
    "schedules",
    "rl_threebody",
    "descent",
    "optim",
)
EXAMPLES = """examples:
  stepsize bench ode_nonstiff --quick
  stepsize bench nbody_pythagorean --repeats 3
"""


def register(subparsers):
    p = subparsers.add_parser(
        "bench",
        help="run a side-by-side benchmark (source checkout)",
        description=__doc__.splitlines()[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", help=f"one of: {', '.join(BENCHMARKS)}")
    p.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments for the script")
    p.set_defaults(func=run)


def script_path(name):
    """``benchmarks/<name>.py`` of the checkout this package was installed from."""
    if name not in BENCHMARKS:
        raise UsageError(f"bench: unknown {name!r}; known: {', '.join(BENCHMARKS)}")
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    if not path.exists():
        raise UsageError(f"bench: {path.name} not found; benchmarks run from a source checkout")
    return path


def run(args):
    return subprocess.call([sys.executable, str(script_path(args.name)), *args.script_args])
