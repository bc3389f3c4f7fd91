"""Run many independent jobs: local processes by default, a Dask cluster when given.

``fn(item)`` is computed for every item and the results come back in the order of the items::

    results = run(simulate, seeds)                           # local processes, one per core
    results = run(simulate, seeds, client="tcp://host:8786")  # a Dask cluster
    with Runner(workers=4) as runner:                         # a pool kept for several rounds
        for generation in range(10):
            scores = runner.map(fitness, candidates)

A job sees only its item, so a deterministic ``fn`` gives the same results on every backend; put
seeds in the items. For processes and Dask, ``fn`` and the items must be picklable: a
module-level function, a ``functools.partial`` or an object with ``__call__``. Local processes
are started with the ``spawn`` method (safe with threaded libraries such as torch), so a script
that uses them needs the ``if __name__ == "__main__":`` guard.

With ``checkpoint=DIR`` every finished result is written to ``DIR/job-<index>.pkl`` as soon as it
arrives; a later call with the same directory and items loads those and runs only the rest, so
an interrupted sweep resumes without losing finished work. A stored result is reused only if its
item is unchanged (compared by the SHA-256 of its pickle); use a new directory for a new ``fn``.
Each file is written atomically (:mod:`stepsize._atomic`); one that cannot be read (a damaged
disk) is reported with a warning naming it and its job is run again.

Local workers never outlive the process that started them: they ignore Ctrl-C (the parent
handles it and stops them), on Linux the kernel kills them when the parent's thread that started
them ends (``prctl(PR_SET_PDEATHSIG)``), and everywhere a watchdog thread in each worker exits
within half a second of noticing that its parent is gone (killed with SIGKILL, for example).
"""

import concurrent.futures as cf
import ctypes
import ctypes.util
import hashlib
import multiprocessing
import operator
import os
import pickle
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from stepsize._atomic import load_pickle, save_pickle

__all__ = ["Runner", "run"]


def _item_key(item):
    return hashlib.sha256(pickle.dumps(item, protocol=4)).hexdigest()


class _Checkpoint:
    """One pickle file per finished job: ``(sha256 of the item, result)``."""

    def __init__(self, directory):
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"checkpoint must be a directory path, got {directory!r}")
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, index):
        return self.dir / f"job-{index:06d}.pkl"

    def load(self, index, key):
        path = self._path(index)
        if not path.exists():
            return False, None
        try:
            stored_key, result = load_pickle(path)
        except Exception as exc:  # a damaged file shows up as any error of the unpickler
            warnings.warn(
                f"checkpoint {str(path)!r} cannot be read ({type(exc).__name__}: {exc}); "
                "its job runs again",
                RuntimeWarning,
                stacklevel=3,
            )
            return False, None
        return stored_key == key, result

    def save(self, index, key, result):
        save_pickle(self._path(index), (key, result))


_PR_SET_PDEATHSIG = 1


def _exit_with_parent(parent_pid, pdeathsig):
    """In a worker: never outlive the process ``parent_pid``."""
    if pdeathsig and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the watchdog below still ends the worker

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=watch, name="stepsize-parent-watchdog", daemon=True).start()


def _worker_init(parent_pid, pdeathsig, initializer, initargs):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _exit_with_parent(parent_pid, pdeathsig)
    if initializer is not None:
        initializer(*initargs)


def _dask_client(client):
    if isinstance(client, str):
        try:
            from dask.distributed import Client
        except ImportError as exc:
            raise ImportError(
                "a Dask scheduler address needs dask.distributed: pip install 'stepsize[dist]'"
            ) from exc
        return Client(client), True
    if not (callable(getattr(client, "map", None)) and callable(getattr(client, "gather", None))):
        raise TypeError(
            f"client must be a dask.distributed.Client or a scheduler address, got "
            f"{type(client).__name__}"
        )
    return client, False


