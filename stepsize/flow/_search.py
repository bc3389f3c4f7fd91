"""A schedule search for one flow model: plan (Bellman) and/or evolve K steps, then compare the
result with every formula schedule on fresh noise against a many-step teacher."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stepsize import schedules as S
from stepsize.flow._compare import Comparison, compare_schedules
from stepsize.flow._fitness import ScheduleFitness
from stepsize.flow._plan import make_noise, plan_bellman, plan_for_solver

SEARCHES = ("bellman", "plan", "ld3", "evolve", "all")
FOUND = ("bellman", "gits", "oss", "planned", "ld3", "evolved")  # searched, not formulas


def reference_data(model):
    """``(data, classifier)`` to score samples of ``model`` against: samples of the data set it
    was trained on (``model.meta["data"]``) and, for the digits, the shipped classifier;
    ``(None, None)`` for a model of unknown data."""
    from stepsize.flow._data import load_data
    from stepsize.flow._pretrained import pretrained

    name = getattr(model, "meta", {}).get("data")
    if name == "digits":
        return load_data("digits"), pretrained("digits-classifier")
    if name in ("moons", "8gaussians", "checkerboard"):
        return load_data(name, 4096, seed=12345), None
    return None, None


def check_metric(model, metric):
    """:func:`reference_data` of ``model``, after checking that ``metric`` can be computed with
    it (swd, mmd and frechet need data, frechet also the classifier); ValueError otherwise."""
    data, classifier = reference_data(model)
    if metric in ("swd", "mmd", "frechet") and data is None:
        raise ValueError(f"{metric} needs a model of a known data set")
    if metric == "frechet" and classifier is None:
        raise ValueError("frechet needs the digits model")
    return data, classifier


@dataclass
class ScheduleSearch:
    """What :func:`search_schedules` found: ``schedules`` (name -> times: the formulas and the
    searched ones), their ``comparison`` on the evaluation noise, and the evolutionary search's
    ``evolve`` record (fitness, history, stats; empty without one) and LD3's ``ld3`` record
    (validation history and stats; empty without one)."""

    name: str
    steps: int
    solver: str
    schedules: dict
    comparison: Comparison
    evolve: dict = field(default_factory=dict)
    ld3: dict = field(default_factory=dict)

    def to_dict(self):
        return {
            "model": self.name,
            "steps": self.steps,
            "solver": self.solver,
            "schedules": {k: np.asarray(v).tolist() for k, v in self.schedules.items()},
            "rows": self.comparison.rows,
            "evolve": self.evolve,
            "ld3": self.ld3,
        }

    def table(self):
        """The comparison table, then the times of every searched schedule."""
        n = len(self.comparison.reference)
        lines = [f"{self.name}: {self.steps} {self.solver} steps, evaluated on {n} samples"]
        lines.append(comparison_table(self.comparison.rows))
        for name in FOUND:
            if name in self.schedules:
                times = np.array2string(np.asarray(self.schedules[name]), precision=3)
                lines.append(f"{name:8} t = {times}")
        return "\n".join(lines)

    def save(self, out):
        """``out/schedule-search.json`` and ``out/schedule-search.png``; returns both paths."""
        from stepsize.flow._plot import plot_comparison

        out = Path(out)
        js, png = out / "schedule-search.json", out / "schedule-search.png"
        js.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        title = f"{self.name}: {self.steps} {self.solver} steps"
        plot_comparison(png, self.comparison, self.schedules, title)
        return js, png


def comparison_table(rows):
    """Schedule, steps, NFE, error against the teacher, and the distances present in ``rows``."""
    extra = [k for k in ("swd", "fd") if any(k in r for r in rows)]
    lines = [
        f"{'schedule':16} {'steps':>5} {'nfe':>5} {'error':>10}"
        + "".join(f" {k:>8}" for k in extra)
    ]
    for r in rows:
        lines.append(
            f"{r['schedule']:16} {r['steps']:5d} {r['nfe']:5d} {r['error']:10.4g}"
            + "".join(f" {r.get(k, float('nan')):8.4f}" for k in extra)
        )
    return "\n".join(lines)


def search_schedules(
    model,
    K,
    *,
    name="model",
    method="bellman",
    planner="boss",
    n_grid=100,
    n_samples=256,
    eval_samples=1024,
    metric="teacher",
    population=50,
    epochs=10,
    solver="euler",
    seed=0,
    spacing="timesteps",
    ld3_iterations=60,
    map=None,
):
    """Search a ``K``-step schedule for ``model`` and compare it with the formula schedules.

    ``method``: "bellman" plans with :func:`plan_bellman` (cost ``planner``: boss, gits or oss)
    on ``n_grid`` intervals from ``n_samples`` noise draws (seed ``seed``); "plan" plans for
    ``solver`` with :func:`plan_for_solver` (its own step as the cost, refined on its global
    error) on the grid of ``spacing`` ("timesteps", "time" or "logsnr"); "ld3" also learns
    the times from that plan with :func:`plan_ld3` (``ld3_iterations`` steps on noise of seeds
    ``seed + 2`` for training and ``seed + 3`` for validation); "evolve" runs
    :func:`stepsize.schedules.evolve` with :class:`ScheduleFitness` (``metric``) seeded with the
    formulas and the plans, ``population`` candidates for ``epochs`` generations, its fitness
    evaluated through ``map`` (e.g. a :class:`stepsize.parallel.Runner`'s ``map``); "all" does
    both.  Every schedule is then sampled from ``eval_samples`` fresh draws (seed ``seed + 1``)
    and scored by :func:`compare_schedules` against the teacher and, for models of a known
    data set, the data (:func:`reference_data`).  ``name`` labels the result.
    """
    if method not in SEARCHES:
        raise ValueError(f"method: unknown {method!r}; known: {', '.join(SEARCHES)}")
    data, classifier = check_metric(model, metric)
    found = {formula: S.get(formula, K) for formula in S.SCHEDULES}
    if method in ("bellman", "all"):
        found["bellman" if planner == "boss" else planner] = plan_bellman(
            model, K, n_grid, n_samples, seed, method=planner
        )
    if method in ("plan", "ld3"):
        found["planned"] = plan_for_solver(
            model, K, solver, n_grid, n_samples, seed, spacing=spacing
        )
    record, learned = {}, {}
    if method == "ld3":
        from stepsize.flow._ld3 import plan_ld3

        res = plan_ld3(
            model,
            K,
            solver,
            init=found["planned"],
            spacing=spacing,
            n_samples=n_samples,
            n_valid=n_samples,
            iterations=ld3_iterations,
            seed=seed + 2,  # training and validation noise apart from the evaluation's
        )
        found["ld3"] = res.times
        learned = {"validation": [list(h) for h in res.history], **res.stats}
    if method in ("evolve", "all"):
        fitness = ScheduleFitness(
            model,
            make_noise(model, n_samples, seed),
            metric,
            None if metric == "teacher" else data,
            solver=solver,
            classifier=classifier,
        )
        res = S.evolve(
            fitness,
            S.uniform(n_grid),
            K,
            population,
            epochs,
            init=list(found.values()),
            seed=seed,
            map=map,
        )
        found["evolved"] = res.times
        record = {"fitness": res.fitness, "history": res.history.tolist(), **res.stats}
    comparison = compare_schedules(
        model,
        found,
        n_samples=eval_samples,
        seed=seed + 1,
        solver=solver,
        data=data,
        classifier=classifier,
    )
    return ScheduleSearch(name, K, solver, found, comparison, record, learned)
