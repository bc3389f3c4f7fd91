"""Write benchmarks/README.md and the README's headline ratios from ``benchmarks/results/*.json``.

``python benchmarks/readme_tables.py`` rewrites ``benchmarks/README.md`` (all of it) and the
block between ``<!-- bench-headline:start -->`` and ``<!-- bench-headline:end -->`` of
README.md; ``--check`` only reports (exit 1) whether either is out of date.  Every table shows
the ratios of stepsize against its peers as each benchmark measured them (misses included); a
results file without a table here is still listed, and one whose layout a table does not know
is named with the key it lacks instead of stopping the others.
"""

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
START, END = "<!-- bench-headline:start -->", "<!-- bench-headline:end -->"

INTRO = """\
# Benchmarks

Every script here runs stepsize and its peers side by side in one process (warm-up, then the
median of interleaved repeats) and writes `results/NAME.json` and `results/NAME.png`; run one
with `python benchmarks/NAME.py` (or `stepsize bench NAME`), all with `make bench`.  Peers come
with `pip install -e ".[bench]"` (numbalsoda needs gfortran; jax runs on the CPU).

This file is written by `python benchmarks/readme_tables.py` from those JSON files; do not edit
it by hand.  Each table says which way its ratio points; every measured ratio is shown, the
misses too.
"""


@dataclass
class Section:
    """A benchmark's table (``body``) and its one-line summary for README.md (``headline``)."""

    title: str
    body: str
    headline: str = ""


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _num(x, fmt=".2g"):
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)


def _inverse(values):
    return [None if v is None or v == 0 else 1.0 / v for v in values]


def _span(values, fmt=".2f"):
    """``"0.34–0.44"`` over the finite ``values`` (one value as itself, none as a dash)."""
    v = sorted(x for x in values if x is not None and math.isfinite(x))
    if not v:
        return "–"
    return format(v[0], fmt) if len(v) == 1 or v[0] == v[-1] else f"{v[0]:{fmt}}–{v[-1]:{fmt}}"


# ----------------------------------------------------------------------------- ODE


ODE_COLUMNS = {  # (stepsize curve, peer curve) pairs shown, of those in the JSON
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
    "ode_bdf": (
        ("stepsize bdf", "sundials cvode-BDF"),
        ("stepsize bdf", "scipy BDF"),
        ("stepsize bdf", "sundials ida"),
        ("stepsize best", "sundials cvode-BDF"),
        ("stepsize best", "scipy BDF"),
        ("stepsize best", "sundials ida"),
    ),
    "ode_sparse": (
        ("stepsize bdf", "sundials cvode-BDF"),
        ("stepsize bdf", "scipy BDF"),
        ("stepsize best", "sundials cvode-BDF"),
        ("stepsize bdf+jac", "scipy BDF+jac"),
    ),
    "ode_pydiffsol": (
        ("stepsize bdf", "pydiffsol bdf"),
        ("stepsize best", "pydiffsol bdf"),
        ("stepsize+jac bdf", "pydiffsol bdf"),  # CHEMAKZO with the exact Jacobian
        ("stepsize+jac best", "pydiffsol bdf"),
    ),
}
ODE_HEADLINE = {  # the pairs quoted in README.md: the fastest compiled peer and SciPy
    "ode_nonstiff": (("stepsize best", "fastest compiled peer"), ("stepsize best", "scipy best")),
    "ode_stiff": (
        ("stepsize best", "faster of numbalsoda lsoda, cvode"),
        ("stepsize best", "scipy best"),
    ),
    "ode_bdf": (
        ("stepsize bdf", "sundials cvode-BDF"),
        ("stepsize bdf", "scipy BDF"),
        ("stepsize bdf", "sundials ida"),
    ),
    "ode_sparse": (("stepsize bdf", "sundials cvode-BDF"), ("stepsize bdf", "scipy BDF")),
    "ode_pydiffsol": (("stepsize bdf", "pydiffsol bdf"),),
}


