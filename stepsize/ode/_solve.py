"""``solve``: a drop-in for ``scipy.integrate.solve_ivp`` whose whole loop runs in compiled code."""

import functools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from stepsize.control import PRESETS, get_controller
from stepsize.ode import _radau, _rosenbrock
from stepsize.ode._compile import compile_events, compile_jac, compile_rhs
from stepsize.ode._kernel import (
    DONE,
    EVENT,
    MAX_STEPS,
    MODE_AUTO,
    MODE_EXPLICIT,
    MODE_IMPLICIT,
    NEWTON,
    NO_IMPLICIT,
    NONFINITE,
    RADAU,
    ROSENBROCK,
    SINGULAR,
    UNDERFLOW,
    integrate_compiled,
    integrate_interpreted,
)
from stepsize.ode._profile import StiffnessProfile
from stepsize.ode._tableaux import TABLEAUX

EPS = np.finfo(float).eps
MESSAGES = {
    DONE: "The solver successfully reached the end of the integration interval.",
    EVENT: "A termination event occurred.",
    MAX_STEPS: "Too many steps: max_steps reached before the end of the interval.",
    UNDERFLOW: "Required step size is less than spacing between numbers (step size underflow).",
    NONFINITE: "Non-finite values (inf or nan) in the state or its derivative.",
    SINGULAR: "The iteration matrix of the implicit method is singular to working precision "
    "(repeatedly, or down to the smallest step size).",
    NEWTON: "The Newton iteration of the implicit method failed to converge down to the "
    "smallest step size.",
}
IMPLICIT = ("rosenbrock23", "rodas4", "radau")
AUTO_SWITCH = np.array([0.9, 0.9, 10.0, 3.0, 2.0, 6.0])
"""Stiff when ``h lambda > 0.9 R``; switch to the implicit method when more than 10 stiff
verdicts came without 6 non-stiff ones in a row between them (Hairer's DOPRI5 tally; step x2),
back after more than 3 non-stiff verdicts in a row (step /2) -- OrdinaryDiffEq's AutoSwitch
defaults with Hairer's reset rule."""


