"""The accuracy parameter an N-body environment's action sets, by integrator, and its grid.

One rule, as :class:`stepsize.nbody.Simulation` names the parameter of each method run with its
default options: ``eta`` for the adaptive Hermite 4 and leapfrog (h = eta tau), ``epsilon`` for
the Gauss-Radau gr15, ``dt`` for the fixed-step Wisdom-Holman wh, ``rtol`` for the extrapolated
leapfrog gbs and the Runge-Kutta methods of :mod:`stepsize.ode`.

Each parameter has a grid of 10 values, the most accurate first (an action index picks one,
a continuous action a point between the ends in log10):

* eta = logspace(-4, -1, 10), the paper's (Saz Ulibarrena & Portegies Zwart 2025);
* rtol = logspace(-13, -4, 10);
* epsilon = logspace(-10, -1, 10): over 10 yr of the paper's systems with an output every 0.1 yr
  gr15 goes from |dE/E0| ~ 1e-15 to ~1e-4;
* dt = logspace(-5, -2, 10) yr.
"""

import numpy as np

PARAMETERS = {"hermite4": "eta", "leapfrog": "eta", "gr15": "epsilon", "wh": "dt"}
GRIDS = {
    "eta": np.logspace(-4.0, -1.0, 10),
    "rtol": np.logspace(-13.0, -4.0, 10),
    "epsilon": np.logspace(-10.0, -1.0, 10),
    "dt": np.logspace(-5.0, -2.0, 10),
}


def parameter_of(method):
    """The name of ``method``'s accuracy parameter (see the module docstring)."""
    return PARAMETERS.get(method, "rtol")


def default_values(method):
    """A copy of the action grid of ``method``'s parameter."""
    return GRIDS[parameter_of(method)].copy()
