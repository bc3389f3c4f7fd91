"""integrate_ensemble(..., client=...) on a small in-process Dask cluster: chunks of members run
as tasks, finished chunks are checkpointed as they complete, results equal the local path."""

import numpy as np
import pytest

from stepsize.nbody import integrate_ensemble, paper_three_body

distributed = pytest.importorskip("distributed")

SYSTEMS = [paper_three_body(seed) for seed in range(9)]
KW = dict(save_every=1.0, encounter_distance=0.5, eta=0.05)


def assert_same(a, b):
    assert list(a.status) == list(b.status) and a.events == b.events
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.steps, b.steps)
    np.testing.assert_array_equal(a.history.positions, b.history.positions)
    np.testing.assert_array_equal(a.energy_error, b.energy_error)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_chunks_on_a_cluster_equal_the_local_run(client):
    local = integrate_ensemble(SYSTEMS, 1.0, "hermite4", **KW)
    remote = integrate_ensemble(SYSTEMS, 1.0, "hermite4", client=client, chunk_size=2, **KW)
    assert remote.stats["distributed"] and remote.stats["chunks"] == 5
    assert_same(remote, local)
    gbs = integrate_ensemble(SYSTEMS[:4], 1.0, "gbs", client=client, chunk_size=3, rtol=1e-8)
    np.testing.assert_array_equal(
        gbs.positions, integrate_ensemble(SYSTEMS[:4], 1.0, "gbs", rtol=1e-8).positions
    )


def test_an_interrupted_cluster_run_keeps_its_finished_chunks(client, tmp_path, monkeypatch):
    from stepsize.nbody import _ensemble

    path = tmp_path / "ensemble.npz"
    local = integrate_ensemble(SYSTEMS, 1.0, "hermite4", **KW)
    real = _ensemble._run_threads

    def failing(systems, *args):  # the chunk holding system 4 fails on the worker
        if any(np.array_equal(s.positions, SYSTEMS[4].positions) for s in systems):
            raise RuntimeError("worker lost")
        return real(systems, *args)

    monkeypatch.setattr(_ensemble, "_run_threads", failing)
    with pytest.raises(RuntimeError, match="worker lost"):
        integrate_ensemble(
            SYSTEMS, 1.0, "hermite4", client=client, chunk_size=3, checkpoint=path, **KW
        )
    monkeypatch.setattr(_ensemble, "_run_threads", real)
    resumed = integrate_ensemble(
        SYSTEMS, 1.0, "hermite4", client=client, chunk_size=3, checkpoint=path, **KW
    )
    assert resumed.stats["resumed"] == 6  # chunks [0, 3) and [6, 9) came from the checkpoint
    assert_same(resumed, local)
