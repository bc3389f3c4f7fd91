"""Picklable fitness functions of a schedule for :func:`stepsize.schedules.evolve`."""

import multiprocessing

import numpy as np
import torch

from stepsize.flow._metrics import (
    classifier_features,
    frechet_distance,
    mmd,
    sliced_wasserstein,
    teacher_error,
)
from stepsize.flow._sample import reference, sample

METRICS = ("teacher", "swd", "mmd", "frechet")
"""Fitness choices of :class:`ScheduleFitness`."""


class ScheduleFitness:
    """``fitness(times)``: sample from fixed noise over ``times`` and score the samples.

    Parameters
    ----------
    model : callable
        The velocity model (picklable to run in other processes or on Dask).
    noise : tensor or array
        The fixed noise batch.
    metric : str
        "teacher": :func:`teacher_error` against the accurate solution from the same noise
        (``target``, computed with :func:`reference` if not given); "swd", "mmd": sliced
        Wasserstein distance or MMD to data samples ``target``; "frechet": Frechet distance in
        the feature space of ``classifier`` to data samples ``target``.
    solver : str
        Sampler of :func:`sample`.
    """

    def __init__(
        self, model, noise, metric="teacher", target=None, *, solver="euler", classifier=None
    ):
        if metric not in METRICS:
            raise ValueError(f"metric: unknown {metric!r}; known: {', '.join(METRICS)}")
        if metric != "teacher" and target is None:
            raise ValueError(f"metric {metric!r} needs data samples as target")
        if metric == "frechet" and classifier is None:
            raise ValueError("metric 'frechet' needs a classifier")
        self.model, self.metric, self.solver, self.classifier = model, metric, solver, classifier
        self.noise = torch.as_tensor(np.asarray(noise) if not torch.is_tensor(noise) else noise)
        if metric == "teacher" and target is None:
            target = reference(model, self.noise)
        self.target = np.asarray(target.cpu() if torch.is_tensor(target) else target)
        if metric == "frechet":
            self.target_features = classifier_features(classifier, self.target)

    def __call__(self, times):
        if multiprocessing.parent_process() is not None:
            torch.set_num_threads(1)
        x = sample(self.model, self.noise, times, self.solver)
        if not torch.isfinite(x).all():
            return float("inf")
        if self.metric == "teacher":
            return teacher_error(x, self.target)
        if self.metric == "swd":
            return sliced_wasserstein(x, self.target)
        if self.metric == "mmd":
            return mmd(x, self.target)
        return frechet_distance(classifier_features(self.classifier, x), self.target_features)
