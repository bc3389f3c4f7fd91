"""Results of N-body runs: small dataclasses of arrays."""

from dataclasses import dataclass, field

import numpy as np

from stepsize.nbody._system import System

MESSAGES = {
    "done": "Reached the end time.",
    "encounter": "Stopped at a close encounter: a pair came closer than encounter_distance.",
    "collision": "Stopped at a collision: two bodies overlap (closer than the sum of radii).",
    "escape": "Stopped at an escape: a body is unbound, receding and beyond escape_radius.",
    "energy": "Stopped: the relative energy error exceeded max_energy_error.",
    "max_steps": "Too many steps: max_steps reached before the end time.",
    "underflow": "Step size underflow: the step became too small for the time to advance "
    "(a collision?).",
    "nonfinite": "Non-finite positions or velocities: the run stopped before the failing step.",
    "failed": "The Runge-Kutta solver stopped; stats['solver_message'] says why.",
}
FAILURES = ("energy", "max_steps", "underflow", "nonfinite", "failed")


@dataclass(frozen=True)
class Event:
    """A detected event: ``kind`` "encounter" or "collision" (``bodies`` the pair,
    ``distance`` their separation; with collision="merge" the survivor keeps the lower index)
    or "escape" (``bodies`` the escaper, ``distance`` from the centre of mass of the others),
    at time ``t``."""

    kind: str
    t: float
    bodies: tuple
    distance: float


@dataclass
class History:
    """States saved every ``save_every``: ``t`` (K,), ``positions``/``velocities`` (K, N, D),
    ``energy_error`` (K,) and the accuracy parameter in force, ``value`` (K,)."""

    t: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    energy_error: np.ndarray
    value: np.ndarray


@dataclass(frozen=True)
class ControlInfo:
    """What an online ``controller`` sees at the end of each output interval.

    ``parameter`` names the accuracy parameter it may change ("eta", "dt", "epsilon" or
    "rtol") and
    ``value`` is its current value; ``energy_error`` is |E - E0| / |E0| so far, ``interval``
    the index of the interval just finished, ``system`` the current state.
    """

    t: float
    t_end: float
    interval: int
    system: System
    energy_error: float
    steps: int
    force_evaluations: int
    min_distance: float
    method: str
    parameter: str
    value: float


@dataclass
class NBodyResult:
    """An N-body run.

    ``system`` the final state at time ``t``; ``status`` one of "done", "encounter", "collision",
    "escape" (stops asked for by ``on_event="stop"``), "energy", "max_steps", "underflow",
    "nonfinite", "failed"; ``success`` False for the last five ("collision": a stop asked for
    by ``collision="stop"``).  ``energy_error``
    |E - E0| / |E0| (softened energies when ``softening`` is set; |E - E0| if E0 = 0);
    ``angular_momentum_error`` |L - L0| / |L0| (|L - L0| if L0 = 0, e.g. for bodies starting
    at rest); ``com_drift`` |X(t) - X(0) - V(0) t| of the centre of mass X.  ``min_distance`` is
    the smallest pair separation seen (at every force evaluation
    for hermite4, leapfrog and gbs, at every accepted step for the Runge-Kutta methods) and
    ``min_distance_pair`` that pair.  ``events`` lists detected encounters and escapes;
    ``history`` the states saved every ``save_every``; ``stats`` the method, its options, the
    accuracy parameter's changes and, for a failed Runge-Kutta run, the solver's message.
    """

    system: System
    t: float
    status: str
    success: bool
    message: str
    steps: int
    force_evaluations: int
    energy_error: float
    angular_momentum_error: float
    com_drift: float
    min_distance: float
    min_distance_pair: tuple
    events: list = field(default_factory=list)
    history: History | None = None
    stats: dict = field(default_factory=dict)


@dataclass
class EnsembleResult:
    """Results of :func:`integrate_ensemble` for M systems of N bodies in D dimensions.

    Per system: ``t`` (M,), final ``positions`` / ``velocities`` (M, N, D), ``masses`` (M, N),
    ``G`` (M,), ``status`` (M,) strings as :class:`NBodyResult`, ``steps``,
    ``force_evaluations``, ``energy_error``, ``angular_momentum_error``, ``com_drift``,
    ``min_distance`` (NaN
    for Runge-Kutta methods) and ``min_distance_pair`` (M, 2), ``events`` (a list per system).
    ``history`` (when ``save_every`` is given) has ``t``, ``energy_error``, ``value`` (M, K)
    and ``positions`` / ``velocities`` (M, K, N, D), NaN after a system stopped (its last row
    is the state where it stopped).  ``ens[k]`` is system k's
    :class:`NBodyResult`; ``success`` is True when no system failed.
    """

    t: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    masses: np.ndarray
    G: np.ndarray
    status: np.ndarray
    steps: np.ndarray
    force_evaluations: np.ndarray
    energy_error: np.ndarray
    angular_momentum_error: np.ndarray
    com_drift: np.ndarray
    min_distance: np.ndarray
    min_distance_pair: np.ndarray
    events: list
    history: History | None = None
    stats: dict = field(default_factory=dict)

    def __len__(self):
        return self.t.size

    @property
    def success(self):
        return not np.isin(self.status, FAILURES).any()

    @property
    def systems(self):
        """The final states as a list of System."""
        return [self[k].system for k in range(len(self))]

    def __getitem__(self, k):
        history = None
        if self.history is not None:
            h = self.history
            rows = ~np.isnan(h.t[k])
            history = History(
                h.t[k][rows],
                h.positions[k][rows],
                h.velocities[k][rows],
                h.energy_error[k][rows],
                h.value[k][rows],
            )
        status = str(self.status[k])
        return NBodyResult(
            system=System._trusted(
                self.masses[k], self.positions[k], self.velocities[k], self.G[k]
            ),
            t=float(self.t[k]),
            status=status,
            success=status not in FAILURES,
            message=MESSAGES[status],
            steps=int(self.steps[k]),
            force_evaluations=int(self.force_evaluations[k]),
            energy_error=float(self.energy_error[k]),
            angular_momentum_error=float(self.angular_momentum_error[k]),
            com_drift=float(self.com_drift[k]),
            min_distance=float(self.min_distance[k]),
            min_distance_pair=tuple(int(i) for i in self.min_distance_pair[k]),
            events=list(self.events[k]),
            history=history,
            stats=dict(self.stats),
        )
