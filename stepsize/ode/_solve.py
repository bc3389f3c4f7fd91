"""``solve``: a drop-in for ``scipy.integrate.solve_ivp`` whose whole loop runs in compiled code."""

import warnings
from dataclasses import dataclass, field

import numpy as np

from stepsize.control import get_controller
from stepsize.ode._compile import compile_events, compile_rhs
from stepsize.ode._kernel import (
    DONE,
    EVENT,
    MAX_STEPS,
    NONFINITE,
    UNDERFLOW,
    integrate_compiled,
    integrate_interpreted,
)
from stepsize.ode._tableaux import TABLEAUX

EPS = np.finfo(float).eps
MESSAGES = {
    DONE: "The solver successfully reached the end of the integration interval.",
    EVENT: "A termination event occurred.",
    MAX_STEPS: "Too many steps: max_steps reached before the end of the interval.",
    UNDERFLOW: "Required step size is less than spacing between numbers (step size underflow).",
    NONFINITE: "Non-finite values (inf or nan) in the state or its derivative.",
}


@dataclass
class ODEResult:
    """What ``scipy.integrate.solve_ivp`` returns, plus ``stats``.

    ``t`` (n_points,), ``y`` (n, n_points); ``sol`` a :class:`DenseSolution` when
    ``dense_output=True``; ``t_events``/``y_events`` lists per event (None without events);
    ``status`` -1 failure, 0 end reached, 1 terminal event; ``stats`` holds naccept, nreject,
    ngev (event-function evaluations), the method, controller and whether the loop was compiled.
    """

    t: np.ndarray
    y: np.ndarray
    sol: "DenseSolution | None"
    t_events: list | None
    y_events: list | None
    nfev: int
    njev: int
    nlu: int
    status: int
    message: str
    success: bool
    stats: dict = field(default_factory=dict)


class DenseSolution:
    """Piecewise-polynomial continuous solution, callable like SciPy's ``OdeSolution``.

    Segment ``i`` starts at ``t0s[i]`` with step ``hs[i]``; on it
    ``y(t) = ys[i] + sum_j coefs[i, :, j] theta^(j+1)`` with ``theta = (t - t0s[i]) / hs[i]``.
    """

    def __init__(self, t0s, hs, ys, coefs, t_end):
        self.t0s, self.hs, self.ys, self.coefs = t0s, hs, ys, coefs
        self.ts = np.append(t0s, t_end)
        self.t_min, self.t_max = min(self.ts[0], t_end), max(self.ts[0], t_end)

    def __call__(self, t):
        t = np.asarray(t, dtype=float)
        flat = np.atleast_1d(t)
        if self.hs.size == 0:
            raise ValueError("the dense solution is empty: no step was taken")
        forward = self.hs[0] > 0
        key = flat if forward else -flat
        starts = self.t0s if forward else -self.t0s
        idx = np.clip(np.searchsorted(starts, key, side="right") - 1, 0, self.hs.size - 1)
        theta = (flat - self.t0s[idx]) / self.hs[idx]
        coefs = self.coefs[idx]
        acc = np.zeros((flat.size, coefs.shape[1]))
        for j in range(coefs.shape[2] - 1, -1, -1):
            acc = (acc + coefs[:, :, j]) * theta[:, None]
        out = (self.ys[idx] + acc).T
        return out[:, 0] if t.ndim == 0 else out


def _vector_tol(value, name, n):
    arr = np.asarray(value, dtype=float)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size != n):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0) and name == "rtol" or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and positive, got {value!r}")
    return np.broadcast_to(arr, (n,)).astype(float)


def check_problem(t_span, y0, rtol, atol):
    """Validate the common inputs; returns (t0, t1, y0, rtol, atol) as float arrays."""
    if np.ndim(t_span) != 1 or len(t_span) != 2:
        raise ValueError(f"t_span must be a pair (t0, t1), got {t_span!r}")
    t0, t1 = (float(v) for v in t_span)
    if not (np.isfinite(t0) and np.isfinite(t1)):
        raise ValueError(f"t_span must be finite, got {t_span!r}")
    y0 = np.asarray(y0)
    if np.iscomplexobj(y0):
        raise TypeError("y0 must be real: complex states are not supported")
    if y0.ndim != 1 or y0.size == 0:
        raise ValueError(f"y0 must be a non-empty 1-D array, got shape {y0.shape}")
    y0 = y0.astype(float)
    if not np.all(np.isfinite(y0)):
        raise ValueError("y0 must be finite (it contains nan or inf)")
    rtol = _vector_tol(rtol, "rtol", y0.size)
    atol = _vector_tol(atol, "atol", y0.size)
    if np.any(rtol < 100 * EPS):
        warnings.warn(f"rtol below 100*eps = {100 * EPS:.3g} is raised to it", stacklevel=3)
        rtol = np.maximum(rtol, 100 * EPS)
    return t0, t1, y0, rtol, atol


