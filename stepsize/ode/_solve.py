"""``solve``: a drop-in for ``scipy.integrate.solve_ivp`` whose whole loop runs in compiled code."""

import functools
import math
import warnings

import numpy as np

from stepsize.control import PRESETS, FilterController, get_controller
from stepsize.ode import _radau, _rosenbrock
from stepsize.ode._bdf import bdf_method
from stepsize.ode._build import (
    build_problem,
    compiled_entry,
    describe_fault,
    fault_of,
    run_kernel,
)
from stepsize.ode._bundles import (
    DONE,
    MODE_AUTO,
    MODE_EXPLICIT,
    MODE_IMPLICIT,
    Controls,
    ExplicitMethod,
    RadauMethod,
    RosenbrockMethod,
    Steps,
    Switch,
)
from stepsize.ode._loop import integrate
from stepsize.ode._mass import SPARSE_MASS, check_mass, consistent_initial, plain_fun
from stepsize.ode._repeat import remember, repeat_key, solve_again
from stepsize.ode._result import MESSAGES, DenseSolution, ODEResult, RunOptions, run_result
from stepsize.ode._sparse import NO_PATTERN, complex_pattern, sparse_pattern
from stepsize.ode._sparse_jac import PythonJac, python_jac
from stepsize.ode._stage_sums import MARKERS
from stepsize.ode._tableaux import TABLEAUX

EPS = np.finfo(float).eps
SPARSE_METHODS = ("bdf", "radau", "rodas4", "rodas5p", "rosenbrock23")
"""The methods that take ``jac_sparsity`` (the sparse LU of :mod:`stepsize.ode._sparse`)."""
IMPLICIT = ("rosenbrock23", "rodas4", "rodas5p", "radau", "bdf")
SCIPY_NAMES = {
    "RK45": "dp5",
    "RK23": "bs3",
    "DOP853": "dop853",
    "Radau": "radau",
    "BDF": "bdf",
    "LSODA": "auto",
}
"""SciPy's method names: RK45, RK23, DOP853, Radau and BDF (the variable-order NDF of
Shampine & Reichelt, as SciPy's) are the same methods here; LSODA (Adams / BDF with automatic
stiffness detection) maps to the explicit/implicit switch on Hairer's stiffness estimate with
BDF as the implicit method (:func:`resolve_method`)."""
SWITCH = {
    "tol_explicit": 0.9,
    "tol_implicit": 0.9,
    "n_stiff": 10,
    "n_nonstiff": 3,
    "step_factor": 2.0,
    "n_reset": 6,
}
"""Stiff when ``h lambda > 0.9 R``; switch to the implicit method when more than 10 stiff
verdicts came without 6 non-stiff ones in a row between them (Hairer's DOPRI5 tally; step x2),
back after more than 3 non-stiff verdicts in a row (step /2) -- OrdinaryDiffEq's AutoSwitch
defaults with Hairer's reset rule."""


def _vector_tol(value, name, n):
    if type(value) is float and value > 0.0 and value < np.inf:
        return np.full(n, value)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size != n):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and non-negative, got {value!r}")
    return np.array(np.broadcast_to(arr, (n,)), dtype=float)


@functools.lru_cache(maxsize=64)
def _scalar_tols(rtol, atol, n):
    """``rtol`` and ``atol`` as arrays of size ``n`` (shared between calls: the loop only reads
    them)."""
    return np.full(n, rtol), np.full(n, atol)


