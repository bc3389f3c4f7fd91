"""Samplers of the probability-flow ODE, one small function each over any schedule.

Each ``sample_<name>(model, x, times)`` integrates the flow state ``x`` over the increasing
flow ``times`` (``t = 0`` noise, ``t = 1`` data) with an adapter ``model``
(:mod:`stepsize.flow._adapters`; a plain ``v(x, t)`` is a flow). On the flow path
``x = t D + (1 - t) noise`` the signal and noise scales are ``a_t = t`` and ``s_t = 1 - t``, the
half log-SNR ``lambda_t = log(t / (1 - t))``, and the exponential-integrator methods (DPM-Solver++,
UniPC) are written in ``(a_t, s_t, lambda_t)``: they are invariant under the rescaling that maps
a VP or VE model onto this path, so they give k-diffusion's and diffusers' steps exactly.
Euler is DDIM on every path. Heun, midpoint and iPNDM integrate ``dx/dt = v`` in flow
variables (k-diffusion's and diffusers' flow-matching conventions).

History points at ``lambda = -inf`` (``t = 0``) carry no slope information in ``lambda``: a
multistep method drops them, i.e. takes the limit ``lambda -> -inf`` of its formula.

Times are Python floats, or 0-d torch tensors where a schedule is learned by backpropagation
through the sampler (:func:`stepsize.flow.plan_ld3`): the time arithmetic below takes either.
"""

import math

import numpy as np
import torch


def _log(t):
    return torch.log(t) if torch.is_tensor(t) else math.log(t)


def _log1p(t):
    return torch.log1p(t) if torch.is_tensor(t) else math.log1p(t)


def _expm1(t):
    return torch.expm1(t) if torch.is_tensor(t) else math.expm1(t)


def _lam(t):
    if t <= 0.0:
        return -math.inf
    if t >= 1.0:
        return math.inf
    return _log(t) - _log1p(-t)


def _ddim(x, d, t0, t1):
    """First-order exponential step ``x1 = (s1 / s0) x + (a1 - a0 s1 / s0) D`` (DDIM)."""
    ratio = (1.0 - t1) / (1.0 - t0)
    return ratio * x + (t1 - t0 * ratio) * d


@torch.no_grad()
def sample_euler(model, x, times):
    """Euler: ``x += (t_1 - t_0) v(x, t_0)``; one evaluation per step (DDIM on any path)."""
    for t0, t1 in zip(times[:-1], times[1:]):
        x = x + (t1 - t0) * model.velocity(x, t0)
    return x


@torch.no_grad()
def sample_heun(model, x, times):
    """Heun (explicit trapezoid, EDM's 2nd-order step): two evaluations per step; a last step
    to data is an Euler step for models undefined there (k-diffusion's rule)."""
    for t0, t1 in zip(times[:-1], times[1:]):
        h = t1 - t0
        d = model.velocity(x, t0)
        if t1 >= 1.0 and not model.defined_at_data:
            x = x + h * d
        else:
            x = x + 0.5 * h * (d + model.velocity(x + h * d, t1))
    return x


@torch.no_grad()
def sample_midpoint(model, x, times):
    """Explicit midpoint: ``x += h v(x + h/2 v(x, t_0), t_0 + h/2)``; two evaluations per step."""
    for t0, t1 in zip(times[:-1], times[1:]):
        h = t1 - t0
        x = x + h * model.velocity(x + 0.5 * h * model.velocity(x, t0), t0 + 0.5 * h)
    return x


_AB = (
    (1.0,),
    (3 / 2, -1 / 2),
    (23 / 12, -16 / 12, 5 / 12),
    (55 / 24, -59 / 24, 37 / 24, -9 / 24),
)
"""Adams-Bashforth weights of orders 1-4 (newest slope first)."""


def step_ipndm(x, v, past, t0, t1):
    """One iPNDM step from ``x`` at ``t0`` with slope ``v`` and past slopes ``past`` (newest
    first, ``(t, v)``; up to three used)."""
    slopes = [v] + [p[1] for p in past[:3]]
    return x + (t1 - t0) * sum(w * s for w, s in zip(_AB[len(slopes) - 1], slopes))


@torch.no_grad()
def sample_ipndm(model, x, times):
    """iPNDM (Zhang & Chen, DEIS, ICLR 2023): Adams-Bashforth of rising order (1 to 4) on
    ``dx/dt = v`` with the fixed-step weights, whatever the step ratios; one evaluation per step.
    """
    hist = []
    for t0, t1 in zip(times[:-1], times[1:]):
        v = model.velocity(x, t0)
        x = step_ipndm(x, v, hist, t0, t1)
        hist.insert(0, (t0, v))
    return x


