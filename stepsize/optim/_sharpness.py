"""Sharpness of a torch model: the largest Hessian eigenvalue by Hessian-vector power iteration.

Gradient descent with step ``gamma`` is explicit Euler on the gradient flow
``theta' = -grad L(theta)``; near a minimum it is stable only while ``gamma * lambda_max <= 2``
(the "edge of stability" of Cohen et al., ICLR 2021, where full-batch training hovers).  The
same ratio, estimated along each step from two gradients, is Hairer's stiffness estimate of
:func:`stepsize.control.stiffness_estimate`: with ``f = -grad L``,

    lambda_hat = ||grad L(theta_1) - grad L(theta_0)|| / ||theta_1 - theta_0||,

a lower bound on ``lambda_max`` for a quadratic and exact along its top eigenvector.  The
power iteration below measures that same quotient on ``H v`` versus ``v`` -- ``lambda_hat`` with
``theta_1 - theta_0 = v`` in the limit of a small step -- through the shared function.
"""

from dataclasses import dataclass, field

import numpy as np
import torch

from stepsize.control import stiffness_estimate
from stepsize.optim._validate import check_count, check_positive


def _params(model_or_params):
    if isinstance(model_or_params, torch.nn.Module):
        return [p for p in model_or_params.parameters() if p.requires_grad]
    return [p for p in model_or_params if p.requires_grad]


def _flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


def _to_numpy(t):
    return t.detach().to(torch.float64).cpu().numpy()


def _quotient(hv, v):
    """``||H v|| / ||v||`` through the shared stiffness estimate (numpy, float64)."""
    hv, v = _to_numpy(hv), _to_numpy(v)
    zero = np.zeros_like(v)
    return stiffness_estimate(zero, hv, zero, v)


def hessian_vector_product(loss_fn, params, v):
    """``H v`` for the scalar ``loss_fn()`` at the current ``params`` (double backward).

    ``v`` is a flat tensor with one entry per parameter entry; returns a flat tensor.
    """
    params = _params(params)
    loss = loss_fn()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    chunks, start = [], 0
    for p in params:
        chunks.append(v[start : start + p.numel()].view_as(p))
        start += p.numel()
    hv = torch.autograd.grad(grads, params, grad_outputs=chunks)
    return _flat(hv).detach()


@dataclass
class Sharpness:
    """``value``: the top eigenvalue; ``vector``: its unit eigenvector (flat);
    ``iterations``: Hessian-vector products used; ``converged``: tolerance reached."""

    value: float
    vector: torch.Tensor
    iterations: int
    converged: bool


def _power(hvp, v, tol, max_iter, shift=0.0):
    """Power iteration on ``H - shift I``; Rayleigh quotient of ``H`` returned."""
    v = v / v.norm()
    lam = 0.0
    for k in range(1, max_iter + 1):
        hv = hvp(v) - shift * v
        lam = float(torch.dot(v, hv))
        residual = float((hv - lam * v).norm())
        if residual <= tol * max(abs(lam), 1e-300):
            return lam + shift, v, k, True
        # ||H v|| / ||v|| through the shared estimate; v is a unit vector, so hv / scale is
        # the next unit iterate.
        scale = _quotient(hv, v)
        if scale == 0.0:
            return shift, v, k, True
        v = hv / scale
    return lam + shift, v, max_iter, False


