"""stepsize.schedules: formulas, export, the Bellman planner, cost matrices, OSS and evolve."""

import functools
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepsize import schedules as S
from stepsize.parallel import Runner

# ----------------------------------------------------------------------------- formulas


@settings(max_examples=40, deadline=None)
@given(K=st.integers(1, 300), name=st.sampled_from(sorted(S.SCHEDULES)))
def test_every_formula_is_strictly_increasing_with_exact_endpoints(K, name):
    t = S.get(name, K)
    assert t.shape == (K + 1,) and t.dtype == np.float64
    assert t[0] == 0.0 and t[-1] == 1.0
    assert np.all(np.diff(t) > 0)
    S.check_schedule(t)


def test_karras_matches_the_edm_formula_on_sigma_one_minus_t():
    K, smin, rho = 5, 0.002, 7.0
    i = np.arange(K)
    sigma = (1.0 + i / (K - 1) * (smin ** (1 / rho) - 1.0)) ** rho
    np.testing.assert_allclose(S.karras(K, smin, rho), np.append(1.0 - sigma, 1.0), atol=1e-15)
    assert S.karras(K)[-2] == pytest.approx(1.0 - smin)


def test_logsnr_uniform_is_uniform_in_half_log_snr():
    t = S.logsnr_uniform(8, eps=1e-3)
    lam = np.log(t[1:-1] / (1.0 - t[1:-1]))
    np.testing.assert_allclose(np.diff(lam), np.diff(lam)[0], rtol=1e-9)
    np.testing.assert_allclose(lam[0], -math.log(999.0) + np.diff(lam)[0], rtol=1e-12)


def test_quadratic_and_uniform():
    np.testing.assert_allclose(S.quadratic(4), [0.0, 0.4375, 0.75, 0.9375, 1.0])
    np.testing.assert_array_equal(S.uniform(4), [0.0, 0.25, 0.5, 0.75, 1.0])


def test_ays_reproduces_the_published_lists_and_their_interpolation():
    for model, sigmas in S.AYS_SIGMAS.items():
        t = S.ays(10, model)
        # SD 1.5 and SDXL: the times of the published timesteps, whose noise levels are the
        # published sigmas within the integer resolution (one step is ~3.5% of sigma near 0.1)
        rtol = 1.5e-2 if model in S.AYS_TIMESTEPS else 1e-12
        np.testing.assert_allclose(1.0 / t[1:-1] - 1.0, sigmas[1:-1], rtol=rtol)
    for model, ts in S.AYS_TIMESTEPS.items():
        kw = S.to_diffusers(S.ays(10, model), kind="timesteps")
        assert kw["timesteps"].tolist() == list(ts[:-1])
    assert S.to_diffusers(S.ays(10, "sd15"), kind="timesteps")["timesteps"].tolist() == [
        999,
        850,
        736,
        645,
        545,
        455,
        343,
        233,
        124,
        24,
    ]
    # ComfyUI's regression values for AYS SD1.5 interpolated to 5 noise levels
    np.testing.assert_allclose(
        S.loglinear_interp(S.AYS_SIGMAS["sd15"], 5),
        [14.615, 3.22693616, 1.396, 0.51004706, 0.029],
        rtol=1e-8,
    )
    np.testing.assert_allclose(
        1.0 / S.ays(4)[1:-1] - 1.0, [3.22693616, 1.396, 0.51004706], rtol=1e-8
    )
    np.testing.assert_allclose(
        S.loglinear_interp(S.AYS_SIGMAS["sdxl"], 11), S.AYS_SIGMAS["sdxl"], rtol=1e-15
    )


