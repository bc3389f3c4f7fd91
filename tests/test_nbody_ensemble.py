"""stepsize.nbody.integrate_ensemble equals looping integrate, on every back end."""

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepsize.nbody import integrate, integrate_ensemble, kepler, paper_three_body, pythagorean

SYSTEMS = [paper_three_body(seed) for seed in range(12)]


def assert_equal_to_loop(ens, loop, exact=True):
    same = (
        np.testing.assert_array_equal
        if exact
        else (lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12))
    )
    assert len(ens) == len(loop)
    for k, r in enumerate(loop):
        e = ens[k]
        assert (e.status, e.t, e.steps) == (r.status, r.t, r.steps), k
        same(e.system.positions, r.system.positions)
        same(e.system.velocities, r.system.velocities)
        assert e.energy_error == pytest.approx(r.energy_error, rel=1e-12, abs=1e-300)
        assert e.com_drift == pytest.approx(r.com_drift, rel=1e-12, abs=1e-300)
        assert e.events == r.events
        if r.history is not None:
            same(e.history.t, r.history.t)
            same(e.history.positions, r.history.positions)


KERNEL_CASES = [
    ("hermite4", {}),
    ("hermite4", dict(criterion="aarseth", eta=0.01)),
    ("hermite4", dict(dt=1e-3)),
    ("leapfrog", dict(eta=0.02)),
    ("hermite4", dict(encounter_distance=0.5, escape_radius=30.0)),
]


@pytest.mark.parametrize(
    "backend, method, kw",
    [("numba", m, kw) for m, kw in KERNEL_CASES]
    + [("numba", "gbs", dict(rtol=1e-9)), ("numba", "gbs", dict(encounter_distance=0.5))],
)
def test_ensemble_is_bit_for_bit_the_loop(backend, method, kw):
    loop = [integrate(s, 3.0, method, save_every=1.0, **kw) for s in SYSTEMS]
    ens = integrate_ensemble(SYSTEMS, 3.0, method, backend=backend, save_every=1.0, **kw)
    assert_equal_to_loop(ens, loop)
    assert np.array_equal(ens.force_evaluations, [r.force_evaluations for r in loop])
    assert np.array_equal(ens.min_distance, [r.min_distance for r in loop])
    assert ens.stats["backend"] == backend and ens.stats["options"] == loop[0].stats["options"]


def test_ensemble_stops_like_the_loop():
    systems = SYSTEMS[:4] + [pythagorean()]
    kw = dict(max_energy_error=3e-6, save_every=0.5, eta=0.05)
    loop = [integrate(s, 2.0, "hermite4", **kw) for s in systems]
    assert {r.status for r in loop} == {"done", "energy"}
    ens = integrate_ensemble(systems, 2.0, "hermite4", **kw)
    assert_equal_to_loop(ens, loop)
    assert not ens.success
    early = np.array([r.t < 2.0 for r in loop])
    assert early.any() and np.all(np.isnan(ens.history.t[early, -1]))  # no rows after a stop
    capped = integrate_ensemble(systems, 2.0, "leapfrog", max_steps=50)
    assert list(capped.status) == [
        integrate(s, 2.0, "leapfrog", max_steps=50).status for s in systems
    ]


def test_runge_kutta_ensemble_matches_the_loop_and_groups_masses():
    systems = SYSTEMS[:3] + [SYSTEMS[3].replace(masses=[1.0, 2.0, 0.5])]
    loop = [integrate(s, 2.0, "dop853", rtol=1e-9) for s in systems]
    ens = integrate_ensemble(systems, 2.0, "dop853", rtol=1e-9)
    assert_equal_to_loop(ens, loop)
    assert np.array_equal(ens.force_evaluations, [r.force_evaluations for r in loop])
    assert np.all(np.isnan(ens.min_distance))
    saved = integrate_ensemble(systems, 2.0, "dop853", rtol=1e-9, save_every=0.5)
    assert_equal_to_loop(
        saved,
        [integrate(s, 2.0, "dop853", rtol=1e-9, save_every=0.5) for s in systems],
        exact=False,
    )
    failed = integrate_ensemble(systems[:2], 2.0, "dop853", rtol=1e-9, max_steps=20)
    assert_equal_to_loop(
        failed, [integrate(s, 2.0, "dop853", rtol=1e-9, max_steps=20) for s in systems[:2]]
    )


def test_checkpoint_resumes_an_interrupted_ensemble(tmp_path, monkeypatch):
    from stepsize.nbody import _ensemble

    path = tmp_path / "run.npz"
    kw = dict(save_every=1.0, encounter_distance=0.5, checkpoint=path, chunk_size=5)
    whole = integrate_ensemble(SYSTEMS, 3.0, "hermite4", save_every=1.0, encounter_distance=0.5)
    real, calls = _ensemble._run_threads, []

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(_ensemble, "_run_threads", interrupted)
    with pytest.raises(KeyboardInterrupt):
        integrate_ensemble(SYSTEMS, 3.0, "hermite4", **kw)
    monkeypatch.setattr(_ensemble, "_run_threads", real)
    resumed = integrate_ensemble(SYSTEMS, 3.0, "hermite4", **kw)
    assert resumed.stats["resumed"] == 5
    assert_equal_to_loop(resumed, [whole[k] for k in range(len(whole))])
    assert integrate_ensemble(SYSTEMS, 3.0, "hermite4", **kw).stats["resumed"] == len(SYSTEMS)
    with pytest.raises(ValueError, match="different run"):
        integrate_ensemble(SYSTEMS, 3.0, "hermite4", **{**kw, "encounter_distance": 0.4})


