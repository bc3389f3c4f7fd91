"""Model adapters: any flow or diffusion model seen as a flow ``v(x, t)`` on the flow time axis.

Every Gaussian path ``x_model = a x_data + s noise`` is a rectified flow of the rescaled state
``x = x_model / (a + s)`` at time ``t = a / (a + s)``: ``x = t x_data + (1 - t) noise``. An
adapter evaluates its model at flow states and times and returns

- ``velocity(x, t)``: ``dx/dt = (D - x) / (1 - t)``, and
- ``denoise(x, t)``: the data prediction ``D = x + (1 - t) v``,

so one sampler runs on flow models, VP (DDPM, epsilon- or v-prediction) and VE/EDM models alike;
``process`` (:class:`stepsize.schedules.Process`) says how ``t`` maps onto the model's noise level
(equal signal-to-noise ratio) and where pure noise starts (``process.t_min``). ``x`` is a torch
tensor ``(B, ...)``, ``t`` a Python float or a 0-d tensor (a schedule being learned; the
model's noise level and timestep then carry the gradient in ``t``).
"""

import math

import torch

from stepsize.schedules import Process, flow_process, process_from_config, ve_process


class Model:
    """Base adapter: subclasses give ``velocity`` or ``denoise`` (each defaults to the other)."""

    process: Process = flow_process()
    defined_at_data = False
    """Whether the model can be evaluated at ``t = 1``. A network trained on noisy inputs cannot,
    even a flow: at zero noise it sees Heun's predicted state, which is off the data, and its
    output there is unreliable (the shipped ``digits16-flow`` UNet: 4 Heun steps have 15x the
    error of 4 steps ending in an Euler step). So Heun's last step to data is an Euler step,
    as in k-diffusion and diffusers (whose samplers never evaluate at zero noise); a plain
    velocity ``v(x, t)`` is taken to be defined on all of ``[0, 1]``."""

    def velocity(self, x, t):
        return (self.denoise(x, t) - x) / (1.0 - t)

    def denoise(self, x, t):
        return x + (1.0 - t) * self.velocity(x, t)

    def __call__(self, x, t):
        """``v(x, t)`` with ``t`` a number or a ``(B,)`` tensor of one value."""
        return self.velocity(x, float(torch.as_tensor(t).reshape(-1)[0]))


def _batch_time(x, t):
    if torch.is_tensor(t):
        return t.to(dtype=x.dtype, device=x.device).reshape(()).expand(len(x))
    return torch.full((len(x),), float(t), dtype=x.dtype, device=x.device)


def _of_time(f, t, eps=1e-7):
    """``f(t)`` of a numpy function of time (a process's noise level or timestep) at a float, or
    at a 0-d tensor ``t`` with ``f``'s slope by central differences attached to the graph."""
    if not torch.is_tensor(t):
        return float(f(t))
    t0 = float(t.detach())
    value = float(f(t0))
    if not t.requires_grad:
        return value
    lo, hi = max(t0 - eps, 0.0), min(t0 + eps, 1.0)
    slope = (float(f(hi)) - float(f(lo))) / (hi - lo)
    return value + slope * (t.double() - t0)


class VelocityModel(Model):
    """A plain flow velocity ``v(x, t)`` on tensors (``t`` of shape ``(B,)``), e.g.
    :class:`stepsize.flow.VelocityMLP`; inputs are cast to a module's parameter dtype."""

    defined_at_data = True

    def __init__(self, velocity):
        if not callable(velocity):
            raise TypeError(f"model must be callable v(x, t), got {type(velocity).__name__}")
        self.model = velocity
        params = list(velocity.parameters()) if isinstance(velocity, torch.nn.Module) else []
        self.dtype = params[0].dtype if params else None

    def velocity(self, x, t):
        xin = x if self.dtype is None else x.to(self.dtype)
        return self.model(xin, _batch_time(xin, t)).to(x.dtype)


def as_model(model):
    """``model`` as an adapter: adapters pass through, a callable ``v(x, t)`` is a flow."""
    return model if isinstance(model, Model) else VelocityModel(model)


_PREDICTIONS = ("epsilon", "v_prediction", "sample", "flow_prediction")


