"""Step-size controllers as digital filters (Söderlind), represented as data.

One filter covers the elementary (I), PI and PID controllers and Söderlind's family.  With
``c_n = (1/err_n)^(1/k)`` (``k`` = order of the error estimate + 1) the proposed step ratio is

    rho_n = c_n^b1 * c_{n-1}^b2 * c_{n-2}^b3 * rho_{n-1}^(-a2) * rho_{n-2}^(-a3)

(G. Söderlind, "Digital filters in adaptive time-stepping", ACM TOMS 29, 2003; "Adaptive
time-stepping and computational stability", JCAM 185, 2006).  The coefficients are written in
Söderlind's normalised form ``(k*beta1, k*beta2, k*beta3; alpha2, alpha3)``, as PETSc's
``TSADAPTDSP`` tables.  The safety factor enters each ``c``: ``c_n = safety * err_n^(-1/k)``, i.e.
the filter steers the error to ``safety^k`` of the tolerance whatever its coefficients (filters
with integral action, ``a2 + a3 = -1``, would otherwise drift to a different target).  The new step
is ``h_{n+1} = h_n * limit(rho_n)`` with either the classical clamp ``min(qmax, max(qmin, .))`` or
Söderlind's smooth limiter ``1 + atan(. - 1)`` (then also kept within ``[qmin, qmax]``).  A step is
accepted when ``err <= 1``; after a rejection the retry uses the elementary controller
``min(1, limit(c_n))`` and the filter history is left untouched; the step after a rejection may not
grow.  For the I controller this is exactly SciPy's and Hairer's rule.

Compiled loops take a controller as :class:`FilterData`, a named tuple Numba types
(:meth:`FilterController.data`), and its history as a 4-vector of logarithms ``(log c_{n-1},
log c_{n-2}, log rho_{n-1}, log rho_{n-2})`` made by :func:`new_history`; this module owns both
layouts, callers use the functions below and never index them.  In logarithms the filter is one
sum, so an accepted step costs two ``log`` and one ``exp`` (of ``err``, ``safety`` and the sum;
``math``'s, which the CUDA target compiles too), about a quarter of the time of the three ``pow``
the product form took (Hairer's ``dop853.f`` takes two ``pow`` for its PI controller); a filter
without memory (``b2 = b3 = a2 = a3 = 0``: the I controller) takes one ``pow``,
``safety * err^(-1/k)``, SciPy's factor bit for bit.
"""

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import numba
import numpy as np

_LIMITERS = ("clamp", "atan")


class FilterData(NamedTuple):
    """A controller as compiled loops take it (see :class:`FilterController` for the fields)."""

    b1: float
    b2: float
    b3: float
    a2: float
    a3: float
    safety: float
    qmin: float
    qmax: float
    smooth: bool  # Söderlind's atan limiter instead of the clamp


@dataclass(frozen=True)
class FilterController:
    """A Söderlind filter controller.

    Parameters
    ----------
    b : (b1, b2, b3) exponents of c_n, c_{n-1}, c_{n-2} (normalised: k*beta).
    a : (a2, a3) exponents (negated) of the previous step ratios rho_{n-1}, rho_{n-2}.
    limiter : "clamp" (classical, default for I and PI) or "atan" (Söderlind's smooth limiter).
    safety : factor on each ``c_n`` (0.9 as in Hairer and SciPy); the error is steered to
        ``safety^k`` of the tolerance.
    qmin, qmax : bounds on the step ratio h_{n+1}/h_n (0.2 and 10 as in Hairer's DOPRI5).
    name : label shown in results.
    """

    b: tuple = (1.0, 0.0, 0.0)
    a: tuple = (0.0, 0.0)
    limiter: str = "clamp"
    safety: float = 0.9
    qmin: float = 0.2
    qmax: float = 10.0
    name: str = "custom"

    def __post_init__(self):
        b = tuple(float(x) for x in self.b)
        a = tuple(float(x) for x in self.a)
        if len(b) != 3 or len(a) != 2:
            raise ValueError(f"controller: b needs 3 and a needs 2 coefficients, got b={b}, a={a}")
        if not all(np.isfinite(b + a)):
            raise ValueError(f"controller: coefficients must be finite, got b={b}, a={a}")
        if self.limiter not in _LIMITERS:
            raise ValueError(
                f"controller: limiter must be one of {_LIMITERS}, got {self.limiter!r}"
            )
        if not 0.0 < self.safety <= 1.0:
            raise ValueError(f"controller: safety must lie in (0, 1], got {self.safety}")
        if not 0.0 < self.qmin < 1.0 < self.qmax < np.inf:
            raise ValueError(
                "controller: need 0 < qmin < 1 < qmax < inf, "
                f"got qmin={self.qmin}, qmax={self.qmax}"
            )
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "a", a)

    def data(self) -> FilterData:
        """The controller as compiled loops take it."""
        return FilterData(
            *self.b,
            *self.a,
            float(self.safety),
            float(self.qmin),
            float(self.qmax),
            self.limiter == "atan",
        )