@pytest.mark.parametrize(
    "systems, kwargs, err, match",
    [
        ([], {}, ValueError, "non-empty"),
        ([SYSTEMS[0], kepler()], {}, ValueError, r"systems\[1\] has positions of shape"),
        ([SYSTEMS[0], "x"], {}, TypeError, r"systems\[1\] must be a System"),
        (SYSTEMS[:2], dict(on_event="record"), ValueError, "on_event"),
        (SYSTEMS[:2], dict(backend="gpu"), ValueError, "backend: unknown 'gpu'"),
        (SYSTEMS[:2], dict(backend="numpy"), ValueError, "backend: unknown 'numpy'"),
        (SYSTEMS[:2], dict(method="dop853", backend="cuda"), ValueError, "runs hermite4"),
        (SYSTEMS[:2], dict(client="localhost"), TypeError, "client must be"),
        (SYSTEMS[:2], dict(method="dop853", escape_radius=5.0), ValueError, "escape_radius"),
        (SYSTEMS[:2], dict(method="hermite4", rtol=1e-3), TypeError, "no option 'rtol'"),
        (SYSTEMS[:2], dict(chunk_size=0), ValueError, "chunk_size"),
    ],
)
def test_bad_ensembles_name_the_argument(systems, kwargs, err, match):
    with pytest.raises(err, match=match):
        integrate_ensemble(systems, 1.0, **kwargs)


@pytest.mark.gpu
@pytest.mark.parametrize(
    "method, kw",
    [("hermite4", {}), ("leapfrog", dict(eta=0.02)), ("gbs", dict(rtol=1e-9))],
)
def test_gpu_ensemble_matches_the_cpu(method, kw):
    kw = dict(save_every=0.5, encounter_distance=0.2, **kw)
    cpu = integrate_ensemble(SYSTEMS, 1.0, method, **kw)
    gpu = integrate_ensemble(SYSTEMS, 1.0, method, backend="cuda", **kw)
    # the GPU contracts a*b+c into fused multiply-adds: equal to rounding, amplified by the
    # chaos of three bodies over one time unit
    assert list(gpu.status) == list(cpu.status)
    np.testing.assert_allclose(gpu.positions, cpu.positions, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gpu.energy_error, cpu.energy_error, rtol=1e-3, atol=1e-13)
    assert np.abs(gpu.steps - cpu.steps).max() <= 1
    assert 0.0 < gpu.stats["useful_lane_fraction"] <= gpu.stats["warp_lane_fraction"] <= 1.0


@pytest.mark.gpu
def test_gpu_kernel_updates_cupy_arrays_in_place():
    cp = pytest.importorskip("cupy")
    from stepsize.nbody import _ensemble
    from stepsize.nbody import _gravity as K
    from stepsize.nbody._cuda import MemberArrays, run_cuda
    from stepsize.nbody._integrate import output_times
    from stepsize.nbody._member import scratch_shape
    from stepsize.nbody._options import kernel_params, parse

    host = integrate_ensemble(SYSTEMS, 1.0, "hermite4", backend="cuda")
    opts = parse("hermite4", {})
    pos, vel, masses, G = _ensemble._stack(SYSTEMS)
    m, n, d = pos.shape
    e0 = _ensemble._invariants(pos, vel, masses, G, 0.0)[0]
    par = np.stack([kernel_params(opts, g) for g in G])
    work, vec = scratch_shape("hermite4", n, d)
    hist = tuple(cp.asarray(a) for a in _ensemble._buffers(m, n, d, None, False))
    arrays = MemberArrays(
        *(cp.asarray(a) for a in (pos, vel, masses, par, output_times(1.0, None), e0)),
        hist,
        cp.zeros((m, K.N_SCAL)),
        cp.zeros((m, K.N_CNT), dtype=cp.int64),
        cp.zeros((m,) + work),
        cp.zeros((m,) + vec),
        cp.zeros((m, n), dtype=cp.int8),
    )
    run_cuda(0, opts.max_energy_error, False, arrays)
    np.testing.assert_array_equal(cp.asnumpy(arrays.pos), host.positions)
    np.testing.assert_array_equal(cp.asnumpy(arrays.cnt)[:, K.C_STEPS], host.steps)


def test_lane_fractions_count_idle_lanes():
    from stepsize.backend import lane_fractions

    grid, warp = lane_fractions(np.r_[np.full(31, 10), 100, np.full(32, 10)], warp=32)
    assert grid == pytest.approx((63 * 10 + 100) / (100 * 64))
    assert warp == pytest.approx((63 * 10 + 100) / (32 * 100 + 32 * 10))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=200), st.sampled_from([1, 4, 32]))
def test_lane_fractions_are_bounded_and_exact_without_imbalance(steps, warp):
    from stepsize.backend import lane_fractions

    grid, per_warp = lane_fractions(steps, warp=warp)
    assert 0.0 < grid <= per_warp * (1 + 1e-12) and per_warp <= 1.0 + 1e-12
    if len(set(steps)) == 1 or warp == 1:  # nobody waits on a slower lane of its warp
        assert per_warp == pytest.approx(1.0)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.permutations(range(6)))
def test_checkpoint_take_reorders_every_field(order):
    from stepsize.nbody import _checkpoint as ckpt

    ens = ordered()
    assert any(ens.events)  # an encounter record travels with its member
    moved = ckpt.take(ens, np.array(order))
    for k, j in enumerate(order):
        assert moved[k].status == ens[j].status and moved[k].events == ens[j].events
        np.testing.assert_array_equal(moved[k].system.positions, ens[j].system.positions)
        np.testing.assert_array_equal(moved[k].history.positions, ens[j].history.positions)


@functools.cache
def ordered():
    systems = SYSTEMS[:5] + [pythagorean()]
    return integrate_ensemble(systems, 3.0, "hermite4", save_every=1.0, encounter_distance=0.5)
