"""Every Python example in README.md runs (bash blocks are the set-up and CLI commands)."""

import re
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
    exec(compile(BLOCKS[index], f"README.md example {index}", "exec"), {})


def test_benchmark_tables_are_generated_from_the_results():
    import runpy

    script = Path(__file__).parent.parent / "benchmarks" / "readme_tables.py"
    main = runpy.run_path(str(script))["main"]
    assert main(["--check"]) == 0, "run `python benchmarks/readme_tables.py` after a benchmark"


def _generator():
    import runpy

    return runpy.run_path(str(Path(__file__).parent.parent / "benchmarks" / "readme_tables.py"))


def test_headline_ratios_are_the_measured_ones():
    """The README quotes the range of SciPy's time / stepsize's over the stiff problems exactly
    as the results file holds it (read here independently of the generator)."""
    import json

    results = Path(__file__).parent.parent / "benchmarks" / "results" / "ode_stiff.json"
    data = json.loads(results.read_text())["results"]
    ratios = [
        m["overlap_geomean"]
        for r in data.values()
        for m in r["matched_error"]
        if (m["ours"], m["peer"]) == ("stepsize best", "scipy best")
    ]
    assert len(ratios) == len(data)
    assert f"scipy best {min(ratios):.2f}–{max(ratios):.2f}" in README


def test_tables_survive_new_and_changed_results_files(tmp_path, capsys):
    import shutil

    gen = _generator()
    results = Path(__file__).parent.parent / "benchmarks" / "results"
    for path in results.glob("*.json"):
        shutil.copy(path, tmp_path)
    (tmp_path / "brand_new.json").write_text('{"anything": [1, 2]}')
    (tmp_path / "ode_stiff.json").write_text('{"results": {"rober": {}}}')  # layout changed
    parts, other = gen["sections"](tmp_path)
    titles = [s.title for s in parts]
    assert "brand_new" in other
    assert "`ode_stiff.py`" in titles and "KeyError('matched_error')" in parts[1].body
    assert titles[0] == "Non-stiff ODEs (`ode_nonstiff.py`)" and "| lorenz |" in parts[0].body
    assert "ode_stiff.json" in capsys.readouterr().err
    page = gen["benchmarks_readme"](parts, other)
    assert "[`brand_new.json`](results/brand_new.json)" in page
