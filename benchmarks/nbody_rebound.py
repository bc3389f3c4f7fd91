"""stepsize.nbody ``gr15`` and ``wh`` against REBOUND's IAS15 and WHFast, side by side.

Problems (issue 13)
-------------------
* ``outer_solar_system``: the Sun, the giant planets and Pluto (Hairer, Lubich & Wanner 2006,
  Table I.2.1; REBOUND's ``examples/outer_solar_system``), centre-of-mass frame, t = 1e6 days.
  stepsize ``wh`` (Jacobi, correctors 0 / 3 / 5 / 11, dt 400 .. 6.25 days) and ``gr15``;
  REBOUND WHFast (``safe_mode=0``, Jacobi, the same correctors and steps, whole steps:
  ``exact_finish_time=0``) and IAS15.  Levels 1e-6 .. 1e-11 and 1e-15.
* ``pythagorean``: Burrau's problem to t = 70: ``gr15`` and IAS15, epsilon 1e-9 .. 1e-13,
  KS-regularised ``dop853`` and ``archain`` (chain regularisation).  Levels 1e-8 .. 1e-14;
  where IAS15 reaches no setting of a level, ``ratio_vs_most_accurate`` compares with its
  most accurate run.
* ``kepler_e099``: a binary of equal masses, e = 0.99, ten orbits: ``gr15`` and IAS15.
  Levels 1e-12 .. 1e-14.
* ``kepler_e09999``: the same binary with e = 0.9999 (pericentre 1e-4), ten orbits: ``gr15``,
  KS-regularised ``dop853`` (``regularize="ks"``) and IAS15.  Levels 1e-8 .. 1e-13 (the
  run ends at a pericentre, where |dE/E| of a Cartesian state amplifies its error 2e4-fold).
* ``figure_eight``: Chenciner & Montgomery's orbit for one period; the error measured is the
  return error max |x(T) - x(0)| (its 8-digit initial conditions limit it to ~4e-8).

Energy errors are those of the final float64 state, evaluated (with the initial energy) in
40-digit decimal arithmetic for both codes, so that the measurement adds no rounding of its own;
``error_plain`` is |dE/E| as each code reports it (double sums); the measurement is not timed.
Every run is timed in full (building the simulation included), the median of ``--repeats``
samples after an untimed warm-up, the samples of all settings interleaved round by round, the
garbage collector off while timing.  Both the process CPU time and the wall time are recorded;
the ratios use the CPU time, which the other jobs of a shared machine disturb far less (both
sides run single-threaded in this one process), and the wall-time ratios are reported too.
At each level the fastest setting of each side that reaches it is compared:
ratio = time(stepsize) / time(REBOUND), below 1 stepsize is faster.
The error of a single run is not monotonic in the step (WH's energy error oscillates, a random
walk at machine precision), hence "fastest setting reaching the level".

Usage: ``python benchmarks/nbody_rebound.py [--repeats 5] [--out DIR] [--problems a,b]``
(``--problems``: comma-separated names, default all; needs ``rebound``, the ``bench`` extra);
writes ``nbody_rebound.json`` and ``nbody_rebound.png``.  About a minute.
"""

import argparse
import decimal
import gc
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from stepsize.nbody import (
    FIGURE_EIGHT_PERIOD,
    figure_eight,
    integrate,
    kepler,
    outer_solar_system,
    pythagorean,
)

WH_STEPS = (400.0, 200.0, 100.0, 50.0, 25.0, 12.5, 6.25)
CORRECTORS = (0, 3, 5, 11)
KEPLER_PERIOD = 2 * math.pi / math.sqrt(2.0)


