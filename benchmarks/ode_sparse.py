"""stepsize's BDF, Radau and Rodas5P with a sparse Jacobian against CVODE and SciPy's BDF on the
2-D Brusselator.

BRUSS-2D (Hairer & Wanner, *Solving ODEs II*, Sec. IV.10, in the OrdinaryDiffEq/SciMLBenchmarks
form, ``stepsize.ode._bruss2d``): 32 x 32 grid, 2,048 equations, 6 nonzeros per Jacobian row,
``t`` in [0, 11.5].  Everyone differences the right-hand side with the sparsity pattern it is
given: stepsize ``solve(method="bdf", jac_sparsity=S)`` (Curtis-Powell-Reid groups, compiled
sparse LU), SciPy ``solve_ivp(method="BDF", jac_sparsity=S)`` (grouped differences, SuperLU);
CVODE (scikit-sundae) with ``linsolver="sparse", sparsity=S`` where its SuperLU_MT is built in,
else with its dense solver (noted in the JSON).  stepsize's Radau (complex system in real form,
4,096 unknowns) and Rodas5P take the same pattern; "bdf+jac" rows give stepsize's BDF and SciPy's
BDF the exact Jacobian as a callable returning ``scipy.sparse`` (``bruss2d_jac``, SciPy's form;
stepsize calls it back from the compiled loop).  The reference is SciPy's BDF at rtol = atol =
1e-10 (an independent code), computed at the start of the run.  Matched-error ratios
``time_peer / time_stepsize`` as ``benchmarks/_common.py`` defines them.

Usage: ``python benchmarks/ode_sparse.py [--quick] [--out DIR]``; writes ``ode_sparse.json``
and ``ode_sparse.png``.
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
from scipy.integrate import solve_ivp

from stepsize.ode import solve
from stepsize.ode._bruss2d import T_SPAN, bruss2d, bruss2d_jac, bruss2d_sparsity, bruss2d_y0

N = 32
LEVELS = (1e-4, 1e-6)
PAIRS = (
    Pair("stepsize bdf", "sundials cvode-BDF", 1.0),
    Pair("stepsize bdf", "scipy BDF", 5.0),
    Pair("stepsize best", "sundials cvode-BDF", 1.0),
    Pair("stepsize rodas5p", "sundials cvode-BDF", 1.0),
    Pair("stepsize radau", "sundials cvode-BDF", 1.0),
    Pair("stepsize bdf+jac", "scipy BDF+jac", 5.0),
    Pair("stepsize bdf+jac", "sundials cvode-BDF", 1.0),
)


def solvers(y0, S):
    def ours(rtol):
        r = solve(
            bruss2d, T_SPAN, y0, method="bdf", args=(N,), rtol=rtol, atol=rtol, jac_sparsity=S
        )
        return Outcome(r.y[:, -1], r.success, r.nfev, r.njev)

    def scipy(rtol):
        r = solve_ivp(
            bruss2d, T_SPAN, y0, method="BDF", args=(N,), rtol=rtol, atol=rtol, jac_sparsity=S
        )
        return Outcome(r.y[:, -1], r.success, r.nfev, r.njev)

    def ours_with(method, **kw):
        def run(rtol):
            r = solve(bruss2d, T_SPAN, y0, method=method, args=(N,), rtol=rtol, atol=rtol, **kw)
            return Outcome(r.y[:, -1], r.success, r.nfev, r.njev)

        return run

    def scipy_jac(rtol):
        r = solve_ivp(
            bruss2d, T_SPAN, y0, method="BDF", args=(N,), rtol=rtol, atol=rtol, jac=bruss2d_jac
        )
        return Outcome(r.y[:, -1], r.success, r.nfev, r.njev)

    out = [
        Solver("stepsize bdf", ours),
        Solver("stepsize rodas5p", ours_with("rodas5p", jac_sparsity=S)),
        Solver("stepsize radau", ours_with("radau", jac_sparsity=S)),
        Solver("stepsize bdf+jac", ours_with("bdf", jac=bruss2d_jac)),
        Solver("scipy BDF", scipy),
        Solver("scipy BDF+jac", scipy_jac),
    ]
    note = "no scikit-sundae"
    if peers.available("sundials"):
        from sksundae.cvode import CVODE

        rhs = peers.inplace_njit(bruss2d, (N,), y0.size)
        try:
            CVODE(rhs, linsolver="sparse", sparsity=S)
            linear = dict(linsolver="sparse", sparsity=S)
            note = "CVODE linsolver='sparse' (SuperLU_MT) with the sparsity pattern"
        except ValueError as exc:
            linear = {}
            note = f"CVODE dense linear solver ({exc})"

        def cvode(rtol):
            s = CVODE(rhs, rtol=rtol, atol=rtol, max_num_steps=10**7, **linear)
            r = s.solve(np.array(T_SPAN), y0)
            return Outcome(r.y[-1], r.success, r.nfev, r.njev)

        out.append(Solver("sundials cvode-BDF", cvode))
    return out, note


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reduced run")
    ap.add_argument("--out", type=Path, default=None, help="output directory")
    opts = ap.parse_args(argv)
    tols = [1e-4, 1e-6] if opts.quick else [1e-3, 1e-4, 1e-5, 1e-6, 1e-7]
    repeats, min_sample = (3, 0.01) if opts.quick else (3, 0.02)
    out = output_dir(opts.out, opts.quick, "ode_sparse")
    info = machine_info(("scikit-sundae", "scipy"))
    start = time.perf_counter()
    y0, S = bruss2d_y0(N), bruss2d_sparsity(N)
    ref = solve_ivp(
        bruss2d, T_SPAN, y0, method="BDF", args=(N,), rtol=1e-10, atol=1e-10, jac_sparsity=S
    ).y[:, -1]
    print(f"reference {time.perf_counter() - start:.1f} s", flush=True)

    def error(y):
        return float(np.max(np.abs(y - ref) / (1.0 + np.abs(ref))))

    runs, note = solvers(y0, S)
    points = work_precision(runs, tols, error, repeats=repeats, min_sample=min_sample)
    finish_machine_info(info, start)
    results = {
        "bruss2d": dict(
            t_span=list(T_SPAN),
            n=int(y0.size),
            grid=N,
            points=points,
            matched_error=matched_ratios(points, PAIRS, LEVELS),
            matched_error_min=matched_ratios(points, PAIRS, LEVELS, key="time_min_s"),
        )
    }
    doc = dict(
        benchmark="ode_sparse",
        quick=opts.quick,
        machine=info,
        peers={**peers.notes(), "cvode_linear_solver": note},
        reference="SciPy BDF, rtol = atol = 1e-10, jac_sparsity",
        ratio="time_peer / time_stepsize at matched error (> 1: stepsize faster)",
        error_measure="max_i |y_i - y_ref_i| / (1 + |y_ref_i|) at t_end",
        tolerances=tols,
        timing=dict(statistic="median", repeats=repeats, min_sample_s=min_sample),
        error_levels=list(LEVELS),
        results=results,
    )
    print_points(results)
    print_matched(results, LEVELS)
    write_json(doc, out / "ode_sparse.json")
    plot_work_precision(
        results,
        out / "ode_sparse.png",
        title="BRUSS-2D 32x32 (2,048 equations), sparse Jacobians",
        xlabel="mixed error at t_end",
    )
    print(f"\nwrote {out / 'ode_sparse.json'} and {out / 'ode_sparse.png'}")


if __name__ == "__main__":
    main()
