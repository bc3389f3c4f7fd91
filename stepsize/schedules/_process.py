"""Noise processes: how the project's flow time maps onto the noise level of a trained model.

Every Gaussian path ``x = a x_data + s noise`` is a rectified flow after rescaling: with
``t = a / (a + s)`` the state ``x / (a + s) = t x_data + (1 - t) noise``. The project's schedules
live on that flow time; equal ``t`` means equal signal-to-noise ratio ``a / s = t / (1 - t)``, so
the VE noise level of time ``t`` (k-diffusion's and diffusers' ``sigma`` of a VP/VE model) is
``sigma = (1 - t) / t``. A :class:`Process` holds what else a conversion needs:

- ``"flow"``: a rectified-flow model; scheduler noise level ``1 - t``, timestep
  ``(1 - t) n_train`` (diffusers' ``FlowMatchEulerDiscreteScheduler``), optionally the
  scheduler's ``shift``.
- ``"vp"``: a discrete-time DDPM model with cumulative products ``alphas_cumprod`` of its
  ``n_train`` steps; noise levels ``sigma_k = sqrt((1 - abar_k) / abar_k)``, timesteps by linear
  interpolation in ``log sigma`` (k-diffusion's ``sigma_to_t``, diffusers' ``_sigma_to_t``).
- ``"ve"``: a continuous VE/EDM model on ``[sigma_min, sigma_max]``.

For VP and VE models, pure noise is the largest noise level ``sigma_max``: schedule times at or
below ``t_min = 1 / (1 + sigma_max)`` all mean ``sigma_max`` (``t = 0`` is where samplers start),
and ``t = 1`` is the data (``sigma = 0``).
"""

from dataclasses import dataclass

import numpy as np

from stepsize.schedules._check import check_steps

KINDS = ("flow", "vp", "ve")
"""Kinds of :class:`Process`."""


@dataclass(frozen=True)
class Process:
    """A model's noise process; build one with :func:`flow_process`, :func:`vp_process`,
    :func:`ve_process` or :func:`process_from_config`."""

    kind: str
    n_train: int = 1000
    shift: float = 1.0
    alphas_cumprod: tuple = None
    sigma_min: float = 0.0
    sigma_max: float = float("inf")

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    @property
    def t_min(self):
        """Flow time of the largest noise level: 0 for flows, ``1 / (1 + sigma_max)`` else."""
        return 0.0 if self.kind == "flow" else 1.0 / (1.0 + self.sigma_max)

    @property
    def train_sigmas(self):
        """VP: the noise levels ``sqrt((1 - abar_k) / abar_k)`` of the training steps."""
        if self.kind != "vp":
            raise ValueError(f"train_sigmas: a {self.kind} process has no discrete steps")
        abar = np.asarray(self.alphas_cumprod, dtype=np.float64)
        return np.sqrt((1.0 - abar) / abar)

    def ve_sigma(self, t):
        """VE noise level of flow time ``t``: ``(1 - t) / t``, within ``[sigma_min, sigma_max]``
        except that ``t = 1`` is 0 (data)."""
        t = np.asarray(t, dtype=np.float64)
        with np.errstate(divide="ignore"):
            sigma = np.where(t > 0, (1.0 - t) / np.where(t > 0, t, 1.0), np.inf)
        sigma = np.minimum(sigma, self.sigma_max)
        return np.where(t >= 1.0, 0.0, np.maximum(sigma, self.sigma_min))

    def t_of_ve_sigma(self, sigma):
        """Flow time of VE noise levels: ``1 / (1 + sigma)``; ``sigma >= sigma_max`` is 0."""
        sigma = np.asarray(sigma, dtype=np.float64)
        if np.any(sigma < 0) or np.any(np.isnan(sigma)):
            raise ValueError("sigmas must be >= 0")
        t = 1.0 / (1.0 + sigma)
        return np.where(sigma >= self.sigma_max * (1 - 1e-12), 0.0, t)

    def timesteps(self, t):
        """Float timesteps of flow times ``t`` (round them for a discrete model).

        Flow: ``(1 - t) n_train``. VP: ``log sigma`` interpolated on the training steps, so
        ``t = 0`` is step ``n_train - 1`` and ``t = 1`` step 0.
        """
        t = np.asarray(t, dtype=np.float64)
        if self.kind == "flow":
            return (1.0 - t) * self.n_train
        if self.kind != "vp":
            raise ValueError("timesteps: a ve process has noise levels, not timesteps")
        log_train = np.log(self.train_sigmas)
        with np.errstate(divide="ignore"):
            log_sigma = np.log(self.ve_sigma(t))
        return np.interp(log_sigma, log_train, np.arange(log_train.size, dtype=np.float64))

    def t_of_timesteps(self, timesteps):
        """Inverse of :meth:`timesteps`; a VP model's last step ``n_train - 1`` is ``t = 0``."""
        ts = np.asarray(timesteps, dtype=np.float64)
        if self.kind == "flow":
            return 1.0 - ts / self.n_train
        if self.kind != "vp":
            raise ValueError("timesteps: a ve process has noise levels, not timesteps")
        if np.any(ts < 0) or np.any(ts > self.n_train - 1):
            raise ValueError(f"timesteps must lie in [0, {self.n_train - 1}]")
        log_train = np.log(self.train_sigmas)
        sigma = np.exp(np.interp(ts, np.arange(log_train.size), log_train))
        return self.t_of_ve_sigma(sigma)


