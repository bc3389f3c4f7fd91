"""The CUDA back end of integrate_ensemble under Numba's CUDA simulator, against the CPU path.

The simulator must be switched on before numba.cuda is first imported, so the comparison runs
in a subprocess with NUMBA_ENABLE_CUDASIM=1 in its environment.  The simulator runs the kernel
(one Python thread per member, the launch geometry, the device copies in and out) around the
CPU-compiled member loop, so the results must equal the CPU path exactly; on a real GPU they
agree to rounding (tests marked ``gpu`` in test_nbody_ensemble.py).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json
import numpy as np
from stepsize.nbody import integrate_ensemble, paper_three_body, pythagorean

systems = [paper_three_body(seed) for seed in range(5)] + [pythagorean()]
cases = {
    "hermite4": dict(encounter_distance=0.5),
    "hermite4-aarseth": dict(criterion="aarseth", eta=0.01),
    "leapfrog": dict(eta=0.05, escape_radius=30.0),
    "gbs": dict(rtol=1e-6),
}
out = {}
for name, kw in cases.items():
    method = name.split("-")[0]
    cpu = integrate_ensemble(systems, 0.6, method, save_every=0.3, max_energy_error=1e-3, **kw)
    gpu = integrate_ensemble(systems, 0.6, method, save_every=0.3, max_energy_error=1e-3,
                             backend="cuda", **kw)
    out[name] = dict(
        same_positions=bool(np.array_equal(cpu.positions, gpu.positions)),
        same_history=bool(np.array_equal(cpu.history.positions, gpu.history.positions,
                                         equal_nan=True)),
        same_steps=bool(np.array_equal(cpu.steps, gpu.steps)),
        same_status=list(cpu.status) == list(gpu.status),
        same_events=cpu.events == gpu.events,
        same_energy=bool(np.array_equal(cpu.energy_error, gpu.energy_error)),
        steps=cpu.steps.tolist(),
        backend=gpu.stats["backend"],
        lanes=[gpu.stats["useful_lane_fraction"], gpu.stats["warp_lane_fraction"]],
    )

# device arrays in and out: the same kernel on arrays that already live on the device
from numba import cuda
from stepsize.nbody import _ensemble
from stepsize.nbody._cuda import MemberArrays, run_cuda

host = integrate_ensemble(systems[:3], 0.4, "hermite4", backend="cuda")
from stepsize.nbody._options import kernel_params, parse
from stepsize.nbody._integrate import output_times
from stepsize.nbody._member import scratch_shape
from stepsize.nbody import _gravity as K

opts = parse("hermite4", {})
pos, vel, masses, G = _ensemble._stack(systems[:3])
e0 = _ensemble._invariants(pos, vel, masses, G, 0.0)[0]
par = np.stack([kernel_params(opts, g) for g in G])
work, vec = scratch_shape("hermite4", 3, pos.shape[2])
hist = tuple(cuda.to_device(a) for a in _ensemble._buffers(3, 3, pos.shape[2], None, False))
arrays = MemberArrays(
    *(cuda.to_device(a) for a in (pos, vel, masses, par, output_times(0.4, None), e0)), hist,
    cuda.to_device(np.zeros((3, K.N_SCAL))), cuda.to_device(np.zeros((3, K.N_CNT), np.int64)),
    cuda.to_device(np.zeros((3,) + work)), cuda.to_device(np.zeros((3,) + vec)),
    cuda.to_device(np.zeros((3, 3), np.int8)),
)
run_cuda(0, opts.max_energy_error, False, arrays)
out["device_arrays"] = dict(
    same_positions=bool(np.array_equal(arrays.pos.copy_to_host(), host.positions)),
    same_steps=bool(np.array_equal(arrays.cnt.copy_to_host()[:, K.C_STEPS], host.steps)),
)
print("RESULT" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def simulated():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


@pytest.mark.parametrize("case", ["hermite4", "hermite4-aarseth", "leapfrog", "gbs"])
def test_cuda_kernel_equals_the_cpu_path_in_the_simulator(simulated, case):
    r = simulated[case]
    assert r["backend"] == "cuda"
    for key in ("positions", "history", "steps", "status", "events", "energy"):
        assert r[f"same_{key}"], key
    steps = r["steps"]
    grid = sum(steps) / (max(steps) * len(steps))  # every member in its own loop
    assert r["lanes"][0] == pytest.approx(grid) and grid < 1.0
    assert grid <= r["lanes"][1] <= 1.0


def test_device_arrays_go_in_and_out_without_a_host_copy(simulated):
    assert simulated["device_arrays"] == dict(same_positions=True, same_steps=True)


PTX = r"""
import types
import numba, numpy as np
from numba.cuda.cudadrv import nvvm
try:
    nvvm.NVVM()
except Exception as exc:
    print("NO_NVVM", exc)
    raise SystemExit(0)
import numba.cuda.dispatcher as dispatcher
# Device functions are compiled for the current device's compute capability; with no GPU
# here, say it is an sm_80 so that the kernel is typed, lowered and handed to NVVM in full.
dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(8, 0))
from numba import cuda
from stepsize.nbody import _cuda
from stepsize.nbody._member import scratch_shape

m, n, d = 2, 3, 3
z = np.zeros
work, vec = scratch_shape("gbs", n, d)
args = (
    1.0, True, z((m, n, d)), z((m, n, d)), z((m, n)), z((m, 11)), z(3), z(m),
    (z((m, 4)), z((m, 4, n, d)), z((m, 4, n, d)), z((m, 4))),
    (z((m, 6)), z((m, 9), dtype=np.int64)),
    (z((m,) + work), z((m,) + vec), z((m, n), dtype=np.int8)),
)
sig = tuple(numba.typeof(a) for a in args)
found = []
for kernel, step in zip(_cuda.KERNELS, ("hermite_steps", "leapfrog_steps", "gbs_steps")):
    ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(8, 0))
    found += [".target sm_80" in ptx, step in ptx]
print("PTX", *found)
"""


def test_the_member_loop_compiles_as_cuda_device_functions():
    """The kernel and every step function it calls go through Numba's CUDA pipeline to PTX
    (needs libNVVM from a CUDA toolkit, not a GPU); skipped where there is no libNVVM."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", PTX],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    if proc.stdout.startswith("NO_NVVM"):
        pytest.skip(f"no libNVVM: {proc.stdout.strip()}")
    assert proc.stdout.split() == ["PTX"] + ["True"] * 6, proc.stdout
