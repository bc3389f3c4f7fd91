"""Brouwer's law: the energy error of ``gr15`` over long runs is a random walk (it grows as
t^(1/2)), side by side with REBOUND's IAS15.

An integrator whose truncation error is below the rounding error has an energy error that is a
sum of independent rounding errors, one per step: its root-mean-square over an ensemble grows as
the square root of the number of steps (Brouwer 1937, AJ 46, 149; Rein & Spiegel 2015, fig. 4).
A systematic error would grow linearly instead.

Set-up: the outer Solar System (Hairer, Lubich & Wanner 2006, Table I.2.1), centre-of-mass frame,
``--runs`` copies whose positions differ by relative 1e-12 (different rounding histories), each
integrated to ``--t-end`` days with the default epsilon 1e-9; |dE/E| is read at log-spaced times.
Reported: the RMS over the runs at each time and the slope of log RMS against log t by least
squares over the second half of the decades (the first steps are dominated by the initial
rounding): 0.5 for Brouwer's law, 1.0 for a linear drift.

Usage: ``python benchmarks/nbody_brouwer.py [--runs 8] [--t-end 1e8]``; writes
``nbody_brouwer.json`` and ``nbody_brouwer.png``.  A few minutes.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from stepsize.nbody import Simulation, System, outer_solar_system


def systems(runs):
    base = outer_solar_system().to_com_frame()
    rng = np.random.default_rng(0)
    for _ in range(runs):
        x = base.positions * (1.0 + 1e-12 * rng.standard_normal(base.positions.shape))
        yield System(base.masses, x, base.velocities, base.G)


def ours(system, times):
    sim = Simulation(system, "gr15")
    out = []
    for t in times:
        sim.evolve(t)
        out.append(sim.energy_error)
    return out


def rebound_ias15(system, times):
    import rebound

    sim = rebound.Simulation()
    sim.G = system.G
    for m, x, v in zip(system.masses, system.positions, system.velocities, strict=True):
        sim.add(m=m, x=x[0], y=x[1], z=x[2], vx=v[0], vy=v[1], vz=v[2])
    sim.integrator = "ias15"
    e0 = sim.energy()
    out = []
    for t in times:
        sim.integrate(t, exact_finish_time=1)
        out.append(abs((sim.energy() - e0) / e0))
    return out


def slope(times, rms):
    half = times >= np.sqrt(times[0] * times[-1])
    return float(np.polyfit(np.log10(times[half]), np.log10(rms[half]), 1)[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--t-end", type=float, default=1e8)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    times = np.logspace(3, np.log10(args.t_end), 16)
    sides = {"stepsize gr15": ours}
    try:
        import rebound  # noqa: F401

        sides["REBOUND ias15"] = rebound_ias15
    except ImportError:
        print("rebound is not installed: stepsize only")
    report = dict(
        problem="outer_solar_system",
        runs=args.runs,
        times=times.tolist(),
        machine=dict(platform=platform.platform(), python=platform.python_version()),
        sides={},
    )
    for name, fn in sides.items():
        start = time.process_time()
        errors = np.array([fn(s, times) for s in systems(args.runs)])
        rms = np.sqrt(np.mean(errors**2, axis=0))
        report["sides"][name] = dict(
            rms=rms.tolist(),
            errors=errors.tolist(),
            slope=slope(times, rms),
            cpu_s=time.process_time() - start,
        )
        print(f"{name}: RMS |dE/E| {rms[-1]:.2e} at t = {times[-1]:.0e} days, "
              f"slope {report['sides'][name]['slope']:.2f} (Brouwer: 0.5)")  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "nbody_brouwer.json").write_text(json.dumps(report, indent=2))
    plot(report, out / "nbody_brouwer.png")
    return 0


def plot(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.array(report["times"])
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for name, side in report["sides"].items():
        rms = np.array(side["rms"])
        ax.loglog(t, rms, "o-", label=f"{name} (slope {side['slope']:.2f})", ms=4)
    ref = np.array(report["sides"]["stepsize gr15"]["rms"])[-1] * np.sqrt(t / t[-1])
    ax.loglog(t, ref, "k:", label="t^(1/2) (Brouwer's law)")
    ax.set_xlabel("t [days]")
    ax.set_ylabel(f"RMS |dE/E| over {report['runs']} runs")
    ax.set_title("Outer Solar System, epsilon 1e-9")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
