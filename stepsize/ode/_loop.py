"""The integration loop, compiled end to end: explicit pairs, implicit methods and the switch.

One driver runs every method of :func:`stepsize.ode.solve`, one step at a time (:func:`step`):
attempt (per method family: ``_explicit``, ``_rosenbrock``, ``_radau``), reject or accept with the
controllers of :mod:`stepsize.control`, the stiffness verdict, events and output (``_events``,
``_output``), the switch.  ``state.kind`` says which method is stepping; ``switch.mode`` fixes it
(``MODE_EXPLICIT``, ``MODE_IMPLICIT``) or lets the stiffness estimate choose (``MODE_AUTO``,
OrdinaryDiffEq's AutoSwitch):

* after every accepted step ``h * lambda_hat`` is estimated -- Hairer's estimate from the stiff
  pair of stages for the explicit pair, ``h ||J||_inf`` for the implicit method (as
  OrdinaryDiffEq does when it computes a Jacobian) -- and compared with ``tol * R``, ``R`` the
  explicit pair's stability radius on the negative real axis;
* :func:`stepsize.control.stiffness_count` keeps the run of equal verdicts and
  :func:`stepsize.control.stiffness_tally` Hairer's tally of stiff verdicts (reset by
  ``n_reset`` non-stiff ones in a row); the explicit pair hands over to the implicit method when
  the tally exceeds ``n_stiff`` (step times ``step_factor``), the implicit method hands back
  after more than ``n_nonstiff`` non-stiff verdicts in a row (step divided by ``step_factor``).

A method family that is ``None`` is compiled out (Numba prunes ``x is None`` branches on
arguments), so each combination compiles, when first used, only the code it runs; the implicit
attempts of a run with an explicit pair, the location of events and the stepping loop itself
are called through pointers (:func:`~stepsize.ode._jit.through_pointer`), so that they compile
when a run first reaches them, once for every caller; a run without an explicit pair links its
attempt in (:func:`~stepsize.ode._jit.linked_when_alone`, chosen at typing time), and the GPU
kernel links event location in (:func:`~stepsize.ode._jit.pointer_on_cpu`).
The loop is written once as plain Python over arrays and built twice: compiled with Numba and,
for functions Numba cannot compile, as the same source run by the interpreter
(:func:`~stepsize.ode._jit.python_twin`).  Status codes in :mod:`stepsize.ode._bundles`,
messages in ``_solve``.
"""

import numpy as np
from numba import types

from stepsize.control import (
    accept_ratio,
    elementary_ratio,
    failure_ratio,
    reject_ratio,
    reset_history,
    set_last_ratio,
    stiffness_count,
    stiffness_tally,
)
from stepsize.ode._arrays import all_finite, copy_into, eval_dense
from stepsize.ode._bdf import (
    bdf_accepted,
    bdf_attempt,
    bdf_dense,
    bdf_reject_ratio,
)
from stepsize.ode._bundles import (
    CTX_FAULT,
    DONE,
    EVENT,
    EXPLICIT,
    FAULT,
    IMPLICIT,
    JAC_CONSTANT,
    MAX_STEPS,
    MODE_AUTO,
    MODE_IMPLICIT,
    NONFINITE,
    RETRY,
    RUNNING,
    SINGULAR,
    UNDERFLOW,
)
from stepsize.ode._events import any_crossed, handle_events
from stepsize.ode._explicit import (
    explicit_attempt,
    explicit_dense,
    explicit_last_stage,
    explicit_stiffness,
)
from stepsize.ode._jit import (
    entry,
    fast_dispatch,
    inlined,
    linked_when_alone,
    pointer_call,
    pointer_on_cpu,
    stepping,
    through_pointer,
    twinned,
)
from stepsize.ode._output import (
    has_room,
    make_room,
    push_point,
    push_profile,
    push_segment,
    push_switch,
)
from stepsize.ode._packed import bound, fill_packed, packed_size
from stepsize.ode._radau import (
    newton_factor,
    radau_accepted,
    radau_attempt,
    radau_dense,
)
from stepsize.ode._rosenbrock import (
    rosenbrock_attempt,
    rosenbrock_dense,
)
from stepsize.ode._store import counted_views, free_views, new_store, packed_at

EPS = np.finfo(float).eps