class Runner:
    """Runs ``fn(item)`` for many items on one backend; close it (or use ``with``) when done.

    Parameters
    ----------
    workers : int, optional
        Local processes (default: the number of CPUs); 1 runs the jobs one after the other in
        this process. Not allowed together with ``client``.
    client : dask.distributed.Client or str, optional
        A Dask client, or a scheduler address to connect to (the connection is closed with the
        runner). The jobs then run on the cluster's workers.
    initializer, initargs : optional
        Called as ``initializer(*initargs)`` once in each local worker process (e.g. to limit a
        library's threads); not used in-process or on Dask.
    """

    def __init__(self, workers=None, *, client=None, initializer=None, initargs=()):
        if client is not None and workers is not None:
            raise ValueError("give workers (local processes) or client (Dask), not both")
        self._client, self._owns_client = (None, False)
        if client is not None:
            self._client, self._owns_client = _dask_client(client)
            self.workers = None
        else:
            try:
                n = (os.cpu_count() or 1) if workers is None else operator.index(workers)
            except TypeError:
                kind = type(workers).__name__
                raise TypeError(f"workers must be an integer, got {kind}") from None
            if n < 1:
                raise ValueError(f"workers must be >= 1, got {workers!r}")
            self.workers = n
        self._initializer, self._initargs = initializer, tuple(initargs)
        self._pool = None

    @property
    def backend(self):
        """``"dask"``, ``"processes"`` or ``"serial"``."""
        if self._client is not None:
            return "dask"
        return "serial" if self.workers == 1 else "processes"

    def map(self, fn, items, checkpoint=None):
        """``[fn(item) for item in items]``, computed on the runner's backend.

        The first job that raises ends the call with its exception; jobs not yet started are
        cancelled. ``checkpoint`` is a directory for resumable results (see the module notes).
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        items = list(items)
        results = [None] * len(items)
        store = _Checkpoint(checkpoint) if checkpoint is not None else None
        keys = [_item_key(item) for item in items] if store else [None] * len(items)
        pending = []
        for i in range(len(items)):
            found, value = store.load(i, keys[i]) if store else (False, None)
            if found:
                results[i] = value
            else:
                pending.append(i)

        def finish(i, value):
            results[i] = value
            if store:
                store.save(i, keys[i], value)

        if self.backend == "serial":
            for i in pending:
                finish(i, fn(items[i]))
        elif pending and self.backend == "processes":
            self._run_local(fn, items, pending, finish)
        elif pending:
            self._run_dask(fn, items, pending, finish)
        return results

    def _run_local(self, fn, items, pending, finish):
        if self._pool is None:
            # PR_SET_PDEATHSIG fires when the starting *thread* ends: only arm it from the main
            # thread, whose end is the end of the process.
            main = threading.current_thread() is threading.main_thread()
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=(os.getpid(), main, self._initializer, self._initargs),
            )
        futures = {self._pool.submit(fn, items[i]): i for i in pending}
        try:
            for fut in cf.as_completed(futures):
                finish(futures[fut], fut.result())
        except BaseException as exc:
            for fut in futures:
                fut.cancel()
            if not isinstance(exc, Exception):  # Ctrl-C, SystemExit: stop the running jobs too
                self._terminate()
            raise

    def _terminate(self):
        """Kill the local workers now (their running jobs are lost) and drop the pool."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = getattr(pool, "_processes", None) or {}  # CPython's pool keeps them here
        for proc in list(processes.values()):
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)

    def _run_dask(self, fn, items, pending, finish):
        from dask.distributed import as_completed

        futures = self._client.map(fn, [items[i] for i in pending], pure=False)
        index = {fut.key: i for fut, i in zip(futures, pending)}
        try:
            for fut in as_completed(futures):
                finish(index[fut.key], fut.result())
        except BaseException:
            self._client.cancel(futures)
            raise

    def close(self):
        """Shut down the local processes, or the Dask connection this runner opened."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._owns_client:
            self._client.close()
            self._owns_client = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run(fn, items, *, workers=None, client=None, checkpoint=None):
    """``[fn(item) for item in items]`` on local processes or Dask (see :class:`Runner`)."""
    with Runner(workers, client=client) as runner:
        return runner.map(fn, items, checkpoint=checkpoint)
