"""Checkpoints of long ensembles: the finished systems and their indices in one .npz file,
rewritten after every chunk (atomically, keeping the one before as ``<path>.prev``, see
:mod:`stepsize._atomic`; chunks may finish in any order on a cluster) and read back on a restart
with the same inputs."""

from pathlib import Path

import numpy as np

from stepsize._atomic import save_checkpoint
from stepsize._chunks import checked_load
from stepsize.nbody._result import EnsembleResult, Event, History

ARRAYS = (
    "t",
    "positions",
    "velocities",
    "masses",
    "G",
    "status",
    "steps",
    "force_evaluations",
    "energy_error",
    "angular_momentum_error",
    "com_drift",
    "min_distance",
    "min_distance_pair",
)
HISTORY = ("t", "positions", "velocities", "energy_error", "value")


def concat(parts):
    """One EnsembleResult from consecutive ones."""
    first = parts[0]
    fields = {name: np.concatenate([getattr(p, name) for p in parts]) for name in ARRAYS}
    history = None
    if first.history is not None:
        history = History(
            *(np.concatenate([getattr(p.history, n) for p in parts]) for n in HISTORY)
        )
    events = [e for p in parts for e in p.events]
    return EnsembleResult(**fields, events=events, history=history, stats=dict(first.stats))


def take(res, index):
    """The members ``index`` of ``res``, in that order."""
    fields = {name: getattr(res, name)[index] for name in ARRAYS}
    history = None
    if res.history is not None:
        history = History(*(getattr(res.history, n)[index] for n in HISTORY))
    events = [res.events[k] for k in index]
    return EnsembleResult(**fields, events=events, history=history, stats=dict(res.stats))


def save(path, key, res, members):
    """Write ``res`` (the systems finished so far, ``members`` their indices in the ensemble)
    and the run's fingerprint ``key``."""
    data = {name: getattr(res, name) for name in ARRAYS}
    data["members"] = np.asarray(members, dtype=np.int64)
    data["status"] = data["status"].astype(str)
    ev = [e[0] if e else None for e in res.events]  # an ensemble stops a system at its event
    data["event_kind"] = np.array([e.kind if e else "" for e in ev])
    data["event_t"] = np.array([e.t if e else np.nan for e in ev])
    data["event_bodies"] = np.array([(e.bodies + (-1,))[:2] if e else (-1, -1) for e in ev])
    data["event_distance"] = np.array([e.distance if e else np.nan for e in ev])
    if res.history is not None:
        data.update({f"history_{n}": getattr(res.history, n) for n in HISTORY})
    save_checkpoint(path, lambda fh: np.savez(fh, fingerprint=np.array(key), **data))


def load(path, key):
    """(result, member indices) of the systems finished by an earlier run with fingerprint
    ``key``; None if there is no file.

    A file written by a different run (other systems, method or options) raises
    :class:`~stepsize._atomic.CheckpointError` (a ValueError) naming what differs rather than
    being overwritten; an unreadable file falls back to the previous version with a warning.
    """
    return checked_load(path, key, _read)


def _read(file):
    with Path(file).open("rb") as fh, np.load(fh) as f:
        key = str(f["fingerprint"])
        fields = {name: f[name] for name in ARRAYS}
        history = None
        if "history_t" in f:
            history = History(*(f[f"history_{n}"] for n in HISTORY))
        events = [
            [Event(str(k), float(t), tuple(int(b) for b in bodies if b >= 0), float(d))]
            if k
            else []
            for k, t, bodies, d in zip(
                f["event_kind"], f["event_t"], f["event_bodies"], f["event_distance"], strict=True
            )
        ]
        members = f["members"]
    return key, (EnsembleResult(**fields, events=events, history=history), members)
