"""The ``stepsize`` command.

Each domain contributes one subcommand from a small module that defines
``register(subparsers)``; that function adds its parser and sets ``func`` to the handler, which
takes the parsed arguments and returns an exit code.  Errors in the user's arguments end with a
one-line message and a non-zero exit status.
"""

import argparse
import importlib
import sys

_SUBCOMMAND_MODULES = (
    "stepsize._demo",
    "stepsize._bench",
    "stepsize.ode._cli",
    "stepsize.descent._cli",
    "stepsize.nbody._cli",
    "stepsize.flow._cli",
    "stepsize.flow._schedule_cli",
    "agents._cli",
)


class _UsageError(Exception):
    """A bad command-line argument: printed as one line, exit status 2."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="stepsize",
        description="Adaptive step-size control: ODEs, N-body, flow samplers, gradient descent.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, _UsageError) as exc:
        print(f"stepsize {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
