"""Ensembles in chunks: run the chunks of members not yet finished, locally or on a Dask
cluster, checkpointing each one as it completes.

Both ensemble drivers (``stepsize.nbody.integrate_ensemble``, ``stepsize.ode.solve_ensemble``)
split their members into chunks ``[lo, hi)`` and hand them here with three functions of their
own: ``local(lo, hi)`` runs a chunk in this process, ``remote(lo, hi)`` says what a Dask worker
runs (a module-level function and its plain-data arguments), and a :class:`Store` keeps the
finished chunks in one checkpoint file (rewritten atomically after every chunk, so that an
interrupted run keeps them; chunks finish in any order on a cluster).
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stepsize._atomic import CheckpointError, config_diff, load_checkpoint


@dataclass
class Store:
    """Where the finished chunks go: ``load()`` gives ``(result, member indices)`` of an earlier
    run or None, ``save(result, members)`` writes them; ``concat(parts)`` joins results of
    consecutive chunks, ``take(result, index)`` picks members."""

    load: Callable
    save: Callable
    concat: Callable
    take: Callable


def run_chunks(chunks, local, remote, store, client=None, checkpoint=True):
    """The results of the members of ``chunks`` (pairs ``(lo, hi)``) in member order, and how
    many members came back from the checkpoint.

    Chunks whose members are all in the checkpoint (``store.load()``; skipped when not
    ``checkpoint``) are not run again; the others run in order with ``local(lo, hi)``, or on the
    Dask ``client`` as ``client.submit(*remote(lo, hi))``, collected as they complete.  Every
    finished chunk is saved with all before it (when ``checkpoint``).  A chunk that fails on
    the cluster does not stop the others from being kept; its exception is raised at the end.
    """
    done, members = None, np.zeros(0, dtype=np.int64)
    if checkpoint and (loaded := store.load()) is not None:
        done, members = loaded
    finished = set(members.tolist())
    todo = [(lo, hi) for lo, hi in chunks if not set(range(lo, hi)) <= finished]
    parts = [done] if done is not None else []
    index = [members] if done is not None else []

    def keep(lo, hi, part):
        parts.append(part)
        index.append(np.arange(lo, hi))
        if checkpoint:
            store.save(store.concat(parts), np.concatenate(index))

    failure = None
    if client is None:
        for lo, hi in todo:
            keep(lo, hi, local(lo, hi))
    else:
        from dask.distributed import as_completed

        futures = {client.submit(*remote(lo, hi), pure=False): (lo, hi) for lo, hi in todo}
        for fut in as_completed(futures):
            if fut.status == "error":
                failure = failure or fut.exception()
                continue
            keep(*futures[fut], fut.result())
        if failure is not None:
            raise failure
    _, first = np.unique(np.concatenate(index), return_index=True)  # member order, no repeats
    return store.take(store.concat(parts), first), len(finished)


def split(m, chunk_size):
    """The chunks ``[lo, hi)`` of ``m`` members, ``chunk_size`` each (a ``ValueError`` naming
    ``chunk_size`` unless it is a positive integer)."""
    integer = isinstance(chunk_size, int | np.integer) and not isinstance(chunk_size, bool)
    if not integer or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    return [(lo, min(lo + int(chunk_size), m)) for lo in range(0, m, int(chunk_size))]


def check_client(client):
    """``client`` is None or looks like a ``dask.distributed.Client``."""
    if client is not None and not hasattr(client, "submit"):
        raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")


def fingerprint(arrays, description, label="initial systems"):
    """What determines the results, as a JSON string: the SHA-256 of the initial ``arrays``
    (under ``label``) and ``description`` (a dict of named settings, or any JSON-able value),
    each entry kept as it is when short and as its SHA-256 otherwise, so that a mismatch can be
    named."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    entries = description if isinstance(description, dict) else {"settings": description}
    doc = {label: "sha256 " + h.hexdigest()}
    for name, value in entries.items():
        text = json.dumps(value, sort_keys=True, default=repr)
        doc[str(name)] = text if len(text) <= 200 else "sha256 " + _sha(text)
    return json.dumps(doc, sort_keys=True)


def _sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def checked_load(path, key, read):
    """``result`` of ``read(file) -> (fingerprint, result)`` on the newest readable version of
    the checkpoint ``path`` (:func:`stepsize._atomic.load_checkpoint`), None if there is none.

    A file written by a different run (fingerprint other than ``key``) raises
    :class:`~stepsize._atomic.CheckpointError` (a ValueError) naming what differs rather than
    being overwritten."""
    found = load_checkpoint(path, read)
    if found is None:
        return None
    stored, result = found
    if stored != key:
        try:
            what = "; ".join(config_diff(json.loads(stored), json.loads(key)))
        except json.JSONDecodeError:  # a file of an older version: a bare hash
            what = "other initial values, method or options"
        raise CheckpointError(
            f"checkpoint {str(path)!r} was written by a different run ({what}); "
            "remove it or choose another path"
        )
    return result
