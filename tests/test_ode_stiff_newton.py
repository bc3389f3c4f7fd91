"""Newton's stopping test in Radau and BDF: ``eta`` carried from step to step.

Hairer & Wanner (*Solving ODEs II*, Sec. IV.8, eq. (8.12); ``radau5.f``'s FACCON) stop the
simplified Newton iteration when ``eta ||dW|| <= tol`` with ``eta = rate / (1 - rate)``, and
before a second iterate gives a rate they take ``eta = max(eta_old, uround)^0.8`` from the
previous step.  SciPy's Radau and BDF wait for the rate, so they always take two iterations.
On a linear problem the simplified Newton iteration with the exact Jacobian converges in one
iteration (the rate is ~0), and with ``eta`` carried over every later step stops after one.
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


def _newton_evaluations_per_step(r, n):
    """F evaluations per attempted step spent in Newton, the finite-difference Jacobians, the
    start (F(t0) and the initial step's) and -- for Radau -- F at each new point removed."""
    steps = r.stats["naccept"] + r.stats["nreject"]
    other = n * r.njev + 2 + (r.stats["naccept"] if r.stats["method"] == "radau" else 0)
    return (r.nfev - other) / steps


@pytest.mark.parametrize(("method", "per_iteration"), [("radau", 3), ("bdf", 1)])
def test_linear_problem_takes_one_newton_iteration_per_step(method, per_iteration):
    rtol = 1e-7
    r = solve(_linear, (0.0, T1), Y0, method=method, rtol=rtol, atol=1e-10, args=(A,))
    assert r.success
    scale = 1e-10 + rtol * np.abs(_exact(T1)) + 1e-10
    assert np.all(np.abs(r.y[:, -1] - _exact(T1)) < 100.0 * scale)
    iterations = _newton_evaluations_per_step(r, Y0.size) / per_iteration
    # SciPy's rule takes two iterations or more at every step; here the steps after the first,
    # a fresh Jacobian or a step change that moves the stages take two, the others one
    assert 1.0 <= iterations < 1.6, iterations


@pytest.mark.parametrize("method", ["radau", "bdf"])
@pytest.mark.parametrize(("name", "rtol", "digits"), [("rober", 1e-8, 7.0), ("hires", 1e-8, 6.0)])
def test_one_iteration_stops_keep_the_bari_accuracy(method, name, rtol, digits):
    """The looser-looking stop costs no accuracy: significant digits (mescd) against the Bari
    references at the tolerance the Test Set's RADAU5 runs reach them."""
    p = problems.get(name)
    r = solve(p.fun, p.t_span, p.y0, method=method, rtol=rtol, atol=rtol * p.atol_ratio)
    assert r.success
    assert -np.log10(mixed_error(p, r.y[:, -1])) > digits
