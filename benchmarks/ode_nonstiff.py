"""Work-precision of stepsize's explicit Runge-Kutta solvers against every peer, in one process.

Problems: Arenstorf orbit, Lorenz (t in [0, 16]) and Pleiades from ``stepsize.ode.problems``; for
each ``rtol = atol`` in 1e-4 .. 1e-12 (half decades; all three problems have components of order
one) every solver integrates the problem and we record the max-abs error at ``t_end`` against the
problem's reference (good to <= 2e-15) and the median wall time of one solve (``_common``:
warm-up, interleaved samples of >= 25 ms, 7 rounds; one sample for a solve over 1 s).

Solvers: stepsize ``bs3`` (rtol >= 1e-8), ``dp5``, ``tsit5``, ``dop853``, ``vern7`` through the
public ``stepsize.ode.solve`` (it compiles the plain ``fun`` with Numba and returns every step);
SciPy ``solve_ivp`` ``RK45`` and ``DOP853``; numbalsoda ``dop853`` and ``lsoda``; CyRK
``DOP853`` and ``Tsit5``; diffrax ``Tsit5`` under ``jax.jit``; SUNDIALS CVODE ``Adams`` (from
scikit-sundae).  How each peer receives ``fun``: ``_peers``.  nfev of numbalsoda is counted in a
separate untimed run.

Ratios ``time_peer / time_stepsize`` (> 1: stepsize faster) at matched error (errors 1e-3, 1e-6,
1e-9 and the overlap geometric mean, ``_common.matched_ratios``) for same-method pairs and for
best-against-best; the issue's target is >= 1 against numbalsoda's dop853 (and >= 50 against
SciPy with the same method).  Also: plain ratios at equal tolerance for the same-method pairs, and
a fit ``time = overhead + per_fev * nfev`` per solver that splits fixed from per-step cost.

Usage: ``python benchmarks/ode_nonstiff.py [--quick] [--out DIR]``; writes ``ode_nonstiff.json``
and ``ode_nonstiff.png`` to DIR (default ``benchmarks/results``; ``--quick``: a temporary
directory, 4 tolerances, 3 rounds of 10 ms).
"""

from __future__ import annotations

import _peers as peers
import numpy as np
from _common import (
    Outcome,
    Pair,
    Solver,
    WorkPrecisionRun,
    cost_model,
    main_work_precision,
    matched_ratios,
)

from stepsize.ode import solve

PROBLEMS = ("arenstorf", "lorenz", "pleiades")
STEPSIZE = ("bs3", "dp5", "tsit5", "dop853", "vern7")
BS3_LOOSEST = 1e-8  # bs3 (order 3) only at rtol >= this
LEVELS = (1e-3, 1e-6, 1e-9)
PEERS_COMPILED = (  # the peers that run compiled code end to end
    "numbalsoda dop853",
    "numbalsoda lsoda",
    "cyrk DOP853",
    "cyrk Tsit5",
    "diffrax Tsit5",
)
GROUPS = {"fastest compiled peer": PEERS_COMPILED}
PAIRS = (
    Pair("stepsize dop853", "numbalsoda dop853", 1.0),
    Pair("stepsize best", "numbalsoda best", 1.0),
    Pair("stepsize dop853", "cyrk DOP853", 1.0),
    Pair("stepsize tsit5", "cyrk Tsit5", 1.0),
    Pair("stepsize tsit5", "diffrax Tsit5", 1.0),
    Pair("stepsize best", "sundials cvode-Adams", 1.0),
    Pair("stepsize best", "fastest compiled peer", 1.0),
    Pair("stepsize dp5", "scipy RK45", 50.0),
    Pair("stepsize dop853", "scipy DOP853", 50.0),
    Pair("stepsize best", "scipy best", 50.0),
)
SAME_METHOD = (
    ("stepsize dop853", "numbalsoda dop853"),
    ("stepsize dop853", "cyrk DOP853"),
    ("stepsize tsit5", "cyrk Tsit5"),
    ("stepsize tsit5", "diffrax Tsit5"),
    ("stepsize dp5", "scipy RK45"),
    ("stepsize dop853", "scipy DOP853"),
)


