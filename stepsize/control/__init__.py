"""Online step-size controllers, the scaled error norm and the shared stiffness estimate."""

from stepsize.control._filter import (
    HISTORY_SIZE,
    PRESETS,
    FilterController,
    FilterData,
    accept_ratio,
    elementary_ratio,
    failure_ratio,
    get_controller,
    new_history,
    pid,
    reject_ratio,
    reset_history,
    set_last_ratio,
)
from stepsize.control._norm import rms_error_norm
from stepsize.control._stiffness import stiffness_count, stiffness_estimate, stiffness_tally

__all__ = [
    "HISTORY_SIZE",
    "PRESETS",
    "FilterController",
    "FilterData",
    "accept_ratio",
    "elementary_ratio",
    "failure_ratio",
    "get_controller",
    "new_history",
    "pid",
    "reject_ratio",
    "reset_history",
    "set_last_ratio",
    "rms_error_norm",
    "stiffness_count",
    "stiffness_estimate",
    "stiffness_tally",
]
