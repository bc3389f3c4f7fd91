"""The ``stepsize schedule`` and ``stepsize flow`` commands."""

import json
import math

import numpy as np
import pytest
import torch

from stepsize import flow
from stepsize.cli import main


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_schedule_show_formats(capsys):
    assert (
        main(
            [
                "schedule",
                "show",
                "uniform",
                "--steps",
                "4",
                "--format",
                "diffusers-sigmas",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {"sigmas": [1.0, 0.75, 0.5, 0.25]}
    assert (
        main(
            [
                "schedule",
                "show",
                "ays",
                "--steps",
                "10",
                "--format",
                "diffusers-timesteps",
                "--json",
            ]
        )
        == 0
    )
    assert len(json.loads(capsys.readouterr().out)["timesteps"]) == 10


@pytest.mark.parametrize(
    "argv, match",
    [
        (["schedule", "show", "edm"], "unknown 'edm'"),
        (["schedule", "show", "karras", "--format", "betas"], "--format: unknown 'betas'"),
        (["schedule", "show", "karras", "--steps", "0"], "K must be an integer >= 1"),
        (["schedule", "search", "--model", "nope"], "neither a pretrained model"),
        (["schedule", "search", "--method", "anneal"], "--method: unknown 'anneal'"),
        (["schedule", "search", "--spacing", "karras"], "--spacing: unknown 'karras'"),
        (["schedule", "search", "--ld3-iterations", "0"], "--ld3-iterations must be"),
        (["schedule", "search", "--steps", "100"], "--steps must lie in"),
        (["flow", "train", "mnist"], "data: unknown 'mnist'"),
        (["flow", "sample", "moons", "--schedule", "edm"], "--schedule: unknown 'edm'"),
    ],
)
def test_bad_arguments_exit_with_status_2_and_one_line(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_schedule_search_writes_json_and_png(tmp_path, capsys):
    argv = [
        "schedule",
        "search",
        "--model",
        "moons",
        "--steps",
        "2",
        "--method",
        "all",
        "--grid",
        "20",
        "--samples",
        "64",
        "--eval-samples",
        "128",
        "--population",
        "6",
        "--epochs",
        "2",
        "--out",
        str(tmp_path),
        "--json",
    ]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    names = [r["schedule"] for r in doc["rows"]]
    assert names == [
        "uniform",
        "karras",
        "logsnr",
        "quadratic",
        "ays",
        "bellman",
        "evolved",
        "reference",
    ]
    errors = {r["schedule"]: r["error"] for r in doc["rows"]}
    assert errors["reference"] == 0.0 and all(math.isfinite(e) for e in errors.values())
    assert errors["bellman"] <= errors["uniform"]  # planned for this model (K=2: the midpoint)
    # the evolved schedule is the fittest on the planning noise of all it was seeded with
    model = flow.pretrained("moons")
    fitness = flow.ScheduleFitness(model, flow.make_noise(model, 64, seed=0))
    assert doc["evolve"]["fitness"] == pytest.approx(fitness(doc["schedules"]["evolved"]))
    assert doc["evolve"]["fitness"] <= fitness(doc["schedules"]["bellman"]) * (1 + 1e-12)
    assert doc["evolve"]["evaluations"] >= 6
    assert json.loads((tmp_path / "schedule-search.json").read_text()) == doc
    assert (tmp_path / "schedule-search.png").stat().st_size > 10_000


def test_schedule_search_plans_and_learns_for_the_solver(capsys):
    argv = ["schedule", "search", "--model", "moons", "--steps", "2", "--method", "ld3"]
    argv += ["--solver", "unipc", "--spacing", "time", "--grid", "12", "--samples", "48"]
    argv += ["--eval-samples", "64", "--ld3-iterations", "4", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    errors = {r["schedule"]: r["error"] for r in doc["rows"]}
    assert errors["planned"] < errors["uniform"]  # UniPC's own plan, on held-out noise
    # LD3 starts from the plan and keeps the best on its validation noise
    history = doc["ld3"]["validation"]
    assert history[0][0] == 0 and doc["ld3"]["iterations"] == 4
    assert doc["ld3"]["initial_error"] == history[0][1] >= min(e for _, e in history)
    times = np.asarray(doc["schedules"]["ld3"])
    assert times[0] == 0.0 and times[-1] == 1.0 and np.all(np.diff(times) > 0)


def test_flow_train_and_sample(tmp_path, capsys):
    assert (
        main(
            [
                "flow",
                "train",
                "moons",
                "--steps",
                "30",
                "--hidden",
                "16",
                "--out",
                str(tmp_path),
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    (row,) = doc["models"]
    model_file = tmp_path / "moons.pt"
    assert doc["files"] == [str(model_file)] and (tmp_path / "moons.ckpt").exists()
    model = flow.load_model(model_file)
    assert row["data"] == "moons" and row["steps"] == 30
    assert row["parameters"] == sum(p.numel() for p in model.parameters())
    assert math.isfinite(row["final_loss"]) and row["final_loss"] > 0
    argv = ["flow", "sample", str(model_file), "--steps", "3", "--schedule", "bellman"]
    assert main([*argv, "--samples", "64", "--out", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["schedule"] for r in doc["rows"]] == ["bellman", "reference"]
    assert len(doc["schedule"]) == 4 and doc["schedule"][0] == 0.0 and doc["schedule"][-1] == 1.0
    # the saved samples are the model's Euler steps over that schedule from noise seed 0
    again = flow.sample(model, flow.make_noise(model, 64, seed=0), doc["schedule"], "euler")
    np.testing.assert_allclose(np.load(tmp_path / "samples.npy"), again.numpy(), rtol=1e-6)
    assert 0 < doc["rows"][0]["error"] < math.inf and doc["rows"][1]["error"] == 0.0
    assert (tmp_path / "sample.png").stat().st_size > 10_000


def test_schedule_search_evolves_on_a_dask_cluster(capsys):
    distributed = pytest.importorskip("dask.distributed")
    argv = ["schedule", "search", "--model", "moons", "--steps", "2", "--method", "evolve"]
    argv += ["--grid", "10", "--samples", "32", "--eval-samples", "64", "--population", "4"]
    argv += ["--epochs", "2", "--json"]
    assert main(argv) == 0
    local = json.loads(capsys.readouterr().out)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        assert main([*argv, "--dask", cluster.scheduler_address]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert remote["evolve"]["backend"] == "dask" and local["evolve"]["backend"] == "serial"
    assert remote["schedules"]["evolved"] == local["schedules"]["evolved"]
    assert remote["evolve"]["history"] == local["evolve"]["history"]
