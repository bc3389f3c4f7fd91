"""Export of flow-time schedules to diffusers and k-diffusion, and JSON files.

A schedule is ``K + 1`` increasing flow times from 0 (noise) to 1 (data). What a scheduler takes
depends on the model's noise :class:`~stepsize.schedules.Process` (``_process.py``):

- flow models: noise levels ``1 - t`` (``sigmas=``), undone by the scheduler's ``shift`` so that
  the shifted levels it runs are the schedule's;
- VP (DDPM) models: VE noise levels ``(1 - t) / t`` (``EulerDiscreteScheduler(sigmas=)``, these
  exceed 1 near noise) or integer timesteps of equal noise level (``timesteps=``, as diffusers'
  ``AysSchedules``);
- VE/EDM models (k-diffusion): VE noise levels from ``sigma_max``.

The same schedule then drives diffusers, k-diffusion and the project's samplers over one path.
"""

import inspect
import json
from pathlib import Path

import numpy as np

from stepsize._errors import UsageError, read_json, user_input
from stepsize.schedules._check import check_array, check_grid, check_schedule, check_steps
from stepsize.schedules._process import (
    flow_process,
    process_from_config,
    shift_sigmas,
    unshift_sigmas,
    vp_process,
)


def t_to_sigma(t):
    """Flow noise level ``sigma = 1 - t``."""
    return 1.0 - np.asarray(t, dtype=np.float64)


def sigma_to_t(sigma):
    """Flow time ``t = 1 - sigma``."""
    return 1.0 - check_array(sigma, "sigma")


def _default_vp(n_train):
    return vp_process(n_train=check_steps(n_train, "n_train", low=2))


def t_to_timesteps(t, n_train=1000, discrete=True, process=None):
    """Diffusion timesteps of flow times ``t``.

    ``discrete=True``: integer steps of a VP model (``process``, default Stable Diffusion's
    ``scaled_linear`` betas on ``n_train`` steps) at equal noise level, so ``t = 0`` is step
    ``n_train - 1``, ``t = 1`` step 0, and AYS's noise levels give AYS's published timesteps.
    ``discrete=False``: diffusers' flow-matching convention ``(1 - t) n_train`` (floats).
    """
    if not discrete:
        return flow_process(n_train).timesteps(t)
    proc = process if process is not None else _default_vp(n_train)
    return np.rint(proc.timesteps(t)).astype(np.int64)


def timesteps_to_t(timesteps, n_train=1000, discrete=True, process=None):
    """Inverse of :func:`t_to_timesteps`."""
    ts = check_array(timesteps, "timesteps")
    if not discrete:
        return flow_process(n_train).t_of_timesteps(ts)
    proc = process if process is not None else _default_vp(n_train)
    return proc.t_of_timesteps(ts)


def _scheduler_kind(scheduler, process):
    """The keyword a diffusers scheduler's ``set_timesteps`` takes for a custom schedule."""
    name = type(scheduler).__name__
    params = inspect.signature(scheduler.set_timesteps).parameters
    if process.kind == "flow":
        if "sigmas" not in params or (
            "FlowMatch" not in name and not scheduler.config.get("use_flow_sigmas")
        ):
            raise ValueError(
                f"scheduler: {name} cannot take a custom flow schedule (no sigmas= for flow "
                "sigmas); use FlowMatchEulerDiscreteScheduler or UniPCMultistepScheduler with "
                "use_flow_sigmas=True"
            )
        return "sigmas"
    if "sigmas" in params and not scheduler.config.get("use_flow_sigmas") and "UniPC" not in name:
        return "ve_sigmas"
    if "timesteps" in params:
        return "timesteps"
    raise ValueError(f"scheduler: {name} takes no custom schedule for a VP model")


def to_diffusers(schedule, kind="sigmas", n_train=1000, *, process=None, scheduler=None):
    """Keyword arguments for a diffusers scheduler or pipeline: ``sched.set_timesteps(**kw)``.

    With ``scheduler`` (a diffusers scheduler object) the process and the keyword follow its
    config and class: flow-matching schedulers and ``use_flow_sigmas=True`` get ``sigmas``
    undone by the configured shift, ``EulerDiscreteScheduler`` VE ``sigmas``, the others
    integer ``timesteps``; a scheduler that cannot run a custom schedule raises ``ValueError``.

    Without it, ``kind`` says what to write:

    - ``"sigmas"``: ``K`` descending flow noise levels ``1 - t`` (the scheduler appends the
      final 0), undone by ``process.shift`` for a flow process with a shift;
    - ``"ve_sigmas"``: ``K + 1`` VE noise levels ending in 0, from the process's
      ``sigma_max`` (``EulerDiscreteScheduler(sigmas=)``; default process: Stable Diffusion's);
    - ``"timesteps"``: ``K`` descending integer timesteps of equal noise level (a VP model,
      default Stable Diffusion's betas on ``n_train`` steps; AYS's noise levels give AYS's
      published lists); the final step to data is implied.

    Values come as numpy arrays (diffusers' ``UniPCMultistepScheduler`` needs arrays).
    """
    t = check_schedule(schedule)
    if scheduler is not None:
        process = process_from_config(scheduler)
        kind = _scheduler_kind(scheduler, process)
    if kind == "sigmas":
        if process is not None and process.kind != "flow":
            raise ValueError(
                f"kind 'sigmas' are flow noise levels (<= 1); a {process.kind} model takes "
                "kind='ve_sigmas' or 'timesteps'"
            )
        sigma = t_to_sigma(t[:-1])
        if process is not None and process.shift != 1.0:
            sigma = unshift_sigmas(sigma, process.shift)
        return {"sigmas": sigma}
    if kind == "ve_sigmas":
        proc = process if process is not None else _default_vp(n_train)
        if proc.kind == "flow":
            raise ValueError("kind 've_sigmas' needs a vp or ve process, got a flow process")
        return {"sigmas": proc.ve_sigma(t)}
    if kind == "timesteps":
        proc = process if process is not None else _default_vp(n_train)
        if proc.kind == "ve":
            raise ValueError("kind 'timesteps': a ve process has noise levels; use 've_sigmas'")
        ts = np.rint(proc.timesteps(t)).astype(np.int64)
        if not np.all(np.diff(ts) < 0):
            raise ValueError(
                f"schedule: steps finer than the model's {proc.n_train} training steps collide "
                "on integer timesteps; use kind='sigmas' or 've_sigmas'"
            )
        return {"timesteps": ts[:-1]}
    raise ValueError(f"kind: unknown {kind!r}; known: sigmas, ve_sigmas, timesteps")


