"""The compiled parts of ``stepsize/ThreeBody-v0`` (formulas in :mod:`envs.three_body`).

The rewards, the observation and, for the paper's set-up (three bodies in a plane, Hermite 4
with the AMUSE criterion, no events), the whole environment step: set eta, integrate to the next
decision time, the energy error, the reward and the observation, in one compiled call.  The
Python around that call is what remains of a step: an environment step at a coarse eta integrates
four Hermite steps, and a few numpy calls or Python attribute look-ups per step would cost more
than they do.  The environment's general path calls the same functions, so both paths give the
same numbers to the bit.
"""

import math

import numba
import numpy as np

from stepsize.nbody._gravity import (
    C_NFORCE,
    C_STATUS,
    C_STEPS,
    NJIT,
    P_EPS2,
    P_ETA,
    P_G,
    P_TEND,
    S_T,
    total_energy,
)
from stepsize.nbody._planar3 import (
    B_ACC,
    B_JERK,
    B_MASSES,
    B_PAR,
    B_POS,
    B_SCAL,
    B_VEL,
    N_STATE,
    planar3_many,
    planar3_steps,
)
from stepsize.nbody.kernels import collision_time

W0, W2 = 3000.0, 4.0
FLOOR = 1e-20  # added to |dE/E0| before its logarithm
RESOLUTION = 1e-14  # of reward="final"
REWARD_CODES = {"paper": 0, "cost": 1, "final": 2}
# the layout of the float settings of ``hermite3_env_step``
X_INTERVAL, X_REWARD, X_W0, X_W2, X_PRICE, X_CAP, X_EXTENDED, X_UNIT, X_E0 = range(9)
N_SETTINGS = 9
# One float64 buffer holds a three-body Simulation's arrays (which become views of it:
# ``Simulation.bind_state``, layout ``stepsize.nbody._planar3.B_*``) and then the settings: the
# compiled step takes three arrays, not ten (each array argument costs the call ~60 ns to type
# and unbox), and a vector of environments one row each.
B_X = N_STATE
N_BUFFER = B_X + N_SETTINGS


@numba.njit(**NJIT)
def accuracy_term(energy_error, t, w0=W0, cap=0.1):
    """A = -W0 log10(dE / 1e-10) / (|log10 dE|^3 t), dE = min(|dE/E0|, cap) + 1e-20."""
    de = energy_error if energy_error <= cap else cap  # also maps nan to the cap
    lg = math.log10(de + FLOOR)
    a = abs(lg)
    return -w0 * (lg + 10.0) / (a * a * a * t)


@numba.njit(**NJIT)
def paper_reward(energy_error, t, eta, w0=W0, w2=W2, cap=0.1):
    """The paper's reward A(dE, t) + W2 / |log10 eta| (0 on the first step, t = 1)."""
    if t <= 1:
        return 0.0
    return accuracy_term(energy_error, t, w0, cap) + w2 / abs(math.log10(eta))


@numba.njit(**NJIT)
def cost_reward(energy_error, t, force_evaluations, w0=W0, w2=W2, cap=0.1):
    """A(dE, t) + W2 / log10(10 + n_t), n_t the force evaluations of the step (0 when t = 1)."""
    if t <= 1:
        return 0.0
    return accuracy_term(energy_error, t, w0, cap) + w2 / math.log10(10.0 + force_evaluations)


@numba.njit(**NJIT)
def final_reward(energy_error, previous, force_evaluations, price=0.2, cap=0.1):
    """log10(dE_{t-1} + 1e-14) - log10(dE_t + 1e-14) - price * n_t / 1000 (dE_t capped)."""
    de = energy_error if energy_error <= cap else cap
    gain = math.log10(previous + RESOLUTION) - math.log10(de + RESOLUTION)
    return gain - price * force_evaluations / 1000.0


@numba.njit(**NJIT)
def write_state(out, pos, vel, velocity_unit, energy_error, at_reset):
    """The paper's 4 N + 1 entries into ``out``: x, y / 10, vx, vy / ``velocity_unit``, then
    -log10(|dE/E0| + 1e-20) (0 ``at_reset``; a non-finite error reads as 1e10)."""
    n = pos.shape[0]
    for i in range(n):
        out[2 * i] = pos[i, 0] / 10.0
        out[2 * i + 1] = pos[i, 1] / 10.0
        out[2 * n + 2 * i] = vel[i, 0] / velocity_unit
        out[2 * n + 2 * i + 1] = vel[i, 1] / velocity_unit
    if at_reset:
        out[4 * n] = 0.0
    else:
        de = energy_error if energy_error < 1e10 else 1e10
        out[4 * n] = -math.log10(de + FLOOR)