def _soderlind(name, b, a, limiter="atan"):
    return FilterController(b=b, a=a, limiter=limiter, name=name)


# Coefficients (k*beta1, k*beta2, k*beta3; alpha2, alpha3) from Söderlind (2003, 2006), as tabulated
# in PETSc's adaptdsp.c.  "PI" is Hairer's DOPRI5 controller, h_new/h = err^-(1/5 - 0.75 beta) *
# err_old^beta with beta = 0.04 and k = 5, i.e. (0.85, -0.2) in normalised form (its constant factor
# is safety^0.65 here, where dopri5.f has safety).
PRESETS = {
    "I": FilterController(name="I"),
    "PI": FilterController(b=(0.85, -0.2, 0.0), name="PI"),
    "PI30": _soderlind("PI30", (1 / 3, 0, 0), (0, 0)),
    "PI42": _soderlind("PI42", (3 / 5, -1 / 5, 0), (0, 0)),
    "PI33": _soderlind("PI33", (2 / 3, -1 / 3, 0), (0, 0)),
    "PI34": _soderlind("PI34", (7 / 10, -4 / 10, 0), (0, 0)),
    "H211PI": _soderlind("H211PI", (1 / 6, 1 / 6, 0), (0, 0)),
    "H211b": _soderlind("H211b", (1 / 4, 1 / 4, 0), (1 / 4, 0)),
    "H312PID": _soderlind("H312PID", (1 / 18, 1 / 9, 1 / 18), (0, 0)),
    "H312b": _soderlind("H312b", (1 / 8, 1 / 4, 1 / 8), (3 / 8, 1 / 8)),
    "H0211": _soderlind("H0211", (1 / 2, 1 / 2, 0), (1 / 2, 0)),
    "H0312": _soderlind("H0312", (1 / 4, 1 / 2, 1 / 4), (3 / 4, 1 / 4)),
    "H0321": _soderlind("H0321", (5 / 4, 1 / 2, -3 / 4), (-1 / 4, -3 / 4)),
    "H321": _soderlind("H321", (1 / 3, 1 / 18, -5 / 18), (-5 / 6, -1 / 6)),
}


def pid(p, i, d=0.0, **options):
    """A PID controller from proportional, integral and derivative gains (diffrax's convention).

    The gains act on ``log c_n``; in Söderlind's form ``b1 = i + p + d``, ``b2 = -(p + 2 d)``,
    ``b3 = d`` and ``a = 0`` (so the I controller is ``pid(0, 1)``).
    """
    return FilterController(b=(i + p + d, -(p + 2 * d), d), a=(0.0, 0.0), name="PID", **options)


