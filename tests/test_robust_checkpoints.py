"""Checkpoints of long jobs: atomic writes, fallback to the previous good version, refusal of a
checkpoint written with another configuration (naming what differs)."""

import math
import warnings

import numpy as np
import pytest
import torch

from stepsize import _atomic, schedules
from stepsize._atomic import CheckpointError
from stepsize.parallel import run


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), _atomic.atomic_write(path) as fh:
        fh.write(b"half of the new")
        raise RuntimeError("killed")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]  # no temporary file left


def test_load_falls_back_to_the_previous_version_and_names_the_bad_file(tmp_path):
    path = tmp_path / "state.pkl"
    for value in (1, 2):
        _atomic.save_checkpoint(path, lambda fh, v=value: fh.write(bytes([v])))
    assert _atomic.previous(path).read_bytes() == b"\x01"

    def read(file):
        data = file.read_bytes()
        if len(data) != 1:
            raise EOFError("truncated")
        return data[0]

    assert _atomic.load_checkpoint(path, read) == 2
    path.write_bytes(b"")  # the newest one is damaged
    with pytest.warns(RuntimeWarning, match=r"state\.pkl' cannot be read .*falling back to"):
        assert _atomic.load_checkpoint(path, read) == 1
    _atomic.previous(path).write_bytes(b"xx")
    with pytest.raises(CheckpointError, match=r"no readable checkpoint: '.*state\.pkl' \(EOFError"):
        _atomic.load_checkpoint(path, read)
    assert _atomic.load_checkpoint(tmp_path / "none.pkl", read) is None


FLOW = dict(batch=16, hidden=8, depth=1, log_every=5)


def test_flow_training_refuses_another_configuration_and_survives_a_truncated_file(tmp_path):
    from stepsize.flow import train_flow

    torch.set_num_threads(1)
    ckpt = tmp_path / "m.ckpt"
    train_flow("moons", 20, seed=0, lr=1e-3, checkpoint=ckpt, checkpoint_every=10, **FLOW)
    for change, match in [
        (dict(seed=1), "seed: checkpoint 0, now 1"),
        (dict(lr=2e-3), "lr: checkpoint 0.001, now 0.002"),
        (dict(hidden=16), "hidden: checkpoint 8, now 16"),
    ]:
        kw = {**FLOW, "seed": 0, "lr": 1e-3, **change}
        with pytest.raises(CheckpointError, match=f"another configuration .*{match}"):
            train_flow("moons", 20, checkpoint=ckpt, **kw)
    full = train_flow("moons", 20, seed=0, **FLOW)
    ckpt.write_bytes(ckpt.read_bytes()[:100])  # the newest (step 20) is truncated
    with pytest.warns(RuntimeWarning, match=r"m\.ckpt' cannot be read"):
        resumed = train_flow("moons", 20, seed=0, checkpoint=ckpt, checkpoint_every=10, **FLOW)
    np.testing.assert_array_equal(resumed.losses, full.losses)  # redone from step 10
    _atomic.previous(ckpt).write_bytes(b"")
    ckpt.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"m\.ckpt"):
        train_flow("moons", 20, seed=0, checkpoint=ckpt, **FLOW)


def _fitness(times):
    return float(np.sum(np.diff(times) ** 2))


def test_evolve_refuses_a_checkpoint_of_other_options(tmp_path):
    grid = schedules.uniform(20)
    ckpt = tmp_path / "evolve.json"
    kw = dict(population=6, seed=1, checkpoint=ckpt)
    short = schedules.evolve(_fitness, grid, 3, epochs=2, **kw)
    longer = schedules.evolve(_fitness, grid, 3, epochs=4, **kw)  # more epochs: resumes
    full = schedules.evolve(_fitness, grid, 3, epochs=4, population=6, seed=1)
    np.testing.assert_array_equal(longer.history, full.history)
    assert short.history.size == 2
    for change, match in [
        (dict(population=8), "population: checkpoint 6, now 8"),
        (dict(seed=2), "seed: checkpoint 1, now 2"),
        (dict(mutation_prob=0.5), "mutation_prob: checkpoint 0.25, now 0.5"),
        (dict(top_k=3), "top_k: checkpoint 10, now 3"),
        (dict(init=[grid[[0, 5, 10, 20]]]), "init: checkpoint"),
    ]:
        with pytest.raises(CheckpointError, match=match):
            schedules.evolve(_fitness, grid, 3, epochs=4, **{**kw, **change})


def test_nbody_checkpoint_of_another_run_names_the_option(tmp_path):
    from stepsize.nbody import integrate_ensemble, paper_three_body

    systems = [paper_three_body(k) for k in range(2)]
    path = tmp_path / "run.npz"
    kw = dict(eta=0.02, checkpoint=path, chunk_size=1)  # two chunks: two versions saved
    integrate_ensemble(systems, 0.05, "leapfrog", **kw)
    with pytest.raises(CheckpointError, match="different run .*eta"):
        integrate_ensemble(systems, 0.05, "leapfrog", **{**kw, "eta": 0.01})
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.warns(RuntimeWarning, match=r"run\.npz' cannot be read"):
        again = integrate_ensemble(systems, 0.05, "leapfrog", **kw)
    assert again.stats["resumed"] == 1  # from run.npz.prev, written after the first chunk


def test_parallel_reruns_a_job_whose_file_is_damaged(tmp_path):
    assert run(math.factorial, [3, 4], workers=1, checkpoint=tmp_path) == [6, 24]
    (tmp_path / "job-000001.pkl").write_bytes(b"\x80\x05garbage")
    with pytest.warns(RuntimeWarning, match=r"job-000001\.pkl' cannot be read"):
        assert run(math.factorial, [3, 4], workers=1, checkpoint=tmp_path) == [6, 24]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(math.factorial, [3, 4], workers=1, checkpoint=tmp_path) == [6, 24]
