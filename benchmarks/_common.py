"""What the ODE benchmark scripts share: interleaved timing, matched-error ratios, JSON and PNG.

Timing (``time_interleaved``)
    Every candidate is called once untimed (warm-up: compilation, caches), then once timed to pick
    ``k``, the calls per sample, so that a sample lasts at least ``min_sample`` seconds.  Then
    ``repeats`` rounds follow; round ``r`` takes one sample of every candidate in turn, so a burst
    of load from other processes on this shared machine hits every candidate alike instead of one
    curve.  Garbage collection is off while timing (as in ``timeit``).  The statistic is the
    median per call of the process CPU time (wall time is recorded beside it; see
    ``time_interleaved`` for why); the fastest sample is kept as a check on the load, and all
    samples go to the JSON.

Matched error (``matched_ratios``)
    Each solver's (error, time) points are reduced to their Pareto front (a point is kept when it
    is more accurate than every faster point); ``log time`` is interpolated linearly in
    ``log error`` along the front, never extrapolated.  A pair of curves is compared at fixed
    error levels and as the geometric mean of the ratio over their common error range (41 points,
    "overlap", errors up to 1e-2).  A curve is one solver, or a group (``"<family> best"``: all
    solvers of a family, or an explicit list): at each error the fastest member counts -- on
    stepsize's side wherever any member reaches that error (the union of their ranges), on the
    peer's side only where every member has points (the intersection; members without a
    successful point are left out).  Beyond the end of one peer's range the envelope would be
    the other peer alone, so a peer that was merely not run at looser (or tighter) tolerances
    would hand that part of the comparison to a slower one: on ROBER, LSODA's loosest point has
    the error 1e-4 and CVODE's 6e-4, and in between CVODE, 6-25x slower than LSODA, decided
    (0.97 for "the faster of LSODA and CVODE" against 0.62 for LSODA alone).  The union can only
    make stepsize look slower; the intersection keeps a peer's missing runs from making it look
    faster.  Ratios are ``time_peer / time_stepsize``: above 1, stepsize is faster.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
LOAD_NOTE = (
    "shared machine: about six other jobs ran on its 2 cores during the run (see the load "
    "averages), so absolute times are noisy; samples are interleaved, medians reported, and the "
    "ratios use process CPU time (wall time recorded beside it)"
)


# ------------------------------------------------------------------------------------ timing


def time_interleaved(
    calls: dict[str, Callable[[], Any]],
    *,
    repeats: int,
    min_sample: float,
    slow_s: float = 1.0,
    warmed: bool = False,
    clock: str = "cpu",
) -> dict[str, dict]:
    """Median time per call of every zero-argument callable, samples taken round-robin.

    Every sample is read on both clocks, the process CPU time (``time.process_time``, all
    threads of this process) and the wall clock; ``clock`` picks the one behind ``time_s``.
    CPU time is the default: on this shared machine a process waits for a core a good part of
    the wall time, and that wait is no cost of the solver; single-threaded code has CPU time =
    wall time on an idle machine.  Parallel runs (ensembles) and start-up use the wall clock.
    ``warmed``: the caller has already called each once (the warm-up call is skipped).  A
    callable whose timed first call takes longer than ``slow_s`` (wall) gets that call as its
    only sample (bounds the very slow points, e.g. SciPy at tight tolerances).
    Returns ``{label: {"time_s", "time_min_s", "cpu_s", "wall_s", "samples_s", "wall_samples_s",
    "cpu_samples_s", "calls_per_sample", "clock"}}``.
    """
    plan = {}
    for label, call in calls.items():
        if not warmed:
            call()
        t, c = time.perf_counter(), time.process_time()
        call()
        first, first_cpu = time.perf_counter() - t, time.process_time() - c
        slow = first > slow_s
        plan[label] = dict(
            call=call,
            rounds=0 if slow else repeats,
            calls_per_sample=max(1, math.ceil(min_sample / max(first_cpu, first / 4, 1e-9))),
            wall=[first] if slow else [],
            cpu=[first_cpu] if slow else [],
        )
    gc.disable()
    try:
        for r in range(repeats):
            for q in plan.values():
                if r >= q["rounds"]:
                    continue
                call, k = q["call"], q["calls_per_sample"]
                t, c = time.perf_counter(), time.process_time()
                for _ in range(k):
                    call()
                q["cpu"].append((time.process_time() - c) / k)
                q["wall"].append((time.perf_counter() - t) / k)
    finally:
        gc.enable()
    out = {}
    for label, q in plan.items():
        main = q[clock]
        out[label] = dict(
            time_s=statistics.median(main),
            time_min_s=min(main),
            cpu_s=statistics.median(q["cpu"]),
            wall_s=statistics.median(q["wall"]),
            samples_s=main,
            cpu_samples_s=q["cpu"],
            wall_samples_s=q["wall"],
            calls_per_sample=q["calls_per_sample"],
            clock=clock,
        )
    return out


class Outcome(NamedTuple):
    """What one solve returns to the benchmark: end value, status and the counts it reports."""

    y_end: np.ndarray
    success: bool
    nfev: int | None = None
    njev: int | None = None
    nsteps: int | None = None


@dataclass(frozen=True)
class Solver:
    """A labelled solver ``run(rtol) -> Outcome``; ``tols`` limits the tolerances it is run at."""

    label: str
    run: Callable[[float], Outcome]
    count_nfev: Callable[[float], int] | None = None  # untimed run that counts evaluations
    tols: Callable[[float], bool] = field(default=lambda rtol: True)


def work_precision(
    solvers: Sequence[Solver],
    tols: Sequence[float],
    error: Callable[[np.ndarray], float],
    *,
    atol_ratio: float = 1.0,
    repeats: int,
    min_sample: float,
) -> dict[str, list[dict]]:
    """Error and median time per solve of every solver at every tolerance (interleaved).

    ``atol = rtol * atol_ratio``; ``error(y_end)`` measures the end value against the reference.
    Returns ``{label: [point, ...]}``, a point holding rtol, atol, error, success, the counts and
    the timing of :func:`time_interleaved`.
    """
    points: dict[str, list[dict]] = {s.label: [] for s in solvers}
    for rtol in tols:
        active = [s for s in solvers if s.tols(rtol)]
        outcomes = {}
        for s in active:
            out = s.run(rtol)
            y = np.asarray(out.y_end, dtype=float)
            finite = bool(np.all(np.isfinite(y)))
            outcomes[s.label] = dict(
                rtol=rtol,
                atol=rtol * atol_ratio,
                success=bool(out.success) and finite,
                error=error(y) if finite else math.inf,
                nfev=s.count_nfev(rtol) if s.count_nfev else _int(out.nfev),
                njev=_int(out.njev),
                nsteps=_int(out.nsteps),
            )
        timing = time_interleaved(
            {s.label: (lambda s=s, rtol=rtol: s.run(rtol)) for s in active},
            repeats=repeats,
            min_sample=min_sample,
            warmed=True,
            slow_s=0.25,
        )
        for label, q in outcomes.items():
            points[label].append({**q, **timing[label]})
    return points


def _int(v):
    return None if v is None else int(v)


# ------------------------------------------------------------------------------------ ratios


class Pair(NamedTuple):
    """Curves to compare: ``ours`` against ``peer`` (names resolved by :func:`members`)."""

    ours: str
    peer: str
    target: float


def members(name: str, labels: Sequence[str], groups: dict[str, Sequence[str]]) -> list[str]:
    """Solver labels behind a curve name: a group, ``"<family> best"``, or the label itself."""
    if name in groups:
        return [lab for lab in groups[name] if lab in labels]
    family, _, method = name.partition(" ")
    if method == "best":
        return [lab for lab in labels if lab.startswith(family + " ")]
    return [name] if name in labels else []


def front(points: Sequence[dict], key: str = "time_s") -> list[tuple[float, float]]:
    """Pareto front ``(log error, log time)`` of the successful points, error decreasing."""
    pts = sorted((q[key], q["error"]) for q in points if q["success"] and q["error"] > 0)
    out, best = [], math.inf
    for t, e in pts:
        if e < best:
            out.append((math.log(e), math.log(t)))
            best = e
    return out


def time_at(fr: Sequence[tuple[float, float]], error: float) -> float:
    """Time to reach ``error`` along a front, interpolated in log-log; NaN outside its range."""
    if not fr:
        return math.nan
    xs, ys = [x for x, _ in fr][::-1], [y for _, y in fr][::-1]  # log error increasing
    le = math.log(error)
    if le < xs[0] or le > xs[-1]:
        return math.nan
    return math.exp(float(np.interp(le, xs, ys)))


def _group_time(fronts, error, common=False):
    """Time of the fastest member of a group at ``error``; ``common``: NaN unless every member
    reaches ``error`` (the peer side of :func:`matched_ratios`)."""
    times = [time_at(fr, error) for fr in fronts]
    if common and any(math.isnan(t) for t in times):
        return math.nan
    times = [t for t in times if not math.isnan(t)]
    return min(times) if times else math.nan


def _log_range(fronts, common):
    """``(lo, hi)`` of log error a group covers: union of its members' ranges, or with
    ``common`` their intersection (empty: ``lo > hi``)."""
    lows = [min(x for x, _ in fr) for fr in fronts]
    highs = [max(x for x, _ in fr) for fr in fronts]
    if common:
        return max(lows), min(highs)
    return min(lows), max(highs)


def matched_ratios(
    points: dict[str, list[dict]],
    pairs: Sequence[Pair],
    levels: Sequence[float],
    groups: dict[str, Sequence[str]] | None = None,
    key: str = "time_s",
    max_error: float = 1e-2,
) -> list[dict]:
    """``time_peer / time_ours`` at each error level and as the overlap geometric mean.

    The overlap range is capped at ``max_error`` (a result off by more than 1 % is no answer,
    and there the fronts of a group can be made of a single member).  The peer curve of a group
    is its lower envelope where all its members have points, ours where any has (module
    docstring).  A pair is listed when both curves have members; ``target_met`` when every
    ratio it has reaches ``target``.  ``key="time_min_s"`` repeats the comparison on the
    fastest samples.
    """
    groups = groups or {}
    fronts = {lab: front(pts, key) for lab, pts in points.items()}
    rows = []
    for pair in pairs:
        ours = [fronts[m] for m in members(pair.ours, list(points), groups) if fronts[m]]
        peer = [fronts[m] for m in members(pair.peer, list(points), groups) if fronts[m]]
        if not members(pair.ours, list(points), groups) or not members(
            pair.peer, list(points), groups
        ):
            continue
        at = {}
        for level in levels:
            r = _group_time(peer, level, common=True) / _group_time(ours, level)
            at[f"{level:.0e}"] = None if math.isnan(r) else r
        lo, hi = math.inf, -math.inf
        if ours and peer:
            (lo_o, hi_o), (lo_p, hi_p) = _log_range(ours, False), _log_range(peer, True)
            lo, hi = max(lo_o, lo_p), min(hi_o, hi_p, math.log(max_error))
        logs = []
        if lo <= hi:
            for e in np.exp(np.linspace(lo, hi, 41)):
                r = _group_time(peer, e, common=True) / _group_time(ours, e)
                if not math.isnan(r):
                    logs.append(math.log(r))
        overlap = math.exp(statistics.fmean(logs)) if logs else None
        finite = [v for v in [*at.values(), overlap] if v is not None]
        rows.append(
            dict(
                ours=pair.ours,
                peer=pair.peer,
                peer_members=members(pair.peer, list(points), groups),
                target=pair.target,
                at_error=at,
                overlap_geomean=overlap,
                overlap_error_range=[math.exp(lo), math.exp(hi)] if logs else None,
                target_met=bool(finite) and min(finite) >= pair.target,
            )
        )
    return rows


def cost_model(points: Sequence[dict]) -> dict | None:
    """Fit ``time = overhead + per_fev * nfev`` over one solver's points (relative residuals)."""
    pts = [(q["nfev"], q["time_s"]) for q in points if q.get("nfev")]
    if len(pts) < 2:
        return None
    x, y = np.array(pts, dtype=float).T
    slope, intercept = np.polyfit(x, y, 1, w=1.0 / y)
    return {"overhead_us": float(intercept * 1e6), "ns_per_fev": float(slope * 1e9)}


