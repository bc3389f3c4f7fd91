"""``stepsize.nbody._planar3``: many planar three-body runs in SIMD lanes, as one run each.

``planar3_many`` must leave every run where ``planar3_steps`` (held to ``hermite_steps`` bit for
bit in ``tests/test_envs_fast_step.py``) leaves it, whatever mix of eta, end times and step
budgets the runs have; ``Simulation`` takes the same kernel for such runs.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from stepsize.nbody import Simulation, paper_three_body
from stepsize.nbody import _gravity as K
from stepsize.nbody import _planar3 as P3


def _runs(seeds, etas):
    rows = np.zeros((len(seeds), P3.N_STATE))
    cnts = np.zeros((len(seeds), K.N_CNT), dtype=np.int64)
    for k, (seed, eta) in enumerate(zip(seeds, etas, strict=True)):
        sim = Simulation(paper_three_body(seed), "hermite4", eta=eta)
        sim.bind_state(rows[k], cnts[k])
    return rows, cnts


def _many_equal_alone(rows, cnts):
    """Run ``planar3_many`` on ``rows``, ``cnts`` in place and assert that it leaves them where
    ``planar3_steps`` leaves each run alone."""
    alone, alone_cnts = rows.copy(), cnts.copy()
    P3.planar3_many(rows, cnts)
    for k in range(len(rows)):
        P3._row_steps(alone[k], alone_cnts[k])
    np.testing.assert_array_equal(rows, alone)
    np.testing.assert_array_equal(cnts, alone_cnts)


@given(
    n=st.integers(1, 20),
    seed=st.integers(0, 2**31),
    data=st.data(),
)
def test_many_runs_in_lanes_equal_each_run_alone(n, seed, data):
    log_eta = data.draw(st.lists(st.floats(-4, -1), min_size=n, max_size=n))
    t_end = data.draw(st.lists(st.floats(0.0, 0.3), min_size=n, max_size=n))
    budget = data.draw(st.lists(st.sampled_from([1e18, 30.0, 0.0]), min_size=n, max_size=n))
    rows, cnts = _runs(range(seed, seed + n), 10.0 ** np.array(log_eta))
    rows[:, P3.B_PAR + K.P_TEND] = t_end
    rows[:, P3.B_PAR + K.P_MAXSTEPS] = budget
    _many_equal_alone(rows, cnts)
    hit = budget == 30.0
    assert np.all(cnts[hit, K.C_STEPS] <= 30)
    assert np.all((cnts[:, K.C_STATUS] == K.MAX_STEPS) <= (cnts[:, K.C_STEPS] == budget))


def test_a_non_finite_lane_stops_alone_and_keeps_its_state():
    rows, cnts = _runs([2, 3, 4], [0.03, 0.03, 0.03])
    rows[:, P3.B_PAR + K.P_TEND] = 0.3
    P3.planar3_many(rows, cnts)
    rows[1, P3.B_VEL + 2] = 1e306  # body 1's vx: the predictor overflows
    rows[1, P3.B_SCAL + K.S_TAU] = 1e4
    rows[:, P3.B_PAR + K.P_TEND] = 1e6
    rows[:, P3.B_PAR + K.P_MAXSTEPS] = cnts[:, K.C_STEPS] + 50.0
    before = rows[1].copy()
    _many_equal_alone(rows, cnts)
    assert cnts[1, K.C_STATUS] == K.NONFINITE and list(cnts[[0, 2], K.C_STATUS]) == [-1, -1]
    np.testing.assert_array_equal(rows[1, : P3.B_MASSES], before[: P3.B_MASSES])


def test_bind_state_makes_the_simulation_read_the_row():
    sim = Simulation(paper_three_body(9), "hermite4", eta=0.01)
    assert sim.planar3 and not Simulation(paper_three_body(9), "hermite4", dt=1e-3).planar3
    row, cnt = np.zeros(P3.N_STATE + 3), np.zeros(K.N_CNT, dtype=np.int64)
    positions = sim.positions.copy()
    sim.bind_state(row, cnt)
    np.testing.assert_array_equal(row[: P3.B_VEL], positions.ravel())
    assert sim.counters is cnt and cnt[K.C_NFORCE] == 1
    sim.evolve(0.2)
    np.testing.assert_array_equal(sim.positions.ravel(), row[: P3.B_VEL])
    assert sim.steps == cnt[K.C_STEPS] > 0


def test_simulation_takes_the_planar_kernel_with_hermites_bits(monkeypatch):
    from stepsize.nbody._hermite import hermite_advance

    calls = []
    kernel = P3.planar3_advance
    monkeypatch.setattr(P3, "planar3_advance", lambda *a: calls.append(1) or kernel(*a))
    sim = Simulation(paper_three_body(21), "hermite4", eta=0.02)
    ref = Simulation(paper_three_body(21), "hermite4", eta=0.02)
    arrays = (ref._pos, ref._vel, ref._acc, ref._jerk, ref._masses, ref._par, ref._scal)
    for t_end in (0.4, 1.1):
        assert sim.evolve(t_end) == "done"
        ref._par[K.P_TEND] = t_end
        assert hermite_advance(*arrays, ref._cnt, ref._escaped) == K.DONE
    np.testing.assert_array_equal(sim.positions, ref._pos)
    np.testing.assert_array_equal(sim.velocities, ref._vel)
    assert sim.steps == ref.steps and sim.min_distance == ref.min_distance
    assert len(calls) == 2


def test_a_lane_whose_finite_numbers_overflow_their_sum_goes_on_as_alone():
    """A lane stops at a step whose positions and velocities do not sum to a finite number;
    planar3_many takes that step again alone (``_recheck``), and a run near 1e308 au (finite
    numbers, their sum not) ends where planar3_steps takes it, force evaluations included."""
    rows, cnts = _runs([2, 3, 4, 5, 6], [0.03, 0.01, 0.03, 0.1, 0.03])
    rows[2, P3.B_POS : P3.B_VEL : 2] = [9e307, 1e308, 8e307]
    rows[:, P3.B_PAR + K.P_TEND] = 0.3
    _many_equal_alone(rows, cnts)
    assert list(cnts[:, K.C_STATUS]) == [K.DONE] * 5 and cnts[2, K.C_STEPS] > 0
    with np.errstate(over="ignore"):
        assert not np.isfinite(rows[2, P3.B_POS : P3.B_VEL].sum())
