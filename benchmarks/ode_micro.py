"""Micro-benchmarks of ``stepsize.ode``: cost per call, per evaluation, ensembles, cold start.

All in one process, peers beside stepsize, interleaved medians (``_common.time_interleaved``):

fixed
    Fixed cost per call: ``y' = -y`` on ``[0, 1]`` at ``rtol = 1e-3`` (a handful of steps), so the
    time is almost all per-call overhead.  stepsize ``solve`` (dop853, dp5, dop853 with
    ``t_eval=[0, 1]`` and dop853 with the in-place ``fun(t, y, dydt)``) against numbalsoda
    ``dop853``/``lsoda``, CyRK ``DOP853`` and diffrax ``Tsit5`` (jit).  Ratio: numbalsoda dop853
    time / stepsize dop853 time (> 1: stepsize faster).  Also ``njit_solver``'s solver called
    from Python, numbalsoda's own form (arrays in, states at ``t_eval`` and a status out, no
    result object), against numbalsoda ``dop853``.  And the cost per call from the user's
    own ``@njit`` code: ``njit_solver`` against numbalsoda's ``dop853`` in a compiled loop
    (:func:`njit_cost`).
per_eval
    Cost per right-hand-side evaluation: the marginal time ``(T_long - T_short) / (nfev_long -
    nfev_short)`` of dop853 between a short and a longer span (Arenstorf 1 vs 10 periods, Lorenz
    ``[0, 2]`` vs ``[0, 20]``, Pleiades ``[0, 1]`` vs ``[0, 3]``; ``rtol = atol = 1e-9``), which
    cancels the fixed cost and leaves evaluation plus per-step work.  stepsize keeping every step
    (its default) and with ``t_eval = [t0, t1]`` (as numbalsoda), numbalsoda ``dop853`` (nfev from a
    counting right-hand side) and CyRK ``DOP853`` (12 evaluations per step counted from its
    steps, as dop853 takes).  Ratio: numbalsoda ns/eval over stepsize ns/eval.
ensemble
    ``solve_ensemble`` of 1000 Lorenz initial values (``y0 + N(0, 1)``, seed 0) on ``[0, 5]``,
    ``rtol = atol = 1e-8``, on all cores (``numba.prange``), against a serial loop of numbalsoda
    ``dop853`` and diffrax ``Tsit5`` under ``jax.jit(jax.vmap(...))``; stepsize runs dop853 for
    the numbalsoda pair and tsit5 for the diffrax pair; both sides once more with a right-hand
    side that writes its output in place (stepsize ``inplace=True``, numbalsoda a ``cfunc``
    writing ``du``; the other rows allocate an array per evaluation on both sides).  The end
    values are compared with the peer's, and each with a reference (dop853 at ``1e-13``), so
    that the pairs are seen to reach the same error.  Wall time; each side's compilation (and
    JAX's tracing) happens in an untimed first call.  At one tolerance the two sides of a pair
    need not reach the same error (diffrax's Tsit5 is more accurate at the same ``rtol``), so
    a tolerance sweep (:func:`ensemble_sweep`) also gives the pairs' ratios at matched error,
    on the wall clock and on the process CPU time, with diffrax's ``Dopri8`` beside its
    ``Tsit5`` for a best-against-best pair (stepsize tsit5 or dop853, diffrax Tsit5 or Dopri8).
events
    Cost per call with events, as a driver that restarts the integration calls ``solve`` (the
    N-body KS runs make ~28 calls per run): the harmonic oscillator ``y'' = -y``, ``y(0) = 1``,
    on ``[0, 10]`` with the non-terminal event ``y = 0`` (four crossings), dop853 at ``rtol =
    1e-6``; and the same written in place with ``args`` holding float64 arrays, ``t_span = (0,
    inf)`` ended by a terminal event (the first crossing upwards, ``t = 3 pi / 2``),
    ``first_step`` and ``max_steps`` (the KS calls' shape).  stepsize as called (the repeat path
    of :mod:`stepsize.ode._repeat`), stepsize through its full checks (forced by a finite
    ``max_step = 1e9``, which does not limit a step here: the cost of every call before the
    repeat path took events) and SciPy's ``solve_ivp`` (DOP853, the same events; numbalsoda and
    CyRK have none).  Ratios: full-path time / repeat time and SciPy time / stepsize time.
    Last, what it buys a whole run: ``stepsize.nbody``'s KS-regularised Pythagorean problem to
    ``t = 70`` (dop853, ``rtol = 3e-9``; ~28 ``solve`` calls, one per regularised segment), as
    it runs and with the repeat path switched off (``_solve.repeat_key`` replaced by one that
    declines every call: each call through the full checks); the same energy error both ways.
cold
    Fresh subprocesses with an empty ``NUMBA_CACHE_DIR``: the wall and CPU time (the child's user
    + system) to the first ``solve`` result (Lorenz, default method) and, separately, to the first
    ``solve_ensemble`` result; then a fresh process with the cache now warm: its time to the
    first result.  Each child also reports how many functions Numba compiled, the CPU seconds
    of the costliest (each without its callees' compilations, ``numba.core.event``) and the CPU
    seconds spent in LLVM (holding Numba's LLVM lock).
    numbalsoda's cold start (compiling its ``cfunc``) is the reference.

Usage: ``python benchmarks/ode_micro.py [--quick] [--out DIR] [--parts fixed per_eval ...]``;
writes ``ode_micro.json`` (and ``ode_micro.png``) to DIR (default ``benchmarks/results``);
``--parts`` re-runs those parts and keeps the others of an existing JSON there.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import _peers as peers
import numpy as np
from _common import (
    Pair,
    finish_machine_info,
    machine_info,
    matched_ratios,
    output_dir,
    time_interleaved,
    write_json,
)

from stepsize.ode import njit_solver, problems, solve, solve_ensemble

PARTS = ("fixed", "per_eval", "events", "ensemble", "cold")
DOP853_EVALS_PER_STEP = 12


def _decay_fun(t, y):
    out = np.empty(1)
    out[0] = -y[0]
    return out


DECAY = problems.Problem(
    name="decay",
    fun=_decay_fun,
    t_span=(0.0, 1.0),
    y0=np.array([1.0]),
    y_ref=np.array([np.exp(-1.0)]),
    source="y' = -y, exact",
)


def _decay_inplace(t, y, dydt):
    dydt[0] = -y[0]


def _lorenz_inplace(t, y, dydt, sigma, rho, beta):
    dydt[0] = sigma * (y[1] - y[0])
    dydt[1] = y[0] * (rho - y[2]) - y[1]
    dydt[2] = y[0] * y[1] - beta * y[2]


def _with_span(p, t1):
    return dataclasses.replace(p, t_span=(p.t_span[0], t1))


# ------------------------------------------------------------------------------------ fixed


def fixed_cost(repeats, min_sample):
    p, tol = DECAY, 1e-3
    t_ends = np.array(p.t_span)
    calls = {
        "stepsize dop853": lambda: solve(
            p.fun, p.t_span, p.y0, method="dop853", rtol=tol, atol=tol
        ),
        "stepsize dp5": lambda: solve(p.fun, p.t_span, p.y0, method="dp5", rtol=tol, atol=tol),
        "stepsize dop853 t_eval=[t0,t1]": lambda: solve(
            p.fun, p.t_span, p.y0, method="dop853", rtol=tol, atol=tol, t_eval=t_ends
        ),
        "stepsize dop853 in place": lambda: solve(
            _decay_inplace, p.t_span, p.y0, method="dop853", rtol=tol, atol=tol, inplace=True
        ),
    }
    # numbalsoda's own form: arrays in, (states at t_eval, status) out, from Python
    solver, y0 = njit_solver(_decay_inplace, "dop853", inplace=True), np.array(p.y0, dtype=float)

    def njit_solver_call():
        y, status = solver(t_ends, y0, (), tol, tol)
        return y[-1], status

    calls["stepsize njit_solver dop853 from Python"] = njit_solver_call
    if peers.available("numbalsoda"):
        for m in ("dop853", "lsoda"):
            run, _ = peers.numbalsoda_run(p, m)
            calls[f"numbalsoda {m}"] = lambda run=run: run(tol)
    if peers.available("cyrk"):
        run = peers.cyrk_run(p, "DOP853")
        calls["cyrk DOP853"] = lambda run=run: run(tol)
    if peers.available("diffrax"):
        run = peers.diffrax_run(p, "Tsit5")
        calls["diffrax Tsit5"] = lambda run=run: run(tol)
    r = solve(p.fun, p.t_span, p.y0, method="dop853", rtol=tol, atol=tol)
    timing = time_interleaved(calls, repeats=repeats, min_sample=min_sample)
    out = dict(
        problem="y' = -y on [0, 1], rtol = atol = 1e-3",
        stepsize_dop853_steps=int(len(r.t) - 1),
        stepsize_dop853_nfev=int(r.nfev),
        time_us={k: v["time_s"] * 1e6 for k, v in timing.items()},
        time_min_us={k: v["time_min_s"] * 1e6 for k, v in timing.items()},
        samples=timing,
    )
    if "numbalsoda dop853" in timing:
        nb = timing["numbalsoda dop853"]["time_s"]
        out["ratio_numbalsoda_dop853_over_stepsize"] = {
            k: nb / v["time_s"] for k, v in timing.items() if k.startswith("stepsize")
        }
    if peers.available("numbalsoda"):
        out["from_njit"] = njit_cost(repeats, min_sample)
    return out


NJIT_CALLS = 2000


def njit_cost(repeats, min_sample):
    """Cost per call from the user's own ``@numba.njit`` code: a loop of :data:`NJIT_CALLS`
    solves of ``y' = -y`` on ``[0, 1]`` (``t_eval = [0, 1]``, rtol = atol = 1e-3, in place),
    stepsize's ``njit_solver`` against numbalsoda's ``dop853`` called the same way (its
    documented use from Numba: the address of a ``cfunc``).  Also the CPU seconds of compiling
    each loop (the first call; stepsize compiles its loop for the user's function)."""
    import numba

    from stepsize.ode import njit_solver

    solver = njit_solver(_decay_inplace, "dop853", inplace=True)

    @numba.njit
    def ours(y0, t_eval, calls):
        s = 0.0
        for _ in range(calls):
            y, status = solver(t_eval, y0, (), 1e-3, 1e-3)
            s += y[1, 0] + status
        return s

    @numba.cfunc(peers.numbalsoda.lsoda_sig)
    def rhs(t, u, du, p):
        du[0] = -u[0]

    dop853 = peers.numbalsoda.dop853

    @numba.njit
    def theirs(address, y0, t_eval, data, calls):
        s = 0.0
        for _ in range(calls):
            u, ok = dop853(address, y0, t_eval, data, rtol=1e-3, atol=1e-3)
            s += u[1, 0] + ok
        return s

    y0, t_eval, data = np.array([1.0]), np.array([0.0, 1.0]), np.zeros(1)
    compile_s = {}
    for label, first in (
        ("stepsize njit_solver dop853", lambda: ours(y0, t_eval, 1)),
        ("numbalsoda dop853", lambda: theirs(rhs.address, y0, t_eval, data, 1)),
    ):
        c = time.process_time()
        first()
        compile_s[label] = time.process_time() - c
    ends = {
        "stepsize njit_solver dop853": ours(y0, t_eval, 1) - 0.0,
        "numbalsoda dop853": theirs(rhs.address, y0, t_eval, data, 1) - 1.0,
    }
    calls = {
        "stepsize njit_solver dop853": lambda: ours(y0, t_eval, NJIT_CALLS),
        "numbalsoda dop853": lambda: theirs(rhs.address, y0, t_eval, data, NJIT_CALLS),
    }
    timing = time_interleaved(calls, repeats=repeats, min_sample=min_sample)
    per_call = {k: v["time_s"] / NJIT_CALLS * 1e6 for k, v in timing.items()}
    ratio = per_call["numbalsoda dop853"] / per_call["stepsize njit_solver dop853"]
    return dict(
        setup="y' = -y on [0, 1], t_eval = [0, 1], rtol = atol = 1e-3, in place, "
        f"{NJIT_CALLS} calls per @njit loop",
        time_us_per_call=per_call,
        y_end=ends,
        first_call_cpu_s=compile_s,
        ratio_numbalsoda_over_stepsize=ratio,
        samples=timing,
    )


# ------------------------------------------------------------------------------------ events


def _oscillator(t, y):
    return np.array([y[1], -y[0]])


def _oscillator_inplace(t, y, dydt, k, scratch):
    scratch[0] = k[0] * y[0]
    dydt[0] = y[1]
    dydt[1] = -scratch[0]


def _crossing(t, y, *args):
    return y[0]


def _upwards(t, y, *args):
    return y[0]


_upwards.direction = 1.0
_upwards.terminal = True


def events_cost(repeats, min_sample):
    """Cost per call of ``solve`` with events (module docstring, part ``events``)."""
    from scipy.integrate import solve_ivp

    y0, tol = np.array([1.0, 0.0]), 1e-6
    plain = dict(method="dop853", rtol=tol, atol=tol, events=_crossing)
    restart = dict(
        method="dop853", rtol=tol, atol=tol, events=[_upwards], inplace=True, first_step=0.1,
        max_steps=10_000, args=(np.array([1.0]), np.zeros(1)),
    )  # fmt: skip
    calls = {
        "stepsize events": lambda: solve(_oscillator, (0.0, 10.0), y0, **plain),
        "stepsize events, full checks": lambda: solve(
            _oscillator, (0.0, 10.0), y0, max_step=1e9, **plain
        ),
        "scipy DOP853 events": lambda: solve_ivp(
            _oscillator, (0.0, 10.0), y0, method="DOP853", rtol=tol, atol=tol, events=_crossing
        ),
        "stepsize restart": lambda: solve(_oscillator_inplace, (0.0, np.inf), y0, **restart),
        "stepsize restart, full checks": lambda: solve(
            _oscillator_inplace, (0.0, np.inf), y0, max_step=1e9, **restart
        ),
    }
    runs = {k: call() for k, call in calls.items()}
    timing = time_interleaved(calls, repeats=repeats, min_sample=min_sample)
    us = {k: v["time_s"] * 1e6 for k, v in timing.items()}
    return dict(
        ks_pythagorean=_ks_run(repeats, min_sample),
        problem="y'' = -y, y(0) = (1, 0), dop853 rtol = atol = 1e-6: on [0, 10] with the "
        "event y = 0; restart: in place, args = (k array, scratch array), t_span = (0, inf), "
        "terminal event y = 0 upwards, first_step = 0.1, max_steps = 10000",
        t_events={k: [t.tolist() for t in r.t_events] for k, r in runs.items()},
        nfev={k: int(r.nfev) for k, r in runs.items()},
        time_us=us,
        time_min_us={k: v["time_min_s"] * 1e6 for k, v in timing.items()},
        ratio_full_over_repeat={
            "events": us["stepsize events, full checks"] / us["stepsize events"],
            "restart": us["stepsize restart, full checks"] / us["stepsize restart"],
        },
        ratio_scipy_over_stepsize=us["scipy DOP853 events"] / us["stepsize events"],
        samples=timing,
    )


def _ks_run(repeats, min_sample, rtol=3e-9):
    """CPU time of the KS-regularised Pythagorean run with and without the repeat path."""
    import stepsize.ode._solve as solve_module
    from stepsize.nbody import integrate, pythagorean

    key = solve_module.repeat_key
    calls_made = [0]

    def counted(*a):
        calls_made[0] += 1
        return key(*a)

    def run(repeat):
        solve_module.repeat_key = counted if repeat else lambda *a: None
        try:
            return integrate(pythagorean(), 70.0, "dop853", rtol=rtol, regularize="ks")
        finally:
            solve_module.repeat_key = key

    errors = {"repeat path": run(True).energy_error, "full checks": run(False).energy_error}
    calls_made[0] = 0
    run(True)
    n_calls = calls_made[0]
    timing = time_interleaved(
        {"repeat path": lambda: run(True), "full checks": lambda: run(False)},
        repeats=repeats,
        min_sample=min_sample,
    )
    ms = {k: v["time_s"] * 1e3 for k, v in timing.items()}
    return dict(
        setup=f"Pythagorean problem to t = 70, dop853, rtol = {rtol:g}, regularize='ks'",
        solve_calls_per_run=n_calls,
        energy_error=errors,
        time_ms=ms,
        ratio_full_over_repeat=ms["full checks"] / ms["repeat path"],
        samples=timing,
    )


# ------------------------------------------------------------------------------------ per_eval


def _stepsize_counter(p, method, endpoints_only):
    """``(run, count_nfev)`` of ``solve``, keeping every step or only ``[t0, t1]``."""
    t_eval = np.array(p.t_span) if endpoints_only else None

    def run():
        return solve(
            p.fun,
            p.t_span,
            p.y0,
            method=method,
            rtol=TOL_EVAL,
            atol=TOL_EVAL,
            args=p.args,
            t_eval=t_eval,
            max_steps=10**7,
        )

    return run, lambda: int(run().nfev)


TOL_EVAL = 1e-9
SPANS = {"arenstorf": (1.0, 10.0), "lorenz": (2.0, 20.0), "pleiades": (1.0, 3.0)}
PERIODIC = ("arenstorf",)  # spans in periods (its t_span is one period): the same orbit again


def per_eval_cost(repeats, min_sample):
    out = {}
    for name, (short, long) in SPANS.items():
        base = problems.get(name)
        if name in PERIODIC:
            short, long = short * base.t_span[1], long * base.t_span[1]
        calls, nfev = {}, {}
        for tag, t1 in (("short", short), ("long", long)):
            p = _with_span(base, t1)
            for lab, ends in (("stepsize dop853", False), ("stepsize dop853 t_eval=[t0,t1]", True)):
                run, count = _stepsize_counter(p, "dop853", ends)
                calls[(lab, tag)], nfev[(lab, tag)] = run, count()
            if peers.available("numbalsoda"):
                run, count = peers.numbalsoda_run(p, "dop853")
                calls[("numbalsoda dop853", tag)] = lambda run=run: run(TOL_EVAL)
                nfev[("numbalsoda dop853", tag)] = count(TOL_EVAL)
            if peers.available("cyrk"):
                run = peers.cyrk_run(p, "DOP853")
                calls[("cyrk DOP853", tag)] = lambda run=run: run(TOL_EVAL)
                nfev[("cyrk DOP853", tag)] = DOP853_EVALS_PER_STEP * run(TOL_EVAL).nsteps
        timing = time_interleaved(
            {f"{lab} [{tag}]": c for (lab, tag), c in calls.items()},
            repeats=repeats,
            min_sample=min_sample,
        )
        rows = {}
        for lab in dict.fromkeys(lab for lab, _ in calls):
            ts, tl = (timing[f"{lab} [{tag}]"]["time_s"] for tag in ("short", "long"))
            ns, nl = nfev[(lab, "short")], nfev[(lab, "long")]
            rows[lab] = dict(
                time_short_us=ts * 1e6,
                time_long_us=tl * 1e6,
                nfev_short=ns,
                nfev_long=nl,
                ns_per_eval=(tl - ts) / (nl - ns) * 1e9,
                fixed_us=(ts - (tl - ts) / (nl - ns) * ns) * 1e6,
            )
        if "numbalsoda dop853" in rows:
            ref = rows["numbalsoda dop853"]["ns_per_eval"]
            for row in rows.values():
                row["ratio_numbalsoda_over_this"] = ref / row["ns_per_eval"]
        out[name] = dict(
            spans=[[0.0, short], [0.0, long]], rtol=TOL_EVAL, solvers=rows, samples=timing
        )
    return out


# ------------------------------------------------------------------------------------ ensemble


ENSEMBLE_SIZE, ENSEMBLE_SPAN, ENSEMBLE_TOL = 1000, (0.0, 5.0), 1e-8


def ensemble(repeats, size=ENSEMBLE_SIZE):
    import numba

    p = problems.get("lorenz")
    Y0 = p.y0 + np.random.default_rng(0).standard_normal((size, p.y0.size))
    tol = ENSEMBLE_TOL
    res = {}

    def ens(method, inplace=False):
        return lambda: solve_ensemble(
            _lorenz_inplace if inplace else p.fun,
            ENSEMBLE_SPAN,
            Y0,
            method=method,
            rtol=tol,
            atol=tol,
            args=p.args,
            max_steps=10**6,
            inplace=inplace,
        )

    calls = {
        "stepsize solve_ensemble dop853": ens("dop853"),
        "stepsize solve_ensemble tsit5": ens("tsit5"),
        "stepsize solve_ensemble dop853-inplace": ens("dop853", inplace=True),
    }
    ends = {}
    if peers.available("numbalsoda"):
        rhs = peers.numbalsoda_cfunc(p.fun, p.args, p.y0.size)
        t_eval, data = np.array(ENSEMBLE_SPAN), np.zeros(1)

        def nb_loop():
            out = np.empty_like(Y0)
            for i in range(size):
                u, _ = peers.numbalsoda.dop853(rhs.address, Y0[i], t_eval, data, rtol=tol, atol=tol)
                out[i] = u[-1]
            return out

        calls["numbalsoda dop853 serial loop"] = nb_loop
        ends["numbalsoda dop853 serial loop"] = nb_loop()
        in_place = _numbalsoda_lorenz_inplace()
        params = np.array(p.args, dtype=float)

        def nb_loop_inplace():
            out = np.empty_like(Y0)
            for i in range(size):
                u, _ = peers.numbalsoda.dop853(
                    in_place.address, Y0[i], t_eval, params, rtol=tol, atol=tol
                )
                out[i] = u[-1]
            return out

        calls["numbalsoda dop853 serial loop, in place"] = nb_loop_inplace
        ends["numbalsoda dop853 serial loop, in place"] = nb_loop_inplace()
    if peers.available("diffrax"):
        calls["diffrax Tsit5 jit(vmap)"], ends["diffrax Tsit5 jit(vmap)"] = _diffrax_vmap(
            p, Y0, tol
        )
    timing = time_interleaved(calls, repeats=repeats, min_sample=0.0, clock="wall")
    ends["stepsize solve_ensemble dop853"] = calls["stepsize solve_ensemble dop853"]().y[:, :, -1]
    for label in ("tsit5", "dop853-inplace"):
        key = f"stepsize solve_ensemble {label}"
        ends[key] = calls[key]().y[:, :, -1]
    t = {k: v["time_s"] for k, v in timing.items()}
    ref = solve_ensemble(
        p.fun, ENSEMBLE_SPAN, Y0, method="dop853", rtol=1e-13, atol=1e-13, args=p.args,
        max_steps=10**7,
    ).y[:, :, -1]  # fmt: skip
    res["median |y_end - reference| (dop853 at 1e-13)"] = {
        k: float(np.median(np.abs(v - ref))) for k, v in ends.items()
    }
    ratios = {}
    for ours, peer in (
        ("stepsize solve_ensemble dop853", "numbalsoda dop853 serial loop"),
        ("stepsize solve_ensemble dop853-inplace", "numbalsoda dop853 serial loop, in place"),
        ("stepsize solve_ensemble tsit5", "diffrax Tsit5 jit(vmap)"),
    ):
        if peer in t:
            ratios[f"{peer} / {ours}"] = t[peer] / t[ours]
            res[f"median |y_end difference| {ours} vs {peer}"] = float(
                np.median(np.abs(ends[ours] - ends[peer]))
            )
    res.update(
        members=size,
        t_span=list(ENSEMBLE_SPAN),
        rtol=tol,
        numba_threads=numba.config.NUMBA_NUM_THREADS,
        time_s=t,
        ratios=ratios,
        samples=timing,
        tolerance_sweep=ensemble_sweep(p, Y0, ref, max(3, repeats)),
    )
    return res


SWEEP_TOLS = (1e-5, 1e-6, 1e-7, 1e-8, 1e-9)
SWEEP_LEVELS = (1e-4, 1e-5, 1e-6)
DIFFRAX_SWEEP = ("Tsit5", "Dopri8")
"""diffrax's solvers in the sweep: its Tsit5 and its 8th-order Dormand-Prince (the counterpart
of dop853), so that best meets best."""
SWEEP_PAIRS = (
    Pair("stepsize tsit5", "diffrax Tsit5 jit(vmap)", 2.0),
    Pair("stepsize best", "diffrax best", 2.0),
    Pair("stepsize dop853", "numbalsoda dop853 serial loop", 2.0),
)


def ensemble_sweep(p, Y0, ref, repeats):
    """The ensemble pairs at matched error: each side at ``rtol = atol`` in :data:`SWEEP_TOLS`,
    the error the median ``|y_end - reference|`` over members and components, the ratio read
    off the two work-precision curves (``_common.matched_ratios``) on the wall clock and on the
    process CPU time (all threads).  One specialisation of each side per tolerance, compiled
    (diffrax: traced) in an untimed first call; all points interleaved."""
    calls, ends = {}, {}
    for tol in SWEEP_TOLS:

        def ours(method, tol=tol):
            return lambda: solve_ensemble(
                p.fun, ENSEMBLE_SPAN, Y0, method=method, rtol=tol, atol=tol, args=p.args,
                max_steps=10**6,
            ).y[:, :, -1]  # fmt: skip

        calls[("stepsize tsit5", tol)] = ours("tsit5")
        calls[("stepsize dop853", tol)] = ours("dop853")
        if peers.available("numbalsoda"):
            calls[("numbalsoda dop853 serial loop", tol)] = _numbalsoda_loop(p, Y0, tol)
        if peers.available("diffrax"):
            for name in DIFFRAX_SWEEP:
                calls[(f"diffrax {name} jit(vmap)", tol)], _ = _diffrax_vmap(p, Y0, tol, name)
    for key, call in calls.items():
        ends[key] = np.asarray(call())
    timing = time_interleaved(
        {f"{k[0]} @ {k[1]:.0e}": c for k, c in calls.items()},
        repeats=repeats,
        min_sample=0.0,
        clock="wall",
    )
    points = {}
    for (label, tol), y in ends.items():
        row = timing[f"{label} @ {tol:.0e}"]
        err = float(np.median(np.abs(y - ref)))
        points.setdefault(label, []).append(
            dict(
                tol=tol,
                error=err,
                success=bool(np.all(np.isfinite(y))),
                time_s=row["wall_s"],
                time_min_s=row["time_min_s"],
                cpu_s=row["cpu_s"],
            )
        )
    return dict(
        tolerances=list(SWEEP_TOLS),
        error="median |y_end - reference (dop853 at 1e-13)| over members and components",
        points=points,
        matched_error_wall=matched_ratios(points, SWEEP_PAIRS, SWEEP_LEVELS),
        matched_error_cpu=matched_ratios(points, SWEEP_PAIRS, SWEEP_LEVELS, key="cpu_s"),
    )


def _numbalsoda_loop(p, Y0, tol):
    """A serial loop of numbalsoda ``dop853`` over the members (the allocating ``fun``)."""
    rhs = peers.numbalsoda_cfunc(p.fun, p.args, p.y0.size)
    t_eval, data = np.array(ENSEMBLE_SPAN), np.zeros(1)

    def run():
        out = np.empty_like(Y0)
        for i in range(Y0.shape[0]):
            u, _ = peers.numbalsoda.dop853(rhs.address, Y0[i], t_eval, data, rtol=tol, atol=tol)
            out[i] = u[-1]
        return out

    run.keep = rhs
    return run


def _numbalsoda_lorenz_inplace():
    """numbalsoda's right-hand side for Lorenz writing ``du`` directly (parameters in ``p``)."""
    import numba

    @numba.cfunc(peers.numbalsoda.lsoda_sig)
    def rhs(t, u, du, p):
        du[0] = p[0] * (u[1] - u[0])
        du[1] = u[0] * (p[1] - u[2]) - u[1]
        du[2] = u[0] * u[1] - p[2] * u[2]

    return rhs


def _diffrax_vmap(p, Y0, tol, solver_name="Tsit5"):
    """diffrax's ``solver_name`` under ``jax.jit(jax.vmap(...))`` over the members, its default
    ``PIDController``; returns ``(run, its result)`` (the first call traces and compiles)."""
    jax, jnp, diffrax = peers.jaxmods
    f, jargs = peers.jax_fun(p.fun, p.args, p.y0)
    term, solver = diffrax.ODETerm(f), getattr(diffrax, solver_name)()
    t0, t1 = ENSEMBLE_SPAN

    def one(y0):
        sol = diffrax.diffeqsolve(
            term,
            solver,
            t0,
            t1,
            None,
            y0,
            args=jargs,
            stepsize_controller=diffrax.PIDController(rtol=tol, atol=tol),
            saveat=diffrax.SaveAt(t1=True),
            max_steps=100_000,
        )
        return sol.ys[-1]

    batched = jax.jit(jax.vmap(one))
    Y = jnp.asarray(Y0)

    def run():
        return np.asarray(batched(Y))

    return run, run()


# ------------------------------------------------------------------------------------ cold


COMPILE_LOG = """
import json, time
from numba.core import event

class _Compiles(event.Listener):
    \"\"\"CPU seconds of each Numba compilation, its callees' compilations excluded.\"\"\"

    def __init__(self):
        self.stack, self.own = [], {}

    def on_start(self, ev):
        self.stack.append([time.process_time(), 0.0])

    def on_end(self, ev):
        start, children = self.stack.pop()
        spent = time.process_time() - start
        if self.stack:
            self.stack[-1][1] += spent
        name = ev.data["dispatcher"].py_func.__qualname__
        self.own[name] = self.own.get(name, 0.0) + spent - children

class _Llvm(event.Listener):
    \"\"\"CPU seconds spent holding the LLVM lock (optimising, emitting machine code).\"\"\"

    def __init__(self):
        self.total = 0.0

    def on_start(self, ev):
        self.start = time.process_time()

    def on_end(self, ev):
        self.total += time.process_time() - self.start

_log, _llvm = _Compiles(), _Llvm()
event.register("numba:compile", _log)
event.register("numba:llvm_lock", _llvm)

def _report():
    top = sorted(_log.own.items(), key=lambda kv: -kv[1])[:12]
    print(json.dumps({"compiled": len(_log.own), "llvm_s": round(_llvm.total, 2),
                      "top_s": {k: round(v, 2) for k, v in top}}))
"""
COLD_SOLVE = (
    COMPILE_LOG
    + """
t0 = time.perf_counter()
import numpy as np
from stepsize.ode import problems, solve
t1 = time.perf_counter()
p = problems.get("lorenz")
r = solve(p.fun, p.t_span, p.y0, args=p.args)
t2 = time.perf_counter()
assert r.success
_report()
print(t1 - t0, t2 - t1)
"""
)
COLD_ENSEMBLE = (
    COMPILE_LOG
    + """
t0 = time.perf_counter()
import numpy as np
from stepsize.ode import problems, solve_ensemble
t1 = time.perf_counter()
p = problems.get("lorenz")
r = solve_ensemble(p.fun, p.t_span, np.tile(p.y0, (8, 1)), args=p.args)
t2 = time.perf_counter()
assert r.success
_report()
print(t1 - t0, t2 - t1)
"""
)
COLD_NUMBALSODA = """
import time; t0 = time.perf_counter()
import numba, numpy as np
from numbalsoda import dop853, lsoda_sig
t1 = time.perf_counter()
@numba.cfunc(lsoda_sig)
def rhs(t, u, du, p):
    du[0] = 10.0 * (u[1] - u[0]); du[1] = u[0] * (28.0 - u[2]) - u[1]
    du[2] = u[0] * u[1] - 8.0 / 3.0 * u[2]
u, ok = dop853(rhs.address, np.array([-8.0, 8.0, 27.0]), np.array([0.0, 16.0]))
t2 = time.perf_counter()
assert ok
print(t1 - t0, t2 - t1)
"""


def _subprocess(code, cache_dir):
    """Run ``code`` in a fresh interpreter; wall and CPU seconds (the child's user + system)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if r.returncode != 0:
        return dict(wall_s=wall, cpu_s=cpu, error=r.stderr.strip().splitlines()[-1:])
    lines = r.stdout.strip().splitlines()
    imp, first = (float(x) for x in lines[-1].split())
    out = dict(wall_s=wall, cpu_s=cpu, import_s=imp, first_result_s=first)
    if len(lines) > 1 and lines[-2].startswith("{"):
        out["compile_cpu_s"] = json.loads(lines[-2])  # functions compiled, the costliest
    return out


def cold_start():
    out = {}
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        out["first solve, empty cache"] = _subprocess(COLD_SOLVE, a)
        print("  cold solve", out["first solve, empty cache"], flush=True)
        out["first solve, warm cache (new process)"] = _subprocess(COLD_SOLVE, a)
        out["first solve_ensemble, empty cache"] = _subprocess(COLD_ENSEMBLE, b)
        print("  cold ensemble", out["first solve_ensemble, empty cache"], flush=True)
        out["first solve_ensemble, warm cache (new process)"] = _subprocess(COLD_ENSEMBLE, b)
    if peers.available("numbalsoda"):
        with tempfile.TemporaryDirectory() as c:
            out["numbalsoda first dop853 (cfunc compile)"] = _subprocess(COLD_NUMBALSODA, c)
    return out


# ------------------------------------------------------------------------------------ main


def print_summary(doc):
    r = doc["results"]
    if "fixed" in r:
        print("\nFixed cost per call [us] (median):")
        for k, v in r["fixed"]["time_us"].items():
            print(f"  {k:34} {v:9.1f}")
        for k, v in r["fixed"].get("ratio_numbalsoda_dop853_over_stepsize", {}).items():
            print(f"  numbalsoda dop853 / {k}: {v:.3f}")
        if "from_njit" in r["fixed"]:
            nj = r["fixed"]["from_njit"]
            print("  from @njit code [us per call]:")
            for k, v in nj["time_us_per_call"].items():
                print(f"    {k:32} {v:9.2f}")
            print(f"    numbalsoda / stepsize: {nj['ratio_numbalsoda_over_stepsize']:.3f}")
    if "events" in r:
        print("\nCost per call with events [us] (median):")
        for k, v in r["events"]["time_us"].items():
            print(f"  {k:34} {v:9.1f}")
        for k, v in r["events"]["ratio_full_over_repeat"].items():
            print(f"  full checks / repeat path ({k}): {v:.3f}")
        print(f"  scipy / stepsize (events): {r['events']['ratio_scipy_over_stepsize']:.3f}")
        ks = r["events"]["ks_pythagorean"]
        print(f"  {ks['setup']}, {ks['solve_calls_per_run']} solve calls [ms]:")
        for k, v in ks["time_ms"].items():
            print(f"    {k:32} {v:9.2f}  |dE/E| {ks['energy_error'][k]:.3e}")
        print(f"    full checks / repeat path: {ks['ratio_full_over_repeat']:.3f}")
    if "per_eval" in r:
        print("\nCost per evaluation (marginal, dop853) [ns]:")
        for name, res in r["per_eval"].items():
            for lab, row in res["solvers"].items():
                ratio = row.get("ratio_numbalsoda_over_this")
                print(
                    f"  {name:9} {lab:32} {row['ns_per_eval']:8.1f} ns/eval  fixed "
                    f"{row['fixed_us']:8.1f} us  numbalsoda/this "
                    f"{'-' if ratio is None else f'{ratio:.3f}'}"
                )
    if "ensemble" in r:
        print(f"\nEnsemble of {r['ensemble']['members']} Lorenz members [s]:")
        for k, v in r["ensemble"]["time_s"].items():
            print(f"  {k:34} {v:8.3f}")
        for k, v in r["ensemble"]["ratios"].items():
            print(f"  {k}: {v:.3f}")
        sweep = r["ensemble"].get("tolerance_sweep")
        if sweep:
            print("  tolerance sweep (error = median |y_end - reference|):")
            for label, pts in sweep["points"].items():
                for q in pts:
                    print(
                        f"    {label:32} tol {q['tol']:.0e}  error {q['error']:.2e}  "
                        f"wall {q['time_s']:.3f} s  cpu {q['cpu_s']:.3f} s"
                    )
            for clock in ("wall", "cpu"):
                for row in sweep[f"matched_error_{clock}"]:
                    at = {k: None if v is None else round(v, 3) for k, v in row["at_error"].items()}
                    print(
                        f"  matched error ({clock}) {row['peer']} / {row['ours']}: "
                        f"overlap {_fmt(row['overlap_geomean'])}, at {at}"
                    )
    if "cold" in r:
        print("\nCold start [s]:")
        for k, v in r["cold"].items():
            print(f"  {k:46} {v}")


def _fmt(v):
    return "-" if v is None else f"{v:.3f}"


def plot(doc, path):
    from matplotlib.figure import Figure

    r = doc["results"]
    panels = [k for k in ("fixed", "per_eval", "events", "ensemble", "cold") if k in r]
    fig = Figure(figsize=(5.2 * len(panels), 4.4))
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, part in zip(axes, panels):
        if part == "fixed":
            d, unit, title = r["fixed"]["time_us"], "us per call", "fixed cost (y' = -y, few steps)"
        elif part == "per_eval":
            d = {
                f"{n}: {lab}": row["ns_per_eval"]
                for n, res in r["per_eval"].items()
                for lab, row in res["solvers"].items()
            }
            unit, title = "ns per evaluation", "marginal cost per evaluation (dop853)"
        elif part == "events":
            d, unit, title = r["events"]["time_us"], "us per call", "calls with events"
        elif part == "ensemble":
            d, unit, title = r["ensemble"]["time_s"], "s", "1000 Lorenz members"
        else:
            d = {
                k: v.get("first_result_s", np.nan) + v.get("import_s", 0.0)
                for k, v in r["cold"].items()
            }
            unit, title = "s (import + first result)", "cold start"
        labels = list(d)
        ax.barh(
            range(len(d)),
            [d[k] for k in labels],
            color=["C0" if k.startswith("stepsize") or "solve" in k[:12] else "C1" for k in labels],
        )
        ax.set_yticks(range(len(d)), labels, fontsize=7)
        ax.set_xscale("log")
        ax.set(xlabel=unit, title=title)
        ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.suptitle("stepsize.ode micro-benchmarks (peers in the same process; shared 2-core machine)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reduced run (no cold start)")
    ap.add_argument("--out", type=Path, default=None, help="output directory")
    ap.add_argument("--parts", nargs="+", default=None, choices=PARTS)
    opts = ap.parse_args(argv)
    parts = opts.parts or (PARTS[:-1] if opts.quick else PARTS)  # quick: no cold start
    repeats, min_sample = (3, 0.01) if opts.quick else (9, 0.05)
    out = output_dir(opts.out, opts.quick, "ode_micro")
    print("peers:", peers.notes())
    info, start = machine_info(("numbalsoda", "CyRK", "diffrax", "jax")), time.perf_counter()
    old = out / "ode_micro.json"
    keep = opts.parts and old.exists() and not opts.quick  # re-run some parts, keep the others
    results = json.loads(old.read_text())["results"] if keep else {}
    for part in parts:
        t = time.perf_counter()
        if part == "fixed":
            results[part] = fixed_cost(repeats, min_sample)
        elif part == "per_eval":
            results[part] = per_eval_cost(repeats, min_sample)
        elif part == "events":
            results[part] = events_cost(repeats, min_sample)
        elif part == "ensemble":
            results[part] = ensemble(max(3, repeats // 2), 100 if opts.quick else ENSEMBLE_SIZE)
        else:
            results[part] = cold_start()
        print(f"{part:9} {time.perf_counter() - t:6.1f} s", flush=True)
    doc = dict(
        benchmark="ode_micro",
        quick=opts.quick,
        machine=finish_machine_info(info, start),
        peers=peers.notes(),
        timing=dict(statistic="median", repeats=repeats, min_sample_s=min_sample),
        results=results,
    )
    print_summary(doc)
    write_json(doc, out / "ode_micro.json")
    plot(doc, out / "ode_micro.png")
    print(f"\nwrote {out / 'ode_micro.json'} and {out / 'ode_micro.png'}")


if __name__ == "__main__":
    main()
