"""``stepsize/ThreeBody-v0``: choose the time-step parameter of a chaotic three-body integration.

After Saz Ulibarrena & Portegies Zwart, "Reinforcement learning for adaptive time-stepping in the
chaotic gravitational three-body problem" (CNSNS 2025, arXiv 2502.12809).  Every environment
step the agent picks the accuracy parameter of the integrator for the next ``interval`` = 0.1 yr
of a :class:`stepsize.nbody.Simulation`, which then advances to ``t_k = k * interval``.

Initial conditions: :func:`stepsize.nbody.paper_three_body` drawn from the environment's
generator (``reset(seed=s)`` starts from ``paper_three_body(s)``; later resets continue the same
stream, so every episode is a new system), three 1 Msun bodies in au and yr (G = 4 pi^2).  With
``n_bodies > 3`` each extra 1 Msun body starts at rest at x, y ~ U[-10, 20] au, redrawn until it is
at least 2 au from every other body, and the system is moved to its centre-of-mass frame.
``reset(options={"system": s})`` starts from a given :class:`stepsize.nbody.System` instead.
``integrator_options`` pass on to :class:`~stepsize.nbody.Simulation` (e.g. ``softening``,
``criterion="aarseth"``).

Actions: ``Discrete(10)`` over ``values`` (default: the grid of the integrator's parameter,
:func:`envs._parameters.default_values`: eta = ``logspace(-4, -1, 10)`` for "hermite4" and
"leapfrog", rtol = ``logspace(-13, -4, 10)`` for "gbs" and the Runge-Kutta methods, epsilon for
"gr15", dt for "wh"; index 0 is the most accurate and is in force at reset), or with
``continuous=True`` a ``Box([-1, 1])`` mapped linearly onto log10 of the parameter between the
smallest and largest of ``values``.  ``step`` raises ValueError for an action outside the space.

Observation (float32, 4 N + 1 entries; 13 for three bodies), as the paper's "cart" state:
    0 .. 2N-1      x_i, y_i / (10 L)                 (L = 1 length unit, au by default)
    2N .. 4N-1     vx_i, vy_i / sqrt(G M / L)         (M the total mass: N-body velocity units)
    4N             -log10(|dE/E0| + 1e-20)            (0 at reset)
``observation="extended"`` appends four entries that make the state (and the reward) Markov:
    4N + 1         log10(tau_min / interval), tau_min = min_{i<j} min(r_ij / v_ij,
                   sqrt(r_ij^3 / (G (m_i + m_j)))), the AMUSE time scale the step follows
                   (:func:`stepsize.nbody.kernels.collision_time`, unsoftened)
    4N + 2         log10(1 + integrator steps of the last interval)  (0 at reset)
    4N + 3         log10 of the parameter in force
    4N + 4         1 / (1 + t), t the number of steps taken (the reward's 1/t weight)

Reward, with dE_t = |dE/E0| + 1e-20 the cumulative relative energy error after step t (capped
at ``max_energy_error``: the formula has a pole at dE = 1) and A the accuracy term
    A(dE_t, t) = -W0 log10(dE_t / 1e-10) / (|log10 dE_t|^3 t):
    * ``reward="paper"`` (default): r_t = A(dE_t, t) + W2 / |log10 eta_t|, W0 = 3000, W2 = 4;
    * ``reward="cost"``: r_t = A(dE_t, t) + W2 / log10(10 + n_t), n_t the force evaluations of
      the interval: the real compute in place of the 1/|log10 eta| proxy (for Hermite on these
      systems n_t ~ 0.3 / eta, so both terms have the same scale);
and r_1 = 0 on the first step, as in the paper.  Both weigh the error of step t by 1/t and pay
for an eta (or a force count) per step, which is not what an evaluation on the final error and
the total work asks for; ``reward="final"`` (ours) pays exactly that:
    r_t = log10(dE_{t-1} + 1e-14) - log10(dE_t + 1e-14) - price * n_t / 1000,
which telescopes to the return -log10((dE_T + 1e-14) / 1e-14) - price * N_T / 1000: minus the
final error in decades and the force evaluations at ``price`` decades per 1000 (default 0.2, the
slope of the fixed-eta front near 10^4 steps per 30 yr).

Where ``reward="paper"`` comes from: the authors' published code, not the paper's text.  Their
environment (``env/ThreeBP_env.py`` of github.com/veronicasaz/ThreeBodyProblem_astronomy, as of
its newest commit 1f9073b, 2024-10-08, "Adapt to newly trained version") computes seven
variants (``reward_f`` 0-6) and marks ``reward_f = 5`` "USing this one"; it is A + W2 /
|log10 eta| above: reference 1e-10, cubed log, 1/t (their step counter ``iteration``, 1 on the
first step), 0 on the first step (their previous error is 0 there).  The settings of their
shipped Hermite model (``models/settings_integration_3BP_hermite.json``, commit ae98233,
2024-08-20, "settings to train hermite model 1444") select ``reward_f = 5`` with W = [3000, 0,
4], the W0 and W2 here; the repository's top-level settings at the same commit have W0 = 3500.
Variant 5 reached the repository seven weeks after those settings, so a copy of the file from
before 1f9073b lacks the variant its settings select; there the nearest ones are 0 (reference
1e-8, |log10(dE / 1e-8)| over the squared log, plus a W1 term) and 4 (reference 1e-8, no
denominator), which are not what their shipped model was trained with.  The one deviation from
variant 5: dE is floored at 1e-20 and capped at ``max_energy_error`` (their formula takes
log10 0 at dE = 0 and divides by 0 at dE = 1).  The paper's own statement of the reward
(arXiv 2502.12809; CNSNS 2025, doi 10.1016/j.cnsns.2025.108723) could not be read: the stored
copies of its arXiv HTML page and of the pages that mirror it hold the abstract and the first
lines of the introduction only, and the author's thesis site only the chapters' abstracts.  So
whether the text states variant 5, or a 1e-8 reference and a squared log, is unchecked; the
default follows the code that their shipped model's settings select.  As there, Hermite runs
unsoftened (an older version of their code had eps^2 = 1e-9 au^2:
``integrator_options={"softening": ...}``).

Episode: terminated when |dE/E0| > ``max_energy_error`` (0.1) or the integrator stops (a
failure or a requested event); truncated after ``max_steps`` steps (the paper: 100 = 10 yr in
training, 300 in evaluation).  ``info``: ``energy_error`` (|dE/E0|), ``steps`` (integrator steps
so far), ``force_evaluations``, ``eta`` (the parameter used for the last interval, whichever it is:
``parameter`` names it), ``t`` (yr) and ``status`` (the
:class:`~stepsize.nbody.Simulation` status): all of it a function of the seed and the actions,
as gymnasium's ``check_env`` demands (wall time is the evaluator's to measure, around ``step``).

Speed: for the paper's set-up (three bodies in a plane, "hermite4" with its default AMUSE
criterion, no events, collisions or energy limit among ``integrator_options``) a step is one
compiled call, :func:`envs._three_body_step.hermite3_env_step`, whose Hermite loop keeps the
state in registers (:mod:`stepsize.nbody._planar3`); every other set-up goes through
``Simulation.evolve``.  Both give the same numbers to the bit.  :class:`envs.ThreeBodyVecEnv`
steps many such environments in one compiled call, their integrations interleaved in SIMD
lanes.
"""

