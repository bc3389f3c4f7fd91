"""Closed-form sampling schedules on the flow time axis.

Every schedule here is ``K + 1`` strictly increasing times ``t_0 = 0 < t_1 < ... < t_K = 1`` for
a ``K``-step sampler of a flow model ``x_t = (1 - t) x_0 + t x_1`` (``t = 0`` noise, ``t = 1``
data), whose noise level is ``sigma = 1 - t`` (diffusers' ``FlowMatchEulerDiscreteScheduler``).
"""

import math

import numpy as np

from stepsize.schedules._check import check_real, check_steps
from stepsize.schedules._process import vp_process

AYS_SIGMAS = {
    "sd15": (14.615, 6.475, 3.861, 2.697, 1.886, 1.396, 0.963, 0.652, 0.399, 0.152, 0.029),
    "sdxl": (14.615, 6.315, 3.771, 2.181, 1.342, 0.862, 0.555, 0.380, 0.234, 0.113, 0.029),
    "deepfloyd": (160.41, 8.081, 3.315, 1.885, 1.207, 0.785, 0.553, 0.293, 0.186, 0.030, 0.006),
    "svd": (700.00, 54.5, 15.886, 7.977, 4.248, 1.789, 0.981, 0.403, 0.173, 0.034, 0.002),
}
"""Align Your Steps' optimised 10-step noise levels (Sabour, Fidler & Kreis, ICML 2024, Table 3:
SD 1.5, SDXL, DeepFloyd-IF stage 1, Stable Video Diffusion), ``sigma(t_10) ... sigma(t_0)``."""

AYS_TIMESTEPS = {
    "sd15": (999, 850, 736, 645, 545, 455, 343, 233, 124, 24, 0),
    "sdxl": (999, 845, 730, 587, 443, 310, 193, 116, 53, 13, 0),
}
"""AYS 10-step discrete timesteps of the project's quick-start guide (and diffusers'
``AysSchedules`` without the final 0) for SD 1.5 and SDXL."""


def uniform(K):
    """``t_i = i / K``."""
    K = check_steps(K)
    return np.arange(K + 1, dtype=np.float64) / K


def karras(K, sigma_min=0.002, rho=7.0):
    """EDM schedule of Karras et al. (2022) on the flow noise level ``sigma = 1 - t``.

    ``sigma_i = (sigma_max^(1/rho) + i/(K-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho`` for
    ``i = 0 .. K-1`` with ``sigma_max = 1`` (pure noise), then ``sigma_K = 0``; ``t = 1 - sigma``.
    Same construction as k-diffusion's ``get_sigmas_karras`` and diffusers' ``use_karras_sigmas``.
    """
    K = check_steps(K)
    sigma_min, rho = check_real(sigma_min, "sigma_min"), check_real(rho, "rho")
    if not 0.0 < sigma_min < 1.0:
        raise ValueError(f"sigma_min must lie in (0, 1), got {sigma_min!r}")
    if not rho > 0.0:
        raise ValueError(f"rho must be > 0, got {rho!r}")
    ramp = np.linspace(0.0, 1.0, K) if K > 1 else np.zeros(1)
    sigma = (1.0 + ramp * (sigma_min ** (1.0 / rho) - 1.0)) ** rho
    t = np.append(1.0 - sigma, 1.0)
    t[0] = 0.0
    return t


def logsnr_uniform(K, eps=1e-3):
    """Uniform in the half log-SNR ``lambda = log(alpha_t / sigma_t) = log(t / (1 - t))``.

    DPM-Solver's ``skip_type="logSNR"`` (Lu et al. 2022): ``K + 1`` points uniform in ``lambda``
    from ``lambda(eps)`` to ``lambda(1 - eps)``, the end points then set to exactly 0 and 1.
    """
    K = check_steps(K)
    eps = check_real(eps, "eps")
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must lie in (0, 0.5), got {eps!r}")
    lam_max = math.log1p(-eps) - math.log(eps)  # log((1 - eps) / eps), finite for tiny eps
    lam = np.linspace(-lam_max, lam_max, K + 1)
    with np.errstate(over="ignore"):
        t = 1.0 / (1.0 + np.exp(-lam))
    t[0], t[-1] = 0.0, 1.0
    if not np.all(np.diff(t) > 0):
        raise ValueError(f"eps = {eps!r} is too small for {K} steps: times 1 - t round to 1")
    return t