def check_step_options(t0, t1, first_step, max_step, max_steps, t_eval):
    """Validate step limits and ``t_eval``; returns (first_step, max_step, max_steps, t_eval)."""
    span = abs(t1 - t0)
    if first_step is None:
        first = 0.0
    else:
        first = float(first_step)
        if not (np.isfinite(first) and 0 < first <= max(span, 0.0) or span == 0):
            raise ValueError(f"first_step must be positive and at most |t1 - t0|, got {first_step}")
    max_step = float(max_step)
    if not max_step > 0:
        raise ValueError(f"max_step must be positive, got {max_step}")
    if int(max_steps) != max_steps or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    if t_eval is None:
        t_eval = np.zeros(0)
    else:
        t_eval = np.asarray(t_eval, dtype=float)
        if t_eval.ndim != 1:
            raise ValueError(f"t_eval must be 1-D, got shape {t_eval.shape}")
        lo, hi = min(t0, t1), max(t0, t1)
        if np.any(t_eval < lo) | np.any(t_eval > hi):
            raise ValueError("t_eval values must lie within t_span")
        d = np.diff(t_eval) * (1.0 if t1 >= t0 else -1.0)
        if np.any(d <= 0):
            raise ValueError("t_eval must be strictly monotonic in the direction of integration")
    return first, max_step, int(max_steps), t_eval


def get_tableau(method):
    if method not in TABLEAUX:
        raise ValueError(f"method: unknown {method!r}; known: {', '.join(TABLEAUX)}")
    return TABLEAUX[method]


def tableau_arrays(tab):
    """The tableau as the loop takes it: contiguous float64 arrays (c, A, e, e2, Q, c_x, A_x)."""
    e2 = tab.e2 if tab.e2 is not None else np.zeros(0)
    arrays = (tab.c, tab.A, tab.e, e2, tab.Q, tab.c_extra, tab.A_extra)
    return tuple(np.array(a, dtype=float, order="C") for a in arrays)


def solve(
    fun,
    t_span,
    y0,
    method="dp5",
    t_eval=None,
    dense_output=False,
    events=None,
    rtol=1e-3,
    atol=1e-6,
    controller="PI",
    first_step=None,
    max_step=np.inf,
    max_steps=100_000,
    args=(),
    compiled=True,
):
    """Solve an initial value problem; arguments and result as ``scipy.integrate.solve_ivp``.

    Parameters beyond SciPy's
    -------------------------
    controller : a preset name of :data:`stepsize.control.PRESETS` ("PI", Hairer's DOPRI5 PI
        controller, by default), a :class:`stepsize.control.FilterController` or 5 coefficients.
    max_steps : attempted steps (accepted + rejected) before giving up with ``success=False``
        (100,000, Hairer's ``nmax``).
    compiled : compile ``fun`` and run the whole loop in Numba (default); if Numba cannot compile
        ``fun`` a warning says so and the interpreted path, which gives the same results, is used.

    Methods: "bs3" (Bogacki–Shampine 3(2)), "dp5" (Dormand–Prince 5(4)), "tsit5" (Tsitouras 5(4)),
    "dop853" (Hairer's 8(5,3)), "vern7" (Verner 7(6)).  A run that cannot go on (too many steps,
    step-size underflow, non-finite values) returns ``success=False``, its reason in ``message``
    and the solution up to that point.
    """
    t0, t1, y0, rtol, atol = check_problem(t_span, y0, rtol, atol)
    tab = get_tableau(method)
    ctrl = get_controller(controller)
    first, max_step, max_steps, t_eval = check_step_options(
        t0, t1, first_step, max_step, max_steps, t_eval
    )
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    rhs, compiled = compile_rhs(fun, t0, y0, args, compiled)
    g, ev_dir, ev_term, compiled_ev = compile_events(events, t0, y0, args, compiled)
    if compiled and not compiled_ev:
        rhs, compiled = compile_rhs(fun, t0, y0, args, False)
    loop = integrate_compiled if compiled else integrate_interpreted
    out = loop(
        rhs, g, t0, t1, y0, *tableau_arrays(tab), ctrl.params(), float(tab.error_order + 1),
        rtol, atol, first, max_step, max_steps, t_eval, bool(dense_output), ev_dir, ev_term,
    )
    return _result(out, tab, ctrl, compiled, events is not None, dense_output, ev_dir.size)


def _result(out, tab, ctrl, compiled, has_events, dense_output, n_events):
    (status, t_last, nfev, ngev, naccept, nreject, ts, ys, seg_t, seg_h, seg_y, seg_c, ev_i, ev_t,
     ev_y) = out
    sol = DenseSolution(seg_t, seg_h, seg_y, seg_c, t_last) if dense_output else None
    t_events = y_events = None
    if has_events:
        idx = ev_i.astype(int)
        t_events = [ev_t[idx == i] for i in range(n_events)]
        y_events = [ev_y[idx == i] for i in range(n_events)]
    public_status = status if status >= 0 else -1
    stats = {
        "naccept": int(naccept),
        "nreject": int(nreject),
        "ngev": int(ngev),
        "method": tab.name,
        "controller": ctrl.name,
        "compiled": compiled,
    }
    return ODEResult(
        t=ts.copy(), y=ys.T.copy(), sol=sol, t_events=t_events, y_events=y_events,
        nfev=int(nfev), njev=0, nlu=0, status=public_status, message=MESSAGES[status],
        success=status >= 0, stats=stats,
    )
