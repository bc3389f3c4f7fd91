"""The call into the compiled loop: adapters passed as addresses, the run returned packed in one
array (``stepsize.ode._packed``) and cut into the result's parts."""

import numba
import numpy as np
import pytest

from stepsize.control import FilterController
from stepsize.ode import solve
from stepsize.ode._build import build_problem
from stepsize.ode._rhs_call import rhs_at


def vdpol(t, y, mu):
    """Van der Pol: non-stiff at the start, stiff on its slow branches for large ``mu``."""
    return np.array([y[1], mu * ((1.0 - y[0] ** 2) * y[1] - y[0])])


def crossing(t, y, mu):
    return y[0]


@numba.njit
def _call_at(address, t, y, out, ctx):
    rhs_at(address)(t, y, out, ctx)


def test_an_adapter_called_at_its_address_is_the_adapter():
    y = np.array([2.0, -0.5])
    built = build_problem(vdpol, 0.0, y, (3.0,), compiled=True)
    out = np.empty(2)
    _call_at(built.addressed.rhs, 0.25, y, out, built.problem.ctx)
    np.testing.assert_array_equal(out, vdpol(0.25, y, 3.0))
    assert built.addressed.rhs == built.problem.rhs.address


def test_every_part_of_a_packed_run_lands_where_the_result_reads_it():
    """Points, dense segments, events, switches and the profile of one automatic-switching run
    agree with one another (a misplaced part of the packed array would not)."""
    mu = 200.0
    r = solve(
        vdpol,
        (0.0, 300.0),
        [2.0, 0.0],
        args=(mu,),
        rtol=1e-5,
        atol=1e-7,
        dense_output=True,
        events=crossing,
        profile=True,
    )
    assert r.success and r.stats["compiled"] and r.stats["nswitch"] >= 2
    assert r.y.shape == (2, r.t.size) and r.y.flags.c_contiguous
    np.testing.assert_allclose(r.sol(r.t), r.y, rtol=1e-12, atol=1e-12)  # segments vs points
    assert r.t[-1] == 300.0 and np.all(np.diff(r.t) > 0)
    (te,), (ye,) = r.t_events, r.y_events
    assert te.size >= 2 and ye.shape == (te.size, 2)
    np.testing.assert_allclose(ye[:, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(r.sol(te).T, ye, rtol=1e-9, atol=1e-9)
    assert r.profile.t.size == r.stats["naccept"]
    np.testing.assert_array_equal(r.profile.t, r.t[:-1])  # each accepted step from its start
    switches = [iv[1] for iv in r.stats["intervals"][:-1]]
    assert len(switches) == r.stats["nswitch"]
    kinds = r.profile.implicit
    flips = r.profile.t[1:][kinds[1:] != kinds[:-1]]
    np.testing.assert_allclose(flips, switches, rtol=0, atol=0)


# ------------------------------------------------------------------ repeat calls (_repeat)


def lotka(t, y, a, b):
    """Lotka-Volterra, y0 = (1, 1); raises for a negative birth rate ``a`` (a user fault)."""
    if a < 0.0:
        raise ArithmeticError("negative birth rate")
    return np.array([a * y[0] - b * y[0] * y[1], b * y[0] * y[1] - y[1]])


def prey_peak(t, y, a, b):
    """Zero where the prey peaks (dy0/dt = 0 from above)."""
    return a - b * y[1]


prey_peak.direction = -1.0


def predators_at_one(t, y, a, b):
    return y[1] - 1.0


def _fields(r):
    sol = r.sol(np.linspace(r.t[0], r.t[-1], 7)) if r.sol is not None else None
    return (r.t, r.y, sol, r.nfev, r.njev, r.status, r.message, r.success, r.stats, r.t_events,
            r.y_events)  # fmt: skip


def _same(a, b):
    for x, y in zip(_fields(a), _fields(b), strict=True):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        elif isinstance(x, list) and x and isinstance(x[0], np.ndarray):  # t_events, y_events
            for u, v in zip(x, y, strict=True):
                np.testing.assert_array_equal(u, v)
        else:
            assert x == y


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"dense_output": True, "profile": True},
        {"t_eval": np.linspace(0.0, 3.0, 5)},
        {"method": "auto", "rtol": 1e-6},
        {"events": [prey_peak, predators_at_one], "first_step": 1e-3, "max_steps": 5000},
        {"controller": "H211b", "dense_output": True, "events": predators_at_one},
    ],
)
def test_a_repeat_call_skips_the_full_checks_and_gives_the_full_result(monkeypatch, options):
    """The second call with the same options runs on what the first built (``check_problem``
    is not called again), with new values of ``y0``, ``t_span`` and ``args``; its result equals
    that of the full path field for field."""
    import stepsize.ode._repeat as repeat
    import stepsize.ode._solve as solve_module

    kw = {"method": "dp5", "rtol": 1e-8, "atol": 1e-8, **options}
    solve(lotka, (0.0, 3.0), np.array([1.0, 1.0]), args=(1.5, 1.0), **kw)
    calls = []
    checked = solve_module.check_problem
    monkeypatch.setattr(solve_module, "check_problem", lambda *a: calls.append(a) or checked(*a))
    fast = solve(lotka, (0.0, 3.0), np.array([1.1, 0.9]), args=(1.2, 0.8), **kw)
    assert calls == []
    monkeypatch.setattr(repeat, "_REMEMBERED", repeat.weakref.WeakKeyDictionary())
    full = solve(lotka, (0.0, 3.0), np.array([1.1, 0.9]), args=(1.2, 0.8), **kw)
    assert len(calls) == 1 and fast.success and fast.stats["compiled"]
    _same(fast, full)
    if "profile" in options:
        np.testing.assert_array_equal(fast.profile.h_lambda, full.profile.h_lambda)