# ------------------------------------------------------------------------------------ output


def versions(packages: Sequence[str]) -> dict[str, str | None]:
    out = {}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def stepsize_source() -> dict:
    """Which code ``import stepsize`` ran: the git commit and branch of its tree (no paths).

    A tree outside git (e.g. ``git archive`` of another branch) names itself through the
    environment variables ``STEPSIZE_COMMIT`` and ``STEPSIZE_BRANCH``.
    """
    import stepsize

    where = Path(stepsize.__file__).resolve().parent.parent

    def git(*args):
        try:
            return subprocess.run(
                ["git", "-C", str(where), *args], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "HEAD")
    if not commit or os.environ.get("STEPSIZE_COMMIT"):
        return dict(
            commit=os.environ.get("STEPSIZE_COMMIT"),
            branch=os.environ.get("STEPSIZE_BRANCH"),
            dirty=None,
        )
    return dict(
        commit=commit,
        branch=git("rev-parse", "--abbrev-ref", "HEAD") or None,
        dirty=bool(git("status", "--porcelain", "--", "stepsize")),
    )


def machine_info(packages: Sequence[str] = ()) -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model"))
    except (OSError, StopIteration):
        pass
    return dict(
        platform=platform.platform(),
        cpu=cpu,
        cpu_count=os.cpu_count(),
        python=sys.version.split()[0],
        versions=versions(("numpy", "scipy", "numba", "stepsize", *packages)),
        stepsize_source=stepsize_source(),
        load=LOAD_NOTE,
        load_average_start=list(os.getloadavg()),
    )