def _history(hist, order):
    """The newest ``order - 1`` past ``(t, D)`` of finite ``lambda`` (``t > 0``)."""
    return [p for p in hist if p[0] > 0.0][: order - 1]


def _step_2m(x, d, past, t0, t1, lam):
    if not past or t1 >= 1.0:
        return _ddim(x, d, t0, t1)
    lam0 = lam(t0)
    r = (lam0 - lam(past[0][0])) / (lam(t1) - lam0)
    return _ddim(x, (1.0 + 0.5 / r) * d - (0.5 / r) * past[0][1], t0, t1)


def step_dpmpp_2m(x, d, past, t0, t1):
    """One DPM-Solver++(2M) step: data prediction ``d`` at ``t0``, ``past`` = ``[(t, D), ...]``
    newest first (the newest one of ``t > 0`` is used; none, or ``t1 = 1``: first order)."""
    return _step_2m(x, d, _history(past, 2), t0, t1, _lam)


def _neg_log_sigma(t):
    return math.inf if t >= 1.0 else -_log1p(-t)


def step_dpmpp_2m_flow(x, d, past, t0, t1):
    """One step of :func:`sample_dpmpp_2m_flow`; ``past`` as in :func:`step_dpmpp_2m`, the
    newest point used even at ``t = 0``."""
    return _step_2m(x, d, past[:1], t0, t1, _neg_log_sigma)


@torch.no_grad()
def sample_dpmpp_2m_flow(model, x, times):
    """DPM-Solver++(2M) with the data prediction extrapolated in ``-log(1 - t)``.

    The DDIM step of :func:`sample_dpmpp_2m` with ``r`` measured in ``-log sigma`` of the flow's
    noise level ``sigma = 1 - t`` instead of the half log-SNR: what k-diffusion's
    ``sample_dpmpp_2m`` does on a flow's denoiser ``x + sigma v`` over flow sigmas (ComfyUI's
    "CONST" models). Unlike ``lambda``, ``-log sigma`` is finite at pure noise, so the second
    step is already second order.
    """
    hist = []
    for t0, t1 in zip(times[:-1], times[1:]):
        d = model.denoise(x, t0)
        x = step_dpmpp_2m_flow(x, d, hist, t0, t1)
        hist.insert(0, (t0, d))
    return x


@torch.no_grad()
def sample_dpmpp_2m(model, x, times):
    """DPM-Solver++(2M) (Lu et al. 2022, arXiv 2211.01095, Alg. 2), one evaluation per step.

    ``x_1 = (s_1/s_0) x + a_1 (1 - e^-h) [(1 + 1/(2r)) D_0 - D_-1 / (2r)]`` with
    ``h = lambda_1 - lambda_0``, ``r = h_-1 / h``; first-order on the first step and on a last
    step to data (k-diffusion's ``sample_dpmpp_2m``, diffusers' ``DPMSolverMultistep``).
    """
    hist = []
    for t0, t1 in zip(times[:-1], times[1:]):
        d = model.denoise(x, t0)
        x = step_dpmpp_2m(x, d, hist, t0, t1)
        hist.insert(0, (t0, d))
    return x


def step_dpmpp_3m(x, d, past, t0, t1):
    """One DPM-Solver++(3M) step (see :func:`sample_dpmpp_3m`); ``past`` as in
    :func:`step_dpmpp_2m`, the newest two of ``t > 0`` used."""
    past = _history(past, 3) if t1 < 1.0 else []
    if len(past) < 2:
        return step_dpmpp_2m(x, d, past, t0, t1)
    lam0, lam1 = _lam(t0), _lam(t1)
    lam_a, lam_b = _lam(past[0][0]), _lam(past[1][0])
    h = lam1 - lam0
    phi2 = _expm1(-h) / h + 1.0
    r0, r1 = (lam0 - lam_a) / h, (lam_a - lam_b) / h
    d1_0 = (d - past[0][1]) / r0
    d1_1 = (past[0][1] - past[1][1]) / r1
    d1 = d1_0 + (d1_0 - d1_1) * (r0 / (r0 + r1))
    d2 = (d1_0 - d1_1) / (r0 + r1)
    return _ddim(x, d, t0, t1) + t1 * (phi2 * d1 - (phi2 / h - 0.5) * d2)