@numba.njit(**NJIT)
def extended_values(pos, vel, masses, G, interval, steps, value, t):
    """The four entries of ``observation="extended"``: log10(tau_min / interval),
    log10(1 + steps), log10(value), 1 / (1 + t)."""
    tau = collision_time(pos, vel, masses, G, 0.0)
    return math.log10(tau / interval), math.log10(1.0 + steps), math.log10(value), 1.0 / (1.0 + t)


@numba.njit(**NJIT)
def relative_error(now, ref):
    """|now - ref| / |ref| (|now - ref| when ref is 0), as ``Simulation.energy_error``."""
    diff, scale = abs(now - ref), abs(ref)
    return diff / scale if scale > 0 else diff


@numba.njit(**NJIT, inline="always")
def _begin(buf, value, t):
    """Set eta = ``value`` and the end time t * interval of environment step ``t``."""
    buf[B_PAR + P_ETA] = value
    buf[B_PAR + P_TEND] = t * buf[B_X + X_INTERVAL]


@numba.njit(**NJIT)
def _finish(buf, cnt, obs, value, t, previous, steps, force):
    """After the integration of environment step ``t`` (``steps`` and ``force`` the counters
    before it): the energy error, the reward and the observation into ``obs``; returns
    ``hermite3_env_step``'s tuple."""
    pos = buf[B_POS:B_VEL].reshape((3, 2))
    vel = buf[B_VEL:B_ACC].reshape((3, 2))
    masses, par, scal, x = buf[B_MASSES:B_PAR], buf[B_PAR:B_SCAL], buf[B_SCAL:B_X], buf[B_X:]
    n_steps = cnt[C_STEPS] - steps
    n_force = cnt[C_NFORCE] - force
    error = relative_error(total_energy(pos, vel, masses, par[P_G], par[P_EPS2]), x[X_E0])
    kind, cap = x[X_REWARD], x[X_CAP]
    if kind == 0:
        reward = paper_reward(error, t, value, x[X_W0], x[X_W2], cap)
    elif kind == 1:
        reward = cost_reward(error, t, n_force, x[X_W0], x[X_W2], cap)
    else:
        reward = final_reward(error, previous, n_force, x[X_PRICE], cap)
    write_state(obs, pos, vel, x[X_UNIT], error, False)
    if x[X_EXTENDED]:
        extras = extended_values(pos, vel, masses, par[P_G], x[X_INTERVAL], n_steps, value, t)
        for k in range(4):
            obs[13 + k] = extras[k]
    return cnt[C_STATUS], error, reward, cnt[C_STEPS], cnt[C_NFORCE], scal[S_T]


@numba.njit(**NJIT)
def hermite3_env_step(buf, cnt, obs, value, t, previous):
    """One environment step on a three-body Simulation's buffer ``buf`` (``B_*``) and counters
    ``cnt``: eta = ``value`` to the decision time t * interval (``t`` counts this step), then
    the reward and the observation into ``obs``.

    ``previous`` is the capped energy error of the last step.  Returns (status code, |dE/E0|,
    reward, integrator steps and force evaluations of the run so far, the time reached)."""
    steps, force = cnt[C_STEPS], cnt[C_NFORCE]
    _begin(buf, value, t)
    pos = buf[B_POS:B_VEL].reshape((3, 2))
    vel = buf[B_VEL:B_ACC].reshape((3, 2))
    acc = buf[B_ACC:B_JERK].reshape((3, 2))
    jerk = buf[B_JERK:B_MASSES].reshape((3, 2))
    masses, par, scal = buf[B_MASSES:B_PAR], buf[B_PAR:B_SCAL], buf[B_SCAL:B_X]
    planar3_steps(pos, vel, acc, jerk, masses, par, scal, cnt)
    return _finish(buf, cnt, obs, value, t, previous, steps, force)


@numba.njit(**NJIT)
def vector_env_step(bufs, cnts, obs, values, ts, previous, out):
    """``hermite3_env_step`` of every row of ``bufs``/``cnts``/``obs`` (environment k takes
    ``values[k]``, ``ts[k]``, ``previous[k]``), the integrations interleaved by
    ``planar3_many``; row k of ``out`` (n, 6) gets environment k's returned tuple."""
    n = bufs.shape[0]
    before = np.empty((n, 2), dtype=np.int64)
    for k in range(n):
        before[k, 0], before[k, 1] = cnts[k, C_STEPS], cnts[k, C_NFORCE]
        _begin(bufs[k], values[k], ts[k])
    planar3_many(bufs, cnts)
    for k in range(n):
        row = _finish(
            bufs[k], cnts[k], obs[k], values[k], ts[k], previous[k], before[k, 0], before[k, 1]
        )
        out[k, 0], out[k, 1], out[k, 2], out[k, 3], out[k, 4], out[k, 5] = row
