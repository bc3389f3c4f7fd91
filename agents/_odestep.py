"""A learned ODE step controller and the work-precision comparison it is judged by.

The controller is a linear policy on the log error and log step-ratio history of an embedded
pair, acting inside :func:`stepsize.ode.solve`'s compiled loop:

    log rho_n = b1 log c_n + b2 log c_{n-1} + b3 log c_{n-2} - a2 log rho_{n-1} - a3 log rho_{n-2},
    c_n = safety * err_n^(-1/k),

i.e. a Söderlind digital filter (:class:`stepsize.control.FilterController`) whose coefficients,
safety factor and ratio bounds are learned by the cross-entropy method on a training family of
problems (``benchmarks/rl_odestep.py``) instead of being chosen by control theory.

The families (Kepler orbits of random eccentricity, van der Pol with random mu) draw a member
from a seed: training and evaluation use disjoint seeds.  A member's work-precision front is
``(nfev, global error at t_end)`` over a range of tolerances, the error in the mixed norm
``max_i |y_i - y_ref_i| / (1 + |y_ref_i|)`` against the exact solution (Kepler) or a Vern9
solve at rtol = atol = 1e-13 (van der Pol).  :func:`equal_error_ratio` compares two fronts: the
evaluations one needs over those of the other at equal error, interpolated in log-log.
"""

import math

import numpy as np

from stepsize.control import FilterController
from stepsize.ode import problems, solve
from stepsize.ode._stiff_problems import _vdpol_fun

FAMILIES = ("kepler", "vdpol")
KEPLER_E = (0.3, 0.9)  # eccentricity, uniform
KEPLER_PERIODS = 2.0
VDPOL_MU = (1.0, 10.0)  # log-uniform
VDPOL_T = 20.0
RTOLS = tuple(np.logspace(-10.0, -4.0, 7))  # training
EVAL_RTOLS = tuple(np.logspace(-11.0, -4.0, 8))  # held-out evaluation
REFERENCE_RTOL = 1e-13


def member(family, seed):
    """Member ``seed`` of ``family`` ("kepler" or "vdpol") as a :class:`Problem`."""
    if family not in FAMILIES:
        raise ValueError(f"family: unknown {family!r}; known: {', '.join(FAMILIES)}")
    rng = np.random.default_rng([seed, FAMILIES.index(family)])
    if family == "kepler":
        return problems.kepler(float(rng.uniform(*KEPLER_E)), KEPLER_PERIODS)
    mu = float(math.exp(rng.uniform(*np.log(VDPOL_MU))))
    y0, span = np.array([2.0, 0.0]), (0.0, VDPOL_T)
    ref = solve(
        _vdpol_fun,
        span,
        y0,
        method="vern9",
        rtol=REFERENCE_RTOL,
        atol=REFERENCE_RTOL,
        args=(mu,),
    )
    return problems.Problem(
        name="vdpol_mu",
        fun=_vdpol_fun,
        t_span=span,
        y0=y0,
        y_ref=ref.y[:, -1],
        args=(mu,),
        source=f"van der Pol, mu = {mu!r}, t in [0, {VDPOL_T}]; reference Vern9 at 1e-13",
    )


def front(problem, controller, rtols=RTOLS, method="dp5"):
    """Work-precision front of ``controller`` on ``problem``: arrays ``(nfev, error)`` over
    ``rtols`` (atol = rtol * atol_ratio); a failed solve counts an infinite error."""
    nfev, error = [], []
    for rtol in rtols:
        r = solve(
            problem.fun,
            problem.t_span,
            problem.y0,
            method=method,
            rtol=rtol,
            atol=rtol * problem.atol_ratio,
            args=problem.args,
            controller=controller,
        )
        nfev.append(r.nfev)
        error.append(problems.mixed_error(problem, r.y[:, -1]) if r.success else math.inf)
    return np.array(nfev, dtype=float), np.array(error)


def pareto(nfev, error):
    """The points of a front that are more accurate than every cheaper one, by cost."""
    order = np.lexsort((error, nfev))
    keep, best = [], math.inf
    for i in order:
        if error[i] < best:
            keep.append(i)
            best = error[i]
    return nfev[keep], error[keep]


def _interp_log(front_at, errors):
    """log nfev of ``front_at`` (its Pareto points) at ``errors``: linear in log-log, within
    its error range, never extrapolated."""
    nfev, err = pareto(*front_at)
    x, y = np.log(err[::-1]), np.log(nfev[::-1])
    inside = (np.log(errors) >= x[0]) & (np.log(errors) <= x[-1])
    return np.interp(np.log(errors[inside]), x, y), inside


def equal_error_ratio(candidate, baseline, max_error=math.inf):
    """Geometric mean of nfev(candidate) / nfev(baseline) at equal error, both ways: each
    front's points (those with error <= ``max_error``) inside the other's error range, against
    the other's Pareto points interpolated in log-log.  ``nan`` when no point counts (no common
    error range) or a solve failed."""
    if not (np.all(np.isfinite(candidate[1])) and np.all(np.isfinite(baseline[1]))):
        return math.nan
    if np.any(candidate[1] <= 0) or np.any(baseline[1] <= 0):
        return math.nan
    logs = []
    for a, b, sign in ((candidate, baseline, 1.0), (baseline, candidate, -1.0)):
        b_at, inside = _interp_log(b, a[1])
        counted = a[1][inside] <= max_error
        logs.extend(sign * (np.log(a[0][inside]) - b_at)[counted])
    return math.exp(float(np.mean(logs))) if logs else math.nan


PARAMETERS = ("b1", "b2", "b3", "a2", "a3", "safety", "qmin", "qmax")


def controller_from(theta, limiter="clamp", name="learned"):
    """The :class:`FilterController` of a parameter vector ordered as :data:`PARAMETERS`."""
    b1, b2, b3, a2, a3, safety, qmin, qmax = (float(v) for v in theta)
    return FilterController(
        b=(b1, b2, b3),
        a=(a2, a3),
        safety=safety,
        qmin=qmin,
        qmax=qmax,
        limiter=limiter,
        name=name,
    )