class DiffusersModel(Model):
    """A diffusers network (e.g. ``UNet2DModel``) with the config of the scheduler it was
    trained with.

    The scheduler config gives the process (betas of a VP model, or a flow-matching scheduler)
    and ``prediction_type``: ``"epsilon"`` (``D = (x_vp - s eps) / a``), ``"v_prediction"``
    (``D = a x_vp - s v``, Salimans & Ho 2022), ``"sample"``, or for flows
    ``"flow_prediction"`` (diffusers' ``noise - data``). For a VP model at flow state ``x``,
    ``x_vp = (a + s) x`` with ``a = 1 / sqrt(1 + sigma^2)``, ``s = sigma a``, and the network
    gets the float timestep of noise level ``sigma`` (``process.timesteps``).
    ``net(x, timestep)`` may return a tensor or an object with ``.sample``.
    """

    def __init__(self, net, scheduler, prediction_type=None):
        self.net = net
        self.process = process_from_config(scheduler)
        cfg = dict(getattr(scheduler, "config", scheduler))
        pred = prediction_type or cfg.get("prediction_type")
        if pred is None:
            pred = "flow_prediction" if self.process.kind == "flow" else "epsilon"
        if pred not in _PREDICTIONS:
            raise ValueError(f"prediction_type: unknown {pred!r}; known: {', '.join(_PREDICTIONS)}")
        if (pred == "flow_prediction") != (self.process.kind == "flow"):
            raise ValueError(
                f"prediction_type {pred!r} does not fit a {self.process.kind} scheduler config"
            )
        self.prediction_type = pred
        params = list(net.parameters()) if isinstance(net, torch.nn.Module) else []
        self.dtype = params[0].dtype if params else None

    def _net(self, x, timestep):
        xin = x if self.dtype is None else x.to(self.dtype)
        out = self.net(xin, _batch_time(xin, timestep))
        return getattr(out, "sample", out).to(x.dtype)

    def velocity(self, x, t):
        if self.process.kind == "flow":
            return -self._net(x, _of_time(self.process.timesteps, t))
        return super().velocity(x, t)

    def denoise(self, x, t):
        if self.process.kind == "flow":
            return super().denoise(x, t)
        sigma = _of_time(self.process.ve_sigma, t)
        a = 1.0 / (torch.sqrt if torch.is_tensor(sigma) else math.sqrt)(1.0 + sigma * sigma)
        s = sigma * a
        x_vp = (a + s) * x
        out = self._net(x_vp, _of_time(self.process.timesteps, t))
        if self.prediction_type == "epsilon":
            return (x_vp - s * out) / a
        if self.prediction_type == "v_prediction":
            return a * x_vp - s * out
        return out


class KDiffusionModel(Model):
    """A k-diffusion denoiser ``D(x_ve, sigma)`` (VE/EDM: ``x_ve = x_data + sigma noise``) on
    ``[sigma_min, sigma_max]``; ``x_ve = x / t`` at noise level ``sigma = (1 - t) / t``."""

    def __init__(self, denoiser, sigma_min=0.002, sigma_max=80.0):
        self.net = denoiser
        self.process = ve_process(sigma_min, sigma_max)

    def denoise(self, x, t):
        sigma = _of_time(self.process.ve_sigma, t)
        return self.net(x * (1.0 + sigma), _batch_time(x, sigma))


class Guided(Model):
    """Classifier-free guidance: ``D = D_u + w (D_c - D_u)`` (Ho & Salimans 2022) of a
    conditional and an unconditional adapter of one process; the velocity combines alike."""

    def __init__(self, cond, uncond, scale):
        self.cond, self.uncond = as_model(cond), as_model(uncond)
        if self.cond.process != self.uncond.process:
            raise ValueError("cond and uncond must share one noise process")
        self.process = self.cond.process
        self.defined_at_data = self.cond.defined_at_data and self.uncond.defined_at_data
        self.scale = float(scale)

    def velocity(self, x, t):
        vu = self.uncond.velocity(x, t)
        return vu + self.scale * (self.cond.velocity(x, t) - vu)

    def denoise(self, x, t):
        du = self.uncond.denoise(x, t)
        return du + self.scale * (self.cond.denoise(x, t) - du)


class Decoupled(Model):
    """``model`` with decoupled evaluation times (LD3's second stage, Tong et al., ICLR 2025):
    where a sampler asks for the data prediction at the schedule's time ``times[i]``, the
    model's denoiser is evaluated at ``eval_times[i]`` instead,

        D(x, t_i) = D_model(x, s_i),    v(x, t_i) = (D(x, t_i) - x) / (1 - t_i),

    while the sampler's coefficients keep ``t_i``. Times are matched by identity, then by
    value (the schedule's own numbers or 0-d tensors); at any other time (Heun's end point)
    the model is evaluated as it is."""

    def __init__(self, model, times, eval_times):
        self.model = as_model(model)
        self.process, self.defined_at_data = self.model.process, self.model.defined_at_data
        self.pairs = list(zip(times, eval_times))

    def _at(self, t):
        """The evaluation time paired with ``t``, or None."""
        for k, s in self.pairs:
            if k is t:
                return s
        value = float(t)
        return next((s for k, s in self.pairs if float(k) == value), None)

    def denoise(self, x, t):
        s = self._at(t)
        return self.model.denoise(x, t if s is None else s)

    def velocity(self, x, t):
        s = self._at(t)
        if s is None or float(s) == float(t):  # Heun's end point, or the step's own time
            return self.model.velocity(x, t)
        return super().velocity(x, t)
