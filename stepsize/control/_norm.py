"""The scaled error norm of an embedded pair (Hairer, Nørsett & Wanner I, eq. II.4.11)."""

import numba
import numpy as np


@numba.njit(cache=True)
def rms_error_norm(err, y0, y1, rtol, atol):
    """``sqrt(mean_i (err_i / (atol_i + rtol_i * max(|y0_i|, |y1_i|)))^2)``; accept when <= 1.

    A component with a zero scale (``atol_i = 0`` and ``y_i = 0``) counts 0 when its error is 0
    and makes the norm infinite otherwise (never a division by zero).
    """
    acc = 0.0
    for i in range(err.size):
        sc = atol[i] + rtol[i] * max(abs(y0[i]), abs(y1[i]))
        if sc > 0.0:
            acc += (err[i] / sc) ** 2
        elif err[i] != 0.0:
            return np.inf
    return np.sqrt(acc / err.size)