@fast_dispatch
@entry
def integrate(given, y0, explicit, rosenbrock, radau, controls, switch, steps, bdf=None):
    """Integrate the problem ``given`` (with its functions, or their addresses:
    :mod:`stepsize.ode._packed`) from ``steps.t0`` to ``steps.t1``; returns the ``INFO`` record
    and the :class:`~stepsize.ode._output.Output` packed in one array
    (:func:`~stepsize.ode._packed.fill_packed`): a view of the run's store
    (:mod:`stepsize.ode._store`) when the run ended in its first storage, else its own."""
    problem = bound(given)
    degree = dense_degree(explicit, rosenbrock, radau, bdf)
    store = new_store(problem, y0, degree, explicit, rosenbrock, radau, steps, bdf)
    size = run_stored(problem, explicit, rosenbrock, radau, controls, switch, steps, store, bdf)
    if size < 0:  # the first storage is full
        return grown_run_call(
            (problem, explicit, rosenbrock, radau, controls, switch, steps, store, bdf)
        )
    at = packed_at(store, explicit, steps)
    return store.floats[at : at + size]


@stepping
def run_stored(problem, explicit, rosenbrock, radau, controls, switch, steps, store, bdf):
    """Start the run and step while its first storage has room, on views of ``store``
    (:mod:`stepsize.ode._store`); a run that ended is packed into the store
    (:func:`~stepsize.ode._packed.fill_packed`).  Returns the size of the packed run, or -1
    when the storage filled before the run ended."""
    run, out = free_views(store, explicit, steps)
    reset_history(run.work.history)
    reset_history(run.work.history_imp)
    start(problem, explicit, rosenbrock, radau, switch, steps, run, out, bdf)
    run_steps_indirect(problem, explicit, rosenbrock, radau, controls, switch, steps, run, out, bdf)
    if run.info[0].status == RUNNING:
        return -1
    size = packed_size(run.info, out)
    fill_packed(store.floats[packed_at(store, explicit, steps) :], run.info, out)
    return size


@twinned
def grown_run(problem, explicit, rosenbrock, radau, controls, switch, steps, store, bdf):
    """The rest of a run whose first storage (in ``store``) filled: grow it
    (:func:`~stepsize.ode._output.make_room`) and step on, until the run ends; returns the run
    packed as :func:`integrate` does.  Apart from :func:`integrate`, so that there no bundle
    is kept with reference counting (:func:`~stepsize.ode._store.counted_views` compiles when
    a run first outgrows its storage) and ``out`` is assigned once: compiled code counts
    references to every array of a bundle at each assignment."""
    run, out = counted_views(store, explicit, steps)
    n_events = problem.ev_dir.size
    while run.info[0].status == RUNNING:
        if not has_room(out, run.info, steps, n_events):
            out = make_room(out, run.info, steps, n_events)
        run_steps_indirect(
            problem, explicit, rosenbrock, radau, controls, switch, steps, run, out, bdf
        )
    buf = np.empty(packed_size(run.info, out))
    fill_packed(buf, run.info, out)
    return buf


@stepping
def run_steps(problem, explicit, rosenbrock, radau, controls, switch, steps, run, out, bdf):
    """Step while the run goes on and the storage has room for one more step."""
    n_events = problem.ev_dir.size
    while run.info[0].status == RUNNING and has_room(out, run.info, steps, n_events):
        step(problem, explicit, rosenbrock, radau, controls, switch, steps, run, out, bdf)


run_steps_indirect = through_pointer(run_steps, types.none)
""":func:`run_steps` called through a pointer from :func:`integrate`, which then does not
optimise the whole loop a second time (:func:`~stepsize.ode._jit.through_pointer`)."""
grown_run_call = pointer_call(grown_run, types.float64[::1])
""":func:`grown_run` called through a pointer, ``call(args)``: compiled when a run first outgrows
its first storage (:data:`~stepsize.ode._output.CAPACITY`), never for a short one."""
integrate_indirect = through_pointer(integrate, types.float64[::1])
""":func:`integrate` called through a pointer, for compiled callers (the ensemble): they share
the loop that ``solve`` compiled."""
_ATTEMPT = types.Tuple((types.float64, types.int64))
handle_events_call = pointer_on_cpu(
    handle_events, types.Tuple((types.float64, types.boolean)), stepping=True
)
"""The location of a step's events, ``call(args)``: through a pointer on the CPU, compiled when
a run first finds an event function change sign (a run without events compiles none of it,
about 0.6 s of the 14 s a cold first solve takes); linked in on the GPU."""
rosenbrock_attempt_call = linked_when_alone(rosenbrock_attempt, _ATTEMPT, stepping=True)
radau_attempt_call = linked_when_alone(radau_attempt, _ATTEMPT, stepping=True)
bdf_attempt_call = linked_when_alone(bdf_attempt, _ATTEMPT, stepping=True)
"""The implicit attempts, ``call(explicit, args)``: through pointers in a run with an explicit
pair, compiled when it first takes an implicit step (an "auto" run that never finds its problem
stiff compiles none of them); linked in a run without one (``method="bdf"``, ...), where the
pointer's calling convention, every array of the bundles passed field by field, cost 20-50 % of
the CPU time of VDPOL's and ROBER's BDF and Rodas5P runs (:func:`~stepsize.ode._jit.
linked_when_alone`)."""


