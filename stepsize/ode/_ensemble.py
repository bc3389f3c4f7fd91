"""``solve_ensemble``: many initial values, each with its own adaptive steps, in parallel.

Each member runs :func:`~stepsize.ode._loop.integrate` itself.  Members go in chunks to a pool of
threads; each chunk is one compiled call that releases the GIL, so the members run in parallel on
all cores without Numba's ``parallel=True`` (whose compilation alone took longer than most
ensembles) and the chunk sizes balance members of unequal cost.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numba
import numpy as np

from stepsize._chunks import check_client, split
from stepsize.backend import is_device_array, require_cuda, to_numpy
from stepsize.control import get_controller
from stepsize.ode._build import build_problem, describe_fault, run_kernel
from stepsize.ode._bundles import CTX_FAULT, FAULT, MODE_EXPLICIT, Problem, Steps
from stepsize.ode._chunked import solve_chunked
from stepsize.ode._ensemble_result import EnsembleResult
from stepsize.ode._jit import entry, fast_dispatch
from stepsize.ode._loop import integrate_indirect
from stepsize.ode._packed import N_OUT, NACCEPT, NFEV, NREJECT, STATUS, packed_count, packed_state
from stepsize.ode._solve import (
    MESSAGES,
    SCIPY_NAMES,
    check_args,
    check_problem,
    check_step_options,
    get_tableau,
    method_bundles,
)
from stepsize.ode._tableaux import TABLEAUX

BACKENDS = ("numba", "cuda")


class Members(NamedTuple):
    """Where the members write: states at the output times (m, n_out, n), per member (status,
    nfev, naccept, nreject), and each member's context (m, len(ctx)), which holds its fault."""

    Y: np.ndarray
    counts: np.ndarray
    ctxs: np.ndarray


@fast_dispatch
@entry
def ensemble_chunk(problem, Y0, rows, explicit, controls, switch, steps, members):
    """Members ``rows[0] <= k < rows[1]`` of ``Y0``, one after the other."""
    for k in range(rows[0], rows[1]):
        member = Problem(
            problem.rhs,
            problem.jac,
            problem.events,
            problem.ctx.copy(),
            problem.jac_mode,
            problem.kl,
            problem.ku,
            problem.ev_dir,
            problem.ev_term,
        )
        buf = integrate_indirect(
            member, Y0[k].copy(), explicit, None, None, controls, switch, steps, None
        )
        for j, at in enumerate((STATUS, NFEV, NACCEPT, NREJECT)):
            members.counts[k, j] = packed_count(buf, at)
        stored = packed_count(buf, N_OUT)
        if steps.t_eval.size > 0:
            for i in range(stored):
                packed_state(buf, i, members.Y[k, i])
        elif members.counts[k, 0] == 0:
            packed_state(buf, stored - 1, members.Y[k, 0])
        members.ctxs[k] = member.ctx
    return 0


def _threads():
    return max(1, min(numba.config.NUMBA_NUM_THREADS, os.cpu_count() or 1))


