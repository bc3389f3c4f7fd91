"""Work-precision benchmark of stepsize's explicit Runge-Kutta solvers against SciPy and numbalsoda.

What is measured
----------------
Problems: Arenstorf orbit, Lorenz (t in [0, 16]) and Pleiades from ``stepsize.ode.problems``.
For every tolerance ``rtol = atol`` in 1e-4 .. 1e-12 (half decades; ``atol = rtol`` because all
three problems have components of order one) each solver integrates the problem once and we record

* error: ``max_i |y_i(t_end) - y_ref_i|``, the max-abs error at the end point against the
  problem's high-accuracy reference (``y_ref`` is good to <= 2e-15),
* time: wall time of one full solve, the median of 7 samples (3 when one solve takes > 1 s)
  after a warm-up; each sample runs the solve ``k`` times back to back, ``k`` chosen from an
  untimed first call so a sample lasts >= ~25 ms; the samples of all solvers at one tolerance are
  interleaved so that load from other processes hits every curve alike (garbage collection off
  while timing, as in ``timeit``; all samples are kept in the JSON),
* nfev (for numbalsoda counted in a separate, untimed run with a counting right-hand side).

Solvers: stepsize ``dp5``, ``tsit5``, ``dop853``, ``vern7`` and ``bs3`` (bs3 only for
rtol >= 1e-8); SciPy ``solve_ivp`` with ``RK45`` and ``DOP853``, given the same plain Python
``fun`` (stepsize compiles it with Numba, SciPy calls it from Python); numbalsoda ``dop853`` and
``lsoda`` with a ``numba.cfunc`` right-hand side wrapping the same (njit-compiled) ``fun``, the
standard numbalsoda usage, when numbalsoda is importable (it is optional and skipped with a note
otherwise). stepsize and SciPy return every step (their default, no ``t_eval``); numbalsoda
returns the solution at ``[t0, t_end]``.

Ratios (``time_peer / time_stepsize``: > 1 means stepsize is faster)
--------------------------------------------------------------------
* matched error: each solver's points are reduced to their Pareto front (a point is kept if it is
  more accurate than every faster point), ``log(time)`` is interpolated linearly in ``log(error)``
  along it, never extrapolated, and the two curves are compared at errors 1e-3, 1e-6, 1e-9 and as
  the geometric mean over their common error range ("overlap"). Pairs: the same method (stepsize
  dp5 / SciPy RK45, stepsize dop853 / SciPy DOP853, stepsize dop853 / numbalsoda dop853) and
  best-vs-best (at each error the fastest stepsize method against the fastest peer method).
  "ovl(min)" repeats the overlap ratio with the fastest sample instead of the median, a check on
  how much load from other processes moved the medians (the targets are judged on medians).
* same tolerance: the plain ratio of times at equal ``rtol`` for the same-method pairs.

Targets reported against: >= 50x faster than ``solve_ivp`` with the same method at matched error,
and no slower than numbalsoda (ratio >= 1); a pair meets its target when every matched-error ratio
it has (levels and overlap) does. Also printed: a fit ``time = overhead + per_fev * nfev`` per
solver (relative least squares over the tolerances), which separates fixed per-call cost from
per-step cost.

Usage: ``python benchmarks/ode_nonstiff.py [--quick] [--out DIR]``. Writes ``ode_nonstiff.json``
(raw points, ratio tables, machine info) and ``ode_nonstiff.png`` (one work-precision panel per
problem) to ``DIR`` (default ``benchmarks/results``; with ``--quick`` a fresh temporary directory,
so a smoke run never overwrites the full results). ``--quick`` uses 4 tolerances, 3 repeats and
10 ms samples and finishes in well under a minute.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

from stepsize.ode import problems, solve

PROBLEMS = ("arenstorf", "lorenz", "pleiades")
STEPSIZE_METHODS = ("bs3", "dp5", "tsit5", "dop853", "vern7")
BS3_LOOSEST = 1e-8  # bs3 (order 3) only at rtol >= this
ERROR_LEVELS = (1e-3, 1e-6, 1e-9)
SCIPY_TARGET, NUMBALSODA_TARGET = 50.0, 1.0
# (stepsize curve, peer curve, target); "best" curves are lower envelopes over a family
PAIRS = (
    ("stepsize dp5", "scipy RK45", SCIPY_TARGET),
    ("stepsize dop853", "scipy DOP853", SCIPY_TARGET),
    ("stepsize dop853", "numbalsoda dop853", NUMBALSODA_TARGET),
    ("stepsize best", "scipy best", SCIPY_TARGET),
    ("stepsize best", "numbalsoda best", NUMBALSODA_TARGET),
)

try:
    import numba
    from numbalsoda import dop853 as nb_dop853
    from numbalsoda import lsoda as nb_lsoda
    from numbalsoda import lsoda_sig

    NUMBALSODA_NOTE = f"numbalsoda {metadata.version('numbalsoda')}"
except (ImportError, OSError) as exc:  # not installed, or its shared library fails to load
    nb_dop853 = nb_lsoda = None
    NUMBALSODA_NOTE = f"numbalsoda not available ({exc}); its curves are skipped"


# ------------------------------------------------------------------------------------ solvers


def stepsize_solver(p, method):
    def run(tol):
        r = solve(
            p.fun, p.t_span, p.y0, method=method, rtol=tol, atol=tol, args=p.args, max_steps=10**6
        )
        return r.y[:, -1], r.success, r.nfev

    return run


def scipy_solver(p, method):
    def run(tol):
        r = solve_ivp(p.fun, p.t_span, p.y0, method=method, rtol=tol, atol=tol, args=p.args)
        return r.y[:, -1], r.success, r.nfev

    return run


def numbalsoda_solver(p, method):
    """numbalsoda with a cfunc RHS; a second, counting cfunc gives nfev in an untimed run."""
    f, args, n = numba.njit(p.fun), p.args, p.y0.size

    @numba.cfunc(lsoda_sig)
    def rhs(t, u_, du, data):
        v = f(t, numba.carray(u_, (n,)), *args)
        for i in range(n):
            du[i] = v[i]

    @numba.cfunc(lsoda_sig)
    def counting_rhs(t, u_, du, data):
        data[0] += 1.0
        v = f(t, numba.carray(u_, (n,)), *args)
        for i in range(n):
            du[i] = v[i]

    integrate = {"dop853": nb_dop853, "lsoda": nb_lsoda}[method]
    t_eval, data = np.array(p.t_span), np.zeros(1)

    def run(tol):
        usol, ok = integrate(rhs.address, p.y0, t_eval, data, rtol=tol, atol=tol, mxstep=10**6)
        return usol[-1], ok, None

    def count(tol):
        data[0] = 0.0
        integrate(counting_rhs.address, p.y0, t_eval, data, rtol=tol, atol=tol, mxstep=10**6)
        return int(data[0])

    return run, count


def solvers_for(p):
    """``{label: (run, count_nfev or None)}`` for one problem."""
    out = {f"stepsize {m}": (stepsize_solver(p, m), None) for m in STEPSIZE_METHODS}
    out.update({f"scipy {m}": (scipy_solver(p, m), None) for m in ("RK45", "DOP853")})
    if nb_dop853 is not None:
        out.update({f"numbalsoda {m}": numbalsoda_solver(p, m) for m in ("dop853", "lsoda")})
    return out


# ------------------------------------------------------------------------------------ timing


def measure(p, solvers, tols, min_sample, repeats):
    """Error and median time per call of every solver at every tolerance.

    At each tolerance the solvers' samples are interleaved (round r samples every solver once),
    so a burst of load from other processes hits all of them alike rather than one curve.
    """
    for run, _ in solvers.values():
        run(tols[0])  # warm-up: Numba compilation of fun / cfunc / dispatch signatures
    points = {label: [] for label in solvers}
    for tol in tols:
        plan = {}
        for label, (run, count) in solvers.items():
            if label == "stepsize bs3" and tol < BS3_LOOSEST:
                continue
            t = time.perf_counter()
            y_end, ok, nfev = run(tol)
            first = time.perf_counter() - t
            error = float(np.max(np.abs(np.asarray(y_end) - p.y_ref)))
            k = max(1, math.ceil(min_sample / first))  # calls per sample
            n = min(repeats, 3) if first > 1.0 else repeats  # bound very slow SciPy points
            q = dict(
                rtol=tol,
                atol=tol,
                error=error,
                success=bool(ok),
                calls_per_sample=k,
                nfev=count(tol) if count else nfev,
                samples_s=[],
            )
            plan[label] = (run, n, q)
        gc.disable()  # as timeit does
        try:
            for r in range(repeats):
                for run, n, q in plan.values():
                    if r < n:
                        t = time.perf_counter()
                        for _ in range(q["calls_per_sample"]):
                            run(tol)
                        q["samples_s"].append((time.perf_counter() - t) / q["calls_per_sample"])
        finally:
            gc.enable()
        for label, (_, _, q) in plan.items():
            q["time_s"] = statistics.median(q["samples_s"])
            q["time_min_s"] = min(q["samples_s"])
            points[label].append(q)
    return points


# ------------------------------------------------------------------------------------ ratios


def front(points, key="time_s"):
    """Pareto front of successful points: (log error, log time), error decreasing."""
    pts = sorted((q[key], q["error"]) for q in points if q["success"] and q["error"] > 0)
    out, best = [], math.inf
    for t, e in pts:
        if e < best:
            out.append((math.log(e), math.log(t)))
            best = e
    return out


def time_at(fr, error):
    """Interpolated time to reach ``error`` along a front; NaN outside its error range."""
    if not fr:
        return math.nan
    le = math.log(error)
    xs, ys = [x for x, _ in fr][::-1], [y for _, y in fr][::-1]  # increasing log error
    if le < xs[0] or le > xs[-1]:
        return math.nan
    return math.exp(float(np.interp(le, xs, ys)))


def curve_time(curves, name, error):
    """Time at ``error`` for a solver label, or the fastest of a family for '<family> best'."""
    family, method = name.split(" ", 1)
    if method != "best":
        return time_at(curves.get(name, []), error)
    times = [time_at(fr, error) for lab, fr in curves.items() if lab.startswith(family + " ")]
    times = [t for t in times if not math.isnan(t)]
    return min(times) if times else math.nan


def error_range(curves, name):
    family, method = name.split(" ", 1)
    frs = [
        fr
        for lab, fr in curves.items()
        if lab == name or (method == "best" and lab.startswith(family + " "))
    ]
    logs = [x for fr in frs for x, _ in fr]
    return (min(logs), max(logs)) if logs else (math.nan, math.nan)


def matched_ratios(points_by_label, key="time_s"):
    curves = {lab: front(pts, key) for lab, pts in points_by_label.items()}
    rows = []
    for ours, peer, target in PAIRS:
        if peer not in curves and not any(lab.startswith(peer.split()[0]) for lab in curves):
            continue
        at = {}
        for level in ERROR_LEVELS:
            ratio = curve_time(curves, peer, level) / curve_time(curves, ours, level)
            at[f"{level:.0e}"] = None if math.isnan(ratio) else ratio
        lo = max(error_range(curves, ours)[0], error_range(curves, peer)[0])
        hi = min(error_range(curves, ours)[1], error_range(curves, peer)[1])
        logs = (
            [
                math.log(curve_time(curves, peer, e) / curve_time(curves, ours, e))
                for e in np.exp(np.linspace(lo, hi, 41))
            ]
            if lo <= hi
            else []
        )
        logs = [v for v in logs if not math.isnan(v)]
        overlap = math.exp(statistics.fmean(logs)) if logs else None
        finite = [v for v in [*at.values(), overlap] if v is not None]
        rows.append(
            dict(
                ours=ours,
                peer=peer,
                target=target,
                at_error=at,
                overlap_geomean=overlap,
                overlap_error_range=[math.exp(lo), math.exp(hi)] if logs else None,
                target_met=bool(finite) and min(finite) >= target,
            )
        )
    return rows


def same_tol_ratios(points_by_label):
    rows = []
    for ours, peer, target in PAIRS:
        if "best" in ours or peer not in points_by_label:
            continue
        theirs = {q["rtol"]: q["time_s"] for q in points_by_label[peer]}
        ratios = {
            f"{q['rtol']:.0e}": theirs[q["rtol"]] / q["time_s"]
            for q in points_by_label[ours]
            if q["rtol"] in theirs
        }
        rows.append(dict(ours=ours, peer=peer, target=target, at_rtol=ratios))
    return rows


def cost_model(points):
    """Fit ``time = overhead + per_fev * nfev`` over a solver's points (relative least squares)."""
    pts = [(q["nfev"], q["time_s"]) for q in points if q["nfev"]]
    if len(pts) < 2:
        return None
    x, y = np.array(pts, dtype=float).T
    slope, intercept = np.polyfit(x, y, 1, w=1.0 / y)  # relative residuals
    return {"overhead_us": intercept * 1e6, "ns_per_fev": slope * 1e9}


