"""Work-precision of stepsize's stiff solvers against every peer on the Bari test set, one process.

Problems (``stepsize.ode.problems``, references of the Bari *Test Set for IVP Solvers*): ROBER,
HIRES, VDPOL (mu = 1e3), OREGO, E5 and POLLU; ``--problems bruss1d`` adds the banded 400-species
Brusselator (everyone who can is told the band).  For ``rtol`` in 1e-3 .. 1e-10 (decades) and
``atol = rtol * atol_ratio`` (the problem's ratio) we record

* error: the mixed error ``max_i |y_i - y_ref_i| / (atol_ratio + |y_ref_i|)`` at ``t_end``
  (``-log10`` of it is the Test Set's *mescd*),
* time: the median wall time of one solve (``_common``: warm-up, interleaved samples of >= 20 ms,
  5 rounds; one sample for a solve over 1 s), nfev / njev where the solver reports them.

Solvers, all with finite-difference Jacobians (nobody gets ``jac``): stepsize ``auto``,
``rosenbrock23`` (rtol >= 1e-6), ``rodas4``, ``rodas5p``, ``radau`` and ``bdf`` through the
public ``stepsize.ode.solve``; SciPy ``solve_ivp`` ``LSODA``, ``Radau``, ``BDF``; numbalsoda
``lsoda``; CyRK ``LSODA``, ``Radau``, ``BDF``; diffrax ``Kvaerno5`` under ``jax.jit``; SUNDIALS
CVODE ``BDF`` (scikit-sundae; its right-hand side is called from C through Python, about 10 us a
call here, which dominates its times).  How each peer receives ``fun``: ``_peers``.

Ratios ``time_peer / time_stepsize`` (> 1: stepsize faster) at matched error (1e-4, 1e-6, 1e-8
and the overlap geometric mean; ``_common.matched_ratios``).  The issue's target: the fastest
stepsize method >= 1x the faster of numbalsoda's LSODA and CVODE at every error; also listed:
against each compiled peer, the fastest compiled peer, and SciPy (same algorithm and best).

Usage: ``python benchmarks/ode_stiff.py [--quick] [--out DIR] [--problems ...]``; writes
``ode_stiff.json`` and ``ode_stiff.png`` to DIR (default ``benchmarks/results``; ``--quick``: a
temporary directory, 3 tolerances, 3 rounds).
"""

from __future__ import annotations

import _peers as peers
import numpy as np
from _common import (
    Outcome,
    Pair,
    Solver,
    WorkPrecisionRun,
    main_work_precision,
    matched_ratios,
)
from scipy.sparse import diags

from stepsize.ode import solve
from stepsize.ode.problems import mixed_error

PROBLEMS = ("rober", "hires", "vdpol", "orego", "e5", "pollu")
OPTIONAL = ("bruss1d",)
STEPSIZE = ("auto", "rosenbrock23", "rodas4", "rodas5p", "radau", "bdf")
ROSENBROCK23_LOOSEST = 1e-6
LEVELS = (1e-4, 1e-6, 1e-8)
DIFFRAX_MAX_STEPS = 20_000  # a stiff failure of Kvaerno5 otherwise runs for seconds
GROUPS = {
    "faster of numbalsoda lsoda, cvode": ("numbalsoda lsoda", "sundials cvode-BDF"),
    "fastest compiled peer": (
        "numbalsoda lsoda",
        "cyrk LSODA",
        "cyrk Radau",
        "cyrk BDF",
        "diffrax Kvaerno5",
    ),
}
PAIRS = (
    Pair("stepsize best", "faster of numbalsoda lsoda, cvode", 1.0),
    Pair("stepsize best", "numbalsoda lsoda", 1.0),
    Pair("stepsize best", "sundials cvode-BDF", 1.0),
    Pair("stepsize best", "cyrk best", 1.0),
    Pair("stepsize radau", "cyrk Radau", 1.0),
    Pair("stepsize best", "diffrax Kvaerno5", 1.0),
    Pair("stepsize best", "fastest compiled peer", 1.0),
    Pair("stepsize best", "scipy best", 20.0),
    Pair("stepsize radau", "scipy Radau", 20.0),
    Pair("stepsize auto", "scipy LSODA", 20.0),
)


def stepsize_run(p, method):
    def run(rtol):
        r = solve(
            p.fun,
            p.t_span,
            p.y0,
            method=method,
            rtol=rtol,
            atol=rtol * p.atol_ratio,
            args=p.args,
            jac_band=p.jac_band,
            max_steps=10**6,
        )
        return Outcome(r.y[:, -1], r.success, r.nfev, r.njev)

    return run


def scipy_band(p, method):
    """SciPy's way of being told the band: ``lband``/``uband`` or a ``jac_sparsity``."""
    if p.jac_band is None:
        return {}
    kl, ku = p.jac_band
    if method == "LSODA":
        return dict(lband=kl, uband=ku)
    n = p.y0.size
    return dict(
        jac_sparsity=diags([np.ones(n - abs(k)) for k in range(-kl, ku + 1)], range(-kl, ku + 1))
    )


def solvers_for(p) -> list[Solver]:
    out = [
        Solver(
            f"stepsize {m}",
            stepsize_run(p, m),
            tols=(lambda r: r >= ROSENBROCK23_LOOSEST) if m == "rosenbrock23" else (lambda r: True),
        )
        for m in STEPSIZE
    ]
    out += [
        Solver(f"scipy {m}", peers.scipy_run(p, m, **scipy_band(p, m)))
        for m in ("LSODA", "Radau", "BDF")
    ]
    if peers.available("numbalsoda"):
        run, count = peers.numbalsoda_run(p, "lsoda")
        out.append(Solver("numbalsoda lsoda", run, count_nfev=count))
    if peers.available("cyrk"):
        out += [Solver(f"cyrk {m}", peers.cyrk_run(p, m)) for m in ("LSODA", "Radau", "BDF")]
    if peers.available("diffrax"):
        run = peers.diffrax_run(p, "Kvaerno5", max_steps=DIFFRAX_MAX_STEPS)
        out.append(Solver("diffrax Kvaerno5", run))
    if peers.available("sundials"):
        band = {} if p.jac_band is None else dict(zip(("lband", "uband"), p.jac_band))
        out.append(Solver("sundials cvode-BDF", peers.cvode_run(p, "BDF", **band)))
    return out


def ratios(points):
    """The ratio tables of one problem, from its points."""
    return dict(
        matched_error=matched_ratios(points, PAIRS, LEVELS, GROUPS),
        matched_error_min=matched_ratios(points, PAIRS, LEVELS, GROUPS, "time_min_s"),
    )


def tolerances(quick):
    """``(tolerances, min_sample_s, repeats)``."""
    if quick:
        return [1e-4, 1e-6, 1e-8], 0.01, 3
    return [float(10.0**-x) for x in range(3, 11)], 0.02, 5


RUN = WorkPrecisionRun(
    name="ode_stiff",
    problems=PROBLEMS,
    optional=OPTIONAL,
    tolerances=tolerances,
    solvers_for=solvers_for,
    error_of=lambda p: lambda y: mixed_error(p, y),
    ratios=ratios,
    error_measure="max_i |y_i - y_ref_i| / (atol_ratio + |y_ref_i|) at t_end",
    title="Stiff work-precision (Bari test set; finite-difference Jacobians; one process)",
    xlabel="mixed error at t_end",
    peer_notes=peers.notes,
    atol_ratio=True,
    levels=LEVELS,
)


def main(argv=None):
    main_work_precision(RUN, argv, __doc__.split("\n")[0])


if __name__ == "__main__":
    main()
