"""Evolutionary search for a K-step schedule on a grid (AutoDiffusion, Li et al., ICCV 2023).

A candidate is ``K - 1`` distinct interior points of the grid (the end points are fixed). The
first generation holds the seeds (uniform steps and any given schedules), mutants of the seeds
and random candidates; every later one holds mutants and uniform crossovers of the ``top_k`` best
candidates evaluated so far, filled up with random candidates. A cache keeps every evaluated
candidate, which is never evaluated again. AutoDiffusion used populations of 50, the top 10,
mutation probabilities 0.1-0.25 and 10-20 epochs, with the FID of generated samples as fitness.
"""

import json
import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from stepsize._atomic import check_same_config, load_checkpoint, save_checkpoint
from stepsize.schedules._check import check_grid, check_real, check_steps


@dataclass
class EvolveResult:
    """Outcome of :func:`evolve`.

    Attributes
    ----------
    times : ndarray
        Best schedule found, ``K + 1`` grid times.
    indices : ndarray
        Its grid indices.
    fitness : float
        Its fitness (lower is better).
    history : ndarray
        Best fitness after each epoch.
    stats : dict
        ``evaluations`` (distinct candidates evaluated), ``epochs``, ``backend``.
    """

    times: np.ndarray
    indices: np.ndarray
    fitness: float
    history: np.ndarray
    stats: dict = field(default_factory=dict)


class _Search:
    """Candidate generation; all randomness comes from one seeded generator."""

    def __init__(self, n_grid, K, rng, mutation_prob):
        self.n, self.m, self.rng, self.p = n_grid, K - 1, rng, mutation_prob
        self.total = math.comb(n_grid - 1, K - 1)

    def random(self):
        return tuple(sorted(int(i) + 1 for i in self.rng.choice(self.n - 1, self.m, replace=False)))

    def _repair(self, points):
        points = set(points)
        while len(points) < self.m:
            points.add(int(self.rng.integers(1, self.n)))
        return tuple(sorted(points))

    def mutate(self, parent):
        child = list(parent)
        changed = False
        for pos in range(self.m):
            if self.rng.random() < self.p or (pos == self.m - 1 and not changed):
                free = np.setdiff1d(np.arange(1, self.n), child)
                if free.size:
                    child[pos] = int(self.rng.choice(free))
                    changed = True
        return tuple(sorted(child))

    def crossover(self, a, b):
        mask = self.rng.random(self.m) < 0.5
        return self._repair(x if take else y for x, y, take in zip(a, b, mask))

    def mutant(self, parents):
        """A mutant of a random member of ``parents``."""
        return self.mutate(parents[self.rng.integers(len(parents))])

    def child(self, parents):
        """A uniform crossover of two random members of ``parents``."""
        i, j = self.rng.integers(len(parents), size=2)
        return self.crossover(parents[i], parents[j])

    def snap(self, grid, times):
        t = check_grid(times, "init schedule")
        if t.size != self.m + 2:
            raise ValueError(f"init schedules must have K + 1 = {self.m + 2} times, got {t.size}")
        inner = np.abs(grid[1:-1, None] - t[None, 1:-1]).argmin(axis=0) + 1
        return self._repair(int(i) for i in inner)

    def fill(self, make, count, seen, out):
        """Append up to ``count`` new candidates from ``make()`` to ``out`` (20 tries each)."""
        goal = len(out) + count
        for _ in range(20 * count):
            if len(out) >= goal or len(seen) >= self.total:
                break
            cand = make()
            if cand not in seen:
                seen.add(cand)
                out.append(cand)


def _serial_map(fn, items):
    return [fn(item) for item in items]


def _read(file):
    state = json.loads(Path(file).read_text(encoding="utf-8"))
    missing = {"run", "epoch", "cache", "history", "rng"} - set(state)
    if missing:
        raise KeyError(f"not an evolve checkpoint (no {', '.join(sorted(missing))})")
    return state


