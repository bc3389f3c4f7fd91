"""A Runge–Kutta method is its Butcher tableau, as data (in the manner of SciPy's ``rk.py``).

Conventions shared by every explicit pair in :mod:`stepsize.ode`:

* Stage ``s - 1`` (the last one) is always ``f(t + h, y_new)``: its row of ``A`` equals ``b`` and
  ``c[-1] = 1``.  For first-same-as-last pairs (BS3, DP5, Tsit5) that stage is part of the method;
  for the others it is appended, and it costs nothing because it is the next step's first stage.
* ``e = b - b_hat`` gives the embedded error ``err = h * sum_i e_i k_i``.  DOP853 carries a second
  estimate ``e2`` (its 3rd-order one) combined as in Hairer's ``dop853.f``.
* Dense output in the power basis: ``y(t + theta h) = y + h * sum_i k_i * sum_j Q[i, j] theta^(j+1)``
  over the stages plus any extra stages ``c_extra``/``A_extra`` (computed only when needed).
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