def _ode(name, title, data):
    cols = ODE_COLUMNS[name]
    rows, found = [], {}
    for problem, result in data["results"].items():
        found[problem] = {
            (m["ours"], m["peer"]): m["overlap_geomean"] for m in result["matched_error"]
        }
        rows.append((problem, *(_num(found[problem].get(c), ".2f") for c in cols)))
    head = ("problem", *(f"{_ours(ours)} vs {peer}" for ours, peer in cols))
    body = (
        "Peer time / stepsize time at matched error, geometric mean over the common error range "
        "(> 1: stepsize faster).\n\n" + _table(head, rows)
    )
    quoted = [
        f"{peer} {_span(f.get((ours, peer)) for f in found.values())}"
        for ours, peer in ODE_HEADLINE[name]
    ]
    problems = f"{len(found)} problem{'' if len(found) == 1 else 's'}"
    headline = f"{title}, {problems}, peer time / stepsize time: " + "; ".join(quoted)
    return Section(f"{title} (`{name}.py`)", body, headline)


def _ours(name):
    """The column label of stepsize's solver ``name``: "bdf", "best", "bdf+jac" for
    "stepsize+jac bdf" (the run given the exact Jacobian)."""
    return name.split()[1] + ("+jac" if name.startswith("stepsize+jac ") else "")


def ode_nonstiff(data):
    return _ode("ode_nonstiff", "Non-stiff ODEs", data)


def ode_stiff(data):
    return _ode("ode_stiff", "Stiff ODEs", data)


def ode_bdf(data):
    # scikit-sundae's CVODE and IDA call the right-hand side / residual in Python
    return _ode("ode_bdf", "BDF on stiff ODEs and index-1 DAEs (peers: scikit-sundae, SciPy)", data)


def ode_sparse(data):
    return _ode("ode_sparse", "BDF with a sparse Jacobian, 2-D Brusselator 32 x 32", data)


def ode_pydiffsol(data):
    return _ode("ode_pydiffsol", "BDF against pydiffsol (diffsol, Rust)", data)


