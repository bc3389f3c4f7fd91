"""Teacher solutions computed once: kept by what determines them, in memory and on disk.

A teacher (:func:`stepsize.flow.teacher`) or reference (:func:`stepsize.flow.reference`) is a
deterministic function of the model, the noise, the grid and the solver; planners run it again
for every sampler and schedule length they plan, and a benchmark for every row it scores.
:class:`TeacherCache` keys each result by a SHA-256 of the model's key, the noise's bytes, dtype
and shape, the grid and the solver, so equal inputs share one computation and any change of
them (another model file, noise seed, grid) misses.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from stepsize._atomic import atomic_write
from stepsize.flow._sample import Trajectory, reference, teacher


class TeacherCache:
    """Teachers and references of one model, computed on first request.

    ``model_key`` names the model and its weights (e.g. a model file's SHA-256: two models of
    one key must give the same outputs); ``folder``: a directory in which results persist
    between processes (one ``.npz`` a result, written atomically), or None for memory only.
    ``hits`` and ``misses`` count the requests answered from the cache and computed.
    """

    def __init__(self, model_key, folder=None):
        if not isinstance(model_key, str) or not model_key:
            raise ValueError(f"model_key must be a non-empty string, got {model_key!r}")
        self.model_key = model_key
        self.folder = None if folder is None else Path(folder)
        self._memory = {}
        self.hits = self.misses = 0

    def _key(self, what, noise, **options):
        x = torch.as_tensor(np.asarray(noise) if not torch.is_tensor(noise) else noise)
        h = hashlib.sha256()
        h.update(json.dumps([self.model_key, what, options], sort_keys=True).encode())
        h.update(f"{x.dtype}{tuple(x.shape)}".encode())
        h.update(x.detach().cpu().contiguous().numpy().tobytes())
        return f"{what}-{h.hexdigest()[:32]}"

    def _get(self, key, compute):
        if key in self._memory:
            self.hits += 1
            return self._memory[key]
        path = None if self.folder is None else self.folder / f"{key}.npz"
        if path is not None and path.is_file():
            with np.load(path) as stored:
                value = {name: stored[name] for name in stored.files}
            self.hits += 1
        else:
            value = compute()
            self.misses += 1
            if path is not None:
                with atomic_write(path) as fh:
                    np.savez(fh, **value)
        self._memory[key] = value
        return value

    def teacher(self, model, noise, n_steps=100, solver="euler", grid=None):
        """:func:`stepsize.flow.teacher` of the same arguments, cached."""
        grid_key = None if grid is None else np.asarray(grid, dtype=np.float64).tolist()
        key = self._key("teacher", noise, n_steps=n_steps, solver=solver, grid=grid_key)

        def compute():
            tr = teacher(model, noise, n_steps, solver=solver, grid=grid)
            return {"times": tr.times, "x": tr.x, "v": tr.v}

        value = self._get(key, compute)
        return Trajectory(value["times"], value["x"], value["v"])

    def reference(self, model, noise, n_steps=1000, solver="heun"):
        """:func:`stepsize.flow.reference` at ``t = 1`` of the same arguments, cached; a tensor
        of the noise's dtype (float64 values where the noise is float64)."""
        key = self._key("reference", noise, n_steps=n_steps, solver=solver)

        def compute():
            out = reference(model, noise, n_steps, solver=solver)
            return {"x": torch.as_tensor(out).detach().cpu().numpy()}

        return torch.as_tensor(self._get(key, compute)["x"])