import math

import gymnasium as gym
import numpy as np

from envs._action import check_action
from envs._args import positive_grid, positive_int, positive_real
from envs._parameters import GRIDS, default_values, parameter_of
from envs._three_body_step import (
    B_X,
    N_BUFFER,
    N_SETTINGS,
    REWARD_CODES,
    W0,
    W2,
    X_CAP,
    X_E0,
    X_EXTENDED,
    X_INTERVAL,
    X_PRICE,
    X_REWARD,
    X_UNIT,
    X_W0,
    X_W2,
    accuracy_term,  # noqa: F401 (public here)
    cost_reward,
    extended_values,
    final_reward,
    hermite3_env_step,
    paper_reward,
    write_state,
)
from stepsize.nbody import Simulation, System, methods, paper_three_body
from stepsize.nbody._simulation import STATUS
from stepsize.nbody.units import G_AU_MSUN_YR

ETAS, RTOLS = GRIDS["eta"], GRIDS["rtol"]
REWARDS = tuple(REWARD_CODES)
OBSERVATIONS = ("paper", "extended")


def observe(system, energy_error, extras=None):
    """The paper's 4 N + 1 observation of ``system`` (``energy_error`` None at reset), then
    ``extras`` (the extended entries) if given; float32."""
    unit = math.sqrt(system.G * system.total_mass)
    return observation(system.positions, system.velocities, unit, energy_error, extras)


