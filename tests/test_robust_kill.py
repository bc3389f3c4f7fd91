"""A killed job loses nothing and leaves nothing behind: each case kills a real process by signal.

* ``stepsize.parallel.run``: after SIGKILL or Ctrl-C (SIGINT) of its parent, no worker (and no
  helper such as multiprocessing's resource tracker) stays alive;
* a ``train_flow`` run killed in the middle resumes from its checkpoint to exactly the weights
  and losses of an uninterrupted run.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

SWEEP = """
import os, sys, time
from pathlib import Path
from stepsize.parallel import run

def job(item):
    folder, i = item
    Path(folder, str(os.getpid())).touch()
    time.sleep(120)
    return i

if __name__ == "__main__":
    run(job, [(sys.argv[1], i) for i in range(6)], workers=2)
"""


def _start(tmp_path, source, *args):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], env=env, cwd=tmp_path)


def _alive(pid):
    """True for a running process; a zombie (exited, not yet reaped) counts as gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def _descendants(pid):
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_no_worker_outlives_a_killed_parent(tmp_path, sig):
    marks = tmp_path / "started"
    marks.mkdir()
    proc = _start(tmp_path, SWEEP, marks)
    try:
        _wait_for(lambda: len(list(marks.iterdir())) == 2, 120, "two workers to start jobs")
        workers = {int(p.name) for p in marks.iterdir()}
        family = set(_descendants(proc.pid))
        assert workers <= family
        proc.send_signal(sig)
        proc.wait(timeout=30)
        _wait_for(lambda: not any(_alive(p) for p in family), 10, f"{family} to end")
        assert len(list(marks.iterdir())) == 2  # no worker took a queued job after the kill
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


TRAIN = """
import sys
import torch
from stepsize.flow import train_flow

torch.set_num_threads(1)
step = torch.optim.lr_scheduler.LambdaLR.step
calls = [0]

def step_then_die(self, *args, **kwargs):
    calls[0] += 1
    if calls[0] == int(sys.argv[2]):
        import os, signal
        os.kill(os.getpid(), signal.SIGKILL)
    return step(self, *args, **kwargs)

torch.optim.lr_scheduler.LambdaLR.step = step_then_die
train_flow("moons", 120, batch=32, hidden=16, depth=2, seed=3, log_every=7,
           checkpoint=sys.argv[1], checkpoint_every=50)
"""


def test_a_killed_flow_training_resumes_bit_for_bit(tmp_path):
    from stepsize.flow import train_flow

    torch.set_num_threads(1)
    kw = dict(batch=32, hidden=16, depth=2, seed=3, log_every=7)
    ckpt = tmp_path / "moons.ckpt"
    proc = _start(tmp_path, TRAIN, ckpt, 110)  # killed after 109 steps: checkpoint at 100
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert torch.load(ckpt, weights_only=True)["step"] == 100
    resumed = train_flow("moons", 120, checkpoint=ckpt, checkpoint_every=50, **kw)
    full = train_flow("moons", 120, **kw)
    for p, q in zip(full.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    np.testing.assert_array_equal(resumed.losses, full.losses)
