"""A trained ThreeBody-v0 policy as an online controller for ``stepsize.nbody.integrate``.

``integrate(system, t_end, method, save_every=0.1, controller=ctrl, ...)`` calls the controller at
the end of every 0.1 yr interval with a :class:`stepsize.nbody.ControlInfo`; the controller
builds the observation the policy was trained on (:func:`envs.three_body.observe`), asks the
model for an action and returns the parameter value of that action for the next interval.
``ctrl.run(system, t_end)`` does all of it, the first interval's value included (the policy's
action on the observation at t = 0, as the environment's first step), so a run through the
controller retraces an environment episode exactly.

Transfer (Saz Ulibarrena & Portegies Zwart 2025 apply the Hermite-trained network to other
integrators "without retraining") goes by action index: action a selects ``values[a]`` of the
target method's own grid (:func:`envs._parameters.default_values`: eta for leapfrog, epsilon
for gr15, rtol = logspace(-13, -4, 10) for gbs and the Runge-Kutta methods); a continuous
action maps linearly onto log10 of that grid's range.  A three-body policy steers an
N > 3 body run by watching the most tightly interacting triple: the closest pair and the body
nearest to that pair's centre of mass, in the frame of the whole system's centre of mass.
"""

import gymnasium as gym
import numpy as np

from envs._parameters import default_values, parameter_of
from envs.three_body import extended_features, observe
from stepsize.nbody import System, integrate


def interacting_triple(system):
    """The closest pair and the body nearest to its centre of mass, as a System of three (in the
    centre-of-mass frame of the whole system)."""
    system = system.to_com_frame()
    i, j, _ = system.closest_pair()
    m, x = system.masses, system.positions
    pair_com = (m[i] * x[i] + m[j] * x[j]) / (m[i] + m[j])
    dist = np.linalg.norm(x - pair_com, axis=1)
    dist[[i, j]] = np.inf
    keep = sorted((i, j, int(np.argmin(dist))))
    return System(m[keep], x[keep], system.velocities[keep], system.G)


class PolicyController:
    """Steer ``stepsize.nbody.integrate`` with a trained ThreeBody-v0 policy.

    Parameters
    ----------
    model : a stable-baselines3 model trained on ``stepsize/ThreeBody-v0``.
    method : the integrator it steers (any of :func:`stepsize.nbody.methods`).
    values : the parameter value of each action (default: ``default_values(method)``); for a
        continuous policy the log10 range between their smallest and largest.
    observation : the observation kind the policy was trained on, "paper" or "extended".
    interval : the time between decisions (0.1 yr, the environment's).
    deterministic : greedy actions (default) or samples from the policy.

    ``actions`` lists the actions of the current run.
    """

    def __init__(
        self,
        model,
        *,
        method="hermite4",
        values=None,
        observation="paper",
        interval=0.1,
        deterministic=True,
    ):
        if observation not in ("paper", "extended"):
            raise ValueError(f"observation: unknown {observation!r}; known: paper, extended")
        size = model.observation_space.shape[0] - 1 - (4 if observation == "extended" else 0)
        if size < 12 or size % 4:
            raise ValueError(
                f"model: observations of size {model.observation_space.shape[0]} do not fit "
                f"observation={observation!r} of a ThreeBody-v0 policy"
            )
        self.model, self.method = model, method
        self.n_bodies = size // 4
        self.values = default_values(method) if values is None else np.asarray(values, float)
        self.continuous = isinstance(model.action_space, gym.spaces.Box)
        if not self.continuous and model.action_space.n != self.values.size:
            raise ValueError(
                f"values: the policy has {model.action_space.n} actions, got {self.values.size}"
            )
        self.parameter = parameter_of(method)
        self.observation, self.interval = observation, float(interval)
        self.deterministic = deterministic
        self.actions = []
        self._steps = 0

    def initial_value(self, system):
        """Start a new run: the value for the first interval, from the observation at t = 0."""
        self.actions, self._steps = [], 0
        return self._decide(system, None, 0, self.values[0], 0)

    def __call__(self, info):
        if info.parameter != self.parameter:
            raise ValueError(
                f"the policy sets {self.parameter!r}; this run is controlled by {info.parameter!r}"
            )
        steps = info.steps - self._steps
        self._steps = info.steps
        return self._decide(info.system, info.energy_error, steps, info.value, info.interval + 1)

    def run(self, system, t_end, **options):
        """``integrate(system, t_end, method, save_every=interval, controller=self, ...)``."""
        first = self.initial_value(system)
        return integrate(
            system,
            t_end,
            self.method,
            save_every=self.interval,
            controller=self,
            **{self.parameter: first},
            **options,
        )

    def _decide(self, system, energy_error, steps, value, t):
        if system.n_bodies < self.n_bodies:
            raise ValueError(f"the policy needs {self.n_bodies} bodies, got {system.n_bodies}")
        if system.n_bodies > self.n_bodies:
            if self.n_bodies != 3:
                raise ValueError(f"the policy needs {self.n_bodies} bodies, got {system.n_bodies}")
            system = interacting_triple(system)
        extras = None
        if self.observation == "extended":
            extras = extended_features(system, self.interval, steps, value, t)
        obs = observe(system, energy_error, extras)
        action, _ = self.model.predict(obs, deterministic=self.deterministic)
        action = np.asarray(action).reshape(-1)
        self.actions.append(action[0].item())
        if self.continuous:
            low, high = np.log10(self.values.min()), np.log10(self.values.max())
            a = float(np.clip(action[0], -1.0, 1.0))
            return float(10.0 ** (low + 0.5 * (a + 1.0) * (high - low)))
        return float(self.values[int(action[0])])