def observation(positions, velocities, velocity_unit, energy_error, extras=None):
    """``observe`` on the arrays of a state, velocities in units of ``velocity_unit``."""
    n = 4 * positions.shape[0] + 1
    out = np.empty(n + (0 if extras is None else len(extras)), dtype=np.float32)
    at_reset = energy_error is None
    write_state(
        out, positions, velocities, velocity_unit, 0.0 if at_reset else energy_error, at_reset
    )
    if extras is not None:
        out[n:] = extras
    return out


def extended_features(system, interval, steps, value, t):
    """The four entries ``observation="extended"`` appends (see the module docstring);
    ``system`` a System or a Simulation (its positions, velocities, masses and G)."""
    return list(
        extended_values(
            system.positions, system.velocities, system.masses, system.G, interval, steps, value, t
        )
    )


def random_system(rng, n_bodies=3):
    """The paper's three bodies plus ``n_bodies - 3`` at rest (see the module docstring)."""
    base = paper_three_body(rng)
    if n_bodies == 3:
        return base
    pos = list(base.positions)
    while len(pos) < n_bodies:
        p = np.array([rng.uniform(-10.0, 20.0), rng.uniform(-10.0, 20.0)])
        if min(np.linalg.norm(p - q) for q in pos) >= 2.0:
            pos.append(p)
    vel = np.zeros((n_bodies, 2))
    vel[:3] = base.velocities
    return System(np.ones(n_bodies), pos, vel, G_AU_MSUN_YR).to_com_frame()


