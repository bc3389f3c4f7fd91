"""The named, typed bundles the integration loop takes, and the records it keeps its state in.

Read-only data travel as named tuples (Numba types them, and a field that is ``None`` -- no
Rosenbrock method, say -- removes the code that uses it from the compiled loop); mutable state
lives in one-element structured arrays, read and written by field name (``state[0].t``).  Only
functions declared ``twinned`` touch the records, so the interpreted path can run them on NumPy
record arrays.
"""

from typing import NamedTuple

import numpy as np

from stepsize.control import FilterData
from stepsize.ode._jit import interpreted_as
from stepsize.ode._sparse import NO_PATTERN, SparsePattern

# status codes (messages in ``_solve``)
RUNNING, DONE, EVENT = 2, 0, 1
MAX_STEPS, UNDERFLOW, NONFINITE, SINGULAR, NEWTON, FAULT = -1, -2, -3, -4, -5, -6
RETRY = 99  # an attempt asks to be repeated (Radau: Newton failed on an old Jacobian)
EXPLICIT, IMPLICIT = 0, 1  # which method is stepping
MODE_EXPLICIT, MODE_IMPLICIT, MODE_AUTO = 0, 1, 2
JAC_DIFFERENCES, JAC_FUNCTION, JAC_CONSTANT = 0, 1, 2
CTX_FAULT, CTX_T, CTX_ARGS = 0, 1, 2
"""Layout of a problem's context ``ctx``: the fault code an adapter sets (0: none), the time of
the fault, then the values of ``args``, then the state at the fault (see ``_context``)."""


class Problem(NamedTuple):
    """The right-hand side and what goes with it.

    ``rhs``, ``jac``, ``events`` adapters (:mod:`stepsize.ode._jit`); ``ctx`` their run-time
    context (``args`` and the fault slot); ``jac_mode`` one of ``JAC_*``; ``kl``, ``ku`` the band
    (``kl < 0``: dense); ``ev_dir`` the events' directions; ``ev_term`` how many occurrences of
    each event end the run (0: not terminal).
    """

    rhs: object
    jac: object
    events: object
    ctx: np.ndarray
    jac_mode: int
    kl: int
    ku: int
    ev_dir: np.ndarray
    ev_term: np.ndarray


class ExplicitMethod(NamedTuple):
    """An explicit pair as the loop takes it (conventions of :mod:`stepsize.ode._tableau`);
    ``pair`` its stiff pair of stages, ``sums`` the marker of its generated sums over the
    stages (:mod:`stepsize.ode._stage_sums`: ``A``, ``A_extra``, ``e`` and ``e2`` are written
    into them), ``k`` its error order + 1."""

    c: np.ndarray
    Q: np.ndarray
    c_extra: np.ndarray
    pair: np.ndarray
    sums: tuple
    k: float


class RosenbrockMethod(NamedTuple):
    """A Rosenbrock method in transformed form (:mod:`stepsize.ode._rosenbrock`)."""

    a: np.ndarray
    C: np.ndarray
    c: np.ndarray
    d: np.ndarray
    m: np.ndarray
    e: np.ndarray
    H: np.ndarray
    gamma: float
    fsal: bool
    k: float
    mass: np.ndarray = np.zeros((0, 0))
    sparse: SparsePattern = NO_PATTERN
    """The Jacobian's sparsity pattern and sparse LU (:mod:`stepsize.ode._sparse`); empty:
    dense or banded storage."""


class RadauMethod(NamedTuple):
    """Radau IIA 5 (its constants live in :mod:`stepsize.ode._radau`); ``k`` = 4.

    ``mass`` (both implicit bundles): the constant ``M`` of ``M y' = f`` the method is applied
    with, (n, n); empty for the identity (:mod:`stepsize.ode._mass`)."""

    k: float
    mass: np.ndarray = np.zeros((0, 0))
    sparse: SparsePattern = NO_PATTERN
    """The pattern and sparse LU of ``mu_r/h M - J`` and of the real form of the complex
    ``mu_c/h M - J`` (:func:`stepsize.ode._sparse.complex_pattern`); empty: dense or banded."""
    sparse_complex: SparsePattern = NO_PATTERN