def problems():
    oss = outer_solar_system().to_com_frame()
    eps = (1e-9, 1e-10, 1e-11, 1e-12, 1e-13)
    return {
        "outer_solar_system": dict(
            system=oss,
            t_end=1e6,
            measure="energy",
            levels=(1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-15),
            ours=[("gr15", {})]
            + [("wh", dict(dt=dt, corrector=c)) for c in CORRECTORS for dt in WH_STEPS],
            peers=[("ias15", {})]
            + [("whfast", dict(dt=dt, corrector=c)) for c in CORRECTORS for dt in WH_STEPS],
        ),
        "pythagorean": dict(
            system=pythagorean(),
            t_end=70.0,
            measure="energy",
            levels=(1e-8, 1e-10, 1e-11, 1e-12, 1e-13, 1e-14),
            ours=[("gr15", dict(epsilon=e)) for e in eps]
            + [("dop853", dict(rtol=r, regularize="ks")) for r in (1e-10, 1e-12, 1e-13, 3e-14)]
            + [("archain", dict(rtol=r)) for r in (1e-10, 1e-12, 1e-14)],
            peers=[("ias15", dict(epsilon=e)) for e in eps],
        ),
        "kepler_e099": dict(
            system=kepler(e=0.99, ndim=3),
            t_end=10 * KEPLER_PERIOD,
            measure="energy",
            levels=(1e-12, 1e-13, 1e-14),
            ours=[("gr15", dict(epsilon=e)) for e in (1e-7, 1e-8, 1e-9)],
            peers=[("ias15", dict(epsilon=e)) for e in (1e-7, 1e-8, 1e-9)],
        ),
        "kepler_e09999": dict(
            system=kepler(e=0.9999, ndim=3),
            t_end=10 * KEPLER_PERIOD,
            measure="energy",
            levels=(1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13),
            ours=[("gr15", dict(epsilon=e)) for e in (1e-8, 1e-9)]
            + [("dop853", dict(rtol=r, regularize="ks")) for r in (1e-10, 1e-12, 1e-13, 3e-14)],
            peers=[("ias15", dict(epsilon=e)) for e in (1e-8, 1e-9)],
        ),
        "figure_eight": dict(
            system=figure_eight(),
            t_end=FIGURE_EIGHT_PERIOD,
            measure="return",
            levels=(1e-7, 5e-8),
            ours=[("gr15", dict(epsilon=e)) for e in (1e-6, 1e-7, 1e-8, 1e-9)],
            peers=[("ias15", dict(epsilon=e)) for e in (1e-6, 1e-7, 1e-8, 1e-9)],
        ),
    }


def exact_energy(masses, pos, vel, G):
    """The energy of the float64 state evaluated in 40-digit decimal arithmetic, so that the
    measurement adds no rounding of its own (near a pericentre of the e = 0.99 binary the
    kinetic and potential energies are 200 times the total: double sums resolve only
    ~3e-14 of it)."""
    with decimal.localcontext() as ctx:
        ctx.prec = 40
        m = [decimal.Decimal(float(x)) for x in masses]
        x = [[decimal.Decimal(float(c)) for c in row] for row in pos]
        v = [[decimal.Decimal(float(c)) for c in row] for row in vel]
        energy = sum(mi * sum(c * c for c in vi) / 2 for mi, vi in zip(m, v, strict=True))
        for i in range(len(m)):
            for j in range(i + 1, len(m)):
                r2 = sum((a - b) ** 2 for a, b in zip(x[i], x[j], strict=True))
                energy -= decimal.Decimal(G) * m[i] * m[j] / r2.sqrt()
        return energy


def measured(problem, pos, vel, plain):
    """(error, plain error): the return error max |x(T) - x(0)|, or |dE/E| from
    ``exact_energy`` (and as each code reports it)."""
    system = problem["system"]
    if problem["measure"] == "return":
        return float(np.abs(pos - system.positions).max()), None
    e0 = exact_energy(system.masses, system.positions, system.velocities, system.G)
    e1 = exact_energy(system.masses, pos, vel, system.G)
    return float(abs((e1 - e0) / e0)), plain