def check_problem(t_span, y0, rtol, atol):
    """Validate the common inputs; returns (t0, t1, y0, rtol, atol) as floats and float arrays.

    ``t1`` may be infinite (a terminal event then ends the run, as in SciPy); ``rtol`` below
    ``100 eps`` (also 0) is raised to it with a warning, as SciPy does.
    """
    pair = isinstance(t_span, tuple | list) and len(t_span) == 2
    if not pair and (np.ndim(t_span) != 1 or len(t_span) != 2):
        raise ValueError(f"t_span must be a pair (t0, t1), got {t_span!r}")
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise ValueError(f"t_span must hold two numbers, got {t_span!r}") from None
    if not math.isfinite(t0) or math.isnan(t1):
        raise ValueError(f"t_span: t0 must be finite and t1 a number, got {t_span!r}")
    y0 = np.asarray(y0)
    if y0.dtype.kind == "c":
        raise TypeError("y0 must be real: complex states are not supported")
    if y0.ndim != 1:
        raise ValueError(f"y0 must be a 1-D array, got shape {y0.shape}")
    try:
        y0 = y0.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"y0 must hold numbers, got {y0!r}") from None
    if not math.isfinite(y0.sum()) and not np.all(np.isfinite(y0)):  # a finite sum: all finite
        raise ValueError("y0 must be finite (it contains nan or inf)")
    if type(rtol) is float and type(atol) is float and 100 * EPS <= rtol < np.inf > atol >= 0.0:
        return (t0, t1, y0, *_scalar_tols(rtol, atol, y0.size))
    rtol = _vector_tol(rtol, "rtol", y0.size)
    atol = _vector_tol(atol, "atol", y0.size)
    if rtol.size and rtol.min() < 100 * EPS:
        warnings.warn(f"rtol below 100*eps = {100 * EPS:.3g} is raised to it", stacklevel=3)
        rtol = np.maximum(rtol, 100 * EPS)
    return t0, t1, y0, rtol, atol


def check_step_options(t0, t1, first_step, max_step, max_steps, t_eval):
    """Validate step limits and ``t_eval``; returns (first_step, max_step, max_steps, t_eval)."""
    span = abs(t1 - t0)
    first = 0.0
    if first_step is not None:
        try:
            first = float(first_step)
        except (TypeError, ValueError):
            first = np.nan
        if not (np.isfinite(first) and 0 < first <= span):
            raise ValueError(f"first_step must be positive and at most |t1 - t0|, got {first_step}")
    try:
        max_step = float(max_step)
    except (TypeError, ValueError):
        max_step = np.nan
    if not max_step > 0:
        raise ValueError(f"max_step must be positive, got {max_step}")
    ok = isinstance(max_steps, int | np.integer) or (
        isinstance(max_steps, float) and math.isfinite(max_steps) and max_steps == int(max_steps)
    )
    if not ok or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    if t_eval is None:
        return first, max_step, int(max_steps), np.zeros(0)
    try:
        t_eval = np.asarray(t_eval, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"t_eval must hold numbers, got {t_eval!r}") from None
    if t_eval.ndim != 1:
        raise ValueError(f"t_eval must be 1-D, got shape {t_eval.shape}")
    if not np.all(np.isfinite(t_eval)):
        raise ValueError("t_eval must be finite (it contains nan or inf)")
    lo, hi = min(t0, t1), max(t0, t1)
    if np.any(t_eval < lo) | np.any(t_eval > hi):
        raise ValueError("t_eval values must lie within t_span")
    d = np.diff(t_eval) * (1.0 if t1 >= t0 else -1.0)
    if np.any(d <= 0):
        raise ValueError("t_eval must be strictly monotonic in the direction of integration")
    return first, max_step, int(max_steps), np.array(t_eval)  # owned: writable, contiguous


def check_args(args):
    """``args`` as a tuple: None, or anything that unpacks (as SciPy)."""
    if args is None:
        return ()
    if isinstance(args, tuple):
        return args
    if isinstance(args, str | bytes):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    try:
        return tuple(args)
    except TypeError:
        raise TypeError(
            f"args must be a tuple-like sequence (e.g. args=({args!r},)), got {type(args).__name__}"
        ) from None


def get_tableau(method):
    """The explicit pair called ``method`` (``ValueError`` listing the known ones otherwise)."""
    method = SCIPY_NAMES.get(method, method) if isinstance(method, str) else method
    if not isinstance(method, str) or method not in TABLEAUX:
        raise ValueError(f"method: unknown {method!r}; known: {', '.join(TABLEAUX)}")
    return TABLEAUX[method]


AUTO_BDF_SIZE = 100
"""From this many equations on (with a dense Jacobian), "auto" switches to BDF rather than a
Rosenbrock method or Radau."""

KNOWN = (*TABLEAUX, *IMPLICIT, "auto", *SCIPY_NAMES)