@twinned
def dense_degree(explicit, rosenbrock, radau, bdf):
    """Degree of the interpolants the methods of a run produce (the storage's)."""
    degree = 0
    if bdf is not None:
        degree = max(degree, bdf.basis.shape[1] - 1)
    if explicit is not None:
        degree = max(degree, explicit.Q.shape[1])
    if rosenbrock is not None:
        degree = max(degree, rosenbrock.H.shape[1])
    if radau is not None:
        degree = max(degree, 3)
    return degree


@inlined
def explicit_k(explicit):
    """``k = error order + 1`` of the explicit pair (1 without one)."""
    if explicit is not None:
        return explicit.k
    return 1.0


@inlined
def implicit_k(rosenbrock, radau, bdf):
    """``k = error order + 1`` of the implicit method (1 without one; BDF's starting order)."""
    if bdf is not None:
        return bdf.k
    if rosenbrock is not None:
        return rosenbrock.k
    if radau is not None:
        return radau.k
    return 1.0


@stepping
def start(problem, explicit, rosenbrock, radau, switch, steps, run, out, bdf):
    """F at the start, the first output, the event values, the first step size."""
    st, info, work = run.state[0], run.info[0], run.work
    t0 = steps.t0
    st.t = t0
    st.last_failure = UNDERFLOW
    problem.rhs(t0, work.y, work.f0, problem.ctx)
    info.nfev = 1
    info.t = t0
    if problem.ctx[CTX_FAULT] != 0.0 or not all_finite(work.f0):
        info.status = FAULT if problem.ctx[CTX_FAULT] != 0.0 else NONFINITE
        return
    if steps.t_eval.size > 0:
        while st.i_eval < steps.t_eval.size and steps.t_eval[st.i_eval] == t0:
            push_point(out, run.info, t0, work.y)
            st.i_eval += 1
    else:
        push_point(out, run.info, t0, work.y)
    if problem.ev_dir.size > 0:
        problem.events(t0, work.y, run.events.g_old, problem.ctx)
        info.ngev += 1
    st.kind = IMPLICIT if switch.mode == MODE_IMPLICIT else EXPLICIT
    span = abs(steps.t1 - t0)
    if steps.first_step > 0.0:
        st.h_abs = min(steps.first_step, span)
    else:
        k = implicit_k(rosenbrock, radau, bdf) if st.kind == IMPLICIT else explicit_k(explicit)
        st.h_abs = initial_step(problem, work, t0, k - 1.0, steps, span)
        info.nfev += 1


@twinned
def initial_step(problem, work, t0, order, steps, span):
    """Hairer's starting step (Hairer, Nørsett & Wanner I, Sec. II.4, "Starting step size").

    h0 = 0.01 ||y0|| / ||f0||; one explicit Euler step gives ||f1 - f0|| / h0 ~ ||y''||; then
    h1 = (0.01 / max(||f0||, ||y''||))^(1/(order+1)); return min(100 h0, h1), within the span and
    max_step.  Norms are RMS norms scaled by atol + rtol |y0| (a zero scale counts as 1).
    """
    y0, f0, rtol, atol = work.y, work.f0, steps.rtol, steps.atol
    direction = 1.0 if steps.t1 >= t0 else -1.0
    n = y0.size
    d0 = 0.0
    d1 = 0.0
    for i in range(n):
        sc = atol[i] + rtol[i] * abs(y0[i])
        sc = sc if sc > 0.0 else 1.0
        d0 += (y0[i] / sc) ** 2
        d1 += (f0[i] / sc) ** 2
    d0 = np.sqrt(d0 / n)
    d1 = np.sqrt(d1 / n)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, span, steps.max_step)
    for i in range(n):
        work.ybuf[i] = y0[i] + direction * h0 * f0[i]
    problem.rhs(t0 + direction * h0, work.ybuf, work.fbuf, problem.ctx)
    d2 = 0.0
    for i in range(n):
        sc = atol[i] + rtol[i] * abs(y0[i])
        sc = sc if sc > 0.0 else 1.0
        d2 += ((work.fbuf[i] - f0[i]) / sc) ** 2
    d2 = np.sqrt(d2 / n) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
    h = min(100.0 * h0, h1, span, steps.max_step)
    return h if h > 0.0 and np.isfinite(h) else h0


