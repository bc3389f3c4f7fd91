"""The peers of the ODE benchmarks, each called the way its documentation recommends.

Every problem's ``fun(t, y, *args)`` (``stepsize.ode.problems``) is one plain Python function;
each peer gets it in the form it needs, compiled once per problem:

* SciPy ``solve_ivp``: the plain Python ``fun`` (SciPy calls it from Python).
* numbalsoda ``dop853`` / ``lsoda``: a ``numba.cfunc`` of signature ``lsoda_sig`` wrapping
  ``numba.njit(fun)`` (numbalsoda's documented usage); output only at ``t_eval = [t0, t1]``.
* CyRK ``nbsolve2_ivp`` (its C++ solvers called from Numba): a ``numba.cfunc`` of CyRK's
  ``cyjit_sig`` wrapping the same ``njit(fun)``; it keeps every step, as stepsize and SciPy do.
* scikit-sundae ``CVODE`` (SUNDIALS CVODE; BDF for stiff, Adams for non-stiff problems): an
  in-place ``numba.njit`` right-hand side ``rhs(t, y, yp)``, which CVODE calls from C through
  Python (its only callback form); finite-difference Jacobian, dense linear solver.
* diffrax ``diffeqsolve`` under ``jax.jit`` (float64): ``fun`` traced by JAX.  The problem
  functions fill an output array element by element (``out = np.empty(n); out[i] = ...``), so
  they are run on a small shim in which ``np.empty`` is a list and ``math.sqrt`` is
  ``jnp.sqrt``: the very expressions of ``fun``, no hand-written copy; each traced function is
  checked against ``fun`` at ``y0`` when it is built.  Tolerances are traced arguments (one
  compilation per problem and solver), ``SaveAt(t1=True)``, ``PIDController``.

A peer that is not installed is skipped with a note (``AVAILABLE``); ``pip install -e
".[bench]"`` installs all of them.
"""

from __future__ import annotations

import os
import types
from importlib import metadata

import numpy as np
from _common import Outcome

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # one thread, as peers

AVAILABLE: dict[str, str] = {}  # family -> version or the reason it is missing


def _probe(family, dist, importer):
    try:
        mod = importer()
        AVAILABLE[family] = metadata.version(dist)
        return mod
    except (ImportError, OSError) as exc:  # not installed, or a shared library fails to load
        AVAILABLE[family] = f"not available ({type(exc).__name__}: {exc})"
        return None


def _numbalsoda():
    import numbalsoda

    return numbalsoda


def _cyrk():
    from CyRK import nbsolve2_ivp
    from CyRK.nb.numba_solver import cyjit_sig

    return nbsolve2_ivp, cyjit_sig


def _cvode():
    from sksundae.cvode import CVODE

    return CVODE


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    import diffrax
    import jax.numpy as jnp

    return jax, jnp, diffrax


numbalsoda = _probe("numbalsoda", "numbalsoda", _numbalsoda)
cyrk = _probe("cyrk", "CyRK", _cyrk)
cvode = _probe("sundials", "scikit-sundae", _cvode)
jaxmods = _probe("diffrax", "diffrax", _jax)


def available(family: str) -> bool:
    return not AVAILABLE.get(family, "not").startswith("not")


# ------------------------------------------------------------------------ right-hand sides


def njit_bound(fun, args):
    """``numba.njit`` of ``fun`` with ``args`` bound: ``g(t, y) = fun(t, y, *args)``."""
    import numba

    f = numba.njit(fun)

    @numba.njit
    def g(t, y):
        return f(t, y, *args)

    return g


def numbalsoda_cfunc(fun, args, n, counting=False):
    """numbalsoda's ``rhs(t, u, du, data)``; ``counting`` adds 1 to ``data[0]`` per call."""
    import numba

    g = njit_bound(fun, args)

    def rhs(t, u_, du, data):
        if counting:
            data[0] += 1.0
        v = g(t, numba.carray(u_, (n,)))
        for i in range(n):
            du[i] = v[i]

    return numba.cfunc(numbalsoda.lsoda_sig)(rhs)


def cyrk_cfunc(fun, args, n):
    import numba

    g = njit_bound(fun, args)

    def rhs(dy, t, y_, _args):
        v = g(t, numba.carray(y_, (n,)))
        for i in range(n):
            dy[i] = v[i]

    return numba.cfunc(cyrk[1])(rhs)


def inplace_njit(fun, args, n):
    """``rhs(t, y, yp)`` filling ``yp`` (CVODE's callback form), compiled by Numba."""
    import numba

    g = njit_bound(fun, args)

    @numba.njit
    def rhs(t, y, yp):
        v = g(t, y)
        for i in range(n):
            yp[i] = v[i]

    return rhs


class _Buffer:
    """Stands in for ``np.empty(n)`` while JAX traces: a list the function fills by index."""

    def __init__(self, n, dtype=None):
        self.values = [0.0] * int(n)

    def __getitem__(self, i):
        return self.values[i]

    def __setitem__(self, i, x):
        self.values[i] = x