def run_ours(problem, method, options, measure=True):
    """One run; its errors unless ``measure`` is False (the timed runs measure nothing)."""
    system = problem["system"]
    r = integrate(system, problem["t_end"], method, **options)
    if not measure:
        return None
    err, plain = measured(problem, r.system.positions, r.system.velocities, r.energy_error)
    if not r.success:
        err = math.inf
    return dict(error=err, error_plain=plain, steps=r.steps, t=r.t, status=r.status)


def run_rebound(problem, method, options, measure=True):
    import rebound

    system = problem["system"]
    sim = rebound.Simulation()
    sim.G = system.G
    for m, x, v in zip(system.masses, system.positions, system.velocities, strict=True):
        x, v = list(x) + [0.0] * (3 - x.size), list(v) + [0.0] * (3 - v.size)
        sim.add(m=m, x=x[0], y=x[1], z=x[2], vx=v[0], vy=v[1], vz=v[2])
    sim.integrator = method
    exact = 1
    if method == "ias15":
        sim.integrator.epsilon = options.get("epsilon", 1e-9)
    else:
        sim.dt = options["dt"]
        sim.integrator.safe_mode = 0
        sim.integrator.corrector = options["corrector"]
        sim.integrator.coordinates = "jacobi"
        exact = 0  # whole steps, as a symplectic map wants (stepsize's wh does the same)
    e0 = sim.energy()
    sim.integrate(problem["t_end"], exact_finish_time=exact)
    if method == "whfast":
        sim.synchronize()
    if not measure:
        return None
    pos = np.array([[p.x, p.y, p.z][: system.ndim] for p in sim.particles])
    vel = np.array([[p.vx, p.vy, p.vz][: system.ndim] for p in sim.particles])
    err, plain = measured(problem, pos, vel, abs((sim.energy() - e0) / e0))
    return dict(error=err, error_plain=plain, steps=int(sim.steps_done), t=sim.t, status="done")


def timed(fn, *args):
    """(CPU seconds, wall seconds) of one call."""
    gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        fn(*args)
        return time.process_time() - cpu, time.perf_counter() - wall
    finally:
        gc.enable()


def fastest(rows, level, peer, key="cpu_s"):
    ok = [r for r in rows if r["peer"] == peer and r["error"] <= level]
    return min(ok, key=lambda r: r[key]) if ok else None


