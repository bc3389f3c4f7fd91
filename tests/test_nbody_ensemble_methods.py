"""Ensembles of gr15 and wh members equal looping integrate; members of very different cost
share the threads evenly."""

import numpy as np
import pytest

from stepsize.nbody import (
    integrate,
    integrate_ensemble,
    outer_solar_system,
    paper_three_body,
)

SYSTEMS = [paper_three_body(seed) for seed in range(8)]  # closest approaches 1e-3 .. 7 au


def assert_members_are_the_loop(ens, loop):
    assert len(ens) == len(loop)
    for k, r in enumerate(loop):
        e = ens[k]
        assert (e.status, e.t, e.steps, e.events) == (r.status, r.t, r.steps, r.events), k
        np.testing.assert_array_equal(e.system.positions, r.system.positions)
        np.testing.assert_array_equal(e.system.velocities, r.system.velocities)
        assert e.energy_error == pytest.approx(r.energy_error, rel=1e-12, abs=1e-300)
        assert e.force_evaluations == r.force_evaluations
        assert e.min_distance == r.min_distance
        if r.history is not None:
            np.testing.assert_array_equal(e.history.t, r.history.t)
            np.testing.assert_array_equal(e.history.positions, r.history.positions)
            np.testing.assert_array_equal(e.history.energy_error, r.history.energy_error)


@pytest.mark.parametrize(
    "kw",
    [
        dict(save_every=1.0),
        dict(epsilon=1e-7, adaptive="global", encounter_distance=0.3),
        # radii 0.1 au: the members passing closer than 0.2 au stop at their collision
        dict(radii=[0.1, 0.1, 0.1], collision="stop", save_every=1.0),
    ],
)
def test_gr15_members_are_bit_for_bit_integrate(kw):
    loop = [integrate(s, 3.0, "gr15", **kw) for s in SYSTEMS]
    ens = integrate_ensemble(SYSTEMS, 3.0, "gr15", **kw)
    assert_members_are_the_loop(ens, loop)
    if "radii" in kw:
        assert 0 < list(ens.status).count("collision") < len(SYSTEMS)
        assert ens.events[4][0].kind == "collision"


def planetary(k):
    """The outer Solar System with its planets' masses scaled by 1 + k / 4 (members whose
    Kepler parameters and Jacobi masses differ)."""
    base = outer_solar_system(pluto=False)
    masses = base.masses.copy()
    masses[1:] *= 1.0 + k / 4.0
    return base.replace(masses=masses)


@pytest.mark.parametrize(
    "kw",
    [
        dict(dt=10.0, corrector=5, save_every=1000.0),
        dict(dt=8.0, coordinates="democratic_heliocentric", save_every=1001.0),
    ],
)
def test_wh_members_are_bit_for_bit_integrate(kw):
    systems = [planetary(k) for k in range(3)]
    loop = [integrate(s, 3000.0, "wh", **kw) for s in systems]
    ens = integrate_ensemble(systems, 3000.0, "wh", **kw)
    assert_members_are_the_loop(ens, loop)
    assert len(set(ens.energy_error)) == 3  # the members did differ


@pytest.mark.parametrize(
    "systems, kwargs, match",
    [
        (SYSTEMS[:2], dict(radii=[0.1] * 3, collision="merge"), "'merge' needs integrate"),
        (SYSTEMS[:2], dict(backend="cuda"), "runs hermite4, leapfrog, gbs only, not 'gr15'"),
        (
            [SYSTEMS[0], SYSTEMS[1].replace(masses=[1.0, 1.0, 0.0])],
            {},
            "same massive bodies",
        ),
    ],
)
def test_bad_gr15_ensembles_name_the_argument(systems, kwargs, match):
    with pytest.raises(ValueError, match=match):
        integrate_ensemble(systems, 1.0, "gr15", **kwargs)
    with pytest.raises(ValueError, match="collision in integrate_ensemble needs gr15"):
        integrate_ensemble(SYSTEMS[:2], 1.0, "hermite4", radii=[0.1] * 3, collision="stop")


def test_chunks_go_to_whichever_thread_is_free():
    """One slow member (a 0.3 s sleep, so that the schedule and not the CPU load of the
    machine decides) among 63 instant ones: while its thread sleeps through it, the other
    thread takes every other chunk.  A static split in halves (a ``prange``) would leave 31
    members behind the slow one."""
    import threading
    import time

    from stepsize.nbody._ensemble import _parallel_chunks, guided_bounds

    cost = np.zeros(64)
    cost[0] = 0.3
    ran = {}

    def fn(lo, hi):
        ran.setdefault(threading.get_ident(), []).extend(range(lo, hi))
        if cost[lo:hi].sum() > 0.0:
            time.sleep(cost[lo:hi].sum())

    work = _parallel_chunks(64, fn, threads=2)
    assert sorted(sum(ran.values(), [])) == list(range(64))
    assert sorted(work["members"]) == sorted(len(v) for v in ran.values())
    bounds = guided_bounds(64, 2)
    assert sum(work["chunks"]) == len(bounds) - 1 and all(c >= 0.0 for c in work["cpu_s"])
    slow = next(v for v in ran.values() if 0 in v)
    assert len(slow) <= bounds[1] + 4  # chunk 0 and at most a few more


def test_guided_chunks_cover_the_members_and_shrink():
    """Chunks tile [0, m) in order, each at most the one before, the first 1 / (8 threads) of
    the members, the last ones of two members or fewer."""
    from stepsize.nbody._ensemble import guided_bounds

    for m, threads in ((1, 2), (5, 2), (64, 2), (1000, 2), (1000, 4), (10001, 3)):
        b = np.array(guided_bounds(m, threads))
        sizes = np.diff(b)
        assert b[0] == 0 and b[-1] == m and (sizes > 0).all()
        assert (np.diff(sizes) <= 0).all()
        assert sizes[0] == max(min(m, 2), m // (8 * threads)) and sizes[-1] <= 2


def test_an_expensive_member_is_reported_per_thread():
    """A close encounter (seed 4: 1e-3 au) costs as much as many ordinary members; the result
    is the same on one thread and on two, and ``stats`` tells the work of each thread."""
    import numba

    systems = [SYSTEMS[4]] + [SYSTEMS[0]] * 15
    one_thread = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        serial = integrate_ensemble(systems, 3.0, "hermite4")
    finally:
        numba.set_num_threads(one_thread)
    both = integrate_ensemble(systems, 3.0, "hermite4")
    assert serial.steps[0] > 10 * serial.steps[1]
    np.testing.assert_array_equal(both.positions, serial.positions)
    assert serial.stats["threads"]["members"] == [16]
    work = both.stats["threads"]
    assert sum(work["members"]) == 16 and 1 <= len(work["members"]) <= min(2, one_thread)
    assert all(t >= 0.0 for t in work["cpu_s"])