class ThreeBodyEnv(gym.Env):
    """Pick the integrator's accuracy parameter every 0.1 yr of a chaotic N-body run."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        *,
        reward="paper",
        observation="paper",
        integrator="hermite4",
        values=None,
        continuous=False,
        n_bodies=3,
        max_steps=100,
        interval=0.1,
        max_energy_error=0.1,
        w0=W0,
        w2=W2,
        price=0.2,
        integrator_options=None,
    ):
        if reward not in REWARDS:
            raise ValueError(f"reward: unknown {reward!r}; known: {', '.join(REWARDS)}")
        if observation not in OBSERVATIONS:
            raise ValueError(
                f"observation: unknown {observation!r}; known: {', '.join(OBSERVATIONS)}"
            )
        if integrator not in methods():
            raise ValueError(f"integrator: unknown {integrator!r}; known: {', '.join(methods())}")
        grid = default_values(integrator) if values is None else positive_grid(values)
        if reward == "paper" and np.any(grid >= 1.0):
            raise ValueError("reward='paper' needs values < 1 (W2 / |log10 eta| has a pole at 1)")
        n_bodies = positive_int(n_bodies, "n_bodies", low=3)
        max_steps = positive_int(max_steps, "max_steps")
        interval = positive_real(interval, "interval")
        max_energy_error = positive_real(max_energy_error, "max_energy_error")
        self.reward_kind, self.observation_kind = reward, observation
        self.integrator, self.values = integrator, grid
        self.parameter = parameter_of(integrator)
        self.n_bodies, self.max_steps = int(n_bodies), int(max_steps)
        self.interval, self.max_energy_error = float(interval), float(max_energy_error)
        self.w0, self.w2, self.price = float(w0), float(w2), float(price)
        self.integrator_options = dict(integrator_options or {})
        self.continuous = bool(continuous)
        if self.continuous:
            self.log10_range = (math.log10(grid.min()), math.log10(grid.max()))
            self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        else:
            self.action_space = gym.spaces.Discrete(grid.size)
        size = 4 * self.n_bodies + 1 + (4 if observation == "extended" else 0)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)
        self._size = size
        self._choices = None if self.continuous else [float(v) for v in grid]
        self._settings = np.zeros(N_SETTINGS)
        x = self._settings
        x[X_INTERVAL], x[X_REWARD], x[X_CAP] = self.interval, REWARD_CODES[reward], max_energy_error
        x[X_W0], x[X_W2], x[X_PRICE] = self.w0, self.w2, self.price
        x[X_EXTENDED] = observation == "extended"
        self.sim = None
        self._buffer = None
        self._row = self._row_counters = None  # where a vector environment keeps the state

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        system = (options or {}).get("system")
        if system is None:
            system = random_system(self.np_random, self.n_bodies)
        elif not isinstance(system, System) or system.n_bodies != self.n_bodies:
            raise ValueError(f"options['system'] must be a System of {self.n_bodies} bodies")
        options = {self.parameter: float(self.values[0]), **self.integrator_options}
        self.sim = sim = Simulation(system, self.integrator, **options)
        self._velocity_unit = math.sqrt(system.G * system.total_mass)
        self._t, self._last_steps, self._error = 0, 0, 0.0
        self._settings[X_UNIT], self._settings[X_E0] = self._velocity_unit, sim.energy_reference
        self._buffer = compiled_step_buffer(sim, self._settings, self._row, self._row_counters)
        self._t_sim = sim.t
        return self._observation(None), self._info(0.0, sim.steps, sim.force_evaluations, sim.t)

    def step(self, action):
        sim = self.sim
        if sim is None:
            raise RuntimeError("call reset() before step()")
        choices = self._choices  # lookup's common case inline: a valid index, int or numpy int
        if choices is not None and type(action) in _INTS and 0 <= action < len(choices):
            value = choices[action]
        else:
            value = self.value_of(action)
        t = self._t + 1
        if self._buffer is not None and sim.status == "done":  # self.compiled(), inline
            obs = np.empty(self._size, np.float32)
            out = hermite3_env_step(self._buffer, sim.counters, obs, value, t, self._error)
            return (obs, *self.compiled_step_done(value, *out))  # Python int and float already
        obs, reward, error, status = self._general_step(value)
        return obs, *self._finish(
            value, float(reward), error, status, sim.steps, sim.force_evaluations, sim.t
        )

    def compiled_step_done(self, value, code, error, reward, steps, force, t_now):
        """The bookkeeping after a compiled step (``hermite3_env_step``) with eta = ``value``:
        the Simulation's record of it, then ``step``'s (reward, terminated, truncated, info).
        ``ThreeBodyVecEnv`` does the same for all its copies at once, from the columns of
        ``vector_env_step``'s result (``tests/test_envs_vector.py`` holds the two equal)."""
        sim = self.sim
        sim.options.value = value  # what Simulation.value's setter records
        sim.changes.append((self._t_sim, value))
        sim.status = status = STATUS[int(code)]
        self._t_sim = t_now
        return self._finish(value, reward, error, status, int(steps), int(force), t_now)

    def _finish(self, value, reward, error, status, steps, force, t_now):
        """``step``'s (reward, terminated, truncated, info) once the integration is done."""
        t = self._t = self._t + 1
        cap = self.max_energy_error
        self._error = error if error <= cap else cap
        terminated = status != "done" or not error <= cap
        truncated = not terminated and t >= self.max_steps
        info = {
            "energy_error": error,
            "steps": steps,
            "force_evaluations": force,
            "eta": value,
            "parameter": self.parameter,
            "t": t_now,
            "status": status,
        }
        return reward, terminated, truncated, info

    def _general_step(self, value):
        """``step`` through ``Simulation.evolve``: (observation, reward, |dE/E0|, status)."""
        sim = self.sim
        sim.value = value
        force, steps = sim.force_evaluations, sim.steps
        status = sim.evolve((self._t + 1) * self.interval)
        t = self._t + 1
        self._last_steps = sim.steps - steps
        n_force = sim.force_evaluations - force
        error = sim.energy_error
        cap = self.max_energy_error
        if self.reward_kind == "paper":
            reward = paper_reward(error, t, value, self.w0, self.w2, cap)
        elif self.reward_kind == "cost":
            reward = cost_reward(error, t, n_force, self.w0, self.w2, cap)
        else:
            reward = final_reward(error, self._error, n_force, self.price, cap)
        extras = None
        if self.observation_kind == "extended":
            extras = extended_features(sim, self.interval, self._last_steps, value, t)
        obs = observation(sim.positions, sim.velocities, self._velocity_unit, error, extras)
        return obs, reward, error, status

    def lookup(self, action):
        """``value_of(action)``, with the common case first: a valid index, int or numpy int."""
        choices = self._choices
        if choices is not None and type(action) in _INTS and 0 <= action < len(choices):
            return choices[action]
        return self.value_of(action)

    def attach(self, row, counters):
        """Keep the compiled step's state in ``row`` (float64, ``N_BUFFER``) and ``counters``
        (int64, ``N_CNT``), rows of a vector environment's arrays
        (:class:`envs.ThreeBodyVecEnv`), from now on and for every later episode."""
        self._row, self._row_counters = row, counters
        if self._buffer is not None:
            row[:] = self._buffer
            self.sim.bind_state(row, counters)
            self._buffer = row

    def compiled(self):
        """True when the next ``step`` is one compiled call (``hermite3_env_step``)."""
        return self._buffer is not None and self.sim.status == "done"

    def __setstate__(self, state):
        """Unpickled: the Simulation's state is again a view of the compiled step's buffer
        (pickle copies each view on its own)."""
        self.__dict__.update(state)
        if self._buffer is not None:
            self.sim.bind_state(self._buffer)

    def value_of(self, action):
        """The parameter value an action stands for; ValueError for an action outside the space."""
        a = check_action(self.action_space, action)
        if self.continuous:
            low, high = self.log10_range
            return float(10.0 ** (low + 0.5 * (float(a[0]) + 1.0) * (high - low)))
        return float(self.values[a])

    def _observation(self, error):
        sim = self.sim
        extras = None
        if self.observation_kind == "extended":
            extras = extended_features(sim, self.interval, self._last_steps, sim.value, self._t)
        return observation(sim.positions, sim.velocities, self._velocity_unit, error, extras)

    def _info(self, error, steps, force_evaluations, t):
        sim = self.sim
        return {
            "energy_error": error,
            "steps": int(steps),
            "force_evaluations": int(force_evaluations),
            "eta": sim.options.value,
            "parameter": self.parameter,
            "t": float(t),
            "status": sim.status,
        }


_INTS = (int, np.int64, np.int32, np.intp)


def compiled_step_buffer(sim, settings, row=None, counters=None):
    """The buffer ``hermite3_env_step`` works on (``row`` if given, else a new one), when it
    takes exactly the steps ``sim.evolve`` would: the paper's set-up (``sim.planar3``: three
    bodies in a plane, hermite4 with the AMUSE criterion and eta, no events or collisions; no
    archive or energy limit); else None.

    ``sim``'s state (and its counters, into ``counters`` if given) becomes a view of the buffer
    (``Simulation.bind_state``), so that the Simulation and the compiled step share one state;
    ``settings`` go after it."""
    if not (sim.planar3 and sim.archive is None and sim.options.max_energy_error == math.inf):
        return None
    buf = np.empty(N_BUFFER) if row is None else row
    sim.bind_state(buf, counters)
    buf[B_X:] = settings
    return buf
