"""Write the README's benchmark tables from ``benchmarks/results/*.json`` (never typed by hand).

``python benchmarks/readme_tables.py`` rewrites the block between the markers
``<!-- bench-tables:start -->`` and ``<!-- bench-tables:end -->`` of README.md; ``--check``
only reports (exit 1) whether the README is out of date.  Ratios are time_peer / time_stepsize
(> 1: stepsize faster) or error ratios, as each benchmark defines them.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
START, END = "<!-- bench-tables:start -->", "<!-- bench-tables:end -->"


def _load(name):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _num(x, fmt=".2g"):
    return "–" if x is None else format(x, fmt)


def ode(name, title):
    data = _load(name)
    if data is None:
        return None
    rows = [
        (
            problem,
            m["ours"],
            m["peer"],
            _num(m["overlap_geomean"], ".3g"),
            _num(m["target"], "g"),
            "yes" if m["target_met"] else "no",
        )
        for problem, result in data["results"].items()
        for m in result["matched_error"]
    ]
    head = ("problem", "stepsize", "peer", "time ratio at matched error", "target", "met")
    return f"**{title}** (`{name}.py`)\n\n" + _table(head, rows)


def nbody():
    pyth, ens = _load("nbody_pythagorean"), _load("nbody_ensemble")
    parts = []
    if pyth:
        rows = [
            (
                level,
                r["stepsize"]["method"],
                _num(r["ratio_vs_ias15"], ".2f"),
                _num(r["ratio_vs_best_rebound"], ".2f"),
            )
            for level, r in pyth["ratios"].items()
        ]
        head = ("energy error level", "stepsize method", "time / IAS15", "time / best REBOUND")
        parts.append(
            "**Pythagorean problem to t = 70** (`nbody_pythagorean.py`; < 1: stepsize "
            "faster)\n\n" + _table(head, rows)
        )
    if ens:
        rows = [
            (level, _num(r["vs_ias15"], ".2f"), _num(r["vs_best_rebound"], ".2f"))
            for level, r in ens["throughput_ratio_at_matched_median_error"].items()
        ]
        head = ("median energy error", "throughput / IAS15 loop", "throughput / best REBOUND")
        parts.append(
            f"**{ens['systems']} paper three-body systems** (`nbody_ensemble.py`)\n\n"
            + _table(head, rows)
        )
    return "\n\n".join(parts) or None


def schedules():
    data = _load("schedules")
    if data is None:
        return None
    rows = [
        (
            r["model"],
            _num(r["bellman_over_uniform"]),
            _num(r["best_planner_over_uniform"]),
            _num(r["evolved_over_bellman_own_fitness"]),
            _num(r["straightened_over_bellman"]),
        )
        for r in data["targets"]["K4"]
    ]
    head = (
        "model (K = 4)",
        "Bellman / uniform",
        "best DP / uniform",
        "evolved / Bellman",
        "straightened / Bellman",
    )
    return "**Sampler schedules, error ratios** (`schedules.py`)\n\n" + _table(head, rows)


def rl():
    data = _load("rl_threebody")
    if data is None:
        return None
    rows = []
    for name, p in data["policies"].items():
        err, steps = p["medians"]["policy"]
        pareto = p["evaluation"]["pareto"]
        verdict = "dominated" if pareto["dominated"] else "not dominated"
        rows.append(
            (name, _num(err), f"{steps:.0f}", verdict, _num(pareto["margin_decades"], "+.2f"))
        )
    head = (
        "policy",
        "median energy error",
        "median steps",
        "vs 10 fixed eta",
        "decades below front",
    )
    return "**RL step controller on 100 held-out seeds** (`rl_threebody.py`)\n\n" + _table(
        head, rows
    )


def tables():
    parts = [
        ode("ode_nonstiff", "Non-stiff ODEs"),
        ode("ode_stiff", "Stiff ODEs"),
        nbody(),
        schedules(),
        rl(),
    ]
    return "\n\n".join(p for p in parts if p)


def render(readme):
    if START not in readme or END not in readme:
        raise ValueError(f"README.md needs the markers {START} and {END}")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{tables()}\n{END}{tail}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    args = parser.parse_args(argv)
    path = ROOT / "README.md"
    old = path.read_text()
    new = render(old)
    if args.check:
        return int(new != old)
    path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
