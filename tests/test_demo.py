"""`stepsize demo` (the README's first command) runs end to end in its small mode."""

import json

from stepsize.cli import main


def test_demo_small_writes_its_report(tmp_path, capsys):
    assert main(["demo", "--small", "--out", str(tmp_path), "--json"]) == 0
    text = capsys.readouterr().out
    tables = json.loads(text[text.index("\n{\n") : text.rindex("}") + 1])
    summary = (tmp_path / "summary.md").read_text()
    for title in tables:
        assert f"## {title}" in summary
    assert (tmp_path / "stiffness_profile.png").stat().st_size > 10_000
    assert (tmp_path / "flow_samples.png").stat().st_size > 10_000
    nbody = {r["method"]: r for r in tables["N-body"] if r["method"] != "REBOUND ias15"}
    assert all(r["energy_error"] < 1e-6 for r in nbody.values())
    assert tables["Stiff ODE"][0]["nswitch"] >= 1  # auto found ROBER stiff
    flow = {r["schedule"]: r["error"] for r in tables["Flow sampler schedule"]}
    assert flow["bellman"] < 0.8 * flow["uniform"]
    gd = {
        (r["method"], r["gamma"]): r["iterations_to_separate"]
        for r in tables["Gradient descent with large steps"]
    }
    assert gd[("LR+GD constant", 100.0)] < gd[("LR+GD constant", 1.0)]
