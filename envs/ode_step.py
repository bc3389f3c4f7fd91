"""``stepsize/ODEStep-v0``: choose the step size (or the tolerance) of an ODE integration.

After Dellnitz, Hüllermeier, Lücke, Ober-Blöbaum, Offen, Peitz & Pfannschmidt, "Efficient time
stepping for numerical integration using reinforcement learning" (SIAM J. Sci. Comput. 45(2),
2023; arXiv 2104.03562; code github.com/lueckem/quadrature-ML): the agent picks the next step
from a discrete set, the reward pays log(step) while the local error stays below a tolerance
and log10(tol / error) when it does not.  Any :mod:`stepsize.ode.problems` problem (a name or a
:class:`~stepsize.ode.problems.Problem`) from ``t_span[0]`` to ``t_span[1]``.

Actions (``Discrete(len(values))``):
    * ``action="step"`` (the paper's): one step of size h = ``values[a]`` of the explicit pair
      ``method`` (default "dp5"); ``values`` defaults to ``T * logspace(-4, -1, 10)``,
      T = t_span[1] - t_span[0];
    * ``action="rtol"``: the adaptive solver :func:`stepsize.ode.solve` (``method``, PI control)
      runs over the next of ``n_intervals`` equal intervals with rtol = ``values[a]`` (default
      ``logspace(-12, -3, 10)``) and atol = rtol * ``problem.atol_ratio``.

Observation (float32, n + 4 entries for a system of n equations):
    0 .. n-1   y(t)
    n          log10 h_bar of the last env step (h; for "rtol" the mean step T_k (s - 1) / nfev_k
               of the interval); log10 of the smallest step of ``step_range`` at reset
    n + 1      "step": log10(err_est / tol), err_est the pair's embedded estimate of the last
               step in the mixed norm below; "rtol": log10(1 + nfev of the last interval);
               0 at reset
    n + 2      log10 ||f(t, y)||_2 (clipped to [-30, 30])
    n + 3      (t - t_span[0]) / T

Reward (Dellnitz et al.'s ``RewardLog10``), with e the local error of the env step: the mixed
norm max_i |y_i - phi_i| / (atol_ratio + |phi_i|) against phi, the exact flow from the same
(t, y) (a ``reference_method`` solve at ``reference_rtol`` = 1e-13):
    e <= tol:  r = 0.1 + 1.9 log(h_bar / h_lo) / log(h_hi / h_lo), clipped to [0.1, 2]
               (a log map through (h_lo, 0.1) and (h_hi, 2); (h_lo, h_hi) = ``step_range``,
               by default the smallest and largest step of the "step" grid);
    e > tol:   r = log10(tol / e), at least -10 (a decade over the tolerance costs 1; also the
               value for a non-finite state or a failed solve).
The mean step h_bar = T_k (s - 1) / nfev_k is the time advanced per function evaluation times the
evaluations of one step (s - 1 for an s-stage first-same-as-last pair), so both action kinds are
paid for accuracy per unit of work.

Episode: "step" runs a fixed number of steps, as the paper's (truncated after ``max_steps``;
the integration goes on past ``t_span[1]`` if it gets there: ending at a fixed time would pay
an agent for taking more, smaller steps); "rtol" ends at ``t_span[1]`` after ``n_intervals``
steps (terminated).  A failure (non-finite values or a failed solve) terminates either.
``perturbation`` > 0 multiplies y0 by 1 + perturbation * N(0, 1) drawn from the environment's
generator at each reset (default 0: the problem as published).  ``info``: ``t``, ``h`` (h_bar),
``error`` (e), ``nfev`` (function evaluations so far, the reference solves not counted),
``steps`` (env steps).
"""

import math

import gymnasium as gym
import numpy as np

from envs._action import check_action
from envs._args import positive_grid, positive_int, positive_real
from stepsize.ode import TABLEAUX, problems, solve

ACTIONS = ("step", "rtol")
RTOLS = np.logspace(-12.0, -3.0, 10)
_CLIP = 30.0
_WORST = -10.0


def dellnitz_reward(error, h_bar, tol, step_range):
    """``RewardLog10`` of Dellnitz et al.: the log map of h_bar onto [0.1, 2] if error <= tol,
    else log10(tol / error) (at least -10)."""
    if not error <= tol:
        return max(math.log10(tol / error), _WORST) if math.isfinite(error) else _WORST
    lo, hi = step_range
    x = math.log(h_bar / lo) / math.log(hi / lo)
    return float(np.clip(0.1 + 1.9 * x, 0.1, 2.0))


def mixed_error(y, ref, atol_ratio):
    """max_i |y_i - ref_i| / (atol_ratio + |ref_i|)."""
    return float(np.max(np.abs(y - ref) / (atol_ratio + np.abs(ref))))


