"""solve_ensemble(..., backend="cuda") against the CPU path, and its errors.

The simulator must be switched on before numba.cuda is first imported, so the comparison runs
in a subprocess with NUMBA_ENABLE_CUDASIM=1.  The simulator runs the kernel (one Python thread
per member, the launch geometry, the device copies in and out) around the CPU-compiled member
loop, so the results must equal the CPU path bit for bit.  That the same loop also goes through
Numba's CUDA pipeline is checked by compiling the kernel to PTX (needs libNVVM, not a GPU); on a
real GPU the results agree to rounding (tests marked ``gpu``).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stepsize.backend import has_gpu
from stepsize.ode import solve_ensemble

ROOT = Path(__file__).resolve().parents[1]

LORENZ = r"""
import numpy as np

def lorenz(t, y, dydt, sigma, rho, beta):
    dydt[0] = sigma * (y[1] - y[0])
    dydt[1] = y[0] * (rho - y[2]) - y[1]
    dydt[2] = y[0] * y[1] - beta * y[2]

ARGS = (10.0, 28.0, 8.0 / 3.0)
Y0 = np.array([1.0, 1.0, 20.0]) + np.array([[0.0, 0.0, 0.0], [0.5, -0.3, 1.0], [-2.0, 1.0, 3.0]])
"""

SIMULATED = (
    LORENZ
    + r"""
import json
from numba import cuda
from stepsize.ode import solve_ensemble

# y' = y^2, y = y0 / (1 - y0 t): no finite value past t = 1 / y0; with a second, decaying
# component z' = -z, because the simulator compiles the member loop once per memory layout of
# the member's views, and a member of one component has contiguous ones (a third compile, ~20 s)
def blowup(t, y):
    return (y[0] * y[0], -y[1])

def compare(cpu, gpu):
    y = gpu.y.copy_to_host() if hasattr(gpu.y, "copy_to_host") else gpu.y
    return dict(
        same_y=bool(np.array_equal(cpu.y, y, equal_nan=True)),
        same_counts=all(np.array_equal(getattr(cpu, k), getattr(gpu, k))
                        for k in ("status", "nfev", "naccept", "nreject")),
        same_messages=cpu.message == gpu.message,
        status=gpu.status.tolist(),
        steps=(gpu.naccept + gpu.nreject).tolist(),
        stats=gpu.stats,
        on_device=hasattr(gpu.y, "copy_to_host"),
    )

cases = {
    "dp5": dict(method="dp5", rtol=1e-6, atol=1e-9),
    "dop853-t_eval": dict(method="dop853", rtol=1e-9, atol=1e-12, t_eval=np.linspace(0, 1.5, 7)),
    "vern7-t_eval": dict(method="vern7", rtol=1e-8, atol=1e-10, t_eval=[0.0, 0.4, 1.5]),
    "bs3-max_steps": dict(method="bs3", rtol=1e-8, atol=1e-10, max_steps=150),
}
out = {}
for name, kw in cases.items():
    cpu = solve_ensemble(lorenz, (0.0, 1.5), Y0, args=ARGS, inplace=True, **kw)
    gpu = solve_ensemble(lorenz, (0.0, 1.5), Y0, args=ARGS, inplace=True, backend="cuda", **kw)
    out[name] = compare(cpu, gpu)
b0 = np.array([[0.5, 1.0], [2.0, 1.0], [4.0, 1.0]])
out["blowup"] = compare(solve_ensemble(blowup, (0.0, 1.0), b0, rtol=1e-6),
                        solve_ensemble(blowup, (0.0, 1.0), b0, rtol=1e-6, backend="cuda"))
gpu = solve_ensemble(lorenz, (0.0, 1.5), cuda.to_device(Y0), args=ARGS, inplace=True,
                     backend="cuda")
