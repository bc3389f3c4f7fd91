"""The `stepsize` command: every subcommand's help, a real `ode` run, one-line errors."""

import json

import pytest

from stepsize.cli import build_parser, main

SUBCOMMANDS = ["demo", "bench", "ode", "descent", "nbody", "flow", "schedule", "agent"]


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert f"stepsize {name}" in capsys.readouterr().out


def test_every_subcommand_is_registered():
    choices = build_parser()._subparsers._group_actions[0].choices
    assert sorted(choices) == sorted(SUBCOMMANDS)


def test_ode_json_run(capsys):
    assert (
        main(["ode", "--problem", "kepler", "--method", "dp5,dop853", "--rtol", "1e-8", "--json"])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in rows] == ["dp5", "dop853"]
    assert all(r["success"] and r["error"] < 1e-5 for r in rows)


def test_bad_input_is_one_line_and_exit_2(capsys):
    assert main(["ode", "--problem", "kepler", "--method", "rk4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--method: unknown 'rk4'" in err


def test_bench_runs_a_benchmark_script(tmp_path):
    assert main(["bench", "ode_nonstiff", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "ode_nonstiff.json").exists() and (tmp_path / "ode_nonstiff.png").exists()


def test_bench_unknown_name(capsys):
    assert main(["bench", "nope"]) == 2
    assert "known: ode_nonstiff" in capsys.readouterr().err
