"""``solve_ensemble``: many initial values, each with its own adaptive steps, in parallel.

Each member runs :func:`~stepsize.ode._loop.integrate` itself.  Members go in chunks to a pool of
threads; each chunk is one compiled call that releases the GIL, so the members run in parallel on
all cores without Numba's ``parallel=True`` (whose compilation alone took longer than most
ensembles) and the chunk sizes balance members of unequal cost.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import numba
import numpy as np

from stepsize.control import get_controller
from stepsize.ode._build import build_problem, describe_fault, run_kernel
from stepsize.ode._bundles import CTX_FAULT, FAULT, MODE_EXPLICIT, Problem, Steps
from stepsize.ode._loop import integrate
from stepsize.ode._solve import (
    MESSAGES,
    check_args,
    check_problem,
    check_step_options,
    get_tableau,
    method_bundles,
)
from stepsize.ode._types import fast_dispatch, twinned


@dataclass
class EnsembleResult:
    """Results of ``solve_ensemble`` for ``m`` initial values of dimension ``n``.

    ``t`` the output times (``t_eval``, or just ``t1``); ``y`` shape (m, n, len(t)), NaN where a
    member stopped early; per member ``status`` (as solve_ivp: -1, 0, 1), ``nfev``, ``naccept``,
    ``nreject`` and ``message`` (for a member whose ``fun`` raised, the exception); ``success``
    when every member succeeded.
    """

    t: np.ndarray
    y: np.ndarray
    status: np.ndarray
    nfev: np.ndarray
    naccept: np.ndarray
    nreject: np.ndarray
    message: list
    success: bool
    stats: dict = field(default_factory=dict)


class Members(NamedTuple):
    """Where the members write: states at the output times (m, n_out, n), per member (status,
    nfev, naccept, nreject), and each member's context (m, len(ctx)), which holds its fault."""

    Y: np.ndarray
    counts: np.ndarray
    ctxs: np.ndarray


@fast_dispatch
@twinned
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
        info, out = integrate(
            member, Y0[k].copy(), explicit, None, None, controls, switch, steps, None
        )
        r = info[0]
        members.counts[k, 0] = r.status
        members.counts[k, 1] = r.nfev
        members.counts[k, 2] = r.naccept
        members.counts[k, 3] = r.nreject
        ys = out.points.y
        if steps.t_eval.size > 0:
            members.Y[k, : ys.shape[0]] = ys
        elif r.status == 0:
            members.Y[k, 0] = ys[ys.shape[0] - 1]
        members.ctxs[k] = member.ctx
    return 0


def _threads():
    return max(1, min(numba.config.NUMBA_NUM_THREADS, os.cpu_count() or 1))


def _run_members(built, Y0, ex, controls, switch, steps):
    """All members, chunked over the threads; returns ``(built, Members)``."""
    m, n = Y0.shape
    members = Members(
        np.full((m, max(steps.t_eval.size, 1), n), np.nan),
        np.zeros((m, 4), dtype=np.int64),
        np.zeros((m, built.problem.ctx.size)),
    )
    threads = _threads()
    size = max(1, -(-m // (4 * threads)))
    chunks = [np.array([lo, min(lo + size, m)], dtype=np.int64) for lo in range(0, m, size)]
    # the first chunk alone: it compiles the kernel if needed, or decides to fall back
    built, _ = run_kernel(
        built, ensemble_chunk, Y0, chunks[0], ex, controls, switch, steps, members
    )
    rest = chunks[1:]
    if rest and built.compiled:
        with ThreadPoolExecutor(threads) as pool:
            list(
                pool.map(
                    lambda rows: ensemble_chunk(
                        built.problem, Y0, rows, ex, controls, switch, steps, members
                    ),
                    rest,
                )
            )
    else:
        for rows in rest:
            run_kernel(built, ensemble_chunk, Y0, rows, ex, controls, switch, steps, members)
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
):
    """Integrate ``fun`` from every row of ``Y0`` (shape (m, n)), in parallel on all cores.

    Options as :func:`stepsize.ode.solve` for its explicit methods (``controller=None`` is Hairer's
    PI controller, as in ``solve``); each member runs the very loop ``solve`` runs, so its
    values equal those of ``solve`` on that row.  Terminal events stop a member early; a member
    whose ``fun`` raises stops with status -1 and the exception in its ``message``, the others
    go on.
    """
    Y0 = np.asarray(Y0)
    if Y0.ndim != 2 or Y0.shape[0] == 0:
        raise ValueError(f"Y0 must have shape (m, n) with m >= 1, got shape {Y0.shape}")
    rows = [check_problem(t_span, y, rtol, atol) for y in Y0]
    t0, t1, _, rtol_v, atol_v = rows[0]
    Y0 = np.ascontiguousarray(np.stack([r[2] for r in rows]))
    tab = get_tableau(method)
    ctrl = get_controller("PI" if controller is None else controller)
    first, max_step, max_steps, t_eval = check_step_options(
        t0, t1, first_step, max_step, max_steps, t_eval
    )
    args = check_args(args)
    built = build_problem(fun, t0, Y0[0], args, events=events, compiled=compiled)
    ex, _, _, controls, switch, _ = method_bundles(MODE_EXPLICIT, tab.name, None, ctrl)
    steps = Steps(t0, t1, rtol_v, atol_v, first, max_step, max_steps, t_eval, False, False)
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
