"""Checking ``integrate``'s method name and keyword options; defaults in one place."""

import functools
import math
from dataclasses import dataclass

import numpy as np

from stepsize.control import PRESETS, get_controller
from stepsize.nbody import _gravity as K
from stepsize.nbody._ode import COORDINATES
from stepsize.ode import TABLEAUX

KERNEL_METHODS = ("hermite4", "leapfrog", "gbs", "gr15", "wh", "archain")
CRITERIA = {"amuse": K.AMUSE, "aarseth": K.AARSETH}  # hermite4's step criteria
LEAPFROG_CRITERIA = {"symmetric": 0, "logh": 1}  # stepsize.nbody._leapfrog SYMMETRIC, LOGH
ADAPTIVE = {"prs23": 0, "global": 1}  # gr15 step criteria (stepsize.nbody._gr15)
DEFAULT_EPSILON = 1e-9
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
    "leapfrog": ("eta", "dt", "criterion"),
    "gbs": ("rtol", "atol"),
    "gr15": ("epsilon", "adaptive", "dt"),
    "wh": ("dt", "coordinates", "corrector"),
    "archain": ("rtol", "atol"),
}
COLLISION = ("radii", "collision")  # every method (stepsize.nbody._simulation)
WH_COORDINATES = ("jacobi", "democratic_heliocentric")
WH_CORRECTORS = (0, 3, 5, 7, 9, 11)
ODE_OPTIONS = ("rtol", "atol", "step_controller", "safety", "coordinates", "regularize")
REGULARIZE = ("ks",)  # stepsize.nbody._ks


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
    adaptive: str = "prs23"
    first_step: float = 0.0
    corrector: int = 0
    radii: tuple | None = None
    collision: str | None = None
    atol: float = 0.0
    step_controller: str = "I"
    safety: float = 0.8
    coordinates: str = "relative"
    regularize: str | None = None
    softening: float = 0.0
    encounter_distance: float = 0.0
    escape_radius: float = 0.0
    on_event: str = "stop"
    max_steps: int = 10_000_000
    max_energy_error: float = math.inf

    @property
    def is_ode(self):
        return self.method not in KERNEL_METHODS

    @property
    def controller(self):
        """The ``stepsize.control.FilterController`` of a Runge-Kutta run: the preset
        ``step_controller`` with this ``safety``."""
        return _controller(self.step_controller, self.safety)

    def as_dict(self):
        """The keyword arguments that reproduce this run through ``integrate``."""
        out = {self.parameter: self.value}
        if self.method in ("hermite4", "leapfrog") and self.parameter == "eta":
            out["criterion"] = self.criterion
        if self.method == "wh":
            out["coordinates"] = self.coordinates
            out["corrector"] = self.corrector
        if self.collision is not None:
            out["radii"] = list(self.radii)
            out["collision"] = self.collision
        if self.method == "gr15":
            out["adaptive"] = self.adaptive
            if self.first_step:
                out["dt"] = self.first_step
        if self.parameter == "rtol":
            out["atol"] = self.atol
        if self.is_ode:
            out["step_controller"] = self.step_controller
            out["safety"] = self.safety
            if self.regularize is None:
                out["coordinates"] = self.coordinates
            else:
                out["regularize"] = self.regularize
        defaults = Options(self.method, self.parameter, self.value)
        for name in COMMON:
            if getattr(self, name) != getattr(defaults, name):
                out[name] = getattr(self, name)
        return out


@functools.lru_cache(maxsize=64)
def _controller(name, safety):
    """One ``FilterController`` per (preset, safety): built once, so that repeated runs reuse
    ``stepsize.ode.solve``'s set-up (its repeat key holds the controller)."""
    return get_controller(name, safety=safety)


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
    allowed = COMMON + COLLISION + (SPECIFIC[method] if method in KERNEL_METHODS else ODE_OPTIONS)
    for name in options:
        if name not in allowed:
            raise TypeError(
                f"method {method!r} takes no option {name!r}; its options: {', '.join(allowed)}"
            )
    opts = _method_options(method, options)
    _collision_options(opts, options)
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


