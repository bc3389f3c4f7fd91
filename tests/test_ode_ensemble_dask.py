"""solve_ensemble(..., client=...) on a small in-process Dask cluster, and checkpointed: chunks
of initial values run as tasks, finished chunks are saved as they complete, and the joined
results equal the local run member for member (each member runs its own loop)."""

import numpy as np
import pytest

from stepsize._atomic import CheckpointError
from stepsize.ode import solve_ensemble

distributed = pytest.importorskip("distributed")


def lotka_volterra(t, y, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], c * y[0] * y[1] - d * y[1]])


ARGS = (1.5, 1.0, 1.0, 3.0)
Y0 = np.array([[1.0 + 0.1 * k, 1.0 + 0.05 * k] for k in range(9)])
KW = dict(args=ARGS, rtol=1e-8, atol=1e-10, t_eval=np.linspace(0.0, 5.0, 6))


def assert_same(a, b):
    np.testing.assert_array_equal(a.y, b.y)
    for name in ("status", "nfev", "naccept", "nreject"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.message == b.message and a.success == b.success


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def local():
    return solve_ensemble(lotka_volterra, (0.0, 5.0), Y0, "dp5", **KW)


def test_chunks_on_a_cluster_equal_the_local_run(client, local):
    remote = solve_ensemble(
        lotka_volterra, (0.0, 5.0), Y0, "dp5", client=client, chunk_size=2, **KW
    )
    assert remote.stats["distributed"] and remote.stats["chunks"] == 5
    assert_same(remote, local)
    # the first integral of Lotka-Volterra, conserved to the tolerance along every member
    a, b, c, d = ARGS
    x, y = remote.y[:, 0], remote.y[:, 1]
    v = c * x - d * np.log(x) + b * y - a * np.log(y)
    assert np.abs(v - v[:, :1]).max() < 1e-6


def test_an_interrupted_cluster_run_keeps_its_finished_chunks(client, local, tmp_path, monkeypatch):
    from stepsize.ode import _chunked

    path = tmp_path / "ensemble.npz"
    real = _chunked.solve_chunk

    def failing(solve, fun, t_span, rows, options):  # the chunk holding member 4 fails
        if any(np.array_equal(r, Y0[4]) for r in rows):
            raise RuntimeError("worker lost")
        return real(solve, fun, t_span, rows, options)

    monkeypatch.setattr(_chunked, "solve_chunk", failing)
    with pytest.raises(RuntimeError, match="worker lost"):
        solve_ensemble(
            lotka_volterra, (0.0, 5.0), Y0, client=client, chunk_size=3, checkpoint=path, **KW
        )
    monkeypatch.setattr(_chunked, "solve_chunk", real)
    resumed = solve_ensemble(
        lotka_volterra, (0.0, 5.0), Y0, client=client, chunk_size=3, checkpoint=path, **KW
    )
    assert resumed.stats["resumed"] == 6  # chunks [0, 3) and [6, 9) came from the checkpoint
    assert_same(resumed, local)
    again = solve_ensemble(lotka_volterra, (0.0, 5.0), Y0, chunk_size=3, checkpoint=path, **KW)
    assert again.stats["resumed"] == 9 and not again.stats["distributed"]
    assert_same(again, local)
    with pytest.raises(CheckpointError, match="different run .*rtol"):
        solve_ensemble(lotka_volterra, (0.0, 5.0), Y0, checkpoint=path, **{**KW, "rtol": 1e-6})


def test_bad_chunk_options_are_named(local):
    with pytest.raises(ValueError, match="chunk_size"):
        solve_ensemble(lotka_volterra, (0.0, 5.0), Y0, checkpoint="x.npz", chunk_size=0, **KW)
    with pytest.raises(TypeError, match="client"):
        solve_ensemble(lotka_volterra, (0.0, 5.0), Y0, client="tcp://nowhere", **KW)
