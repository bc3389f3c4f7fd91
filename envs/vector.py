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
from stepsize.nbody._gravity import DONE, N_CNT
from stepsize.nbody._simulation import STATUS


class ThreeBodyVecEnv(VecEnv):
    """``n_envs`` ThreeBody-v0 environments of the same ``env_kwargs``, stepped together.

    On the compiled path the vector keeps each copy's running record (step count, capped
    error, time, status, parameter and the list of parameter changes) in arrays and writes it
    into the copies only when someone looks: ``envs``, ``get_attr``, ``env_method`` and the
    rest sync first (``_sync``).  A vector step is then a fixed number of numpy calls plus the
    infos SB3 needs, whatever n is."""

    LOG_LIMIT = 256  # vector steps of unwritten parameter changes before ``_sync`` writes them

    def __init__(self, n_envs=8, **env_kwargs):
        if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
            raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}")
        self._envs = [ThreeBodyEnv(**env_kwargs) for _ in range(n_envs)]
        # the copies' records while on the compiled path (see the class docstring)
        self._t = np.zeros(n_envs, dtype=np.int64)
        self._error = np.zeros(n_envs)
        self._t_sim = np.zeros(n_envs)
        self._value = np.zeros(n_envs)
        self._code = np.zeros(n_envs, dtype=np.int64)
        self._caps = self._limits = None
        self._log = []  # per compiled vector step: (times before it, the values it set)
        self._first = np.zeros(n_envs, dtype=np.int64)  # copy k's first entry of the log
        first = self._envs[0]
        super().__init__(n_envs, first.observation_space, first.action_space)
        self._rows = np.zeros((n_envs, N_BUFFER))
        self._counters = np.zeros((n_envs, N_CNT), dtype=np.int64)
        for k, env in enumerate(self._envs):
            env.attach(self._rows[k], self._counters[k])
        self._returns = np.zeros(n_envs)
        self._lengths = np.zeros(n_envs, dtype=np.int64)
        self._start = time.time()
        self._actions = None
        self._all_compiled = None  # every copy's next step compiled; None: to be checked
        self._grid = None if first.continuous else np.array(first._choices)

    @property
    def envs(self):
        """The copies, their records up to date."""
        self._sync()
        return self._envs

    # ----- VecEnv ----------------------------------------------------------------------
    def reset(self):
        self._sync()
        obs = np.empty((self.num_envs, *self.observation_space.shape), np.float32)
        for k, env in enumerate(self._envs):
            obs[k], self.reset_infos[k] = env.reset(seed=self._seeds[k], **self._option(k))
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self._reset_seeds()
        self._reset_options()
        self._all_compiled = None
        return obs

    def _option(self, k):
        options = self._options[k]
        return {"options": options} if options else {}

    def step_async(self, actions):
        self._actions = actions

    def step_wait(self):
        values = self._values(self._actions)
        if self._all_compiled is None:
            self._sync()
            self._all_compiled = all(env.compiled() for env in self._envs)
            if self._all_compiled:
                self._load(range(self.num_envs))
                self._caps = np.array([env.max_energy_error for env in self._envs])
                self._limits = np.array([env.max_steps for env in self._envs], dtype=np.int64)
        if self._all_compiled:
            obs, rewards, terminated, truncated, infos = self._compiled_step(values)
        else:  # another set-up (or a copy stopped at an event): the copies' own steps
            obs, rewards, terminated, truncated, infos = self._own_steps(self._actions)
            self._all_compiled = None
        self._returns += rewards  # the float64 rewards, summed as the copies would sum them
        self._lengths += 1
        dones = terminated | truncated
        ended = np.flatnonzero(dones).tolist()  # the few copies whose episode ended
        for k in ended:
            info = infos[k]
            info["episode"] = {
                "r": round(float(self._returns[k]), 6),
                "l": int(self._lengths[k]),
                "t": round(time.time() - self._start, 6),
            }
            self._returns[k], self._lengths[k] = 0.0, 0
            info["terminal_observation"] = obs[k].copy()
            obs[k], self.reset_infos[k] = self._envs[k].reset()
            self._all_compiled = self._all_compiled and self._envs[k].compiled()
        if ended:
            self._load(ended)
        return obs, rewards.astype(np.float32), dones, infos

    def _compiled_step(self, values):
        """All copies through one ``vector_env_step``, then the flags and the infos from the
        result's columns and the copies' records into the vector's arrays (what
        ``ThreeBodyEnv.compiled_step_done`` does for one copy).  Returns (observations,
        float64 rewards, terminated, truncated, infos)."""
        n = self.num_envs
        obs = np.empty((n, *self.observation_space.shape), np.float32)
        t = self._t + 1
        out = np.empty((n, 6))
        vector_env_step(
            self._rows, self._counters, obs, values, t.astype(np.float64), self._error, out
        )
        codes, errors, rewards, steps, force, t_now = out.T
        caps = self._caps
        below = errors <= caps  # False for nan, as in ThreeBodyEnv._finish
        terminated = (codes != DONE) | ~below
        truncated = ~terminated & (t >= self._limits)
        self._log.append((self._t_sim, values))
        self._t, self._t_sim, self._value = t, t_now.copy(), values
        self._error = np.where(below, errors, caps)
        self._code = codes.astype(np.int64)
        names = [STATUS[code] for code in self._code.tolist()]
        parameter = self._envs[0].parameter
        columns = (errors.tolist(), steps.astype(np.int64).tolist())
        columns += (force.astype(np.int64).tolist(), values.tolist(), t_now.tolist(), names)
        columns += (truncated.tolist(),)
        infos = [
            {
                "energy_error": e,
                "steps": s,
                "force_evaluations": f,
                "eta": v,
                "parameter": parameter,
                "t": now,
                "status": status,
                "TimeLimit.truncated": limit,
            }
            for e, s, f, v, now, status, limit in zip(*columns)
        ]
        if len(self._log) >= self.LOG_LIMIT:
            self._sync()
        return obs, rewards, terminated, truncated, infos

    def _load(self, indices):
        """The records of copies ``indices`` (just reset, or all on entering the compiled
        path) into the vector's arrays, which the next compiled step starts from; their
        earlier log entries are not theirs (their parameter and status come with their next
        entry)."""
        for k in indices:
            env = self._envs[k]
            self._t[k], self._error[k], self._t_sim[k] = env._t, env._error, env._t_sim
            self._first[k] = len(self._log)

    def _sync(self):
        """Write the arrays' records into the copies (each copy's parameter changes since its
        first log entry), then empty the log."""
        log, self._log = self._log, []
        if not log:
            return
        before = np.stack([entry[0] for entry in log], axis=1).tolist()
        values = np.stack([entry[1] for entry in log], axis=1).tolist()
        columns = (self._t.tolist(), self._error.tolist(), self._t_sim.tolist())
        columns += (self._value.tolist(), self._code.tolist(), self._first.tolist())
        for k, (t, error, t_sim, value, code, first) in enumerate(zip(*columns)):
            if first >= len(log):
                continue
            env = self._envs[k]
            sim = env.sim
            sim.options.value = value  # what Simulation.value's setter records
            sim.changes.extend(zip(before[k][first:], values[k][first:]))
            sim.status = STATUS[code]
            env._t, env._error, env._t_sim = t, error, t_sim
        self._first[:] = 0

    def _own_steps(self, actions):
        """Each copy's own ``step`` (set-ups without the compiled path), as ``_compiled_step``
        returns them."""
        n = self.num_envs
        obs = np.empty((n, *self.observation_space.shape), np.float32)
        rewards = np.zeros(n)
        terminated, truncated = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        infos = [None] * n
        for k, env in enumerate(self.envs):
            obs[k], rewards[k], terminated[k], truncated[k], infos[k] = env.step(
                _scalar(actions[k])
            )
            infos[k]["TimeLimit.truncated"] = bool(truncated[k])
        return obs, rewards, terminated, truncated, infos

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
        return np.array(
            [env.lookup(_scalar(a)) for a, env in zip(actions, self._envs, strict=True)]
        )

    def close(self):
        for env in self._envs:
            env.close()

    def get_attr(self, attr_name, indices=None):
        return [getattr(self.envs[k], attr_name) for k in self._get_indices(indices)]

    def set_attr(self, attr_name, value, indices=None):
        for k in self._get_indices(indices):
            setattr(self.envs[k], attr_name, value)
        self._all_compiled = None

    def env_method(self, method_name, *method_args, indices=None, **method_kwargs):
        own = {"snapshot": self._snapshot, "restore": self._restore}.get(method_name)
        self._sync()
        self._all_compiled = None  # a method may change a copy (or replace it: restore)
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
        self._envs[k] = env


def _scalar(action):
    """One environment's action as ``ThreeBodyEnv.step`` takes it: a Python int for Discrete
    (SB3 gives numpy integers or 0-d arrays), the array for Box."""
    if isinstance(action, np.ndarray) and action.ndim == 0:
        action = action[()]
    if isinstance(action, np.integer):
        return int(action)
    return action
