"""EXAdam: Adam with cross-moment debiasing and a gradient acceleration term (Adly 2024)."""

import math

import torch

from stepsize.optim._base import _Optimizer
from stepsize.optim._validate import check_betas, check_choice, check_nonneg


class EXAdam(_Optimizer):
    r"""EXAdam (A. M. Adly, "EXAdam: The Power of Adaptive Cross-Moments", arXiv 2412.20302).

    ::

        theta <- theta - lr * weight_decay * theta          (decoupled, before the step)
        m_t = beta1 m_{t-1} + (1 - beta1) g_t,   v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        d1 = 1 + beta2^t v_t / (v_t + eps),      d2 = 1 + beta1^t m_t^2 / (m_t^2 + eps)
        m~ = d1 m_t / (1 - beta1^t),   v~ = d2 v_t / (1 - beta2^t),   g~ = d1 g_t / (1 - beta1^t)
        theta <- theta - alpha_t (m~ + g~) / (sqrt(v~) + eps)

    ``version=2`` (the default; arXiv v2 and the official code since April 2025) uses
    ``alpha_t = lr``.  ``version=1`` (arXiv v1, Dec 2024, the third enhancement: a step size
    that keeps growing) uses ``alpha_t = lr * ln(sqrt(2 (t + 1)))``, i.e. ``lr ln 2`` at
    ``t = 1``; weight decay is not grown.  pytorch-optimizer's ``EXAdam`` is version 2; the tests
    pin version 1 against it with its learning rate set to ``alpha_t`` every step.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, version=2):
        betas = check_betas(betas)
        eps = check_nonneg(eps, "eps")
        version = check_choice(version, "version", (1, 2))
        super().__init__(
            params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, version=version)
        )

    def _update(self, group):
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        for p, g in self._grads(group):
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
            if group["weight_decay"]:
                p.mul_(1 - group["lr"] * group["weight_decay"])
            state["step"] += 1
            t = state["step"]
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m.mul_(beta1).add_(g, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            m2 = m * m
            d1 = v.div(v + eps).mul_(beta2**t).add_(1)
            d2 = m2.div_(m2 + eps).mul_(beta1**t).add_(1)
            num = (m + g).mul_(d1).div_(1 - beta1**t)
            den = d2.mul_(v).div_(1 - beta2**t).sqrt_().add_(eps)
            alpha = group["lr"]
            if group["version"] == 1:
                alpha *= math.log(math.sqrt(2.0 * (t + 1)))
            p.addcdiv_(num, den, value=-alpha)