def test_formula_errors_name_the_argument():
    with pytest.raises(ValueError, match="unknown 'edm'.*uniform, karras"):
        S.get("edm", 4)
    with pytest.raises(ValueError, match="K must be an integer >= 1"):
        S.uniform(0)
    with pytest.raises(TypeError, match="K must be an integer"):
        S.karras(2.5)
    with pytest.raises(ValueError, match="sigma_min"):
        S.karras(4, sigma_min=1.5)
    with pytest.raises(ValueError, match="model: unknown 'sd3'"):
        S.ays(4, "sd3")
    with pytest.raises(ValueError, match="strictly decreasing"):
        S.loglinear_interp([1.0, 2.0], 4)


@pytest.mark.parametrize(
    "bad, match",
    [
        ([0.0, 0.6, 0.5, 1.0], "strictly increasing"),
        ([0.1, 0.5, 1.0], "start at exactly 0"),
        ([0.0, 0.5, 0.999], "end at exactly 1"),
        ([0.0, np.nan, 1.0], "finite"),
        ([[0.0, 1.0]], "1-D"),
    ],
)
def test_check_schedule_rejects_bad_schedules(bad, match):
    with pytest.raises(ValueError, match=match):
        S.check_schedule(bad)


# ----------------------------------------------------------------------------- export


@pytest.mark.parametrize("name", sorted(S.SCHEDULES))
def test_diffusers_and_kdiffusion_round_trips(name):
    t = S.get(name, 7)
    kw = S.to_diffusers(t)
    assert list(kw) == ["sigmas"] and len(kw["sigmas"]) == 7 and kw["sigmas"][0] == 1.0
    np.testing.assert_allclose(S.from_diffusers(**kw), t, rtol=0, atol=1e-15)
    sig = S.to_kdiffusion(t)
    assert sig[0] == 1.0 and sig[-1] == 0.0 and np.all(np.diff(sig) < 0)
    np.testing.assert_allclose(S.from_kdiffusion(sig), t, rtol=0, atol=1e-15)


def test_diffusers_timesteps_round_trip_the_ays_list():
    ays = list(S.AYS_TIMESTEPS["sd15"][:-1])
    t = S.from_diffusers(timesteps=ays)
    assert t[0] == 0.0 and t[-1] == 1.0
    assert S.to_diffusers(t, "timesteps")["timesteps"].tolist() == ays
    np.testing.assert_array_equal(S.t_to_timesteps(t), S.AYS_TIMESTEPS["sd15"])
    np.testing.assert_allclose(S.t_to_timesteps([0.0, 0.5], discrete=False), [1000.0, 500.0])
    np.testing.assert_allclose(S.sigma_to_t(S.t_to_sigma([0.25, 0.5])), [0.25, 0.5])


def test_export_errors():
    with pytest.raises(ValueError, match="collide"):
        S.to_diffusers(S.uniform(2000), "timesteps")
    with pytest.raises(ValueError, match="kind: unknown"):
        S.to_diffusers(S.uniform(4), "betas")
    with pytest.raises(ValueError, match="exactly one"):
        S.from_diffusers()
    with pytest.raises(ValueError, match="start at exactly 0"):
        S.from_kdiffusion([0.9, 0.5, 0.0])


def test_json_save_load_round_trip(tmp_path):
    t = S.karras(6)
    S.save_schedule(tmp_path / "s.json", t, model="moons", steps=6)
    back, meta = S.load_schedule(tmp_path / "s.json")
    np.testing.assert_array_equal(back, t)
    assert meta == {"model": "moons", "steps": 6}
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a schedule file"):
        S.load_schedule(tmp_path / "bad.json")


# ----------------------------------------------------------------------------- bellman