def ode_micro(data):
    r, rows = data["results"], []
    fixed = None
    if "fixed" in r:
        t = r["fixed"]["time_us"]
        peer = t.get("numbalsoda dop853")
        fixed = None if peer is None else peer / t["stepsize dop853"]
        rows.append(
            (
                "fixed cost per call (y' = -y, dop853; peer numbalsoda dop853)",
                f"{t['stepsize dop853']:.0f} us",
                f"{_num(peer, '.1f')} us",
                _num(fixed, ".2f"),
            )
        )
    if "stepsize njit_solver dop853 from Python" in r.get("fixed", {}).get("time_us", {}):
        t = r["fixed"]["time_us"]
        ours, peer = t["stepsize njit_solver dop853 from Python"], t.get("numbalsoda dop853")
        rows.append(
            (
                "cost per call from Python in numbalsoda's form (njit_solver's solver; arrays "
                "in, (y, status) out)",
                f"{ours:.1f} us",
                f"{_num(peer, '.1f')} us",
                _num(None if peer is None else peer / ours, ".2f"),
            )
        )
    if "from_njit" in r.get("fixed", {}):
        nj = r["fixed"]["from_njit"]
        t = nj["time_us_per_call"]
        rows.append(
            (
                "cost per call from @njit code (y' = -y; njit_solver vs numbalsoda dop853)",
                f"{t['stepsize njit_solver dop853']:.1f} us",
                f"{t['numbalsoda dop853']:.1f} us",
                f"{nj['ratio_numbalsoda_over_stepsize']:.2f}",
            )
        )
    if "events" in r:
        t = r["events"]["time_us"]
        rows.append(
            (
                "cost per call with events (y'' = -y, dop853; peer SciPy DOP853)",
                f"{t['stepsize events']:.0f} us",
                f"{t['scipy DOP853 events']:.0f} us",
                f"{r['events']['ratio_scipy_over_stepsize']:.1f}",
            )
        )
    per_eval = []
    for problem, res in r.get("per_eval", {}).items():
        s = res["solvers"]
        if "numbalsoda dop853" in s:
            ours, peer = s["stepsize dop853"]["ns_per_eval"], s["numbalsoda dop853"]["ns_per_eval"]
            per_eval.append(peer / ours)
            rows.append(
                (
                    f"per evaluation, {problem} (dop853; peer numbalsoda dop853)",
                    f"{ours:.0f} ns",
                    f"{peer:.0f} ns",
                    f"{peer / ours:.2f}",
                )
            )
    for label, ratio in r.get("ensemble", {}).get("ratios", {}).items():
        peer, ours = label.split(" / ")
        t = r["ensemble"]["time_s"]
        rows.append(
            (
                f"1000 Lorenz members: {ours.split()[-1]} vs {peer}",
                f"{t[ours]:.3f} s",
                f"{t[peer]:.3f} s",
                f"{ratio:.2f}",
            )
        )
    sweep = r.get("ensemble", {}).get("tolerance_sweep", {})
    for row in sweep.get("matched_error_wall", []):
        span = row["overlap_error_range"]
        where = "" if span is None else f", errors {span[0]:.0e} to {span[1]:.0e}"
        rows.append(
            (
                f"1000 Lorenz members at matched error: {row['ours'].split()[-1]} vs "
                f"{row['peer']} (tolerance sweep{where})",
                "",
                "",
                _num(row["overlap_geomean"], ".2f"),
            )
        )
    for label, v in r.get("cold", {}).items():
        if label.startswith("first solve") and "first_result_s" in v:
            cpu = f" (CPU {v['cpu_s']:.0f} s)" if "cpu_s" in v else ""
            rows.append((label, f"{v['wall_s']:.1f} s wall{cpu}", "", ""))
    head = ("measure", "stepsize", "peer", "peer time / stepsize time")
    headline = (
        f"ODE cost per call, numbalsoda time / stepsize time: {_num(fixed, '.2f')}; "
        f"per right-hand-side evaluation: {_span(per_eval)}"
    )
    return Section("ODE micro-benchmarks (`ode_micro.py`)", _table(head, rows), headline)


# ----------------------------------------------------------------------------- N-body


def _nbody_method(r):
    """A benchmark row's method, with its regularisation if any."""
    if not r:
        return "not reached"
    reg = r.get("options", {}).get("regularize")
    return r["method"] + (f" ({reg.upper()})" if reg else "")


def nbody_pythagorean(data):
    ratios = data["ratios"]
    rows = [
        (
            level,
            _nbody_method(r.get("stepsize")),
            _num(r["ratio_vs_ias15"], ".2f"),
            _num(r["ratio_vs_best_rebound"], ".2f"),
        )
        for level, r in ratios.items()
    ]
    head = ("energy error level", "stepsize method", "time / IAS15", "time / best REBOUND")
    body = "Stepsize time / REBOUND time (< 1: stepsize faster).\n\n" + _table(head, rows)
    methods, per = _pythagorean_per_method(ratios)
    body += (
        "\n\nEvery stepsize method: its fastest setting reaching the level, time / the fastest "
        "REBOUND setting reaching it (< 1: stepsize faster; **bold**: a miss, slower than "
        "REBOUND; reached: no REBOUND setting reaches the level; blank: the method does not "
        "reach it).\n\n" + methods
    )
    best = [r["ratio_vs_best_rebound"] for r in ratios.values()]
    misses = sorted((1.0 / v, m, lv) for m, lv, v in per if v > 1.0)
    headline = (
        f"Pythagorean problem, best REBOUND integrator's time / stepsize time at {len(best)} "
        f"energy error levels: {_span(_inverse(best))}; per stepsize method, best REBOUND "
        f"time / the method's at each level it reaches: {_span(_inverse([v for *_, v in per]))}"
        f", {len(misses)} of {len(per)} below 1"
    )
    if misses:
        headline += " (" + ", ".join(f"{m} {v:.2f} at {lv}" for v, m, lv in misses[:4])
        headline += ", ...)" if len(misses) > 4 else ")"
    return Section("Pythagorean problem to t = 70 (`nbody_pythagorean.py`)", body, headline)