def top_hessian_eigenvalue(loss_fn, params, *, tol=1e-6, max_iter=500, seed=0, v0=None):
    """``lambda_max`` of the Hessian of ``loss_fn()`` with respect to ``params``.

    Power iteration with Hessian-vector products converges to the eigenvalue of largest
    magnitude; if that one is negative, a second run on ``H - lambda I`` finds the largest
    (algebraic) eigenvalue.  Stops when ``||H v - lambda v|| <= tol |lambda|``.  ``v0`` (a flat
    tensor) warm-starts the iteration, e.g. from the previous call's ``vector``.
    """
    tol = check_positive(tol, "tol")
    max_iter = check_count(max_iter, "max_iter")
    params = _params(params)
    n = sum(p.numel() for p in params)
    ref = params[0]
    if v0 is None:
        gen = torch.Generator().manual_seed(seed)
        v0 = torch.randn(n, generator=gen, dtype=torch.float64).to(ref)
    elif v0.shape != (n,):
        raise ValueError(f"v0 must have shape ({n},) like the parameters, got {tuple(v0.shape)}")

    def hvp(v):
        return hessian_vector_product(loss_fn, params, v)

    lam, v, its, ok = _power(hvp, v0.to(ref), tol, max_iter)
    if lam < 0:
        lam2, v2, its2, ok2 = _power(hvp, v0.to(ref), tol, max_iter, shift=lam)
        lam, v, its, ok = lam2, v2, its + its2, ok2
    return Sharpness(float(lam), v.detach(), its, ok)


def _lr(optimizer):
    return float(optimizer.param_groups[0]["lr"])


@dataclass
class SharpnessLog:
    """Rows of a :class:`SharpnessMonitor`: ``step``, ``lr``, ``lambda_max`` (power iteration,
    every ``every`` steps), ``edge = lr * lambda_max`` (2 = edge of stability) and
    ``secant = lr * lambda_hat`` (Hairer's estimate along the last step, every step)."""

    step: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    lambda_max: list = field(default_factory=list)
    edge: list = field(default_factory=list)
    secant_step: list = field(default_factory=list)
    secant: list = field(default_factory=list)

    def as_dict(self):
        return {k: list(getattr(self, k)) for k in self.__dataclass_fields__}


class SharpnessMonitor:
    """Log ``gamma * lambda_max`` of a training run every ``every`` optimizer steps.

    ``loss_fn()`` returns the loss on a fixed batch (the full training set for full-batch runs);
    call :meth:`step` after each ``optimizer.step()``.  Every step it records Hairer's secant
    estimate from the previous and current gradients of ``loss_fn`` (one extra gradient);
    every ``every`` steps it runs the power iteration, warm-started from the last eigenvector.
    ``gamma`` is the learning rate of the optimizer's first parameter group: for plain
    gradient descent ``edge > 2`` means the step is outside explicit Euler's stability interval.
    """

    def __init__(
        self, model, loss_fn, optimizer, *, every=10, tol=1e-4, max_iter=100, seed=0, secant=True
    ):
        self.params = _params(model)
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.every = check_count(every, "every")
        self.tol = check_positive(tol, "tol")
        self.max_iter = check_count(max_iter, "max_iter")
        self.seed = seed
        self.secant_on = bool(secant)
        self.log = SharpnessLog()
        self._count = 0
        self._vector = None
        self._prev = None

    def _point(self):
        loss = self.loss_fn()
        grads = torch.autograd.grad(loss, self.params)
        return _to_numpy(_flat(self.params)), _to_numpy(_flat(grads))

    def step(self):
        """Record the estimates for the current parameters; returns the latest log row."""
        self._count += 1
        lr = _lr(self.optimizer)
        if self.secant_on:
            theta, grad = self._point()
            if self._prev is not None:
                lam_hat = stiffness_estimate(self._prev[1], grad, self._prev[0], theta)
                self.log.secant_step.append(self._count)
                self.log.secant.append(lr * float(lam_hat))
            self._prev = (theta, grad)
        if self._count % self.every == 0:
            s = top_hessian_eigenvalue(
                self.loss_fn,
                self.params,
                tol=self.tol,
                max_iter=self.max_iter,
                seed=self.seed,
                v0=self._vector,
            )
            self._vector = s.vector
            self.log.step.append(self._count)
            self.log.lr.append(lr)
            self.log.lambda_max.append(s.value)
            self.log.edge.append(lr * s.value)
        return self.log