def quadratic(K):
    """Time-quadratic: ``sigma_i = (1 - i/K)^2``, ``t_i = 1 - sigma_i`` (fine steps near data).

    DPM-Solver's ``skip_type="time_quadratic"`` and DDIM's ``"quad"`` spacing, with diffusion time
    ``sigma = 1 - t`` running from 1 to 0.
    """
    K = check_steps(K)
    return 1.0 - (1.0 - np.arange(K + 1, dtype=np.float64) / K) ** 2


def loglinear_interp(values, n):
    """Log-linear interpolation of a decreasing positive sequence to ``n`` points.

    The AYS authors' recipe for other step counts: ``log`` of the values interpolated linearly on
    ``[0, 1]``; the first and last values are kept.
    """
    v = np.asarray(values, dtype=np.float64)
    n = check_steps(n, "n", low=2)
    if v.ndim != 1 or v.size < 2 or not np.all(v > 0) or not np.all(np.diff(v) < 0):
        raise ValueError("values must be a strictly decreasing 1-D sequence of positive numbers")
    ys = np.log(v[::-1])
    new = np.interp(np.linspace(0.0, 1.0, n), np.linspace(0.0, 1.0, v.size), ys)
    out = np.exp(new)[::-1].copy()
    out[0], out[-1] = v[0], v[-1]
    return out


def ays(K, model="sd15"):
    """Align Your Steps' published schedule for ``model`` mapped to flow time.

    The 11 noise levels of :data:`AYS_SIGMAS` are log-linearly interpolated to ``K + 1`` values
    (:func:`loglinear_interp`, unchanged for ``K = 10``), the last set to 0 (as diffusers'
    ``AysSchedules`` and ComfyUI do), and mapped to the flow time of equal signal-to-noise ratio,
    ``t = 1 / (1 + sigma)`` (the VE noise level of ``x_t / t`` is ``(1 - t) / t``). The first
    time is set to 0: samplers start these models from pure noise at ``sigma_max``.

    For ``K = 10`` and a model with a published timestep list (:data:`AYS_TIMESTEPS`: SD 1.5,
    SDXL) the times are those of the timesteps' noise levels under Stable Diffusion's
    ``scaled_linear`` betas, so that exporting to timesteps gives the published list. The two
    lists differ in one place: SD 1.5's 0.399 lies at timestep 124.56, the list has 124
    (noise level 0.3977).
    """
    K = check_steps(K)
    if model not in AYS_SIGMAS:
        raise ValueError(f"model: unknown {model!r}; known: {', '.join(AYS_SIGMAS)}")
    if K == 10 and model in AYS_TIMESTEPS:
        sigma = vp_process().train_sigmas[np.asarray(AYS_TIMESTEPS[model])]
    else:
        sigma = np.asarray(AYS_SIGMAS[model], dtype=np.float64)
        if K + 1 != sigma.size:
            sigma = loglinear_interp(sigma, K + 1)
    sigma[-1] = 0.0
    t = 1.0 / (1.0 + sigma)
    t[0] = 0.0
    return t


SCHEDULES = {
    "uniform": uniform,
    "karras": karras,
    "logsnr": logsnr_uniform,
    "quadratic": quadratic,
    "ays": ays,
}
"""The formula schedules by name; each is ``f(K, **options) -> K + 1 times``."""


def get(name, K, **options):
    """The formula schedule ``name`` (a key of :data:`SCHEDULES`) with ``K`` steps."""
    if name not in SCHEDULES:
        raise ValueError(f"schedule: unknown {name!r}; known: {', '.join(SCHEDULES)}")
    return SCHEDULES[name](K, **options)