def _pythagorean_per_method(ratios):
    """The table of ``ratios[level]["per_method"]``: a row per stepsize method, a column per
    energy error level, and the list of (method, level, ratio) it shows."""
    levels = [lv for lv, r in ratios.items() if r.get("per_method")]
    names = sorted({m for lv in levels for m in ratios[lv]["per_method"]})
    rows, per = [], []
    for name in names:
        row = [name]
        for lv in levels:
            entry = ratios[lv]["per_method"].get(name)
            v = entry and entry.get("ratio_vs_best_rebound")
            if v is not None:
                per.append((name, lv, v))
                row.append(f"**{v:.2f}**" if v > 1.0 else f"{v:.2f}")
            else:
                row.append("reached" if entry else "")
        rows.append(row)
    return _table(["method"] + levels, rows), per


def nbody_ensemble(data):
    ratios = data["throughput_ratio_at_matched_median_error"]
    two = data.get("throughput_ratio_two_cores_vs_rebound_loop", {})
    rows = [
        (
            level,
            _num(r["vs_ias15"], ".2f"),
            _num(r["vs_best_rebound"], ".2f"),
            _num(two.get(level, {}).get("vs_best_rebound"), ".2f"),
        )
        for level, r in ratios.items()
    ]
    head = (
        "median energy error",
        "per core / IAS15 loop",
        "per core / best REBOUND",
        "2 cores / best REBOUND loop",
    )
    body = (
        "Systems per CPU second of stepsize / of REBOUND (> 1: stepsize faster); the last "
        "column: stepsize on 2 cores against REBOUND looped in one process.\n\n"
        + _table(head, rows)
    )
    best = [r["vs_best_rebound"] for r in ratios.values()]
    headline = (
        f"{data['systems']} three-body systems at once, stepsize throughput per core / best "
        f"REBOUND loop's: {_span(best)}"
    )
    if two:
        on_two = [r.get("vs_best_rebound") for r in two.values()]
        headline += f"; on 2 cores / REBOUND looped in one process: {_span(on_two)}"
    return Section(
        f"{data['systems']} paper three-body systems (`nbody_ensemble.py`)", body, headline
    )


def _setting(r):
    """``method(options) error`` of the fastest setting reaching a level, or "not reached"."""
    if not r:
        return "not reached"
    opts = ", ".join(f"{k}={v}" for k, v in r.get("options", {}).items())
    return f"{r['method']}({opts}) {_num(r.get('error'), '.1e')}"


def nbody_rebound(data):
    """One row per problem and error level: the fastest setting of each side reaching it (or,
    where REBOUND reaches no level, against its most accurate run)."""
    rows, ratios = [], []
    for problem, p in data["problems"].items():
        for level, q in p["levels"].items():
            peer, ratio = _setting(q.get("rebound")), q.get("ratio")
            if q.get("ratio_vs_most_accurate") is not None:
                peer = f"(most accurate: {_setting(q.get('rebound_most_accurate'))})"
                ratio = q["ratio_vs_most_accurate"]
            ratios.append(ratio)
            rows.append(
                (
                    problem,
                    f"{p['measure']} {level}",
                    _setting(q.get("stepsize")),
                    peer,
                    _num(ratio, ".2f"),
                )
            )
    head = ("problem", "error level", "stepsize (error)", "REBOUND (error)", "CPU time ratio")
    body = (
        f"REBOUND {data.get('rebound', '')}: {data['ratio']} (< 1: stepsize faster).\n\n"
        + _table(head, rows)
    )
    headline = (
        f"Against REBOUND's own IAS15 and WHFast on {len(data['problems'])} problems, REBOUND "
        f"time / stepsize time: {_span(_inverse(ratios))}"
    )
    return Section(
        "Stepsize against REBOUND's own integrators (`nbody_rebound.py`)", body, headline
    )


