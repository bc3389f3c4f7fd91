"""Checking ``integrate``'s method name and keyword options; defaults in one place."""

import math
from dataclasses import dataclass

import numpy as np

from stepsize.control import PRESETS
from stepsize.nbody import _kernels as K
from stepsize.nbody._ode import COORDINATES
from stepsize.ode import TABLEAUX

KERNEL_METHODS = ("hermite4", "leapfrog", "gbs")
CRITERIA = {"amuse": K.AMUSE, "aarseth": K.AARSETH}
DEFAULT_ETA = {"amuse": 0.03, "aarseth": 0.02, "leapfrog": 0.01}
DEFAULT_RTOL = 1e-10
COMMON = (
    "softening",
    "encounter_distance",
    "escape_radius",
    "on_event",
    "max_steps",
    "max_energy_error",
)
SPECIFIC = {
    "hermite4": ("eta", "dt", "criterion"),
    "leapfrog": ("eta", "dt"),
    "gbs": ("rtol", "atol"),
}
ODE_OPTIONS = ("rtol", "atol", "step_controller", "coordinates")


def methods():
    """Every method name ``integrate`` accepts."""
    return KERNEL_METHODS + tuple(TABLEAUX)


@dataclass
class Options:
    """Checked options.  ``parameter`` names the accuracy parameter a controller may change."""

    method: str
    parameter: str
    value: float
    criterion: str = "amuse"
    atol: float = 0.0
    step_controller: str = "PI"
    coordinates: str = "relative"
    softening: float = 0.0
    encounter_distance: float = 0.0
    escape_radius: float = 0.0
    on_event: str = "stop"
    max_steps: int = 10_000_000
    max_energy_error: float = math.inf

    @property
    def is_ode(self):
        return self.method not in KERNEL_METHODS

    def as_dict(self):
        """The keyword arguments that reproduce this run through ``integrate``."""
        out = {self.parameter: self.value}
        if self.method == "hermite4" and self.parameter == "eta":
            out["criterion"] = self.criterion
        if self.parameter == "rtol":
            out["atol"] = self.atol
        if self.is_ode:
            out["step_controller"] = self.step_controller
            out["coordinates"] = self.coordinates
        defaults = Options(self.method, self.parameter, self.value)
        for name in COMMON:
            if getattr(self, name) != getattr(defaults, name):
                out[name] = getattr(self, name)
        return out


def positive(value, name, allow_none=False):
    """``value`` as a positive finite float (None passes through when allowed)."""
    if value is None and allow_none:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number, got {value!r}") from None
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return x


def parse(method, options):
    """Check ``method`` and ``options`` (a dict of keyword arguments); return ``Options``."""
    if method not in methods():
        raise ValueError(f"method: unknown {method!r}; known: {', '.join(methods())}")
    allowed = COMMON + (SPECIFIC[method] if method in KERNEL_METHODS else ODE_OPTIONS)
    for name in options:
        if name not in allowed:
            raise TypeError(
                f"method {method!r} takes no option {name!r}; its options: {', '.join(allowed)}"
            )
    opts = _method_options(method, options)
    soft = options.get("softening")
    try:
        opts.softening = 0.0 if soft is None else float(soft)
    except (TypeError, ValueError):
        raise TypeError(f"softening must be a number >= 0, got {soft!r}") from None
    if not (0 <= opts.softening < 1e150):  # its square enters the potential: keep it finite
        raise ValueError(f"softening must be >= 0 and finite, got {options['softening']!r}")
    for name in ("encounter_distance", "escape_radius"):
        setattr(opts, name, positive(options.get(name), name, allow_none=True) or 0.0)
        if getattr(opts, name) >= 1e150:  # compared as squares: keep them finite
            raise ValueError(f"{name} must be below 1e150, got {options[name]!r}")
    limit = positive(options.get("max_energy_error"), "max_energy_error", allow_none=True)
    opts.max_energy_error = math.inf if limit is None else limit
    opts.on_event = options.get("on_event", "stop")
    if opts.on_event not in ("stop", "record"):
        raise ValueError(f"on_event must be 'stop' or 'record', got {opts.on_event!r}")
    max_steps = options.get("max_steps", opts.max_steps)
    if isinstance(max_steps, bool) or int(max_steps) != max_steps or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    opts.max_steps = int(max_steps)
    return opts


def _method_options(method, options):
    if method == "gbs" or method not in KERNEL_METHODS:
        rtol = positive(options.get("rtol", DEFAULT_RTOL), "rtol")
        atol = positive(options.get("atol", rtol), "atol")
        if method == "gbs":
            return Options(method, "rtol", rtol, atol=atol)
        ctrl = options.get("step_controller", "PI")
        if ctrl not in PRESETS:
            raise ValueError(f"step_controller: unknown {ctrl!r}; known: {', '.join(PRESETS)}")
        coordinates = options.get("coordinates", "relative")
        if coordinates not in COORDINATES:
            raise ValueError(
                f"coordinates: unknown {coordinates!r}; known: {', '.join(COORDINATES)}"
            )
        return Options(
            method, "rtol", rtol, atol=atol, step_controller=ctrl, coordinates=coordinates
        )
    eta = positive(options.get("eta"), "eta", allow_none=True)
    dt = positive(options.get("dt"), "dt", allow_none=True)
    if eta is not None and dt is not None:
        raise ValueError("give eta (adaptive step) or dt (fixed step), not both")
    criterion = options.get("criterion", "amuse")
    if criterion not in CRITERIA:
        raise ValueError(f"criterion: unknown {criterion!r}; known: {', '.join(CRITERIA)}")
    if dt is not None:
        if "criterion" in options:
            raise ValueError("criterion applies to the adaptive step (eta), not a fixed dt")
        return Options(method, "dt", dt)
    if eta is None:
        eta = DEFAULT_ETA[criterion if method == "hermite4" else method]
    return Options(method, "eta", eta, criterion=criterion)


def kernel_params(opts, G):
    """The float parameter vector of the compiled loops (see ``_kernels.P_*``)."""
    par = np.zeros(K.N_PAR)
    par[K.P_ETA] = opts.value if opts.parameter == "eta" else 0.0
    par[K.P_DT] = opts.value if opts.parameter == "dt" else 0.0
    par[K.P_EPS2] = opts.softening**2
    par[K.P_G] = G
    par[K.P_ENC2] = opts.encounter_distance**2
    par[K.P_ESC] = opts.escape_radius
    par[K.P_MAXSTEPS] = opts.max_steps
    par[K.P_CRIT] = CRITERIA[opts.criterion]
    par[K.P_RTOL] = opts.value if opts.parameter == "rtol" else 0.0
    par[K.P_ATOL] = opts.atol
    return par