def _gr15_options(options):
    epsilon = options.get("epsilon", DEFAULT_EPSILON)
    try:
        epsilon = float(epsilon)
    except (TypeError, ValueError):
        raise TypeError(f"epsilon must be a number >= 0, got {epsilon!r}") from None
    if not (math.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(f"epsilon must be >= 0 and finite, got {options['epsilon']!r}")
    dt = positive(options.get("dt"), "dt", allow_none=True)
    if epsilon == 0 and dt is None:
        raise ValueError("epsilon = 0 (a fixed step) needs dt")
    adaptive = options.get("adaptive", "prs23")
    if adaptive not in ADAPTIVE:
        raise ValueError(f"adaptive: unknown {adaptive!r}; known: {', '.join(ADAPTIVE)}")
    if epsilon == 0:
        opts = Options("gr15", "dt", dt, adaptive=adaptive, first_step=dt)
    else:
        opts = Options("gr15", "epsilon", epsilon, adaptive=adaptive, first_step=dt or 0.0)
    return opts


def _collision_options(opts, options):
    """``radii`` and ``collision`` into ``opts`` (checked)."""
    opts.collision = options.get("collision")
    if opts.collision not in (None, "stop", "merge"):
        raise ValueError(f"collision must be 'stop' or 'merge', got {opts.collision!r}")
    if (opts.collision is None) != (options.get("radii") is None):
        raise ValueError("collision detection needs both radii and collision ('stop' or 'merge')")
    if opts.collision is None:
        return
    radii = np.asarray(options["radii"], dtype=float)
    if radii.ndim != 1 or not np.all(np.isfinite(radii)) or np.any(radii < 0):
        raise ValueError("radii must be a 1-D array of finite radii >= 0, one per body")
    opts.radii = tuple(radii.tolist())
    if opts.method != "gr15" and options.get("encounter_distance"):
        raise ValueError(
            f"method {opts.method!r} detects collisions through its encounter check: give "
            "encounter_distance or radii, not both (gr15 takes both)"
        )


def _wh_options(options):
    if options.get("dt") is None:
        raise ValueError(
            "method 'wh' takes a fixed step: give dt (e.g. a twentieth of the "
            "shortest orbital period)"
        )
    dt = positive(options["dt"], "dt")
    coordinates = options.get("coordinates", "jacobi")
    if coordinates not in WH_COORDINATES:
        raise ValueError(
            f"coordinates: unknown {coordinates!r} for 'wh'; known: {', '.join(WH_COORDINATES)}"
        )
    corrector = options.get("corrector", 0) or 0
    if isinstance(corrector, bool) or corrector not in WH_CORRECTORS:
        raise ValueError(f"corrector must be one of 0, 3, 5, 7, 9, 11, got {corrector!r}")
    if corrector and coordinates != "jacobi":
        raise ValueError(
            "corrector needs coordinates='jacobi' (the correctors of Wisdom, "
            "Holman & Touma 1996 are for the Jacobi splitting)"
        )
    if options.get("escape_radius"):
        raise ValueError(
            "escape_radius is not supported by 'wh' (its steps carry no "
            "physical state); use an adaptive method to detect escapes"
        )
    if options.get("softening"):
        raise ValueError("softening is not supported by 'wh' (the Kepler drifts are exact)")
    return Options("wh", "dt", dt, coordinates=coordinates, corrector=int(corrector))


def _method_options(method, options):
    if method == "gr15":
        return _gr15_options(options)
    if method == "wh":
        return _wh_options(options)
    if method in ("gbs", "archain") or method not in KERNEL_METHODS:
        rtol = positive(options.get("rtol", DEFAULT_RTOL), "rtol")
        atol = positive(options.get("atol", rtol), "atol")
        if method == "archain" and options.get("softening"):
            raise ValueError("softening is not supported by 'archain' (point masses only)")
        if method in ("gbs", "archain"):
            return Options(method, "rtol", rtol, atol=atol)
        ctrl = options.get("step_controller", Options.step_controller)
        if ctrl not in PRESETS:
            raise ValueError(f"step_controller: unknown {ctrl!r}; known: {', '.join(PRESETS)}")
        safety = positive(options.get("safety", Options.safety), "safety")
        if safety > 1.0:
            raise ValueError(f"safety: must lie in (0, 1], got {safety}")
        coordinates = options.get("coordinates", "relative")
        if coordinates not in COORDINATES:
            raise ValueError(
                f"coordinates: unknown {coordinates!r}; known: {', '.join(COORDINATES)}"
            )
        regularize = options.get("regularize")
        if regularize is not None and regularize not in REGULARIZE:
            raise ValueError(
                f"regularize: unknown {regularize!r}; known: None, {', '.join(REGULARIZE)}"
            )
        if regularize is not None and "coordinates" in options:
            raise ValueError("regularize='ks' sets its own coordinates: give no coordinates")
        if regularize is not None and options.get("softening"):
            raise ValueError("softening is not supported with regularize (point masses only)")
        return Options(
            method,
            "rtol",
            rtol,
            atol=atol,
            step_controller=ctrl,
            safety=safety,
            coordinates=coordinates,
            regularize=regularize,
        )
    eta = positive(options.get("eta"), "eta", allow_none=True)
    dt = positive(options.get("dt"), "dt", allow_none=True)
    if eta is not None and dt is not None:
        raise ValueError("give eta (adaptive step) or dt (fixed step), not both")
    known = LEAPFROG_CRITERIA if method == "leapfrog" else CRITERIA
    criterion = options.get("criterion", next(iter(known)))
    if criterion not in known:
        raise ValueError(f"criterion: unknown {criterion!r}; known: {', '.join(known)}")
    if dt is not None:
        if "criterion" in options:
            raise ValueError("criterion applies to the adaptive step (eta), not a fixed dt")
        return Options(method, "dt", dt, criterion=next(iter(known)))
    if eta is None:
        eta = DEFAULT_ETA[criterion if method == "hermite4" else method]
    return Options(method, "eta", eta, criterion=criterion)


def kernel_params(opts, G):
    """The float parameter vector of the compiled loops (see ``_gravity.P_*``)."""
    par = np.zeros(K.N_PAR)
    par[K.P_ETA] = opts.value if opts.parameter in ("eta", "epsilon") else 0.0
    par[K.P_DT] = opts.value if opts.parameter == "dt" else opts.first_step
    par[K.P_EPS2] = opts.softening**2
    par[K.P_G] = G
    par[K.P_ENC2] = opts.encounter_distance**2
    par[K.P_ESC] = opts.escape_radius
    par[K.P_MAXSTEPS] = opts.max_steps
    if opts.method == "gr15":
        par[K.P_CRIT] = ADAPTIVE[opts.adaptive]
    elif opts.method == "leapfrog":
        par[K.P_CRIT] = LEAPFROG_CRITERIA[opts.criterion]
    else:
        par[K.P_CRIT] = CRITERIA[opts.criterion]
    par[K.P_RTOL] = opts.value if opts.parameter == "rtol" else 0.0
    par[K.P_ATOL] = opts.atol
    return par
