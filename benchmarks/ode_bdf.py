"""stepsize's BDF against SUNDIALS CVODE (BDF) and SciPy's BDF at matched error, one process.

Problems (``stepsize.ode.problems``, Bari *Test Set for IVP Solvers* references): ROBER, HIRES,
POLLU (20 species), VDPOL (mu = 1e3) and the banded 400-species Brusselator ``bruss1d``
(everyone is told the band); and the index-1 DAEs ``M y' = f`` CHEMAKZO, ROBER written as a
DAE and the transistor amplifier TRANSAMP (a non-diagonal singular ``M``: no component is
algebraic, IDA starts from Bari's consistent ``y0, y0'``), against SUNDIALS IDA (residual
``M y' - f``, algebraic variables marked).  SciPy's ``solve_ivp`` has no mass matrices (SciPy
issue #12762), so it has no entry on the DAEs.  For ``rtol`` in
1e-3 .. 1e-10 and ``atol = rtol * atol_ratio`` we record the mixed error at ``t_end`` and the
median wall time of one solve (``_common``: warm-up, interleaved samples, median of rounds).
Everybody uses finite-difference Jacobians, except ROBER as a DAE and TRANSAMP (their ``jac``
for stepsize; IDA differences its residual).

Solvers: stepsize ``bdf`` (and ``radau``, ``rodas4``, on DAEs ``rodas5p``, for the one-step
methods' view) through ``stepsize.ode.solve``; SciPy ``solve_ivp(method="BDF")`` (no mass
matrices); CVODE and IDA (scikit-sundae; their functions are compiled but called from C through
Python, which dominates their time on small problems).  Ratios ``time_peer / time_stepsize``
(> 1: stepsize faster) at errors 1e-4, 1e-6, 1e-8 and as the overlap geometric mean; the
issue's targets: >= 1x CVODE and >= 5x SciPy's BDF, >= 1x IDA on CHEMAKZO.

Usage: ``python benchmarks/ode_bdf.py [--quick] [--out DIR] [--problems ...]``; writes
``ode_bdf.json`` and ``ode_bdf.png`` to DIR (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _peers as peers
import numpy as np
from _common import (
    Outcome,
    Pair,
    Solver,
    finish_machine_info,
    machine_info,
    matched_ratios,
    output_dir,
    plot_work_precision,
    print_matched,
    print_points,
    work_precision,
    write_json,
)
from ode_stiff import scipy_band, stepsize_run

from stepsize.ode import problems, solve
from stepsize.ode.problems import mixed_error

PROBLEMS = ("rober", "hires", "pollu", "vdpol", "bruss1d", "chemakzo", "rober_dae", "transamp")
CONSISTENT_YP0 = {
    "transamp": np.array(
        [51.338775, 51.338775, -1.0 / 6e-3, -24.9757667, -24.9757667, -1.0 / 12e-3]
        + [-10.00564453, -10.00564453]
    )
}
"""``y0'`` where no component is algebraic, so IDA cannot compute it: Bari ``transamp.f``'s
``init`` (``y3' = -y2 / (C2 R3)``, ``y6' = -y5 / (C4 R7)``, the others to its 8-9 digits)."""
STEPSIZE = ("bdf", "radau", "rodas4")
STEPSIZE_DAE = ("bdf", "radau", "rodas4", "rodas5p")
LEVELS = (1e-4, 1e-6, 1e-8)
PAIRS = (
    Pair("stepsize bdf", "sundials cvode-BDF", 1.0),
    Pair("stepsize bdf", "scipy BDF", 5.0),
    Pair("stepsize best", "sundials cvode-BDF", 1.0),
    Pair("stepsize best", "scipy BDF", 5.0),
    Pair("stepsize bdf", "sundials ida", 1.0),
    Pair("stepsize best", "sundials ida", 1.0),
)


def dae_run(p, method, jac=None):
    """stepsize on ``M y' = f`` (the problem's mass matrix, if it has one) with the problem's
    Jacobian (None: differences) or ``jac``; also ``benchmarks/ode_pydiffsol.py``'s runs."""
    jac = p.jac if jac is None else jac

    def run(rtol):
        r = solve(
            p.fun,
            p.t_span,
            p.y0,
            method=method,
            rtol=rtol,
            atol=rtol * p.atol_ratio,
            args=p.args,
            jac=jac,
            mass=p.mass,
            max_steps=10**6,
        )
        return Outcome(r.y[:, -1], r.success, r.nfev, r.njev, r.stats["naccept"])

    return run


