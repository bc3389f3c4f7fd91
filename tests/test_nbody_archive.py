"""Simulation archives: snapshots load back as Systems, a resumed run equals the uninterrupted
one bit for bit, files are replaced atomically."""

import numpy as np
import pytest

from stepsize.nbody import Archive, Simulation, System, outer_solar_system, pythagorean

OSS = outer_solar_system().to_com_frame()
CASES = [
    ("gr15", pythagorean, {}, 12.0, 1.5),
    ("wh", lambda: OSS, dict(dt=30.0, corrector=11), 6000.0, 1000.0),
    ("wh", lambda: OSS, dict(dt=30.0, coordinates="democratic_heliocentric"), 6000.0, 1000.0),
    ("hermite4", pythagorean, dict(eta=0.02), 12.0, 1.5),
    ("leapfrog", pythagorean, dict(eta=0.01, criterion="logh"), 12.0, 1.5),
    ("gbs", pythagorean, dict(rtol=1e-8), 12.0, 1.5),
    ("archain", pythagorean, dict(rtol=1e-10), 12.0, 1.5),
]


@pytest.mark.parametrize("method, system, options, t_end, every", CASES)
def test_resumed_run_equals_the_uninterrupted_one(tmp_path, method, system, options, t_end, every):
    full = Simulation(system(), method, archive=tmp_path, every=every, **options)
    full.evolve(t_end)
    archive = Archive(tmp_path)
    assert len(archive) == round(t_end / every) + 1
    assert abs(archive.times[3] - 3 * every) <= options.get("dt", 0.0) / 2
    assert isinstance(archive[2], System) and archive[0] == system()
    resumed = archive.simulation(3)
    assert resumed.t == archive.times[3] and resumed.steps < full.steps
    resumed.evolve(t_end)
    assert np.array_equal(resumed.system.positions, full.system.positions)
    assert np.array_equal(resumed.system.velocities, full.system.velocities)
    assert resumed.steps == full.steps and resumed.energy_error == full.energy_error
    assert len(Archive(tmp_path)) == len(archive)  # the snapshots after 3 were rewritten


def test_snapshots_are_written_atomically(tmp_path):
    sim = Simulation(pythagorean(), "gr15", archive=tmp_path, every=1.0)
    sim.evolve(3.0)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"snapshot_{k:06d}.npz" for k in range(4)]  # no temporary files left
    later = Simulation.from_archive(tmp_path, 1)
    assert len(Archive(tmp_path)) == 2  # a resume drops the snapshots it will rewrite
    later.evolve(2.0)
    assert len(Archive(tmp_path)) == 3


def test_bad_archive_arguments(tmp_path):
    with pytest.raises(ValueError, match="every must be positive"):
        Simulation(pythagorean(), "gr15", archive=tmp_path, every=-1.0)
    with pytest.raises(ValueError, match="give archive too"):
        Simulation(pythagorean(), "gr15", every=1.0)
    with pytest.raises(ValueError, match="archive needs a compiled method"):
        Simulation(pythagorean(), "dop853", archive=tmp_path, every=1.0)
    with pytest.raises(FileNotFoundError, match="no snapshots"):
        Archive(tmp_path / "empty")
