"""Simulation archives: a directory of snapshots of a run, each the complete state of the
integrator (positions, velocities and everything the compiled loop carries: the Gauss-Radau
polynomial, the Wisdom-Holman mapping variables, step sizes, counters), so that a run resumed
from any snapshot continues exactly as the uninterrupted run did, bit for bit.

Layout: ``<path>/snapshot_000000.npz``, ``snapshot_000001.npz``, ...; each file is written to a
temporary name and moved into place with ``os.replace`` (atomic on POSIX and Windows), so a
crash leaves only whole snapshots.
"""

import json
import os
from pathlib import Path

import numpy as np

from stepsize.nbody import _gravity as K
from stepsize.nbody._result import Event
from stepsize.nbody._system import System

PATTERN = "snapshot_{:06d}.npz"
ARRAYS = ("_masses", "_pos", "_vel", "_acc", "_jerk", "_par", "_scal", "_cnt", "_escaped",
          "_l0", "_x0", "_v0")  # fmt: skip


def snapshot_files(path):
    """The snapshot files of the archive at ``path``, in order."""
    return sorted(Path(path).glob("snapshot_*.npz"))


def write(path, index, sim):
    """Write snapshot ``index`` of the Simulation ``sim`` (atomically)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    data = {name: getattr(sim, name) for name in ARRAYS}
    for k, a in enumerate(sim._extra):
        data[f"extra_{k}"] = np.asarray(a)
    meta = {
        "method": sim.method,
        "options": sim.options.as_dict(),
        "G": sim._G,
        "e0": sim._e0,
        "status": sim.status,
        "events": [[e.kind, e.t, list(e.bodies), e.distance] for e in sim.events],
        "changes": sim.changes,
        "every": sim._archive_every,
        "index": index,
        "n_extra": len(sim._extra),
    }
    data["meta"] = np.array(json.dumps(meta))
    target = path / PATTERN.format(index)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **data)
    os.replace(tmp, target)


def read(path, index):
    """(meta, arrays, extra) of snapshot ``index`` (negative counts from the end)."""
    files = snapshot_files(path)
    if not files:
        raise FileNotFoundError(f"archive {str(path)!r} has no snapshots")
    try:
        file = files[index]
    except IndexError:
        raise IndexError(f"archive {str(path)!r} has {len(files)} snapshots, no {index}") from None
    with np.load(file) as f:
        meta = json.loads(str(f["meta"]))
        arrays = {name: f[name].copy() for name in ARRAYS}
        extra = []
        for k in range(meta["n_extra"]):
            a = f[f"extra_{k}"]
            extra.append(int(a) if a.ndim == 0 else a.copy())
    meta["events"] = [Event(k, t, tuple(b), d) for k, t, b, d in meta["events"]]
    meta["changes"] = [tuple(c) for c in meta["changes"]]
    return meta, arrays, tuple(extra)


class Archive:
    """The snapshots of a run written with ``Simulation(..., archive=path, every=dt)``.

    ``len(archive)``, ``archive.times``, ``archive[k]`` (a :class:`System`) and
    ``archive.simulation(k)`` (the run resumed from snapshot k).
    """

    def __init__(self, path):
        self.path = Path(path)
        if not snapshot_files(self.path):
            raise FileNotFoundError(f"archive {str(path)!r} has no snapshots")

    def __len__(self):
        return len(snapshot_files(self.path))

    def __repr__(self):
        return f"Archive({str(self.path)!r}, snapshots={len(self)})"

    @property
    def times(self):
        """The time of every snapshot."""
        out = []
        for file in snapshot_files(self.path):
            with np.load(file) as f:
                out.append(float(f["_scal"][K.S_T]))
        return np.array(out)

    def __getitem__(self, index):
        meta, arrays, _ = read(self.path, index)
        return System._trusted(arrays["_masses"], arrays["_pos"], arrays["_vel"], meta["G"])

    def simulation(self, index=-1):
        """The run resumed from snapshot ``index``; it goes on writing to this archive (the
        snapshots after ``index`` are replaced as it reaches their times)."""
        from stepsize.nbody._simulation import Simulation

        return Simulation.from_archive(self.path, index)