def ida_run(p):
    """IDA on the residual ``M y' - f(t, y)`` (compiled), algebraic variables = zero rows."""
    import numba
    from sksundae.ida import IDA

    rhs = peers.inplace_njit(p.fun, p.args, p.y0.size)
    mass = np.ascontiguousarray(p.mass)
    n = p.y0.size

    @numba.njit
    def resfn(t, y, yp, res):
        rhs(t, y, res)
        for i in range(n):
            acc = 0.0
            for j in range(n):
                acc += mass[i, j] * yp[j]
            res[i] = acc - res[i]

    alg = np.flatnonzero(~np.any(mass != 0.0, axis=1))
    tspan = np.array(p.t_span, dtype=float)
    yp0 = np.zeros(n)
    f0 = np.asarray(p.fun(p.t_span[0], p.y0, *p.args))
    yp0[np.diag(mass) != 0] = (f0 / np.where(np.diag(mass) != 0, np.diag(mass), 1.0))[
        np.diag(mass) != 0
    ]
    given = p.name in CONSISTENT_YP0
    if given:
        yp0 = CONSISTENT_YP0[p.name]

    def run(rtol):
        s = IDA(
            resfn,
            rtol=rtol,
            atol=rtol * p.atol_ratio,
            algebraic_idx=alg if alg.size else None,
            calc_initcond=None if given else "yp0",
            calc_init_dt=1e-6,
            max_num_steps=10**7,
        )
        r = s.solve(tspan, p.y0, yp0)
        return Outcome(r.y[-1], r.success, r.nfev, r.njev)

    return run


def solvers_for(p) -> list[Solver]:
    if p.mass is not None:
        out = [Solver(f"stepsize {m}", dae_run(p, m)) for m in STEPSIZE_DAE]
        if peers.available("sundials"):
            # at rtol 1e-3 IDA does not return on CHEMAKZO (sqrt of a negative y2, retried
            # without end), so it runs from 1e-4 on
            out.append(Solver("sundials ida", ida_run(p), tols=lambda rtol: rtol <= 1e-4))
        return out
    out = [Solver(f"stepsize {m}", stepsize_run(p, m)) for m in STEPSIZE]
    out.append(Solver("scipy BDF", peers.scipy_run(p, "BDF", **scipy_band(p, "BDF"))))
    if peers.available("sundials"):
        band = {} if p.jac_band is None else dict(zip(("lband", "uband"), p.jac_band))
        out.append(Solver("sundials cvode-BDF", peers.cvode_run(p, "BDF", **band)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reduced run")
    ap.add_argument("--out", type=Path, default=None, help="output directory")
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=PROBLEMS)
    ap.add_argument(
        "--merge",
        action="store_true",
        help="replace only these problems in the existing ode_bdf.json of --out (each merged "
        "problem keeps the machine record of its own run)",
    )
    opts = ap.parse_args(argv)
    if opts.quick:
        tols, min_sample, repeats = [1e-4, 1e-6, 1e-8], 0.01, 3
    else:
        tols, min_sample, repeats = [float(10.0**-x) for x in range(3, 11)], 0.02, 5
    out = output_dir(opts.out, opts.quick, "ode_bdf")
    print("peers:", peers.notes())
    info = machine_info(("scikit-sundae", "scipy"))
    start = time.perf_counter()
    results = {}
    for name in opts.problems:
        p = problems.get(name)
        t = time.perf_counter()
        solvers = solvers_for(p)
        points = work_precision(
            solvers,
            tols,
            lambda y, p=p: mixed_error(p, y),
            atol_ratio=p.atol_ratio,
            repeats=repeats,
            min_sample=min_sample,
        )
        print(f"{name:8} {len(solvers)} solvers, {time.perf_counter() - t:6.1f} s", flush=True)
        results[name] = dict(
            t_span=list(p.t_span),
            n=int(p.y0.size),
            atol_ratio=p.atol_ratio,
            points=points,
            matched_error=matched_ratios(points, PAIRS, LEVELS),
            matched_error_min=matched_ratios(points, PAIRS, LEVELS, key="time_min_s"),
        )
    finish_machine_info(info, start)
    if opts.merge:
        return _merge(out / "ode_bdf.json", results, info, tols)
    doc = dict(
        benchmark="ode_bdf",
        quick=opts.quick,
        machine=info,
        peers=peers.notes(),
        ratio="time_peer / time_stepsize at matched error (> 1: stepsize faster)",
        error_measure="max_i |y_i - y_ref_i| / (atol_ratio + |y_ref_i|) at t_end",
        tolerances=tols,
        timing=dict(statistic="median", repeats=repeats, min_sample_s=min_sample),
        error_levels=list(LEVELS),
        results=results,
    )
    print_points(doc["results"])
    print_matched(doc["results"], LEVELS)
    write_json(doc, out / "ode_bdf.json")
    plot_work_precision(
        results,
        out / "ode_bdf.png",
        title="BDF work-precision (Bari test set; finite-difference Jacobians; one process)",
        xlabel="mixed error at t_end",
    )
    print(f"\nwrote {out / 'ode_bdf.json'} and {out / 'ode_bdf.png'}")


def _merge(path, results, info, tols):
    """Put ``results`` into the JSON at ``path``, each with this run's ``machine`` record and
    tolerances; the other problems stay as they were."""
    import json

    doc = json.loads(path.read_text())
    for res in results.values():
        res.update(machine=info, tolerances=tols)
    doc["results"].update(results)
    print_points(results)
    print_matched(results, LEVELS)
    write_json(doc, path)
    plot_work_precision(
        doc["results"],
        path.with_suffix(".png"),
        title="BDF work-precision (Bari test set; finite-difference Jacobians; one process)",
        xlabel="mixed error at t_end",
    )
    print(f"\nmerged {', '.join(results)} into {path}")


if __name__ == "__main__":
    main()
