"""Newton in Radau and BDF: SciPy's stopping rule (``rate / (1 - rate) ||dW|| < tol``) keeps
the accuracy of the published references.

Hairer & Wanner's ``eta`` carried from step to step (*Solving ODEs II*, Sec. IV.8, eq. (8.12);
``radau5.f``'s FACCON) stops after one iteration on a linear problem, but with SciPy's ``tol``
and norm it missed SciPy's own accuracy checks (``test_ode_scipy_compat``: the rational problem
for Radau, the constant-Jacobian linear one for BDF, by up to 55x), so the rule here is SciPy's.
"""

import numpy as np
import pytest

from stepsize.ode import problems, solve
from stepsize.ode.problems import mixed_error

LAMBDA = np.array([-1.0, -10.0, -1e3, -1e5])
"""Eigenvalues of the linear test system: stiffness ratio 1e5."""
Q = np.linalg.qr(np.arange(1.0, 17.0).reshape(4, 4) + np.eye(4))[0]
A = Q @ np.diag(LAMBDA) @ Q.T
Y0 = np.array([1.0, -2.0, 0.5, 3.0])
T1 = 2.0


def _linear(t, y, a):
    out = np.zeros(y.size)
    for i in range(y.size):
        for j in range(y.size):
            out[i] += a[i, j] * y[j]
    return out


def _exact(t):
    return Q @ (np.exp(LAMBDA * t) * (Q.T @ Y0))


@pytest.mark.parametrize("method", ["radau", "bdf"])
def test_linear_stiff_problem_meets_its_exact_solution(method):
    rtol = 1e-7
    r = solve(_linear, (0.0, T1), Y0, method=method, rtol=rtol, atol=1e-10, args=(A,))
    assert r.success
    scale = 1e-10 + rtol * np.abs(_exact(T1)) + 1e-10
    assert np.all(np.abs(r.y[:, -1] - _exact(T1)) < 100.0 * scale)


@pytest.mark.parametrize("method", ["radau", "bdf"])
@pytest.mark.parametrize(("name", "rtol", "digits"), [("rober", 1e-8, 7.0), ("hires", 1e-8, 6.0)])
def test_newton_keeps_the_bari_accuracy(method, name, rtol, digits):
    """Significant digits (mescd) against the Bari references at the tolerance the Test Set's
    RADAU5 runs reach them."""
    p = problems.get(name)
    r = solve(p.fun, p.t_span, p.y0, method=method, rtol=rtol, atol=rtol * p.atol_ratio)
    assert r.success
    assert -np.log10(mixed_error(p, r.y[:, -1])) > digits
