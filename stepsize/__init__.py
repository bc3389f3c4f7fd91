"""stepsize: adaptive step-size control.

Importing it also arranges that the Gymnasium environments of the packages built on it
(``stepsize/ThreeBody-v0`` and the others of ``envs``) are registered once gymnasium is
imported, without importing gymnasium itself (:mod:`stepsize._gymnasium`).
"""

from stepsize._errors import UsageError
from stepsize._gymnasium import register_when_gymnasium_loads

__all__ = ["UsageError"]

register_when_gymnasium_loads()