def resolve_method(method, rtol, banded=False):
    """``(mode, explicit pair name or None, implicit method name or None)`` for ``method``.

    "auto" pairs Tsit5 with Rosenbrock23 (``rtol >= 1e-3``) or Rodas4, and Verner 7 with Radau
    IIA 5 when ``rtol < 1e-6``, in the spirit of DifferentialEquations.jl's default
    ``AutoTsit5(Rosenbrock23())`` / ``AutoVern7(Rodas5P())`` (Radau's order 5 wins at tight
    tolerances, see ``benchmarks/ode_stiff.py``); with :data:`AUTO_BDF_SIZE` equations or more
    and a dense Jacobian (not ``banded``) the implicit method is BDF, whose rare factorisations
    (one per 5-30 steps) beat the one-step methods' LU per step once an LU costs more than the
    stages; with a banded LU, cheap, Radau and Rodas4 stay ahead at matched error
    (``benchmarks/ode_bdf.py``: on the 400-equation Brusselator BDF takes ~2x their time).
    "LSODA" pairs the explicit method with BDF, as LSODA (Adams / BDF) does.  A pair
    ``(explicit, implicit)`` chooses both.  SciPy's names map as :data:`SCIPY_NAMES` says.
    """
    if isinstance(method, list):
        method = tuple(method)
    r = float(rtol.min()) if rtol.size else 1e-3
    try:
        return _resolve(method, r, rtol.size >= AUTO_BDF_SIZE, banded)
    except TypeError:  # unhashable: not a method name
        raise ValueError(f"method: unknown {method!r}; known: {', '.join(KNOWN)}") from None


@functools.lru_cache(maxsize=256)
def _resolve(method, r, large, banded):
    """:func:`resolve_method` for the smallest ``rtol`` ``r``, ``large`` from
    :data:`AUTO_BDF_SIZE` equations on."""
    known = KNOWN
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
    if method == "LSODA":
        return MODE_AUTO, "vern7" if r < 1e-6 else "tsit5", "bdf"
    method = SCIPY_NAMES.get(method, method)
    if method == "auto":
        if large and not banded:
            return MODE_AUTO, "vern7" if r < 1e-6 else "tsit5", "bdf"
        if r < 1e-6:
            return MODE_AUTO, "vern7", "radau"
        return MODE_AUTO, "tsit5", "rosenbrock23" if r >= 1e-3 else "rodas4"
    if method in IMPLICIT:
        return MODE_IMPLICIT, None, method
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


def explicit_method(name):
    """The pair ``name`` as the loop takes it."""
    tab = TABLEAUX[name]
    arrays = tuple(np.array(a, dtype=float, order="C") for a in (tab.c, tab.Q, tab.c_extra))
    return ExplicitMethod(
        *arrays,
        np.array(tab.stiff_pair, dtype=np.int64) % tab.c.size,
        MARKERS[name](),
        float(tab.error_order + 1),
    )


def rosenbrock_method(name):
    """The Rosenbrock method ``name`` as the loop takes it."""
    rt = _rosenbrock.ROSENBROCK[name]
    arrays = (rt.a, rt.C, rt.c, rt.d, rt.m, rt.e, rt.H)
    return RosenbrockMethod(
        *(np.ascontiguousarray(x, dtype=float) for x in arrays),
        float(rt.gamma),
        bool(rt.fsal),
        float(rt.error_order + 1),
    )


DOP853_CONTROLLER = FilterController(qmin=0.333, qmax=6.0, name="I(dop853.f)")
"""dop853's default controller, Hairer's in ``dop853.f`` with its default ``WORK(2..5)``: the I
controller ``h_new / h = safe * err^(-1/8)`` (``BETA = 0``: no stabilising ``err_old^beta``)
with ``safe = 0.9`` and the ratio limited to ``[FAC1, FAC2] = [0.333, 6]``.  It takes the steps
numbalsoda's ``dop853`` takes (Hairer's code) to within a few and, at matched error on the
Arenstorf orbit, Lorenz and Pleiades, fewer evaluations than the DOPRI5 PI controller."""