def _brute_force(cost, K, coeff):
    n = cost.shape[0] - 1
    return min(
        S.path_cost(cost, (0, *mid, n), coeff) for mid in itertools.combinations(range(1, n), K - 1)
    )


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 9),
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
    coeff=st.sampled_from([1.0, 1.15, 0.7]),
    forbid=st.booleans(),
)
def test_bellman_equals_brute_force_enumeration(n, data, seed, coeff, forbid):
    K = data.draw(st.integers(1, n - 1))
    rng = np.random.default_rng(seed)
    cost = rng.random((n + 1, n + 1)) * rng.choice([1.0, 1e-6, 1e6])
    if forbid:
        cost[rng.random(cost.shape) < 0.2] = np.inf
    best = _brute_force(cost, K, coeff)
    if not np.isfinite(best):
        with pytest.raises(ValueError, match="no path"):
            S.bellman(cost, K, coeff)
        return
    path = S.bellman(cost, K, coeff)
    assert path.shape == (K + 1,) and path[0] == 0 and path[-1] == n
    assert np.all(np.diff(path) > 0)
    assert S.path_cost(cost, path, coeff) == pytest.approx(best, rel=1e-12)


def test_bellman_breaks_ties_toward_small_indices_and_ignores_the_lower_triangle():
    cost = np.zeros((8, 8))
    cost[np.tril_indices(8)] = np.nan
    np.testing.assert_array_equal(S.bellman(cost, 3), [0, 1, 2, 7])


@pytest.mark.parametrize(
    "cost, K, kw, match",
    [
        (np.ones((5, 5)), 4, {}, "K must be < N = 4"),
        (np.ones((5, 5)), 0, {}, "K must be an integer >= 1"),
        (np.ones((4, 5)), 1, {}, "square"),
        (np.ones(5), 1, {}, "square"),
        (np.where(np.eye(5, k=1) > 0, np.nan, 1.0), 2, {}, "NaN"),
        (np.where(np.eye(5, k=2) > 0, -np.inf, 1.0), 2, {}, "-inf"),
        (np.ones((5, 5)), 2, {"coeff": 0.0}, "coeff"),
        (np.full((5, 5), np.inf), 2, {}, "no path"),
    ],
)
def test_bellman_rejects_bad_input(cost, K, kw, match):
    with pytest.raises(ValueError, match=match):
        S.bellman(cost, K, **kw)


# ----------------------------------------------------------------------------- cost matrices


def _naive_cost(x, v, t, squared):
    n = len(t)
    c = np.full((n, n), np.inf)
    for i in range(n - 1):
        for j in range(i + 1, n):
            e = (x[i] + (t[j] - t[i]) * v[i] - x[j]).reshape(x.shape[1], -1)
            norms = np.sqrt(np.sum(e * e, axis=1))
            c[i, j] = np.mean(norms**2 if squared else norms)
    return c


@pytest.mark.parametrize("kind", ["boss", "gits"])
def test_cost_matrix_matches_the_definition(kind):
    rng = np.random.default_rng(3)
    t = np.sort(rng.random(9))
    x, v = rng.standard_normal((9, 5, 2, 3)), rng.standard_normal((8, 5, 2, 3))
    np.testing.assert_allclose(
        S.cost_matrix(x, v, t, kind), _naive_cost(x, v, t, kind == "boss"), rtol=1e-13
    )
    full_v = np.concatenate([v, v[:1]])
    np.testing.assert_array_equal(S.cost_matrix(x, full_v, t, kind), S.cost_matrix(x, v, t, kind))


def test_cost_matrix_of_exact_exponential_and_of_straight_lines():
    t = np.linspace(0.0, 1.0, 6)
    x = np.exp(t)[:, None, None]  # x' = x
    c = S.cost_matrix(x, x[:-1], t)
    i, j = np.triu_indices(6, 1)
    np.testing.assert_allclose(
        c[i, j], (np.exp(t[i]) * (1 + t[j] - t[i]) - np.exp(t[j])) ** 2, rtol=1e-12
    )
    a, b = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    line = a + t[:, None, None] * b  # x' = b: every Euler jump is exact
    assert np.abs(S.cost_matrix(line, np.broadcast_to(b, line.shape), t)[i, j]).max() < 1e-28
    assert np.all(np.isinf(c[np.tril_indices(6)]))