def finish_machine_info(info: dict, start: float) -> dict:
    info.update(load_average_end=list(os.getloadavg()), total_seconds=time.perf_counter() - start)
    return info


def output_dir(out: Path | None, quick: bool, name: str) -> Path:
    """``--out``, else a fresh temporary directory for ``--quick``, else ``benchmarks/results``."""
    path = out or (Path(tempfile.mkdtemp(prefix=f"{name}_")) if quick else RESULTS)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _clean(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    return obj


def write_json(doc: dict, path: Path) -> None:
    """Strict JSON (NaN and inf written as null), written atomically."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_clean(doc), indent=1))
    os.replace(tmp, path)


def fmt_ratio(v) -> str:
    return f"{'-':>7}" if v is None else f"{v:7.2f}" if v < 10 else f"{v:7.1f}"


def print_matched(results: dict, levels: Sequence[float]) -> None:
    """The matched-error ratio table of every problem (median and fastest-sample overlap)."""
    keys = [f"{e:.0e}" for e in levels]
    print("\nMatched-error time ratios, time_peer / time_stepsize (> 1: stepsize faster)")
    print(
        f"{'problem':10} {'stepsize':17} {'peer':34} "
        + " ".join(f"{k:>7}" for k in keys)
        + "  overlap ovl(min)  target"
    )
    for name, res in results.items():
        for r, r_min in zip(res["matched_error"], res["matched_error_min"]):
            cells = " ".join(fmt_ratio(r["at_error"][k]) for k in keys)
            cells += f"  {fmt_ratio(r['overlap_geomean'])} {fmt_ratio(r_min['overlap_geomean'])}"
            met = "met" if r["target_met"] else "missed"
            print(f"{name:10} {r['ours']:17} {r['peer']:34} {cells}  >={r['target']:g} {met}")


def print_points(results: dict) -> None:
    print("\nPer solver: rtol -> error / time [ms]")
    for name, res in results.items():
        for lab, pts in res["points"].items():
            cells = " ".join(
                f"{q['rtol']:.0e}:{q['error']:.1e}/{q['time_s'] * 1e3:.3g}"
                if q["success"]
                else f"{q['rtol']:.0e}:FAIL"
                for q in pts
            )
            print(f"{name:10} {lab:24} {cells}")


FAMILY_STYLE = {
    "stepsize": dict(ls="-", lw=2.0),
    "scipy": dict(ls="--", lw=1.0),
    "numbalsoda": dict(ls=":", lw=1.5),
    "diffrax": dict(ls="-.", lw=1.2),
    "cyrk": dict(ls=(0, (3, 1, 1, 1, 1, 1)), lw=1.2),
    "sundials": dict(ls=(0, (5, 2)), lw=1.2),
}


def plot_work_precision(results: dict, path: Path, *, title: str, xlabel: str, ncol=3) -> None:
    """One log-log work-precision panel per problem, a colour per solver label."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    labels = list(dict.fromkeys(lab for res in results.values() for lab in res["points"]))
    cmap = colormaps["tab20"]
    colour = {lab: cmap(i % 20) for i, lab in enumerate(labels)}
    nrow = math.ceil(len(results) / ncol)
    legend_in = 0.25 * math.ceil(len(labels) / 6) + 0.3
    height = 4.0 * nrow + 0.5 + legend_in
    fig = Figure(figsize=(5.0 * ncol, height))
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for ax, (name, res) in zip(axes.flat, results.items()):
        for lab, pts in res["points"].items():
            pts = [q for q in pts if q["success"]]
            if not pts:
                continue
            ax.loglog(
                [q["error"] for q in pts],
                [q["time_s"] for q in pts],
                marker="o",
                ms=3,
                color=colour[lab],
                label=lab,
                **FAMILY_STYLE.get(lab.split()[0], {}),
            )
        clock = next(iter(res["points"].values()))[0].get("clock", "wall")
        ax.set(
            title=f"{name} (n = {res['n']})", xlabel=xlabel, ylabel=f"{clock} time per solve [s]"
        )
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes.flat[len(results) :]:
        ax.axis("off")
    handles = [h for ax in axes.flat for h in ax.get_lines()]
    seen = {}
    for h in handles:
        seen.setdefault(h.get_label(), h)
    fig.legend(list(seen.values()), list(seen), loc="lower center", ncol=6, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, legend_in / height, 1, 1))
    fig.savefig(path, dpi=100)


