"""``integrate``: one N-body run with optional history and an online controller."""

import math

import numpy as np

from stepsize.nbody._options import positive
from stepsize.nbody._simulation import Recorder, Simulation


def output_times(t_end, save_every):
    """The ends of the output intervals: save_every, 2 save_every, ..., t_end."""
    t_end = positive(t_end, "t_end")
    if save_every is None:
        return np.array([t_end])
    save_every = positive(save_every, "save_every")
    k = max(math.ceil(t_end / save_every * (1.0 - 1e-12)), 1)
    return np.append(save_every * np.arange(1, k), t_end)


def integrate(system, t_end, method="hermite4", *, save_every=None, controller=None, **options):
    """Integrate ``system`` from t = 0 to ``t_end``; returns an :class:`NBodyResult`.

    Methods
    -------
    "hermite4"  4th-order Hermite, shared adaptive step: ``eta`` (criterion="amuse", default
                0.03; criterion="aarseth", default 0.02) or a fixed ``dt``.
    "leapfrog"  2nd order, one force evaluation per step: kick-drift-kick with a fixed ``dt`` or
                a time-symmetric adaptive step ``eta`` (criterion="symmetric", the default;
                Hut, Makino & McMillan 1995), or drift-kick-drift in the time of the
                logarithmic Hamiltonian (criterion="logh"; Mikkola & Tanikawa 1999), a fixed
                step ``eta`` in that time: regular through close encounters.  eta default 0.01.
    "gbs"       Gragg-Bulirsch-Stoer extrapolation of the leapfrog, adaptive step and order up to
                18, error control on pair separations: ``rtol`` (default 1e-10), ``atol``
                (default rtol).  Fastest at high accuracy on smooth stretches; like every
                extrapolation method without regularisation its energy error stalls near 1e-8
                through very close encounters (the Pythagorean problem).
    "gr15"      15th-order Gauss-Radau (IAS15's algorithm), adaptive: ``epsilon`` (default 1e-9;
                0 with ``dt`` for a fixed step), ``adaptive`` ("prs23", the default, or
                "global"), ``dt`` (first step).  Energy error at machine precision.
    "wh"        Wisdom-Holman map, fixed ``dt`` (required), ``coordinates`` ("jacobi", the
                default, or "democratic_heliocentric"), ``corrector`` (0, 3, 5, 7, 9, 11;
                Jacobi only).  Bodies ordered outwards, body 0 the primary.
    "archain"   algorithmic chain regularisation (Mikkola & Tanikawa 1999; Mikkola & Aarseth
                1993): the logarithmic-Hamiltonian leapfrog in chain coordinates, extrapolated
                (adaptive step and order), landing on the output times: ``rtol`` (default
                1e-10), ``atol`` (default rtol).  For close encounters of few bodies (two or
                more massive, no softening): regular through collisions, machine precision.
    "dp5", "tsit5", "dop853", "vern7", "bs3", ...  every ``stepsize.ode`` Runge-Kutta method on
                the first-order system, compiled: ``rtol`` (default 1e-10), ``atol`` (default
                rtol), ``step_controller`` (a ``stepsize.control`` preset, default "I")
                with ``safety`` (default 0.8; the error is steered to safety^k of the
                tolerance): close encounters need steps that shrink at once, which the PI
                controller's memory delays (on the Pythagorean problem at rtol = 3e-11,
                DOP853 took 76,454 evaluations with PI / 0.9 and 60,362 with I / 0.8, for
                |dE/E| 2.2e-8 and 2.2e-10),
                ``coordinates`` ("relative": pair separations, the default, which keeps close
                pairs accurate; or "absolute"); ``regularize="ks"``: Kustaanheimo-Stiefel
                regularisation of the closest pair in fictitious time (``dt = r ds``; the
                regularised pair is re-chosen when another comes closer), for close
                encounters and near-radial orbits of few-body systems.

    Options for every method
    ------------------------
    softening : Plummer length eps (r^2 -> r^2 + eps^2), default 0.
    encounter_distance : report an "encounter" event when a pair comes closer (default off).
    escape_radius : report an "escape" event when a body is beyond this distance from the centre
        of mass of the others, receding and unbound (default off).
    on_event : "stop" (default; the result ends at the event, ``status`` names it) or "record"
        (events are listed in ``result.events`` and the run goes on).
    max_steps : steps before giving up with status "max_steps" (default 10,000,000).
    max_energy_error : stop with status "energy" once |dE/E0| exceeds it, checked at every
        output time (default off).
    radii, collision : collisions of bodies with these radii (one per body): "stop" (status
        "collision", the pair in the event) or "merge" (the pair becomes one body in the lower
        row: mass, momentum and centre of mass conserved, volume kept).  Overlaps are found at
        the end of the step in which they begin (gr15 tests them after every step; the other
        methods stop their loop whenever a pair is within the largest contact distance and
        test there, so they take no ``encounter_distance`` as well).

    save_every : save the state every ``save_every`` into ``result.history``; hermite4 and
        leapfrog end a step exactly on each output time, the Runge-Kutta methods interpolate.
    controller : callable ``controller(info) -> float | None`` called at the end of every output
        interval but the last, with a :class:`ControlInfo` (time, state, energy error, work so
        far, ``parameter`` and its ``value``).  A float becomes the new value of the accuracy
        parameter ("eta", "dt", "epsilon" or "rtol") for the next interval; None keeps it.  This
        is where a trained policy plugs in.  Needs ``save_every``.
    """
    if options.get("collision") == "merge" and save_every is not None:
        raise ValueError(
            "save_every cannot follow mergers (the number of bodies changes); "
            "use Simulation.evolve and read .system at the times you need"
        )
    sim = Simulation(system, method, **options)
    times = output_times(t_end, save_every)
    if controller is not None:
        if not callable(controller):
            raise TypeError(f"controller must be callable, got {type(controller).__name__}")
        if save_every is None:
            raise ValueError("controller needs save_every: the interval between its calls")
    recorder = Recorder(sim) if save_every is not None else None
    dense = sim.options.is_ode and sim.options.regularize is None
    if dense and controller is None and recorder is not None:
        _dense_run(sim, times, recorder)
        return sim.result(recorder.history())
    for k, tk in enumerate(times):
        status = sim.evolve(tk)
        if recorder is not None:
            recorder.add()
        if status != "done":
            break
        if controller is not None and k < times.size - 1:
            value = controller(sim.control_info(k, times[-1]))
            if value is not None:
                sim.value = value
    return sim.result(None if recorder is None else recorder.history())


def _dense_run(sim, times, recorder):
    """A Runge-Kutta run in one solver call, its history from the dense output."""
    limit = sim.options.max_energy_error
    for tk, y in sim._evolve_ode(times[-1], save_times=times):
        if recorder.add(tk, y) > limit:
            sim._set_state(tk, y)
            sim.status = "energy"
            return
    sim._check_energy()
    recorder.add()
