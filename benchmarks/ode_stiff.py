"""Work-precision benchmark of stepsize's stiff solvers against SciPy and numbalsoda.

What is measured
----------------
Problems: ROBER, HIRES, VDPOL (mu = 1e3), OREGO, E5, POLLU and the 1-D Brusselator with
diffusion (400 equations, banded) from ``stepsize.ode.problems``, with the Test Set's
reference values.  For every ``rtol`` in 1e-3 .. 1e-10 (``atol = atol_ratio * rtol``, the
problem's ratio: 1e-4 for ROBER/HIRES/POLLU, 1e-20 for E5, 1 otherwise) each solver integrates
the problem once; we record

* error: the Test Set's mixed error ``max_i |y_i - y_ref_i| / (atol_ratio + |y_ref_i|)`` at
  ``t_end`` (``-log10`` of it is *mescd*, "mixed error significant correct digits"),
* time: wall time of one solve, the median of 5 samples (1 when a solve takes > 1 s) after a
  warm-up, each sample running the solve back to back for >= ~20 ms, the samples of all solvers
  at one tolerance interleaved (garbage collection off while timing, as ``timeit``),
* nfev / njev as the solvers report them.

Solvers, all with finite-difference Jacobians (nobody gets ``jac``): stepsize ``auto``,
``rosenbrock23`` (rtol >= 1e-6), ``rodas4`` and ``radau`` (Numba-compiled ``fun``, the whole
loop compiled); SciPy ``solve_ivp`` with ``LSODA``, ``Radau`` and ``BDF`` given the plain Python
``fun``; numbalsoda ``lsoda`` with a ``numba.cfunc`` right-hand side (when importable).  On the
Brusselator everyone is told the band: stepsize ``jac_band=(2, 2)``, LSODA ``lband = uband =
2``, Radau/BDF ``jac_sparsity`` (numbalsoda has no band option and factors 400 x 400).

Ratios (``time_peer / time_stepsize``, > 1: stepsize faster) at matched error: each solver's
points are reduced to their Pareto front, ``log time`` is interpolated in ``log error`` (never
extrapolated) and the curves are compared at errors 1e-4, 1e-6, 1e-8 and as the geometric mean
over their common range ("overlap").  Pairs: the fastest stepsize method against the fastest
SciPy method (target >= 20) and against numbalsoda's LSODA (target >= 1), and same-algorithm
pairs stepsize radau / SciPy Radau and stepsize auto / SciPy LSODA.

Usage: ``python benchmarks/ode_stiff.py [--quick] [--out DIR]``; writes ``ode_stiff.json``
(all points, ratio tables, machine info) and ``ode_stiff.png`` to ``DIR`` (default
``benchmarks/results``; with ``--quick`` a temporary directory: 3 tolerances, 3 repeats).
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
from scipy.sparse import diags

from stepsize.ode import problems, solve
from stepsize.ode.problems import mixed_error

PROBLEMS = ("rober", "hires", "vdpol", "orego", "e5", "pollu", "bruss1d")
STEPSIZE = ("auto", "rosenbrock23", "rodas4", "radau")
SCIPY = ("LSODA", "Radau", "BDF")
ROSENBROCK23_LOOSEST = 1e-6
ERROR_LEVELS = (1e-4, 1e-6, 1e-8)
PAIRS = (  # (ours, peer, target); "best": the fastest of a family at each error
    ("stepsize best", "scipy best", 20.0),
    ("stepsize best", "numbalsoda lsoda", 1.0),
    ("stepsize radau", "scipy Radau", 20.0),
    ("stepsize auto", "scipy LSODA", 20.0),
)

try:
    import numba
    from numbalsoda import lsoda as nb_lsoda
    from numbalsoda import lsoda_sig

    NUMBALSODA_NOTE = f"numbalsoda {metadata.version('numbalsoda')}"
except (ImportError, OSError) as exc:
    nb_lsoda = None
    NUMBALSODA_NOTE = f"numbalsoda not available ({exc}); its curve is skipped"


def stepsize_solver(p, method):
    def run(rtol):
        r = solve(
            p.fun,
            p.t_span,
            p.y0,
            method=method,
            rtol=rtol,
            atol=rtol * p.atol_ratio,
            args=p.args,
            jac_band=p.jac_band,
            max_steps=10**6,
        )
        return r.y[:, -1], r.success, r.nfev, r.njev

    return run


def _band_sparsity(n, kl, ku):
    return diags([np.ones(n - abs(k)) for k in range(-kl, ku + 1)], list(range(-kl, ku + 1)))


def scipy_solver(p, method):
    extra = {}
    if p.jac_band is not None:
        kl, ku = p.jac_band
        if method == "LSODA":
            extra = dict(lband=kl, uband=ku)
        else:
            extra = dict(jac_sparsity=_band_sparsity(p.y0.size, kl, ku))

    def run(rtol):
        r = solve_ivp(
            p.fun,
            p.t_span,
            p.y0,
            method=method,
            rtol=rtol,
            atol=rtol * p.atol_ratio,
            args=p.args,
            **extra,
        )
        return r.y[:, -1], r.success, r.nfev, r.njev

    return run


def numbalsoda_solver(p):
    f, args, n = numba.njit(p.fun), p.args, p.y0.size

    @numba.cfunc(lsoda_sig)
    def rhs(t, u_, du, data):
        v = f(t, numba.carray(u_, (n,)), *args)
        for i in range(n):
            du[i] = v[i]

    t_eval, data = np.array(p.t_span), np.zeros(1)

    def run(rtol):
        usol, ok = nb_lsoda(
            rhs.address, p.y0, t_eval, data, rtol=rtol, atol=rtol * p.atol_ratio, mxstep=10**7
        )
        return usol[-1], ok, None, None

    return run


def solvers_for(p):
    out = {f"stepsize {m}": stepsize_solver(p, m) for m in STEPSIZE}
    out.update({f"scipy {m}": scipy_solver(p, m) for m in SCIPY})
    if nb_lsoda is not None:
        out["numbalsoda lsoda"] = numbalsoda_solver(p)
    return out


def measure(p, solvers, tols, min_sample, repeats):
    """Error and median time per solve of every solver at every tolerance (samples interleaved)."""
    for run in solvers.values():
        run(tols[0])  # warm-up: compilation of fun / cfunc
    points = {label: [] for label in solvers}
    for rtol in tols:
        plan = {}
        for label, run in solvers.items():
            if label == "stepsize rosenbrock23" and rtol < ROSENBROCK23_LOOSEST:
                continue
            t = time.perf_counter()
            y_end, ok, nfev, njev = run(rtol)
            first = time.perf_counter() - t
            finite = bool(np.all(np.isfinite(y_end)))
            q = dict(
                rtol=rtol,
                atol=rtol * p.atol_ratio,
                success=bool(ok) and finite,
                error=mixed_error(p, y_end) if finite else math.inf,
                nfev=None if nfev is None else int(nfev),
                njev=None if njev is None else int(njev),
                calls_per_sample=max(1, math.ceil(min_sample / first)),
                samples_s=[first] if first > 1.0 else [],
            )
            plan[label] = (run, 0 if first > 1.0 else repeats, q)  # a slow solve: one sample
        gc.disable()
        try:
            for r in range(repeats):
                for run, n, q in plan.values():
                    if r < n:
                        t = time.perf_counter()
                        for _ in range(q["calls_per_sample"]):
                            run(rtol)
                        q["samples_s"].append((time.perf_counter() - t) / q["calls_per_sample"])
        finally:
            gc.enable()
        for label, (_, _, q) in plan.items():
            q["time_s"] = statistics.median(q["samples_s"])
            q["time_min_s"] = min(q["samples_s"])
            points[label].append(q)
    return points


def front(points, key="time_s"):
    """Pareto front (log error, log time) of the successful points, error decreasing."""
    pts = sorted((q[key], q["error"]) for q in points if q["success"] and q["error"] > 0)
    out, best = [], math.inf
    for t, e in pts:
        if e < best:
            out.append((math.log(e), math.log(t)))
            best = e
    return out


def time_at(fr, error):
    if not fr:
        return math.nan
    xs, ys = [x for x, _ in fr][::-1], [y for _, y in fr][::-1]
    le = math.log(error)
    if le < xs[0] or le > xs[-1]:
        return math.nan
    return math.exp(float(np.interp(le, xs, ys)))


def curves_of(curves, name):
    family, method = name.split(" ", 1)
    return [
        fr
        for lab, fr in curves.items()
        if lab == name or (method == "best" and lab.startswith(family + " "))
    ]


def curve_time(curves, name, error):
    times = [time_at(fr, error) for fr in curves_of(curves, name)]
    times = [t for t in times if not math.isnan(t)]
    return min(times) if times else math.nan


def matched_ratios(points_by_label, key="time_s"):
    curves = {lab: front(pts, key) for lab, pts in points_by_label.items()}
    rows = []
    for ours, peer, target in PAIRS:
        if not curves_of(curves, peer):
            continue
        at = {}
        for level in ERROR_LEVELS:
            ratio = curve_time(curves, peer, level) / curve_time(curves, ours, level)
            at[f"{level:.0e}"] = None if math.isnan(ratio) else ratio
        ranges = [[x for fr in curves_of(curves, name) for x, _ in fr] for name in (ours, peer)]
        lo = max(min(r) for r in ranges) if all(ranges) else math.inf
        hi = min(max(r) for r in ranges) if all(ranges) else -math.inf
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


def machine_info():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model"))
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
        f"{'problem':8} {'stepsize':15} {'peer':17} "
        + " ".join(f"{x:>7}" for x in levels)
        + "  overlap  ovl(min)  target"
    )
    for name, res in results.items():
        for r, r_min in zip(res["matched_error"], res["matched_error_min"]):
            cells = " ".join(fmt(r["at_error"][x]) for x in levels)
            cells += f"  {fmt(r['overlap_geomean'])}  {fmt(r_min['overlap_geomean']):>8}"
            met = "met" if r["target_met"] else "MISSED"
            print(f"{name:8} {r['ours']:15} {r['peer']:17} {cells}  >={r['target']:g} {met}")
    print("\nPer solver: rtol -> mixed error, time [ms]")
    for name, res in results.items():
        for lab, pts in res["points"].items():
            cells = " ".join(
                f"{q['rtol']:.0e}:{q['error']:.1e}/{q['time_s'] * 1e3:.3g}"
                if q["success"]
                else f"{q['rtol']:.0e}:FAIL"
                for q in pts
            )
            print(f"{name:8} {lab:22} {cells}")


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"stepsize": "-", "scipy": "--", "numbalsoda": ":"}
    ncol = 4
    nrow = math.ceil(len(results) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 4.2 * nrow), squeeze=False)
    for ax, (name, res) in zip(axes.flat, results.items()):
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
        ax.set(
            title=f"{name} (n = {res['n']})",
            xlabel="mixed error at t_end",
            ylabel="wall time per solve [s]",
        )
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes.flat[len(results) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", ncol=2, fontsize=9, bbox_to_anchor=(0.98, 0.05))
    fig.suptitle(
        "Stiff work-precision: stepsize vs SciPy solve_ivp and numbalsoda "
        "(finite-difference Jacobians)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reduced run")
    ap.add_argument("--out", type=Path, default=None, help="output directory")
    opts = ap.parse_args(argv)
    if opts.quick:
        tols, min_sample, repeats = [1e-4, 1e-6, 1e-8], 0.01, 3
        out = opts.out or Path(tempfile.mkdtemp(prefix="ode_stiff_"))
    else:
        tols, min_sample, repeats = [float(10.0**-x) for x in range(3, 11)], 0.02, 5
        out = opts.out or Path(__file__).resolve().parent / "results"
    out.mkdir(parents=True, exist_ok=True)
    print(NUMBALSODA_NOTE)
    info, start = machine_info(), time.perf_counter()
    results = {}
    for name in PROBLEMS:
        p = problems.get(name)
        t = time.perf_counter()
        points = measure(p, solvers_for(p), tols, min_sample, repeats)
        print(f"{name:8} {len(points)} solvers, {time.perf_counter() - t:6.1f} s", flush=True)
        results[name] = dict(
            t_span=list(p.t_span),
            n=int(p.y0.size),
            atol_ratio=p.atol_ratio,
            points=points,
            matched_error=matched_ratios(points),
            matched_error_min=matched_ratios(points, "time_min_s"),
        )
    info.update(load_average_end=os.getloadavg(), total_seconds=time.perf_counter() - start)
    print_tables(results)
    doc = dict(
        benchmark="ode_stiff",
        quick=opts.quick,
        machine=info,
        numbalsoda=NUMBALSODA_NOTE,
        error_measure="max_i |y_i - y_ref_i| / (atol_ratio + |y_ref_i|) at t_end",
        tolerances=tols,
        timing=dict(statistic="median", repeats=repeats, min_sample_s=min_sample),
        error_levels=list(ERROR_LEVELS),
        results=results,
    )
    (out / "ode_stiff.json").write_text(json.dumps(doc, indent=1))
    plot(results, out / "ode_stiff.png")
    print(f"\nwrote {out / 'ode_stiff.json'} and {out / 'ode_stiff.png'}")


if __name__ == "__main__":
    main()
