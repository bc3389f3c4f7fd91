"""The result of ``solve_ensemble`` (CPU threads, Dask chunks and the GPU alike)."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class EnsembleResult:
    """Results of ``solve_ensemble`` for ``m`` initial values of dimension ``n``.

    ``t`` the output times (``t_eval``, or just ``t1``); ``y`` shape (m, n, len(t)), NaN where a
    member stopped early; per member ``status`` (as solve_ivp: -1, 0, 1), ``nfev``, ``naccept``,
    ``nreject`` and ``message`` (for a member whose ``fun`` raised, the exception); ``success``
    when every member succeeded.
    """

    t: np.ndarray
    y: np.ndarray
    status: np.ndarray
    nfev: np.ndarray
    naccept: np.ndarray
    nreject: np.ndarray
    message: list
    success: bool
    stats: dict = field(default_factory=dict)