def shift_sigmas(sigma, shift):
    """diffusers' flow-match shift of noise levels: ``shift s / (1 + (shift - 1) s)``."""
    s = np.asarray(sigma, dtype=np.float64)
    return shift * s / (1.0 + (shift - 1.0) * s)


def unshift_sigmas(sigma, shift):
    """Inverse of :func:`shift_sigmas`: ``s / (shift - (shift - 1) s)``."""
    s = np.asarray(sigma, dtype=np.float64)
    return s / (shift - (shift - 1.0) * s)


def flow_process(n_train=1000, shift=1.0):
    """A rectified flow (``sigma = 1 - t``) whose scheduler shifts noise levels by ``shift``."""
    shift = float(shift)
    if not (np.isfinite(shift) and shift > 0):
        raise ValueError(f"shift must be a finite number > 0, got {shift!r}")
    return Process("flow", check_steps(n_train, "n_train", low=2), shift=shift)


def _betas(beta_schedule, beta_start, beta_end, n):
    if beta_schedule == "linear":
        return np.linspace(beta_start, beta_end, n, dtype=np.float64)
    if beta_schedule == "scaled_linear":
        return np.linspace(beta_start**0.5, beta_end**0.5, n, dtype=np.float64) ** 2
    if beta_schedule == "squaredcos_cap_v2":
        f = np.cos((np.arange(n + 1) / n + 0.008) / 1.008 * np.pi / 2) ** 2
        return np.minimum(1.0 - f[1:] / f[:-1], 0.999)
    raise ValueError(
        f"beta_schedule: unknown {beta_schedule!r}; known: linear, scaled_linear, squaredcos_cap_v2"
    )


def vp_process(
    beta_schedule="scaled_linear",
    beta_start=0.00085,
    beta_end=0.012,
    n_train=1000,
    betas=None,
    alphas_cumprod=None,
):
    """A discrete-time VP (DDPM) model; defaults are Stable Diffusion's ``scaled_linear`` betas.

    ``betas`` (``n_train`` values) or ``alphas_cumprod`` override the named schedule. Computed
    here in float64; diffusers' float32 tables differ by ~1e-5 relative in the noise levels,
    so :func:`process_from_config` of a scheduler object takes its own ``alphas_cumprod``.
    """
    if alphas_cumprod is not None:
        abar = np.asarray(alphas_cumprod, dtype=np.float64)
        if abar.ndim != 1 or abar.size < 2 or not np.all((abar > 0) & (abar < 1)):
            raise ValueError("alphas_cumprod must be a 1-D array of at least 2 values in (0, 1)")
    else:
        n_train = check_steps(n_train, "n_train", low=2)
        b = (
            np.asarray(betas, dtype=np.float64)
            if betas is not None
            else _betas(beta_schedule, beta_start, beta_end, n_train)
        )
        if b.ndim != 1 or b.size < 2 or not np.all((b > 0) & (b < 1)):
            raise ValueError("betas must be a 1-D array of at least 2 values in (0, 1)")
        abar = np.cumprod(1.0 - b)
    sig = np.sqrt((1.0 - abar) / abar)
    return Process(
        "vp",
        abar.size,
        alphas_cumprod=tuple(abar.tolist()),
        sigma_min=float(sig[0]),
        sigma_max=float(sig[-1]),
    )


def ve_process(sigma_min=0.002, sigma_max=80.0):
    """A continuous VE/EDM model (Karras et al. 2022's defaults)."""
    if not 0.0 <= sigma_min < sigma_max < np.inf:
        raise ValueError(f"need 0 <= sigma_min < sigma_max < inf, got {sigma_min!r}, {sigma_max!r}")
    return Process("ve", sigma_min=float(sigma_min), sigma_max=float(sigma_max))


_FLOW_SCHEDULERS = ("FlowMatch",)


def process_from_config(config, name=""):
    """The :class:`Process` of a diffusers scheduler's ``config`` (a dict or the scheduler).

    ``name`` is the scheduler's class name when ``config`` is a plain dict (default: its
    ``_class_name``, as diffusers writes configs to disk); flow-matching
    schedulers and ``use_flow_sigmas=True`` give a flow process with the configured shift. A VP
    scheduler object contributes its own ``alphas_cumprod`` table.
    """
    table = None
    if hasattr(config, "config"):
        name = type(config).__name__
        table = getattr(config, "alphas_cumprod", None)
        config = config.config
    cfg = dict(config)
    name = name or cfg.get("_class_name", "")
    n_train = int(cfg.get("num_train_timesteps", 1000))
    if name.startswith(_FLOW_SCHEDULERS) or cfg.get("use_flow_sigmas"):
        if cfg.get("use_dynamic_shifting"):
            raise ValueError(
                "config: use_dynamic_shifting shifts by a resolution-dependent mu; export for a "
                "fixed shift instead (use_dynamic_shifting=False)"
            )
        return flow_process(n_train, cfg.get("shift", cfg.get("flow_shift", 1.0)))
    if cfg.get("rescale_betas_zero_snr"):
        raise ValueError("config: zero-terminal-SNR betas have sigma_max = inf; not supported")
    return vp_process(
        cfg.get("beta_schedule", "linear"),
        cfg.get("beta_start", 0.0001),
        cfg.get("beta_end", 0.02),
        n_train,
        betas=cfg.get("trained_betas"),
        alphas_cumprod=None if table is None else np.asarray(table, dtype=np.float64),
    )
