"""LD3: the time steps of a few-step sampler learned by backpropagation through the sampler.

Tong, Hoang, Liu, Van den Broeck & Niepert, "Learning to Discretize Denoising Diffusion ODEs",
ICLR 2025 (arXiv 2405.15506). The ``K - 1`` interior times of a ``K``-step schedule are
positions ``u_i = c_i`` with ``c = cumsum(softmax(xi))`` of ``K`` logits ``xi`` (times stay
increasing, the end points fixed: the paper's parametrisation) on a coordinate ``u`` in
``[0, 1]`` that maps onto flow time through :func:`stepsize.schedules.model_grid` (uniform
training timesteps, flow time or log-SNR: the paper learns in log-SNR or in time). The student,
the sampler over these times, is fitted to a teacher's output from the same noise with LD3's
soft teacher loss: the student may start anywhere in a ball of radius ``r`` around the
teacher's noise ``x``,

    min_xi  mean_x  min_{||x' - x|| <= r}  ||Psi_xi(x') - Psi*(x)||^2 / d,

which spends the few parameters on what a schedule can fix rather than on each sample's
residual (``d``: sample dimension; ``r = 0.001 d / K^2`` by default, the authors' rule).
Each iteration one backward pass gives the gradients in ``xi`` and ``x'``: ``xi`` takes an Adam
step (Kingma & Ba 2015; default moments, gradient norm clipped at 1), ``x'`` an SGD step
projected back into the ball and kept only for the samples whose loss it lowers. The schedule
returned is the best by the plain (hard) error against the teacher on held-out noise; after
``patience`` checks without improvement the search returns to the best and halves the learning
rate. Only the paper's first stage is here (one time per step; its second stage also decouples
the time at which the model is evaluated within each step). Against the authors' code (CIFAR-10
config): full batches instead of batches of 2, learning rate 0.05 instead of 0.005 (Adam's
steps are about the learning rate from the first one), the L2 loss (their LPIPS needs a
downloaded network), and selection by the hard validation error (theirs scores the validation
noise after its own shifts).
"""

import inspect
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from stepsize.flow._adapters import as_model
from stepsize.flow._plan import make_noise
from stepsize.flow._sample import NFE_PER_STEP, SOLVERS, _prepare, _start, teacher
from stepsize.schedules import check_schedule, model_grid
from stepsize.schedules._check import check_real, check_steps


@dataclass
class LD3Result:
    """Outcome of :func:`plan_ld3`.

    Attributes
    ----------
    times : ndarray
        The learned schedule, ``K + 1`` increasing times from 0 to 1.
    error : float
        Its error ``mean_b ||x_b - x*_b||^2`` against the teacher on the validation noise.
    history : list of (int, float)
        Validation error at each check (iteration, error); iteration 0 is the initial schedule.
    stats : dict
        ``iterations``, ``model_calls``, ``seconds``, ``radius``, ``initial_error``.
    """

    times: np.ndarray
    error: float
    history: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)


class _Coordinate:
    """Piecewise-linear map from ``u`` in [0, 1] to flow time along a fine model grid."""

    def __init__(self, process, spacing, n=1000):
        self.t = model_grid(process, n, spacing)
        self.t[0] = process.t_min  # the model's pure noise; the schedule's first time stays 0
        self.u = np.linspace(0.0, 1.0, n + 1)
        self._t, self._u = torch.as_tensor(self.t), torch.as_tensor(self.u)

    def time(self, u):
        i = torch.clamp(torch.searchsorted(self._u, u.detach()) - 1, 0, len(self._u) - 2)
        w = (u - self._u[i]) / (self._u[i + 1] - self._u[i])
        return self._t[i] + w * (self._t[i + 1] - self._t[i])

    def logits(self, times):
        """Logits ``log(diff(u))`` of a schedule (its times clipped to the model's range)."""
        u = np.interp(np.clip(times, self.t[0], self.t[-1]), self.t, self.u)
        u[0], u[-1] = 0.0, 1.0
        return torch.as_tensor(np.log(np.maximum(np.diff(u), 1e-12)))


def _times(coord, xi):
    """``[0, t_1, ..., t_{K-1}, 1]``: floats at the ends, 0-d tensors inside."""
    inner = coord.time(torch.cumsum(torch.softmax(xi, 0), 0)[:-1])
    return [0.0, *inner.unbind(), 1.0]


def _per_sample(out, target):
    return ((out - target) ** 2).reshape(len(out), -1).mean(1)


