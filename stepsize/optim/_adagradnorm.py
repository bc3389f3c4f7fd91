"""AdaGrad-Norm: one adaptive step size from the running sum of squared gradient norms."""

import torch

from stepsize.optim._base import _Optimizer
from stepsize.optim._validate import check_positive


class AdaGradNorm(_Optimizer):
    r"""AdaGrad-Norm (Ward, Wu & Bottou, "AdaGrad stepsizes: sharp convergence over nonconvex
    landscapes", JMLR 2020, arXiv 1806.01811; the base method of Lau et al.'s AdAdaGrad-Norm).

    ::

        g_t   <- g_t + weight_decay * theta_{t-1}         (L2 penalty, as torch.optim.Adagrad)
        b_t^2  = b_{t-1}^2 + ||g_t||^2                     (one scalar per parameter group)
        theta_t = theta_{t-1} - lr g_t / b_t

    ``b0`` is ``b_0`` (``b_0^2 = 1e-2`` by default, the initial accumulator of Lau et al.'s
    code).  Converges for every ``lr > 0`` on smooth problems (Ward et al., Thm 2.1): the step
    ``lr / b_t`` settles below ``2 / L`` by itself.  The accumulator lives in the state of the
    group's first parameter, so ``state_dict`` round trips carry it.
    """

    def __init__(self, params, lr=1.0, b0=0.1, weight_decay=0.0):
        b0 = check_positive(b0, "b0")
        super().__init__(params, dict(lr=lr, b0=b0, weight_decay=weight_decay))

    def _update(self, group):
        pairs = []
        for p, g in self._grads(group):
            if group["weight_decay"]:
                g = g.add(p, alpha=group["weight_decay"])
            pairs.append((p, g))
        if not pairs:
            return
        state = self.state[group["params"][0]]
        if "sum_sq" not in state:
            state["sum_sq"] = torch.tensor(group["b0"] ** 2, dtype=torch.float64)
            state["step"] = 0
        state["step"] += 1
        norm_sq = sum(float(torch.sum(g.double() * g.double())) for _, g in pairs)
        state["sum_sq"] += norm_sq
        b = float(state["sum_sq"].sqrt())
        for p, g in pairs:
            p.add_(g, alpha=-group["lr"] / b)
