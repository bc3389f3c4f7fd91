"""Files that a kill cannot leave half-written, and checkpoints that survive a bad newest copy.

:func:`atomic_write` writes to a temporary file in the target's folder, flushes it to disk
(``fsync``) and renames it over the target (``os.replace``, atomic on POSIX and Windows), so a
reader sees the old file or the new one, never a torn one.

A checkpoint at ``path`` keeps its previous version at ``path + ".prev"``:
:func:`save_checkpoint` renames the current file there before the new one takes its place, and
:func:`load_checkpoint` reads the newest file that loads, warning with the name of each one that
does not (truncated, empty, from a crashed disk).  Every long job of the package (flow training,
agent training, ``schedules.evolve``, N-body ensembles, ``stepsize.parallel``) saves through here.
"""

import os
import pickle
import tempfile
import warnings
from contextlib import contextmanager, suppress
from pathlib import Path

from stepsize._errors import UsageError

__all__ = [
    "CheckpointError",
    "atomic_write",
    "check_same_config",
    "config_diff",
    "load_checkpoint",
    "load_pickle",
    "previous",
    "save_checkpoint",
    "save_pickle",
]


class CheckpointError(UsageError):
    """No checkpoint can be read, or one was written by another configuration (a ValueError;
    the ``stepsize`` command reports it as a usage error)."""


@contextmanager
def atomic_write(path, mode="wb"):
    """``with atomic_write(path) as fh: ...`` writes ``path`` all at once or not at all.

    The data go to a temporary file next to ``path`` that replaces ``path`` only when the block
    ends without an exception (after ``fsync``); otherwise the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder):
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_pickle(path, obj):
    """Pickle ``obj`` into ``path`` atomically."""
    with atomic_write(path) as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_pickle(path):
    """The object pickled in ``path`` (trusted files only: pickle runs code)."""
    with Path(path).open("rb") as fh:
        return pickle.load(fh)


def previous(path):
    """Where :func:`save_checkpoint` keeps the version before the newest one."""
    path = Path(path)
    return path.with_name(path.name + ".prev")


def save_checkpoint(path, write):
    """Save a checkpoint: ``write(fh)`` fills a new file that becomes ``path``; the old ``path``
    becomes ``path.prev``.  A kill at any moment leaves at least one complete version."""
    path = Path(path)
    with atomic_write(path.with_name(path.name + ".new")) as fh:
        write(fh)
    if path.exists():
        os.replace(path, previous(path))
    os.replace(path.with_name(path.name + ".new"), path)
    _fsync_dir(path.parent)


def load_checkpoint(path, read):
    """``read(file)`` of the newest readable version of the checkpoint ``path``; None if none.

    Tries ``path``, then a complete new version a kill left behind before its rename, then
    ``path.prev``; warns naming each file that exists but cannot be read, and raises
    :class:`CheckpointError` naming them all when none can.
    """
    path = Path(path)
    candidates = [path, path.with_name(path.name + ".new"), previous(path)]
    failed = []
    for i, file in enumerate(candidates):
        if not file.exists():
            continue
        try:
            return read(file)
        except Exception as exc:  # a damaged file shows up as any error of its reader
            failed.append(f"{str(file)!r} ({type(exc).__name__}: {exc})")
            later = [c for c in candidates[i + 1 :] if c.exists()]
            if later:
                warnings.warn(
                    f"checkpoint {str(file)!r} cannot be read ({type(exc).__name__}: {exc}); "
                    f"falling back to {str(later[0])!r}",
                    RuntimeWarning,
                    stacklevel=2,
                )
    if failed:
        raise CheckpointError(f"no readable checkpoint: {'; '.join(failed)}")
    return None


def config_diff(stored, current):
    """``["name: checkpoint A, now B", ...]`` for every entry in which two dicts differ."""
    keys = sorted(set(stored) | set(current), key=str)
    missing = object()
    return [
        f"{k}: checkpoint {stored.get(k, '(absent)')!r}, now {current.get(k, '(absent)')!r}"
        for k in keys
        if not _equal(stored.get(k, missing), current.get(k, missing))
    ]


def check_same_config(path, stored, current):
    """Refuse to resume from the checkpoint ``path`` when its configuration ``stored`` differs
    from ``current`` (two dicts); the message names every entry that differs."""
    diff = config_diff(stored, current)
    if diff:
        raise CheckpointError(
            f"checkpoint {str(path)!r} was written with another configuration ("
            + "; ".join(diff)
            + "); remove it or use another path to start afresh"
        )


def _equal(a, b):
    try:
        return bool(a == b)
    except Exception:  # arrays and the like: compare their reprs
        return repr(a) == repr(b)