@functools.lru_cache(maxsize=256)
def method_bundles(mode, explicit, implicit, controller):
    """``(explicit, rosenbrock, radau, controls, switch, controller name)`` for the loop;
    ``controller`` None or a :class:`~stepsize.control.FilterController`."""
    ex = explicit_method(explicit) if explicit is not None else None
    ros = rosenbrock_method(implicit) if implicit in _rosenbrock.ROSENBROCK else None
    rad = RadauMethod(4.0) if implicit == "radau" else None
    default_imp = _radau.CONTROLLER if rad is not None else _rosenbrock.CONTROLLER
    if controller is None:
        ctrl = DOP853_CONTROLLER if explicit == "dop853" else PRESETS["PI"]
        ctrl_imp, predictive = default_imp, True
    else:
        ctrl = ctrl_imp = controller
        predictive = False
    radius = float(TABLEAUX[explicit or "tsit5"].stability_radius)
    switch = Switch(mode, radius, **SWITCH)
    names = {MODE_EXPLICIT: ctrl.name, MODE_IMPLICIT: ctrl_imp.name}
    label = names.get(mode, f"{ctrl.name}/{ctrl_imp.name}")
    return ex, ros, rad, Controls(ctrl.data(), ctrl_imp.data(), predictive), switch, label


def solve(
    fun,
    t_span,
    y0,
    method="auto",
    t_eval=None,
    dense_output=False,
    events=None,
    vectorized=False,
    args=None,
    rtol=1e-3,
    atol=1e-6,
    controller=None,
    first_step=None,
    max_step=np.inf,
    max_steps=100_000,
    jac=None,
    jac_band=None,
    compiled=True,
    profile=False,
    inplace=False,
    mass=None,
    jac_sparsity=None,
):
    """Solve an initial value problem; arguments and result as ``scipy.integrate.solve_ivp``.

    Methods
    -------
    Explicit pairs: "bs3" (Bogacki–Shampine 3(2)), "dp5" (Dormand–Prince 5(4)), "tsit5"
    (Tsitouras 5(4)), "dop853" (Hairer's 8(5,3)), "vern7" (Verner 7(6)), "vern9" (Verner 9(8),
    for very tight tolerances).  Implicit, for stiff problems: "rosenbrock23" (Shampine &
    Reichelt's ode23s, L-stable, order 2), "rodas4"
    (Hairer's RODAS, stiffly accurate, order 4), "rodas5p" (Steinebach's Rodas5P, order 5,
    stiffly accurate, dense output of order 4), "radau" (Radau IIA order 5, as Hairer's RADAU5
    and SciPy's Radau), "bdf" (variable-order BDF/NDF 1-5, as SciPy's BDF and MATLAB's ode15s,
    with CVODE's Jacobian and LU reuse: few evaluations per step, for large stiff systems).
    "auto" (default) starts with Tsit5 (Vern7 if ``rtol < 1e-6``), watches Hairer's stiffness
    estimate ``h lambda`` and switches to Rosenbrock23 (``rtol >= 1e-3``), Rodas4, or Radau (``rtol
    < 1e-6``) -- BDF from 100 equations on, unless banded -- when more than 10 steps were limited by
    stability without 6 unlimited ones in a row between them, and back after more than 3 steps in a
    row were not (OrdinaryDiffEq's AutoSwitch with Hairer's reset); ``method=(explicit, implicit)``
    chooses the pair. ``stats["nswitch"]`` and ``stats["intervals"]`` report what it did. SciPy's
    names are accepted: "RK45" (dp5), "RK23" (bs3), "DOP853", "Radau", "BDF" (bdf) and "LSODA"
    (Tsit5 or Vern7 switching to and from BDF, as LSODA switches between Adams and BDF).

    As SciPy: ``vectorized=True`` (``fun`` takes and returns (n, k) columns; called with one
    column), ``args`` any tuple-like, passed to ``fun``, ``jac`` and the events; events with
    ``terminal`` True or a count (stop at that occurrence) and ``direction``; ``t_span`` may end
    at ``inf`` (then a terminal event or ``max_steps`` ends the run).

    Parameters beyond SciPy's
    -------------------------
    controller : None (default: Hairer's DOPRI5 PI controller for explicit steps, his ``dop853.f``
        I controller for "dop853" (:data:`DOP853_CONTROLLER`), Gustafsson's
        predictive controller of ``rodas.f``/``radau5.f`` for implicit ones), a preset name of
        :data:`stepsize.control.PRESETS`, a :class:`stepsize.control.FilterController` or 5
        coefficients (then used for every method).
    jac : the Jacobian ``dF/dy`` for the implicit methods, ``jac(t, y, *args)`` or a constant
        array (dense or ``scipy.sparse``), (n, n); default forward differences in compiled code.
    jac_band : ``(kl, ku)``, the Jacobian has ``kl`` sub- and ``ku`` super-diagonals: banded
        finite differences (``kl + ku + 1`` evaluations) and banded LU, so a semi-discretised PDE
        with hundreds of equations stays fast; ``jac`` may then return the packed band
        ``(kl + ku + 1, n)``, ``J[ku + i - j, j] = dF_i/dy_j``, as for SciPy's LSODA.
    jac_sparsity : as SciPy's, a ``scipy.sparse`` matrix or (n, n) array, nonzero where
        ``dF_i/dy_j`` may be nonzero: grouped finite differences (Curtis-Powell-Reid, one
        evaluation per group of columns with disjoint rows) and a compiled sparse LU on the
        pattern's fill-in (minimum-degree order; its densest trailing block and the
        algebraic rows of a ``mass`` problem dense, with partial pivoting), for "bdf" ("auto",
        "LSODA" and "BDF" then use it), "radau" (its complex system in real form, 2n),
        "rodas4", "rodas5p" and "rosenbrock23", also with ``mass`` (then held by its
        nonzeros); with a callable ``jac``, which then gives the values on the pattern.  Not
        with a constant ``jac`` or ``jac_band`` (yet).  A callable ``jac`` that returns a
        ``scipy.sparse`` matrix (as SciPy's) runs in Python, called back from the compiled
        loop; with these methods its entries at ``t0`` and at a state nearby (joined with
        ``jac_sparsity``) are the pattern of the sparse LU.
    max_steps : attempted steps (accepted + rejected) before giving up with ``success=False``
        (100,000, Hairer's ``nmax``).
    compiled : compile ``fun`` (and ``jac``, ``events``) and run the whole loop in Numba
        (default); if Numba cannot compile them a warning says so and the interpreted path,
        which gives the same results, is used.  ``args`` travel at run time: a new value compiles
        nothing.
    profile : also record the per-step stiffness profile (:func:`~stepsize.ode.stiffness_profile`).
    inplace : ``fun(t, y, dydt, *args)`` writes the derivative into ``dydt`` (shape (n,)) and
        returns None, so that no array is allocated per evaluation (the allocating form
        ``fun(t, y, *args)`` costs an allocation and a copy per call); same results.  The length
        of ``dydt`` is not checked at each call: ``fun`` must write exactly ``n`` values.  Not
        with ``vectorized``.

    mass : the constant matrix ``M`` of ``M y' = f(t, y)`` (n, n), dense, ``scipy.sparse`` or
        the diagonal (n,); it may be singular (an index-1 differential-algebraic system: zero
        rows are algebraic equations, or, for any singular ``M``, the combinations of rows in its
        left null space).  For "radau", "rodas4", "rodas5p" and "bdf"; "auto" and "LSODA" run
        the implicit method they would switch to, from the first step (no explicit method
        solves ``M y' = f``): BDF from 100 equations on (LSODA: always), else Radau for
        ``rtol < 1e-6`` and Rodas4 otherwise (Rodas4 also where "auto" would take Rosenbrock23,
        which has no mass-matrix form); ``stats["method"]`` and the stiffness profile name it.
        ``y0`` is made consistent first: ``y0 + V z`` (``V`` the null space of ``M``) with ``z``
        from Newton's method on the algebraic equations, which keeps ``M y0``; consistent values
        move by rounding only (:func:`stepsize.ode._mass.consistent_initial`).  ``jac_band``
        needs a diagonal ``M``.

    A run that cannot go on (too many steps, step-size underflow, non-finite values, a singular
    iteration matrix or a Newton iteration that keeps failing) returns ``success=False``, its
    reason in ``message`` and the solution up to that point.  An exception raised by ``fun``,
    ``jac`` or an event function propagates, with a note saying at which ``t``.
    """
    repeat = None
    if _plain_call((jac_band, jac_sparsity), vectorized, compiled, max_step):
        flags = (dense_output, profile, inplace)
        repeat = repeat_key(method, y0, (rtol, atol), args, events, controller, flags, (jac, mass))
        if repeat is not None:
            limits = (first_step, max_steps)
            result = solve_again(fun, t_span, y0, args, t_eval, limits, repeat, jac)
            if result is not None:
                return result
    t0, t1, y0, rtol, atol = check_problem(t_span, y0, rtol, atol)
    band = _check_band(jac_band, y0.size)
    mode, explicit, implicit = resolve_method(method, rtol, band is not None)
    args = check_args(args)
    user_jac = jac
    jac, jac_sparsity = python_jac(
        jac, jac_sparsity, implicit, band, (t0, t1), y0, args, SPARSE_METHODS
    )
    pattern = NO_PATTERN
    if jac_sparsity is not None:
        implicit = _sparse_method(method, explicit, implicit, jac, band)
        mode = MODE_AUTO if explicit is not None else MODE_IMPLICIT
    first, max_step, max_steps, t_eval = check_step_options(
        t0, t1, first_step, max_step, max_steps, t_eval
    )
    if inplace and vectorized:
        raise ValueError("inplace=True and vectorized=True cannot be combined")
    ctrl = None if controller is None else get_controller(controller)
    mass = checked_mass = check_mass(mass, y0.size, band)
    if jac_sparsity is not None:
        pattern = sparse_pattern(jac_sparsity, y0.size, mass if mass.size else None)
        if isinstance(jac, PythonJac):
            jac.use_pattern(pattern)
    if mass.size:
        mode, explicit, implicit = _mass_method(mode, explicit, implicit)
        y0 = consistent_initial(plain_fun(fun, inplace, vectorized), t0, y0, mass, args, rtol, atol)
    ex, ros, rad, controls, switch, ctrl_name = method_bundles(mode, explicit, implicit, ctrl)
    mass, ros, rad = _with_mass_and_pattern(ros, rad, mass, pattern, jac_sparsity, y0.size)
    built = build_problem(
        fun,
        t0,
        y0,
        args,
        jac=jac if implicit else None,
        band=band,
        events=events,
        compiled=compiled and t0 != t1 and y0.size > 0,  # nothing to compile for
        vectorized=vectorized,
        inplace=inplace,
    )
    steps = Steps(
        t0, t1, rtol, atol, first, max_step, max_steps, t_eval, bool(dense_output), bool(profile)
    )
    if t0 == t1 or y0.size == 0:
        return _constant_result(built, (t0, t1), y0, t_eval, events is not None, dense_output)
    # every argument's Numba type follows from the method bundles (the arrays are our own)
    types = ("solve", mode, explicit, implicit, ctrl)
    bdf = bdf_method(mode == MODE_AUTO, mass, pattern) if implicit == "bdf" else None
    built, buf = run_kernel(
        built, integrate, y0, ex, ros, rad, controls, switch, steps, bdf, types=types,
        addressed=True,
    )  # fmt: skip
    if fault_of(built.problem.ctx)[0]:
        raise describe_fault(built.spec, built.problem.ctx)
    names = (explicit or "-", implicit or "-")
    label = {MODE_EXPLICIT: explicit, MODE_IMPLICIT: implicit}.get(mode, f"auto({'/'.join(names)})")
    options = RunOptions(
        names,
        names[1] if mode == MODE_IMPLICIT else names[0],
        switch.radius if profile else None,
        {"method": label, "controller": ctrl_name, "compiled": built.compiled},
        built.spec.ev_dir.size if events is not None else None,
        bool(dense_output),
    )
    if repeat is not None and built.compiled and jac is user_jac:  # not a PythonJac
        methods = (ex, ros, rad, controls, switch)
        entry = compiled_entry(integrate, types)
        algebraic = checked_mass if checked_mass.size else None
        remember(fun, repeat, built, (methods, steps, bdf, options, entry), (jac, algebraic))
    return run_result(buf, y0.size, t0, options)


