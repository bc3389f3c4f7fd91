"""Methods side by side on one N-body problem or ensemble (the ``stepsize nbody`` table)."""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stepsize.nbody._ensemble import integrate_ensemble
from stepsize.nbody._integrate import integrate


@dataclass
class MethodRuns:
    """One row per method (status, steps, force evaluations, energy and angular-momentum
    error, closest approach, wall time; medians and totals for an ensemble) and, for single
    systems, each method's :class:`NBodyResult` in ``results``."""

    problem: str
    t_end: float
    ensemble: int | None = None
    rows: list = field(default_factory=list)
    results: list = field(default_factory=list)

    def to_dict(self):
        return {"problem": self.problem, "t_end": self.t_end, "rows": self.rows}

    def table(self):
        what = "median " if self.ensemble else ""
        size = f", {self.ensemble} systems" if self.ensemble else ""
        lines = [
            f"{self.problem}: t_end = {self.t_end:g}{size}",
            f"{'method':9} {'status':14} {'steps':>9} {'forces':>9} {what + '|dE/E|':>14} "
            f"{'min dist':>9} {'s':>7}",
        ]
        for r in self.rows:
            lines.append(
                f"{r['method']:9} {r['status']:14} {r['steps']:9d} {r['force_evaluations']:9d} "
                f"{r['energy_error']:14.2e} {r['min_distance']:9.2e} {r['wall_s']:7.3f}"
            )
        return "\n".join(lines)

    def save(self, out):
        """``out/nbody_run.json`` and, for runs with a history, ``out/nbody_run.png`` (orbits);
        returns the paths written."""
        from stepsize.nbody._plot import plot_orbits

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "nbody_run.json"]
        paths[0].write_text(json.dumps(self.rows, indent=2))
        runs = [
            (f"{self.problem}: {row['method']}  |dE/E| = {row['energy_error']:.1e}", r)
            for row, r in zip(self.rows, self.results)
            if r.history is not None
        ]
        if runs:
            paths.append(plot_orbits(out / "nbody_run.png", runs))
        return paths


def compare_methods(system, t_end, methods, options, *, problem="system", save_every=None):
    """Integrate ``system`` (a :class:`System`, or a list of them for an ensemble) to ``t_end``
    with every method of ``methods``, each with its keyword options ``options[method]``.

    An ensemble runs through :func:`integrate_ensemble` (``options`` may carry ``backend``) and
    reports how many systems finished, total steps and force evaluations, median errors and the
    closest approach of all.
    """
    ensemble = isinstance(system, (list, tuple))
    out = MethodRuns(problem, float(t_end), len(system) if ensemble else None)
    for method in methods:
        kw = dict(options.get(method, {}))
        start = time.perf_counter()
        if not ensemble:
            r = integrate(system, t_end, method, save_every=save_every, **kw)
            out.results.append(r)
            row = dict(
                status=r.status,
                steps=r.steps,
                force_evaluations=r.force_evaluations,
                energy_error=r.energy_error,
                angular_momentum_error=r.angular_momentum_error,
                min_distance=r.min_distance,
            )
        else:
            r = integrate_ensemble(system, t_end, method, save_every=save_every, **kw)
            row = dict(
                status=f"{int((r.status == 'done').sum())}/{len(r)} done",
                steps=int(r.steps.sum()),
                force_evaluations=int(r.force_evaluations.sum()),
                energy_error=float(np.median(r.energy_error)),
                angular_momentum_error=float(np.median(r.angular_momentum_error)),
                min_distance=float(np.min(r.min_distance)),
            )
        kw.pop("backend", None)
        wall = time.perf_counter() - start
        out.rows.append(
            dict(problem=problem, method=method, options=kw, t_end=t_end, **row, wall_s=wall)
        )
    return out