# --------------------------------------------------------------------------- work-precision run


@dataclass
class WorkPrecisionRun:
    """What a work-precision script (``ode_nonstiff``, ``ode_stiff``) is: its problems, how it
    builds the solvers and measures the error of one problem, its tolerances and its ratios.

    ``tolerances(quick) -> (tols, min_sample_s, repeats)``; ``solvers_for(p)``; ``error_of(p)``
    -> ``error(y_end)``; ``ratios(points) -> dict`` (recomputed by ``--from-json``);
    ``atol_ratio``: pass ``atol = rtol * p.atol_ratio`` (else atol = rtol); ``report(results)``
    prints what the script adds to the tables.
    """

    name: str
    problems: Sequence[str]
    tolerances: Callable[[bool], tuple]
    solvers_for: Callable
    error_of: Callable
    ratios: Callable
    error_measure: str
    title: str
    xlabel: str
    peer_notes: Callable[[], dict]
    optional: Sequence[str] = ()
    atol_ratio: bool = False
    levels: Sequence[float] = ()
    report: Callable[[dict], None] | None = None
    quick_help: str = "reduced run"


def _write_work_precision(run: WorkPrecisionRun, doc: dict, out: Path) -> None:
    print_points(doc["results"])
    print_matched(doc["results"], run.levels)
    if run.report is not None:
        run.report(doc["results"])
    write_json(doc, out / f"{run.name}.json")
    plot_work_precision(doc["results"], out / f"{run.name}.png", title=run.title, xlabel=run.xlabel)
    print(f"\nwrote {out / f'{run.name}.json'} and {out / f'{run.name}.png'}")


