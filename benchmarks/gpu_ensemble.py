"""GPU ensembles in one go: the gpu tests, then paper three-body systems on the CUDA back end
against the CPU ensemble of this machine, as JSON.

For a session that has the GPU machine (about 15 minutes of device time in all): run

    python benchmarks/gpu_ensemble.py --out "$OUT"

with a Python that has the project's dependencies and Numba's CUDA target (the built-in
``numba.cuda`` finds the system's CUDA toolkit through CUDA_HOME; ``--install`` pip-installs
``numba-cuda[cu12]`` where PyPI is reachable).  A dry run without a GPU, under the simulator:
``NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu_ensemble.py --sizes 40,80 --cpu-sizes 20,40
--t-end 0.5 --repeats 1 --out /some/dir`` (seconds).  Steps:
  1. the tests marked ``gpu`` (pytest -m gpu tests/test_nbody_ensemble.py);
  2. M = 1e3, 1e4, 1e5, 1e6 ``paper_three_body`` systems to 10 yr, hermite4 (AMUSE, eta 0.03),
     on ``backend="cuda"`` (first call = compile, then the median of ``--repeats``), with the
     useful-lane fractions of ``stats`` and the device memory per system (the arrays
     ``_cuda.run_cuda`` copies to the GPU: state, parameters, counters, scratch);
  3. the CPU ensemble of the same machine (all its cores, ``backend="numba"``) on the first
     M = 1e3 and 1e4 systems, scaled linearly (the CPU ensemble scales linearly in M);
     and against the 2-core figure of benchmarks/results/nbody_ensemble.json;
  4. the largest difference of the final positions GPU vs CPU on the 1e3 systems (rounding:
     fused multiply-adds, amplified by chaos over 10 yr).
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
    pkgs = ["numba-cuda[cu12]"]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *pkgs], check=False)


def gpu_tests():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "tests/test_nbody_ensemble.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return dict(returncode=proc.returncode, tail=proc.stdout[-2000:] + proc.stderr[-1000:])


def device_bytes(n, d, method):
    """Bytes per system of the arrays the kernel works on, without saved history."""
    from stepsize.nbody import _kernels as K
    from stepsize.nbody._member import scratch_shape

    work, vec = scratch_shape(method, n, d)
    floats = 2 * n * d + n + K.N_PAR + K.N_SCAL + 1 + work[0] * n * d + vec[0]
    return 8 * floats + 8 * K.N_CNT + n


def two_core_rate():
    """hermite4 (eta 0.03) systems per second of the 2-core CPU ensemble in
    benchmarks/results/nbody_ensemble.json (the issue's reference), if it is there."""
    path = ROOT / "benchmarks" / "results" / "nbody_ensemble.json"
    if not path.exists():
        return None
    rows = json.loads(path.read_text())["rows"]
    match = [r for r in rows if r["method"] == "hermite4" and r["options"] == {"eta": 0.03}]
    return match[0]["systems_per_s"] if match else None


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--install", action="store_true")
    p.add_argument("--sizes", default="1000,10000,100000,1000000")
    p.add_argument("--cpu-sizes", default="1000,10000", help="CPU ensembles (first: GPU check)")
    p.add_argument("--t-end", type=float, default=T_END)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--max-seconds", type=float, default=360.0)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)
    if args.install:
        install()
    sys.path.insert(0, str(ROOT))
    import numpy as np
    from numba import cuda

    from stepsize.nbody import integrate_ensemble, paper_three_body

    report = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count()), runs=[])
    name = cuda.get_current_device().name if hasattr(cuda, "get_current_device") else None
    report["gpu"] = name.decode() if isinstance(name, bytes) else name
    report["gpu_tests"] = gpu_tests()
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
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_ensemble.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "gpu_tests"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
