"""One member of an ensemble: the per-system loop that both back ends of ``integrate_ensemble``
run, on CPU threads (``_ensemble``) and as one CUDA thread per system (``_cuda``).

``run_member`` takes everything as arrays (state, parameters, history rows, scratch) and
allocates nothing, so the same compiled source is a Numba CPU function and a CUDA device
function.  Each member keeps its own step, criterion state and stop condition; the loop is
``Simulation.evolve`` over the output times followed by the energy check of ``integrate``.
"""

import numba
import numpy as np

from stepsize.nbody import _kernels as K
from stepsize.nbody._gbs import N_VEC, gbs_start, gbs_steps
from stepsize.nbody._gbs import N_WORK as GBS_WORK
from stepsize.nbody._hermite import N_WORK as HERMITE_WORK
from stepsize.nbody._hermite import hermite_start, hermite_steps
from stepsize.nbody._leapfrog import N_WORK as LEAPFROG_WORK
from stepsize.nbody._leapfrog import leapfrog_start, leapfrog_steps

MEMBER_METHODS = ("hermite4", "leapfrog", "gbs")
_WORK = {"hermite4": HERMITE_WORK, "leapfrog": LEAPFROG_WORK, "gbs": GBS_WORK}


def scratch_shape(method, n, d):
    """Shapes of the scratch ``work`` (rows, N, D) and ``vec`` of one member: rows 0 and 1 hold
    the acceleration and jerk, the rest the method's own (N, D) arrays."""
    return (2 + _WORK[method], n, d), (N_VEC if method == "gbs" else 1,)


@numba.njit(**K.NJIT)
def run_member(method, state, control, times, limit, e0, save, hist, scratch):
    """One system through every output time ``times``, as ``integrate`` runs it (method 0
    hermite4, 1 leapfrog, 2 gbs), in place.

    ``state`` = (positions, velocities, masses); ``control`` = (par, scal, cnt) in the layout of
    ``_kernels``; ``hist`` = (t, positions, velocities, energy error) rows, written when
    ``save``; ``scratch`` = (work, vec, esc) of ``scratch_shape``, ``esc`` (N,) int8 marking
    escaped bodies.  ``limit``: the energy error that stops the member; ``e0``: its energy.
    """
    p, v, masses = state
    par, scal, cnt = control
    ht, hpos, hvel, herr = hist
    work, vec, esc = scratch
    acc, jerk, rest = work[0], work[1], work[2:]
    for i in range(esc.shape[0]):
        esc[i] = 0
    scal[K.S_RMIN2] = np.inf
    cnt[K.C_ARMED] = 1
    if method == 0:
        hermite_start(p, v, acc, jerk, masses, par, scal, cnt)
    elif method == 1:
        leapfrog_start(p, v, acc, jerk, masses, par, scal, cnt)
    else:
        gbs_start(p, v, acc, jerk, masses, par, scal, cnt)
    if save:
        ht[0] = 0.0
        K.copy_to(hpos[0], p)
        K.copy_to(hvel[0], v)
        herr[0] = 0.0
    for k in range(times.size):
        par[K.P_TEND] = times[k]
        if method == 0:
            code = hermite_steps(p, v, acc, jerk, masses, par, scal, cnt, esc, rest)
        elif method == 1:
            code = leapfrog_steps(p, v, acc, jerk, masses, par, scal, cnt, esc, rest)
        else:
            code = gbs_steps(p, v, acc, jerk, masses, par, scal, cnt, esc, rest, vec)
        e = K.total_energy(p, v, masses, par[K.P_G], par[K.P_EPS2])
        err = abs(e - e0) / abs(e0) if e0 != 0.0 else abs(e - e0)
        if save:
            ht[k + 1] = scal[K.S_T]
            K.copy_to(hpos[k + 1], p)
            K.copy_to(hvel[k + 1], v)
            herr[k + 1] = err
        if code != K.DONE:
            return
        if err > limit:
            cnt[K.C_STATUS] = K.ENERGY
            return