class Controls(NamedTuple):
    """Step-size controllers of the explicit and the implicit method; ``predictive``: the
    implicit step is also limited by the elementary controller (Gustafsson's, ``radau5.f``)."""

    explicit: FilterData
    implicit: FilterData
    predictive: bool


class Switch(NamedTuple):
    """The automatic switch (OrdinaryDiffEq's AutoSwitch with Hairer's tally), see ``_loop``."""

    mode: int
    radius: float
    tol_explicit: float
    tol_implicit: float
    n_stiff: int
    n_nonstiff: int
    step_factor: float
    n_reset: int


class Steps(NamedTuple):
    """Interval, tolerances, step limits and what to store."""

    t0: float
    t1: float
    rtol: np.ndarray
    atol: np.ndarray
    first_step: float
    max_step: float
    max_steps: int
    t_eval: np.ndarray
    dense: bool
    profile: bool


INFO = np.dtype(
    [
        ("status", np.int64),
        ("t", np.float64),
        ("nfev", np.int64),
        ("njev", np.int64),
        ("nlu", np.int64),
        ("ngev", np.int64),
        ("naccept", np.int64),
        ("nreject", np.int64),
        ("nswitch", np.int64),
        ("stiff_steps", np.int64),
        ("max_run", np.int64),
        ("max_ratio", np.float64),
        ("t_stiff", np.float64),
        ("n_out", np.int64),
        ("n_seg", np.int64),
        ("n_ev", np.int64),
        ("n_sw", np.int64),
        ("n_prof", np.int64),
    ]
)
"""What a run reports: status, last time, counters (``max_ratio`` the largest explicit
``h lambda / R``, ``t_stiff`` when Hairer's tally first passed the threshold) and the sizes of the
stored output."""

STATE = np.dtype(
    [
        ("t", np.float64),
        ("h_abs", np.float64),
        ("kind", np.int64),
        ("rejected_last", np.bool_),
        ("last_failure", np.int64),
        ("n_singular", np.int64),
        ("count", np.int64),
        ("tally", np.int64),
        ("h_acc", np.float64),
        ("i_eval", np.int64),
    ]
)
"""The loop's own state: time, next step size, stepping method, the last attempt's outcome,
the stiffness verdict run ``count`` and Hairer's ``tally``, the last accepted implicit step, the
next ``t_eval`` entry."""

IMPLICIT_STATE = np.dtype(
    [
        ("jac_stale", np.bool_),
        ("jac_current", np.bool_),
        ("jnorm", np.float64),
        ("lu_h", np.float64),
        ("have_guess", np.bool_),
        ("t_prev", np.float64),
        ("h_prev", np.float64),
        ("n_iter", np.int64),
        ("rate", np.float64),
    ]
)
"""State of the implicit method: Jacobian age and norm, the step its factorisations are for
(0: none), and Radau's Newton history (previous step for the starting guess, iterations, rate)."""


def _records(dtype):
    return np.zeros(1, dtype=dtype).view(np.recarray)


def _init_info(info):
    info[0].status = RUNNING
    info[0].t_stiff = np.nan
    return info


def _init_implicit(imp):
    imp[0].jac_stale = True
    imp[0].h_prev = 1.0
    imp[0].rate = -1.0
    return imp


@interpreted_as(lambda: _init_info(_records(INFO)))
def new_info():
    """A fresh :data:`INFO` record array (one element): running, no counts."""
    info = np.zeros(1, dtype=INFO)
    info[0].status = RUNNING
    info[0].t_stiff = np.nan
    return info


@interpreted_as(lambda: _records(STATE))
def new_state():
    """A zeroed :data:`STATE` record array (one element)."""
    return np.zeros(1, dtype=STATE)


@interpreted_as(lambda: _init_implicit(_records(IMPLICIT_STATE)))
def new_implicit_state():
    """An :data:`IMPLICIT_STATE` record array (one element): no Jacobian yet."""
    imp = np.zeros(1, dtype=IMPLICIT_STATE)
    imp[0].jac_stale = True
    imp[0].h_prev = 1.0
    imp[0].rate = -1.0
    return imp
