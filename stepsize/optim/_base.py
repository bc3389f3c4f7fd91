"""What every optimizer here shares: closure handling and the gradient sign convention."""

import torch

from stepsize.optim._validate import check_nonneg


class _Optimizer(torch.optim.Optimizer):
    """``torch.optim.Optimizer`` with the closure protocol of ``torch.optim.Adam``.

    Subclasses implement ``_update(group)``, called under ``torch.no_grad()`` for each parameter
    group after the closure (if any) has recomputed the gradients.
    """

    def __init__(self, params, defaults):
        check_nonneg(defaults["lr"], "lr")
        check_nonneg(defaults.get("weight_decay", 0.0), "weight_decay")
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One update; ``closure`` (optional) re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update(group)
        return loss

    def _update(self, group):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _grads(group):
        """``(p, g)`` for the parameters of ``group`` that have a dense gradient."""
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.grad.is_sparse:
                raise RuntimeError("sparse gradients are not supported")
            yield p, p.grad
