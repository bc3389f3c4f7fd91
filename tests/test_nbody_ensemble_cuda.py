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