def compare(rows, levels):
    out = {}
    for level in levels:
        ours, theirs = fastest(rows, level, "stepsize"), fastest(rows, level, "rebound")

        def brief(r):
            return r and {k: r[k] for k in ("method", "options", "cpu_s", "wall_s", "error")}

        ours_wall = fastest(rows, level, "stepsize", "wall_s")
        theirs_wall = fastest(rows, level, "rebound", "wall_s")
        # where REBOUND does not reach the level: its most accurate run, for the time
        peer_rows = [r for r in rows if r["peer"] == "rebound"]
        closest = min(peer_rows, key=lambda r: (r["error"], r["cpu_s"])) if peer_rows else None
        out[f"{level:g}"] = dict(
            stepsize=brief(ours),
            rebound=brief(theirs),
            rebound_most_accurate=None if theirs else brief(closest),
            ratio_vs_most_accurate=(
                ours["cpu_s"] / closest["cpu_s"] if ours and closest and not theirs else None
            ),
            ratio=ours["cpu_s"] / theirs["cpu_s"] if ours and theirs else None,
            ratio_wall=(
                ours_wall["wall_s"] / theirs_wall["wall_s"] if ours_wall and theirs_wall else None
            ),
        )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument(
        "--problems", default="all", help="comma-separated problem names (default all)"
    )
    args = parser.parse_args(argv)
    import rebound

    probs = problems()
    if args.problems != "all":
        names = args.problems.split(",")
        unknown = sorted(set(names) - set(probs))
        if unknown:
            parser.error(f"unknown problems {unknown}; known: {sorted(probs)}")
        probs = {name: probs[name] for name in names}
    jobs = []
    for name, p in probs.items():
        jobs += [(name, "stepsize", m, o, run_ours) for m, o in p["ours"]]
        jobs += [(name, "rebound", m, o, run_rebound) for m, o in p["peers"]]
    results = [fn(probs[name], m, o) for name, _, m, o, fn in jobs]  # warm-up, compiles
    samples = [[] for _ in jobs]
    loads = [os.getloadavg()[0]]  # the 1-minute load average before each round and at the end
    for _ in range(args.repeats):
        for k, (name, _, m, o, fn) in enumerate(jobs):
            samples[k].append(timed(fn, probs[name], m, o, False))
        loads.append(os.getloadavg()[0])
    report = dict(
        repeats=args.repeats,
        rebound=rebound.__version__,
        machine=dict(
            platform=platform.platform(),
            python=platform.python_version(),
            cores=os.cpu_count(),
            load_average_1min_per_round=loads,
        ),
        ratio="CPU time(stepsize) / CPU time(REBOUND), the fastest setting of each reaching the "
        "level (ratio_wall: the same with wall times)",
        problems={},
    )
    for name, p in probs.items():
        rows = [
            dict(
                peer=who,
                method=m,
                options=o,
                cpu_s=statistics.median(c for c, _ in s),
                wall_s=statistics.median(w for _, w in s),
                samples_cpu=[c for c, _ in s],
                samples_wall=[w for _, w in s],
                **res,
            )
            for (pname, who, m, o, _), res, s in zip(jobs, results, samples, strict=True)
            if pname == name
        ]
        report["problems"][name] = dict(
            t_end=p["t_end"], measure=p["measure"], rows=rows, levels=compare(rows, p["levels"])
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "nbody_rebound.json").write_text(json.dumps(report, indent=2))
    plot(report, out / "nbody_rebound.png")
    for name, p in report["problems"].items():
        print(f"== {name} (t = {p['t_end']:g}, {p['measure']} error)")
        for level, q in p["levels"].items():
            ours, theirs = q["stepsize"], q["rebound"]

            def show(r):
                if not r:
                    return "not reached"
                return f"{r['method']} {json.dumps(r['options'])} {1e3 * r['cpu_s']:.2f} ms"

            ratio = "–" if q["ratio"] is None else f"{q['ratio']:.2f}"
            if q["ratio_wall"] is not None:
                ratio += f" (wall {q['ratio_wall']:.2f})"
            print(f"  <= {level:6}: stepsize {show(ours):42} REBOUND {show(theirs):42} {ratio}")
    return 0


def plot(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(16, 8.5))
    for ax in axes.flat[len(report["problems"]) :]:
        ax.set_visible(False)
    for ax, (name, p) in zip(axes.flat, report["problems"].items(), strict=False):
        groups = {}
        for r in p["rows"]:
            key = (
                r["peer"],
                r["method"],
                r["options"].get("corrector"),
                r["options"].get("regularize"),
            )
            groups.setdefault(key, []).append(r)
        for (peer, method, corr, reg), rows in sorted(groups.items(), key=str):
            label = f"{peer} {method}" + ("" if corr is None else f" corr {corr}")
            label += f" ({reg.upper()})" if reg else ""
            rows = sorted(rows, key=lambda r: r["cpu_s"])
            err = [max(r["error"], 1e-17) for r in rows]
            style = "o-" if peer == "stepsize" else "s--"
            ax.loglog([1e3 * r["cpu_s"] for r in rows], err, style, label=label, ms=4)
        ax.set_title(f"{name} (t = {p['t_end']:g})")
        ax.set_xlabel("CPU time per run [ms] (errors 0 drawn at 1e-17)")
        ax.set_ylabel("|dE/E|" if p["measure"] == "energy" else "return error")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle(f"stepsize.nbody vs REBOUND {report['rebound']} (median of {report['repeats']})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
