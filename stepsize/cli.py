"""The ``stepsize`` command.

Each domain contributes one subcommand from a small module that defines
``register(subparsers)``; that function adds its parser and sets ``func`` to the handler, which
takes the parsed arguments and returns an exit code.  Packages built on the library add their
subcommands the same way through the entry-point group ``stepsize.cli`` (the agents package
registers ``agent`` there in pyproject.toml), so the library never imports them.  An error in
what the user gave (an argument, an input file, an output folder) is a
:class:`stepsize.UsageError`: it ends with a one-line message and exit status 2.  Any other
exception is a bug and keeps its traceback.
"""

import argparse
import importlib
import sys
from importlib.metadata import entry_points

from stepsize._errors import UsageError

_SUBCOMMAND_MODULES = (
    "stepsize._demo",
    "stepsize._bench",
    "stepsize.ode._cli",
    "stepsize.descent._cli",
    "stepsize.nbody._cli",
    "stepsize.flow._cli",
    "stepsize.schedules._cli",
)
PLUGINS = "stepsize.cli"  # entry-point group: name -> register(subparsers) of another package


def build_parser():
    parser = argparse.ArgumentParser(
        prog="stepsize",
        description="Adaptive step-size control: ODEs, N-body, flow samplers, gradient descent.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for plugin in sorted(entry_points(group=PLUGINS), key=lambda ep: ep.name):
        plugin.load()(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the message held
        print(f"stepsize {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