def jax_fun(fun, args, y0):
    """``f(t, y, args)`` for diffrax: ``fun``'s own code run on JAX scalars (see module doc)."""
    jax, jnp, _ = jaxmods
    shim_np = types.SimpleNamespace(empty=_Buffer, zeros=_Buffer, float64=np.float64)
    shim_math = types.SimpleNamespace(sqrt=jnp.sqrt, exp=jnp.exp, log=jnp.log)
    glob = {**fun.__globals__, "np": shim_np, "math": shim_math}
    traced = types.FunctionType(fun.__code__, glob, fun.__name__, fun.__defaults__, fun.__closure__)

    def f(t, y, a):
        out = traced(t, y, *a)
        return jnp.stack([jnp.asarray(v, dtype=jnp.float64) for v in out.values])

    jargs = tuple(jnp.asarray(a) for a in args)
    got = np.asarray(jax.jit(f)(0.0, jnp.asarray(y0), jargs))
    want = fun(0.0, np.asarray(y0, dtype=float), *args)
    if not np.allclose(got, want, rtol=1e-13, atol=0.0):
        raise RuntimeError(f"JAX trace of {fun.__name__} differs from it at y0")
    return f, jargs


# ------------------------------------------------------------------------ solvers: rtol -> Outcome


def scipy_run(p, method, **extra):
    from scipy.integrate import solve_ivp

    def run(rtol):
        r = solve_ivp(
            p.fun,
            p.t_span,
            p.y0,
            method=method,
            rtol=rtol,
            atol=rtol * p.atol_ratio,
            args=p.args,
            **extra,
        )
        return Outcome(r.y[:, -1], r.success, r.nfev, r.njev)

    return run


def numbalsoda_run(p, method):
    """numbalsoda ``dop853`` or ``lsoda``; returns ``(run, count_nfev)``."""
    n = p.y0.size
    rhs, counting = numbalsoda_cfunc(p.fun, p.args, n), numbalsoda_cfunc(p.fun, p.args, n, True)
    integrate = getattr(numbalsoda, method)
    t_eval, data = np.array(p.t_span, dtype=float), np.zeros(1)

    def run(rtol):
        usol, ok = integrate(
            rhs.address, p.y0, t_eval, data, rtol=rtol, atol=rtol * p.atol_ratio, mxstep=10**7
        )
        return Outcome(usol[-1], ok)

    def count(rtol):
        data[0] = 0.0
        integrate(
            counting.address, p.y0, t_eval, data, rtol=rtol, atol=rtol * p.atol_ratio, mxstep=10**7
        )
        return int(data[0])

    return run, count


def cyrk_run(p, method):
    solve2 = cyrk[0]
    addr = cyrk_cfunc(p.fun, p.args, p.y0.size).address
    y0 = np.ascontiguousarray(p.y0, dtype=float)

    def run(rtol):
        sol = solve2(
            addr,
            p.t_span,
            y0,
            method=method,
            rtol=rtol,
            atol=rtol * p.atol_ratio,
            max_num_steps=10**7,
        )
        try:
            return Outcome(sol.y[:, -1].copy(), sol.success, nsteps=sol.steps_taken)
        finally:
            sol.free()

    return run


def cvode_run(p, method, lband=None, uband=None):
    """CVODE ``method`` (``"BDF"`` or ``"Adams"``); a band (``lband``, ``uband``) picks its
    banded linear solver, else the dense one."""
    rhs = inplace_njit(p.fun, p.args, p.y0.size)
    tspan = np.array(p.t_span, dtype=float)
    band = {} if lband is None else dict(linsolver="band", lband=lband, uband=uband)

    def run(rtol):
        s = cvode(
            rhs, method=method, rtol=rtol, atol=rtol * p.atol_ratio, max_num_steps=10**7, **band
        )
        r = s.solve(tspan, p.y0)
        return Outcome(r.y[-1], r.success, r.nfev, r.njev)

    return run


def diffrax_run(p, solver_name, max_steps=200_000):
    jax, jnp, diffrax = jaxmods
    f, jargs = jax_fun(p.fun, p.args, p.y0)
    term, solver = diffrax.ODETerm(f), getattr(diffrax, solver_name)()
    t0, t1 = (float(t) for t in p.t_span)

    @jax.jit
    def integrate(y0, rtol, atol, a):
        sol = diffrax.diffeqsolve(
            term,
            solver,
            t0,
            t1,
            None,
            y0,
            args=a,
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
            saveat=diffrax.SaveAt(t1=True),
            max_steps=max_steps,
            throw=False,
        )
        return sol.ys[-1], sol.result == diffrax.RESULTS.successful, sol.stats["num_steps"]

    y0 = jnp.asarray(p.y0)

    def run(rtol):
        y, ok, steps = integrate(y0, rtol, rtol * p.atol_ratio, jargs)
        return Outcome(np.asarray(y), bool(ok), nsteps=int(steps))

    return run


def notes() -> dict[str, str]:
    return dict(AVAILABLE)