def member_chunks(m, threads):
    """Rows ``[lo, hi)`` of the ``m`` members as the threads take them: the first member alone
    (it compiles the kernel, or finds that it must fall back, before the threads start), then
    ``4 * threads`` chunks of the rest, so that a thread that drew cheap members takes another
    chunk while the others finish theirs (members of one ensemble can differ in cost many
    times over)."""
    size = max(1, -(-(m - 1) // (4 * threads)))
    bounds = [0, *range(1, m, size), m]
    return [np.array([lo, hi], dtype=np.int64) for lo, hi in zip(bounds[:-1], bounds[1:])]


def _run_members(built, Y0, ex, controls, switch, steps):
    """All members, chunked over the threads; returns ``(built, Members)``."""
    m, n = Y0.shape
    members = Members(
        np.full((m, max(steps.t_eval.size, 1), n), np.nan),
        np.zeros((m, 4), dtype=np.int64),
        np.zeros((m, built.problem.ctx.size)),
    )
    threads = _threads()
    chunks = member_chunks(m, threads)
    # the first member alone: it compiles the kernel if needed, or decides to fall back
    built, _ = run_kernel(
        built, ensemble_chunk, Y0, chunks[0], ex, controls, switch, steps, members, addressed=True
    )
    rest = chunks[1:]
    if rest and built.compiled:
        with ThreadPoolExecutor(threads) as pool:
            list(
                pool.map(
                    lambda rows: ensemble_chunk(
                        built.addressed, Y0, rows, ex, controls, switch, steps, members
                    ),
                    rest,
                )
            )
    else:
        for rows in rest:
            run_kernel(
                built,
                ensemble_chunk,
                Y0,
                rows,
                ex,
                controls,
                switch,
                steps,
                members,
                addressed=True,
            )
    return built, members


def solve_ensemble(
    fun,
    t_span,
    Y0,
    method="dp5",
    t_eval=None,
    events=None,
    rtol=1e-3,
    atol=1e-6,
    controller=None,
    first_step=None,
    max_step=np.inf,
    max_steps=100_000,
    args=(),
    compiled=True,
    inplace=False,
    backend="numba",
    client=None,
    chunk_size=1000,
    checkpoint=None,
):
    """Integrate ``fun`` from every row of ``Y0`` (shape (m, n)), in parallel on all cores.

    Options as :func:`stepsize.ode.solve` for its explicit methods (``controller=None`` is Hairer's
    PI controller, as in ``solve``); each member runs the very loop ``solve`` runs, so its
    values equal those of ``solve`` on that row.  Terminal events stop a member early; a member
    whose ``fun`` raises stops with status -1 and the exception in its ``message``, the others
    go on.  ``inplace=True``: ``fun(t, y, dydt, *args)`` writes ``dydt`` (as in ``solve``).

    ``backend="cuda"`` runs one GPU thread per member (the same step functions compiled as
    CUDA device functions, :mod:`stepsize.ode._cuda`): explicit pairs, no events, ``fun``
    compilable for CUDA (best written in place); ``Y0`` may be a CuPy array or any array with
    ``__cuda_array_interface__``, and ``y`` then stays on the GPU (CuPy for CuPy).  A member
    whose ``fun`` fails there stops with a non-finite state (status -1).  ``stats`` adds the
    useful-lane fractions (mean over max steps per launch and per warp) and the device bytes
    per member.

    ``client``: a ``dask.distributed.Client``; the members go in chunks of ``chunk_size``, each
    one task (``backend`` on the worker).  ``checkpoint``: a path; the members run
    ``chunk_size`` at a time and every finished chunk is saved there (atomically), so that a
    rerun with the same arguments keeps the chunks an interrupted run finished.  Either way
    the results equal those of the local run.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend: unknown {backend!r}; known: {', '.join(BACKENDS)}")
    chunked = client is not None or checkpoint is not None
    if chunked:
        check_client(client)
        options = dict(
            method=method,
            t_eval=t_eval,
            events=events,
            rtol=rtol,
            atol=atol,
            controller=controller,
            first_step=first_step,
            max_step=max_step,
            max_steps=max_steps,
            args=args,
            compiled=compiled,
            inplace=inplace,
            backend=backend,
        )
    on_gpu = Y0 if on_device(Y0) else None
    Y0 = host_copy(Y0) if on_gpu is not None else np.asarray(Y0)
    if Y0.ndim != 2 or Y0.shape[0] == 0:
        raise ValueError(f"Y0 must have shape (m, n) with m >= 1, got shape {Y0.shape}")
    t0, t1, _, rtol_v, atol_v = check_problem(t_span, Y0[0], rtol, atol)  # row 0 stands for all
    try:
        Y0 = np.ascontiguousarray(Y0, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"Y0 must hold real numbers, got {Y0!r}") from None
    if not np.all(np.isfinite(Y0)):
        raise ValueError("Y0 must be finite (it contains nan or inf)")
    if backend == "cuda":
        check_cuda_options(method, events)
    tab = get_tableau(method)
    ctrl = get_controller("PI" if controller is None else controller)
    first, max_step, max_steps, t_eval = check_step_options(
        t0, t1, first_step, max_step, max_steps, t_eval
    )
    args = check_args(args)
    ex, _, _, controls, switch, _ = method_bundles(MODE_EXPLICIT, tab.name, None, ctrl)
    # without t_eval only y(t1) is kept: asking the loop for t1 alone stores no other step
    ends = t_eval if t_eval.size or not np.isfinite(t1) else np.array([t1])
    steps = Steps(t0, t1, rtol_v, atol_v, first, max_step, max_steps, ends, False, False)
    if chunked:
        chunks = split(len(Y0), chunk_size)
        return solve_chunked(solve_ensemble, fun, t_span, Y0, options, chunks, client, checkpoint)
    if backend == "cuda":
        cuda_y0 = Y0 if on_gpu is None or on_gpu.dtype != np.float64 else on_gpu
        return _solve_cuda(
            fun, args, inplace, Y0[0], cuda_y0, tab, ctrl, ex, controls, switch, steps
        )
    built = build_problem(fun, t0, Y0[0], args, events=events, compiled=compiled, inplace=inplace)
    built, members = _run_members(built, Y0, ex, controls, switch, steps)
    status = members.counts[:, 0].copy()
    messages = [MESSAGES[int(s)] for s in status]
    for k in np.flatnonzero(members.ctxs[:, CTX_FAULT] != 0.0):
        exc = describe_fault(built.spec, members.ctxs[k])
        notes = "".join(f" {note}" for note in getattr(exc, "__notes__", []))
        messages[k] = f"{type(exc).__name__}: {exc}{notes}"
        status[k] = FAULT
    return EnsembleResult(
        t=t_eval.copy() if t_eval.size else np.array([t1]),
        y=np.transpose(members.Y, (0, 2, 1)).copy(),
        status=np.where(status < 0, -1, status),
        nfev=members.counts[:, 1].copy(),
        naccept=members.counts[:, 2].copy(),
        nreject=members.counts[:, 3].copy(),
        message=messages,
        success=bool(np.all(status >= 0)),
        stats={"method": tab.name, "controller": ctrl.name, "compiled": built.compiled},
    )


def on_device(a):
    """Whether ``a`` lives on the GPU: CuPy or anything with ``__cuda_array_interface__``, or a
    Numba device array (the CUDA simulator's have no interface)."""
    return is_device_array(a) or hasattr(a, "copy_to_host")


def host_copy(a):
    """A numpy copy of the device array ``a``."""
    return a.copy_to_host() if hasattr(a, "copy_to_host") else to_numpy(a)


def check_cuda_options(method, events):
    """What ``backend="cuda"`` cannot run: an implicit method, events."""
    if not (isinstance(method, str) and SCIPY_NAMES.get(method, method) in TABLEAUX):
        raise ValueError(
            f"method: backend='cuda' runs the explicit pairs ({', '.join(TABLEAUX)}), not "
            f"{method!r}; implicit methods run on the CPU (backend='numba')"
        )
    if events is not None:
        raise ValueError("events: not supported with backend='cuda' (use backend='numba')")


def _solve_cuda(fun, args, inplace, y0, Y0, tab, ctrl, ex, controls, switch, steps):
    """``solve_ensemble`` on the GPU (:func:`stepsize.ode._cuda.solve_cuda`)."""
    require_cuda()
    from stepsize.ode._cuda import solve_cuda

    built = build_problem(fun, steps.t0, y0, args, compiled=False, inplace=inplace)
    return solve_cuda(built.spec, built.problem.ctx, Y0, tab, ctrl, ex, controls, switch, steps)
