"""A linear eta policy on encounter features, learned by random search (benchmarks/rl_search.py).

Acts on the paper's 13-entry ThreeBody-v0 observation (positions / 10 au, velocities in N-body
units of 3 Msun and 1 au, -log10 |dE/E0|) with the continuous action of ``continuous=True``:

    log10 eta = c + w . phi,  clipped to [-4, -1],  action = 2 (log10 eta + 4) / 3 - 1,

phi the four features of ``benchmarks/rl_search.py``, for the pair that sets AMUSE's time scale
tau = min(r/v, t_ff), t_ff = sqrt(r^3 / G(m_i + m_j)) (G = 4 pi^2 au^3 / (Msun yr^2), the
paper's three 1 Msun bodies):

    phi_0 = log10(t_ff / tau),  phi_1 = log10(tau / 0.1 yr),  phi_2 = r . v / (|r| |v|),
    phi_3 = log10(|dE/E0| + 1e-16) + 10.

It has the small part of a stable-baselines3 model that evaluation and
:class:`agents.PolicyController` use: ``observation_space``, ``action_space`` and
``predict(obs, deterministic=True) -> (action, None)``; ``save`` / ``load`` write and read JSON.
"""

import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np

G = 4.0 * math.pi**2
MASS, BODIES, INTERVAL = 1.0, 3, 0.1
LOG_RANGE = (-4.0, -1.0)


def features(obs):
    """phi of a 13-entry paper observation (see the module docstring)."""
    obs = np.asarray(obs, dtype=float).reshape(-1)
    pos = obs[:6].reshape(3, 2) * 10.0
    vel = obs[6:12].reshape(3, 2) * math.sqrt(G * MASS * BODIES)
    error = 10.0 ** -obs[12] - 1e-20 if obs[12] != 0.0 else 0.0
    i, j = np.array([0, 0, 1]), np.array([1, 2, 2])
    dx, dv = pos[j] - pos[i], vel[j] - vel[i]
    r = np.linalg.norm(dx, axis=1)
    v = np.linalg.norm(dv, axis=1)
    free_fall = np.sqrt(r**3 / (G * 2.0 * MASS))
    tau = np.minimum(free_fall, r / np.maximum(v, 1e-300))
    k = int(np.argmin(tau))
    return np.array(
        [
            math.log10(free_fall[k] / tau[k]),
            math.log10(tau[k] / INTERVAL),
            float(dx[k] @ dv[k]) / (r[k] * max(v[k], 1e-300)),
            math.log10(max(error, 0.0) + 1e-16) + 10.0,
        ]
    )


class LinearEtaPolicy:
    """log10 eta = c + w . phi(obs) on ThreeBody-v0's paper observation, continuous action."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(13,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def __init__(self, c, w):
        w = np.asarray(w, dtype=float)
        if w.shape != (4,) or not (np.all(np.isfinite(w)) and math.isfinite(c)):
            raise ValueError(f"c must be finite and w 4 finite numbers, got {c!r}, {w.tolist()}")
        self.c, self.w = float(c), w

    def log10_eta(self, obs):
        lo, hi = LOG_RANGE
        return min(max(self.c + float(self.w @ features(obs)), lo), hi)

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        lo, hi = LOG_RANGE
        a = 2.0 * (self.log10_eta(obs) - lo) / (hi - lo) - 1.0
        return np.array([a], dtype=np.float32), None

    def save(self, path):
        Path(path).write_text(json.dumps({"c": self.c, "w": self.w.tolist()}, indent=1))

    @classmethod
    def load(cls, path, **_):
        data = json.loads(Path(path).read_text())
        return cls(data["c"], data["w"])
