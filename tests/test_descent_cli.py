"""`stepsize descent sweep` through the top-level entry point."""

import json

import pytest

import stepsize.cli as cli


def test_sweep_prints_table_and_writes_png_and_json(tmp_path, capsys):
    argv = ["descent", "sweep", "--data", "worst-case-50", "--gammas", "0.1,100"]
    code = cli.main(argv + ["--max-iter", "60", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Batch Perceptron:" in out and "Normalized Batch Perceptron:" in out
    # n = 50: Batch Perceptron needs floor((3n - 8)/10) + 2 = 16 iterations (Thm 5.1).
    assert [line.split()[-3] for line in out.splitlines() if "Perceptron:" in line] == ["16", "2"]
    png = tmp_path / "descent_sweep.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    data = json.loads((tmp_path / "descent_sweep.json").read_text())
    assert data["data"]["n"] == 50 and data["data"]["mu"] == 0.5 and data["data"]["mu_exact"]
    runs = {(r["method"], r["gamma"]): r for r in data["runs"]}
    assert runs[("Normalized LR+GD", 100.0)]["iterations_to_separate"] == 2
    assert runs[("Batch Perceptron", None)]["bound"] == pytest.approx(50 * 1.25 / 0.25)
    assert runs[("LR+GD", 0.1)]["iterations_to_separate"] is None  # not within 60 steps


def test_sweep_json_on_stdout(capsys):
    argv = ["descent", "sweep", "--data", "two-point", "--gammas", "1e8", "--max-iter", "3"]
    assert cli.main(argv + ["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    lrgd = data["runs"][0]
    assert lrgd["method"] == "LR+GD" and lrgd["iterations_to_separate"] == 2
    assert lrgd["max_loss_before_separation"] == pytest.approx(1e8 / 8)  # Thm 4.1: f(theta_1)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--data", "mnist"], "unknown data set 'mnist'"),
        (["--gammas", "1,-2"], "--gammas: step sizes must be positive"),
        (["--gammas", "1,abc"], "--gammas: 'abc' is not a number"),
        (["--max-iter", "0"], "--max-iter must be >= 1"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(extra, message, capsys):
    assert cli.main(["descent", "sweep", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