def plan_ld3(
    model,
    K,
    solver="unipc",
    *,
    init=None,
    spacing="timesteps",
    n_samples=64,
    n_valid=32,
    iterations=60,
    lr=0.05,
    radius=None,
    shift_lr=None,
    check_every=5,
    patience=3,
    teacher_steps=100,
    teacher_solver="heun",
    seed=0,
    shape=None,
    cache=None,
):
    """A ``K``-step schedule for ``solver`` learned with LD3 (see the module docstring).

    ``init``: the schedule to start from (default: ``K`` uniform steps of the coordinate, i.e.
    uniform training timesteps for ``spacing="timesteps"``); ``n_samples`` training and
    ``n_valid`` validation noises drawn with ``seed`` and ``seed + 1`` (:func:`make_noise`;
    keep both seeds apart from the one of the noise the schedule is evaluated on: the
    validation picks the schedule returned); the teacher runs
    ``teacher_steps`` steps of ``teacher_solver`` on the grid of ``spacing``. ``iterations``
    full-batch steps with learning rate ``lr`` for the logits; ``radius`` of the soft loss's
    ball (``0`` for the hard loss; default ``0.001 d / K^2``) and ``shift_lr`` of ``x'``
    (default ``12 / K``, the authors' rule for a loss that averages over pixels). Costs the
    sampler's ``K``-step evaluations forward and backward per training sample and iteration,
    again forward for the shifted starts, and forward per validation sample and check.
    ``cache``: a :class:`stepsize.flow.TeacherCache` of the model, from which the teachers
    of both noise sets are taken (runs for several ``K`` and samplers share them).
    Returns an :class:`LD3Result`.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver: unknown {solver!r}; known: {', '.join(SOLVERS)}")
    K = check_steps(K)
    iterations = check_steps(iterations, "iterations", low=0)
    check_every = check_steps(check_every, "check_every")
    patience = check_steps(patience, "patience")
    lr = check_real(lr, "lr")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    m = as_model(model)
    started = time.perf_counter()
    coord = _Coordinate(m.process, spacing)
    step = inspect.unwrap(SOLVERS[solver])  # the sampler without its no_grad decorator
    grid = model_grid(m.process, check_steps(teacher_steps, "teacher_steps"), spacing)
    run_teacher = teacher if cache is None else cache.teacher
    sets = []
    for n, s in ((n_samples, seed), (n_valid, seed + 1)):
        noise = make_noise(model, n, s, shape)
        target = torch.as_tensor(run_teacher(m, noise, solver=teacher_solver, grid=grid).x[-1])
        x, _ = _prepare(model, noise)
        sets.append((x, target.to(x.dtype)))
    (x_train, y_train), (x_valid, y_valid) = sets
    dim = x_train[0].numel()
    radius = 0.001 * dim / K**2 if radius is None else check_real(radius, "radius")
    shift_lr = 12.0 / K if shift_lr is None else check_real(shift_lr, "shift_lr")
    if radius < 0 or shift_lr < 0:
        raise ValueError(f"radius and shift_lr must be >= 0, got {radius!r}, {shift_lr!r}")
    if init is None:
        xi = torch.zeros(K, dtype=torch.float64)
    else:
        init = check_schedule(init)
        if init.size != K + 1:
            raise ValueError(f"init must have K + 1 = {K + 1} times, got {init.size}")
        xi = coord.logits(init)
    xi.requires_grad_(True)
    opt = torch.optim.Adam([xi], lr=lr)
    calls = [0]

    def run(x, times):
        calls[0] += NFE_PER_STEP[solver] * K * len(x)
        times, x = _start(m, times, x)
        return step(m, x, times)

    def validate():
        with torch.no_grad():
            out = run(x_valid, _times(coord, xi))
        if not torch.isfinite(out).all():
            return np.inf
        return float(((out - y_valid) ** 2).reshape(len(out), -1).sum(1).mean())

    shifted = x_train.clone()
    best_err = validate()
    best_xi, history, bad = xi.detach().clone(), [(0, best_err)], 0
    for it in range(1, iterations + 1):
        start = shifted.clone().requires_grad_(radius > 0)
        with torch.enable_grad():  # gradients in xi and x' only, none in the model's weights
            loss = _per_sample(run(start, _times(coord, xi)), y_train)
            grads = torch.autograd.grad(loss.mean(), [xi, start] if radius > 0 else [xi])
        xi.grad = grads[0]
        torch.nn.utils.clip_grad_norm_([xi], 1.0)
        opt.step()
        if radius > 0:
            with torch.no_grad():
                off = (start - shift_lr * grads[1] - x_train).reshape(len(start), -1)
                off *= torch.clamp(radius / off.norm(dim=1, keepdim=True).clamp_min(1e-30), max=1)
                moved = x_train + off.reshape(x_train.shape)
                keep = _per_sample(run(moved, _times(coord, xi)), y_train) < loss.detach()
                shifted[keep] = moved[keep]
        if it % check_every == 0 or it == iterations:
            err = validate()
            history.append((it, err))
            if err < best_err:
                best_err, best_xi, bad = err, xi.detach().clone(), 0
            else:
                bad += 1
                if bad >= patience:
                    with torch.no_grad():
                        xi.copy_(best_xi)
                    for group in opt.param_groups:
                        group["lr"] *= 0.5
                    bad = 0
    times = np.array([float(t) for t in _times(coord, best_xi)])
    return LD3Result(
        times=times,
        error=best_err,
        history=history,
        stats={
            "iterations": iterations,
            "model_calls": calls[0],
            "seconds": time.perf_counter() - started,
            "radius": radius,
            "initial_error": history[0][1],
        },
    )
