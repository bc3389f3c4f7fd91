"""stepsize's BDF against pydiffsol's BDF (diffsol, Rust) at matched error, one process.

pydiffsol (``pip install pydiffsol``; the Python front end of the Rust crate diffsol) compiles
a model written in its DiffSL language with LLVM and differentiates it exactly, so its Newton
matrix comes from automatic differentiation.  stepsize is given the analytic ``jac`` where the
problem has one (ROBER, HIRES, ROBER as a DAE) and differences otherwise (CHEMAKZO); CHEMAKZO
runs a second time as ``stepsize+jac`` with Bari's exact Jacobian (``chemakzo_jac``), the pairing
with the same information as pydiffsol's.  The models
are the Bari test-set problems of ``stepsize.ode.problems``, written again in DiffSL below; the
script checks each DiffSL right-hand side against the problem's ``fun`` before timing.  Mass
matrices (the DAEs) use DiffSL's ``M_i``.  For ``rtol`` in 1e-3 .. 1e-10 and ``atol = rtol *
atol_ratio``: the mixed error at ``t_end`` against the Bari reference and the median CPU time of
one solve (``_common``); ratios ``time_pydiffsol / time_stepsize`` (> 1: stepsize faster), the
issue's target >= 1.

pydiffsol is not among the shared peers: install it into a directory of its own with the same
numpy and put that on ``PYTHONPATH`` (``pip install --no-deps --target DIR pydiffsol``).

Usage: ``python benchmarks/ode_pydiffsol.py [--quick] [--out DIR] [--problems ...]``; writes
``ode_pydiffsol.json`` and ``ode_pydiffsol.png``.
"""

from __future__ import annotations

import argparse
import time
from importlib import metadata
from pathlib import Path

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
from ode_bdf import dae_run

from stepsize.ode import problems
from stepsize.ode._dae_problems import chemakzo_jac
from stepsize.ode.problems import mixed_error

LEVELS = (1e-4, 1e-6, 1e-8)
PAIRS = (
    Pair("stepsize bdf", "pydiffsol bdf", 1.0),
    Pair("stepsize best", "pydiffsol bdf", 1.0),
    Pair("stepsize+jac bdf", "pydiffsol bdf", 1.0),
    Pair("stepsize+jac best", "pydiffsol bdf", 1.0),
)
STEPSIZE = ("bdf", "radau", "rodas5p")
EXACT_JAC = {"chemakzo": chemakzo_jac}
"""Exact Jacobians of the problems that ``stepsize.ode.problems`` leaves to differences."""

DIFFSL = {
    "rober": """
u_i { y1 = 1.0, y2 = 0.0, y3 = 0.0 }
F_i {
  -0.04 * y1 + 1.0e4 * y2 * y3,
  0.04 * y1 - 1.0e4 * y2 * y3 - 3.0e7 * y2 * y2,
  3.0e7 * y2 * y2,
}
""",
    "hires": """
u_i { y1 = 1.0, y2 = 0.0, y3 = 0.0, y4 = 0.0, y5 = 0.0, y6 = 0.0, y7 = 0.0, y8 = 0.0057 }
F_i {
  -1.71 * y1 + 0.43 * y2 + 8.32 * y3 + 0.0007,
  1.71 * y1 - 8.75 * y2,
  -10.03 * y3 + 0.43 * y4 + 0.035 * y5,
  8.32 * y2 + 1.71 * y3 - 1.12 * y4,
  -1.745 * y5 + 0.43 * y6 + 0.43 * y7,
  -280.0 * y6 * y8 + 0.69 * y4 + 1.71 * y5 - 0.43 * y6 + 0.69 * y7,
  280.0 * y6 * y8 - 1.81 * y7,
  -280.0 * y6 * y8 + 1.81 * y7,
}
""",
    "rober_dae": """
u_i { y1 = 1.0, y2 = 0.0, y3 = 0.0 }
dudt_i { d1 = 0.0, d2 = 0.0, d3 = 0.0 }
M_i { d1, d2, 0.0 }
F_i {
  -0.04 * y1 + 1.0e4 * y2 * y3,
  0.04 * y1 - 1.0e4 * y2 * y3 - 3.0e7 * y2 * y2,
  y1 + y2 + y3 - 1.0,
}
""",
    "chemakzo": """
u_i { y1 = 0.444, y2 = 0.00123, y3 = 0.0, y4 = 0.007, y5 = 0.0, y6 = {y6} }
dudt_i { d1 = 0.0, d2 = 0.0, d3 = 0.0, d4 = 0.0, d5 = 0.0, d6 = 0.0 }
M_i { d1, d2, d3, d4, d5, 0.0 }
r1 { 18.7 * y1 * y1 * y1 * y1 * sqrt(y2) }
r2 { 0.58 * y3 * y4 }
r3 { 0.58 / 34.4 * y1 * y5 }
r4 { 0.09 * y1 * y4 * y4 }
r5 { 0.42 * y6 * y6 * sqrt(y2) }
fin { 3.3 * (0.9 / 737.0 - y2) }
F_i {
  -2.0 * r1 + r2 - r3 - r4,
  -0.5 * r1 - r4 - 0.5 * r5 + fin,
  r1 - r2 + r3,
  -r2 + r3 - 2.0 * r4,
  r2 - r3 + r5,
  115.83 * y1 * y4 - y6,
}
""",
}
"""The models in DiffSL; CHEMAKZO's ``y6(0)`` is filled in from ``problems.get("chemakzo")``
(the consistent value ``Ks y1 y4``), its constants are those of ``chemakzo.f``."""


