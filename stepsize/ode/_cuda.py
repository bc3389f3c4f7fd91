"""The GPU back end of ``solve_ensemble``: one CUDA thread per initial value.

Thread ``s`` integrates member ``s`` with its own step, controller history and stop by running
the CPU loop itself (:mod:`stepsize.ode._loop`): its ``start`` and ``step`` -- the explicit
pair's attempt and error norm, the filter controllers of :mod:`stepsize.control`, the
``t_eval`` output from the step's interpolant -- compiled by Numba as CUDA device functions,
float64 throughout, with the implicit methods compiled out (``None``) and no events.  The
driver (:func:`run_member`) adds only what the CPU's growable storage does otherwise: without
``t_eval`` a member keeps just its newest point.

Every per-member array is a view of one preallocated device array, so device code allocates
nothing: the state vectors, the stages, the interpolant, the controllers' histories (member as
the last axis: a warp's loads coalesce), the output and the loop's records
(:data:`~stepsize.ode._bundles.STATE`, ``INFO``, ``IMPLICIT_STATE``), set up on the host as
``integrate`` sets them up.  Python builtins and NumPy scalar functions the step functions use
come to the CUDA target through :mod:`stepsize._cudamath`.

The right-hand side is the user's ``fun`` behind an adapter without ``try`` (CUDA kernels
cannot catch): a member whose ``fun`` produces NaN or inf stops with status ``NONFINITE``.
``fun`` must compile for CUDA: in place, ``fun(t, y, dydt, *args)`` (``inplace=True``), or
returning something indexable that needs no allocation (a tuple).  One kernel is compiled per
right-hand side (it is a constant of the kernel, so NVVM can inline it).

A warp costs what its slowest member costs; ``lane_fractions`` (:mod:`stepsize.backend`)
reports the useful-lane fraction of the launch.  Imported only for ``backend="cuda"``; under
``NUMBA_ENABLE_CUDASIM=1`` (set before numba.cuda is first imported) the kernel runs in Numba's
CUDA simulator around the CPU-compiled member loop, which is how CI tests it.
"""

import weakref
from typing import NamedTuple

import numba
import numpy as np
from numba import config, cuda, types

from stepsize import _cudamath  # noqa: F401  (min, max, np.isfinite, ... for CUDA code)
from stepsize.backend import is_device_array, lane_fractions
from stepsize.control import new_history
from stepsize.ode._arrays import copy_into
from stepsize.ode._build import _compiled_user
from stepsize.ode._bundles import (
    DONE,
    IMPLICIT_STATE,
    INFO,
    RUNNING,
    STATE,
    Problem,
    new_implicit_state,
    new_info,
)
from stepsize.ode._context import device_rhs_source, generated
from stepsize.ode._ensemble_result import EnsembleResult
from stepsize.ode._events import EventWork
from stepsize.ode._explicit import ExplicitWork
from stepsize.ode._jit import NJIT, compile_adapter
from stepsize.ode._loop import start, step
from stepsize.ode._output import EventLog, Output, Points, Segments
from stepsize.ode._solve import MESSAGES
from stepsize.ode._store import Run, Work

THREADS_PER_BLOCK = 64
_strided = types.float64[:]
STRIDED = types.FunctionType(types.void(types.float64, _strided, _strided, _strided))
"""``FUNC`` for the strided vectors of a member (the simulator's first-class adapter)."""
N_VEC = 7  # Work's vectors: y, y_new, f0, f_new, ybuf, fbuf, err
N_EW = 3  # ExplicitWork's vectors: ystage, ya, yb


class MemberArrays(NamedTuple):
    """Every array of a GPU ensemble of ``M`` members (numpy or device arrays).  The work arrays
    have the member as their last axis, so that the 32 threads of a warp, reading the same
    entry of their own arrays, read 32 consecutive doubles (one coalesced access); a member's
    arrays are strided views."""

    y0: object  # (M, n) initial values
    y: object  # (M, n, n_out) states at the output times, NaN where none
    t: object  # (n_out, M) the output times
    info: object  # (M,) INFO records
    state: object  # (M,) STATE records
    imp: object  # (M,) IMPLICIT_STATE records
    ctx: object  # (len(ctx), M) each member's context (args, fault slot)
    vec: object  # (N_VEC, n, M) Work's vectors
    coef: object  # (n, degree, M) the step's interpolant
    history: object  # (2, 4, M) the controllers' filter histories
    stages: object  # (s, n, M) the pair's stages K
    ew: object  # (N_EW, n, M) ExplicitWork's vectors
    empty: object  # (0,) what a member does not store (events, segments, switches)
    empty_int: object  # (0,) int64
    empty_rows: object  # (0, n, degree)


def aligned(dtype):
    """``dtype`` (a record of the loop) with its fields aligned, as CUDA loads them; the
    loop reads and writes them by name."""
    return np.dtype([(name, dtype.fields[name][0]) for name in dtype.names], align=True)