@torch.no_grad()
def sample_dpmpp_3m(model, x, times):
    """DPM-Solver++(3M): third-order multistep, one evaluation per step (k-diffusion's
    ``sample_dpmpp_3m_sde`` at ``eta = 0``; diffusers' ``solver_order=3``)::

        x_1 = (s_1/s_0) x + a_1 [(1 - e^-h) D_0 + phi_2 D1 - phi_3 D2],
        phi_2 = (e^-h - 1)/h + 1,   phi_3 = phi_2 / h - 1/2,

    with the divided differences ``D1, D2`` of the last three ``D`` in ``lambda``; orders rise
    1, 2 (the midpoint step of :func:`sample_dpmpp_2m`, as diffusers; k-diffusion's warm-up
    step uses ``phi_2 D1`` instead), 3, and a last step to data is first order.
    """
    hist = []
    for t0, t1 in zip(times[:-1], times[1:]):
        d = model.denoise(x, t0)
        x = step_dpmpp_3m(x, d, hist, t0, t1)
        hist.insert(0, (t0, d))
    return x


def _solve(rows, rhs):
    """``rows @ w = rhs`` for small systems of numbers (numpy) or of 0-d tensors (torch)."""
    if any(torch.is_tensor(v) for v in [*rhs, *(v for r in rows for v in r)]):

        def stack(values):
            return torch.stack([torch.as_tensor(v, dtype=torch.float64) for v in values])

        return torch.linalg.solve(torch.stack([stack(r) for r in rows]), stack(rhs))
    return np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))


def _unipc_weights(rks, h, predictor):
    """UniPC's ``B(h) = e^-h - 1`` ("bh2") coefficients ``rho`` for the ratios ``rks``.

    ``b_k = k! phi_{k+1}(-h) / B(h)``-type entries of Zhao et al. (2023), Alg. 1/2, solved
    against the Vandermonde rows ``rks^(k-1)`` (``rks`` ends in 1 for the corrector).
    """
    hh = -h
    b_h = _expm1(hh)
    h_phi_k = b_h / hh - 1.0
    factorial, b = 1, []
    for k in range(1, len(rks) + 1):
        b.append(h_phi_k * factorial / b_h)
        factorial *= k + 1
        h_phi_k = h_phi_k / hh - 1.0 / factorial
    rows = [[r**k for r in rks] for k in range(len(rks))]
    if predictor:
        if len(rks) == 2:
            return [0.5]
        return list(_solve([r[:-1] for r in rows[:-1]], b[:-1]))
    if len(rks) == 1:
        return [0.5]
    return list(_solve(rows, b))


def _number(r):
    return r if torch.is_tensor(r) else float(r)


def step_unipc(x, d0, past, t0, t1, corr=None):
    """One UniP (``corr=None``) or UniC (``corr`` = model output at the new point) update from
    ``x`` at ``t0`` with data prediction ``d0`` and the past ``[(t, D), ...]`` (all used)."""
    lam0, lam1 = _lam(t0), _lam(t1)
    h = lam1 - lam0
    x_new = _ddim(x, d0, t0, t1)
    rks = [(_lam(tp) - lam0) / h for tp, _ in past]
    diffs = [(dp - d0) / rk for (_, dp), rk in zip(past, rks)]
    b_h = _expm1(-h)
    if corr is None:
        if not diffs:
            return x_new
        rho = _unipc_weights(rks + [1.0], h, predictor=True)
        return x_new - t1 * b_h * sum(_number(r) * dk for r, dk in zip(rho, diffs))
    rho = _unipc_weights(rks + [1.0], h, predictor=False)
    res = sum(_number(r) * dk for r, dk in zip(rho[:-1], diffs)) + _number(rho[-1]) * (corr - d0)
    return x_new - t1 * b_h * res


@torch.no_grad()
def sample_unipc(model, x, times, order=2):
    """UniPC (Zhao et al., NeurIPS 2023, arXiv 2302.04867), data prediction, ``B(h) = e^h - 1``.

    Each step: predictor UniP-``p`` from the last ``p`` data predictions, then, once the model
    is evaluated at the new point, the corrector UniC refines that point with the new
    prediction (no extra evaluation; none after the last step): one evaluation per step. Orders
    warm up from 1 and fall to ``K - i`` near the end (diffusers' ``lower_order_final``).
    """
    n = len(times) - 1
    hist, prev = [], None
    for i, (t0, t1) in enumerate(zip(times[:-1], times[1:])):
        d = model.denoise(x, t0)
        if prev is not None:
            x_last, d_last, t_last, past_last = prev
            x = step_unipc(x_last, d_last, past_last, t_last, t0, corr=d)
        past = _history(hist, min(order, n - i, i + 1))
        prev = (x, d, t0, past)
        x = step_unipc(x, d, past, t0, t1)
        hist.insert(0, (t0, d))
    return x