def stepsize_run(p, method):
    def run(rtol):
        r = solve(
            p.fun, p.t_span, p.y0, method=method, rtol=rtol, atol=rtol, args=p.args, max_steps=10**6
        )
        return Outcome(r.y[:, -1], r.success, r.nfev)

    return run


def solvers_for(p) -> list[Solver]:
    out = [
        Solver(
            f"stepsize {m}",
            stepsize_run(p, m),
            tols=(lambda rtol: rtol >= BS3_LOOSEST) if m == "bs3" else (lambda rtol: True),
        )
        for m in STEPSIZE
    ]
    out += [Solver(f"scipy {m}", peers.scipy_run(p, m)) for m in ("RK45", "DOP853")]
    if peers.available("numbalsoda"):
        for m in ("dop853", "lsoda"):
            run, count = peers.numbalsoda_run(p, m)
            out.append(Solver(f"numbalsoda {m}", run, count_nfev=count))
    if peers.available("cyrk"):
        out += [Solver(f"cyrk {m}", peers.cyrk_run(p, m)) for m in ("DOP853", "Tsit5")]
    if peers.available("diffrax"):
        out.append(Solver("diffrax Tsit5", peers.diffrax_run(p, "Tsit5")))
    if peers.available("sundials"):
        out.append(Solver("sundials cvode-Adams", peers.cvode_run(p, "Adams")))
    return out


def same_tolerance(points):
    rows = []
    for ours, peer in SAME_METHOD:
        if ours not in points or peer not in points:
            continue
        theirs = {q["rtol"]: q["time_s"] for q in points[peer]}
        rows.append(
            dict(
                ours=ours,
                peer=peer,
                at_rtol={
                    f"{q['rtol']:.0e}": theirs[q["rtol"]] / q["time_s"]
                    for q in points[ours]
                    if q["rtol"] in theirs
                },
            )
        )
    return rows


def print_cost_models(results):
    print("\nCost model time = overhead + per_fev * nfev (fit over the tolerances)")
    for name, res in results.items():
        for lab, cm in res["cost_model"].items():
            if cm:
                print(
                    f"{name:10} {lab:22} overhead {cm['overhead_us']:8.1f} us  "
                    f"{cm['ns_per_fev']:7.1f} ns/fev"
                )


def ratios(points):
    """The ratio tables of one problem, from its points."""
    return dict(
        matched_error=matched_ratios(points, PAIRS, LEVELS, GROUPS),
        matched_error_min=matched_ratios(points, PAIRS, LEVELS, GROUPS, "time_min_s"),
        same_tolerance=same_tolerance(points),
        cost_model={lab: cost_model(pts) for lab, pts in points.items()},
    )


def tolerances(quick):
    """``(tolerances, min_sample_s, repeats)``."""
    if quick:
        return [1e-4, 1e-6, 1e-8, 1e-10], 0.01, 3
    return [float(10.0**-x) for x in np.arange(4.0, 12.01, 0.5)], 0.025, 7


RUN = WorkPrecisionRun(
    name="ode_nonstiff",
    problems=PROBLEMS,
    tolerances=tolerances,
    solvers_for=solvers_for,
    error_of=lambda p: lambda y: float(np.max(np.abs(y - p.y_ref))),
    ratios=ratios,
    error_measure="max_i |y_i(t_end) - y_ref_i|",
    title="Non-stiff work-precision, rtol = atol = 1e-4 .. 1e-12 (one process, interleaved)",
    xlabel="max abs error at t_end",
    peer_notes=peers.notes,
    levels=LEVELS,
    report=print_cost_models,
    quick_help="reduced run (well under a minute)",
)


def main(argv=None):
    main_work_precision(RUN, argv, __doc__.split("\n")[0])


if __name__ == "__main__":
    main()
