"""`stepsize agent train` and `stepsize agent evaluate`."""

import json

import numpy as np
import pytest

from stepsize.cli import main
from stepsize.nbody import integrate, paper_three_body


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
    argv = ["agent", "evaluate", "default", "--episodes", "2", "--max-steps", "2"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    saved = json.loads((tmp_path / "rl_evaluation.json").read_text())
    # each fixed eta is hermite4 at that eta for 2 intervals of 0.1 yr on the held-out systems
    seeds = range(saved["seeds"][0], saved["seeds"][1] + 1)
    for row, fixed in zip(lines[2:12], saved["fixed"]):
        name, error, steps = row.split()[:3]
        assert name == f"eta={fixed['value']:.2e}"
        assert float(error) == pytest.approx(fixed["median_energy_error"], rel=1e-3)
        if fixed["value"] in (1e-4, 1e-2):
            runs = [
                integrate(paper_three_body(s), 0.2, "hermite4", eta=fixed["value"]) for s in seeds
            ]
            assert float(steps) == pytest.approx(np.median([r.steps for r in runs]), abs=0.5)
    # the policy's medians are the medians of its episodes, as printed
    policy = saved["per_episode"]["policy"]
    name, error, steps = lines[12].split()[:3]
    # steps are printed as whole numbers: a median of two episodes may end in .5
    assert name == "policy" and float(steps) == pytest.approx(np.median(policy["steps"]), abs=0.5)
    assert float(error) == pytest.approx(np.median(policy["energy_error"]), rel=1e-3)
    assert sum(saved["policy"]["action_counts"]) == 4  # 2 episodes x 2 decisions
    assert f"{saved['pareto']['margin_decades']:+.2f} decades" in lines[13]


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
