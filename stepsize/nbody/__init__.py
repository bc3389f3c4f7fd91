"""Gravitational N-body dynamics: compiled kernels; Hermite, leapfrog, extrapolated leapfrog
(Gragg-Bulirsch-Stoer) and Runge-Kutta integrators with adaptive steps and an online controller
hook; the chaotic three-body problem; ensembles with one loop per system on CPU threads, as
one CUDA kernel on a GPU, or in chunks on a Dask cluster.

>>> from stepsize.nbody import integrate, pythagorean
>>> r = integrate(pythagorean(), 10.0, method="hermite4", eta=0.01)
>>> r.status, r.energy_error < 1e-4
('done', True)
"""

from stepsize.nbody import kernels, units
from stepsize.nbody._archive import Archive
from stepsize.nbody._compare import MethodRuns, compare_methods
from stepsize.nbody._elements import Elements, from_elements, to_elements
from stepsize.nbody._ensemble import integrate_ensemble
from stepsize.nbody._ics import (
    FIGURE_EIGHT_PERIOD,
    figure_eight,
    kepler,
    outer_solar_system,
    paper_three_body,
    pythagorean,
)
from stepsize.nbody._integrate import integrate
from stepsize.nbody._options import methods
from stepsize.nbody._result import ControlInfo, EnsembleResult, Event, History, NBodyResult
from stepsize.nbody._simulation import Simulation
from stepsize.nbody._system import System

__all__ = [
    "MethodRuns",
    "compare_methods",
    "Archive",
    "FIGURE_EIGHT_PERIOD",
    "ControlInfo",
    "Elements",
    "EnsembleResult",
    "Event",
    "History",
    "NBodyResult",
    "Simulation",
    "System",
    "figure_eight",
    "from_elements",
    "integrate",
    "integrate_ensemble",
    "kepler",
    "kernels",
    "methods",
    "outer_solar_system",
    "paper_three_body",
    "pythagorean",
    "to_elements",
    "units",
]