# ----------------------------------------------------------------------------- schedules, RL


def schedules(data):
    runs = data["targets"]["K4"]
    rows = [
        (
            r["model"],
            _num(r["bellman_over_uniform"]),
            _num(r["best_planner_over_uniform"]),
            _num(r["evolved_over_bellman_own_fitness"]),
            _num(r["straightened_over_bellman"]),
        )
        for r in runs
    ]
    head = (
        "model (K = 4)",
        "Bellman / uniform",
        "best DP / uniform",
        "evolved / Bellman",
        "straightened / Bellman",
    )
    body = "Error against a 1000-step teacher, ratio of two schedules (< 1: the first better).\n\n"
    headline = "Sampler schedules, K = 4, Bellman error / uniform error: " + ", ".join(
        f"{r['model']} {_num(r['bellman_over_uniform'])}" for r in runs
    )
    return Section("Sampler schedules (`schedules.py`)", body + _table(head, rows), headline)


FLOORS = ("floor", "sample_floor")
"""The Frechet floors of a samplers target row: the teacher's and the training images'."""


def schedules_samplers(data):
    rows, stock, old_intervals = [], [], False
    for r in data["targets"]:
        if "stock" in r:
            what = f"{r['ours']} / {r['stock']}"
            stock.append(r["ratio"])
        elif "baseline" in r:
            what = f"{r['ours']} / {r['baseline']}"
        elif ":" in r["target"]:
            what = r["target"].split(":")[0] + " planned / uniform"
        else:
            what = r["target"]
        lo_hi = r.get("interval")
        interval = f"{lo_hi[0]:.2f}-{lo_hi[1]:.2f}" if lo_hi else ""
        if lo_hi and r.get("interval_by") != "half-sampling":
            interval, old_intervals = interval + " (b)", True
        floors = [_num(r[k], ".2f") if r.get(k) is not None else "" for k in FLOORS]
        row = (r["model"], r["nfe"], r["metric"], what, _num(r["ratio"], ".2f"), interval)
        rows.append(row + tuple(floors))
    head = ("model", "NFE", "metric", "ratio of", "ratio", "90% interval", "floor", "sample floor")
    body = (
        "Error or distance, planned schedule / peer's stock schedule (< 1: planned better); "
        "interval: paired half-sampling over the evaluation samples (n/2 drawn without "
        "replacement, both rows at the same indices); floor: the teacher's Frechet distance / the "
        "stock one's, below which no sampler of the model goes (up to sampling noise); sample "
        "floor: the distance of as many training images as samples / the stock one's, the "
        "estimator's own floor at that sample size."
    )
    if old_intervals:
        body += (
            " (b): the with-replacement bootstrap of an older run, whose duplicates inflate a "
            "Frechet distance and pull its ratio toward 1."
        )
    body += "\n\n"
    headline = (
        f"Planned schedules / the best stock diffusers or k-diffusion sampler, {len(stock)} "
        f"settings: {_span(stock)}"
    )
    return Section(
        "Samplers with planned schedules against diffusers and k-diffusion (`_samplers_bench.py`)",
        body + _table(head, rows),
        headline,
    )