out["device"] = compare(solve_ensemble(lorenz, (0.0, 1.5), Y0, args=ARGS, inplace=True), gpu)
print("RESULT" + json.dumps(out))
"""
)


def _run(script, env):
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def simulated():
    out = _run(SIMULATED, {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"})
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


@pytest.mark.parametrize(
    "case", ["dp5", "dop853-t_eval", "vern7-t_eval", "bs3-max_steps", "blowup", "device"]
)
def test_cuda_kernel_equals_the_cpu_path_in_the_simulator(simulated, case):
    r = simulated[case]
    assert r["same_y"] and r["same_counts"] and r["same_messages"]
    assert r["stats"]["backend"] == "cuda"
    steps = r["steps"]
    grid = sum(steps) / (max(steps) * len(steps))  # every member in its own loop
    assert r["stats"]["useful_lane_fraction"] == pytest.approx(grid)
    assert grid <= r["stats"]["warp_lane_fraction"] <= 1.0
    assert r["stats"]["mean_steps"] == pytest.approx(np.mean(steps))
    assert r["on_device"] == (case == "device")


def test_failing_members_stop_alone_in_the_simulator(simulated):
    # y' = y^2 from 2 and 4 has its pole inside [0, 1]; from 0.5 it reaches t = 1 (y = 1)
    assert simulated["blowup"]["status"] == [0, -1, -1]
    assert simulated["blowup"]["stats"]["useful_lane_fraction"] < 0.8
    assert simulated["bs3-max_steps"]["status"] == [-1, -1, -1]
    assert simulated["bs3-max_steps"]["steps"] == [150, 150, 150]


def test_memory_per_member_is_what_the_arrays_hold(simulated):
    # dp5, n = 3, one output: Work (7 vectors), 7 stages, 3 explicit work vectors (stage
    # state, stiff pair's states), interpolant of degree 4, two filter histories, y0, one
    # output (time and state), the context (2 + 3 args + 3)
    floats = 7 * 3 + 7 * 3 + 3 * 3 + 3 * 4 + 2 * 4 + 3 + 1 + 3 + 8
    from stepsize.ode._bundles import IMPLICIT_STATE, INFO, STATE
    from stepsize.ode._cuda import aligned

    records = sum(aligned(d).itemsize for d in (INFO, STATE, IMPLICIT_STATE))
    assert simulated["dp5"]["stats"]["device_bytes_per_member"] == 8 * floats + records


PTX = (
    LORENZ
    + r"""
import types
import numba
from numba.cuda.cudadrv import nvvm
try:
    nvvm.NVVM()
except Exception as exc:
    print("NO_NVVM", exc)
    raise SystemExit(0)
import numba.cuda.compiler as compiler
import numba.cuda.dispatcher as dispatcher
# Device functions are compiled for the current device's compute capability; with no GPU
# here, say it is an sm_80 so that the kernel is typed, lowered and handed to NVVM in full.
device = lambda: types.SimpleNamespace(compute_capability=(8, 0))
dispatcher.get_current_device = compiler.get_current_device = device
from numba import cuda
from stepsize.control import get_controller
from stepsize.ode import _cuda
from stepsize.ode._build import build_problem
from stepsize.ode._bundles import MODE_EXPLICIT, Steps
from stepsize.ode._solve import method_bundles

built = build_problem(lorenz, 0.0, Y0[0], ARGS, compiled=False, inplace=True)
rhs = _cuda.device_rhs(built.spec)
_cuda.check_compiles(rhs)
ex, _, _, controls, switch, _ = method_bundles(
    MODE_EXPLICIT, "dop853", None, get_controller("PI")
)
tol = np.full(3, 1e-8)
steps = Steps(0.0, 1.0, tol, tol, 0.0, np.inf, 1000, np.linspace(0, 1, 3), False, False)
arrays = _cuda.member_arrays(Y0, built.problem.ctx, 3, 16, ex.Q.shape[1])
sig = tuple(numba.typeof(a) for a in (ex, controls, switch, steps, arrays))
ptx, _ = cuda.compile_ptx(_cuda.kernel_for(rhs).py_func, sig, cc=(8, 0))
found = [".target sm_80" in ptx, ".entry" in ptx, "call.uni" not in ptx or "NRT" not in ptx]

def allocating(t, y, sigma, rho, beta):  # a new array per call: no CUDA device function
    return np.array([sigma * (y[1] - y[0]), y[0] * (rho - y[2]) - y[1], y[0] * y[1]])

bad = build_problem(allocating, 0.0, Y0[0], ARGS, compiled=False)
try:
    _cuda.check_compiles(_cuda.device_rhs(bad.spec))
    found.append("no error")
except TypeError as exc:
    found.append(str(exc).startswith("fun: cannot be compiled for backend='cuda'"))
print("PTX", *found)
"""
)


def test_the_member_loop_compiles_as_cuda_device_functions():
    """The kernel and every step function it calls go through Numba's CUDA pipeline to PTX
    (needs libNVVM from a CUDA toolkit, not a GPU); a right-hand side that allocates is
    refused with an error naming ``fun``.  Skipped where there is no libNVVM."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = _run(PTX, env)
    if out.startswith("NO_NVVM"):
        pytest.skip(f"no libNVVM: {out.strip()}")
    assert out.split() == ["PTX"] + ["True"] * 4, out


