"""Conversions between flow time, noise levels and diffusion timesteps; export and JSON files.

Flow time ``t`` (0 noise, 1 data), flow noise level ``sigma = 1 - t`` (diffusers'
flow-matching schedulers, k-diffusion's descending sigmas) and the timesteps of a model trained
on ``n_train`` discrete steps (``n_train - 1`` is pure noise, 0 is data).
"""

import json
from pathlib import Path

import numpy as np

from stepsize._errors import UsageError, read_json, user_input
from stepsize.schedules._check import check_array, check_grid, check_schedule, check_steps


def t_to_sigma(t):
    """Flow noise level ``sigma = 1 - t``."""
    return 1.0 - np.asarray(t, dtype=np.float64)


def sigma_to_t(sigma):
    """Flow time ``t = 1 - sigma``."""
    return 1.0 - check_array(sigma, "sigma")


def t_to_timesteps(t, n_train=1000, discrete=True):
    """Diffusion timesteps of flow times ``t``.

    ``discrete=True``: integer steps of a model trained on ``n_train`` steps,
    ``round((1 - t) (n_train - 1))``, so ``t = 0`` is step 999 and ``t = 1`` step 0 (AYS's lists).
    ``discrete=False``: diffusers' flow-matching convention ``sigma * n_train`` (floats).
    """
    n_train = check_steps(n_train, "n_train", low=2)
    sigma = t_to_sigma(t)
    if discrete:
        return np.rint(sigma * (n_train - 1)).astype(np.int64)
    return sigma * n_train


def timesteps_to_t(timesteps, n_train=1000, discrete=True):
    """Inverse of :func:`t_to_timesteps`."""
    n_train = check_steps(n_train, "n_train", low=2)
    ts = check_array(timesteps, "timesteps")
    return 1.0 - ts / ((n_train - 1) if discrete else n_train)


def to_diffusers(schedule, kind="sigmas", n_train=1000):
    """Keyword arguments for a diffusers pipeline: ``pipe(**to_diffusers(schedule))``.

    ``kind="sigmas"``: ``{"sigmas": [K descending noise levels]}`` for flow-matching pipelines;
    the scheduler appends the final 0 itself. ``FlowMatchEulerDiscreteScheduler`` shifts custom
    sigmas (``shift * s / (1 + (shift - 1) s)``) unless its ``shift`` is 1 and dynamic shifting
    is off, so set those to pass the schedule through unchanged.
    ``kind="timesteps"``: ``{"timesteps": [K descending integers]}`` for discrete-time models
    (as diffusers' ``AysSchedules``), the final step to data implied.
    """
    t = check_schedule(schedule)
    if kind == "sigmas":
        return {"sigmas": t_to_sigma(t[:-1]).tolist()}
    if kind == "timesteps":
        ts = t_to_timesteps(t, n_train)
        if not np.all(np.diff(ts) < 0):
            raise ValueError(
                f"schedule: steps finer than 1/{n_train - 1} collide on integer "
                "timesteps; use kind='sigmas'"
            )
        return {"timesteps": ts[:-1].tolist()}
    raise ValueError(f"kind: unknown {kind!r}; known: sigmas, timesteps")


def from_diffusers(sigmas=None, timesteps=None, n_train=1000):
    """Flow-time schedule of diffusers ``sigmas=`` or ``timesteps=`` lists (give exactly one)."""
    if (sigmas is None) == (timesteps is None):
        raise ValueError("give exactly one of sigmas and timesteps")
    if sigmas is not None:
        t = 1.0 - check_array(sigmas, "sigmas")
    else:
        t = timesteps_to_t(timesteps, n_train)
    return check_schedule(np.append(t, 1.0), "sigmas" if sigmas is not None else "timesteps")


def to_kdiffusion(schedule):
    """k-diffusion sigmas: the noise levels ``1 - t``, descending from 1 and ending in 0."""
    return t_to_sigma(check_schedule(schedule))


def from_kdiffusion(sigmas):
    """Flow-time schedule of k-diffusion sigmas (descending, from 1, ending in 0)."""
    return check_schedule(sigma_to_t(sigmas))


def save_schedule(path, schedule, **metadata):
    """Write ``{"times": [...], "sigmas": [...], "metadata": {...}}`` as JSON to ``path``."""
    t = check_grid(schedule, "schedule")
    doc = {"times": t.tolist(), "sigmas": t_to_sigma(t).tolist(), "metadata": metadata}
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")


def load_schedule(path):
    """Read a file of :func:`save_schedule`: returns ``(times, metadata)``."""
    doc = read_json(path, "schedule file")
    if not isinstance(doc, dict) or "times" not in doc:
        raise UsageError(f"{path}: not a schedule file (no 'times')")
    with user_input():
        return check_grid(doc["times"], f"{path}: times"), doc.get("metadata", {})