@inlined
def step(problem, explicit, rosenbrock, radau, controls, switch, steps, run, out, bdf):
    """One attempted step and everything that follows from it."""
    if stopped(problem, steps, run):
        return
    st = run.state[0]
    direction = 1.0 if steps.t1 >= steps.t0 else -1.0
    t = st.t
    t_new = t + direction * st.h_abs
    if direction * (t_new - steps.t1) >= 0.0:
        t_new = steps.t1
    h = t_new - t
    st.h_abs = abs(h)
    err, failed = attempt(problem, explicit, rosenbrock, radau, steps, run, t, h, bdf)
    if failed == RETRY:
        return
    if failed != 0 or err > 1.0:
        reject(controls, explicit, rosenbrock, radau, run, err, failed, bdf)
        return
    ratio = accepted_ratio(controls, explicit, rosenbrock, radau, run, err, bdf)
    stiffness_verdict(explicit, switch, steps, run, out, t, h)
    t_stop, terminal = record(
        problem, explicit, rosenbrock, radau, steps, run, out, t, h, t_new, bdf
    )
    if terminal:
        st.t = t_stop
        run.info[0].t = t_stop
        run.info[0].status = EVENT
        return
    ratio = advance(problem, explicit, rosenbrock, radau, run, t, h, t_new, ratio, bdf)
    ratio = switch_method(switch, run, out, ratio)
    st.h_abs *= ratio


@inlined
def stopped(problem, steps, run):
    """Whether the run ends before the next attempt: a fault of a user function, the end
    reached, too many steps, or a step size too small for the time (then the last failure)."""
    st, info = run.state[0], run.info[0]
    if problem.ctx[CTX_FAULT] != 0.0:
        info.status = FAULT
    elif st.t == steps.t1:
        info.status = DONE
    elif info.naccept + info.nreject >= steps.max_steps:
        info.status = MAX_STEPS
    else:
        st.h_abs = min(st.h_abs, steps.max_step)
        if not st.h_abs >= max(10.0 * EPS * abs(st.t), 1e-300):
            info.status = st.last_failure
    if info.status == RUNNING:
        return False
    info.t = st.t
    return True


@inlined
def attempt(problem, explicit, rosenbrock, radau, steps, run, t, h, bdf):
    """The stepping method's attempt: ``(scaled error, failure code or 0)``."""
    if run.state[0].kind == EXPLICIT:
        if explicit is not None:
            err = explicit_attempt(problem, explicit, run.ew, run.work, t, h, steps)
            run.info[0].nfev += explicit.c.size - 1
            return err, 0 if np.isfinite(err) else NONFINITE
        return np.nan, NONFINITE
    if rosenbrock is not None:
        return rosenbrock_attempt_call(
            explicit, (problem, rosenbrock, run.rw, run.imp, run.work, t, h, steps, run.info)
        )
    if radau is not None:
        rejected = run.state[0].rejected_last
        return radau_attempt_call(
            explicit, (problem, run.radw, run.imp, run.work, t, h, rejected, steps, run.info)
        )
    if bdf is not None:
        return bdf_attempt_call(
            explicit, (problem, bdf, run.bdw, run.imp, run.work, t, h, steps, run.info)
        )
    return np.nan, NONFINITE