def test_step_cost_matrix_with_euler_steps_is_the_boss_cost():
    rng = np.random.default_rng(4)
    t = np.linspace(0.0, 2.0, 7)
    x = rng.standard_normal((7, 3, 2))

    def f(y, s):
        return np.sin(y) * s

    def euler(y, t0, t1):
        return y + (t1 - t0) * f(y, t0)

    v = np.stack([f(x[i], t[i]) for i in range(7)])
    np.testing.assert_allclose(S.step_cost_matrix(euler, x, t), S.cost_matrix(x, v, t), rtol=1e-12)


def test_cost_matrix_rejects_bad_input():
    t = np.linspace(0, 1, 4)
    x = np.zeros((4, 2, 1))
    with pytest.raises(ValueError, match="traj must have shape"):
        S.cost_matrix(x[:3], x[:3], t)
    with pytest.raises(ValueError, match="vel must have shape"):
        S.cost_matrix(x, x[:2], t)
    with pytest.raises(ValueError, match="vel must match"):
        S.cost_matrix(x, np.zeros((3, 2, 2)), t)
    with pytest.raises(ValueError, match="strictly increasing"):
        S.cost_matrix(x, x, t[::-1])
    with pytest.raises(ValueError, match="kind: unknown"):
        S.cost_matrix(x, x, t, "lpips")
    with pytest.raises(ValueError, match="finite"):
        S.cost_matrix(np.full((4, 2, 1), np.nan), x, t)


# ----------------------------------------------------------------------------- OSS


def _oss_reference(velocity, ref, t, K):
    """Independent, slow version of the state-carrying dynamic program."""
    n = len(t) - 1
    layer = {0: (0.0, ref[0], [0])}
    for k in range(1, K + 1):
        nxt = {}
        for i, (_, xi, path) in sorted(layer.items()):
            if i == n:
                continue
            vi = velocity(xi, np.full(len(xi), t[i]))
            for j in range(i + 1, n - (K - k) + 1):
                xj = xi + (t[j] - t[i]) * vi
                err = np.mean(np.sum((xj - ref[j]) ** 2, axis=1))
                if j not in nxt or err < nxt[j][0]:
                    nxt[j] = (err, xj, [*path, j])
        layer = nxt
    return layer[n][2]


def _rotation(x, t):
    return np.stack([-x[:, 1], x[:, 0]], axis=1) * (1.0 + 3.0 * t[:, None] ** 2)


def test_oss_path_matches_an_independent_implementation_and_beats_uniform():
    t = np.linspace(0.0, 1.0, 13)
    x0 = np.random.default_rng(5).standard_normal((6, 2))
    angle = t + t**3  # exact solution of x' = (1 + 3 t^2) J x
    c, s = np.cos(angle), np.sin(angle)
    ref = np.stack(
        [
            np.stack([ci * x0[:, 0] - si * x0[:, 1], si * x0[:, 0] + ci * x0[:, 1]], 1)
            for ci, si in zip(c, s)
        ]
    )
    for K in (1, 3, 5):
        path = S.oss_path(_rotation, ref, t, K)
        assert path.tolist() == _oss_reference(_rotation, ref, t, K)

    def final_error(path):
        x = ref[0]
        for i, j in zip(path[:-1], path[1:]):
            x = x + (t[j] - t[i]) * _rotation(x, np.full(len(x), t[i]))
        return np.mean(np.sum((x - ref[-1]) ** 2, axis=1))

    assert final_error(S.oss_path(_rotation, ref, t, 4)) < final_error([0, 3, 6, 9, 12])


def test_oss_path_rejects_bad_input():
    t = np.linspace(0, 1, 5)
    ref = np.zeros((5, 3, 2))
    with pytest.raises(ValueError, match="K must be < N"):
        S.oss_path(_rotation, ref, t, 4)
    with pytest.raises(ValueError, match="velocity must return"):
        S.oss_path(lambda x, s: x[:, :1], ref, t, 2)