def _plain_call(extras, vectorized, compiled, max_step):
    """Whether a call may take the repeat path (:mod:`stepsize.ode._repeat`): neither of the
    ``extras`` (jac_band, jac_sparsity) given (:func:`~stepsize.ode._repeat.repeat_key` checks
    ``jac`` and ``mass``), not ``vectorized``, ``compiled``, and no ``max_step``."""
    a, b = extras  # not all(... for x in extras): a generator costs ~0.4 us
    return (
        a is None
        and b is None
        and vectorized is False
        and compiled is True
        and type(max_step) is float
        and max_step == math.inf
    )


def _with_mass_and_pattern(ros, rad, mass, pattern, jac_sparsity, n):
    """``(mass, ros, rad)`` with the mass matrix and the sparse pattern in the Rosenbrock and
    Radau bundles; with a pattern the mass is held by its nonzeros (``SPARSE_MASS``: the pattern
    holds them) and Radau also gets the real form of its complex system (:func:`complex_pattern`);
    ``n`` the number of equations."""
    if pattern.perm.size:
        if rad is not None:
            m = mass if mass.size else None
            both = complex_pattern(jac_sparsity, n, m, _radau.MU_COMPLEX)
            rad = rad._replace(sparse=pattern, sparse_complex=both)
        mass = SPARSE_MASS if mass.size else mass
        ros = ros._replace(sparse=pattern) if ros is not None else None
    if mass.shape[0]:
        ros = ros._replace(mass=mass) if ros is not None else None
        rad = rad._replace(mass=mass) if rad is not None else None
    return mass, ros, rad


