"""Stiffness of residual-network features, block by block (the StepNet view).

A residual block ``x_{l+1} = x_l + h f_l(x_l)`` is one explicit Euler step of
``x' = f(x)`` with step ``h`` (usually 1).  Along that step Hairer's estimate of
:func:`stepsize.control.stiffness_estimate`,

    lambda_hat_l = ||f_l(x_{l+1}) - f_l(x_l)|| / ||x_{l+1} - x_l||,

needs one more evaluation of the residual branch, at the block's output, exactly as DOPRI5 uses
its last two stages.  ``h * lambda_hat_l`` above explicit Euler's stability limit 2 marks a
block whose features the Euler step cannot follow stably: the place where a stiffness-aware
step-size adaptor in the spirit of StepNet (self-attention as a step-size adaptor) would
shrink that block's step.
"""

import numpy as np
import torch

from stepsize.control import stiffness_estimate
from stepsize.optim._validate import check_positive


@torch.no_grad()
def residual_stiffness(branches, x, *, h=1.0):
    """``h * lambda_hat`` per block and per sample, shape ``(len(branches), batch)``.

    ``branches``: the residual branches ``f_l`` (callables/modules, output shaped like input);
    ``x``: the input features of the first block, ``(batch, ...)``.  The features are propagated
    ``x <- x + h f_l(x)`` through the blocks; a sample whose step is zero gets 0.
    """
    h = check_positive(h, "h")
    branches = list(branches)
    if not branches:
        raise ValueError("branches is empty")
    out = np.zeros((len(branches), x.shape[0]))
    for l, f in enumerate(branches):
        fx = f(x)
        if fx.shape != x.shape:
            raise ValueError(
                f"branch {l} maps shape {tuple(x.shape)} to {tuple(fx.shape)}; "
                "a residual branch must keep the shape"
            )
        x_next = x + h * fx
        f_next = f(x_next)
        a = x.reshape(x.shape[0], -1).double().cpu().numpy()
        b = x_next.reshape(x.shape[0], -1).double().cpu().numpy()
        fa = fx.reshape(x.shape[0], -1).double().cpu().numpy()
        fb = f_next.reshape(x.shape[0], -1).double().cpu().numpy()
        for i in range(x.shape[0]):
            out[l, i] = h * stiffness_estimate(fa[i], fb[i], a[i], b[i])
        x = x_next
    return out
