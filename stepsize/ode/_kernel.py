"""The integration loop, compiled end to end: explicit pairs, implicit methods and the switch.

One loop runs every method of :func:`stepsize.ode.solve`.  ``kind`` says which is stepping:
the explicit pair (``EXPLICIT``) or the implicit method ``imp`` (``ROSENBROCK`` or ``RADAU``).
``mode`` fixes ``kind`` (``MODE_EXPLICIT``, ``MODE_IMPLICIT``) or lets the stiffness estimate
choose it (``MODE_AUTO``, OrdinaryDiffEq's AutoSwitch):

* after every accepted step ``h * lambda_hat`` is estimated -- Hairer's estimate from the stiff
  pair of stages for the explicit pair, ``h ||J||_inf`` for the implicit method (as
  OrdinaryDiffEq does when it computes a Jacobian) -- and compared with ``tol * R``, ``R`` the
  explicit pair's stability radius on the negative real axis;
* :func:`stepsize.control.stiffness_count` keeps the run of equal verdicts and
  :func:`stepsize.control.stiffness_tally` Hairer's tally of stiff verdicts (reset by
  ``switch[5]`` non-stiff ones in a row); the explicit pair hands over to the implicit method
  when the tally exceeds ``switch[2]`` (step times ``switch[4]``), the implicit method hands
  back after more than ``switch[3]`` non-stiff verdicts in a row (step divided by
  ``switch[4]``).  ``switch = (tol_explicit, tol_implicit, n_stiff, n_nonstiff, step_factor,
  n_reset)``.

The loop is written once as plain Python over arrays and built twice: compiled with Numba (the
user's functions compiled too, so not one Python call per step) and as the same source run by the
interpreter (:func:`stepsize.ode._types.python_twin`), for functions Numba cannot compile.

Status codes (messages in ``_solve``): 0 reached the end, 1 terminal event, -1 too many steps,
-2 step size underflow, -3 non-finite values, -4 repeatedly singular iteration matrix, -5 Newton
iteration keeps failing (the last two: the step size underflowed after such failures, or the
matrix was singular 5 times in a row as in Hairer's codes).
"""

import numba
import numpy as np
from numba import types

from stepsize.control import (
    accept_ratio,
    new_history,
    reject_ratio,
    rms_error_norm,
    stiffness_count,
    stiffness_estimate,
    stiffness_tally,
)
from stepsize.ode._arrays import all_finite, eval_dense, grow1, grow2, grow3
from stepsize.ode._explicit import rk_dense, rk_stages
from stepsize.ode._jacobian import jacobian, time_derivative
from stepsize.ode._linalg import factor, norm_inf, shifted
from stepsize.ode._radau import (
    MU_COMPLEX,
    MU_REAL,
    NEWTON_MAXITER,
    radau_dense,
    radau_error,
    radau_guess,
    radau_newton,
)
from stepsize.ode._rosenbrock import rosenbrock_dense, rosenbrock_stages
from stepsize.ode._types import FUNC, JFUNC, calls_back, python_twin

EPS = np.finfo(float).eps
DONE, EVENT, MAX_STEPS, UNDERFLOW, NONFINITE, SINGULAR, NEWTON = 0, 1, -1, -2, -3, -4, -5
EXPLICIT, IMPLICIT = 0, 1
NO_IMPLICIT, ROSENBROCK, RADAU = 0, 1, 2
MODE_EXPLICIT, MODE_IMPLICIT, MODE_AUTO = 0, 1, 2


@calls_back
def initial_step(rhs, t0, y0, f0, direction, order, rtol, atol, max_step, span, ybuf):
    """Hairer's starting step (Hairer, Nørsett & Wanner I, Sec. II.4, "Starting step size").

    h0 = 0.01 ||y0|| / ||f0||; one explicit Euler step gives ||f1 - f0|| / h0 ~ ||y''||; then
    h1 = (0.01 / max(||f0||, ||y''||))^(1/(order+1)); return min(100 h0, h1), within the span and
    max_step.  Norms are RMS norms scaled by atol + rtol |y0|.
    """
    n = y0.size
    d0 = 0.0
    d1 = 0.0
    for i in range(n):
        sc = atol[i] + rtol[i] * abs(y0[i])
        d0 += (y0[i] / sc) ** 2
        d1 += (f0[i] / sc) ** 2
    d0 = np.sqrt(d0 / n)
    d1 = np.sqrt(d1 / n)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, span, max_step)
    for i in range(n):
        ybuf[i] = y0[i] + direction * h0 * f0[i]
    f1 = np.empty(n)
    rhs(t0 + direction * h0, ybuf, f1)
    d2 = 0.0
    for i in range(n):
        sc = atol[i] + rtol[i] * abs(y0[i])
        d2 += ((f1[i] - f0[i]) / sc) ** 2
    d2 = np.sqrt(d2 / n) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
    return min(100.0 * h0, h1, span, max_step)