@inlined
def reject(controls, explicit, rosenbrock, radau, run, err, failed, bdf):
    """A rejected step (``err > 1``) or a failed one: shrink the step for the retry; five
    singular iteration matrices in a row end the run (as Hairer's codes)."""
    st, info = run.state[0], run.info[0]
    info.nreject += 1
    st.rejected_last = True
    if failed != 0:
        st.last_failure = failed
        run.imp[0].lu_h = 0.0
        st.n_singular = st.n_singular + 1 if failed == SINGULAR else 0
        if st.n_singular >= 5:
            info.status = SINGULAR
            info.t = st.t
        st.h_abs *= failure_ratio(controls.explicit) if st.kind == EXPLICIT else 0.5
        return
    st.n_singular = 0
    st.last_failure = UNDERFLOW
    if st.kind == EXPLICIT:
        st.h_abs *= reject_ratio(controls.explicit, err, explicit_k(explicit))
        return
    if bdf is not None:
        st.h_abs *= bdf_reject_ratio(run.bdw, run.imp, err)
        return
    ratio = reject_ratio(controls.implicit, err, implicit_k(rosenbrock, radau, bdf))
    if radau is not None:
        ratio *= newton_factor(run.imp[0].n_iter)
    st.h_abs *= ratio


@inlined
def accepted_ratio(controls, explicit, rosenbrock, radau, run, err, bdf):
    """Count the accepted step; the controller's ratio for the next one (no growth right
    after a rejection)."""
    st, work = run.state[0], run.work
    if st.kind == EXPLICIT:
        ratio = accept_ratio(controls.explicit, work.history, err, explicit_k(explicit))
    elif bdf is not None:
        ratio = 1.0  # BDF chooses its step and order itself (bdf_accepted, in advance)
    else:
        k = implicit_k(rosenbrock, radau, bdf)
        set_last_ratio(work.history_imp, st.h_abs / st.h_acc if st.h_acc > 0.0 else 1.0)
        ratio = accept_ratio(controls.implicit, work.history_imp, err, k)
        if controls.predictive:
            ratio = min(ratio, elementary_ratio(controls.implicit, err, k))
        if radau is not None:
            ratio *= newton_factor(run.imp[0].n_iter)
        st.h_acc = st.h_abs
    if st.rejected_last:
        ratio = min(1.0, ratio)
    st.rejected_last = False
    st.n_singular = 0
    st.last_failure = UNDERFLOW
    run.info[0].naccept += 1
    return ratio


@inlined
def stiffness_verdict(explicit, switch, steps, run, out, t, h):
    """``h lambda_hat`` of the accepted step, the run and tally of stiff verdicts, the profile."""
    st, info = run.state[0], run.info[0]
    if st.kind == EXPLICIT:
        h_lambda = abs(h) * stiffness_of(explicit, run.ew, run.work.y_new)
        stiff = h_lambda > switch.tol_explicit * switch.radius
    else:
        h_lambda = abs(h) * run.imp[0].jnorm
        stiff = h_lambda > switch.tol_implicit * switch.radius
    info.max_ratio = max(info.max_ratio, h_lambda / switch.radius)
    st.count = stiffness_count(st.count, stiff)
    st.tally = stiffness_tally(st.tally, st.count, switch.n_reset)
    if st.kind == EXPLICIT and stiff:
        info.stiff_steps += 1
        info.max_run = max(info.max_run, st.count)
        if st.tally > switch.n_stiff and np.isnan(info.t_stiff):
            info.t_stiff = t
    if steps.profile:
        push_profile(out, run.info, t, h, h_lambda, st.kind)


@inlined
def stiffness_of(explicit, ew, y_new):
    """Hairer's ``lambda_hat`` of the explicit step just taken, to ``y_new`` (0 without an
    explicit pair)."""
    if explicit is not None:
        return explicit_stiffness(explicit, ew, y_new)
    return 0.0


@inlined
def record(problem, explicit, rosenbrock, radau, steps, run, out, t, h, t_new, bdf):
    """Interpolant (only when dense output, an event or a ``t_eval`` inside the step needs it:
    building it every step cost BDF about 6 % of its time), events, output points, dense
    segment of the step from ``t`` to ``t_new = t + h``.  Returns ``(t_stop, terminal)``."""
    st, info, work, ew = run.state[0], run.info[0], run.work, run.events
    crossing = False
    if problem.ev_dir.size > 0:
        problem.events(t_new, work.y_new, ew.g_new, problem.ctx)
        info.ngev += 1
        crossing = any_crossed(ew, problem.ev_dir)
    direction = 1.0 if h > 0.0 else -1.0
    te = steps.t_eval
    inside = st.i_eval < te.size and direction * (te[st.i_eval] - t_new) < 0.0
    if steps.dense or crossing or inside:
        if st.kind == IMPLICIT:
            implicit_dense(rosenbrock, radau, run, work.coef, bdf)
        else:
            info.nfev += dense_of(problem, explicit, run.ew, work, t, h)
    t_stop = t_new
    terminal = False
    if crossing:
        t_stop, terminal = handle_events_call(
            (problem, ew, t, h, work.y, work.coef, t_new, work.ybuf, out, run.info)
        )
    for i in range(ew.g_old.size):
        ew.g_old[i] = ew.g_new[i]
    if te.size > 0:
        while st.i_eval < te.size and direction * (te[st.i_eval] - t_stop) <= 0.0:
            if te[st.i_eval] == t_new:
                copy_into(work.ybuf, work.y_new)
            else:
                eval_dense(work.y, work.coef, (te[st.i_eval] - t) / h, work.ybuf)
            push_point(out, run.info, te[st.i_eval], work.ybuf)
            st.i_eval += 1
    elif terminal:
        eval_dense(work.y, work.coef, (t_stop - t) / h, work.ybuf)
        push_point(out, run.info, t_stop, work.ybuf)
    else:
        push_point(out, run.info, t_new, work.y_new)
    if steps.dense:
        push_segment(out, run.info, t, h, work.y, work.coef)
    return t_stop, terminal


