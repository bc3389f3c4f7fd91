"""Bespoke non-stationary (BNS) solvers: a few-step sampler's coefficients learned by
backpropagation through the sampler against a teacher.

Shaul, Singer, Chen, Le, Thabet, Pumarola & Lipman, "Bespoke Non-Stationary Solvers for Fast
Sampling of Diffusion and Flow Models", ICML 2024 (arXiv 2403.01329). Every sampler here is
linear in its inputs once its times are fixed: with ``e_0 = x_0`` the noise and ``u_j = v(e_j,
t_j)`` the velocity of the ``j``-th model call, the ``k``-th evaluation point and the output are

    e_k = a_k x_0 + sum_{j < k} b_kj u_j,        k = 1, ..., n      (e_n: the sample),

for Euler, Heun, iPNDM, DPM-Solver++ and UniPC alike (their ``x``, data-prediction and history
terms fold into these weights; the paper's Section 3 form, whose ``x_j`` terms fold into
``x_0`` and the ``u``'s the same way). :func:`solver_coefficients` reads ``(t, a, b)`` off a
sampler over a schedule by running it on a probe whose calls return unit vectors, so a BNS
solver starts exactly as that sampler; :func:`plan_bns` then fits the ``n(n+1)/2 + n``
weights and the ``n - 1`` evaluation times after the first (offsets on the coordinate of
:func:`stepsize.schedules.model_grid`, as LD3's decoupled times) to minimise

    mean_x ||e_n(x) - Psi*(x)||^2 / d

against the teacher ``Psi*`` from the same noise, by full-batch L-BFGS (strong Wolfe line
search) in rounds, keeping the parameters of the lowest error on held-out noise. The paper
fits by Adam on an RMSE/PSNR loss over many more samples; full batches of a few dozen samples
and L-BFGS suit its few dozen parameters here. A schedule is the special case of fixed
weights: a BNS solver is a learned sampler, not a schedule.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from stepsize.flow._adapters import Model, as_model
from stepsize.flow._ld3 import _Coordinate, _per_sample
from stepsize.flow._plan import make_noise
from stepsize.flow._sample import NFE_PER_STEP, SOLVERS, _prepare, _start, reference
from stepsize.schedules import check_schedule
from stepsize.schedules._check import check_steps


class _Probe(Model):
    """A model whose ``j``-th call returns the ``j``-th column of the identity on a batch of
    scalar states, recording the states and times it is called at."""

    def __init__(self, model, n_calls):
        self.process, self.defined_at_data = model.process, model.defined_at_data
        self.n, self.points, self.times = n_calls, [], []

    def velocity(self, x, t):
        j = len(self.points)
        if j >= self.n:
            raise ValueError(f"the sampler made more than the {self.n} model calls expected")
        self.points.append(x.clone())
        self.times.append(float(t))
        u = torch.zeros_like(x)
        u[j + 1] = 1.0
        return u


def solver_coefficients(model, solver, schedule, n_calls=None):
    """``(t, a, b)`` of ``solver`` (a key of :data:`stepsize.flow.SOLVERS`) over ``schedule``
    for ``model``'s process: the times ``t`` ``(n,)`` of its ``n`` model calls, and the
    weights ``a`` ``(n,)`` and lower-triangular ``b`` ``(n, n)`` with ``e_k = a_{k-1} x_0 +
    sum_{j<k} b_{k-1,j} u_j`` (module docstring). ``n_calls``: the calls expected (default: the
    sampler's evaluations, ``NFE_PER_STEP * K``)."""
    if solver not in SOLVERS:
        raise ValueError(f"solver: unknown {solver!r}; known: {', '.join(SOLVERS)}")
    m = as_model(model)
    times = check_schedule(schedule).tolist()
    n = NFE_PER_STEP[solver] * (len(times) - 1) if n_calls is None else check_steps(n_calls)
    probe = _Probe(m, n)
    run, _ = _start(m, times, torch.zeros((n + 1, 1), dtype=torch.float64))
    x = torch.zeros((n + 1, 1), dtype=torch.float64)
    x[0] = 1.0  # x_0 the started state (after _start's scaling of the noise)
    out = SOLVERS[solver](probe, x, run)
    if len(probe.points) != n:  # Heun's last step to data is one call short of 2K
        return solver_coefficients(model, solver, schedule, n_calls=len(probe.points))
    rows = torch.cat([torch.stack(probe.points[1:]), out[None]])[..., 0]  # (n, n + 1)
    a, b = rows[:, 0].numpy().copy(), rows[:, 1:].numpy().copy()
    return np.array(probe.times), a, np.tril(b)


def sample_linear(model, x, times, a, b):
    """The linear sampler ``e_k = a_{k-1} x_0 + sum_{j<k} b_{k-1,j} v(e_j, t_j)`` from the
    flow state ``x = e_0`` at pure noise; ``times`` ``(n,)`` floats or 0-d tensors, ``a``
    ``(n,)`` and ``b`` ``(n, n)`` (entries above the diagonal unused) numpy or torch."""
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    e, us = x, []
    for k in range(len(times)):
        us.append(model.velocity(e, times[k]))
        e = a[k] * x
        for j, u in enumerate(us):
            e = e + b[k, j] * u
    return e


@dataclass
class BNSSolver:
    """A learned linear sampler (:func:`plan_bns`).

    Attributes
    ----------
    times, a, b : ndarray
        Its evaluation times ``(n,)`` and weights ``(n,)``, ``(n, n)`` (:func:`sample_linear`).
    error : float
        ``mean_b ||x_b - x*_b||^2`` against the teacher on the validation noise.
    history : list of (int, float)
        Validation error after each round (round 0: the initial sampler).
    stats : dict
        ``solver`` (the initial one), ``parameters``, ``model_calls``, ``seconds``,
        ``initial_error``.
    """

    times: np.ndarray
    a: np.ndarray
    b: np.ndarray
    error: float
    history: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @torch.no_grad()
    def sample(self, model, noise):
        """Samples from ``noise`` (tensor or numpy array, returned as the same kind)."""
        x, is_numpy = _prepare(model, noise)
        m = as_model(model)
        _, x = _start(m, [0.0, 1.0], x)
        out = sample_linear(m, x, self.times.tolist(), self.a, self.b)
        return out.detach().cpu().numpy() if is_numpy else out


def plan_bns(
    model,
    schedule,
    solver="dpmpp_2m_flow",
    *,
    spacing="timesteps",
    n_samples=64,
    n_valid=32,
    rounds=10,
    iterations=5,
    patience=2,
    teacher_steps=100,
    teacher_solver="heun",
    seed=0,
    shape=None,
    cache=None,
):
    """A BNS solver fitted from ``solver`` over ``schedule`` (see the module docstring).

    ``n_samples`` training and ``n_valid`` validation noises drawn with ``seed`` and ``seed + 1``
    (:func:`stepsize.flow.make_noise`), their teachers ``teacher_steps`` uniform steps of
    ``teacher_solver`` (from ``cache``, a :class:`stepsize.flow.TeacherCache`, when given);
    ``rounds`` of ``iterations`` L-BFGS iterations, stopping after ``patience`` rounds without a
    lower validation error. Times are offsets on the ``spacing`` coordinate, clamped to it.
    Returns a :class:`BNSSolver`.
    """
    rounds = check_steps(rounds, "rounds", low=0)
    iterations = check_steps(iterations, "iterations")
    patience = check_steps(patience, "patience")
    m = as_model(model)
    started = time.perf_counter()
    t0, a0, b0 = solver_coefficients(m, solver, schedule)
    n = len(t0)
    coord = _Coordinate(m.process, spacing)
    u0 = torch.as_tensor(np.interp(t0, coord.t, coord.u))
    sets = []
    for count, s in ((n_samples, seed), (n_valid, seed + 1)):
        noise = make_noise(model, count, s, shape)
        run = reference if cache is None else cache.reference
        target = torch.as_tensor(run(m, noise, teacher_steps, solver=teacher_solver))
        x, _ = _prepare(model, noise)
        _, x = _start(m, [0.0, 1.0], x)
        sets.append((x, target.to(x.dtype)))
    (x_train, y_train), (x_valid, y_valid) = sets
    mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
    params = [
        torch.zeros(n - 1, dtype=torch.float64, requires_grad=True),  # time offsets
        torch.as_tensor(a0).clone().requires_grad_(True),
        torch.as_tensor(b0[mask.numpy()]).clone().requires_grad_(True),
    ]
    calls = [0]

    def run(x):
        du, a, flat = params
        u = torch.clamp(u0[1:] + du, 0.0, 1.0 - 1e-6)
        times = [float(t0[0]), *coord.time(u).unbind()]
        b = torch.zeros(n, n, dtype=torch.float64).masked_scatter(mask, flat)
        calls[0] += n * len(x)
        return sample_linear(m, x, times, a, b)

    def validate():
        with torch.no_grad():
            out = run(x_valid)
        if not torch.isfinite(out).all():
            return np.inf
        return float(((out - y_valid) ** 2).reshape(len(out), -1).sum(1).mean())

    opt = torch.optim.LBFGS(
        params, lr=1.0, max_iter=iterations, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        with torch.enable_grad():
            loss = _per_sample(run(x_train), y_train).mean()
            loss.backward()
        return loss

    best = validate()
    best_params, history, bad = [p.detach().clone() for p in params], [(0, best)], 0
    for r in range(1, rounds + 1):
        opt.step(closure)
        err = validate()
        history.append((r, err))
        if err < best:
            best, best_params, bad = err, [p.detach().clone() for p in params], 0
        else:
            bad += 1
            if bad >= patience:
                break
    with torch.no_grad():
        for p, q in zip(params, best_params):
            p.copy_(q)
        du, a, flat = params
        times = coord.time(torch.clamp(u0[1:] + du, 0.0, 1.0 - 1e-6)).detach().numpy()
        b = torch.zeros(n, n, dtype=torch.float64).masked_scatter(mask, flat).detach().numpy()
    return BNSSolver(
        times=np.concatenate([[t0[0]], times]),
        a=a.detach().numpy().copy(),
        b=b,
        error=best,
        history=history,
        stats={
            "solver": solver,
            "parameters": int(sum(p.numel() for p in params)),
            "model_calls": calls[0],
            "seconds": time.perf_counter() - started,
            "initial_error": history[0][1],
        },
    )
