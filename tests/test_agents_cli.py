"""`stepsize agent train` and `stepsize agent evaluate`."""

import json

from stepsize.cli import main


def test_train_then_evaluate(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "agent",
            "train",
            "--env",
            "ThreeBody-v0",
            "--steps",
            "60",
            "--out",
            str(out),
            "--env-kwargs",
            '{"max_steps": 20}',
            "--hyperparams",
            '{"learning_starts": 30, "batch_size": 16}',
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["timesteps"] == 60 and (out / "model.zip").exists()
    code = main(["agent", "evaluate", str(out), "--episodes", "2", "--max-steps", "3", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["episodes"] == 2 and len(result["fixed"]) == 10
    assert sum(result["policy"]["action_counts"]) == 6
    assert (out / "evaluation" / "rl_evaluation.json").exists()
    assert (out / "evaluation" / "rl_evaluation.png").exists()


def test_evaluate_the_shipped_policy_table(tmp_path, capsys):
    code = main(
        [
            "agent",
            "evaluate",
            "default",
            "--episodes",
            "1",
            "--max-steps",
            "2",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "policy" in text and "eta=1.00e-04" in text and "decades" in text


def test_bad_arguments(tmp_path, capsys):
    assert main(["agent", "train", "--out", str(tmp_path), "--env-kwargs", "[1]"]) == 2
    assert "--env-kwargs: expected a JSON object" in capsys.readouterr().err
    assert main(["agent", "train", "--out", str(tmp_path), "--hyperparams", "{x"]) == 2
    assert "--hyperparams: not valid JSON" in capsys.readouterr().err
    assert main(["agent", "train", "--out", str(tmp_path), "--algo", "sac"]) == 2
    assert "algo: unknown 'sac'" in capsys.readouterr().err
    assert main(["agent", "evaluate", str(tmp_path / "nothing")]) == 2
    assert "is not a training directory" in capsys.readouterr().err
    assert main(["agent", "evaluate", "default", "--episodes", "0"]) == 2
    assert "episodes must be a positive integer" in capsys.readouterr().err
