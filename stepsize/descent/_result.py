"""The result of one run of gradient descent or of a perceptron."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class DescentResult:
    """Per-iteration record of a run; index ``t`` refers to the iterate ``theta_t``.

    Attributes
    ----------
    thetas : (T + 1, d) iterates, ``thetas[0] = theta0`` (zero by default).
    loss, grad_norm : (T + 1,) logistic loss ``f(theta_t)`` and ``||grad f(theta_t)||``.
    accuracy : (T + 1,) fraction of samples with ``y_i a_i^T theta_t > 0``.
    margin : (T + 1,) ``min_i y_i a_i^T theta_t / ||theta_t||`` (NaN at ``theta = 0``); positive
        exactly when ``theta_t`` separates the data.
    step : (T,) effective step ``h_t`` of ``theta_{t+1} = theta_t - h_t grad f(theta_t)``
        (``gamma``, ``gamma * beta_t``, Polyak's or Armijo's step).  For a perceptron: the
        coefficient of ``sum_{i in S_t} y_i a_i`` (``1/(2n)`` first, then ``1/n`` or ``1/|S_t|``).
    stiffness : (T,) ``lambda_hat_t = ||grad f(theta_{t+1}) - grad f(theta_t)|| /
        ||theta_{t+1} - theta_t||`` from :func:`stepsize.control.stiffness_estimate` (NaN for a
        perceptron).
    gamma_lambda : (T,) ``h_t * lambda_hat_t``; 2 is the edge of stability (explicit Euler on
        gradient flow).
    sharpness : (T + 1,) ``lambda_max(Hessian(theta_t))`` by power iteration, or None when not
        requested.
    iterations_to_separate : first ``t`` with accuracy 1, or None if never.
    success : True when the data were separated; False otherwise (see ``message``).
    message : why the run stopped.
    stats : method, rule, gamma, n, d, R, counts (gradient and loss evaluations, backtracks).
    """

    thetas: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    accuracy: np.ndarray
    margin: np.ndarray
    step: np.ndarray
    stiffness: np.ndarray
    gamma_lambda: np.ndarray
    iterations_to_separate: int | None
    success: bool
    message: str
    sharpness: np.ndarray | None = None
    stats: dict = field(default_factory=dict)

    @property
    def iterations(self) -> int:
        """Number of steps taken, ``T``."""
        return self.thetas.shape[0] - 1

    @property
    def gamma_lambda_max(self) -> np.ndarray | None:
        """``h_t * lambda_max(theta_t)``: where each step sits relative to the edge (2).

        NaN where ``h_t`` overflowed (Normalized LR+GD far past separation) and the curvature
        underflowed.
        """
        if self.sharpness is None:
            return None
        with np.errstate(invalid="ignore"):
            return self.step * self.sharpness[:-1]
