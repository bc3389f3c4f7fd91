"""GPU ensembles in one go: the gpu tests, then paper three-body systems and Lorenz initial
values on the CUDA back ends against the CPU ensembles, as JSON.

For a session that has the GPU machine (about 15 minutes of device time in all): run

    python benchmarks/gpu_ensemble.py --out "$OUT"

with a Python that has the project's dependencies and Numba's CUDA target (the built-in
``numba.cuda`` finds the system's CUDA toolkit through CUDA_HOME; ``--install`` pip-installs
``numba-cuda[cu12]`` and ``cupy-cuda12x`` where PyPI is reachable).  A dry run without a GPU, under
the simulator, at tiny sizes (a minute or two, mostly compiling):
``NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu_ensemble.py --smoke --out /some/dir``.  Steps:
  1. the tests marked ``gpu`` (pytest -m gpu tests/test_nbody_ensemble.py
     tests/test_ode_ensemble_cuda.py; not with ``--smoke``);
  2. M = 1e3, 1e4, 1e5, 1e6 ``paper_three_body`` systems to 10 yr, hermite4 (AMUSE, eta 0.03),
     on ``backend="cuda"`` (first call = compile, then the median of ``--repeats``), with the
     useful-lane fractions of ``stats`` and the device memory per system (the arrays
     ``_cuda.run_cuda`` copies to the GPU: state, parameters, counters, scratch);
  3. the CPU ensemble of the same machine (all its cores, ``backend="numba"``) on the first
     M = 1e3 and 1e4 systems, scaled linearly (the CPU ensemble scales linearly in M);
     and against the 2-core figure of benchmarks/results/nbody_ensemble.json;
  4. the largest difference of the final positions GPU vs CPU on the 1e3 systems (rounding:
     fused multiply-adds, amplified by chaos over 10 yr);
  5. ``--lorenz`` (1e5) Lorenz initial values ``y0 + N(0, 1)`` (seed 0) on [0, 5], rtol = atol =
     1e-8, dop853 and tsit5, ``solve_ensemble(..., backend="cuda")`` with an in-place right-hand
     side: GPU members per second (host arrays in and out, and CuPy arrays in and out when CuPy is
     there), against the CPU ``solve_ensemble`` of this machine on ``--lorenz-cpu`` members and
     the 2-core figure of benchmarks/results/ode_micro.json (the same problem and tolerances);
     useful-lane fractions, steps, device bytes per member, and the largest end-value difference
     GPU vs CPU on the first ``--lorenz-cpu`` members.
Writes gpu_ensemble.json to --out.  ``--sizes`` and ``--max-seconds`` bound the run: a size is
skipped when the previous one, scaled, would pass the budget.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T_END = 10.0


def install():
    pkgs = ["numba-cuda[cu12]", "cupy-cuda12x"]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *pkgs], check=False)


def gpu_tests():
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-m", "gpu"),
            *("tests/test_nbody_ensemble.py", "tests/test_ode_ensemble_cuda.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return dict(returncode=proc.returncode, tail=proc.stdout[-2000:] + proc.stderr[-1000:])


def device_bytes(n, d, method):
    """Bytes per system of the arrays the kernel works on, without saved history."""
    from stepsize.nbody import _gravity as K
    from stepsize.nbody._member import scratch_shape

    work, vec = scratch_shape(method, n, d)
    floats = 2 * n * d + n + K.N_PAR + K.N_SCAL + 1 + work[0] * n * d + vec[0]
    return 8 * floats + 8 * K.N_CNT + n


def two_core_rate():
    """hermite4 (eta 0.03) systems per second of the CPU ensemble on 2 cores of its own
    (``two_core_s``: serial CPU seconds plus the busiest thread's) in
    benchmarks/results/nbody_ensemble.json (the issue's reference), if it is there."""
    path = ROOT / "benchmarks" / "results" / "nbody_ensemble.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    match = [
        r
        for r in data["rows"]
        if r["peer"] == "stepsize"
        and r["method"] == "hermite4"
        and r["options"] == {"eta": 0.03}
        and r["backend"] == data["threads"]
    ]
    return data["systems"] / match[0]["two_core_s"] if match else None


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def nbody_part(args, report):
    """Steps 2-4: paper three-body systems, GPU against CPU."""
    import numpy as np

    from stepsize.nbody import integrate_ensemble, paper_three_body

    began = time.perf_counter()
    sizes = [int(s) for s in args.sizes.split(",")]
    cpu_sizes = [int(s) for s in args.cpu_sizes.split(",")]
    systems = [paper_three_body(seed) for seed in range(max(sizes + cpu_sizes))]
    t_end = report["t_end"] = args.t_end
    kw = dict(eta=0.03)
    compile_s, first = timed(
        lambda: integrate_ensemble(systems[: cpu_sizes[0]], t_end, backend="cuda", **kw)
    )
    report["compile_and_first_call_s"] = compile_s
    from stepsize.nbody._cuda import KERNELS

    if hasattr(KERNELS[0], "get_regs_per_thread"):  # not in the simulator
        regs = KERNELS[0].get_regs_per_thread()  # {signature: registers} unless specialised
        report["hermite4_registers_per_thread"] = (
            {str(k): v for k, v in regs.items()} if isinstance(regs, dict) else regs
        )
    cpu_rate = {}
    for m in cpu_sizes:
        wall, cpu = timed(lambda m=m: integrate_ensemble(systems[:m], t_end, **kw))
        cpu_rate[m] = m / wall
        if m == cpu_sizes[0]:
            diff = float(np.max(np.abs(cpu.positions - first.positions)))
            report["max_position_difference_gpu_vs_cpu"] = diff
            report["same_status"] = bool(np.all(cpu.status == first.status))
    report["cpu_systems_per_s"] = cpu_rate
    two_core = two_core_rate()
    report["two_core_cpu_systems_per_s"] = two_core
    last, last_m = None, 1
    for m in sizes:
        spent = time.perf_counter() - began
        if last is not None and spent + last * m / last_m * args.repeats > args.max_seconds:
            report["runs"].append(dict(systems=m, skipped="time budget"))
            continue
        walls, res = [], None
        for _ in range(args.repeats):
            wall, res = timed(
                lambda m=m: integrate_ensemble(systems[:m], t_end, backend="cuda", **kw)
            )
            walls.append(wall)
        wall = statistics.median(walls)
        last, last_m = wall, m
        report["runs"].append(
            dict(
                systems=m,
                wall_s=wall,
                samples=walls,
                systems_per_s=m / wall,
                vs_cpu=(m / wall) / cpu_rate[cpu_sizes[-1]],
                vs_two_core_cpu=(m / wall) / two_core if two_core else None,
                useful_lane_fraction=res.stats["useful_lane_fraction"],
                warp_lane_fraction=res.stats["warp_lane_fraction"],
                mean_steps=float(res.steps.mean()),
                max_steps=int(res.steps.max()),
                median_energy_error=float(np.median(res.energy_error)),
                device_bytes_per_system=device_bytes(3, 3, "hermite4"),
            )
        )
        print(json.dumps(report["runs"][-1]))


LORENZ_SPAN, LORENZ_TOL = (0.0, 5.0), 1e-8  # as the ensemble part of benchmarks/ode_micro.py


def lorenz_inplace(t, y, dydt, sigma, rho, beta):
    """Lorenz (1963), written in place: what a GPU thread can run (no array per call)."""
    dydt[0] = sigma * (y[1] - y[0])
    dydt[1] = y[0] * (rho - y[2]) - y[1]
    dydt[2] = y[0] * y[1] - beta * y[2]


def two_core_lorenz_rate(method):
    """Members per second of the 2-core CPU ``solve_ensemble`` (1000 Lorenz initial values, the
    same span and tolerances) in benchmarks/results/ode_micro.json, if it is there."""
    path = ROOT / "benchmarks" / "results" / "ode_micro.json"
    if not path.exists():
        return None
    ens = json.loads(path.read_text())["results"].get("ensemble") or {}
    wall = ens.get("time_s", {}).get(f"stepsize solve_ensemble {method}")
    return ens["members"] / wall if wall else None


def lorenz_part(args, report):
    """Step 5: Lorenz initial values, GPU against CPU, per method."""
    import numpy as np

    from stepsize.ode import problems, solve_ensemble

    p = problems.get("lorenz")
    m, m_cpu = args.lorenz, args.lorenz_cpu
    Y0 = p.y0 + np.random.default_rng(0).standard_normal((m, p.y0.size))
    kw = dict(rtol=LORENZ_TOL, atol=LORENZ_TOL, args=p.args, inplace=True, max_steps=10**6)
    out = report["lorenz"] = dict(members=m, t_span=LORENZ_SPAN, rtol=LORENZ_TOL, methods={})

    def gpu(y0, method):
        return solve_ensemble(lorenz_inplace, LORENZ_SPAN, y0, method, backend="cuda", **kw)

    def cpu_run(y0, method):
        return solve_ensemble(lorenz_inplace, LORENZ_SPAN, y0, method, **kw)

    for method in ("dop853", "tsit5"):
        row = out["methods"][method] = {}
        row["compile_and_first_call_s"], first = timed(lambda m=method: gpu(Y0[:m_cpu], m))
        cpu_run(Y0[:2], method)  # compiled (or loaded from the cache) before timing
        wall_cpu, cpu = timed(lambda m=method: cpu_run(Y0[:m_cpu], m))
        cpu_rate = m_cpu / wall_cpu
        scale = np.abs(cpu.y[:, :, -1]).max(axis=1)
        diff = np.abs(first.y[:, :, -1] - cpu.y[:, :, -1]).max(axis=1) / scale
        walls, res = [], None
        for _ in range(args.repeats):
            wall, res = timed(lambda m=method: gpu(Y0, m))
            walls.append(wall)
        wall = statistics.median(walls)
        two_core = two_core_lorenz_rate(method)
        row.update(
            wall_s=wall,
            samples=walls,
            members_per_s=m / wall,
            cpu_members=m_cpu,
            cpu_members_per_s=cpu_rate,
            vs_cpu=(m / wall) / cpu_rate,
            two_core_cpu_members_per_s=two_core,
            vs_two_core_cpu=(m / wall) / two_core if two_core else None,
            useful_lane_fraction=res.stats["useful_lane_fraction"],
            warp_lane_fraction=res.stats["warp_lane_fraction"],
            mean_steps=res.stats["mean_steps"],
            max_steps=res.stats["max_steps"],
            device_bytes_per_member=res.stats["device_bytes_per_member"],
            success=bool(res.success),
            same_status_as_cpu=bool(np.array_equal(first.status, cpu.status)),
            median_relative_end_difference_gpu_vs_cpu=float(np.median(diff)),
            max_relative_end_difference_gpu_vs_cpu=float(diff.max()),
        )
        try:
            import cupy
        except ImportError:
            cupy = None
        if cupy is not None:
            on_gpu = cupy.asarray(Y0)
            walls = []
            for _ in range(args.repeats):
                wall, _ = timed(lambda m=method, y=on_gpu: gpu(y, m))
                walls.append(wall)
            row["cupy_in_and_out_wall_s"] = statistics.median(walls)
            row["cupy_members_per_s"] = m / row["cupy_in_and_out_wall_s"]
        print(json.dumps({method: row}))


def write(report, out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_ensemble.json").write_text(json.dumps(report, indent=2))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--install", action="store_true")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, no gpu tests (simulator)")
    p.add_argument("--parts", default="nbody,lorenz", help="which of nbody, lorenz to run")
    p.add_argument("--sizes", default="1000,10000,100000,1000000")
    p.add_argument("--cpu-sizes", default="1000,10000", help="CPU ensembles (first: GPU check)")
    p.add_argument("--t-end", type=float, default=T_END)
    p.add_argument("--lorenz", type=int, default=100_000, help="Lorenz initial values")
    p.add_argument("--lorenz-cpu", type=int, default=10_000, help="of them on the CPU")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--max-seconds", type=float, default=360.0)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)
    if args.smoke:
        args.sizes, args.cpu_sizes, args.t_end = "6,12", "3,6", 0.1
        args.lorenz, args.lorenz_cpu, args.repeats = 8, 4, 1
    if args.install:
        install()
    sys.path.insert(0, str(ROOT))
    from numba import cuda

    report = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count()), runs=[])
    report["smoke"] = args.smoke
    report["simulator"] = bool(int(os.environ.get("NUMBA_ENABLE_CUDASIM", "0") or 0))
    name = cuda.get_current_device().name if hasattr(cuda, "get_current_device") else None
    report["gpu"] = name.decode() if isinstance(name, bytes) else name
    report["gpu_tests"] = None if args.smoke else gpu_tests()
    parts = args.parts.split(",")
    if "nbody" in parts:
        nbody_part(args, report)
        write(report, args.out)
    if "lorenz" in parts:
        lorenz_part(args, report)
    write(report, args.out)
    print(json.dumps({k: v for k, v in report.items() if k != "gpu_tests"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