def get_controller(controller, **overrides) -> FilterController:
    """Resolve ``controller``: a preset name, a :class:`FilterController`, or 5 coefficients.

    ``overrides`` replace fields (``safety``, ``qmin``, ``qmax``, ``limiter``).
    """
    if isinstance(controller, FilterController):
        ctrl = controller
    elif isinstance(controller, str):
        if controller not in PRESETS:
            raise ValueError(
                f"controller: unknown name {controller!r}; known: {', '.join(PRESETS)}"
            )
        ctrl = PRESETS[controller]
    else:
        try:
            coeffs = np.asarray(controller, dtype=float).ravel()
        except (TypeError, ValueError):
            coeffs = np.zeros(0)
        if coeffs.size != 5:
            raise ValueError(
                "controller: expected a preset name, a FilterController or 5 coefficients "
                f"(b1, b2, b3, a2, a3), got {controller!r}"
            )
        ctrl = FilterController(b=tuple(coeffs[:3]), a=tuple(coeffs[3:]))
    return replace(ctrl, **overrides) if overrides else ctrl


@numba.njit(cache=True)
def _limit(ctrl, ratio):
    if ctrl.smooth:
        ratio = 1.0 + np.arctan(ratio - 1.0)
    return min(ctrl.qmax, max(ctrl.qmin, ratio))


HISTORY_SIZE = 4
"""Entries of a filter history (for callers that keep it in storage of their own)."""


@numba.njit(cache=True)
def new_history():
    """Filter history before the first step: ``c_{n-1} = c_{n-2} = rho_{n-1} = rho_{n-2} = 1``
    (their logarithms, zeros)."""
    return np.zeros(HISTORY_SIZE)


@numba.njit(cache=True)
def reset_history(history):
    """Reset ``history`` in place to :func:`new_history`'s values (nothing allocated)."""
    for i in range(HISTORY_SIZE):
        history[i] = 0.0


@numba.njit(cache=True)
def set_last_ratio(history, ratio):
    """Record the step ratio ``h_n / h_{n-1}`` actually taken (after the loop changed it: a
    rejection, the end of the interval), so the filter's ``rho_{n-1}`` is the true one."""
    history[2] = math.log(ratio)


@numba.njit(cache=True)
def accept_ratio(ctrl, history, err, k):
    """Step ratio after an accepted step with scaled error ``err``; updates ``history``.

    ``log rho_n = b1 log c_n + b2 log c_{n-1} + b3 log c_{n-2} - a2 log rho_{n-1} - a3 log
    rho_{n-2}`` with ``log c_n = log safety - log(err) / k`` (err at least 1e-10), then the
    limiter; ``log rho_n`` of the limited ratio is kept only for a filter that reads it
    (``a2`` or ``a3`` nonzero; else 0).  Without memory (the I controller) the ratio is
    ``(safety * err^(-1/k))^b1`` and the history stays as it is."""
    e = max(err, 1e-10)
    if ctrl.b2 == 0.0 and ctrl.b3 == 0.0 and ctrl.a2 == 0.0 and ctrl.a3 == 0.0:
        c = ctrl.safety * e ** (-1.0 / k)
        return _limit(ctrl, c if ctrl.b1 == 1.0 else c**ctrl.b1)
    log_c = math.log(ctrl.safety) - math.log(e) / k
    log_rho = (
        ctrl.b1 * log_c
        + ctrl.b2 * history[0]
        + ctrl.b3 * history[1]
        - ctrl.a2 * history[2]
        - ctrl.a3 * history[3]
    )
    ratio = _limit(ctrl, math.exp(log_rho))
    history[1] = history[0]
    history[0] = log_c
    history[3] = history[2]
    history[2] = math.log(ratio) if ctrl.a2 != 0.0 or ctrl.a3 != 0.0 else 0.0
    return ratio


@numba.njit(cache=True)
def reject_ratio(ctrl, err, k):
    """Step ratio (< 1) after a rejected step: the elementary controller on ``err``."""
    c = ctrl.safety * err ** (-1.0 / k) if np.isfinite(err) else 0.0
    return min(1.0, _limit(ctrl, c))


@numba.njit(cache=True)
def elementary_ratio(ctrl, err, k):
    """The elementary controller's ratio ``safety * err^(-1/k)`` within ``[qmin, qmax]``."""
    return min(ctrl.qmax, max(ctrl.qmin, ctrl.safety * max(err, 1e-10) ** (-1.0 / k)))


@numba.njit(cache=True)
def failure_ratio(ctrl):
    """Step ratio after a step that failed outright (non-finite values): ``qmin``."""
    return ctrl.qmin
