"""A Runge–Kutta method is its Butcher tableau, as data (in the manner of SciPy's ``rk.py``).

Conventions shared by every explicit pair in :mod:`stepsize.ode`:

* Stage ``s - 1`` (the last one) is always ``f(t + h, y_new)``: its row of ``A`` equals ``b`` and
  ``c[-1] = 1``.  For first-same-as-last pairs (BS3, DP5, Tsit5) that stage is part of the method;
  for the others it is appended, and it costs nothing because it is the next step's first stage.
* ``e = b - b_hat`` gives the embedded error ``err = h * sum_i e_i k_i``.  DOP853 carries a second
  estimate ``e2`` (its 3rd-order one) combined as in Hairer's ``dop853.f``.
* Dense output in the power basis:
  ``y(t + theta h) = y + h * sum_i k_i * sum_j Q[i, j] theta^(j+1)`` over the stages plus any
  extra stages ``c_extra``/``A_extra`` (computed only when needed).
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Tableau:
    """Coefficients of an explicit embedded Runge–Kutta pair.

    Attributes
    ----------
    name : short method name used by ``solve(method=...)``.
    order : order of the propagated solution.
    error_order : order of the embedded estimate; step controllers use ``k = error_order + 1``.
    c, A, b, e : abscissae (s,), strictly lower-triangular matrix (s, s), weights (s,) and error
        weights (s,), with the last-stage convention above.
    Q : dense-output coefficients, shape (s + n_extra, m); the interpolant has degree m.
    c_extra, A_extra : extra stages for dense output, shapes (n_extra,) and (n_extra, s + n_extra).
    e2 : optional second error-weight vector (DOP853's 3rd-order estimate).
    stiff_pair : the two stage indices at the same abscissa used for Hairer's stiffness estimate.
    stability_radius : size of the stability region on the negative real axis.
    source : where the coefficients come from.
    """

    name: str
    order: int
    error_order: int
    c: np.ndarray
    A: np.ndarray
    b: np.ndarray
    e: np.ndarray
    Q: np.ndarray
    c_extra: np.ndarray = field(default_factory=lambda: np.zeros(0))
    A_extra: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    e2: np.ndarray | None = None
    stiff_pair: tuple[int, int] = (-2, -1)
    stability_radius: float = float("nan")
    source: str = ""

    @property
    def n_stages(self) -> int:
        return self.c.size

    @property
    def dense_degree(self) -> int:
        return self.Q.shape[1]


def stability_radius(tab: Tableau, *, step: float = 1e-3, tol: float = 1e-13) -> float:
    """Size of the stability region of ``tab`` on the negative real axis.

    The stability function of the propagated solution is ``R(z) = 1 + z b^T (I - z A)^(-1) 1``;
    for an explicit method (``A`` strictly lower triangular) the Neumann series ends and ``R`` is
    the polynomial ``1 + sum_k z^k b^T A^(k-1) 1`` of degree at most ``s``.  Returned is the
    largest ``r`` with ``|R(-x)| <= 1`` for all ``x`` in ``[0, r]``: ``R(-x)`` is scanned on a grid
    of spacing ``step`` a little past ``2 s^2`` (no explicit ``s``-stage method reaches further),
    and the first crossing is refined by bisection to ``tol``.  ``inf`` if no crossing is found
    (``R`` constant).
    """
    A = np.asarray(tab.A, dtype=float)
    b = np.asarray(tab.b, dtype=float)
    s = b.size
    if A.shape != (s, s):
        raise ValueError(f"tab.A must have shape ({s}, {s}), got {A.shape}")
    if np.any(np.triu(A) != 0.0):
        raise ValueError("tab.A must be strictly lower triangular (an explicit method)")
    if not step > 0.0:
        raise ValueError(f"step must be positive, got {step}")
    # coefficients of R(z) in increasing powers: 1, b.1, b.A1, b.A^2 1, ...
    coef = np.empty(s + 1)
    coef[0] = 1.0
    v = np.ones(s)
    for k in range(1, s + 1):
        coef[k] = b @ v
        v = A @ v
    poly = np.polynomial.Polynomial(coef)

    def excess(x):
        return np.abs(poly(-x)) - 1.0

    x_end = 2.0 * s * s + 1.0
    chunk = 2000
    lo = 0.0
    while lo < x_end:
        x = lo + step * np.arange(1, chunk + 1)
        bad = np.flatnonzero(excess(x) > tol)
        if bad.size:
            k = bad[0]
            left = x[k - 1] if k > 0 else lo
            right = x[k]
            while right - left > tol * max(1.0, right):
                mid = 0.5 * (left + right)
                if excess(mid) > tol:
                    right = mid
                else:
                    left = mid
            return float(left)
        lo = x[-1]
    return float("inf")
