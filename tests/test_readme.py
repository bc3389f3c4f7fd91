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