def test_a_repeat_call_takes_an_equal_controller_object(monkeypatch):
    """A ``FilterController`` is part of the repeat key by value: an equal object built anew
    (as ``stepsize.nbody`` passes one per run) repeats; another safety does not."""
    import stepsize.ode._solve as solve_module

    kw = {"method": "dp5", "rtol": 1e-8, "atol": 1e-8, "args": (1.5, 1.0)}
    first = solve(lotka, (0.0, 3.0), np.array([1.0, 1.0]), controller=FilterController(), **kw)
    calls = []
    checked = solve_module.check_problem
    monkeypatch.setattr(solve_module, "check_problem", lambda *a: calls.append(a) or checked(*a))
    again = solve(lotka, (0.0, 3.0), np.array([1.0, 1.0]), controller=FilterController(), **kw)
    assert calls == []
    _same(first, again)
    other = solve(
        lotka, (0.0, 3.0), np.array([1.0, 1.0]), controller=FilterController(safety=0.5), **kw
    )
    assert len(calls) == 1 and other.nfev > first.nfev


def spring(t, y, dydt, k, scratch):
    """y'' = -k y in place, ``k`` a float64 array of one value; writes its ``scratch`` array."""
    scratch[:] = k[0] * y[0]
    dydt[0] = y[1]
    dydt[1] = -scratch[0]


def bottom(t, y, k, scratch):
    return y[1]


bottom.direction = 1.0
bottom.terminal = True


