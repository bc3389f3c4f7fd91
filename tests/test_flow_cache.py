"""TeacherCache: teachers and references computed once, equal to computing them afresh, kept on
disk between instances, and missed whenever an input that determines them changes; planners
given a cache return the plans they return without one."""

import numpy as np
import pytest
import torch

from stepsize import flow
from tests.test_flow_plan import MODEL, noise

torch.set_num_threads(1)


class Counting(flow.Model):
    """:data:`MODEL` with its denoiser calls counted."""

    defined_at_data = False
    dim = 2

    def __init__(self):
        self.calls = 0

    def denoise(self, x, t):
        self.calls += 1
        return MODEL.denoise(x, t)


def test_teacher_is_computed_once_and_equals_a_fresh_one(tmp_path):
    m, z, grid = Counting(), noise(16, 0), flow.teacher(MODEL, noise(1, 0), 12).times
    cache = flow.TeacherCache("mixture", tmp_path)
    first = cache.teacher(m, z, solver="heun", grid=grid)
    calls = m.calls
    again = cache.teacher(m, z, solver="heun", grid=grid)
    assert m.calls == calls > 0 and (cache.hits, cache.misses) == (1, 1)
    fresh = flow.teacher(MODEL, z, solver="heun", grid=grid)
    for a in (first, again):
        np.testing.assert_array_equal(a.times, fresh.times)
        np.testing.assert_array_equal(a.x, fresh.x)
        np.testing.assert_array_equal(a.v, fresh.v)
    # another instance on the same folder reads the file: no model calls
    other = flow.TeacherCache("mixture", tmp_path)
    np.testing.assert_array_equal(other.teacher(m, z, solver="heun", grid=grid).x, fresh.x)
    assert m.calls == calls and (other.hits, other.misses) == (1, 0)


def test_reference_is_cached_and_every_input_is_in_the_key(tmp_path):
    m, z = Counting(), noise(8, 1)
    cache = flow.TeacherCache("mixture", tmp_path)
    ref = cache.reference(m, z, 20)
    torch.testing.assert_close(ref, flow.reference(MODEL, z, 20), rtol=0, atol=0)
    calls = m.calls
    cache.reference(m, z, 20)
    assert m.calls == calls
    # another noise, step count, solver or model key each compute anew
    cache.reference(m, noise(8, 2), 20)
    cache.reference(m, z, 21)
    cache.reference(m, z, 20, solver="euler")
    flow.TeacherCache("mixture-retrained", tmp_path).reference(m, z, 20)
    assert cache.misses == 4 and len(list(tmp_path.glob("*.npz"))) == 5


def test_a_memory_cache_writes_no_files_and_a_bad_key_is_refused(tmp_path):
    cache = flow.TeacherCache("mixture")
    cache.reference(MODEL, noise(4, 0), 5)
    cache.reference(MODEL, noise(4, 0), 5)
    assert (cache.hits, cache.misses) == (1, 1)
    with pytest.raises(ValueError, match="model_key"):
        flow.TeacherCache("")


@pytest.mark.parametrize("solver", ["euler", "unipc"])
def test_planners_with_a_cache_plan_what_they_plan_without(solver):
    cache = flow.TeacherCache("mixture")
    kwargs = dict(n_grid=12, n_samples=32, seed=0, spacing="time")
    plain = flow.plan_for_solver(MODEL, [3, 4], solver, **kwargs)
    cached = [flow.plan_for_solver(MODEL, [3, 4], solver, cache=cache, **kwargs) for _ in "ab"]
    assert cache.misses == 1 and cache.hits == 1
    for c in cached:
        for p, q in zip(plain, c):
            np.testing.assert_array_equal(p, q)
    ld3 = dict(n_samples=16, n_valid=16, iterations=3, teacher_steps=20, spacing="time", seed=4)
    a = flow.plan_ld3(MODEL, 3, solver, **ld3)
    b = flow.plan_ld3(MODEL, 3, solver, cache=cache, **ld3)
    np.testing.assert_array_equal(a.times, b.times)
    assert a.error == b.error and cache.misses == 3  # the training and validation teachers
