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


ODE_COLUMNS = {  # (stepsize curve, peer curve) pairs shown in the README, of those in the JSON
    "ode_nonstiff": (
        ("stepsize dop853", "numbalsoda dop853"),
        ("stepsize best", "fastest compiled peer"),
        ("stepsize tsit5", "diffrax Tsit5"),
        ("stepsize best", "sundials cvode-Adams"),
        ("stepsize best", "scipy best"),
    ),
    "ode_stiff": (
        ("stepsize best", "faster of numbalsoda lsoda, cvode"),
        ("stepsize best", "numbalsoda lsoda"),
        ("stepsize best", "cyrk best"),
        ("stepsize best", "diffrax Kvaerno5"),
        ("stepsize best", "scipy best"),
    ),
}


def ode(name, title):
    """One row per problem, one column per pair: time ratio at matched error (overlap mean)."""
    data = _load(name)
    if data is None:
        return None
    cols = ODE_COLUMNS[name]
    rows = []
    for problem, result in data["results"].items():
        found = {(m["ours"], m["peer"]): m["overlap_geomean"] for m in result["matched_error"]}
        rows.append((problem, *(_num(found.get(c), ".2f") for c in cols)))
    head = ("problem", *(f"{ours.split()[1]} vs {peer}" for ours, peer in cols))
    return (
        f"**{title}** (`{name}.py`; peer time / stepsize time at matched error, geometric mean "
        "over the common error range; > 1: stepsize faster)\n\n" + _table(head, rows)
    )


def ode_micro():
    data = _load("ode_micro")
    if data is None:
        return None
    r, rows = data["results"], []
    if "fixed" in r:
        t = r["fixed"]["time_us"]
        rows.append(
            (
                "fixed cost per call (y' = -y, dop853; peer numbalsoda dop853)",
                f"{t['stepsize dop853']:.0f} us",
                f"{t.get('numbalsoda dop853', float('nan')):.1f} us",
            )
        )
    for problem, res in r.get("per_eval", {}).items():
        s = res["solvers"]
        if "numbalsoda dop853" in s:
            rows.append(
                (
                    f"per evaluation, {problem} (dop853; peer numbalsoda dop853)",
                    f"{s['stepsize dop853']['ns_per_eval']:.0f} ns",
                    f"{s['numbalsoda dop853']['ns_per_eval']:.0f} ns",
                )
            )
    for label, ratio in r.get("ensemble", {}).get("ratios", {}).items():
        peer, ours = label.split(" / ")
        t = r["ensemble"]["time_s"]
        rows.append(
            (
                f"1000 Lorenz members: {ours.split()[-1]} vs {peer}",
                f"{t[ours]:.3f} s",
                f"{t[peer]:.3f} s (x{ratio:.2f})",
            )
        )
    for label, v in r.get("cold", {}).items():
        if label.startswith("first solve") and "first_result_s" in v:
            cpu = f" (CPU {v['cpu_s']:.0f} s)" if "cpu_s" in v else ""
            rows.append((label, f"{v['wall_s']:.1f} s wall{cpu}", ""))
    head = ("measure", "stepsize", "peer (x: peer time / stepsize time)")
    return "**ODE micro-benchmarks** (`ode_micro.py`)\n\n" + _table(head, rows)


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
            (
                name,
                _num(err),
                f"{steps:.0f}",
                verdict,
                _num(pareto["margin_decades"], "+.2f"),
                _num(pareto["steps_ratio"], ".2f"),
            )
        )
    head = (
        "policy",
        "median energy error",
        "median steps",
        "vs 10 fixed eta",
        "decades below front",
        "steps / front's at equal error",
    )
    text = "**RL step controller on 100 held-out seeds** (`rl_threebody.py`)\n\n" + _table(
        head, rows
    )
    transfer = {k: v for k, v in data.get("transfer", {}).items() if isinstance(v, dict)}
    if not transfer:
        return text
    rows = [
        (
            label.removeprefix("transfer: "),
            t["parameter"],
            _num(t["policy"]["median_energy_error"]),
            f"{t['policy']['median_steps']:.0f}",
            _num(t["pareto"]["margin_decades"], "+.2f"),
            _num(t["pareto"]["steps_ratio"], ".2f"),
        )
        for label, t in transfer.items()
    ]
    head = (
        "integrator, bodies, span",
        "parameter",
        "median energy error",
        "median steps",
        "decades below its own front",
        "steps / front's",
    )
    policy = data["transfer"].get("policy", "default")
    return (
        f"{text}\n\n**The {policy} policy steering other integrators** (`rl_threebody.py`, "
        f"{next(iter(transfer.values()))['episodes']} held-out seeds)\n\n" + _table(head, rows)
    )


def tables():
    parts = [
        ode("ode_nonstiff", "Non-stiff ODEs"),
        ode("ode_stiff", "Stiff ODEs"),
        ode_micro(),
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
