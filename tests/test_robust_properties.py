"""Property-based fuzzing of the public entry points of stepsize (but ode/control, fuzzed with
the solver), envs and agents: every input ends in a result or in an exception that names the
argument -- never a crash, a hang, an unrelated exception, or NaN reported as success.

The examples come from the fixed-seed hypothesis profile of ``tests/conftest.py``."""

import math
import os
import signal
import tempfile
from contextlib import contextmanager

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import envs  # registers the environments
import envs.learning_rate
import envs.ode_step
import envs.three_body
from stepsize import descent, flow, nbody, schedules
from stepsize.parallel import Runner

# Values a careless caller passes: NaN, infinities, zero, negatives, huge, strings, None, bools.
NASTY = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-(10**6), 10**6),
    st.sampled_from([0, -1, 1, 2, 0.5, 1e-300, 1e300, None, True, "1", "x", [1.0], []]),
)
SMALL_INT = st.one_of(st.integers(-3, 6), st.sampled_from([0.5, 2.0, None, "3", True, math.nan]))


@contextmanager
def no_hang(seconds=120):
    """Fail an example that runs longer than ``seconds`` (a hang) instead of waiting forever."""

    def alarm(signum, frame):
        raise AssertionError(f"no result within {seconds} s: a hang")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def outcome(fn, *args, names, **kwargs):
    """``fn(*args, **kwargs)``, or None when it raised a ValueError/TypeError whose message
    names one of ``names``; any other exception, or one naming none of them, fails."""
    with no_hang():
        try:
            return fn(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            message = str(exc)
            assert any(n in message for n in names), f"{exc!r} names none of {names}"
            return None


def finite(x):
    return bool(np.all(np.isfinite(np.asarray(x, dtype=float))))


@given(name=st.sampled_from([*schedules.SCHEDULES, "edm", ""]), K=SMALL_INT)
def test_schedules_get(name, K):
    times = outcome(schedules.get, name, K, names=["K", "unknown", name or "''"])
    if times is not None:
        assert times.shape == (K + 1,) and finite(times) and np.all(np.diff(times) > 0)
        assert times[0] == 0.0 and times[-1] == 1.0


@given(
    cost=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=36),
    K=SMALL_INT,
)
def test_schedules_bellman(cost, K):
    n = int(math.isqrt(len(cost)))
    matrix = np.array(cost[: n * n]).reshape(n, n)
    path = outcome(schedules.bellman, matrix, K, names=["cost", "K"])
    if path is not None:
        path = np.asarray(path)
        assert path[0] == 0 and path[-1] == n - 1 and np.all(np.diff(path) > 0)


@given(times=st.lists(NASTY, max_size=6), kind=st.sampled_from(["sigmas", "timesteps", "x"]))
def test_schedule_exports(times, kind):
    names = ["schedule", "kind", "sigmas"]
    out = outcome(schedules.to_kdiffusion, times, names=names)
    if out is not None:
        assert finite(out[:-1]) and out[-1] == 0.0
    outcome(schedules.to_diffusers, times, kind, names=names)


@given(
    method=st.sampled_from(["hermite4", "leapfrog", "gbs", "dop853", "rk4x"]),
    t_end=NASTY,
    value=NASTY,
    flag=st.sampled_from(["eta", "dt", "rtol", "softening", "encounter_distance"]),
)
def test_nbody_integrate(method, t_end, value, flag):
    r = outcome(
        nbody.integrate,
        nbody.kepler(0.5),
        t_end,
        method,
        max_steps=2000,
        **{flag: value},
        names=["method", "t_end", flag, "option"],
    )
    if r is not None:
        assert isinstance(r.status, str) and (r.success or r.message)
        if r.success:  # done, or stopped at an event it was asked to detect
            assert math.isfinite(r.energy_error)
            assert finite(r.system.positions) and finite(r.system.velocities)


@given(masses=st.lists(NASTY, max_size=3), coordinate=NASTY, G=NASTY)
def test_nbody_system(masses, coordinate, G):
    positions = [[coordinate, 0.0]] + [[float(i), 1.0] for i in range(1, len(masses))]
    velocities = [[0.0, 0.0] for _ in masses]
    outcome(
        nbody.System,
        masses,
        positions,
        velocities,
        G,
        names=["masses", "positions", "velocities", "G", "bodies"],
    )


DATA = descent.separable(40, 3, 0.1, seed=0)


@given(step=NASTY, rule=st.sampled_from([*descent.RULES, "adam"]), max_iter=SMALL_INT)
def test_descent_gd(step, rule, max_iter):
    r = outcome(
        descent.gd,
        DATA.A,
        DATA.y,
        step,
        rule,
        max_iter,
        names=["step", "rule", "max_iter"],
    )
    if r is not None:
        assert finite(r.loss) or not r.separated