def main_work_precision(run: WorkPrecisionRun, argv=None, description: str = "") -> None:
    """The command line of a work-precision script: ``--quick``, ``--out``, ``--from-json``
    (recompute the ratios and redraw the PNG from the stored points), ``--problems``."""
    import argparse

    from stepsize.ode import problems

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help=run.quick_help)
    ap.add_argument("--out", type=Path, default=None, help="output directory")
    ap.add_argument(
        "--from-json",
        action="store_true",
        help="recompute the ratios and redraw the PNG from the points in the JSON in --out",
    )
    choices = (*run.problems, *run.optional)
    ap.add_argument("--problems", nargs="+", default=list(run.problems), choices=choices)
    opts = ap.parse_args(argv)
    tols, min_sample, repeats = run.tolerances(opts.quick)
    out = output_dir(opts.out, opts.quick, run.name)
    if opts.from_json:
        doc = json.loads((out / f"{run.name}.json").read_text())
        for res in doc["results"].values():
            res.update(run.ratios(res["points"]))
        return _write_work_precision(run, doc, out)
    print("peers:", run.peer_notes())
    info = machine_info(("numbalsoda", "CyRK", "diffrax", "jax", "scikit-sundae"))
    start = time.perf_counter()
    results = {}
    for name in opts.problems:
        p = problems.get(name)
        t = time.perf_counter()
        solvers = run.solvers_for(p)
        extra = dict(atol_ratio=p.atol_ratio) if run.atol_ratio else {}
        points = work_precision(
            solvers, tols, run.error_of(p), repeats=repeats, min_sample=min_sample, **extra
        )
        print(f"{name:10} {len(solvers)} solvers, {time.perf_counter() - t:6.1f} s", flush=True)
        results[name] = dict(
            t_span=list(p.t_span), n=int(p.y0.size), **extra, points=points, **run.ratios(points)
        )
    finish_machine_info(info, start)
    doc = dict(
        benchmark=run.name,
        quick=opts.quick,
        machine=info,
        peers=run.peer_notes(),
        ratio="time_peer / time_stepsize at matched error (> 1: stepsize faster)",
        error_measure=run.error_measure,
        tolerances=tols,
        timing=dict(statistic="median", repeats=repeats, min_sample_s=min_sample),
        error_levels=list(run.levels),
        results=results,
    )
    _write_work_precision(run, doc, out)