# ----------------------------------------------------------------------------- evolve


def _path_fitness(cost, grid, times):
    return S.path_cost(cost, np.searchsorted(grid, times))


@pytest.fixture(scope="module")
def small_problem():
    rng = np.random.default_rng(11)
    n = 15
    cost = rng.random((n + 1, n + 1))
    grid = np.linspace(0.0, 1.0, n + 1)
    return cost, grid, functools.partial(_path_fitness, cost, grid)


def test_evolve_finds_the_optimum_of_a_small_problem_with_a_cache(small_problem):
    cost, grid, fitness = small_problem
    calls = []

    def counting(times):
        calls.append(tuple(times))
        return fitness(times)

    best = _brute_force(cost, 3, 1.0)
    res = S.evolve(counting, grid, 3, population=20, epochs=8, top_k=5, seed=1)
    assert res.fitness == pytest.approx(best)
    assert res.times[0] == 0.0 and res.times[-1] == 1.0 and res.indices.shape == (4,)
    assert len(calls) == len(set(calls)) == res.stats["evaluations"] <= math.comb(14, 2)
    assert np.all(np.diff(res.history) <= 0) and res.history.shape == (8,)
    assert res.stats["backend"] == "serial"


def test_evolve_seeded_with_a_schedule_keeps_it_and_resumes_from_a_checkpoint(
    small_problem, tmp_path
):
    cost, grid, fitness = small_problem
    opt = S.bellman(cost, 4)
    seeded = S.evolve(fitness, grid, 4, population=10, epochs=2, init=[grid[opt]])
    assert seeded.history[0] == pytest.approx(S.path_cost(cost, opt))
    full = S.evolve(fitness, grid, 4, population=10, epochs=5, seed=3)
    ckpt = tmp_path / "evolve.json"
    S.evolve(fitness, grid, 4, population=10, epochs=2, seed=3, checkpoint=ckpt)
    resumed = S.evolve(fitness, grid, 4, population=10, epochs=5, seed=3, checkpoint=ckpt)
    np.testing.assert_array_equal(resumed.history, full.history)
    np.testing.assert_array_equal(resumed.indices, full.indices)
    with pytest.raises(ValueError, match="another configuration .K: checkpoint 4, now 3"):
        S.evolve(fitness, grid, 3, population=10, epochs=5, checkpoint=ckpt)


def test_evolve_gives_the_same_result_in_worker_processes(small_problem):
    _, grid, fitness = small_problem
    serial = S.evolve(fitness, grid, 3, population=12, epochs=3, seed=7)
    with Runner(workers=2) as runner:
        procs = S.evolve(fitness, grid, 3, population=12, epochs=3, seed=7, map=runner.map)
    assert procs.stats["backend"] == "processes"
    np.testing.assert_array_equal(procs.history, serial.history)
    np.testing.assert_array_equal(procs.indices, serial.indices)


def test_evolve_gives_the_same_result_on_dask(small_problem):
    distributed = pytest.importorskip("dask.distributed")
    _, grid, fitness = small_problem
    serial = S.evolve(fitness, grid, 3, population=12, epochs=3, seed=7)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        with Runner(client=cluster.scheduler_address) as runner:
            on_dask = S.evolve(fitness, grid, 3, population=12, epochs=3, seed=7, map=runner.map)
    assert on_dask.stats["backend"] == "dask"
    np.testing.assert_array_equal(on_dask.history, serial.history)
    np.testing.assert_array_equal(on_dask.indices, serial.indices)


