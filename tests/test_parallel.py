"""stepsize.parallel: the same results serially, in local processes and on Dask; checkpoints."""

import functools
import math
import operator
import os

import pytest

from stepsize.parallel import Runner, run

ITEMS = list(range(12))
EXPECTED = [math.factorial(i) for i in ITEMS]


def test_serial_and_process_backends_agree_and_keep_order():
    assert run(math.factorial, ITEMS, workers=1) == EXPECTED
    with Runner(workers=2) as runner:
        assert runner.backend == "processes"
        assert runner.map(math.factorial, reversed(ITEMS)) == EXPECTED[::-1]
        assert runner.map(functools.partial(operator.mul, 3), ITEMS) == [3 * i for i in ITEMS]
        assert runner.map(math.factorial, []) == []


def test_initializer_runs_in_each_worker_process(tmp_path):
    with Runner(workers=2, initializer=os.chdir, initargs=(str(tmp_path),)) as runner:
        assert runner.map(os.path.abspath, [".", "."]) == [str(tmp_path)] * 2
    assert os.path.abspath(".") != str(tmp_path)


def test_a_failing_job_raises_its_own_exception():
    with pytest.raises(ValueError, match="not defined for negative"):
        run(math.factorial, [3, -1, 4], workers=2)
    with pytest.raises(ValueError, match="not defined for negative"):
        run(math.factorial, [3, -1, 4], workers=1)


def test_checkpoint_skips_finished_jobs_and_redoes_changed_items(tmp_path):
    calls = []

    def square(x):
        calls.append(x)
        return x * x

    assert run(square, [1, 2, 3], workers=1, checkpoint=tmp_path) == [1, 4, 9]
    assert run(square, [1, 2, 3], workers=1, checkpoint=tmp_path) == [1, 4, 9]
    assert calls == [1, 2, 3]
    assert run(square, [1, 5, 3, 4], workers=1, checkpoint=tmp_path) == [1, 25, 9, 16]
    assert calls == [1, 2, 3, 5, 4]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"job-00000{i}.pkl" for i in range(4)]


def test_process_results_are_checkpointed(tmp_path):
    assert run(math.factorial, ITEMS, workers=2, checkpoint=tmp_path) == EXPECTED
    assert len(list(tmp_path.glob("job-*.pkl"))) == len(ITEMS)
    assert run(operator.neg, ITEMS, workers=1, checkpoint=tmp_path) == EXPECTED  # all reused


def test_bad_arguments():
    with pytest.raises(ValueError, match="workers must be >= 1"):
        Runner(workers=0)
    with pytest.raises(TypeError, match="workers must be an integer"):
        Runner(workers=1.5)
    with pytest.raises(ValueError, match="not both"):
        Runner(workers=2, client="tcp://localhost:8786")
    with pytest.raises(TypeError, match="dask.distributed.Client or a scheduler address"):
        Runner(client=object())
    with pytest.raises(TypeError, match="fn must be callable"):
        run(3, ITEMS, workers=1)


def test_dask_cluster_gives_the_same_results(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            assert run(math.factorial, ITEMS, client=client) == EXPECTED
            with Runner(client=cluster.scheduler_address) as runner:
                assert runner.backend == "dask"
                assert runner.map(math.factorial, ITEMS, checkpoint=tmp_path) == EXPECTED
                with pytest.raises(ValueError, match="not defined for negative"):
                    runner.map(math.factorial, [1, -2])
            assert len(list(tmp_path.glob("job-*.pkl"))) == len(ITEMS)
