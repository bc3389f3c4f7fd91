"""AdamP and SGDP: momentum optimizers without the radial step on scale-invariant weights.

Heo, Chun, Oh, Han, Yun, Kim, Uh, Ha, "AdamP: Slowing Down the Slowdown for Momentum Optimizers
on Scale-invariant Weights", ICLR 2021 (arXiv 2006.08217); official code clovaai/AdamP.

For a weight ``w`` on which the loss depends only through ``w / ||w||`` (a filter followed by
batch norm) the gradient is orthogonal to ``w``, yet momentum carries a radial component that
grows ``||w||`` and shrinks the effective step.  The projection removes it: with the update
``u`` and the gradient ``g`` of a weight with two or more dimensions, and ``d`` the size of a
view (one output channel, or the whole layer),

    if max_views |cos(g, w)| < delta / sqrt(d):   u <- u - (w_hat . u) w_hat,   w_hat = w / ||w||,

tested channel-wise first, then layer-wise; a projected weight gets weight decay scaled by
``wd_ratio``.  Defaults ``delta = 0.1`` and ``wd_ratio = 0.1`` are the paper's.
"""

import math

import torch
import torch.nn.functional as F

from stepsize.optim._base import _Optimizer
from stepsize.optim._validate import check_betas, check_nonneg, check_unit


def _views(x):
    """The channel view (one row per output channel) and the layer view (one row)."""
    return x.reshape(x.shape[0], -1), x.reshape(1, -1)


def project_radial(w, g, u, delta, eps):
    """Return ``(u_projected, projected)``: ``u`` without its radial part where ``w`` looks
    scale-invariant (the test above), else ``(u, False)``."""
    if w.dim() < 2:
        return u, False
    for wv, gv, uv in zip(_views(w), _views(g), _views(u)):
        cosine = F.cosine_similarity(gv, wv, dim=1, eps=eps).abs()
        if cosine.max() < delta / math.sqrt(wv.shape[1]):
            w_hat = wv / wv.norm(dim=1, keepdim=True).add(eps)
            radial = (w_hat * uv).sum(dim=1, keepdim=True)
            return (uv - radial * w_hat).reshape(u.shape), True
    return u, False


class AdamP(_Optimizer):
    r"""AdamP (Heo et al., ICLR 2021, Algorithm 2; the official ``adamp.py``).

    ::

        m_t = beta1 m_{t-1} + (1 - beta1) g_t,    v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        u_t = m_t / (sqrt(v_t / (1 - beta2^t)) + eps)     (nesterov: beta1 m_t + (1 - beta1) g_t)
        u_t <- project_radial(theta, g_t, u_t)            (weights with >= 2 dims)
        theta <- theta (1 - lr * weight_decay * r)         (r = wd_ratio if projected, else 1)
        theta <- theta - lr / (1 - beta1^t) * u_t

    ``eps`` is added after the bias correction of ``v_t``, as in the paper and the official code.
    pytorch-optimizer's ``AdamP`` adds it before (``sqrt(v_t) + eps``, then multiplies by
    ``sqrt(1 - beta2^t)``), i.e. uses ``eps / sqrt(1 - beta2^t)`` here: the tests pin that
    difference.  (Its issue #480, NaNs from an epsilon added after ``rsqrt``, was fixed in
    #481; the placement difference remains in 4.1.)
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        delta=0.1,
        wd_ratio=0.1,
        nesterov=False,
    ):
        betas = check_betas(betas)
        eps = check_nonneg(eps, "eps")
        delta = check_nonneg(delta, "delta")
        wd_ratio = check_nonneg(wd_ratio, "wd_ratio")
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                delta=delta,
                wd_ratio=wd_ratio,
                nesterov=bool(nesterov),
            ),
        )

    def _update(self, group):
        beta1, beta2 = group["betas"]
        for p, g in self._grads(group):
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
            state["step"] += 1
            t = state["step"]
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m.mul_(beta1).add_(g, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = (v.sqrt() / math.sqrt(1 - beta2**t)).add_(group["eps"])
            num = m.mul(beta1).add_(g, alpha=1 - beta1) if group["nesterov"] else m
            u, projected = project_radial(p, g, num / denom, group["delta"], group["eps"])
            if group["weight_decay"]:
                ratio = group["wd_ratio"] if projected else 1.0
                p.mul_(1 - group["lr"] * group["weight_decay"] * ratio)
            p.add_(u, alpha=-group["lr"] / (1 - beta1**t))


class SGDP(_Optimizer):
    r"""SGDP (Heo et al., ICLR 2021, Algorithm 1; the official ``sgdp.py``).

    ::

        b_t = momentum b_{t-1} + (1 - dampening) g_t        (b_0 = 0)
        u_t = b_t                                          (nesterov: g_t + momentum b_t)
        u_t <- project_radial(theta, g_t, u_t)
        theta <- theta (1 - lr * weight_decay * r / (1 - momentum))
        theta <- theta - lr u_t

    Weight decay is decoupled and divided by ``1 - momentum`` (the official code); ``r`` is
    ``wd_ratio`` on projected weights.  The momentum buffer starts at zero, unlike
    ``torch.optim.SGD`` whose first buffer is ``g_1``.
    """

    def __init__(
        self,
        params,
        lr=0.1,
        momentum=0.9,
        dampening=0.0,
        weight_decay=0.0,
        nesterov=False,
        eps=1e-8,
        delta=0.1,
        wd_ratio=0.1,
    ):
        momentum = check_unit(momentum, "momentum")
        dampening = check_nonneg(dampening, "dampening")
        eps = check_nonneg(eps, "eps")
        delta = check_nonneg(delta, "delta")
        wd_ratio = check_nonneg(wd_ratio, "wd_ratio")
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=bool(nesterov),
                eps=eps,
                delta=delta,
                wd_ratio=wd_ratio,
            ),
        )

    def _update(self, group):
        mu = group["momentum"]
        for p, g in self._grads(group):
            state = self.state[p]
            if not state:
                state["momentum_buffer"] = torch.zeros_like(p)
            buf = state["momentum_buffer"]
            buf.mul_(mu).add_(g, alpha=1 - group["dampening"])
            u = g.add(buf, alpha=mu) if group["nesterov"] else buf.clone()
            u, projected = project_radial(p, g, u, group["delta"], group["eps"])
            if group["weight_decay"]:
                ratio = group["wd_ratio"] if projected else 1.0
                p.mul_(1 - group["lr"] * group["weight_decay"] * ratio / (1 - mu))
            p.add_(u, alpha=-group["lr"])
