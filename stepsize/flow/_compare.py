"""Side-by-side evaluation of schedules on one model from one batch of noise."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stepsize.flow._metrics import (
    classifier_features,
    frechet_distance,
    sliced_wasserstein,
    teacher_error,
)
from stepsize.flow._plan import make_noise
from stepsize.flow._sample import NFE_PER_STEP, reference, sample
from stepsize.schedules import check_schedule


@dataclass
class Comparison:
    """``rows``: one dict per schedule (name, steps, nfe, error, and the distribution metrics);
    ``samples``: the samples by name, ``reference``: the teacher's samples from the same noise."""

    rows: list
    samples: dict = field(default_factory=dict)
    reference: np.ndarray = None

    def save(self, out, name, times, title="", **meta):
        """Write the run of schedule ``name`` (its ``times``) into the directory ``out``:
        ``samples.npy`` (its samples), ``sample.json`` (``meta``, the schedule and the rows)
        and ``sample.png`` (:func:`stepsize.flow._plot.plot_comparison`); returns the
        JSON document."""
        from stepsize.flow._plot import plot_comparison

        out = Path(out)
        times = np.asarray(times, dtype=float)
        doc = {**meta, "schedule": times.tolist(), "rows": self.rows}
        np.save(out / "samples.npy", self.samples[name])
        (out / "sample.json").write_text(json.dumps(doc, indent=2) + "\n")
        plot_comparison(out / "sample.png", self, {name: times}, title)
        return doc


def compare_schedules(
    model,
    schedules,
    *,
    n_samples=1024,
    seed=0,
    solver="euler",
    data=None,
    classifier=None,
    reference_steps=1000,
    shape=None,
):
    """Sample with every schedule of ``schedules`` (a dict name -> times) from the same noise.

    ``error`` is :func:`teacher_error` against ``reference_steps`` Heun steps from that noise;
    with ``data`` the sliced Wasserstein distance ``swd`` to it, and with a ``classifier`` also
    the Frechet distance ``fd`` in its feature space. The teacher's own distances are the row
    named "reference".
    """
    noise = make_noise(model, n_samples, seed, shape)
    ref = reference(model, noise, reference_steps).numpy()
    target = None if data is None else np.asarray(data, dtype=np.float64)
    target_feat = (
        None if classifier is None or target is None else classifier_features(classifier, target)
    )

    def scores(x):
        out = {}
        if target is not None:
            out["swd"] = sliced_wasserstein(x, target)
        if target_feat is not None:
            out["fd"] = frechet_distance(classifier_features(classifier, x), target_feat)
        return out

    rows, samples = [], {}
    for name, times in schedules.items():
        t = check_schedule(times, f"schedule {name!r}")
        x = sample(model, noise, t, solver).numpy()
        samples[name] = x
        row = {
            "schedule": name,
            "steps": len(t) - 1,
            "nfe": NFE_PER_STEP[solver] * (len(t) - 1),
            "error": teacher_error(x, ref) if np.all(np.isfinite(x)) else float("inf"),
        }
        if np.all(np.isfinite(x)):
            row.update(scores(x))
        rows.append(row)
    rows.append(
        {
            "schedule": "reference",
            "steps": reference_steps,
            "nfe": 2 * reference_steps,
            "error": 0.0,
            **scores(ref),
        }
    )
    return Comparison(rows, samples, ref)