def member_arrays(y0, ctx, n_out, s, degree):
    """Host arrays for ``m`` members with initial values ``y0`` (m, n) (a device array is
    copied in on the device), ``ctx`` the problem's context, ``n_out`` output times, ``s``
    stages and interpolants of ``degree``; records and histories as ``integrate`` starts
    them."""
    m, n = y0.shape
    imp = np.zeros(m, dtype=aligned(IMPLICIT_STATE))
    imp[:] = new_implicit_state()[0]
    info = np.zeros(m, dtype=aligned(INFO))
    info[:] = new_info()[0]
    return MemberArrays(
        y0,
        np.full((m, n, n_out), np.nan),
        np.zeros((n_out, m)),
        info,
        np.zeros(m, dtype=aligned(STATE)),
        imp,
        np.ascontiguousarray(np.broadcast_to(ctx[:, None], (ctx.size, m))),
        np.zeros((N_VEC, n, m)),
        np.zeros((n, degree, m)),
        np.repeat(np.stack([new_history()] * 2)[:, :, None], m, axis=2),  # (2, 4, m)
        np.zeros((s, n, m)),
        np.zeros((N_EW, n, m)),
        np.zeros(0),
        np.zeros(0, dtype=np.int64),
        np.zeros((0, n, degree)),
    )


def bytes_per_member(arrays):
    """Device memory of one member (every array of :class:`MemberArrays`)."""
    return sum(a.nbytes for a in arrays) // arrays.y0.shape[0]


@numba.njit(**NJIT)
def run_member(problem, explicit, controls, switch, steps, run, out, y0):
    """Member ``y0`` from ``steps.t0`` to ``steps.t1``: ``integrate`` with the explicit pair
    alone, its ``start`` and ``step`` themselves, writing the points at ``steps.t_eval`` into
    ``out``.  Without ``t_eval`` only the newest point is kept (every step overwrites row 0),
    and it stays NaN unless the member reached ``t1``, as on the CPU."""
    copy_into(run.work.y, y0)
    start(problem, explicit, None, None, switch, steps, run, out, None)
    keep_last = steps.t_eval.size == 0
    while run.info[0].status == RUNNING:
        if keep_last:
            run.info[0].n_out = 0
        step(problem, explicit, None, None, controls, switch, steps, run, out, None)
    if keep_last and run.info[0].status != DONE:
        py = out.points.y
        for m in range(py.shape[1]):
            py[0, m] = np.nan


@numba.njit(**NJIT)
def member_run(a, s):
    """The :class:`~stepsize.ode._store.Run` and :class:`~stepsize.ode._output.Output` of member
    ``s``: views of the ensemble's arrays."""
    v, e, hist, none = a.vec, a.ew, a.history, a.empty
    work = Work(
        v[0, :, s],
        v[1, :, s],
        v[2, :, s],
        v[3, :, s],
        v[4, :, s],
        v[5, :, s],
        v[6, :, s],
        a.coef[:, :, s],
        hist[0, :, s],
        hist[1, :, s],
    )
    ew = ExplicitWork(a.stages[:, :, s], e[0, :, s], e[1, :, s], e[2, :, s])
    events = EventWork(none, none, none, a.empty_int, none, a.empty_int)
    state, imp, info = a.state[s : s + 1], a.imp[s : s + 1], a.info[s : s + 1]
    run = Run(work, ew, None, None, events, state, imp, info, None)
    rows = a.empty_rows
    out = Output(
        Points(a.t[:, s], a.y[s].T),
        Segments(none, none, rows[:, :, 0], rows),
        EventLog(none, none, rows[:, :, 0]),
        none,
        rows[:, :, 0],  # the profile (never kept here)
    )
    return run, out


if config.ENABLE_CUDASIM:

    def _plain(x):
        """``x`` with the numpy arrays inside the simulator's kernel-side wrappers (the
        member loop is CPU-compiled there; on a GPU this is the identity)."""
        if isinstance(x, tuple):
            return type(x)(*map(_plain, x))
        x = getattr(x, "_item", x)
        return getattr(x, "_ary", x)

else:

    @numba.njit
    def _plain(x):
        return x


_KERNELS = {}


def kernel_for(rhs):
    """The ensemble kernel for the device adapter ``rhs(t, y, out, ctx)`` (one per adapter)."""
    kernel = _KERNELS.get(rhs)
    if kernel is None:
        # The simulator runs the member loop CPU-compiled: there the adapter goes in as a
        # first-class function, as in the CPU loop, so that the loop compiles once for every
        # right-hand side (and loads from Numba's cache).  CUDA has no function pointers: on a
        # GPU the adapter is a constant of the kernel.
        sim = config.ENABLE_CUDASIM
        f = compile_adapter(rhs.py_func, STRIDED) if sim else rhs
        nothing = compile_adapter(_nothing.py_func, STRIDED) if sim else _nothing

        def ensemble_kernel(explicit, controls, switch, steps, arrays):
            s = cuda.grid(1)
            if s < arrays.y0.shape[0]:
                a, ex, st = _plain(arrays), _plain(explicit), _plain(steps)
                ctx = a.ctx[:, s]
                problem = Problem(f, nothing, nothing, ctx, 0, -1, -1, a.empty, a.empty_int)
                run, out = member_run(a, s)
                run_member(problem, ex, controls, switch, st, run, out, a.y0[s])

        kernel = _KERNELS[rhs] = cuda.jit(ensemble_kernel)
    return kernel