def rl_threebody(data):
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
    default = data["policies"].get("default")
    headline = ""
    if default:
        pareto = default["evaluation"]["pareto"]
        headline = (
            "Shipped RL step controller against every fixed eta on held-out systems: "
            f"{'dominated' if pareto['dominated'] else 'not dominated'}, "
            f"{_num(pareto['margin_decades'], '+.2f')} decades below the fixed-eta front"
        )
    text = _table(head, rows)
    title = "RL step controller on held-out seeds (`rl_threebody.py`)"
    transfer = {k: v for k, v in data.get("transfer", {}).items() if isinstance(v, dict)}
    if not transfer:
        return Section(title, text, headline)
    rows = [
        (
            label.removeprefix("transfer: "),
            t["parameter"],
            _num(t["policy"]["median_energy_error"]),
            f"{t['policy']['median_steps']:.0f}",
            _num(t["pareto"]["margin_decades"], "+.2f"),
            _range(t.get("bootstrap", {}).get("margin_decades"), "+.2f"),
            _num(t["pareto"]["steps_ratio"], ".2f"),
            _range(t.get("bootstrap", {}).get("steps_ratio"), ".2f"),
        )
        for label, t in transfer.items()
    ]
    head = (
        "integrator, bodies, span",
        "parameter",
        "median energy error",
        "median steps",
        "decades below its own front",
        "5-95% (systems resampled)",
        "steps / front's",
        "5-95%",
    )
    policy = data["transfer"].get("policy", "default")
    text += (
        f"\n\n**The {policy} policy steering other integrators** ("
        f"{next(iter(transfer.values()))['episodes']} held-out seeds)\n\n" + _table(head, rows)
    )
    return Section(title, text, headline)


def _range(pair, fmt):
    """``[lo, hi]`` as "lo..hi" ("n/a" where a run recorded none)."""
    return "n/a" if not pair else f"{_num(pair[0], fmt)}..{_num(pair[1], fmt)}"


def rl_odestep(data):
    """The learned dp5 step controller against PI (and H211b, PI42) on held-out ODEs."""
    rows = []
    for subset, by_controller in data["summary"].items():
        for name, families in by_controller.items():
            for family, st in families.items():
                rows.append(
                    (
                        subset,
                        name,
                        family,
                        st["members"],
                        _num(st["geometric_mean"], ".3f"),
                        _num(st["q10"], ".3f") + "–" + _num(st["q90"], ".3f"),
                        _num(st["worst"], ".3f"),
                    )
                )
    head = ("errors", "controller", "family", "members", "geometric mean", "10–90 %", "worst")
    seeds = data["held_out"]["seeds"]
    body = (
        "Right-hand-side evaluations / the PI controller's at equal global error, per held-out "
        f"problem (seeds {seeds[0]}–{seeds[1]}; < 1: fewer evaluations).\n\n" + _table(head, rows)
    )
    learned = data["summary"]["all"]["learned"]["all"]
    headline = (
        f"Learned dp5 step controller / PI's evaluations at equal error, {learned['members']} "
        f"held-out Kepler and van der Pol problems: {_num(learned['geometric_mean'], '.3f')} "
        "(geometric mean)"
    )
    return Section("Learned ODE step controller (`rl_odestep.py --shipped`)", body, headline)


def rl_env_speed(data):
    """ThreeBody-v0's environment steps per CPU second against an older tree (one environment,
    and ``ThreeBodyVecEnv`` of n as throughput), per setting."""
    results, trees = data["results"], data["trees"]
    new, vector_key = results[trees[0]], next(k for k in results[trees[0]] if "vector" in k)
    sizes = list(new.get(vector_key, {}))
    settings = [s for s in new if isinstance(new[s], dict) and "env_steps_per_cpu_s" in new[s]]
    head = ("setting", "CPU µs per env step, one env") + tuple(f"one env / {t}" for t in trees[1:])
    head += tuple(
        f"vector of {n} / {t}'s one env (per Hermite step)" for t in trees[1:] for n in sizes
    )
    rows = []
    for setting in settings:
        row = [setting, _num(1e6 / new[setting]["env_steps_per_cpu_s"], ".3g")]
        row += [
            _num(results[f"ratio this tree / {t} (env steps per CPU s)"][setting], ".2f")
            for t in trees[1:]
        ]
        for t in trees[1:]:
            per_env = results[
                f"ratio this tree's vector of n / {t}'s single env (env steps per CPU s)"
            ]
            per_step = results[
                f"ratio this tree's vector of n / {t}'s single env (integrator steps per CPU s)"
            ]
            row += [f"{per_env[n][setting]:.2f} ({per_step[n][setting]:.2f})" for n in sizes]
        rows.append(row)
    load = data.get("load_average_1min", [])
    body = (
        "Environment steps per CPU second, this tree / the older tree's one environment (> 1: "
        f"faster); `paper`: the paper's training set-up, the others 300-step episodes; "
        f"{data['repeats']} interleaved repeats, 1-min load {_span(load, '.1f')}.\n\n"
        + _table(head, rows)
    )
    headline = ""
    if len(trees) > 1:
        top = results[f"headline: paper settings, this tree / {trees[1]}"]
        parts = [f"{k} {v:.2f}x" for k, v in top.items()]
        headline = f"ThreeBody-v0 env steps / the tree at {trees[1]}, paper settings: " + "; ".join(
            parts
        )
    return Section("RL environment speed (`rl_env_speed.py`)", body, headline)