@given(n=SMALL_INT, d=SMALL_INT, margin=NASTY)
def test_descent_separable(n, d, margin):
    ds = outcome(descent.separable, n, d, margin, names=["n", "d", "margin"])
    if ds is not None:
        assert finite(ds.A) and set(np.unique(ds.y)) <= {-1.0, 1.0}


MOONS = flow.pretrained("moons")


@given(
    shape=st.lists(st.integers(0, 3), min_size=0, max_size=3),
    fill=st.sampled_from([0.0, 1.0, math.nan, math.inf]),
    schedule=st.sampled_from([[0.0, 1.0], [0.0, 0.5, 1.0], [1.0, 0.0], [0.0], [0.0, math.nan]]),
    solver=st.sampled_from(["euler", "heun", "midpoint", "rk4"]),
)
def test_flow_sample(shape, fill, schedule, solver):
    torch.set_num_threads(1)
    noise = np.full(shape, fill)
    x = outcome(flow.sample, MOONS, noise, schedule, solver, names=["noise", "schedule", "solver"])
    if x is not None:
        assert x.shape == noise.shape and finite(x)


ENVS = [
    ("stepsize/LearningRate-v0", dict(n=16, d=3, max_steps=5)),
    ("stepsize/LearningRate-v0", dict(n=16, d=3, max_steps=5, continuous=True)),
    ("stepsize/ThreeBody-v0", dict(max_steps=3, interval=0.01)),
    ("stepsize/ThreeBody-v0", dict(max_steps=3, interval=0.01, continuous=True)),
    ("stepsize/ODEStep-v0", dict(max_steps=3)),
]
ACTION = st.one_of(
    NASTY,
    st.lists(st.floats(-2, 2), min_size=1, max_size=2).map(np.array),
    st.integers(-2, 12).map(np.int64),
)


@pytest.mark.parametrize("env_id, kwargs", ENVS, ids=lambda v: str(v)[:40])
@given(actions=st.lists(ACTION, min_size=1, max_size=4), seed=st.integers(0, 3))
def test_envs_step(env_id, kwargs, actions, seed):
    env = gym.make(env_id, disable_env_checker=True, **kwargs)
    env.reset(seed=seed)
    for action in actions:
        step = outcome(env.step, action, names=["action space"])
        if step is None:
            continue
        obs, reward, terminated, truncated, _ = step
        assert env.observation_space.contains(obs) and math.isfinite(reward)
        if terminated or truncated:
            env.reset()
    env.close()


@given(steps=SMALL_INT, n_envs=SMALL_INT, algo=st.sampled_from(["dqn", "ppo", "sac"]))
def test_agents_train_arguments(steps, n_envs, algo, tmp_path_factory):
    import agents

    out = tmp_path_factory.mktemp("run")
    kw = dict(env_kwargs=dict(n=16, d=3, max_steps=5), n_envs=n_envs)
    hp = dict(learning_starts=1, batch_size=2) if algo == "dqn" else dict(n_steps=4, batch_size=4)
    model = outcome(
        agents.train,
        "LearningRate-v0",
        algo,
        steps,
        out,
        hyperparams=hp,
        **kw,
        names=["steps", "n_envs", "algo"],
    )
    if model is not None:
        assert model.num_timesteps >= steps and (out / "model.zip").exists()


@given(workers=NASTY)
def test_parallel_runner_workers(workers):
    runner = outcome(Runner, workers, names=["workers"])
    if runner is not None:
        assert runner.workers >= 1
        runner.close()


def _fitness(times):
    return float(np.sum(np.diff(times) ** 2))


X2 = np.random.default_rng(0).normal(size=(16, 2))
NOISE = flow.make_noise(MOONS, 8, seed=0)
GRID = schedules.uniform(12)
ENSEMBLE = [nbody.kepler(0.1), nbody.kepler(0.3)]

