"""Methods and controllers side by side on one test problem (the ``stepsize ode`` table)."""

import time
from dataclasses import dataclass, field

import numpy as np

from stepsize.ode._solve import solve


@dataclass
class MethodComparison:
    """One row per ``(method, controller)``: success, max error at ``t_end`` against the
    problem's reference, evaluations, accepted/rejected steps, switches and wall time."""

    problem: str
    t_span: tuple
    rtol: float
    atol: float
    rows: list = field(default_factory=list)

    def to_dict(self):
        return {
            "problem": self.problem,
            "t_span": list(self.t_span),
            "rtol": self.rtol,
            "atol": self.atol,
            "rows": self.rows,
        }

    def table(self):
        lines = [
            f"{self.problem}: t in {tuple(self.t_span)}, rtol={self.rtol:g}, atol={self.atol:g}",
            f"{'method':12} {'controller':10} {'ok':3} {'max error':>10} {'nfev':>8} "
            f"{'accept':>7} {'reject':>7} {'switch':>6} {'ms':>8}",
        ]
        for r in self.rows:
            lines.append(
                f"{r['method']:12} {r['controller']:10} {'yes' if r['success'] else 'NO':3} "
                f"{r['error']:10.2e} {r['nfev']:8d} {r['naccept']:7d} {r['nreject']:7d} "
                f"{r['nswitch']:6d} {r['wall_ms']:8.2f}"
            )
        return "\n".join(lines)


def compare_methods(problem, methods, controllers=("default",), rtol=1e-6, atol=None):
    """Solve ``problem`` (a :mod:`stepsize.ode.problems` entry) with every method and controller
    preset ("default": the method's own), ``atol`` defaulting to ``rtol * problem.atol_ratio``.

    Each pair is solved once to compile and warm up, then once timed (wall clock); ``error`` is
    ``max_i |y_i(t_end) - y_ref_i|``.
    """
    atol = rtol * problem.atol_ratio if atol is None else atol
    out = MethodComparison(problem.name, tuple(problem.t_span), rtol, atol)
    for method in methods:
        for controller in controllers:
            kw = dict(
                method=method,
                controller=None if controller == "default" else controller,
                rtol=rtol,
                atol=atol,
                args=problem.args,
                jac_band=problem.jac_band,
                max_steps=10**6,
            )
            solve(problem.fun, problem.t_span, problem.y0, **kw)  # compile / warm up
            start = time.perf_counter()
            r = solve(problem.fun, problem.t_span, problem.y0, **kw)
            wall = time.perf_counter() - start
            out.rows.append(
                dict(
                    problem=problem.name,
                    method=method,
                    controller=controller,
                    success=r.success,
                    error=float(np.abs(r.y[:, -1] - problem.y_ref).max()),
                    nfev=r.nfev,
                    naccept=r.stats["naccept"],
                    nreject=r.stats["nreject"],
                    nswitch=r.stats["nswitch"],
                    wall_ms=1e3 * wall,
                )
            )
    return out
