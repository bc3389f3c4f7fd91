"""The ``stepsize`` command: a user error is one line and exit status 2, found before any
computation; a bug keeps its traceback."""

import pytest
import torch

from stepsize import UsageError
from stepsize.cli import main


def _one_line(capsys, *needles):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.fixture
def blocked(tmp_path):
    """A path under a regular file: no folder can be created there."""
    (tmp_path / "file").write_text("not a folder")
    return tmp_path / "file" / "sub"


def _never(*args, **kwargs):
    raise AssertionError("the computation started before the output folder was checked")


@pytest.mark.parametrize(
    "argv, patch",
    [
        (["nbody", "--problem", "kepler", "--t-end", "1"], "stepsize.nbody.compare_methods"),
        (["descent", "sweep", "--data", "two-point"], "stepsize.descent._sweep.sweep"),
        (["schedule", "show", "karras", "--steps", "4"], None),
        (["demo", "--small"], "stepsize._demo._nbody"),
        (["flow", "sample", "moons", "--steps", "2"], "stepsize.flow.compare_schedules"),
        (["schedule", "search", "--model", "moons"], "stepsize.flow.search_schedules"),
        (["flow", "train", "moons", "--steps", "5"], "stepsize.flow.train_models"),
        (["agent", "train", "--env", "LearningRate-v0", "--steps", "5"], "agents._train.train"),
    ],
    ids=lambda v: " ".join(v[:2]) if isinstance(v, list) else "",
)
def test_an_output_folder_that_cannot_be_made_is_refused_first(
    argv, patch, blocked, capsys, monkeypatch
):
    if patch:
        monkeypatch.setattr(patch, _never)
    out = str(blocked / "x.json") if argv[:2] == ["schedule", "show"] else str(blocked)
    assert main([*argv, "--out", out]) == 2
    _one_line(capsys, "--out: cannot write to the folder", str(blocked))


def test_atol_zero_is_a_usage_error(capsys):
    assert main(["ode", "--problem", "rober", "--atol", "0"]) == 2
    _one_line(capsys, "--atol must be a positive finite number, got 0.0")
    assert main(["ode", "--problem", "rober", "--rtol", "nan"]) == 2
    _one_line(capsys, "--rtol must be a positive finite number")


def test_files_that_are_not_models_or_schedules_are_named(tmp_path, capsys):
    text = tmp_path / "README.md"
    text.write_text("# not a model\n")
    good = tmp_path / "good.pt"
    from stepsize.flow import pretrained, save_model

    save_model(good, pretrained("moons"))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:2000])
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    for path in (text, truncated, empty):
        assert main(["flow", "sample", str(path)]) == 2
        _one_line(capsys, f"model file '{path}'")
        assert main(["schedule", "search", "--model", str(path)]) == 2
        _one_line(capsys, f"model file '{path}'")
    assert main(["flow", "sample", "digits-classifier"]) == 2
    _one_line(capsys, "is a DigitsClassifier, not a flow model")
    schedule = tmp_path / "schedule.json"
    for content in (b"\xff\xfe\x00binary", b'{"times": [0, 0.5'):
        schedule.write_bytes(content)
        assert main(["flow", "sample", "moons", "--schedule", str(schedule)]) == 2
        _one_line(capsys, f"schedule file '{schedule}'")


def test_a_bug_keeps_its_traceback(monkeypatch):
    def broken(times):
        raise ValueError("an internal error")

    monkeypatch.setattr("stepsize.schedules.to_kdiffusion", broken)
    with pytest.raises(ValueError, match="an internal error"):
        main(["schedule", "show", "karras", "--format", "kdiffusion"])


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["nbody", "--method", "hermite4", "--eta", "-1"], "eta"),
        (["nbody", "--t-end", "inf"], "t_end"),
        (["nbody", "--criterion", "nope"], "criterion: unknown 'nope'"),
        (["nbody", "--ensemble", "2", "--backend", "gpu"], "--backend: unknown 'gpu'"),
        (["descent", "sweep", "--data", "digits-1v"], "unknown data set 'digits-1v'"),
        (["flow", "train", "moons", "--hidden", "0"], "--hidden must be a positive integer"),
        (["flow", "train", "moons", "--lr", "nan"], "--lr must be a positive finite number"),
        (["schedule", "search", "--epochs", "0"], "--epochs must be a positive integer"),
        (["agent", "train", "--out", "x", "--steps", "0"], "--steps must be a positive integer"),
        (["agent", "train", "--out", "x", "--hyperparams", '{"nope": 1}'], "no hyperparameter"),
        (["agent", "train", "--out", "x", "--env-kwargs", '{"nope": 1}'], "--env-kwargs: "),
        (["agent", "evaluate", "default", "--max-steps", "0"], "--max-steps must be a positive"),
        (["agent", "evaluate", "default", "--seed", "0"], "overlap the training seeds"),
        (["agent", "train", "--out", "x", "--seed", "-1"], "--seed must be an integer in"),
        (["flow", "train", "moons", "--seed", "-1"], "--seed must be an integer in"),
        (["descent", "sweep", "--seed", "-1"], "--seed must be an integer in"),
    ],
)
def test_bad_values_are_one_line(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    _one_line(capsys, needle)


def test_usage_error_is_a_value_error():
    assert issubclass(UsageError, ValueError)


def test_sample_names_noise_of_the_wrong_dimension():
    from stepsize import flow

    torch.set_num_threads(1)
    model = flow.pretrained("moons")
    with pytest.raises(ValueError, match=r"noise must have shape \(B, 2\) .*got \(4, 3\)"):
        flow.sample(model, torch.zeros(4, 3), [0.0, 1.0])
    with pytest.raises(ValueError, match="noise must be finite"):
        flow.sample(model, torch.full((4, 2), float("nan")), [0.0, 1.0])
