"""The `stepsize` command: every subcommand's help, a real `ode` run, one-line errors."""

import argparse
import json
import re

import numpy as np
import pytest

from stepsize.cli import build_parser, main
from stepsize.ode import problems, solve

SUBCOMMANDS = ["demo", "bench", "ode", "descent", "nbody", "flow", "schedule", "agent"]


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert f"stepsize {name}" in capsys.readouterr().out


def _parsers(parser, path=()):
    """``(path, parser)`` of the command and of every subcommand and action below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_defaults_quoted_in_the_help_are_the_real_defaults():
    """Every help text ending in "(N)" or "(default N)" with a number N states the default the
    parser uses (a None default means "chosen later" and may quote what it becomes)."""
    quoted = re.compile(r"\((?:default )?([-+]?[0-9][0-9_.e+-]*)\)$")
    checked = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            m = quoted.search(action.help or "")
            if m and action.default is not None:
                value = float(m.group(1).replace("_", ""))
                assert action.default == pytest.approx(value, rel=1e-12), (path, action.dest)
                checked.append((path, action.dest))
    assert len(checked) >= 15
    assert {p[0] for p, _ in checked} >= {"ode", "flow", "schedule", "agent"}


def test_the_application_packages_plug_in_through_entry_points():
    """pyproject.toml's entry points, as installed (stale metadata: ``pip install --no-deps -e .``
    again); the library itself never imports ``agents``."""
    from importlib.metadata import entry_points

    hint = "reinstall the package (pip install --no-deps -e .) to register its entry points"
    assert {e.name: e.value for e in entry_points(group="stepsize.cli")} == {
        "agent": "agents._cli:register"
    }, hint
    assert {e.name: e.value for e in entry_points(group="stepsize.demo")} == {
        "rl": "agents._cli:demo_part"
    }, hint


def test_every_subcommand_is_registered():
    choices = build_parser()._subparsers._group_actions[0].choices
    assert sorted(choices) == sorted(SUBCOMMANDS)


def test_ode_json_run(capsys):
    assert (
        main(["ode", "--problem", "kepler", "--method", "dp5,dop853", "--rtol", "1e-8", "--json"])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    rows = doc["rows"]
    assert doc["atol"] == pytest.approx(1e-8 * problems.get("kepler").atol_ratio, rel=1e-15)
    assert [r["method"] for r in rows] == ["dp5", "dop853"]
    assert all(r["success"] and r["error"] < 1e-5 for r in rows)


def test_bad_input_is_one_line_and_exit_2(capsys):
    assert main(["ode", "--problem", "kepler", "--method", "rk4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--method: unknown 'rk4'" in err


def test_bench_runs_a_benchmark_script(tmp_path):
    """``bench`` hands its extra arguments to the script (one problem of three), which records
    the error and evaluations of the solves it timed: those of our own solve, to the bit."""
    argv = ["bench", "ode_nonstiff", "--quick", "--problems", "arenstorf", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert (tmp_path / "ode_nonstiff.png").exists()
    doc = json.loads((tmp_path / "ode_nonstiff.json").read_text())
    assert list(doc["results"]) == ["arenstorf"]
    points = doc["results"]["arenstorf"]["points"]
    assert all(q["success"] for row in points.values() for q in row)
    p = problems.get("arenstorf")
    tol = min(doc["tolerances"])
    r = solve(p.fun, p.t_span, p.y0, method="dop853", rtol=tol, atol=tol, args=p.args)
    (q,) = [q for q in points["stepsize dop853"] if q["rtol"] == tol]
    assert q["nfev"] == r.nfev and q["error"] == np.max(np.abs(r.y[:, -1] - p.y_ref))


def test_bench_unknown_name(capsys):
    assert main(["bench", "nope"]) == 2
    assert "known: ode_nonstiff" in capsys.readouterr().err
