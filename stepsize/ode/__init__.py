"""Initial value problems: embedded Runge–Kutta pairs run in compiled code, solve_ivp-compatible."""

from stepsize.ode._ensemble import EnsembleResult, solve_ensemble
from stepsize.ode._solve import DenseSolution, ODEResult, solve
from stepsize.ode._tableau import Tableau
from stepsize.ode._tableaux import TABLEAUX

__all__ = [
    "TABLEAUX",
    "DenseSolution",
    "EnsembleResult",
    "ODEResult",
    "Tableau",
    "solve",
    "solve_ensemble",
]
