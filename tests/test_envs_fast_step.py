"""ThreeBody-v0's compiled step (envs._three_body_step, nbody._planar3) against the general path.

The compiled step stands in for ``Simulation.evolve`` plus the Python reward and observation
only where it takes the same steps: these tests hold it to the general path bit for bit (the
general path is forced by an energy limit of 1e300, which no run here reaches and which the
compiled step does not take), and its planar three-body Hermite kernel to
``stepsize.nbody._hermite.hermite_advance`` on the same arrays, failures included.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from envs.three_body import ThreeBodyEnv
from stepsize.nbody import Simulation, paper_three_body
from stepsize.nbody import _gravity as K
from stepsize.nbody._hermite import hermite_advance
from stepsize.nbody._planar3 import planar3_steps

GENERAL = {"max_energy_error": 1e300}  # a limit never reached: Simulation.evolve takes the steps


def _trace(env, seed, actions):
    obs, info = env.reset(seed=seed)
    rows = [(obs, 0.0, False, False, info)]
    for a in actions:
        rows.append(env.step(a))
        if rows[-1][2] or rows[-1][3]:
            break
    return rows


def _assert_same(fast, general):
    assert len(fast) == len(general)
    for (o1, *rest1), (o2, *rest2) in zip(fast, general, strict=True):
        assert o1.dtype == o2.dtype == np.float32
        np.testing.assert_array_equal(o1, o2)
        assert rest1 == rest2  # reward, terminated, truncated and info, exactly


@given(
    seed=st.integers(0, 2**31),
    actions=st.lists(st.integers(0, 9), min_size=1, max_size=40),
    reward=st.sampled_from(["paper", "cost", "final"]),
    observation=st.sampled_from(["paper", "extended"]),
)
def test_compiled_step_equals_the_general_path_bit_for_bit(seed, actions, reward, observation):
    kw = {"reward": reward, "observation": observation, "max_steps": 40}
    fast = ThreeBodyEnv(**kw)
    general = ThreeBodyEnv(**kw, integrator_options=GENERAL)
    a, b = _trace(fast, seed, actions), _trace(general, seed, actions)
    assert fast._buffer is not None and general._buffer is None
    _assert_same(a, b)
    assert fast.sim.changes == general.sim.changes
    assert fast.sim.result().min_distance_pair == general.sim.result().min_distance_pair
    assert fast.sim.min_distance == general.sim.min_distance


@pytest.mark.parametrize(
    "options",
    [
        {"softening": 0.05},  # Plummer softening goes through the same pair terms
        {"max_steps": 700},  # the step budget runs out inside an interval
    ],
)
def test_compiled_step_with_integrator_options(options):
    actions = [0, 3, 9, 1, 0, 5] * 5
    fast = ThreeBodyEnv(max_steps=30, integrator_options=options)
    general = ThreeBodyEnv(max_steps=30, integrator_options={**options, **GENERAL})
    a, b = _trace(fast, 5, actions), _trace(general, 5, actions)
    _assert_same(a, b)
    if "max_steps" in options:
        assert a[-1][2] and a[-1][4]["status"] == "max_steps" and a[-1][4]["steps"] == 700


def test_other_set_ups_take_the_general_path():
    for kw in (
        {"n_bodies": 4},
        {"integrator": "leapfrog"},
        {"integrator_options": {"criterion": "aarseth"}},
        {"integrator_options": {"encounter_distance": 0.1}},
    ):
        env = ThreeBodyEnv(**kw)
        env.reset(seed=0)
        assert env._buffer is None, kw
    env = ThreeBodyEnv()
    env.reset(seed=0)
    assert env._buffer is not None


def _arrays(sim):
    return (sim._pos, sim._vel, sim._acc, sim._jerk, sim._masses, sim._par, sim._scal, sim._cnt)


@pytest.mark.parametrize("eta", [1e-4, 0.03, 0.1])
def test_kernel_equals_hermite_advance(eta):
    runs = []
    for kernel in ("planar3", "generic"):
        sim = Simulation(paper_three_body(1_000_003), "hermite4", eta=eta)
        for t_end in (0.05, 0.1, 0.1, 1.7):  # a repeated end time takes no step
            sim._par[K.P_TEND] = t_end
            if kernel == "planar3":
                code = planar3_steps(*_arrays(sim))
            else:
                code = hermite_advance(*_arrays(sim), sim._escaped)
            assert code == K.DONE
        runs.append([a.copy() for a in _arrays(sim)])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_kernel_stops_on_a_non_finite_step_as_hermite_advance():
    """A velocity of 1e306 au/yr overflows the predictor: both kernels count the force
    evaluation, keep the state before the step and report NONFINITE."""
    runs = []
    for kernel in ("planar3", "generic"):
        sim = Simulation(paper_three_body(2), "hermite4", eta=0.03)
        sim._par[K.P_TEND] = 0.3
        hermite_advance(*_arrays(sim), sim._escaped)
        sim._vel[1, 0] = 1e306
        sim._scal[K.S_TAU] = 1e4  # a step long enough to overflow
        sim._par[K.P_TEND] = 1e6
        before = [a.copy() for a in _arrays(sim)[:4]]
        if kernel == "planar3":
            code = planar3_steps(*_arrays(sim))
        else:
            code = hermite_advance(*_arrays(sim), sim._escaped)
        assert code == K.NONFINITE
        for a, b in zip(before, _arrays(sim)[:4], strict=True):
            np.testing.assert_array_equal(a, b)
        runs.append([a.copy() for a in _arrays(sim)])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_kernel_takes_a_step_whose_finite_numbers_overflow_their_sum():
    """planar3_steps tests a step's finiteness on the sum of its positions and velocities and
    checks each number only when the sum is not finite: positions near 1e308 (finite, their
    sum not) are a finite step for both kernels, which then go on alike."""
    runs = []
    for kernel in ("planar3", "generic"):
        sim = Simulation(paper_three_body(2), "hermite4", eta=0.03)
        sim._pos[:, 0] = [9e307, 1e308, 8e307]
        sim._par[K.P_TEND] = 0.3
        if kernel == "planar3":
            code = planar3_steps(*_arrays(sim))
        else:
            code = hermite_advance(*_arrays(sim), sim._escaped)
        assert code == K.DONE and sim._cnt[K.C_STEPS] > 0
        with np.errstate(over="ignore"):
            assert not np.isfinite(sim._pos.sum()) and np.isfinite(sim._pos).all()
        runs.append([a.copy() for a in _arrays(sim)])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