@inlined
def implicit_dense(rosenbrock, radau, run, coef, bdf):
    """Interpolant coefficients of the implicit step just taken."""
    if bdf is not None:
        bdf_dense(bdf, run.bdw, coef)
    if rosenbrock is not None:
        rosenbrock_dense(run.rw.U, rosenbrock.H, coef)
    if radau is not None:
        radau_dense(run.radw.Z, coef)


@inlined
def dense_of(problem, explicit, ew, work, t, h):
    """Interpolant coefficients of the explicit step just taken; returns F evaluations."""
    if explicit is not None:
        return explicit_dense(problem, explicit, ew, work.y, t, h, work.coef)
    return 0


@inlined
def advance(problem, explicit, rosenbrock, radau, run, t, h, t_new, ratio, bdf):
    """Move to ``t_new``: F there (free for explicit pairs and FSAL methods), the implicit
    method's bookkeeping; returns the step ratio (Radau may keep ``h``)."""
    st, work = run.state[0], run.work
    if st.kind == EXPLICIT:
        last_stage(explicit, run.ew, work.f0)  # straight into f0 (an implicit step copies it below)
    elif not fsal(rosenbrock) and not skips_f(bdf):
        problem.rhs(t_new, work.y_new, work.f_new, problem.ctx)
        run.info[0].nfev += 1
    if st.kind == IMPLICIT:
        if rosenbrock is not None:
            run.imp[0].jac_stale = True
        if radau is not None:
            constant = problem.jac_mode == JAC_CONSTANT
            ratio = radau_accepted(run.radw, run.imp, constant, work.y, t, h, ratio)
        if bdf is not None:
            ratio = bdf_accepted(problem, bdf, run.bdw, run.imp)
    st.t = t_new
    copy_into(work.y, work.y_new)
    if st.kind == IMPLICIT:
        copy_into(work.f0, work.f_new)
    return ratio


@inlined
def last_stage(explicit, ew, f_new):
    """``F(t + h, y_new)``: the explicit pair's last stage."""
    if explicit is not None:
        explicit_last_stage(explicit, ew, f_new)


@inlined
def fsal(rosenbrock):
    """Whether the implicit method leaves ``F(t + h, y_new)`` in ``f_new`` itself."""
    if rosenbrock is not None:
        return rosenbrock.fsal
    return False


@inlined
def skips_f(bdf):
    """Whether the step needs no ``F(t + h, y_new)``: BDF's history replaces it, unless an
    explicit method may take over."""
    if bdf is not None:
        return not bdf.need_f
    return False


@inlined
def switch_method(switch, run, out, ratio):
    """The automatic switch between the explicit and the implicit method (module docstring)."""
    if switch.mode != MODE_AUTO:
        return ratio
    st, info = run.state[0], run.info[0]
    if st.kind == EXPLICIT and st.tally > switch.n_stiff:
        st.kind = IMPLICIT
        ratio *= switch.step_factor
        imp = run.imp[0]
        imp.jac_stale = True
        imp.have_guess = False
        st.h_acc = 0.0
        reset_history(run.work.history_imp)
    elif st.kind == IMPLICIT and st.count < -switch.n_nonstiff:
        st.kind = EXPLICIT
        ratio /= switch.step_factor
        reset_history(run.work.history)
    else:
        return ratio
    info.nswitch += 1
    push_switch(out, run.info, st.t)
    return ratio
