"""Every Python example in README.md runs (bash blocks are the set-up and CLI commands)."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 5


def _lorenz_matches_scipy(ns):
    """Lorenz to t = 16 at rtol 1e-10 against SciPy's DOP853 at 1e-13: chaos (Lyapunov exponent
    0.9) amplifies 1e-10 by e^(0.9 * 16) ~ 2e6, so |difference| ~ 5e-3 of |y| ~ 20."""
    from scipy.integrate import solve_ivp

    ref = solve_ivp(
        ns["lorenz"],
        (0.0, 16.0),
        [-8.0, 8.0, 27.0],
        method="DOP853",
        rtol=1e-13,
        atol=1e-13,
        args=(10.0, 28.0, 8 / 3),
    )
    return np.abs(ns["sol"].y[:, -1] - ref.y[:, -1]).max() < 0.05


def _ensemble_member_is_the_single_run(ns):
    from stepsize.nbody import integrate, paper_three_body

    single = integrate(paper_three_body(0), 10.0, method="hermite4", eta=0.03)
    return ns["ens"].energy_error[0] == pytest.approx(single.energy_error, rel=1e-9)


def _kdiffusion_sigmas_are_one_minus_t(ns):
    """Flow matching's noise level is sigma = 1 - t, listed from noise (t = 0) to data."""
    sigmas = ns["to_kdiffusion"](ns["times"])
    return np.allclose(sigmas, 1.0 - np.asarray(ns["times"]), atol=1e-12)


def _normalized_large_step_separates_faster(ns):
    slow = ns["gd"](ns["data"].A, ns["data"].y, 1.0)
    return ns["r"].iterations_to_separate < slow.iterations_to_separate


# One number per example, found by a piece of its code (the examples may move).
NUMBERS = {
    "solve_ensemble(lorenz": _lorenz_matches_scipy,
    "integrate_ensemble(": _ensemble_member_is_the_single_run,
    "to_kdiffusion(times)": _kdiffusion_sigmas_are_one_minus_t,
    "sched.set_timesteps(": lambda ns: len(ns["sched"].timesteps) == 6,
    # the shipped linear policy trades accuracy for steps: median |dE/E0| 4.8e-7 at 30 yr on
    # 100 held-out systems (rl_threebody.json); this system reaches 2.8e-5 in 10 yr
    "ctrl.run(paper_three_body(1_000_001), 10.0)": lambda ns: (
        ns["r"].t == pytest.approx(10.0) and 1e-7 < ns["r"].energy_error < 1e-4
    ),
    'PPO("MlpPolicy", venv, n_steps=64': lambda ns: (
        "model" not in ns or ns["model"].num_timesteps == 256
    ),
    'rule="normalized"': _normalized_large_step_separates_faster,
    "AdaptiveBatchSampler(len(X), 8": lambda ns: ns["sampler"].history.batch_size[0] == 8,
    "run(math.factorial, range(10))": lambda ns: (
        ns["run"](ns["math"].factorial, range(10)) == [math.factorial(k) for k in range(10)]
    ),
}


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
    ns = {}
    exec(compile(BLOCKS[index], f"README.md example {index}", "exec"), ns)
    for key, check in NUMBERS.items():
        if key in BLOCKS[index]:
            assert check(ns), f"README.md example {index}: the number behind {key!r}"


def test_most_readme_examples_check_a_number():
    assert sum(any(key in b for key in NUMBERS) for b in BLOCKS) >= 7


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