def test_a_repeat_call_with_array_args_events_and_an_open_end_gives_the_full_result(monkeypatch):
    """As a driver that restarts segments calls ``solve`` (``stepsize.nbody``'s KS runs):
    ``t_span = (0, inf)`` ended by a terminal event, ``args`` holding float64 arrays (their
    values travel at run time), ``first_step`` and ``max_steps`` new on every call.  The repeat
    result equals the full path's; a new ``terminal`` of the event takes the full path again.
    y = (1, 0), y'' = -k y: the velocity turns upwards at the bottom, t = pi / sqrt(k)."""
    import stepsize.ode._repeat as repeat

    kw = {"method": "dop853", "rtol": 1e-10, "atol": 1e-12, "inplace": True, "events": bottom}
    y0 = np.array([1.0, 0.0])
    solve(spring, (0.0, np.inf), y0, args=(np.array([4.0]), np.zeros(2)), **kw)
    args = (np.array([9.0]), np.zeros(2))
    fast = solve(spring, (0.0, np.inf), y0, args=args, first_step=0.01, max_steps=900, **kw)
    assert fast.status == 1 and fast.stats["compiled"]
    np.testing.assert_allclose(fast.t_events[0], [np.pi / 3.0], rtol=1e-9)
    monkeypatch.setattr(repeat, "_REMEMBERED", repeat.weakref.WeakKeyDictionary())
    full = solve(spring, (0.0, np.inf), y0, args=args, first_step=0.01, max_steps=900, **kw)
    _same(fast, full)
    monkeypatch.setattr(bottom, "terminal", 2, raising=False)  # stop at the second bottom
    twice = solve(spring, (0.0, np.inf), y0, args=args, first_step=0.01, max_steps=900, **kw)
    np.testing.assert_allclose(twice.t_events[0], [np.pi / 3.0, np.pi], rtol=1e-9)
    monkeypatch.setattr(bottom, "terminal", 2.0, raising=False)
    with pytest.raises(ValueError, match="terminal must be a bool or an int"):
        solve(spring, (0.0, np.inf), y0, args=args, **kw)
    with pytest.raises(ValueError, match="first_step must be positive"):
        solve(spring, (0.0, 1.0), y0, args=args, first_step=2.0, **{**kw, "events": None})


def test_a_repeat_call_with_bad_values_raises_as_the_full_path():
    kw = {"method": "dp5", "rtol": 1e-6, "atol": 1e-6, "args": (1.5, 1.0)}
    y0 = np.array([1.0, 1.0])
    solve(lotka, (0.0, 1.0), y0, **kw)
    with pytest.raises(ValueError, match="y0 must be finite"):
        solve(lotka, (0.0, 1.0), np.array([np.nan, 1.0]), **kw)
    with pytest.raises(ValueError, match="t_eval must be finite"):
        solve(lotka, (0.0, 1.0), y0, t_eval=np.array([0.0, np.nan]), **kw)
    with pytest.raises(ValueError, match="within t_span"):
        solve(lotka, (0.0, 1.0), y0, t_eval=np.array([0.5, 2.0]), **kw)
    with pytest.raises(ValueError, match="strictly monotonic"):
        solve(lotka, (0.0, 1.0), y0, t_eval=np.array([0.5, 0.2]), **kw)
    r = solve(lotka, (1.0, 1.0), y0, **kw)  # nothing to integrate: y0, as SciPy
    np.testing.assert_array_equal(r.y, y0[:, None])
    backwards = solve(lotka, (1.0, 0.0), y0, t_eval=np.array([1.0, 0.5, 0.0]), **kw)
    assert backwards.success and backwards.t.tolist() == [1.0, 0.5, 0.0]
    with pytest.raises(ArithmeticError, match="negative birth rate") as info:
        solve(lotka, (0.0, 1.0), y0, method="dp5", rtol=1e-6, atol=1e-6, args=(-1.0, 1.0))
    assert "at t = 0.0" in "".join(info.value.__notes__)


def test_a_repeat_call_neither_writes_nor_keeps_y0():
    """The repeat path hands ``y0`` to the loop uncopied (the loop copies it into its work
    arrays): ``y0`` stays as it was and the result does not alias it."""
    kw = {"method": "dp5", "rtol": 1e-6, "atol": 1e-6, "args": (1.5, 1.0)}
    solve(lotka, (0.0, 1.0), np.array([1.0, 1.0]), **kw)
    y0 = np.array([1.1, 0.9])
    r = solve(lotka, (0.0, 1.0), y0, **kw)
    np.testing.assert_array_equal(y0, [1.1, 0.9])
    y0[:] = 7.0
    np.testing.assert_array_equal(r.y[:, 0], [1.1, 0.9])
    assert r.y[0, -1] != 7.0 and r.success