def _sparse_method(method, explicit, implicit, jac, band):
    """The implicit method for a run with ``jac_sparsity`` (BDF for "auto"); a ``ValueError``
    naming ``jac_sparsity`` for what it cannot be combined with."""
    if implicit is None:
        raise ValueError(f"jac_sparsity is for implicit methods (bdf), got method {explicit!r}")
    if band is not None:
        raise ValueError("jac_sparsity cannot be combined with jac_band (yet)")
    if jac is not None and not isinstance(jac, PythonJac):
        raise ValueError("jac_sparsity cannot be combined with a constant jac (yet)")
    if method in ("auto", "LSODA"):
        return "bdf"
    if implicit not in SPARSE_METHODS:
        raise ValueError(
            f"jac_sparsity is supported by the methods {', '.join(SPARSE_METHODS)} (and 'BDF', "
            f"'auto', 'LSODA'), got {method!r}"
        )
    return implicit


def _mass_method(mode, explicit, implicit):
    """``(mode, explicit, implicit)`` for a problem with a mass matrix: the implicit method
    alone -- for "auto" the one it would switch to, Rodas4 in place of Rosenbrock23 (which has
    no mass-matrix form; ``rtol >= 1e-3``)."""
    if mode == MODE_AUTO and implicit == "rosenbrock23":
        implicit = "rodas4"
    if implicit is None or implicit == "rosenbrock23":
        raise ValueError(
            "mass: M y' = f needs one of the methods radau, rodas4, rodas5p, bdf (or auto), "
            f"got method {implicit or explicit!r}"
        )
    return MODE_IMPLICIT, None, implicit


def _constant_result(built, t_span, y0, t_eval, has_events, dense_output):
    """Nothing to integrate (``t0 == t1``, or no equations): ``y0`` throughout, as SciPy."""
    t0, t1 = t_span
    n_events = built.spec.ev_dir.size
    ts = (
        t_eval.copy()
        if t_eval.size
        else np.array([t0] if t1 in (t0, np.inf, -np.inf) else [t0, t1])
    )
    sol = None
    if dense_output:
        sol = DenseSolution(
            np.zeros(0),
            np.zeros(0),
            np.zeros((0, y0.size)),
            np.zeros((0, y0.size, 1)),
            t1,
            y0.copy(),
        )
    return ODEResult(
        t=ts,
        y=np.repeat(y0[:, None], ts.size, axis=1),
        sol=sol,
        t_events=[np.zeros(0) for _ in range(n_events)] if has_events else None,
        y_events=[np.zeros(0) for _ in range(n_events)] if has_events else None,
        nfev=0,
        njev=0,
        nlu=0,
        status=0,
        message=MESSAGES[DONE],
        success=True,
        stats={
            "naccept": 0,
            "nreject": 0,
            "ngev": 0,
            "compiled": built.compiled,
            "nswitch": 0,
            "intervals": [],
        },
    )