def test_evolve_treats_non_finite_fitness_as_worst_and_validates():
    grid = np.linspace(0, 1, 9)
    res = S.evolve(lambda t: np.nan if t[1] < 0.5 else t[1], grid, 2, population=8, epochs=3)
    assert res.times[1] == 0.5
    with pytest.raises(ValueError, match="K must be < N"):
        S.evolve(lambda t: 0.0, grid, 8)
    with pytest.raises(ValueError, match="K \\+ 1 = 3 times"):
        S.evolve(lambda t: 0.0, grid, 2, init=[[0.0, 1.0]])
    with pytest.raises(ValueError, match="mutation_prob"):
        S.evolve(lambda t: 0.0, grid, 2, mutation_prob=2.0)
    with pytest.raises(TypeError, match="map must be callable"):
        S.evolve(lambda t: 0.0, grid, 2, map=4)
    kw = dict(population=8, epochs=2, seed=5)
    custom = S.evolve(lambda t: t[1], grid, 2, map=lambda f, xs: list(map(f, xs)), **kw)
    serial = S.evolve(lambda t: t[1], grid, 2, **kw)
    assert custom.stats["backend"] == "map" and serial.stats["backend"] == "serial"
    np.testing.assert_array_equal(custom.times, serial.times)


# ----------------------------------------------------------------------------- noise processes


def test_processes_convert_consistently():
    vp = S.vp_process()  # Stable Diffusion's scaled_linear betas
    assert vp.sigma_max == pytest.approx(14.6146, rel=1e-4)
    assert vp.sigma_min == pytest.approx(0.0292, rel=1e-2)
    t = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    ts = vp.timesteps(t)
    assert ts[0] == 999 and ts[-1] == 0 and np.all(np.diff(ts) < 0)
    np.testing.assert_allclose(vp.t_of_timesteps(ts)[1:-1], t[1:-1], rtol=1e-10)
    # equal signal-to-noise ratio: the VE noise level of flow time t is (1 - t) / t
    np.testing.assert_allclose(vp.ve_sigma([0.2, 0.5]), [4.0, 1.0], rtol=1e-12)
    fl = S.flow_process(shift=3.0)
    np.testing.assert_allclose(fl.timesteps([0.0, 0.25]), [1000.0, 750.0])
    s = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(S.unshift_sigmas(S.shift_sigmas(s, 3.0), 3.0), s, rtol=1e-14)
    kw = S.to_diffusers(S.uniform(4), process=fl)
    np.testing.assert_allclose(S.shift_sigmas(kw["sigmas"], 3.0), [1.0, 0.75, 0.5, 0.25])
    np.testing.assert_allclose(
        S.from_diffusers(sigmas=kw["sigmas"], process=fl), S.uniform(4), atol=1e-15
    )
    ve = S.ve_process(0.002, 80.0)
    kw = S.to_diffusers(S.uniform(4), kind="ve_sigmas", process=ve)
    np.testing.assert_allclose(kw["sigmas"], [80.0, 3.0, 1.0, 1 / 3, 0.0])


def test_process_and_export_errors_name_the_convention():
    with pytest.raises(ValueError, match="flow noise levels"):
        S.to_diffusers(S.uniform(4), "sigmas", process=S.vp_process())
    with pytest.raises(ValueError, match="needs a vp or ve process"):
        S.to_diffusers(S.uniform(4), "ve_sigmas", process=S.flow_process())
    with pytest.raises(ValueError, match="ve process has noise levels"):
        S.to_diffusers(S.uniform(4), "timesteps", process=S.ve_process())
    with pytest.raises(ValueError, match="use_dynamic_shifting"):
        S.process_from_config({"use_dynamic_shifting": True}, "FlowMatchEulerDiscreteScheduler")
    with pytest.raises(ValueError, match="beta_schedule: unknown"):
        S.vp_process("cosine")
    with pytest.raises(ValueError, match="shift must be"):
        S.flow_process(shift=0.0)
    with pytest.raises(ValueError, match="kind must be one of flow, vp, ve, got 'edm'"):
        S.Process("edm")
    with pytest.raises(ValueError, match="timesteps must lie"):
        S.vp_process().t_of_timesteps([1000])
