"""The explicit Runge–Kutta integration loop, compiled end to end.

The loop is written once as plain Python over arrays and built twice: compiled with Numba (the
user's right-hand side compiled too, so not one Python call per step) and as the same source run by
the interpreter, for right-hand sides Numba cannot compile.  Both give the same answers.

Status codes returned by the loop (mapped to messages in ``_solve``): 0 reached the end, 1 a
terminal event, -1 too many steps, -2 step size underflow, -3 non-finite values.
"""

import types as pytypes

import numba
import numpy as np
from numba import types

from stepsize.control import accept_ratio, new_history, reject_ratio, rms_error_norm
from stepsize.ode._arrays import (
    all_finite,
    dense_coefficients,
    eval_dense,
    grow1,
    grow2,
    grow3,
    stage_state,
    weighted_sum,
)

EPS = np.finfo(float).eps
DONE, EVENT, MAX_STEPS, UNDERFLOW, NONFINITE = 0, 1, -1, -2, -3


def _initial_step_impl(rhs, t0, y0, f0, direction, order, rtol, atol, max_step, span, ybuf):
    """Hairer's starting step (Hairer, Nørsett & Wanner I, Sec. II.4, "Starting step size").

    h0 = 0.01 ||y0|| / ||f0||; one explicit Euler step gives ||f1 - f0|| / h0 ~ ||y''||; then
    h1 = (0.01 / max(||f0||, ||y''||))^(1/(order+1)); return min(100 h0, h1), within the span and
    max_step.  Norms are RMS norms scaled by atol + rtol |y0|.  Returns (h, f evaluations).
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
    return min(100.0 * h0, h1, span, max_step), 1


def _locate_event_impl(events, i, t_old, h, y_old, coef, a, b, fa, fb, ybuf, gbuf):
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


def _integrate_impl(
    rhs, events, t0, t1, y0, c, A, e, e2, Q, c_extra, A_extra, ctrl, k_err, rtol, atol, first_step,
    max_step, max_steps, t_eval, dense, ev_dir, ev_term,
):
    """Integrate from t0 to t1; see ``_solve.solve`` for the meaning of the options.

    ``rhs(t, y, out)`` writes f(t, y) into ``out``; ``events(t, y, out)`` writes the event values.
    ``c, A, e, e2, Q, c_extra, A_extra`` are the tableau (``e2`` empty unless the pair has DOP853's
    second estimate).  Returns a tuple of status, counters and the stored arrays.
    """
    n = y0.size
    s = c.size
    n_extra = c_extra.size
    deg = Q.shape[1]
    n_events = ev_dir.size
    direction = 1.0 if t1 >= t0 else -1.0
    span = abs(t1 - t0)
    use_t_eval = t_eval.size > 0

    K = np.zeros((s + n_extra, n))
    y = y0.copy()
    y_new = np.empty(n)
    ystage = np.empty(n)
    ybuf = np.empty(n)
    err_vec = np.empty(n)
    err2_vec = np.empty(n)
    coef = np.zeros((n, deg))
    history = new_history()

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

    t = t0
    rhs(t, y, K[0])
    nfev = 1
    ngev = 0
    if not all_finite(K[0]):
        return (NONFINITE, t, nfev, ngev, 0, 0, ts[:0], ys[:0], seg_t[:0], seg_h[:0], seg_y[:0],
                seg_c[:0], ev_i, ev_t, ev_y)
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
        ngev += 1

    if first_step > 0.0:
        h_abs = min(first_step, span)
    else:
        h_abs, nf = _initial_step(rhs, t, y, K[0], direction, k_err - 1.0, rtol, atol,
                                  max_step, span, ybuf)
        nfev += nf
    naccept = 0
    nreject = 0
    rejected_last = False
    nonfinite_last = False
    status = 2
    while status == 2:
        if t == t1:
            status = DONE
            break
        if naccept + nreject >= max_steps:
            status = MAX_STEPS
            break
        h_abs = min(h_abs, max_step)
        min_step = max(10.0 * EPS * abs(t), 1e-300)
        if h_abs < min_step:
            status = NONFINITE if nonfinite_last else UNDERFLOW
            break
        t_new = t + direction * h_abs
        if direction * (t_new - t1) >= 0.0:
            t_new = t1
        h = t_new - t
        h_abs = abs(h)

        for i in range(1, s):
            stage_state(y, h, A, K, i, i, ystage)
            if i == s - 1:
                y_new[:] = ystage
            rhs(t + c[i] * h, ystage, K[i])
        nfev += s - 1
        weighted_sum(e, K[:s], h, err_vec)
        if e2.size > 0:
            # Hairer's dop853.f: err = |h| e5^2 / sqrt(e5^2 + 0.01 e3^2), summed scaled squares.
            weighted_sum(e2, K[:s], h, err2_vec)
            n5 = rms_error_norm(err_vec, y, y_new, rtol, atol) ** 2
            n3 = rms_error_norm(err2_vec, y, y_new, rtol, atol) ** 2
            den = n5 + 0.01 * n3
            err = n5 / np.sqrt(den) if den > 0.0 else 0.0
        else:
            err = rms_error_norm(err_vec, y, y_new, rtol, atol)

        if not (np.isfinite(err) and all_finite(y_new) and all_finite(K[s - 1])):
            nonfinite_last = True
            rejected_last = True
            nreject += 1
            h_abs *= ctrl[6]
            continue
        nonfinite_last = False
        if err > 1.0:
            nreject += 1
            rejected_last = True
            h_abs *= reject_ratio(ctrl, err, k_err)
            continue

        ratio = accept_ratio(ctrl, history, err, k_err)
        if rejected_last:
            ratio = min(1.0, ratio)
        rejected_last = False
        naccept += 1

        have_coef = False
        if dense:
            for j in range(n_extra):
                stage_state(y, h, A_extra, K, j, s + j, ystage)
                rhs(t + c_extra[j] * h, ystage, K[s + j])
            nfev += n_extra
            dense_coefficients(K, Q, h, coef)
            have_coef = True

        t_stop = t_new
        terminal = False
        if n_events > 0:
            events(t_new, y_new, g_new)
            ngev += 1
            roots = np.empty(n_events)
            found = np.zeros(n_events, dtype=np.bool_)
            for i in range(n_events):
                up = g_old[i] <= 0.0 and g_new[i] >= 0.0
                down = g_old[i] >= 0.0 and g_new[i] <= 0.0
                if (ev_dir[i] > 0 and up) or (ev_dir[i] < 0 and down) or (
                    ev_dir[i] == 0 and (up or down)
                ):
                    if not have_coef:
                        for j in range(n_extra):
                            stage_state(y, h, A_extra, K, j, s + j, ystage)
                            rhs(t + c_extra[j] * h, ystage, K[s + j])
                        nfev += n_extra
                        dense_coefficients(K, Q, h, coef)
                        have_coef = True
                    root, ng = _locate_event(events, i, t, h, y, coef, t, t_new, g_old[i],
                                             g_new[i], ybuf, gbuf)
                    ngev += ng
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
                    if not have_coef:
                        for j in range(n_extra):
                            stage_state(y, h, A_extra, K, j, s + j, ystage)
                            rhs(t + c_extra[j] * h, ystage, K[s + j])
                        nfev += n_extra
                        dense_coefficients(K, Q, h, coef)
                        have_coef = True
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
        t = t_new
        y[:] = y_new
        K[0] = K[s - 1]
        h_abs *= ratio

    return (status, t, nfev, ngev, naccept, nreject, ts[:n_out], ys[:n_out], seg_t[:n_seg],
            seg_h[:n_seg], seg_y[:n_seg], seg_c[:n_seg], ev_i[:n_ev], ev_t[:n_ev], ev_y[:n_ev])


_f8 = types.float64
_vec = types.float64[::1]
_mat = types.float64[:, ::1]
FUNC = types.FunctionType(types.void(_f8, _vec, _vec))
"""Type of ``rhs(t, y, out)`` and ``events(t, y, out)``: the loop compiles once for all problems."""

SIGNATURE = (FUNC, FUNC, _f8, _f8, _vec, _vec, _mat, _vec, _vec, _mat, _vec, _mat, _vec, _f8, _vec,
             _vec, _f8, _f8, types.int64, _vec, types.boolean, _vec, types.boolean[::1])

_initial_step = numba.njit(cache=True)(_initial_step_impl)
_locate_event = numba.njit(cache=True)(_locate_event_impl)


integrate_compiled = numba.njit(SIGNATURE, cache=True)(_integrate_impl)
"""The loop compiled once for :data:`SIGNATURE` (at first import; then from Numba's cache)."""


def _interpreted():
    namespace = dict(_integrate_impl.__globals__)
    namespace["_initial_step"] = _initial_step_impl
    namespace["_locate_event"] = _locate_event_impl
    return pytypes.FunctionType(_integrate_impl.__code__, namespace, "integrate_interpreted")


integrate_interpreted = _interpreted()
"""The same loop run by the interpreter, for right-hand sides Numba cannot compile."""
