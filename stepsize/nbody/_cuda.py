"""The GPU back end of ``integrate_ensemble``: a CUDA kernel (one per method), one thread per
system, each running ``_member.run_member`` (the CPU back end's compiled per-system loop;
Numba compiles the ``numba.njit`` functions it calls as CUDA device functions, float64
throughout).

Members do not wait for each other: a thread stops when its system is done, so the cost of a
warp is its slowest member.  ``stepsize.backend.lane_fractions`` measures that: the useful-lane
fraction sum(steps) / (max(steps) x lanes), over the whole grid and per warp of 32.

Imported only for ``backend="cuda"``; under ``NUMBA_ENABLE_CUDASIM=1`` (set before numba.cuda
is first imported) the same kernel runs in Numba's CUDA simulator, which is how CI tests it.
"""

from typing import NamedTuple

import numpy as np
from numba import config, cuda

from stepsize.backend import is_device_array
from stepsize.nbody._member import member_views, run_member

THREADS_PER_BLOCK = 64


class MemberArrays(NamedTuple):
    """Every array of an ensemble run, leading axis the member (numpy or CUDA arrays)."""

    pos: object  # (M, N, D) float64, advanced in place
    vel: object  # (M, N, D) float64, advanced in place
    masses: object  # (M, N)
    par: object  # (M, N_PAR) float64 kernel parameters
    times: object  # (T,) output times, shared
    e0: object  # (M,) initial energies
    hist: tuple  # (t (M, R), positions (M, R, N, D), velocities (M, R, N, D), error (M, R))
    scal: object  # (M, N_SCAL) float64
    cnt: object  # (M, N_CNT) int64
    work: object  # (M, rows, N, D) float64 scratch
    vec: object  # (M, V) float64 scratch
    esc: object  # (M, N) int8 scratch


if config.ENABLE_CUDASIM:

    def _plain(a):
        """The numpy array inside the simulator's kernel-side wrapper (the compiled member
        loop takes numpy arrays; on a GPU this is the identity)."""
        return getattr(a, "_item", a)._ary

else:

    @cuda.jit(device=True)
    def _plain(a):
        return a


@cuda.jit(device=True)
def _member_thread(method, limit, save, pos, vel, masses, par, times, e0, hist, ctl, scratch):
    """Thread s runs member s of the ensemble through every output time (the CPU back end's
    ``member_views`` and ``run_member``)."""
    s = cuda.grid(1)
    if s < pos.shape[0]:
        ht, hpos, hvel, herr = hist
        scal, cnt = ctl
        work, vec, esc = scratch
        hist = (_plain(ht), _plain(hpos), _plain(hvel), _plain(herr))
        arrays = (_plain(pos), _plain(vel), _plain(masses), _plain(par), _plain(times),
                  _plain(e0), hist, _plain(scal), _plain(cnt))  # fmt: skip
        state, control, own = member_views(s, arrays)
        mine = (_plain(work)[s], _plain(vec)[s], _plain(esc)[s])
        run_member(method, state, control, arrays[4], limit, arrays[5][s], save, own, mine)


# One kernel per method, so that NVVM sees the method as a constant and drops the other two
# loops (ptxas, sm_90: 197 / 159 / 252 registers for hermite4 / leapfrog / gbs against 248 for
# one kernel holding all three).
@cuda.jit(cache=True)
def _hermite4_kernel(limit, save, pos, vel, masses, par, times, e0, hist, ctl, scratch):
    _member_thread(0, limit, save, pos, vel, masses, par, times, e0, hist, ctl, scratch)


@cuda.jit(cache=True)
def _leapfrog_kernel(limit, save, pos, vel, masses, par, times, e0, hist, ctl, scratch):
    _member_thread(1, limit, save, pos, vel, masses, par, times, e0, hist, ctl, scratch)


@cuda.jit(cache=True)
def _gbs_kernel(limit, save, pos, vel, masses, par, times, e0, hist, ctl, scratch):
    _member_thread(2, limit, save, pos, vel, masses, par, times, e0, hist, ctl, scratch)


KERNELS = (_hermite4_kernel, _leapfrog_kernel, _gbs_kernel)  # in MEMBER_METHODS order


def _device(a):
    """``a`` on the GPU: a numpy array is copied there; an array already on it (a Numba device
    array, or CuPy and anything else with ``__cuda_array_interface__``) is used in place."""
    if isinstance(a, np.ndarray):
        return cuda.to_device(np.ascontiguousarray(a))
    if is_device_array(a):
        return cuda.as_cuda_array(a)
    return a


def run_cuda(method, limit, save, arrays):
    """Launch the ensemble kernel on ``arrays`` (a :class:`MemberArrays`) and wait for it.

    Numpy arrays are copied to the GPU, and the outputs (pos, vel, scal, cnt, hist) copied back
    into them; arrays already on the GPU (CuPy, Numba, anything with
    ``__cuda_array_interface__``) are used and updated in place.  ``method``: 0 hermite4,
    1 leapfrog, 2 gbs; ``limit``: the energy error that stops a member; ``save``: write
    ``hist``."""
    dev = MemberArrays(
        *(tuple(map(_device, a)) if isinstance(a, tuple) else _device(a) for a in arrays)
    )
    m = arrays.pos.shape[0]
    blocks = (m + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
    KERNELS[method][blocks, THREADS_PER_BLOCK](
        float(limit),
        bool(save),
        dev.pos,
        dev.vel,
        dev.masses,
        dev.par,
        dev.times,
        dev.e0,
        dev.hist,
        (dev.scal, dev.cnt),
        (dev.work, dev.vec, dev.esc),
    )
    cuda.synchronize()
    outputs = [(getattr(arrays, f), getattr(dev, f)) for f in ("pos", "vel", "scal", "cnt")]
    for host, d in outputs + list(zip(arrays.hist, dev.hist)):
        if isinstance(host, np.ndarray):  # a host array: copy its new values back
            d.copy_to_host(host)
