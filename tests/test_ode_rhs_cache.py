"""The rhs adapter in Numba's disk cache (``stepsize.ode._rhs_call.cached_rhs``): a second
compilation of the same function loads it, and its values are the user's function's; anything
the compiled code depends on changes the key."""

import numba
import numpy as np
import pytest

from stepsize.ode import _rhs_call
from stepsize.ode._context import Layout, rhs_source

K = 2.0


def _decay(t, y, k):
    return -k * y + K * t


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_rhs_call, "_FOLDER", [])
    return tmp_path


def test_second_compilation_loads_from_disk(cache_dir):
    layout = Layout((0.5,))
    source = rhs_source(layout, False, pointers=True)
    first = _rhs_call.cached_rhs(source, {"fun": numba.njit(_decay)})
    second = _rhs_call.cached_rhs(source, {"fun": numba.njit(_decay)})  # as a new process
    assert first.dispatcher.stats.cache_misses and not first.dispatcher.stats.cache_hits
    assert second.dispatcher.stats.cache_hits  # loaded, not compiled
    y, out, ctx = np.array([1.0, -3.0]), np.empty(2), layout.context(2)
    second(0.25, y, out, ctx)
    np.testing.assert_array_equal(out, _decay(0.25, y, 0.5))  # same operations, same rounding
    assert len(list((cache_dir / "stepsize_adapters").glob("rhs_*.py"))) == 1


def test_fingerprint_follows_code_options_and_globals(monkeypatch):
    mark = _rhs_call.fingerprint(_decay)
    assert mark == _rhs_call.fingerprint(_decay)
    assert _rhs_call.fingerprint(numba.njit(fastmath=True)(_decay)) != mark
    monkeypatch.setattr(__import__(__name__), "K", 3.0)  # Numba freezes globals: a new key
    assert _rhs_call.fingerprint(_decay) != mark


def test_uncacheable_compile_in_memory(cache_dir):
    scale = 2.0
    layout = Layout((object(),))  # a frozen constant
    assert (
        _rhs_call.cached_rhs(rhs_source(layout, False, pointers=True), {"fun": _decay, "c0": 1})
        is None
    )
    assert _rhs_call.fingerprint(lambda t, y: scale * y) is None  # a closure
