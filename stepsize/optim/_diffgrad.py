"""diffGrad: Adam with a per-coordinate friction coefficient (Dubey et al., IEEE TNNLS 2020)."""

import math

import torch

from stepsize.optim._base import _Optimizer
from stepsize.optim._validate import check_betas, check_nonneg


class DiffGrad(_Optimizer):
    r"""diffGrad (Dubey, Chakraborty, Roy, Mukherjee, Dubey, Chaudhuri; arXiv 1909.11015).

    Adam whose first moment is damped by the friction coefficient of the latest gradient change::

        g_t   <- g_t + weight_decay * theta_{t-1}       (L2 penalty, as in the paper's code)
        m_t    = beta1 m_{t-1} + (1 - beta1) g_t
        v_t    = beta2 v_{t-1} + (1 - beta2) g_t^2
        xi_t   = sigmoid(|g_{t-1} - g_t|)                (g_0 = 0: xi_1 = sigmoid(|g_1|))
        theta_t = theta_{t-1} - lr sqrt(1 - beta2^t) / (1 - beta1^t) * xi_t m_t / (sqrt(v_t) + eps)

    This is the authors' corrected ``diffGrad_v2.py`` (the first release aliased ``g_{t-1}`` to
    ``g_t``, making ``xi_t = 1/2``).  The paper writes ``xi_t m_hat_t / (sqrt(v_hat_t) + eps)``; the
    code's form above is the same rule with ``eps`` replaced by ``eps sqrt(1 - beta2^t)``.

    Differences from pytorch-optimizer's ``DiffGrad`` (pinned by the tests): its default weight
    decay is decoupled (AdamW-style; ``weight_decouple=False`` gives the L2 penalty used here), and
    its denominator is ``sqrt(v_t + 1e-15) + eps``, which differs from this one once ``v_t`` is
    below about 1e-13.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        betas = check_betas(betas)
        eps = check_nonneg(eps, "eps")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _update(self, group):
        beta1, beta2 = group["betas"]
        for p, g in self._grads(group):
            if group["weight_decay"]:
                g = g.add(p, alpha=group["weight_decay"])
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
                state["previous_grad"] = torch.zeros_like(p)
            state["step"] += 1
            t = state["step"]
            m, v, g_prev = state["exp_avg"], state["exp_avg_sq"], state["previous_grad"]
            m.mul_(beta1).add_(g, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            xi = torch.sigmoid((g_prev - g).abs())
            g_prev.copy_(g)
            step_size = group["lr"] * math.sqrt(1 - beta2**t) / (1 - beta1**t)
            p.addcdiv_(xi * m, v.sqrt().add_(group["eps"]), value=-step_size)