@dataclass
class ODEResult:
    """What ``scipy.integrate.solve_ivp`` returns, plus ``stats``.

    ``t`` (n_points,), ``y`` (n, n_points); ``sol`` a :class:`DenseSolution` when
    ``dense_output=True``; ``t_events``/``y_events`` lists per event (None without events);
    ``status`` -1 failure, 0 end reached, 1 terminal event; ``stats`` holds naccept, nreject,
    ngev (event-function evaluations), the method, controller, whether the loop was compiled,
    ``nswitch`` and ``intervals`` (``[(t_start, t_stop, method), ...]``) of the automatic switch
    and ``stiffness`` (the largest ``h lambda / R`` seen, how many explicit steps were judged
    stiff, the longest run of such steps and ``stiff_at``, the time Hairer's tally of them first
    exceeded the switching threshold -- his "problem seems to become stiff" -- or None);
    ``profile`` the per-step :class:`~stepsize.ode.StiffnessProfile` (see
    :func:`~stepsize.ode.stiffness_profile`).
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
    profile: StiffnessProfile | None = None


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
    if type(value) is float and np.isfinite(value) and (value > 0 or name == "atol" and value == 0):
        return np.full(n, value)
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
    if not (math.isfinite(t0) and math.isfinite(t1)):
        raise ValueError(f"t_span must be finite, got {t_span!r}")
    y0 = np.asarray(y0)
    if np.iscomplexobj(y0):
        raise TypeError("y0 must be real: complex states are not supported")
    if y0.ndim != 1 or y0.size == 0:
        raise ValueError(f"y0 must be a non-empty 1-D array, got shape {y0.shape}")
    y0 = y0.astype(float)
    if not math.isfinite(y0.sum()) and not np.all(np.isfinite(y0)):
        raise ValueError("y0 must be finite (it contains nan or inf)")
    rtol = _vector_tol(rtol, "rtol", y0.size)
    atol = _vector_tol(atol, "atol", y0.size)
    if rtol.min() < 100 * EPS:
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
    """The explicit pair called ``method`` (``ValueError`` listing the known ones otherwise)."""
    if method not in TABLEAUX:
        raise ValueError(f"method: unknown {method!r}; known: {', '.join(TABLEAUX)}")
    return TABLEAUX[method]


def tableau_arrays(tab):
    """The tableau as the loop takes it: contiguous float64 arrays (c, A, e, e2, Q, c_x, A_x)."""
    e2 = tab.e2 if tab.e2 is not None else np.zeros(0)
    arrays = (tab.c, tab.A, tab.e, e2, tab.Q, tab.c_extra, tab.A_extra)
    return tuple(np.array(a, dtype=float, order="C") for a in arrays)


def resolve_method(method, rtol):
    """``(mode, explicit pair name, implicit method name or None)`` for ``solve(method=...)``.

    "auto" pairs Tsit5 with Rosenbrock23 (``rtol >= 1e-3``) or Rodas4, and Verner 7 with Radau
    IIA 5 when ``rtol < 1e-6``, in the spirit of DifferentialEquations.jl's default
    ``AutoTsit5(Rosenbrock23())`` / ``AutoVern7(Rodas5P())`` (Radau's order 5 wins at tight
    tolerances, see ``benchmarks/ode_stiff.py``); a pair ``(explicit, implicit)`` chooses both.
    An implicit method alone keeps Tsit5's stability radius as the yardstick of its stiffness
    profile.
    """
    known = [*TABLEAUX, *IMPLICIT, "auto"]
    if isinstance(method, tuple | list) and len(method) == 2:
        explicit, implicit = method
        if explicit not in TABLEAUX or implicit not in IMPLICIT:
            raise ValueError(
                f"method: a pair must be (explicit, implicit) with explicit in "
                f"{', '.join(TABLEAUX)} and implicit in {', '.join(IMPLICIT)}, got {method!r}"
            )
        return MODE_AUTO, explicit, implicit
    if not isinstance(method, str) or method not in known:
        raise ValueError(f"method: unknown {method!r}; known: {', '.join(known)}")
    if method == "auto":
        r = float(np.min(rtol))
        if r < 1e-6:
            return MODE_AUTO, "vern7", "radau"
        return MODE_AUTO, "tsit5", "rosenbrock23" if r >= 1e-3 else "rodas4"
    if method in IMPLICIT:
        return MODE_IMPLICIT, "tsit5", method
    return MODE_EXPLICIT, method, None


def _check_band(jac_band, n):
    if jac_band is None:
        return None
    try:
        kl, ku = (int(v) for v in jac_band)
        ok = all(int(v) == v for v in jac_band)
    except (TypeError, ValueError):
        ok = False
    if not ok or kl < 0 or ku < 0:
        raise ValueError(f"jac_band must be a pair of non-negative integers, got {jac_band!r}")
    return min(kl, n - 1), min(ku, n - 1)


def loop_arguments(mode, explicit, implicit, controller, have_jac, band):
    """Method-dependent arguments of the loop between ``y0`` and ``rtol`` (see ``_kernel``)."""
    try:
        return _loop_arguments(mode, explicit, implicit, controller, have_jac, band)
    except TypeError:  # unhashable controller coefficients
        return _loop_arguments.__wrapped__(mode, explicit, implicit, controller, have_jac, band)


@functools.lru_cache(maxsize=256)
def _loop_arguments(mode, explicit, implicit, controller, have_jac, band):
    tab = TABLEAUX[explicit]
    empty_m = np.zeros((0, 0))
    empty_v = np.zeros(0)
    ros = (empty_m, empty_m, empty_v, empty_v, empty_v, empty_v, empty_m, 1.0, False)
    imp, k_imp, default_imp = NO_IMPLICIT, 1.0, PRESETS["PI"]
    if implicit == "radau":
        imp, k_imp, default_imp = RADAU, 4.0, _radau.CONTROLLER
    elif implicit is not None:
        rt = _rosenbrock.ROSENBROCK[implicit]
        ros = (
            *(
                np.ascontiguousarray(x, dtype=float)
                for x in (rt.a, rt.C, rt.c, rt.d, rt.m, rt.e, rt.H)
            ),
            float(rt.gamma),
            bool(rt.fsal),
        )
        imp, k_imp, default_imp = ROSENBROCK, float(rt.error_order + 1), _rosenbrock.CONTROLLER
    if controller is None:
        ctrl, ctrl_imp, predictive = PRESETS["PI"], default_imp, True
    else:
        ctrl = ctrl_imp = get_controller(controller)
        predictive = False
    kl, ku = band if band is not None else (-1, -1)
    args = (
        *tableau_arrays(tab),
        np.array(tab.stiff_pair, dtype=np.int64),
        float(tab.stability_radius),
        imp,
        *ros,
        bool(have_jac),
        kl,
        ku,
        mode,
        AUTO_SWITCH,
        ctrl.params(),
        float(tab.error_order + 1),
        ctrl_imp.params(),
        k_imp,
        predictive,
    )
    names = {MODE_EXPLICIT: ctrl.name, MODE_IMPLICIT: ctrl_imp.name}
    return args, names.get(mode, f"{ctrl.name}/{ctrl_imp.name}")


def solve(
    fun,
    t_span,
    y0,
    method="auto",
    t_eval=None,
    dense_output=False,
    events=None,
    rtol=1e-3,
    atol=1e-6,
    controller=None,
    first_step=None,
    max_step=np.inf,
    max_steps=100_000,
    args=(),
    jac=None,
    jac_band=None,
    compiled=True,
):
    """Solve an initial value problem; arguments and result as ``scipy.integrate.solve_ivp``.

    Methods
    -------
    Explicit pairs: "bs3" (Bogacki–Shampine 3(2)), "dp5" (Dormand–Prince 5(4)), "tsit5"
    (Tsitouras 5(4)), "dop853" (Hairer's 8(5,3)), "vern7" (Verner 7(6)).  Implicit, for stiff
    problems: "rosenbrock23" (Shampine & Reichelt's ode23s, L-stable, order 2), "rodas4"
    (Hairer's RODAS, stiffly accurate, order 4), "radau" (Radau IIA order 5, as Hairer's RADAU5
    and SciPy's Radau).  "auto" (default) starts with Tsit5 (Vern7 if ``rtol < 1e-6``), watches
    Hairer's stiffness estimate ``h lambda`` and switches to Rosenbrock23 (``rtol >= 1e-3``),
    Rodas4, or Radau (``rtol < 1e-6``) when more than 10 steps were limited by stability without
    6 unlimited ones in a row between them, and back after more than 3 steps in a row were not
    (OrdinaryDiffEq's AutoSwitch with Hairer's reset); ``method=(explicit, implicit)`` chooses
    the pair.  ``stats["nswitch"]`` and
    ``stats["intervals"]`` report what it did.

    Parameters beyond SciPy's
    -------------------------
    controller : None (default: Hairer's DOPRI5 PI controller for explicit steps, Gustafsson's
        predictive controller of ``rodas.f``/``radau5.f`` for implicit ones), a preset name of
        :data:`stepsize.control.PRESETS`, a :class:`stepsize.control.FilterController` or 5
        coefficients (then used for every method).
    jac : the Jacobian ``dF/dy`` for the implicit methods, ``jac(t, y, *args)`` or a constant
        array, (n, n); default forward differences in compiled code.
    jac_band : ``(kl, ku)``, the Jacobian has ``kl`` sub- and ``ku`` super-diagonals: banded
        finite differences (``kl + ku + 1`` evaluations) and banded LU, so a semi-discretised PDE
        with hundreds of equations stays fast; ``jac`` may then return the packed band
        ``(kl + ku + 1, n)``, ``J[ku + i - j, j] = dF_i/dy_j``, as for SciPy's LSODA.
    max_steps : attempted steps (accepted + rejected) before giving up with ``success=False``
        (100,000, Hairer's ``nmax``).
    compiled : compile ``fun`` (and ``jac``, ``events``) and run the whole loop in Numba
        (default); if Numba cannot compile them a warning says so and the interpreted path,
        which gives the same results, is used.

    A run that cannot go on (too many steps, step-size underflow, non-finite values, a singular
    iteration matrix or a Newton iteration that keeps failing) returns ``success=False``, its
    reason in ``message`` and the solution up to that point.
    """
    t0, t1, y0, rtol, atol = check_problem(t_span, y0, rtol, atol)
    mode, explicit, implicit = resolve_method(method, rtol)
    band = _check_band(jac_band, y0.size)
    first, max_step, max_steps, t_eval = check_step_options(
        t0, t1, first_step, max_step, max_steps, t_eval
    )
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    rhs, compiled = compile_rhs(fun, t0, y0, args, compiled)
    uses_jac = implicit is not None
    jac_fn, have_jac, compiled_jac = compile_jac(
        jac if uses_jac else None, t0, y0, args, compiled, band
    )
    g, ev_dir, ev_term, compiled_ev = compile_events(events, t0, y0, args, compiled)
    if compiled and not (compiled_ev and compiled_jac):
        rhs, compiled = compile_rhs(fun, t0, y0, args, False)
        jac_fn, have_jac, _ = compile_jac(jac if uses_jac else None, t0, y0, args, False, band)
    method_args, ctrl_name = loop_arguments(mode, explicit, implicit, controller, have_jac, band)
    loop = integrate_compiled if compiled else integrate_interpreted
    out = loop(
        rhs,
        jac_fn,
        g,
        t0,
        t1,
        y0,
        *method_args,
        rtol,
        atol,
        first,
        max_step,
        max_steps,
        t_eval,
        bool(dense_output),
        ev_dir,
        ev_term,
    )
    names = (explicit, implicit or "-")
    label = {MODE_EXPLICIT: explicit, MODE_IMPLICIT: implicit}.get(mode, f"auto({'/'.join(names)})")
    radius = float(TABLEAUX[explicit].stability_radius)
    return _result(
        out,
        label,
        names,
        radius,
        ctrl_name,
        compiled,
        events is not None,
        dense_output,
        ev_dir.size,
    )


def _result(out, label, names, radius, ctrl_name, compiled, has_events, dense_output, n_events):
    (
        status,
        t_last,
        counts,
        t_stiff,
        ts,
        ys,
        seg_t,
        seg_h,
        seg_y,
        seg_c,
        ev_i,
        ev_t,
        ev_y,
        prof,
    ) = out
    nfev, njev, nlu, ngev, naccept, nreject, nswitch, n_stiff, max_run = (int(v) for v in counts)
    sol = DenseSolution(seg_t, seg_h, seg_y, seg_c, t_last) if dense_output else None
    t_events = y_events = None
    if has_events:
        idx = ev_i.astype(int)
        t_events = [ev_t[idx == i] for i in range(n_events)]
        y_events = [ev_y[idx == i] for i in range(n_events)]
    profile = StiffnessProfile(
        t=prof[:, 0].copy(),
        h=prof[:, 1].copy(),
        h_lambda=prof[:, 2].copy(),
        implicit=prof[:, 3] > 0.5,
        radius=radius,
        methods=names,
    )
    ratio = profile.ratio
    stats = {
        "naccept": naccept,
        "nreject": nreject,
        "ngev": ngev,
        "method": label,
        "controller": ctrl_name,
        "compiled": compiled,
        "nswitch": nswitch,
        "intervals": profile.intervals(float(t_last)),
        "stiffness": {
            "max_h_lambda_over_radius": float(ratio.max()) if ratio.size else 0.0,
            "stiff_steps": n_stiff,
            "longest_stiff_run": max_run,
            "stiff_at": None if np.isnan(t_stiff) else float(t_stiff),
        },
    }
    return ODEResult(
        t=ts.copy(),
        y=ys.T.copy(),
        sol=sol,
        t_events=t_events,
        y_events=y_events,
        nfev=nfev,
        njev=njev,
        nlu=nlu,
        status=status if status >= 0 else -1,
        message=MESSAGES[status],
        success=status >= 0,
        stats=stats,
        profile=profile,
    )
