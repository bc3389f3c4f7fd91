"""``Simulation``'s zero-copy state accessors and its energy stop (the env's fast path)."""

import numpy as np
import pytest

from stepsize.nbody import Simulation, integrate, paper_three_body


def test_positions_velocities_masses_are_read_only_views_of_the_live_state():
    sim = Simulation(paper_three_body(3), "hermite4", eta=0.01)
    pos, vel, m = sim.positions, sim.velocities, sim.masses
    for view in (pos, vel, m):
        assert not view.flags.writeable
        with pytest.raises(ValueError):
            view[0] = 0.0
    sim.evolve(0.5)
    s = sim.system  # a copy, equal to what the views read now
    assert np.array_equal(sim.positions, s.positions) and np.array_equal(pos, s.positions)
    assert np.array_equal(sim.velocities, s.velocities) and np.array_equal(m, s.masses)
    assert sim.G == s.G and s.total_mass == pytest.approx(3.0, rel=1e-15)


def test_energy_stop_still_fires_and_is_skipped_only_without_a_limit():
    # Without max_energy_error the run goes to the end; with a limit below the error the free
    # run reaches at its fifth output time, it stops there (or earlier) with status "energy".
    system = paper_three_body(1_000_001)
    free = integrate(system, 1.0, eta=0.5, save_every=0.1)
    assert free.status == "done" and free.history.t[-1] == 1.0
    limit = 0.5 * free.history.energy_error[4]
    limited = integrate(system, 1.0, eta=0.5, save_every=0.1, max_energy_error=limit)
    assert limited.status == "energy" and limited.energy_error > limit
    assert limited.history.t[-1] <= free.history.t[4]
    assert np.all(limited.history.energy_error[:-1] <= limit)