def diffsol_model(p):
    """The compiled pydiffsol ``Ode`` of problem ``p``, its right-hand side checked."""
    import pydiffsol as ds

    code = DIFFSL[p.name].replace("{y6}", repr(float(p.y0[-1])))
    ode = ds.Ode(code, matrix_type=ds.nalgebra_dense)
    ode.ode_solver = ds.bdf
    y = p.y0 + 0.01 * np.arange(1, p.y0.size + 1)  # away from the zeros of y0
    got = np.asarray(ode.rhs(np.array([]), 0.5, y))
    want = np.asarray(p.fun(0.5, y, *p.args))
    if not np.allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max()):
        raise AssertionError(f"DiffSL model of {p.name} disagrees with problems.{p.name}")
    return ode


def pydiffsol_run(p):
    ode = diffsol_model(p)
    t_end = float(p.t_span[1])

    def run(rtol):
        ode.rtol = rtol
        ode.atol = rtol * p.atol_ratio
        try:
            s = ode.solve(np.array([]), t_end)
        except Exception:  # noqa: BLE001  (a failed solve is a missing point)
            return Outcome(np.full(p.y0.size, np.nan), False)
        ok = bool(np.isclose(s.ts[-1], t_end))
        return Outcome(np.asarray(s.ys)[:, -1], ok, nsteps=len(s.ts) - 1)  # accepted steps

    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reduced run")
    ap.add_argument("--out", type=Path, default=None, help="output directory")
    ap.add_argument("--problems", nargs="+", default=list(DIFFSL), choices=list(DIFFSL))
    opts = ap.parse_args(argv)
    if opts.quick:
        tols, min_sample, repeats = [1e-4, 1e-6, 1e-8], 0.01, 3
    else:
        tols, min_sample, repeats = [float(10.0**-x) for x in range(3, 11)], 0.02, 5
    out = output_dir(opts.out, opts.quick, "ode_pydiffsol")
    info = machine_info(("pydiffsol", "scipy"))
    start = time.perf_counter()
    results = {}
    for name in opts.problems:
        p = problems.get(name)
        t = time.perf_counter()
        solvers = [Solver(f"stepsize {m}", dae_run(p, m)) for m in STEPSIZE]
        if name in EXACT_JAC:
            jac = EXACT_JAC[name]
            solvers += [Solver(f"stepsize+jac {m}", dae_run(p, m, jac)) for m in STEPSIZE]
        solvers.append(Solver("pydiffsol bdf", pydiffsol_run(p)))
        points = work_precision(
            solvers,
            tols,
            lambda y, p=p: mixed_error(p, y),
            atol_ratio=p.atol_ratio,
            repeats=repeats,
            min_sample=min_sample,
        )
        print(f"{name:9} {time.perf_counter() - t:6.1f} s", flush=True)
        results[name] = dict(
            t_span=list(p.t_span),
            n=int(p.y0.size),
            atol_ratio=p.atol_ratio,
            stepsize_jacobian="analytic" if p.jac is not None else "finite differences",
            stepsize_jac_jacobian="exact (Bari)" if name in EXACT_JAC else None,
            points=points,
            matched_error=matched_ratios(points, PAIRS, LEVELS),
            matched_error_min=matched_ratios(points, PAIRS, LEVELS, key="time_min_s"),
        )
    finish_machine_info(info, start)
    import pydiffsol

    doc = dict(
        benchmark="ode_pydiffsol",
        quick=opts.quick,
        machine=info,
        peers=dict(
            pydiffsol=metadata.version("pydiffsol"),
            diffsol=pydiffsol.diffsol_version(),
            pydiffsol_setup="BDF, nalgebra dense matrices, LLVM-compiled DiffSL, exact Jacobian",
        ),
        ratio="time_peer / time_stepsize at matched error (> 1: stepsize faster)",
        error_measure="max_i |y_i - y_ref_i| / (atol_ratio + |y_ref_i|) at t_end",
        tolerances=tols,
        timing=dict(statistic="median", repeats=repeats, min_sample_s=min_sample),
        error_levels=list(LEVELS),
        results=results,
    )
    print_points(results)
    print_matched(results, LEVELS)
    write_json(doc, out / "ode_pydiffsol.json")
    plot_work_precision(
        results,
        out / "ode_pydiffsol.png",
        title="stepsize vs pydiffsol BDF (Bari test set)",
        xlabel="mixed error at t_end",
    )
    print(f"\nwrote {out / 'ode_pydiffsol.json'} and {out / 'ode_pydiffsol.png'}")


if __name__ == "__main__":
    main()
