"""stepsize: adaptive step-size control."""

from stepsize._errors import UsageError

__all__ = ["UsageError"]
