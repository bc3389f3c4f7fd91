"""``ThreeBodyVecEnv``: n copies of ``stepsize/ThreeBody-v0`` stepped by one compiled call.

A stable-baselines3 :class:`~stable_baselines3.common.vec_env.VecEnv`, usable wherever SB3 takes
one (``PPO("MlpPolicy", ThreeBodyVecEnv(8))``, ``agents.train(..., vectorised=True)``).  For the
paper's set-up (see :mod:`envs.three_body`: three bodies in a plane, Hermite 4 with the AMUSE
criterion) a vector step is one call of :func:`envs._three_body_step.vector_env_step`: every
environment's eta and end time are set, the n integrations run interleaved in the SIMD lanes
of :func:`stepsize.nbody._planar3.planar3_many`, and each environment's energy error, reward and
observation are computed, all in compiled code.  Environment k gives, step by step, the
observations, rewards, flags and infos of a ``ThreeBodyEnv`` of the same arguments reset with
seed ``seed + k`` and given the same actions, bit for bit (``tests/test_envs_vector.py``): each
lane does a run's operations in its order.  Other set-ups step each environment in turn.

SB3's conventions, as ``DummyVecEnv`` keeps them: ``reset()`` returns the observations (infos
in ``reset_infos``), seeds set by ``seed(s)`` (environment k gets ``s + k``) apply to the next
``reset`` only; an environment whose episode ends is reset at once, its last observation in
``info["terminal_observation"]``, ``info["TimeLimit.truncated"]`` when it ran out of steps;
rewards are float32.  Like SB3's ``Monitor``, the info of an episode's last step has
``"episode": {"r": return, "l": length, "t": seconds since the vector was made}`` (r and t
rounded to 6 decimals, as there).

``env_method("snapshot")`` and ``env_method("restore", blob, indices=[k])`` pickle and restore
environment k mid-episode with its episode sums (what ``agents.train``'s checkpoints use).
"""

import pickle
import time

import cloudpickle
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from envs._three_body_step import N_BUFFER, vector_env_step
from envs.three_body import ThreeBodyEnv
from stepsize.nbody._gravity import N_CNT


class ThreeBodyVecEnv(VecEnv):
    """``n_envs`` ThreeBody-v0 environments of the same ``env_kwargs``, stepped together."""

    def __init__(self, n_envs=8, **env_kwargs):
        if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
            raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}")
        self.envs = [ThreeBodyEnv(**env_kwargs) for _ in range(n_envs)]
        first = self.envs[0]
        super().__init__(n_envs, first.observation_space, first.action_space)
        self._rows = np.zeros((n_envs, N_BUFFER))
        self._counters = np.zeros((n_envs, N_CNT), dtype=np.int64)
        for k, env in enumerate(self.envs):
            env.attach(self._rows[k], self._counters[k])
        self._returns = np.zeros(n_envs)
        self._lengths = np.zeros(n_envs, dtype=np.int64)
        self._start = time.time()
        self._actions = None
        self._grid = None if first.continuous else np.array(first._choices)

    # ----- VecEnv ----------------------------------------------------------------------
    def reset(self):
        obs = np.empty((self.num_envs, *self.observation_space.shape), np.float32)
        for k, env in enumerate(self.envs):
            obs[k], self.reset_infos[k] = env.reset(seed=self._seeds[k], **self._option(k))
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self._reset_seeds()
        self._reset_options()
        return obs

    def _option(self, k):
        options = self._options[k]
        return {"options": options} if options else {}

    def step_async(self, actions):
        self._actions = actions

    def step_wait(self):
        envs, actions = self.envs, self._actions
        n = self.num_envs
        values = self._values(actions)
        rewards = np.zeros(n, dtype=np.float32)
        dones = np.zeros(n, dtype=bool)
        infos = [None] * n
        if all(env.compiled() for env in envs):
            obs = np.empty((n, *self.observation_space.shape), np.float32)
            ts = np.array([env._t + 1 for env in envs], dtype=np.float64)
            previous = np.array([env._error for env in envs])
            out = np.empty((n, 6))
            vector_env_step(self._rows, self._counters, obs, values, ts, previous, out)
            rows = out.tolist()
            steps = [
                env.compiled_step_done(float(values[k]), *rows[k]) for k, env in enumerate(envs)
            ]
        else:  # another set-up: the environments' own steps
            obs = np.empty((n, *self.observation_space.shape), np.float32)
            steps = []
            for k, env in enumerate(envs):
                o, *rest = env.step(_scalar(actions[k]))
                obs[k] = o
                steps.append(rest)
        for k, (reward, terminated, truncated, info) in enumerate(steps):
            rewards[k] = reward
            self._returns[k] += reward
            self._lengths[k] += 1
            done = dones[k] = terminated or truncated
            info["TimeLimit.truncated"] = truncated and not terminated
            if done:
                info["episode"] = {
                    "r": round(float(self._returns[k]), 6),
                    "l": int(self._lengths[k]),
                    "t": round(time.time() - self._start, 6),
                }
                self._returns[k], self._lengths[k] = 0.0, 0
                info["terminal_observation"] = obs[k].copy()
                obs[k], self.reset_infos[k] = self.envs[k].reset()
            infos[k] = info
        return obs, rewards, dones, infos

    def _values(self, actions):
        """The parameter each environment's action stands for (``ThreeBodyEnv.lookup``; a
        valid array of indices in one numpy look-up)."""
        grid = self._grid
        if (
            grid is not None
            and isinstance(actions, np.ndarray)
            and actions.shape == (self.num_envs,)
        ):
            if actions.dtype.kind in "iu" and actions.min() >= 0 and actions.max() < grid.size:
                return grid[actions]
        return np.array([env.lookup(_scalar(a)) for a, env in zip(actions, self.envs, strict=True)])

    def close(self):
        for env in self.envs:
            env.close()

    def get_attr(self, attr_name, indices=None):
        return [getattr(self.envs[k], attr_name) for k in self._get_indices(indices)]

    def set_attr(self, attr_name, value, indices=None):
        for k in self._get_indices(indices):
            setattr(self.envs[k], attr_name, value)

    def env_method(self, method_name, *method_args, indices=None, **method_kwargs):
        own = {"snapshot": self._snapshot, "restore": self._restore}.get(method_name)
        out = []
        for k in self._get_indices(indices):
            if own is not None:
                out.append(own(k, *method_args, **method_kwargs))
            else:
                out.append(getattr(self.envs[k], method_name)(*method_args, **method_kwargs))
        return out

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False for _ in self._get_indices(indices)]

    # ----- checkpoints -----------------------------------------------------------------
    def _snapshot(self, k):
        """Environment k mid-episode, with its episode sums, as bytes."""
        return cloudpickle.dumps((self.envs[k], float(self._returns[k]), int(self._lengths[k])))

    def _restore(self, k, blob):
        """Environment k back from ``_snapshot``'s bytes, its state in the vector's rows."""
        env, self._returns[k], self._lengths[k] = pickle.loads(blob)
        env.attach(self._rows[k], self._counters[k])
        self.envs[k] = env


def _scalar(action):
    """One environment's action as ``ThreeBodyEnv.step`` takes it: a Python int for Discrete
    (SB3 gives numpy integers or 0-d arrays), the array for Box."""
    if isinstance(action, np.ndarray) and action.ndim == 0:
        action = action[()]
    if isinstance(action, np.integer):
        return int(action)
    return action
