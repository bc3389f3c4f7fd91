"""``stepsize/LearningRate-v0``: choose the step size of LR+GD at every iteration.

The agent runs gradient descent on the logistic loss of a separable data set (Tyurin 2024,
eq. 2-3) from ``theta_0 = 0`` and picks ``gamma_t`` before each step
``theta_{t+1} = theta_t - gamma_t grad f(theta_t)``.  The episode ends when the data are
separated (terminated) or after ``max_steps`` steps (truncated).

Actions: ``Discrete(len(gammas))`` over a log grid (default ``10^-2 .. 10^3``, 6 values), or with
``continuous=True`` a ``Box([-1, 1])`` mapped linearly onto ``log10 gamma`` in
``log10_gamma_range``.  ``step`` raises ValueError for an action outside the space (an index out
of range, NaN, a value outside ``[-1, 1]``).

Observation (float32, 7 entries):
    0  log10 f(theta_t)                    (clipped to [-30, 30])
    1  log10 ||grad f(theta_t)||           (clipped to [-30, 30])
    2  margin min_i y_i a_i^T theta / (||theta|| R)  in [-1, 1] (0 at theta = 0)
    3  accuracy: fraction with y_i a_i^T theta > 0
    4  log10 gamma_{t-1}                   (0 before the first step)
    5  log10(gamma_{t-1} lambda_hat / 2): 0 is the edge of stability, with lambda_hat the
       stiffness estimate of :func:`stepsize.control.stiffness_estimate` (0 before the first
       step; clipped to [-30, 30])
    6  t / max_steps

Reward: ``(accuracy_{t+1} - accuracy_t) - step_cost`` (``step_cost = 1/max_steps`` by default).
Accuracy is 0 at ``theta_0 = 0``, so the return of an episode that separates after ``T`` steps is
``1 - step_cost * T``: progress to separation against iterations.

Data: by default a fresh :func:`stepsize.descent.separable` set per episode (``n``, ``d``,
``margin``, seeded from the environment's generator, so ``reset(seed=s)`` is reproducible), or a
fixed set given as a :class:`stepsize.descent.Dataset` or an ``(A, y)`` pair.
"""

import gymnasium as gym
import numpy as np

from envs._action import check_action
from envs._args import positive_grid, positive_int, positive_real
from stepsize.control import stiffness_estimate
from stepsize.descent import Dataset, logistic_loss_and_gradient, separable

_CLIP = 30.0


class LearningRateEnv(gym.Env):
    """Pick gamma for each step of logistic-regression gradient descent."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        data=None,
        *,
        n=64,
        d=8,
        margin=0.05,
        gammas=None,
        continuous=False,
        log10_gamma_range=(-2.0, 3.0),
        max_steps=100,
        step_cost=None,
    ):
        if data is not None and not isinstance(data, Dataset):
            A, y = data
            data = Dataset("custom", np.asarray(A, dtype=float), np.asarray(y, dtype=float))
        self.data = data
        self.n, self.d = positive_int(n, "n", low=2), positive_int(d, "d")
        self.margin = positive_real(margin, "margin")
        self.max_steps = positive_int(max_steps, "max_steps")
        self.step_cost = (
            1.0 / self.max_steps
            if step_cost is None
            else positive_real(step_cost, "step_cost", True)
        )
        low, high = (float(v) for v in log10_gamma_range)
        if not low < high:
            raise ValueError(f"log10_gamma_range must be increasing, got {log10_gamma_range}")
        self.continuous = bool(continuous)
        if self.continuous:
            self.log10_range = (low, high)
            self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        else:
            grid = np.logspace(low, high, 6) if gammas is None else positive_grid(gammas, "gammas")
            self.gammas = grid
            self.action_space = gym.spaces.Discrete(grid.size)
        bound = np.array([_CLIP, _CLIP, 1.0, 1.0, _CLIP, _CLIP, 1.0], dtype=np.float32)
        self.observation_space = gym.spaces.Box(-bound, bound, dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if self.data is None:
            draw = int(self.np_random.integers(2**31 - 1))
            self._ds = separable(self.n, self.d, self.margin, seed=draw)
        else:
            self._ds = self.data
        self._R = self._ds.R
        self._theta = np.zeros(self._ds.d)
        self._loss, self._grad = logistic_loss_and_gradient(self._ds.A, self._ds.y, self._theta)
        self._acc = 0.0
        self._t = 0
        self._log_gamma = 0.0
        self._edge = 0.0
        return self._observation(), self._info(False)

    def step(self, action):
        if not hasattr(self, "_theta"):
            raise RuntimeError("call reset() before step()")
        gamma = self._gamma(action)
        new = self._theta - gamma * self._grad
        loss, grad = logistic_loss_and_gradient(self._ds.A, self._ds.y, new)
        lam = stiffness_estimate(-self._grad, -grad, self._theta, new)
        self._theta, self._loss, self._grad = new, loss, grad
        z = self._ds.y * (self._ds.A @ new)
        acc = float(np.mean(z > 0))
        reward = acc - self._acc - self.step_cost
        self._acc = acc
        self._t += 1
        self._log_gamma = float(np.log10(gamma))
        self._edge = float(np.log10(max(gamma * lam / 2.0, 10.0**-_CLIP)))
        separated = acc == 1.0
        truncated = not separated and self._t >= self.max_steps
        return self._observation(), float(reward), separated, truncated, self._info(separated)

    def _gamma(self, action):
        a = check_action(self.action_space, action)
        if self.continuous:
            low, high = self.log10_range
            return float(10.0 ** (low + 0.5 * (float(a[0]) + 1.0) * (high - low)))
        return float(self.gammas[a])

    def _observation(self):
        norm = np.linalg.norm(self._theta)
        z = self._ds.y * (self._ds.A @ self._theta)
        margin = float(z.min() / (norm * self._R)) if norm > 0 else 0.0
        obs = np.array(
            [
                _log10(self._loss),
                _log10(np.linalg.norm(self._grad)),
                margin,
                self._acc,
                self._log_gamma,
                self._edge,
                self._t / self.max_steps,
            ]
        )
        return np.clip(obs, self.observation_space.low, self.observation_space.high).astype(
            np.float32
        )

    def _info(self, separated):
        return {
            "iterations": self._t,
            "loss": float(self._loss),
            "accuracy": self._acc,
            "separated": separated,
            "gamma": 10.0**self._log_gamma if self._t else None,
        }


def _log10(x):
    return float(np.clip(np.log10(max(x, 10.0**-_CLIP)), -_CLIP, _CLIP))