def test_a_repeat_call_with_a_strided_y0_runs_on_its_values():
    """A column of a 2-D array (``r.y[:, -1]``, as a user continuing a run passes it) is not
    C-contiguous: the repeat path must integrate from its values, not from the memory after its
    first element (the ODEStep env restarts every interval this way)."""
    kw = {"method": "dp5", "rtol": 1e-6, "atol": 1e-6, "args": (1.5, 1.0)}
    solve(lotka, (0.0, 1.0), np.array([1.0, 1.0]), **kw)
    rows = np.array([[1.1, 5.0], [0.9, 6.0]])
    strided = rows[:, 0]
    assert not strided.flags.c_contiguous
    r = solve(lotka, (0.0, 1.0), strided, **kw)
    expected = solve(lotka, (0.0, 1.0), np.array([1.1, 0.9]), **kw)
    np.testing.assert_array_equal(r.y[:, 0], [1.1, 0.9])
    np.testing.assert_array_equal(r.y[:, -1], expected.y[:, -1])
    assert r.nfev == expected.nfev


def test_the_lazy_fields_of_a_result_are_fields():
    """``stats``, ``sol``, ``t_events`` and ``profile`` are computed when first read, and behave
    as the dataclass fields they are: assignable, kept by ``dataclasses.replace``."""
    import dataclasses

    r = solve(lotka, (0.0, 2.0), np.array([1.0, 1.0]), method="dp5", args=(1.5, 1.0))
    assert r.sol is None and r.t_events is None and r.profile is None
    assert r.stats["naccept"] + r.stats["nreject"] >= r.t.size - 1
    r.stats["mine"] = 1
    assert r.stats["mine"] == 1
    copy = dataclasses.replace(r, message="copied")
    assert copy.message == "copied" and copy.stats is r.stats and copy.nfev == r.nfev
    np.testing.assert_array_equal(copy.y, r.y)


def _decay(t, y):
    return -y


@pytest.mark.parametrize("extra", [-1, 0, 1, 2])
def test_a_run_just_past_its_first_storage_grows_it_and_keeps_every_step(extra):
    """Steps of a fixed size (``first_step = max_step = 2^-8``, loose tolerances, a span of whole
    steps: the times are exact) leave the first storage (``CAPACITY`` rows for a small state:
    the first point and ``CAPACITY - 1`` steps) one row short, fill it exactly, or outgrow it by
    one or two: every point is kept, in order, on y = exp(-t) to the method's error, and the
    dense output agrees with the points (:func:`~stepsize.ode._loop.grown_run`)."""
    from stepsize.ode._output import BLOCK, CAPACITY

    assert BLOCK // 3 >= CAPACITY  # n = 2 gets the full CAPACITY rows
    steps = CAPACITY - 1 + extra
    h = 2.0**-8
    r = solve(
        _decay,
        (0.0, steps * h),
        [1.0, 2.0],
        method="dp5",
        first_step=h,
        max_step=h,
        rtol=1e-2,
        atol=1e-2,
        dense_output=True,
    )
    assert r.success and r.stats["nreject"] == 0
    assert r.t.size == steps + 1 and r.stats["naccept"] == steps
    np.testing.assert_array_equal(r.t, h * np.arange(steps + 1))
    exact = np.exp(-r.t) * np.array([[1.0], [2.0]])
    np.testing.assert_allclose(r.y, exact, rtol=1e-10)  # dp5 at h = 2^-8: error ~ 1e-13
    np.testing.assert_allclose(r.sol(r.t), r.y, rtol=1e-12, atol=1e-14)
