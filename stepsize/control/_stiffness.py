"""Hairer's stiffness estimate, shared by every domain.

Along an accepted step with two evaluations of the right-hand side at states ``y_a`` and ``y_b``
(for DOPRI5 the stages 6 and 7, both at the abscissa ``c = 1``), the local Lipschitz constant in
the direction of the step is estimated by

    lambda_hat = ||f(y_b) - f(y_a)|| / ||y_b - y_a||,

and ``h * lambda_hat`` is compared with the size of the method's stability region on the negative
real axis (Hairer & Wanner, *Solving ODEs II*, Sec. IV.2; the test in ``dopri5.f``).  For gradient
descent ``f = -grad L`` and ``gamma * lambda_hat`` near 2 is the edge of stability: explicit Euler's
stability limit.
"""

import numba
import numpy as np


@numba.njit(cache=True)
def stiffness_estimate(f_a, f_b, y_a, y_b):
    """Return ``||f_b - f_a||_2 / ||y_b - y_a||_2`` (0.0 when ``y_a == y_b``).

    Multiply by the step size to compare with a stability-region size (DP5 ~3.3, Tsit5 ~3.5,
    DOP853 ~6.1, explicit Euler / gradient descent 2).
    """
    num = 0.0
    den = 0.0
    for i in range(y_a.size):
        df = f_b[i] - f_a[i]
        dy = y_b[i] - y_a[i]
        num += df * df
        den += dy * dy
    if den == 0.0:
        return 0.0
    return np.sqrt(num / den)
