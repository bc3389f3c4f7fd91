"""AutoLRS: a learning rate per training stage, found on the fly by Bayesian optimisation.

Jin, Zhou, Zhao, Zhu, Guo, Canini & Krishnamurthy, "AutoLRS: Automatic Learning-Rate Schedule by
Bayesian Optimization on the Fly", ICLR 2021 (arXiv 2105.10762; code YuchenJin/autolrs).

Each stage of ``tau`` steps gets one constant learning rate.  To choose it, ``n_candidates``
learning rates (10 in the paper) are each trained for ``tau' = tau / 10`` steps from the same
checkpoint; the loss series of each is fitted by the exponential model
``L(t) = a exp(b t) + c`` (``b < 0``) and extrapolated to ``t = tau``; a Gaussian process on
``log lr`` with the lower-confidence-bound acquisition proposes the next candidate.  The best
forecast wins: the checkpoint is restored and the stage trains ``tau`` steps with it.  Then
``tau`` and ``tau'`` double until ``tau'`` reaches ``tau_max / 10`` (the authors' server:
``tau' = 100``, ``tau = 1000``, ``tau_max = 8000``, LCB ``kappa = 1e6``).
"""

import copy
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from stepsize.optim._gp import lcb_next
from stepsize.optim._validate import check_count, check_nonneg, check_positive


def exponential_fit(losses, *, nonnegative=True):
    """``(a, b, c)`` of the least-squares fit ``losses[t] ~ a exp(b t) + c``, ``b < 0``.

    Variable projection: for each rate ``b = -exp(s)`` the linear parameters ``(a, c)`` solve
    a 2-column least-squares problem; ``s`` minimises its residual (bounded scalar search over
    decay times from a tenth of a step to 100 times the series length).  ``nonnegative``: the
    asymptote ``c`` of a loss is kept ``>= 0`` (refit with ``c = 0`` where the free fit goes
    below), so a short noisy series cannot forecast a negative loss.
    """
    y = np.asarray(losses, dtype=np.float64)
    if y.ndim != 1 or y.size < 3:
        raise ValueError(f"losses must be a 1-D series of at least 3 values, got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("losses contain NaN or inf")
    t = np.arange(y.size, dtype=np.float64)

    def solve(s):
        e = np.exp(-np.exp(s) * t)
        A = np.stack([e, np.ones_like(t)], axis=1)
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        if nonnegative and coef[1] < 0:
            coef = np.array([float(e @ y) / float(e @ e), 0.0])
        return coef, float(np.sum((A @ coef - y) ** 2))

    lo, hi = math.log(1.0 / (100.0 * y.size)), math.log(10.0)
    s = minimize_scalar(
        lambda s: solve(s)[1], bounds=(lo, hi), method="bounded", options={"xatol": 1e-6}
    ).x
    (a, c), _ = solve(s)
    return float(a), float(-math.exp(s)), float(c)


def exponential_forecast(losses, horizon):
    """The fitted model of :func:`exponential_fit` evaluated at step ``horizon``."""
    a, b, c = exponential_fit(losses)
    return a * math.exp(b * horizon) + c


@dataclass
class Stage:
    """One AutoLRS stage: candidates tried, their forecasts, the winner and ``tau``."""

    tau: int
    candidates: list = field(default_factory=list)
    forecasts: list = field(default_factory=list)
    lr: float = float("nan")


class AutoLRS:
    """The AutoLRS scheduler: call :meth:`step(loss)` after every ``optimizer.step()``.

    ``model`` and ``optimizer`` are checkpointed at the start of each stage and restored after
    each candidate (the data stream is not rewound, as in the paper).  The learning rate of
    every parameter group is set to the chosen value.  ``min_lr``/``max_lr`` bound the log-uniform
    search space.  ``history`` lists the :class:`Stage` records; ``search_steps`` and
    ``train_steps`` count the optimizer steps spent searching and training.
    """

    def __init__(
        self,
        optimizer,
        model,
        min_lr,
        max_lr,
        *,
        tau=100,
        n_candidates=10,
        tau_max=8000,
        kappa=1e6,
        grid=1000,
        seed=0,
    ):
        self.min_lr = check_positive(min_lr, "min_lr")
        self.max_lr = check_positive(max_lr, "max_lr")
        if self.max_lr <= self.min_lr:
            raise ValueError(f"max_lr ({max_lr}) must be > min_lr ({min_lr})")
        self.tau = check_count(tau, "tau", 10)
        self.n_candidates = check_count(n_candidates, "n_candidates", 2)
        self.tau_max = check_count(tau_max, "tau_max", self.tau)
        self.kappa = check_nonneg(kappa, "kappa")
        self.grid = np.linspace(0.0, 1.0, check_count(grid, "grid", 10))
        self.optimizer, self.model = optimizer, model
        self.rng = np.random.default_rng(seed)
        self.history = []
        self.search_steps = 0
        self.train_steps = 0
        self._begin_stage()

    # log-lr <-> [0, 1]
    def _to_lr(self, u):
        return math.exp(math.log(self.min_lr) + u * (math.log(self.max_lr) - math.log(self.min_lr)))

    @property
    def searching(self):
        """True while candidates are tried (the model is restored afterwards)."""
        return self._searching

    @property
    def lr(self):
        return float(self.optimizer.param_groups[0]["lr"])

    def _set_lr(self, lr):
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def _checkpoint(self):
        self._saved = (
            copy.deepcopy(self.model.state_dict()),
            copy.deepcopy(self.optimizer.state_dict()),
        )

    def _restore(self):
        self.model.load_state_dict(self._saved[0])
        self.optimizer.load_state_dict(copy.deepcopy(self._saved[1]))

    def _begin_stage(self):
        self._checkpoint()
        self.history.append(Stage(self.tau))
        self._searching, self._count, self._losses, self._u = True, 0, [], []
        self._start_loss = None
        self._try(float(self.rng.uniform()))

    def _try(self, u):
        self._u.append(u)
        self.history[-1].candidates.append(self._to_lr(u))
        self._set_lr(self._to_lr(u))
        self._losses, self._count = [], 0

    def step(self, loss):
        """Record the training loss of the step just taken (the forward pass before
        ``optimizer.step()``); may restore the checkpoint and change the learning rate."""
        loss = float(loss)
        self._count += 1
        if not self._searching:
            self.train_steps += 1
            if self._count >= self.tau:
                if self.tau // 10 < self.tau_max // 10:
                    self.tau *= 2
                self._begin_stage()
            return
        self.search_steps += 1
        self._losses.append(loss if math.isfinite(loss) else math.inf)
        if self._count < max(3, self.tau // 10):
            return
        stage = self.history[-1]
        if all(math.isfinite(v) for v in self._losses):
            forecast = exponential_forecast(self._losses, self.tau)
        else:
            forecast = math.inf
        stage.forecasts.append(forecast)
        self._restore()
        if self._start_loss is None:
            self._start_loss = self._losses[0]
        if len(stage.forecasts) < self.n_candidates:
            # A forecast above the stage's starting loss (or none: the run diverged) is no
            # better than not training: clip it there, so one blow-up cannot flatten the GP.
            f = np.minimum(np.nan_to_num(stage.forecasts, nan=np.inf), self._start_loss)
            self._try(lcb_next(self._u, f, self.kappa, self.grid))
            return
        best = int(np.argmin(stage.forecasts))
        stage.lr = stage.candidates[best]
        self._set_lr(stage.lr)
        self._searching, self._count = False, 0
