"""The :class:`Problem` record of :mod:`stepsize.ode.problems`."""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Problem:
    """An initial value problem ``y' = fun(t, y, *args)``, ``y(t_span[0]) = y0``.

    Attributes
    ----------
    name : str
        Registry name.
    fun : callable
        ``fun(t, y, *args) -> ndarray`` (float64, shape ``y0.shape``); numba-compilable.
    t_span : (float, float)
        Start and end of the integration interval.
    y0 : ndarray
        Initial value (float64, 1-D).
    y_ref : ndarray
        Reference solution at ``t_span[1]``.
    args : tuple
        Extra positional arguments of ``fun`` (floats).
    exact : callable or None
        ``exact(t)`` for problems with an analytic solution: shape ``y0.shape`` for scalar ``t``,
        ``y0.shape + t.shape`` for an array (as SciPy's dense output).
    source : str
        Where the problem and the reference come from, and how accurate the reference is.
    stiff : bool
        Whether the problem is stiff (those of ``STIFF_PROBLEMS``).
    jac : callable or None
        ``jac(t, y, *args)``, the Jacobian ``dF/dy`` (n, n), or packed band storage
        ``(kl + ku + 1, n)`` when ``jac_band`` is set; numba-compilable.
    jac_band : (int, int) or None
        ``(kl, ku)`` sub- and super-diagonals of a banded Jacobian.
    atol_ratio : float
        The ``atol / rtol`` the problem needs; also the floor of the mixed error
        ``|y - y_ref| / (atol_ratio + |y_ref|)`` (the Test Set's *mescd* measure).
    mass : ndarray or None
        The constant ``M`` of ``M y' = fun(t, y)`` (``solve(..., mass=...)``); None: ``y' = fun``.
    """

    name: str
    fun: Callable
    t_span: tuple[float, float]
    y0: np.ndarray
    y_ref: np.ndarray
    args: tuple = ()
    exact: Callable | None = None
    source: str = ""
    stiff: bool = False
    jac: Callable | None = None
    jac_band: tuple | None = None
    atol_ratio: float = 1.0
    mass: np.ndarray | None = None

    def __post_init__(self):
        y0 = np.array(self.y0, dtype=np.float64)
        y_ref = np.array(self.y_ref, dtype=np.float64)
        if y0.ndim != 1 or y0.size == 0:
            raise ValueError(f"y0 must be a non-empty 1-D array, got shape {y0.shape}")
        if y_ref.shape != y0.shape:
            raise ValueError(f"y_ref must have the shape of y0 {y0.shape}, got {y_ref.shape}")
        if not (np.all(np.isfinite(y0)) and np.all(np.isfinite(y_ref))):
            raise ValueError("y0 and y_ref must be finite")
        t0, t1 = (float(v) for v in self.t_span)
        if not (math.isfinite(t0) and math.isfinite(t1) and t1 > t0):
            raise ValueError(f"t_span must be finite and increasing, got {self.t_span!r}")
        object.__setattr__(self, "y0", y0)
        object.__setattr__(self, "y_ref", y_ref)
        object.__setattr__(self, "t_span", (t0, t1))
        object.__setattr__(self, "args", tuple(self.args))