RENDERERS = {  # results file (without .json) -> its section, in the order shown
    "ode_nonstiff": ode_nonstiff,
    "ode_stiff": ode_stiff,
    "ode_bdf": ode_bdf,
    "ode_sparse": ode_sparse,
    "ode_pydiffsol": ode_pydiffsol,
    "ode_micro": ode_micro,
    "nbody_pythagorean": nbody_pythagorean,
    "nbody_ensemble": nbody_ensemble,
    "nbody_rebound": nbody_rebound,
    "schedules": schedules,
    "schedules-samplers": schedules_samplers,
    "rl_threebody": rl_threebody,
    "rl_env_speed": rl_env_speed,
    "rl_odestep_shipped_2000": rl_odestep,
}


def sections(results=RESULTS):
    """``(sections, unrendered)``: a :class:`Section` per known results file present, and the
    names of the other results files."""
    found = {p.stem: p for p in sorted(results.glob("*.json"))}
    out = []
    for name, render in RENDERERS.items():
        if name not in found:
            continue
        try:
            out.append(render(json.loads(found[name].read_text())))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            note = f"`results/{name}.json` has a layout this table does not know ({exc!r})."
            print(f"readme_tables: {note}", file=sys.stderr)
            out.append(Section(f"`{name}.py`", note))
        png = results / f"{name}.png"
        if png.exists():
            out[-1].body += f"\n\n![{name}](results/{png.name})"
    return out, [n for n in found if n not in RENDERERS]


def benchmarks_readme(parts, other):
    text = [INTRO]
    for s in parts:
        text.append(f"## {s.title}\n\n{s.body}\n")
    if other:
        lines = [f"- [`{n}.json`](results/{n}.json)" for n in other]
        text.append("## Other results (no table yet)\n\n" + "\n".join(lines) + "\n")
    return "\n".join(text)


def headline(parts):
    lines = [
        "Time ratios are peer time / stepsize time (> 1: stepsize faster), error ratios "
        "planned / baseline (< 1: planned better):",
        "",
    ]
    lines += [f"- {s.headline}" for s in parts if s.headline]
    lines.append("\nAll tables, with the figures: [benchmarks/README.md](benchmarks/README.md).")
    return "\n".join(lines)


def render_readme(readme, parts):
    if START not in readme or END not in readme:
        raise ValueError(f"README.md needs the markers {START} and {END}")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{headline(parts)}\n{END}{tail}"


def generated(results=RESULTS, readme=ROOT / "README.md"):
    """``{path: text}`` of benchmarks/README.md and README.md as the results make them."""
    parts, other = sections(results)
    return {
        ROOT / "benchmarks" / "README.md": benchmarks_readme(parts, other),
        readme: render_readme(readme.read_text(), parts),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    files = generated()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date", file=sys.stderr)
        return int(bool(stale))
    for p in stale:
        p.write_text(files[p])
    return 0


if __name__ == "__main__":
    sys.exit(main())
