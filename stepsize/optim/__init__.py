"""Step-size control for training networks (torch).

* Optimizers (``torch.optim.Optimizer`` subclasses; the docstrings give each update rule and its
  source): :class:`DiffGrad` (Dubey et al. 2020), :class:`AdamP` and :class:`SGDP` (Heo et al.
  2021), :class:`EXAdam` (Adly 2024, versions 1 and 2), :class:`AdaGradNorm` (Ward et al. 2020).
* Adaptive batch sizes (Lau et al., AdAdaGrad): :func:`norm_test`, :func:`inner_product_test`,
  :func:`per_sample_gradients` and :class:`AdaptiveBatchSampler`, a ``DataLoader`` batch
  sampler for any optimizer.
* Learning rates: :class:`AutoLRS` (Jin et al. 2021: per-stage Bayesian optimisation of the
  exponential loss forecast), :func:`exponential_forecast`; :func:`scale_lr` (Granziol et al.
  2022: linear for SGD, square root for adaptive methods).
* Stiffness, shared with :func:`stepsize.control.stiffness_estimate`:
  :func:`top_hessian_eigenvalue`, :func:`hessian_vector_product`, :class:`SharpnessMonitor`
  (``gamma * lambda_max`` every k steps; 2 = the edge of stability) and
  :func:`residual_stiffness` (per residual block, the StepNet view).
"""

from stepsize.optim._adagradnorm import AdaGradNorm
from stepsize.optim._adamp import SGDP, AdamP, project_radial
from stepsize.optim._autolrs import AutoLRS, Stage, exponential_fit, exponential_forecast
from stepsize.optim._batch import (
    AdaptiveBatchSampler,
    BatchHistory,
    BatchTest,
    inner_product_test,
    norm_test,
    per_sample_gradients,
)
from stepsize.optim._diffgrad import DiffGrad
from stepsize.optim._exadam import EXAdam
from stepsize.optim._residual import residual_stiffness
from stepsize.optim._scaling import scale_lr, scaling_exponent
from stepsize.optim._sharpness import (
    Sharpness,
    SharpnessLog,
    SharpnessMonitor,
    hessian_vector_product,
    top_hessian_eigenvalue,
)

__all__ = [
    "AdaGradNorm",
    "AdamP",
    "AdaptiveBatchSampler",
    "AutoLRS",
    "BatchHistory",
    "BatchTest",
    "DiffGrad",
    "EXAdam",
    "SGDP",
    "Sharpness",
    "SharpnessLog",
    "SharpnessMonitor",
    "Stage",
    "exponential_fit",
    "exponential_forecast",
    "hessian_vector_product",
    "inner_product_test",
    "norm_test",
    "per_sample_gradients",
    "project_radial",
    "residual_stiffness",
    "scale_lr",
    "scaling_exponent",
    "top_hessian_eigenvalue",
]
