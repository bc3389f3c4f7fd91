"""Initial value problems: explicit pairs, implicit methods and automatic stiffness switching,
run in compiled code, solve_ivp-compatible.

Nothing is compiled at import: the loop, the methods a call uses and the user's functions compile
when first used (then load from Numba's cache)."""

from stepsize.ode._compare import MethodComparison, compare_methods
from stepsize.ode._ensemble import EnsembleResult, solve_ensemble
from stepsize.ode._profile import StiffnessProfile, stiffness_profile
from stepsize.ode._rosenbrock import ROSENBROCK, RosenbrockTableau
from stepsize.ode._solve import DenseSolution, ODEResult, solve
from stepsize.ode._tableau import Tableau
from stepsize.ode._tableaux import TABLEAUX

__all__ = [
    "MethodComparison",
    "compare_methods",
    "ROSENBROCK",
    "TABLEAUX",
    "DenseSolution",
    "EnsembleResult",
    "ODEResult",
    "RosenbrockTableau",
    "StiffnessProfile",
    "Tableau",
    "solve",
    "solve_ensemble",
    "stiffness_profile",
]