# One argument of an entry point at a time: (label, call with the value, words a message names).
# Counts take SMALL_INT (a valid huge count would only be slow); the rest take NASTY.
ONE_ARGUMENT = [
    ("karras sigma_min", lambda v: schedules.karras(4, sigma_min=v), ["sigma_min"], NASTY),
    ("karras rho", lambda v: schedules.karras(4, rho=v), ["rho"], NASTY),
    ("logsnr_uniform eps", lambda v: schedules.logsnr_uniform(4, eps=v), ["eps"], NASTY),
    ("ays K", lambda v: schedules.ays(v), ["K"], SMALL_INT),
    ("from_diffusers", lambda v: schedules.from_diffusers(sigmas=v), ["sigmas"], NASTY),
    ("path_cost path", lambda v: schedules.path_cost(np.ones((4, 4)), v), ["path"], NASTY),
    (
        "evolve population",
        lambda v: schedules.evolve(_fitness, GRID, 3, v, 1),
        ["population"],
        SMALL_INT,
    ),
    (
        "evolve mutation_prob",
        lambda v: schedules.evolve(_fitness, GRID, 3, 4, 1, mutation_prob=v),
        ["mutation_prob"],
        NASTY,
    ),
    (
        "perceptron max_iter",
        lambda v: descent.perceptron(DATA.A, DATA.y, max_iter=v),
        ["max_iter"],
        SMALL_INT,
    ),
    ("max_margin tol", lambda v: descent.max_margin(DATA.A, DATA.y, tol=v), ["tol"], NASTY),
    ("worst_case n", lambda v: descent.worst_case(v), ["n"], SMALL_INT),
    ("make_noise n", lambda v: flow.make_noise(MOONS, v), ["n"], SMALL_INT),
    ("teacher n_steps", lambda v: flow.teacher(MOONS, NOISE, n_steps=v), ["n_steps"], SMALL_INT),
    (
        "reference n_steps",
        lambda v: flow.reference(MOONS, NOISE, n_steps=v),
        ["n_steps"],
        SMALL_INT,
    ),
    (
        "plan_bellman K",
        lambda v: flow.plan_bellman(MOONS, v, n_grid=8, n_samples=8),
        ["K"],
        SMALL_INT,
    ),
    (
        "sliced_wasserstein",
        lambda v: flow.sliced_wasserstein(X2, X2, n_projections=v),
        ["n_projections"],
        SMALL_INT,
    ),
    ("mmd bandwidths", lambda v: flow.mmd(X2, X2, bandwidths=v), ["bandwidths"], NASTY),
    ("load_data n", lambda v: flow.load_data("moons", v), ["n"], SMALL_INT),
    (
        "train_flow steps",
        lambda v: flow.train_flow("moons", v, batch=4, hidden=4, depth=1),
        ["steps"],
        SMALL_INT,
    ),
    (
        "train_flow lr",
        lambda v: flow.train_flow("moons", 2, batch=4, hidden=4, depth=1, lr=v),
        ["lr"],
        NASTY,
    ),
    ("kepler e", lambda v: nbody.kepler(e=v), ["e"], NASTY),
    ("paper_three_body seed", lambda v: nbody.paper_three_body(seed=v), ["seed"], NASTY),
    (
        "integrate_ensemble chunk_size",
        lambda v: nbody.integrate_ensemble(ENSEMBLE, 0.1, chunk_size=v, checkpoint=None),
        ["chunk_size"],
        SMALL_INT,
    ),
    (
        "integrate_ensemble t_end",
        lambda v: nbody.integrate_ensemble(ENSEMBLE, v, max_steps=500),
        ["t_end"],
        NASTY,
    ),
    ("LearningRate n", lambda v: envs.learning_rate.LearningRateEnv(n=v), ["n"], SMALL_INT),
    (
        "LearningRate margin",
        lambda v: envs.learning_rate.LearningRateEnv(margin=v),
        ["margin"],
        NASTY,
    ),
    (
        "LearningRate gammas",
        lambda v: envs.learning_rate.LearningRateEnv(gammas=v),
        ["gammas"],
        NASTY,
    ),
    ("ThreeBody interval", lambda v: envs.three_body.ThreeBodyEnv(interval=v), ["interval"], NASTY),
    (
        "ThreeBody max_steps",
        lambda v: envs.three_body.ThreeBodyEnv(max_steps=v),
        ["max_steps"],
        SMALL_INT,
    ),
    ("ThreeBody values", lambda v: envs.three_body.ThreeBodyEnv(values=v), ["values"], NASTY),
    ("ODEStep tol", lambda v: envs.ode_step.ODEStepEnv(tol=v), ["tol"], NASTY),
    (
        "ODEStep n_intervals",
        lambda v: envs.ode_step.ODEStepEnv(n_intervals=v),
        ["n_intervals"],
        SMALL_INT,
    ),
    ("Runner checkpoint", lambda v: Runner(1).map(abs, [1], checkpoint=v), ["checkpoint"], NASTY),
]


@pytest.mark.parametrize(
    "label, call, names, values", ONE_ARGUMENT, ids=[entry[0] for entry in ONE_ARGUMENT]
)
@given(data=st.data())
def test_one_bad_argument_at_a_time(label, call, names, values, data):
    torch.set_num_threads(1)
    value = data.draw(values)
    with tempfile.TemporaryDirectory() as scratch:  # relative paths land here
        here = os.getcwd()
        os.chdir(scratch)
        try:
            result = outcome(call, value, names=names)
        finally:
            os.chdir(here)
    if isinstance(result, np.ndarray) and result.dtype.kind == "f":
        assert finite(result), f"{label} returned non-finite values"