# ------------------------------------------------------------------------------------ output


def machine_info():
    cpu = platform.processor()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    versions = {}
    for pkg in ("numpy", "scipy", "numba", "stepsize", "numbalsoda"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return dict(
        platform=platform.platform(),
        cpu=cpu,
        cpu_count=os.cpu_count(),
        python=sys.version.split()[0],
        versions=versions,
        load_average_start=os.getloadavg(),
    )


def fmt(v):
    return f"{'-':>7}" if v is None else f"{v:7.1f}" if v < 1000 else f"{v:7.0f}"


def print_tables(results):
    levels = [f"{e:.0e}" for e in ERROR_LEVELS]
    print("\nMatched-error time ratios, time_peer / time_stepsize (> 1: stepsize faster)")
    print(
        f"{'problem':10} {'stepsize':16} {'peer':18} "
        + " ".join(f"{x:>7}" for x in levels)
        + "  overlap  ovl(min)  target"
    )
    for name, res in results.items():
        for r, r_min in zip(res["matched_error"], res["matched_error_min"]):
            cells = " ".join(fmt(r["at_error"][x]) for x in levels)
            cells += f"  {fmt(r['overlap_geomean'])}  {fmt(r_min['overlap_geomean']):>8}"
            met = "met" if r["target_met"] else "MISSED"
            print(f"{name:10} {r['ours']:16} {r['peer']:18} {cells}  >={r['target']:g} {met}")
    print("\nSame-tolerance time ratios, time_peer / time_stepsize")
    for name, res in results.items():
        for r in res["same_tolerance"]:
            cells = " ".join(f"{k}:{v:.1f}" for k, v in r["at_rtol"].items() if _decade(k))
            print(f"{name:10} {r['ours']:16} {r['peer']:18} {cells}")
    print("\nCost model time = overhead + per_fev * nfev (least squares over the tolerances)")
    for name, res in results.items():
        for lab, cm in res["cost_model"].items():
            if cm:
                print(
                    f"{name:10} {lab:18} overhead {cm['overhead_us']:8.1f} us   "
                    f"{cm['ns_per_fev']:7.1f} ns/fev"
                )


def _decade(key):
    return float(key) == 10.0 ** round(math.log10(float(key)))


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"stepsize": "-", "scipy": "--", "numbalsoda": ":"}
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 5.2))
    for ax, (name, res) in zip(np.atleast_1d(axes), results.items()):
        for i, (lab, pts) in enumerate(res["points"].items()):
            pts = [q for q in pts if q["success"]]
            ax.loglog(
                [q["error"] for q in pts],
                [q["time_s"] for q in pts],
                marker="o",
                ms=3,
                ls=styles[lab.split()[0]],
                color=f"C{i}",
                label=lab,
            )
        ax.set(title=name, xlabel="max abs error at t_end", ylabel="wall time per solve [s]")
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8)
    fig.suptitle("Work-precision (rtol = atol = 1e-4 .. 1e-12)")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reduced run (well under a minute)")
    ap.add_argument("--out", type=Path, default=None, help="output directory")
    opts = ap.parse_args(argv)
    if opts.quick:
        tols = [1e-4, 1e-6, 1e-8, 1e-10]
        min_sample, repeats = 0.01, 3
        out = opts.out or Path(tempfile.mkdtemp(prefix="ode_nonstiff_"))
    else:
        tols = [float(10.0**-x) for x in np.arange(4.0, 12.01, 0.5)]
        min_sample, repeats = 0.025, 7
        out = opts.out or Path(__file__).resolve().parent / "results"
    out.mkdir(parents=True, exist_ok=True)
    print(NUMBALSODA_NOTE)
    info, start = machine_info(), time.perf_counter()
    results = {}
    for name in PROBLEMS:
        p = problems.get(name)
        t = time.perf_counter()
        points = measure(p, solvers_for(p), tols, min_sample, repeats)
        print(f"{name:10} {len(points)} solvers, {time.perf_counter() - t:5.1f} s")
        results[name] = dict(
            t_span=list(p.t_span),
            n=int(p.y0.size),
            points=points,
            matched_error=matched_ratios(points),
            matched_error_min=matched_ratios(points, "time_min_s"),
            same_tolerance=same_tol_ratios(points),
            cost_model={lab: cost_model(pts) for lab, pts in points.items()},
        )
    info.update(load_average_end=os.getloadavg(), total_seconds=time.perf_counter() - start)
    print_tables(results)
    doc = dict(
        benchmark="ode_nonstiff",
        quick=opts.quick,
        machine=info,
        numbalsoda=NUMBALSODA_NOTE,
        error_measure="max_i |y_i(t_end) - y_ref_i|",
        tolerances=tols,
        timing=dict(statistic="median", repeats=repeats, min_sample_s=min_sample),
        error_levels=list(ERROR_LEVELS),
        results=results,
    )
    (out / "ode_nonstiff.json").write_text(json.dumps(doc, indent=1))
    plot(results, out / "ode_nonstiff.png")
    print(f"\nwrote {out / 'ode_nonstiff.json'} and {out / 'ode_nonstiff.png'}")


if __name__ == "__main__":
    main()
