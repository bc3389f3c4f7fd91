"""Loop functions called through pointers (``stepsize.ode._jit.through_pointer``): compiled only
when a run first calls them, the same results as a direct call, faults that propagate, and the
interpreted twin calling the target itself."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import types

from stepsize.ode import _jit
from stepsize.ode._jit import python_twin, through_pointer, twinned


@twinned
def _scaled_sum(a, y, scale):
    """``sum(a * y) * scale``; raises for a negative scale (as compiled code does)."""
    if scale < 0.0:
        raise ValueError("scale must be >= 0")
    acc = 0.0
    for i in range(y.size):
        acc += a[i] * y[i]
    return acc * scale


_scaled_sum_indirect = through_pointer(_scaled_sum, types.float64)


@twinned
def _caller(a, y, scale, take):
    """``_scaled_sum`` through its pointer when ``take``, else -1."""
    if take:
        return _scaled_sum_indirect(a, y, scale)
    return -1.0


@twinned
def _wrong(y):
    return y.size  # an int64, where the pointer below says float64


_wrong_indirect = through_pointer(_wrong, types.float64)


@twinned
def _calls_wrong(y):
    return _wrong_indirect(y)


def test_the_target_compiles_when_first_called_and_gives_the_direct_result():
    a, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 4.0])
    assert _caller(a, y, 2.0, False) == -1.0
    assert len(_scaled_sum.overloads) == 0  # the branch not taken: nothing compiled
    assert _caller(a, y, 2.0, True) == _scaled_sum.py_func(a, y, 2.0) == 21.0
    assert len(_scaled_sum.overloads) == 1
    assert _caller(a, 2.0 * y, 0.5, True) == 10.5  # the pointer resolved once, kept


def test_an_exception_of_the_target_propagates_through_the_pointer():
    with pytest.raises(ValueError, match="scale must be >= 0"):
        _caller(np.ones(2), np.ones(2), -1.0, True)


def test_a_target_returning_another_type_than_declared_is_refused_by_name():
    with pytest.raises(RuntimeError, match="could not compile .*_wrong"):
        _calls_wrong(np.ones(3))
    assert "returns int64, its caller expects float64" in str(_jit.RESOLVE_FAILURE[0])


def test_the_twin_calls_the_target_itself():
    a, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    assert python_twin(_caller)(a, y, 1.0, True) == 11.0


def _wrappers(dispatcher):
    """Names of the Python and C wrappers in the compiled code of ``dispatcher``."""
    return [
        f.name
        for cres in dispatcher.overloads.values()
        for f in cres.library.get_defined_functions()
        if f.name.startswith(("cpython.", "cfunc."))
    ]


def test_loop_functions_compile_without_wrappers_and_python_calls_a_copy():
    """Only compiled code calls a loop function: it is compiled without Numba's CPython and C
    wrappers (for the run's bundles, a large part of the code); called from Python, it runs a
    copy compiled with them, with the same result."""
    a, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    assert _caller(a, y, 1.0, True) == 11.0  # from Python: the copy, which calls the pointer
    assert len(_scaled_sum.overloads) == 1 and _wrappers(_scaled_sum) == []
    assert len(_caller.overloads) == 0 and len(_caller._from_python.overloads) == 1
    assert _wrappers(_caller._from_python)


AUTO_RUNS = r"""
import json, pickle
from stepsize.ode import _jit, _loop, problems, solve

def through_pointers():
    names = {pickle.loads(bytes.fromhex(k.decode()))[0] for k in _jit._RESOLVED}
    return sorted(n.rsplit(".", 1)[-1] for n in names if n.endswith("_attempt"))

def run(name, method="auto"):
    p = problems.get(name)
    r = solve(p.fun, p.t_span, p.y0, args=p.args, method=method)
    methods = [str(m) for *_, m in r.stats["intervals"]]
    return [bool(r.success), methods, len(_loop.rosenbrock_attempt.overloads), through_pointers()]

print(json.dumps([run("lorenz"), run("vdpol"), run("rober", "bdf")]))
"""


def test_a_non_stiff_auto_run_compiles_no_implicit_attempt():
    """In a fresh process, "auto" on Lorenz never switches and leaves Rosenbrock23's attempt
    uncompiled (not even loaded from the disk cache); Van der Pol switches and compiles it,
    called through its pointer; ``method="bdf"`` on ROBER calls BDF's attempt linked in (no
    pointer to it is resolved)."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", AUTO_RUNS], cwd=root, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lorenz, vdpol, rober = json.loads(out.stdout.strip().splitlines()[-1])
    assert lorenz == [True, ["tsit5"], 0, []]
    assert vdpol[0] and "rosenbrock23" in vdpol[1] and vdpol[2] == 1
    assert vdpol[3] == ["rosenbrock_attempt"]  # the auto run's attempt through its pointer
    assert rober[0] and rober[1] == ["bdf"]
    assert rober[3] == vdpol[3]  # BDF alone: its attempt linked in, no pointer resolved