def lorenz(t, y, dydt, sigma, rho, beta):
    dydt[0] = sigma * (y[1] - y[0])
    dydt[1] = y[0] * (rho - y[2]) - y[1]
    dydt[2] = y[0] * y[1] - beta * y[2]


ARGS = (10.0, 28.0, 8.0 / 3.0)
Y0 = np.array([[1.0, 1.0, 20.0], [1.5, 0.7, 21.0]])


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        (dict(method="radau"), ValueError, "method: backend='cuda' runs the explicit pairs"),
        (dict(method="auto"), ValueError, "implicit methods run on the CPU"),
        (dict(events=lambda t, y, *a: y[0]), ValueError, "events: not supported"),
        (dict(backend="gpu"), ValueError, "backend: unknown 'gpu'; known: numba, cuda"),
    ],
)
def test_what_the_cuda_backend_cannot_run_is_named(kw, error, match):
    with pytest.raises(error, match=match):
        solve_ensemble(lorenz, (0.0, 1.0), Y0, args=ARGS, inplace=True, **{"backend": "cuda", **kw})


@pytest.mark.skipif(has_gpu(), reason="a GPU is there")
def test_without_a_gpu_the_error_says_how_to_get_one():
    with pytest.raises(RuntimeError, match="no CUDA GPU.*NUMBA_ENABLE_CUDASIM"):
        solve_ensemble(lorenz, (0.0, 1.0), Y0, args=ARGS, inplace=True, backend="cuda")


def test_without_numba_cuda_the_error_names_the_gpu_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba.cuda", None)
    with pytest.raises(ImportError, match=r"stepsize\[gpu\]"):
        solve_ensemble(lorenz, (0.0, 1.0), Y0, args=ARGS, inplace=True, backend="cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("method", ["dp5", "dop853", "vern7"])
def test_gpu_ensemble_equals_the_cpu_to_rounding(method):
    rng = np.random.default_rng(1)
    y0 = np.array([1.0, 1.0, 20.0]) + rng.normal(size=(300, 3))
    kw = dict(args=ARGS, inplace=True, rtol=1e-9, atol=1e-12, t_eval=np.linspace(0.0, 1.0, 5))
    cpu = solve_ensemble(lorenz, (0.0, 1.0), y0, method, **kw)
    gpu = solve_ensemble(lorenz, (0.0, 1.0), y0, method, backend="cuda", **kw)
    assert gpu.success and list(gpu.status) == list(cpu.status)
    np.testing.assert_allclose(gpu.y, cpu.y, rtol=1e-7, atol=1e-9)  # FMA rounding, grown by chaos
    assert np.abs(gpu.naccept - cpu.naccept).max() <= 1
    assert 0.0 < gpu.stats["useful_lane_fraction"] <= gpu.stats["warp_lane_fraction"] <= 1.0


@pytest.mark.gpu
def test_gpu_ensemble_takes_and_returns_cupy_arrays():
    cupy = pytest.importorskip("cupy")
    cpu = solve_ensemble(lorenz, (0.0, 1.0), Y0, args=ARGS, inplace=True, rtol=1e-9)
    gpu = solve_ensemble(
        lorenz, (0.0, 1.0), cupy.asarray(Y0), args=ARGS, inplace=True, rtol=1e-9, backend="cuda"
    )
    assert isinstance(gpu.y, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(gpu.y), cpu.y, rtol=1e-7, atol=1e-9)


def test_the_gpu_benchmark_runs_end_to_end_in_the_simulator(tmp_path):
    """benchmarks/gpu_ensemble.py waits for a session with a GPU; --smoke runs its Lorenz part
    at tiny sizes under the simulator, so that the script is known to work when one comes."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "benchmarks/gpu_ensemble.py", "--smoke", "--parts", "lorenz"]
        + ["--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_ensemble.json").read_text())
    assert report["simulator"] and report["smoke"]
    for row in report["lorenz"]["methods"].values():
        assert row["success"] and row["same_status_as_cpu"]
        assert row["max_relative_end_difference_gpu_vs_cpu"] == 0.0  # the simulator: exact
        assert 0.0 < row["useful_lane_fraction"] <= row["warp_lane_fraction"] <= 1.0
        assert row["device_bytes_per_member"] > 0