@calls_back
def locate_event(events, i, t_old, h, y_old, coef, a, b, fa, fb, ybuf, gbuf):
    """Root of event ``i`` between times ``a`` and ``b`` on the step's interpolant (Brent's method).

    Brent's zeroin (R. P. Brent, *Algorithms for Minimization without Derivatives*, 1973, ch. 4):
    inverse quadratic interpolation or secant steps, falling back to bisection; tolerance
    ``4 eps (|t| + |h|)``.  Returns (root, event-function evaluations).
    """
    nev = 0
    c = a
    fc = fa
    d = b - a
    e = d
    for _ in range(200):
        if fb * fc > 0.0:
            c = a
            fc = fa
            d = b - a
            e = d
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = 2.0 * EPS * (abs(b) + abs(h))
        m = 0.5 * (c - b)
        if abs(m) <= tol or fb == 0.0:
            break
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:
                p = 2.0 * m * s
                q = 1.0 - s
            else:
                q = fa / fc
                r = fb / fc
                p = s * (2.0 * m * q * (q - r) - (b - a) * (r - 1.0))
                q = (q - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if 2.0 * p < min(3.0 * m * q - abs(tol * q), abs(e * q)):
                e = d
                d = p / q
            else:
                d = m
                e = m
        else:
            d = m
            e = m
        a = b
        fa = fb
        b += d if abs(d) > tol else (tol if m > 0.0 else -tol)
        eval_dense(y_old, coef, (b - t_old) / h, ybuf)
        events(b, ybuf, gbuf)
        fb = gbuf[i]
        nev += 1
    return b, nev


@numba.njit(cache=True)
def elementary_ratio(params, err, k):
    """The elementary controller's ratio ``safety * err^(-1/k)``, clamped to ``[qmin, qmax]``."""
    return min(params[7], max(params[6], params[5] * max(err, 1e-10) ** (-1.0 / k)))


def _integrate_impl(
    rhs,
    jac,
    events,
    t0,
    t1,
    y0,
    c,
    A,
    e,
    e2,
    Q,
    c_extra,
    A_extra,
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
    first_step,
    max_step,
    max_steps,
    t_eval,
    dense,
    ev_dir,
    ev_term,
):
    """Integrate from t0 to t1; see ``_solve.solve`` for the meaning of the options.

    ``c .. A_extra`` the explicit pair (``e2`` empty unless DOP853's second estimate), ``pair`` its
    stiff pair and ``radius`` its stability radius; ``ra .. rfsal`` the Rosenbrock tableau (empty
    for Radau); ``kl < 0`` dense Jacobian, else banded; ``ctrl``/``ctrl_imp`` controller data for
    the explicit/implicit method with ``k = error order + 1`` (``predictive``: the implicit step
    is also limited by the elementary controller, as Gustafsson's in ``radau5.f``/``rodas.f``).
    Returns status, last time, counters, stored output, events and the per-step profile.
    """
    n = y0.size
    s = c.size
    n_extra = c_extra.size
    deg = max(Q.shape[1], rH.shape[1], 3 if imp == RADAU else 0)
    n_events = ev_dir.size
    direction = 1.0 if t1 >= t0 else -1.0
    span = abs(t1 - t0)
    use_t_eval = t_eval.size > 0

    K = np.zeros((s + n_extra, n))
    y = y0.copy()
    y_new = np.empty(n)
    f0 = np.empty(n)
    f_new = np.empty(n)
    ystage = np.empty(n)
    ya = np.empty(n)
    yb = np.empty(n)
    ybuf = np.empty(n)
    fbuf = np.empty(n)
    err_vec = np.empty(n)
    err2_vec = np.empty(n)
    coef = np.zeros((n, deg))
    history = new_history()
    history_imp = new_history()

    # implicit workspace (empty without an implicit method)
    n_imp = n if imp != NO_IMPLICIT else 0
    j_rows = n_imp if kl < 0 else kl + ku + 1
    m_rows = n_imp if kl < 0 else 2 * kl + ku + 1
    J = np.zeros((j_rows if imp != NO_IMPLICIT else 0, n))
    M = np.zeros((m_rows if imp != NO_IMPLICIT else 0, n))
    Mc = np.zeros((m_rows if imp == RADAU else 0, n), dtype=np.complex128)
    piv = np.zeros(n, dtype=np.int64)
    pivc = np.zeros(n, dtype=np.int64)
    U = np.zeros((rc.size, n))
    dfdt = np.zeros(n)
    jac_factor = np.full(n, np.sqrt(EPS))
    Z = np.zeros((3 if imp == RADAU else 0, n))
    W3 = np.zeros_like(Z)
    F3 = np.zeros_like(Z)
    br = np.zeros(n_imp)
    bc = np.zeros(n_imp if imp == RADAU else 0, dtype=np.complex128)
    scale = np.empty(n)
    prev_coef = np.zeros((n, deg))
    y_prev = np.empty(n)
    rmin = rtol.min()
    newton_tol = max(10.0 * EPS / rmin, min(0.03, np.sqrt(rmin)))

    cap = 64
    ts = np.empty(cap)
    ys = np.empty((cap, n))
    n_out = 0
    seg_t = np.empty(cap)
    seg_h = np.empty(cap)
    seg_y = np.empty((cap if dense else 0, n))
    seg_c = np.empty((cap if dense else 0, n, deg))
    n_seg = 0
    ev_i = np.empty(0)
    ev_t = np.empty(0)
    ev_y = np.empty((0, n))
    n_ev = 0
    i_eval = 0
    prof = np.empty((cap, 4))
    counts = np.zeros(9, dtype=np.int64)  # nfev njev nlu ngev naccept nreject nswitch stiff max_run
    t_stiff = np.nan

    t = t0
    rhs(t, y, f0)
    counts[0] = 1
    if not all_finite(f0):
        return (
            NONFINITE,
            t,
            counts,
            t_stiff,
            ts[:0],
            ys[:0],
            seg_t[:0],
            seg_h[:0],
            seg_y[:0],
            seg_c[:0],
            ev_i,
            ev_t,
            ev_y,
            prof[:0],
        )
    if use_t_eval:
        while i_eval < t_eval.size and t_eval[i_eval] == t0:
            ts = grow1(ts, n_out + 1)
            ys = grow2(ys, n_out + 1)
            ts[n_out] = t0
            ys[n_out] = y
            n_out += 1
            i_eval += 1
    else:
        ts[0] = t0
        ys[0] = y
        n_out = 1
    g_old = np.empty(n_events)
    g_new = np.empty(n_events)
    gbuf = np.empty(n_events)
    if n_events > 0:
        events(t, y, g_old)
        counts[3] += 1

    kind = IMPLICIT if mode == MODE_IMPLICIT else EXPLICIT
    if first_step > 0.0:
        h_abs = min(first_step, span)
    else:
        order = (k_imp if kind == IMPLICIT else k_err) - 1.0
        h_abs = initial_step(rhs, t, y, f0, direction, order, rtol, atol, max_step, span, ybuf)
        counts[0] += 1
    rejected_last = False
    last_failure = UNDERFLOW
    n_singular = 0
    jac_stale = True
    jac_current = False
    jnorm = 0.0
    lu_h = 0.0
    have_guess = False
    t_prev = t0
    h_prev = 1.0
    n_iter = 0
    rate = -1.0
    count = 0
    tally = 0
    h_acc = 0.0
    status = 2
    while status == 2:
        if t == t1:
            status = DONE
            break
        if counts[4] + counts[5] >= max_steps:
            status = MAX_STEPS
            break
        h_abs = min(h_abs, max_step)
        if h_abs < max(10.0 * EPS * abs(t), 1e-300):
            status = last_failure
            break
        t_new = t + direction * h_abs
        if direction * (t_new - t1) >= 0.0:
            t_new = t1
        h = t_new - t
        h_abs = abs(h)

        # ---- attempt a step: err (scaled) or a failure code
        failed = 0
        err = 0.0
        if kind == EXPLICIT:
            err = rk_stages(
                rhs,
                t,
                y,
                f0,
                h,
                c,
                A,
                e,
                e2,
                pair,
                K,
                ystage,
                ya,
                yb,
                y_new,
                err_vec,
                err2_vec,
                rtol,
                atol,
            )
            counts[0] += s - 1
            if not (np.isfinite(err) and all_finite(y_new) and all_finite(K[s - 1])):
                failed = NONFINITE
        else:
            if jac_stale:
                counts[0] += jacobian(
                    rhs, jac, have_jac, t, y, f0, kl, ku, atol, jac_factor, J, ybuf, fbuf
                )
                if imp == ROSENBROCK:
                    counts[0] += time_derivative(rhs, t, y, f0, fbuf, dfdt)
                counts[1] += 1
                jnorm = norm_inf(J, kl, ku)
                jac_stale = False
                jac_current = True
                lu_h = 0.0
            if lu_h != h:
                if imp == ROSENBROCK:
                    info = factor(shifted(J, kl, ku, 1.0 / (h * rgamma), M), kl, ku, piv)
                    counts[2] += 1
                else:
                    info = factor(shifted(J, kl, ku, MU_REAL / h, M), kl, ku, piv)
                    if info == 0:
                        info = factor(shifted(J, kl, ku, MU_COMPLEX / h, Mc), kl, ku, pivc)
                    counts[2] += 2
                lu_h = h if info == 0 else 0.0
                if info != 0 or not np.isfinite(jnorm):
                    failed = SINGULAR
            if failed == 0 and imp == ROSENBROCK:
                counts[0] += rosenbrock_stages(
                    rhs,
                    t,
                    y,
                    f0,
                    h,
                    dfdt,
                    M,
                    kl,
                    ku,
                    piv,
                    ra,
                    rC,
                    rc,
                    rd,
                    rm,
                    re,
                    rfsal,
                    U,
                    ybuf,
                    f_new,
                    y_new,
                    err_vec,
                )
                err = rms_error_norm(err_vec, y, y_new, rtol, atol)
                if not (np.isfinite(err) and all_finite(y_new)):
                    failed = NONFINITE
            elif failed == 0:
                if have_guess:
                    radau_guess(prev_coef, t_prev, h_prev, t, h, y, y_prev, Z)
                else:
                    Z[:] = 0.0
                for i in range(n):
                    scale[i] = atol[i] + rtol[i] * abs(y[i])
                converged, n_iter, rate, nf = radau_newton(
                    rhs,
                    t,
                    y,
                    h,
                    Z,
                    scale,
                    newton_tol,
                    M,
                    Mc,
                    kl,
                    ku,
                    piv,
                    pivc,
                    W3,
                    F3,
                    ybuf,
                    br,
                    bc,
                )
                counts[0] += nf
                if not converged and not jac_current:
                    jac_stale = True  # retry this step once with a fresh Jacobian
                    continue
                if not converged:
                    failed = NEWTON
                else:
                    for i in range(n):
                        y_new[i] = y[i] + Z[2, i]
                    counts[0] += radau_error(
                        rhs, t, y, h, Z, f0, M, kl, ku, piv, False, ybuf, fbuf, err_vec
                    )
                    err = rms_error_norm(err_vec, y, y_new, rtol, atol)
                    if rejected_last and err > 1.0:
                        counts[0] += radau_error(
                            rhs, t, y, h, Z, f0, M, kl, ku, piv, True, ybuf, fbuf, err_vec
                        )
                        err = rms_error_norm(err_vec, y, y_new, rtol, atol)
                    if not (np.isfinite(err) and all_finite(y_new)):
                        failed = NONFINITE

        # ---- failure or rejection: retry with a smaller step
        if failed != 0:
            counts[5] += 1
            rejected_last = True
            last_failure = failed
            lu_h = 0.0
            n_singular = n_singular + 1 if failed == SINGULAR else 0
            if n_singular >= 5:
                status = SINGULAR
                break
            h_abs *= ctrl[6] if kind == EXPLICIT else 0.5
            continue
        n_singular = 0
        last_failure = UNDERFLOW
        newton_fac = 1.0
        if kind == IMPLICIT and imp == RADAU:
            newton_fac = (2.0 * NEWTON_MAXITER + 1.0) / (2.0 * NEWTON_MAXITER + n_iter)
        if err > 1.0:
            counts[5] += 1
            rejected_last = True
            if kind == EXPLICIT:
                h_abs *= reject_ratio(ctrl, err, k_err)
            else:
                h_abs *= reject_ratio(ctrl_imp, err, k_imp) * newton_fac
            continue

        # ---- accepted
        if kind == EXPLICIT:
            ratio = accept_ratio(ctrl, history, err, k_err)
        else:
            history_imp[2] = h_abs / h_acc if h_acc > 0.0 else 1.0  # the actual h_n / h_(n-1)
            ratio = accept_ratio(ctrl_imp, history_imp, err, k_imp)
            if predictive:
                ratio = min(ratio, elementary_ratio(ctrl_imp, err, k_imp))
            ratio *= newton_fac
            h_acc = h_abs
        if rejected_last:
            ratio = min(1.0, ratio)
        rejected_last = False
        counts[4] += 1

        if kind == EXPLICIT:
            h_lambda = h_abs * stiffness_estimate(K[pair[0]], K[pair[1]], ya, yb)
            stiff = h_lambda > switch[0] * radius
        else:
            h_lambda = h_abs * jnorm
            stiff = h_lambda > switch[1] * radius
        count = stiffness_count(count, stiff)
        tally = stiffness_tally(tally, count, switch[5])
        if kind == EXPLICIT and stiff:
            counts[7] += 1
            counts[8] = max(counts[8], count)
            if tally > switch[2] and np.isnan(t_stiff):
                t_stiff = t
        prof = grow2(prof, counts[4])
        prof[counts[4] - 1, 0] = t
        prof[counts[4] - 1, 1] = h
        prof[counts[4] - 1, 2] = h_lambda
        prof[counts[4] - 1, 3] = kind

        # ---- dense coefficients when needed: output, events, t_eval inside the step
        have_coef = False
        if kind == IMPLICIT:
            if imp == ROSENBROCK:
                rosenbrock_dense(U, rH, coef)
            else:
                radau_dense(Z, coef)
            have_coef = True
        crossing = False
        if n_events > 0:
            events(t_new, y_new, g_new)
            counts[3] += 1
            for i in range(n_events):
                up = g_old[i] <= 0.0 and g_new[i] >= 0.0
                down = g_old[i] >= 0.0 and g_new[i] <= 0.0
                if (
                    (ev_dir[i] > 0 and up)
                    or (ev_dir[i] < 0 and down)
                    or (ev_dir[i] == 0 and (up or down))
                ):
                    crossing = True
        inside = (
            use_t_eval and i_eval < t_eval.size and (direction * (t_eval[i_eval] - t_new) < 0.0)
        )
        if (dense or crossing or inside) and not have_coef:
            counts[0] += rk_dense(rhs, t, y, h, s, c_extra, A_extra, Q, K, ystage, coef)
            have_coef = True

        t_stop = t_new
        terminal = False
        if crossing:
            roots = np.empty(n_events)
            found = np.zeros(n_events, dtype=np.bool_)
            for i in range(n_events):
                up = g_old[i] <= 0.0 and g_new[i] >= 0.0
                down = g_old[i] >= 0.0 and g_new[i] <= 0.0
                if (
                    (ev_dir[i] > 0 and up)
                    or (ev_dir[i] < 0 and down)
                    or (ev_dir[i] == 0 and (up or down))
                ):
                    root, ng = locate_event(
                        events, i, t, h, y, coef, t, t_new, g_old[i], g_new[i], ybuf, gbuf
                    )
                    counts[3] += ng
                    roots[i] = root
                    found[i] = True
            order = np.argsort(direction * roots)
            for idx in order:
                if not found[idx]:
                    continue
                ev_i = grow1(ev_i, n_ev + 1)
                ev_t = grow1(ev_t, n_ev + 1)
                ev_y = grow2(ev_y, n_ev + 1)
                ev_i[n_ev] = idx
                ev_t[n_ev] = roots[idx]
                eval_dense(y, coef, (roots[idx] - t) / h, ev_y[n_ev])
                n_ev += 1
                if ev_term[idx]:
                    terminal = True
                    t_stop = roots[idx]
                    break
        g_old[:] = g_new

        if use_t_eval:
            while i_eval < t_eval.size and direction * (t_eval[i_eval] - t_stop) <= 0.0:
                ts = grow1(ts, n_out + 1)
                ys = grow2(ys, n_out + 1)
                ts[n_out] = t_eval[i_eval]
                if t_eval[i_eval] == t_new:
                    ys[n_out] = y_new
                else:
                    eval_dense(y, coef, (t_eval[i_eval] - t) / h, ys[n_out])
                n_out += 1
                i_eval += 1
        else:
            ts = grow1(ts, n_out + 1)
            ys = grow2(ys, n_out + 1)
            ts[n_out] = t_stop
            if terminal:
                eval_dense(y, coef, (t_stop - t) / h, ys[n_out])
            else:
                ys[n_out] = y_new
            n_out += 1

        if dense:
            seg_t = grow1(seg_t, n_seg + 1)
            seg_h = grow1(seg_h, n_seg + 1)
            seg_y = grow2(seg_y, n_seg + 1)
            seg_c = grow3(seg_c, n_seg + 1)
            seg_t[n_seg] = t
            seg_h[n_seg] = h
            seg_y[n_seg] = y
            seg_c[n_seg] = coef
            n_seg += 1

        if terminal:
            t = t_stop
            status = EVENT
            break

        # ---- advance: F at the new point, bookkeeping of the implicit method
        if kind == EXPLICIT:
            f_new[:] = K[s - 1]
        elif not (imp == ROSENBROCK and rfsal):
            rhs(t_new, y_new, f_new)
            counts[0] += 1
        if kind == IMPLICIT and imp == ROSENBROCK:
            jac_stale = True
        elif kind == IMPLICIT:
            recompute = n_iter > 2 and rate > 1e-3
            jac_stale = recompute
            jac_current = False
            if not recompute and 1.0 <= ratio < 1.2:
                ratio = 1.0  # keep h and the factorisations (radau5.f: QUOT1 = 1, QUOT2 = 1.2)
            prev_coef[:] = coef
            y_prev[:] = y
            t_prev = t
            h_prev = h
            have_guess = True
        t = t_new
        y[:] = y_new
        f0[:] = f_new

        if mode == MODE_AUTO and kind == EXPLICIT and tally > switch[2]:
            kind = IMPLICIT
            counts[6] += 1
            ratio *= switch[4]
            jac_stale = True
            have_guess = False
            h_acc = 0.0
            history_imp[:] = new_history()
        elif mode == MODE_AUTO and kind == IMPLICIT and count < -switch[3]:
            kind = EXPLICIT
            counts[6] += 1
            ratio /= switch[4]
            history[:] = new_history()
        h_abs *= ratio

    return (
        status,
        t,
        counts,
        t_stiff,
        ts[:n_out],
        ys[:n_out],
        seg_t[:n_seg],
        seg_h[:n_seg],
        seg_y[:n_seg],
        seg_c[:n_seg],
        ev_i[:n_ev],
        ev_t[:n_ev],
        ev_y[:n_ev],
        prof[: counts[4]],
    )


_f8 = types.float64
_i8 = types.int64
_b1 = types.boolean
_vec = types.float64[::1]
_mat = types.float64[:, ::1]
SIGNATURE = (
    FUNC,
    JFUNC,
    FUNC,
    _f8,
    _f8,
    _vec,
    _vec,
    _mat,
    _vec,
    _vec,
    _mat,
    _vec,
    _mat,
    types.int64[::1],
    _f8,
    _i8,
    _mat,
    _mat,
    _vec,
    _vec,
    _vec,
    _vec,
    _mat,
    _f8,
    _b1,
    _b1,
    _i8,
    _i8,
    _i8,
    _vec,
    _vec,
    _f8,
    _vec,
    _f8,
    _b1,
    _vec,
    _vec,
    _f8,
    _f8,
    _i8,
    _vec,
    _b1,
    _vec,
    types.boolean[::1],
)

integrate_compiled = numba.njit(SIGNATURE, cache=True)(_integrate_impl)
"""The loop compiled once for :data:`SIGNATURE` (at first import, then loaded from the cache)."""

integrate_interpreted = python_twin(_integrate_impl, "integrate_interpreted")
"""The same loop run by the interpreter, for functions Numba cannot compile."""
