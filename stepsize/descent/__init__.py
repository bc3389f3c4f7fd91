"""Gradient descent with large step sizes on separable data (Tyurin 2024, arXiv 2412.08424).

Logistic regression with gradient descent (LR+GD) separates linearly separable data for every
step size; as ``gamma -> infinity`` its iterates ``theta_t / gamma`` follow the Batch Perceptron,
the logistic loss and gradient norm stop measuring progress, and Normalized LR+GD separates within
``R^2/mu^2 + 2 log(2n - 1)/(gamma mu^2)`` iterations.

* :func:`gd` -- LR+GD with step rules "constant", "normalized", "polyak", "armijo".
* :func:`perceptron` -- Batch Perceptron and Normalized Batch Perceptron.
* :class:`DescentResult` -- per-iteration iterates, loss, gradient norm, accuracy, margin, step,
  stiffness estimate ``gamma * lambda_hat`` and (optionally) sharpness.
* Data: :func:`separable` (exact margin), :func:`two_point` (Thm 4.1), :func:`worst_case`
  (Thm 5.1), :func:`digits` (scikit-learn's bundled digits), :func:`load_dataset`.
* Sharpness and loss helpers: :func:`logistic_loss`, :func:`logistic_gradient`,
  :func:`hessian`, :func:`hessian_vector_product`, :func:`top_hessian_eigenvalue`,
  :func:`sharpness_along`; :func:`max_margin` certifies ``mu``.
* :func:`sweep` -- all four methods over a grid of step sizes (Table 1 of the paper).
"""

from stepsize.descent._data import (
    DATASET_NAMES,
    Dataset,
    digits,
    load_dataset,
    separable,
    two_point,
    worst_case,
)
from stepsize.descent._gd import gd
from stepsize.descent._margin import MarginCertificate, max_margin
from stepsize.descent._perceptron import perceptron
from stepsize.descent._result import DescentResult
from stepsize.descent._sharpness import (
    hessian,
    hessian_vector_product,
    logistic_gradient,
    logistic_loss,
    logistic_loss_and_gradient,
    sharpness_along,
    top_hessian_eigenvalue,
)
from stepsize.descent._sweep import Sweep, sweep
from stepsize.descent._validate import RULES

__all__ = [
    "DATASET_NAMES",
    "RULES",
    "Dataset",
    "DescentResult",
    "MarginCertificate",
    "Sweep",
    "digits",
    "gd",
    "hessian",
    "hessian_vector_product",
    "load_dataset",
    "logistic_gradient",
    "logistic_loss",
    "logistic_loss_and_gradient",
    "max_margin",
    "perceptron",
    "separable",
    "sharpness_along",
    "sweep",
    "top_hessian_eigenvalue",
    "two_point",
    "worst_case",
]
