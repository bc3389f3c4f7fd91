"""A run's storage (``stepsize.ode._store``): views counted where they are kept, free where
they are not, and every allocation freed once."""

import json
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

from stepsize.ode._arrays import shaped
from stepsize.ode._jit import python_twin


@numba.njit
def _shaped(a, rows, cols):
    return shaped(a, (rows, cols))


@pytest.mark.parametrize("rows, cols", [(3, 4), (1, 5), (0, 3)])
def test_shaped_is_the_reshape_as_a_view(rows, cols):
    a = np.arange(rows * cols, dtype=float)
    m = _shaped(a, rows, cols)
    assert m.shape == (rows, cols) and m.flags.c_contiguous
    np.testing.assert_array_equal(m, a.reshape((rows, cols)))
    np.testing.assert_array_equal(python_twin(shaped)(a, (rows, cols)), m)
    if rows:
        m[-1, -1] = -1.0
        assert a[-1] == -1.0  # the same memory


BALANCE = textwrap.dedent(
    """
    import gc, json
    import numpy as np
    from numba.core.runtime import rtsys
    from stepsize.ode import njit_solver, solve
    from stepsize.ode._output import CAPACITY

    def decay(t, y):
        return -y

    def decay_inplace(t, y, dydt):
        dydt[0] = -y[0]
        dydt[1] = -y[1]

    def rotation(t, y):
        return np.array([y[1], -y[0]])

    def crossing(t, y):
        return y[0] - 0.5

    solver = njit_solver(decay_inplace, "dop853", inplace=True)
    runs = {
        "short": lambda: solve(decay, (0, 1), [1.0, 2.0], t_eval=[0.0, 1.0]),
        "grown": lambda: solve(rotation, (0, 200), [1.0, 0.0], rtol=1e-12, atol=1e-12),
        "dense": lambda: solve(decay, (0, 50), [1.0, 2.0], rtol=1e-10, dense_output=True),
        "events": lambda: solve(decay, (0, 2), [1.0, 2.0], events=crossing),
        "rodas5p": lambda: solve(decay, (0, 2), [1.0, 2.0], method="rodas5p"),
        "bdf": lambda: solve(decay, (0, 2), [1.0, 2.0], method="bdf"),
        "njit_solver": lambda: solver(np.array([0.0, 1.0]), np.array([1.0, 2.0]), (), 1e-6, 1e-6),
    }
    assert runs["grown"]().t.size > 2 * CAPACITY  # outgrows its first storage
    out = {}
    for name, run in runs.items():
        run()
        gc.collect()
        before = rtsys.get_allocation_stats()
        for _ in range(5):
            r = run()
        del r
        gc.collect()
        after = rtsys.get_allocation_stats()
        out[name] = [after.alloc - before.alloc, after.free - before.free,
                     after.mi_alloc - before.mi_alloc, after.mi_free - before.mi_free]
    print(json.dumps(out))
    """
)


def test_every_allocation_of_a_run_is_freed_once():
    """Numba's own allocation counts over runs of every kind: as many frees as allocations
    (a view counted where it was not made would free the store early, one not counted where
    it is dropped would keep it forever)."""
    env = {**os.environ, "NUMBA_NRT_STATS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", BALANCE], env=env, capture_output=True, text=True, check=True
    )
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    for name, (alloc, free, mi_alloc, mi_free) in counts.items():
        assert alloc > 0, name
        assert (alloc, mi_alloc) == (free, mi_free), name