@numba.njit(**NJIT)
def _nothing(t, y, out, ctx):
    """The events and Jacobian of a problem without them (never called)."""


def on_device(a):
    """``a`` on the GPU: numpy arrays (also inside named tuples) are copied there; arrays
    already on it (CuPy, Numba, anything with ``__cuda_array_interface__``) are used in place."""
    if isinstance(a, tuple):
        return type(a)(*map(on_device, a)) if hasattr(a, "_fields") else tuple(map(on_device, a))
    if isinstance(a, np.ndarray):
        return cuda.to_device(np.ascontiguousarray(a))
    if is_device_array(a) and not hasattr(a, "copy_to_host"):  # not yet a Numba array
        return cuda.as_cuda_array(a)
    return a


def run_cuda(rhs, explicit, controls, switch, steps, arrays):
    """Launch the ensemble kernel on ``arrays`` (a :class:`MemberArrays`) and wait for it;
    returns the device arrays (``y`` and ``info`` hold the results)."""
    dev = on_device(arrays)
    m = dev.y0.shape[0]
    blocks = (m + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
    kernel_for(rhs)[blocks, THREADS_PER_BLOCK](
        on_device(explicit), controls, switch, on_device(steps), dev
    )
    cuda.synchronize()
    return dev


_ADAPTERS = weakref.WeakKeyDictionary()


def device_rhs(spec):
    """The device adapter of ``spec.fun`` (compiled lazily, for whichever target calls it),
    one per function and layout of ``args``."""
    try:
        entry = _ADAPTERS.setdefault(spec.fun, {})
    except TypeError:  # not weak-referenceable
        entry = {}
    key = (spec.layout.key, spec.inplace)
    if key not in entry:
        source = device_rhs_source(spec.layout, spec.inplace)
        namespace = {"fun": _compiled_user(spec.fun), **spec.layout.frozen}
        entry[key] = numba.njit(error_model="numpy")(generated(source, "rhs", namespace))
    return entry[key]


def check_compiles(rhs):
    """Compile ``rhs`` as a CUDA device function for this GPU (nothing to check in the
    simulator); a ``TypeError`` naming ``fun`` when Numba cannot."""
    if config.ENABLE_CUDASIM:
        return
    try:
        cuda.compile_ptx_for_current_device(rhs.py_func, STRIDED.signature.args, device=True)
    except Exception as exc:  # a compiler failure of any kind (TypingError, TypeError, ...)
        first = str(exc).strip().splitlines()
        raise TypeError(
            "fun: cannot be compiled for backend='cuda' "
            f"({type(exc).__name__}: {first[0] if first else ''}); a GPU thread runs fun as a "
            "CUDA device function, so it may only use what Numba supports there: write it in "
            "place, fun(t, y, dydt, *args) with inplace=True, on scalars and the arrays it is "
            "given (no new arrays, no Python objects)"
        ) from None


def solve_cuda(spec, ctx, y0, tab, ctrl, explicit, controls, switch, steps):
    """``solve_ensemble`` of the members ``y0`` ((m, n), numpy or on the GPU) of the problem
    ``spec`` with context ``ctx``, pair ``tab`` and controller ``ctrl`` (``explicit``,
    ``controls``: as the loop takes them).  ``y`` of the result stays on the GPU (CuPy when
    ``y0`` is CuPy) when ``y0`` was there."""
    rhs = device_rhs(spec)
    check_compiles(rhs)
    s = explicit.c.size + explicit.c_extra.size
    arrays = member_arrays(y0, ctx, max(steps.t_eval.size, 1), s, explicit.Q.shape[1])
    dev = run_cuda(rhs, explicit, controls, switch, steps, arrays)
    info = dev.info.copy_to_host()
    if isinstance(y0, np.ndarray):
        y = dev.y.copy_to_host()
    elif type(y0).__module__.split(".")[0] == "cupy":
        import cupy

        y = cupy.asarray(dev.y)
    else:
        y = dev.y
    status = info["status"]
    taken = info["naccept"] + info["nreject"]
    grid, warp = lane_fractions(taken)
    return EnsembleResult(
        t=steps.t_eval.copy() if steps.t_eval.size else np.array([steps.t1]),
        y=y,
        status=np.where(status < 0, -1, status),
        nfev=info["nfev"].copy(),
        naccept=info["naccept"].copy(),
        nreject=info["nreject"].copy(),
        message=[MESSAGES[int(c)] for c in status],
        success=bool(np.all(status >= 0)),
        stats={
            "method": tab.name,
            "controller": ctrl.name,
            "compiled": True,
            "backend": "cuda",
            "useful_lane_fraction": grid,
            "warp_lane_fraction": warp,
            "mean_steps": float(taken.mean()),
            "max_steps": int(taken.max()),
            "device_bytes_per_member": bytes_per_member(arrays),
        },
    )
