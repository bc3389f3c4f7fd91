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

_SAFE = 1e150
"""Largest differences whose squares are summed unscaled: ``n * _SAFE^2`` does not overflow for
any ``n`` below 1e8, and ``_SAFE^-2`` is a normal number."""


@numba.njit(cache=True)
def stiffness_estimate(f_a, f_b, y_a, y_b):
    """Return ``||f_b - f_a||_2 / ||y_b - y_a||_2`` (0.0 when ``y_a == y_b``).

    Multiply by the step size to compare with a stability-region size (DP5 3.31, Tsit5 3.51,
    DOP853 6.39, explicit Euler / gradient descent 2).  One pass sums the squares and finds the
    largest differences ``s_y``, ``s_f``; when both lie within ``[1/_SAFE, _SAFE]`` (``s_f`` may
    be 0) the sums can neither overflow nor lose the largest terms, and the result is
    ``sqrt(sum df^2 / sum dy^2)``.  Otherwise the norms are computed scaled, so tiny differences
    (gradients far past separation, ~1e-200) do not underflow to 0 nor huge ones overflow:
    ``||d|| = s ||d / s||`` with ``s = max |d_i|`` (returned as it is when 0 or not finite).
    The two ways agree to rounding (this runs once per step: for n = 28 the single pass takes
    a third of the time of the scaled one).
    """
    n = y_a.size
    sy = 0.0
    sf = 0.0
    ay = 0.0
    af = 0.0
    for i in range(n):
        dy = y_b[i] - y_a[i]
        df = f_b[i] - f_a[i]
        sy = max(sy, abs(dy))
        sf = max(sf, abs(df))
        ay += dy * dy
        af += df * df
    if sy == 0.0:
        return 0.0
    if 1.0 / _SAFE <= sy <= _SAFE and (sf == 0.0 or 1.0 / _SAFE <= sf <= _SAFE):
        return np.sqrt(af / ay)
    return _scaled_ratio(f_a, f_b, y_a, y_b, sf, sy)


@numba.njit(cache=True)
def _scaled_ratio(f_a, f_b, y_a, y_b, sf, sy):
    """:func:`stiffness_estimate` with each norm scaled by its largest difference."""
    fy = np.isfinite(sy)
    ff = sf != 0.0 and np.isfinite(sf)
    ay = 0.0
    af = 0.0
    if fy or ff:
        for i in range(y_a.size):
            if fy:
                d = (y_b[i] - y_a[i]) / sy
                ay += d * d
            if ff:
                d = (f_b[i] - f_a[i]) / sf
                af += d * d
    den = sy * np.sqrt(ay) if fy else sy
    return (sf * np.sqrt(af) if ff else sf) / den


@numba.njit(cache=True)
def stiffness_count(count, stiff):
    """Run-length counter of consecutive verdicts (OrdinaryDiffEq's ``AutoSwitch`` count).

    ``count > 0``: that many consecutive stiff verdicts (``h * lambda_hat`` above the threshold);
    ``count < 0``: that many consecutive non-stiff ones.  A verdict against the run restarts it
    at +-1.  Hairer's DOPRI5 reports "problem seems to become stiff" at ``count == 15``
    (threshold 3.25); AutoSwitch switches to the stiff method at ``count > 10`` (threshold
    0.9 times the stability radius) and back at ``count < -3``.
    """
    if stiff:
        return count + 1 if count > 0 else 1
    return count - 1 if count < 0 else -1


@numba.njit(cache=True)
def stiffness_tally(tally, count, reset):
    """Hairer's DOPRI5 tally (``iasti``): stiff verdicts since the last ``reset`` non-stiff ones in
    a row (``count`` from :func:`stiffness_count` after this verdict).

    ``dopri5.f`` declares "the problem seems to become stiff" at a tally of 15 with ``reset = 6``:
    an isolated non-stiff verdict -- a step shortened after a rejection, say -- does not restart
    the tally as it restarts the run of :func:`stiffness_count`.
    """
    if count > 0:
        return tally + 1
    return 0 if count <= -reset else tally