class ODEStepEnv(gym.Env):
    """Pick the next step size (or the tolerance of the next interval) of an ODE solve."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        problem="arenstorf",
        *,
        action="step",
        method="dp5",
        values=None,
        tol=1e-6,
        step_range=None,
        n_intervals=50,
        max_steps=200,
        perturbation=0.0,
        reference_method=None,
        reference_rtol=1e-13,
    ):
        self.problem = problems.get(problem) if isinstance(problem, str) else problem
        if not isinstance(self.problem, problems.Problem):
            raise TypeError(f"problem must be a name or a Problem, got {type(problem).__name__}")
        if action not in ACTIONS:
            raise ValueError(f"action: unknown {action!r}; known: {', '.join(ACTIONS)}")
        if method not in TABLEAUX:
            raise ValueError(f"method: unknown {method!r}; known: {', '.join(TABLEAUX)}")
        t0, t1 = self.problem.t_span
        span = t1 - t0
        if values is None:
            values = span * np.logspace(-4, -1, 10) if action == "step" else RTOLS
        grid = positive_grid(values)
        if step_range is None:
            step_range = (grid.min(), grid.max()) if action == "step" else (span * 1e-4, span / 10)
        lo, hi = (float(v) for v in step_range)
        if not 0 < lo < hi:
            raise ValueError(f"step_range must be (low, high), 0 < low < high, got {step_range}")
        tol = positive_real(tol, "tol")
        reference_rtol = positive_real(reference_rtol, "reference_rtol")
        max_steps = positive_int(max_steps, "max_steps")
        n_intervals = positive_int(n_intervals, "n_intervals")
        perturbation = positive_real(perturbation, "perturbation", zero=True)
        self.kind, self.method, self.values = action, method, grid
        self.tableau = TABLEAUX[method]
        self.tol, self.step_range = float(tol), (lo, hi)
        self._ends = np.linspace(t0, t1, int(n_intervals) + 1)
        self.max_steps, self.perturbation = int(max_steps), float(perturbation)
        self.reference_method = reference_method or ("radau" if self.problem.stiff else "dop853")
        self.reference_rtol = float(reference_rtol)
        self.action_space = gym.spaces.Discrete(grid.size)
        size = self.problem.y0.size + 4
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)
        self._y = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        p = self.problem
        y0 = p.y0.copy()
        if self.perturbation > 0:
            y0 *= 1.0 + self.perturbation * self.np_random.standard_normal(y0.size)
        self._t, self._y = p.t_span[0], y0
        self._f = np.asarray(p.fun(self._t, y0, *p.args), dtype=float)
        self._h, self._second, self._error = self.step_range[0], 0.0, 0.0
        self._nfev, self._steps = 1, 0
        return self._observation(), self._info()

    def step(self, action):
        if self._y is None:
            raise RuntimeError("call reset() before step()")
        value = float(self.values[check_action(self.action_space, action)])
        t, y = self._t, self._y
        if self.kind == "step":
            span, t_new = value, t + value
            y_new, f_new, estimate, nfev = self._rk_step(t, y, span)
            self._second = _log10(estimate / self.tol)
            ok = bool(np.all(np.isfinite(y_new)))
        else:
            t_new = float(self._ends[self._steps + 1])
            span = t_new - t
            y_new, f_new, nfev, ok = self._solve_interval(t, y, span, value)
            self._second = math.log10(1.0 + nfev)
        self._steps += 1
        self._nfev += nfev
        self._h = span * (self.tableau.n_stages - 1) / max(nfev, 1)
        error = self._local_error(t, y, span, y_new) if ok else math.inf
        reward = dellnitz_reward(error, self._h, self.tol, self.step_range)
        self._t, self._y, self._f, self._error = t_new, y_new, f_new, error
        terminated = not ok or (self.kind == "rtol" and self._steps == self._ends.size - 1)
        truncated = not terminated and self._steps >= self.max_steps
        return self._observation(), reward, terminated, truncated, self._info()

    def _rk_step(self, t, y, h):
        """One step of the explicit pair: (y_new, f(t + h, y_new), mixed embedded estimate,
        function evaluations)."""
        tab, p = self.tableau, self.problem
        k = np.empty((tab.n_stages, y.size))
        k[0] = self._f
        for i in range(1, tab.n_stages):
            stage = y + h * (tab.A[i, :i] @ k[:i])
            k[i] = p.fun(t + tab.c[i] * h, stage, *p.args)
        y_new = y + h * (tab.A[-1, :-1] @ k[:-1])
        estimate = float(np.max(np.abs(h * (tab.e @ k)) / (p.atol_ratio + np.abs(y_new))))
        return y_new, k[-1], estimate, tab.n_stages - 1

    def _solve_interval(self, t, y, span, rtol):
        p = self.problem
        r = solve(
            p.fun,
            (t, t + span),
            y,
            method=self.method,
            rtol=rtol,
            atol=rtol * p.atol_ratio,
            args=p.args,
        )
        y_new = r.y[:, -1]
        ok = r.success and bool(np.all(np.isfinite(y_new)))
        f_new = np.asarray(p.fun(t + span, y_new, *p.args), dtype=float) if ok else self._f
        return y_new, f_new, int(r.nfev), ok

    def _local_error(self, t, y, span, y_new):
        p = self.problem
        ref = solve(
            p.fun,
            (t, t + span),
            y,
            method=self.reference_method,
            rtol=self.reference_rtol,
            atol=self.reference_rtol * p.atol_ratio,
            args=p.args,
        )
        return mixed_error(y_new, ref.y[:, -1], p.atol_ratio)

    def _observation(self):
        t0, t1 = self.problem.t_span
        extra = [
            math.log10(self._h),
            self._second,
            _log10(float(np.linalg.norm(self._f))),
            (self._t - t0) / (t1 - t0),
        ]
        return np.concatenate([self._y, extra]).astype(np.float32)

    def _info(self):
        return {
            "t": self._t,
            "h": self._h,
            "error": self._error,
            "nfev": self._nfev,
            "steps": self._steps,
        }


def _log10(x):
    return float(np.clip(math.log10(x), -_CLIP, _CLIP)) if x > 0 else -_CLIP
