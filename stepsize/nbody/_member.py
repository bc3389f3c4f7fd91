"""One member of an ensemble: the per-system loop that both back ends of ``integrate_ensemble``
run, on CPU threads (``_ensemble``) and as one CUDA thread per system (``_cuda``).

``run_member`` takes everything as arrays (state, parameters, history rows, scratch) and
allocates nothing, so the same compiled source is a Numba CPU function and a CUDA device
function.  Each member keeps its own step, criterion state and stop condition; the loop is
``Simulation.evolve`` over the output times followed by the energy check of ``integrate``.
``run_gr15_member`` and ``run_wh_member`` are the same loop around the ``gr15`` and ``wh``
kernels, which carry more state (``extra``, the arrays ``gr15_state`` / ``wh_state`` make) and
allocate their own scratch: CPU only.
"""

import numba
import numpy as np

from stepsize.nbody import _gravity as K
from stepsize.nbody._gbs import N_VEC, gbs_start, gbs_steps
from stepsize.nbody._gbs import N_WORK as GBS_WORK
from stepsize.nbody._gr15 import gr15_advance, gr15_start
from stepsize.nbody._hermite import N_WORK as HERMITE_WORK
from stepsize.nbody._hermite import hermite_start, hermite_steps
from stepsize.nbody._leapfrog import N_WORK as LEAPFROG_WORK
from stepsize.nbody._leapfrog import leapfrog_start, leapfrog_steps
from stepsize.nbody._wh import wh_advance, wh_start

MEMBER_METHODS = ("hermite4", "leapfrog", "gbs")  # run_member: both back ends
CARRIED_METHODS = ("gr15", "wh")  # run_gr15_member, run_wh_member: CPU only
_WORK = {"hermite4": HERMITE_WORK, "leapfrog": LEAPFROG_WORK, "gbs": GBS_WORK}


def scratch_shape(method, n, d):
    """Shapes of the scratch ``work`` (rows, N, D) and ``vec`` of one member: rows 0 and 1 hold
    the acceleration and jerk, the rest the method's own (N, D) arrays."""
    return (2 + _WORK.get(method, 0), n, d), (N_VEC if method == "gbs" else 1,)


@numba.njit(**K.NJIT)
def member_views(s, arrays):
    """Member ``s`` of the stacked ``arrays`` = (pos, vel, masses, par, times, e0, hist, scal,
    cnt): its (state, control, hist) views, as the member loops take them."""
    pos, vel, masses, par, _, _, hist, scal, cnt = arrays
    ht, hpos, hvel, herr = hist
    return (
        (pos[s], vel[s], masses[s]),
        (par[s], scal[s], cnt[s]),
        (ht[s], hpos[s], hvel[s], herr[s]),
    )


@numba.njit(**K.NJIT)
def open_member(scal, cnt, esc):
    """The counters of a fresh run: no body escaped, no pair seen, the encounter armed."""
    for i in range(esc.shape[0]):
        esc[i] = 0
    scal[K.S_RMIN2] = np.inf
    cnt[K.C_ARMED] = 1


@numba.njit(**K.NJIT)
def output(row, code, state, control, limit, e0, save, hist):
    """After the advance to an output time: the energy error and history row ``row``; True
    when the member stops (an event or failure ``code``, or the energy error over ``limit``)."""
    p, v, masses = state
    par, scal, cnt = control
    ht, hpos, hvel, herr = hist
    err = 0.0
    if row > 0:
        e = K.total_energy(p, v, masses, par[K.P_G], par[K.P_EPS2])
        err = abs(e - e0) / abs(e0) if e0 != 0.0 else abs(e - e0)
    if save:
        ht[row] = scal[K.S_T]
        K.copy_to(hpos[row], p)
        K.copy_to(hvel[row], v)
        herr[row] = err
    if code != K.DONE:
        return True
    if err > limit:
        cnt[K.C_STATUS] = K.ENERGY
        return True
    return False


@numba.njit(**K.NJIT)
def run_member(method, state, control, times, limit, e0, save, hist, scratch):
    """One system through every output time ``times``, as ``integrate`` runs it (method 0
    hermite4, 1 leapfrog, 2 gbs), in place.

    ``state`` = (positions, velocities, masses); ``control`` = (par, scal, cnt) in the layout of
    ``_gravity``; ``hist`` = (t, positions, velocities, energy error) rows, written when
    ``save``; ``scratch`` = (work, vec, esc) of ``scratch_shape``, ``esc`` (N,) int8 marking
    escaped bodies.  ``limit``: the energy error that stops the member; ``e0``: its energy.
    """
    p, v, masses = state
    par, scal, cnt = control
    work, vec, esc = scratch
    acc, jerk, rest = work[0], work[1], work[2:]
    open_member(scal, cnt, esc)
    if method == 0:
        hermite_start(p, v, acc, jerk, masses, par, scal, cnt)
    elif method == 1:
        leapfrog_start(p, v, acc, jerk, masses, par, scal, cnt)
    else:
        gbs_start(p, v, acc, jerk, masses, par, scal, cnt)
    output(0, K.DONE, state, control, limit, e0, save, hist)
    for k in range(times.size):
        par[K.P_TEND] = times[k]
        if method == 0:
            code = hermite_steps(p, v, acc, jerk, masses, par, scal, cnt, esc, rest)
        elif method == 1:
            code = leapfrog_steps(p, v, acc, jerk, masses, par, scal, cnt, esc, rest)
        else:
            code = gbs_steps(p, v, acc, jerk, masses, par, scal, cnt, esc, rest, vec)
        if output(k + 1, code, state, control, limit, e0, save, hist):
            return


@numba.njit(**K.NJIT)
def run_gr15_member(state, control, times, limit, e0, save, hist, scratch, extra):
    """``run_member`` for ``gr15``; ``extra`` = (b, e, xlo, vlo, active, radii) of
    ``gr15_state``."""
    p, v, masses = state
    par, scal, cnt = control
    work, _, esc = scratch
    acc, jerk = work[0], work[1]
    open_member(scal, cnt, esc)
    gr15_start(p, v, acc, jerk, masses, par, scal, cnt, *extra)
    output(0, K.DONE, state, control, limit, e0, save, hist)
    for k in range(times.size):
        par[K.P_TEND] = times[k]
        code = gr15_advance(p, v, acc, jerk, masses, par, scal, cnt, esc, *extra)
        if output(k + 1, code, state, control, limit, e0, save, hist):
            return


@numba.njit(**K.NJIT)
def run_wh_member(state, control, times, limit, e0, save, hist, scratch, extra):
    """``run_member`` for ``wh``; ``extra`` = the 11 arrays and mode of ``wh_state``."""
    p, v, masses = state
    par, scal, cnt = control
    work, _, esc = scratch
    acc, jerk = work[0], work[1]
    open_member(scal, cnt, esc)
    wh_start(p, v, acc, jerk, masses, par, scal, cnt, *extra)
    output(0, K.DONE, state, control, limit, e0, save, hist)
    for k in range(times.size):
        par[K.P_TEND] = times[k]
        code = wh_advance(p, v, acc, jerk, masses, par, scal, cnt, esc, *extra)
        if output(k + 1, code, state, control, limit, e0, save, hist):
            return
