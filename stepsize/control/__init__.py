"""Online step-size controllers, the scaled error norm and the shared stiffness estimate."""

from stepsize.control._filter import (
    PRESETS,
    FilterController,
    accept_ratio,
    get_controller,
    new_history,
    pid,
    reject_ratio,
)
from stepsize.control._norm import rms_error_norm
from stepsize.control._stiffness import stiffness_count, stiffness_estimate, stiffness_tally

__all__ = [
    "PRESETS",
    "FilterController",
    "accept_ratio",
    "get_controller",
    "new_history",
    "pid",
    "reject_ratio",
    "rms_error_norm",
    "stiffness_count",
    "stiffness_estimate",
    "stiffness_tally",
]
