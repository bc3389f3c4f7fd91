"""``solve_ensemble``: many initial values, each with its own adaptive steps, in parallel."""

import functools
import types as pytypes
from dataclasses import dataclass, field

import numba
import numpy as np
from numba import types

from stepsize.control import get_controller
from stepsize.ode._compile import compile_events, compile_jac, compile_rhs
from stepsize.ode._kernel import MODE_EXPLICIT, SIGNATURE, integrate_compiled, integrate_interpreted
from stepsize.ode._solve import (
    MESSAGES,
    check_problem,
    check_step_options,
    get_tableau,
    loop_arguments,
)


@dataclass
class EnsembleResult:
    """Results of ``solve_ensemble`` for ``m`` initial values of dimension ``n``.

    ``t`` the output times (``t_eval``, or just ``t1``); ``y`` shape (m, n, len(t)), NaN where a
    member stopped early; per member ``status`` (as solve_ivp: -1, 0, 1), ``nfev``, ``naccept``,
    ``nreject`` and ``message``; ``success`` when every member succeeded.
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


def _ensemble_impl(
    rhs,
    jac,
    events,
    t0,
    t1,
    Y0,
    c,
    A,
    e,
    e2,
    Q,
    c_x,
    A_x,
    pair,
    radius,
    imp,
    ra,
    rC,
    rc,
    rd,
    rm,
    re,
    rH,
    rgamma,
    rfsal,
    have_jac,
    kl,
    ku,
    mode,
    switch,
    ctrl,
    k_err,
    ctrl_imp,
    k_imp,
    predictive,
    rtol,
    atol,
    first,
    max_step,
    max_steps,
    t_eval,
    ev_dir,
    ev_term,
):
    m, n = Y0.shape
    n_out = max(t_eval.size, 1)
    Y = np.full((m, n_out, n), np.nan)
    counts = np.zeros((m, 4), dtype=np.int64)
    for k in numba.prange(m):
        res = integrate_compiled(
            rhs,
            jac,
            events,
            t0,
            t1,
            Y0[k].copy(),
            c,
            A,
            e,
            e2,
            Q,
            c_x,
            A_x,
            pair,
            radius,
            imp,
            ra,
            rC,
            rc,
            rd,
            rm,
            re,
            rH,
            rgamma,
            rfsal,
            have_jac,
            kl,
            ku,
            mode,
            switch,
            ctrl,
            k_err,
            ctrl_imp,
            k_imp,
            predictive,
            rtol,
            atol,
            first,
            max_step,
            max_steps,
            t_eval,
            False,
            ev_dir,
            ev_term,
        )
        status = res[0]
        ys = res[5]
        counts[k, 0] = status
        counts[k, 1] = res[2][0]
        counts[k, 2] = res[2][4]
        counts[k, 3] = res[2][5]
        if t_eval.size > 0:
            Y[k, : ys.shape[0]] = ys
        elif status == 0:
            Y[k, 0] = ys[ys.shape[0] - 1]
    return Y, counts


_ENSEMBLE_SIGNATURE = SIGNATURE[:5] + (types.float64[:, ::1],) + SIGNATURE[6:41] + SIGNATURE[42:]


@functools.cache
def _ensemble_compiled():
    """The parallel loop, compiled at first use (then loaded from Numba's cache): compiling it
    takes longer than the integration loop itself, so importing ``stepsize.ode`` does not."""
    return numba.njit(_ENSEMBLE_SIGNATURE, parallel=True, cache=True)(_ensemble_impl)


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
    """Integrate ``fun`` from every row of ``Y0`` (shape (m, n)), in parallel with ``numba.prange``.

    Options as :func:`stepsize.ode.solve` for its explicit methods (``controller=None`` is Hairer's
    PI controller, as in ``solve``); each member runs the very loop ``solve`` runs, so its
    values equal those of ``solve`` on that row.  Terminal events stop a member early.
    """
    Y0 = np.asarray(Y0)
    if Y0.ndim != 2:
        raise ValueError(f"Y0 must have shape (m, n), got shape {Y0.shape}")
    rows = [check_problem(t_span, y, rtol, atol) for y in Y0]
    t0, t1, _, rtol_v, atol_v = rows[0]
    Y0 = np.ascontiguousarray(np.stack([r[2] for r in rows]))
    tab = get_tableau(method)
    ctrl = get_controller("PI" if controller is None else controller)
    first, max_step, max_steps, t_eval = check_step_options(
        t0, t1, first_step, max_step, max_steps, t_eval
    )
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    rhs, compiled = compile_rhs(fun, t0, Y0[0], args, compiled)
    g, ev_dir, ev_term, compiled_ev = compile_events(events, t0, Y0[0], args, compiled)
    if compiled and not compiled_ev:
        rhs, compiled = compile_rhs(fun, t0, Y0[0], args, False)
    jac, _, _ = compile_jac(None, t0, Y0[0], args, compiled, None)
    method_args, _ = loop_arguments(MODE_EXPLICIT, method, None, ctrl, False, None)
    options = (*method_args, rtol_v, atol_v, first, max_step, max_steps, t_eval)
    if compiled:
        Y, counts = _ensemble_compiled()(rhs, jac, g, t0, t1, Y0, *options, ev_dir, ev_term)
    else:
        Y, counts = _ensemble_interpreted(rhs, jac, g, t0, t1, Y0, *options, ev_dir, ev_term)
    status = counts[:, 0]
    return EnsembleResult(
        t=t_eval.copy() if t_eval.size else np.array([t1]),
        y=np.transpose(Y, (0, 2, 1)).copy(),
        status=np.where(status < 0, -1, status),
        nfev=counts[:, 1].copy(),
        naccept=counts[:, 2].copy(),
        nreject=counts[:, 3].copy(),
        message=[MESSAGES[int(s)] for s in status],
        success=bool(np.all(status >= 0)),
        stats={"method": tab.name, "controller": ctrl.name, "compiled": compiled},
    )


_ensemble_interpreted = pytypes.FunctionType(
    _ensemble_impl.__code__,
    {**_ensemble_impl.__globals__, "integrate_compiled": integrate_interpreted},
    "ensemble_interpreted",
)
"""The same source run by the interpreter (``numba.prange`` is ``range`` there)."""