def evolve(
    fitness,
    grid,
    K,
    population=50,
    epochs=10,
    *,
    top_k=10,
    mutation_prob=0.25,
    n_mutation=None,
    n_crossover=None,
    init=(),
    seed=0,
    map=None,
    checkpoint=None,
):
    """Search a ``K``-step schedule on ``grid`` that minimises ``fitness``.

    Parameters
    ----------
    fitness : callable
        ``fitness(times) -> float`` for a schedule of ``K + 1`` grid times; lower is better,
        non-finite values count as ``+inf``. Must be picklable for processes or Dask.
    grid : (N+1,) array_like
        Strictly increasing candidate times; the schedule always starts at ``grid[0]`` and ends at
        ``grid[-1]``.
    K : int
        Steps, ``1 <= K < N``.
    population, epochs, top_k : int
        Candidates per generation (50), generations including the first (10), parents kept (10).
    mutation_prob : float
        Probability that a mutant replaces each interior point (at least one is replaced).
    n_mutation, n_crossover : int, optional
        Mutants and crossovers per generation (default: each half of ``population``); random
        candidates fill up the rest.
    init : sequence of schedules
        Seeds for the first generation besides uniform steps (e.g. a Bellman schedule), snapped
        to the nearest grid points.
    seed : int
        Seed of the search's random generator.
    map : callable, optional
        ``map(fitness, schedules) -> list of values``, in the order of ``schedules``: where the
        fitness runs.  Default: one after the other in this process.  For local processes or a
        Dask cluster pass a :class:`stepsize.parallel.Runner`'s ``map``.  ``stats["backend"]``
        is the runner's backend, ``"serial"`` by default and ``"map"`` for another callable.
    checkpoint : path, optional
        JSON file written atomically after each generation (the one before is kept as
        ``<checkpoint>.prev``); if it exists, the search resumes from it and gives the same result
        as an uninterrupted run.  A checkpoint written with other options (all but ``epochs``,
        which may grow, and ``fitness``, which cannot be compared) is refused, naming what
        differs; an unreadable one falls back to the previous one with a warning.
    """
    g = check_grid(grid, "grid", min_len=3)
    n = g.size - 1
    K = check_steps(K)
    if K >= n:
        raise ValueError(f"K must be < N = {n} (grid intervals), got {K}")
    population = check_steps(population, "population", low=2)
    epochs = check_steps(epochs, "epochs")
    top_k = check_steps(top_k, "top_k")
    mutation_prob = check_real(mutation_prob, "mutation_prob")
    if not 0.0 <= mutation_prob <= 1.0:
        raise ValueError(f"mutation_prob must lie in [0, 1], got {mutation_prob!r}")
    n_mut = population // 2 if n_mutation is None else check_steps(n_mutation, "n_mutation", 0)
    n_cross = (
        population - n_mut if n_crossover is None else check_steps(n_crossover, "n_crossover", 0)
    )
    if map is None:
        map, backend = _serial_map, "serial"
    elif callable(map):
        backend = getattr(getattr(map, "__self__", None), "backend", "map")
    else:
        raise TypeError(f"map must be callable, got {type(map).__name__}")
    rng = np.random.default_rng(seed)
    search = _Search(n, K, rng, mutation_prob)
    cache, history, start = {}, [], 0
    init = list(init)
    run = {
        "K": K,
        "grid": g.tolist(),
        "population": population,
        "top_k": top_k,
        "mutation_prob": float(mutation_prob),
        "n_mutation": n_mut,
        "n_crossover": n_cross,
        "init": [np.asarray(s, dtype=float).tolist() for s in init],
        "seed": seed if seed is None else int(seed),
    }
    state = None if checkpoint is None else load_checkpoint(checkpoint, _read)
    if state is not None:
        check_same_config(checkpoint, state["run"], run)
        cache = {tuple(c): f for c, f in state["cache"]}
        history, start = state["history"], state["epoch"]
        rng.bit_generator.state = state["rng"]

    def key(cand):
        return cache[cand], cand

    for epoch in range(start, epochs):
        seen, new = set(cache), []
        if epoch == 0:
            seeds = [search.snap(g, np.linspace(g[0], g[-1], K + 1))]
            seeds += [search.snap(g, s) for s in init]
            for s in dict.fromkeys(seeds):
                seen.add(s)
                new.append(s)
            mutants = max(0, (population - len(new)) // 2)
            search.fill(partial(search.mutant, seeds), mutants, seen, new)
        else:
            top = sorted(cache, key=key)[:top_k]
            search.fill(partial(search.mutant, top), n_mut, seen, new)
            search.fill(partial(search.child, top), n_cross, seen, new)
        search.fill(search.random, population - len(new), seen, new)
        values = map(fitness, [g[[0, *c, n]] for c in new])
        for cand, value in zip(new, values):
            value = float(value)
            cache[cand] = value if math.isfinite(value) else math.inf
        history.append(min(cache.values()))
        if checkpoint is not None:
            doc = {
                "run": run,
                "epoch": epoch + 1,
                "cache": [[list(c), f] for c, f in cache.items()],
                "history": history,
                "rng": rng.bit_generator.state,
            }
            save_checkpoint(checkpoint, lambda fh, doc=doc: fh.write(json.dumps(doc).encode()))
    best = min(cache, key=key)
    idx = np.array([0, *best, n], dtype=np.int64)
    return EvolveResult(
        times=g[idx],
        indices=idx,
        fitness=cache[best],
        history=np.array(history),
        stats={"evaluations": len(cache), "epochs": len(history), "backend": backend},
    )
