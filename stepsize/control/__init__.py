"""Online step-size controllers and the shared stiffness estimate."""

from stepsize.control._stiffness import stiffness_estimate

__all__ = ["stiffness_estimate"]