def from_diffusers(sigmas=None, timesteps=None, n_train=1000, *, process=None, kind=None):
    """Flow-time schedule of diffusers ``sigmas=`` or ``timesteps=`` lists (give exactly one).

    ``sigmas`` are flow noise levels (``K`` values, the final 0 implied) for a flow ``process``
    (default; its shift is applied, as the scheduler does) and VE noise levels (``K + 1`` ending
    in 0) for a VP/VE process or ``kind="ve_sigmas"``. ``timesteps`` are a VP model's
    (default Stable Diffusion's) or, for a flow process, ``(1 - t) n_train``.
    """
    if (sigmas is None) == (timesteps is None):
        raise ValueError("give exactly one of sigmas and timesteps")
    if timesteps is not None:
        proc = process if process is not None else _default_vp(n_train)
        ts = check_array(timesteps, "timesteps")
        return check_schedule(np.append(proc.t_of_timesteps(ts), 1.0), "timesteps")
    s = check_array(sigmas, "sigmas")
    if kind == "ve_sigmas" or (process is not None and process.kind != "flow"):
        proc = process if process is not None else _default_vp(n_train)
        return check_schedule(proc.t_of_ve_sigma(s), "sigmas")
    if np.any(s > 1.0):
        raise ValueError(
            "sigmas: flow noise levels lie in [0, 1]; these exceed 1 (VE noise levels of a "
            "VP/VE model? pass its process or kind='ve_sigmas')"
        )
    if process is not None and process.shift != 1.0:
        s = shift_sigmas(s, process.shift)
    return check_schedule(np.append(sigma_to_t(s), 1.0), "sigmas")


def from_scheduler(scheduler):
    """The flow-time schedule a diffusers scheduler runs after ``set_timesteps``.

    Read from ``scheduler.sigmas`` (after any shift it applied) in its process's convention:
    flow noise levels for flow schedulers, VE noise levels otherwise. The first time is set to 0
    when it is the process's largest noise level (UniPC's ``1 - 1e-6``, a VP model's
    ``sigma_max``), so that the result is a schedule from noise to data.
    """
    process = process_from_config(scheduler)
    s = np.asarray(scheduler.sigmas, dtype=np.float64)
    s = s[np.r_[True, np.diff(s) != 0]]  # Heun-type schedulers list each inner level twice
    if process.kind == "flow":
        t = sigma_to_t(s)
        if t[0] < 1e-5:
            t[0] = 0.0
    else:
        sigma_max = process.sigma_max
        t = 1.0 / (1.0 + s)
        if s[0] >= sigma_max * (1 - 1e-6):
            t[0] = 0.0
    return check_schedule(t)


def check_scheduler_sigmas(scheduler, sigmas):
    """Raise ``ValueError`` where ``sigmas`` are not in ``scheduler``'s noise-level convention.

    ``EulerDiscreteScheduler`` and the other VP schedulers take VE noise levels, which start at
    the model's ``sigma_max`` (14.6 for Stable Diffusion); flow noise levels (at most 1) passed
    to them sample from a nearly clean image without complaint. Flow schedulers take levels in
    ``[0, 1]``.
    """
    process = process_from_config(scheduler)
    s = np.asarray(sigmas, dtype=np.float64)
    name = type(scheduler).__name__
    if process.kind == "flow" and np.any(s > 1.0):
        raise ValueError(f"sigmas: {name} takes flow noise levels in [0, 1], got max {s.max()}")
    if process.kind != "flow" and s.max() <= 1.0 < process.sigma_max:
        raise ValueError(
            f"sigmas: {name} takes VE noise levels up to sigma_max = {process.sigma_max:.4g}; "
            f"these start at {s.max():.4g} <= 1 (flow noise levels?); export with "
            "to_diffusers(schedule, scheduler=scheduler)"
        )
    return s


def to_kdiffusion(schedule, process=None):
    """k-diffusion sigmas, descending and ending in 0.

    Default: the flow noise levels ``1 - t`` (k-diffusion's samplers on a flow model's
    denoiser ``x - sigma v``); for a VE/VP ``process``, VE noise levels from its ``sigma_max``.
    """
    t = check_schedule(schedule)
    if process is None or process.kind == "flow":
        return t_to_sigma(t)
    return process.ve_sigma(t)


def from_kdiffusion(sigmas, process=None):
    """Flow-time schedule of k-diffusion sigmas (inverse of :func:`to_kdiffusion`)."""
    if process is None or process.kind == "flow":
        return check_schedule(sigma_to_t(sigmas))
    return check_schedule(process.t_of_ve_sigma(sigmas))


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
