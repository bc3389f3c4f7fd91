"""``stepsize demo``: the main job — one tour of the four fields on bundled defaults.

Four parts of the library, each a side-by-side table: the Pythagorean three-body problem with
the project's integrators (and REBOUND's IAS15 when installed); the stiff ROBER problem solved by
``method="auto"`` against SciPy's LSODA; a Bellman schedule for the bundled checkerboard flow
model against uniform steps; large-step gradient descent separating digits 3 vs 8.  Installed
packages add parts through the entry-point group ``stepsize.demo`` (a callable
``part(small, out) -> (title, rows, caption)``): the agents package adds its RL policy against
fixed eta on held-out three-body systems.  Writes ``summary.md`` and PNG figures into ``--out``.
``--small`` shortens every part (used by the tests).
"""

import json
import time
from functools import partial
from importlib.metadata import entry_points

from tqdm.auto import tqdm

from stepsize._errors import check_output_dir
from stepsize._figure import figure, save

PLUGINS = "stepsize.demo"  # entry-point group: name -> part(small, out) of another package


def register(subparsers):
    p = subparsers.add_parser(
        "demo", help="run the main job on bundled defaults", description=__doc__.splitlines()[0]
    )
    p.add_argument("--out", default="stepsize-demo", help="report folder (default stepsize-demo)")
    p.add_argument("--small", action="store_true", help="short version of every part")
    p.add_argument("--json", action="store_true", help="also print the tables as JSON")
    p.set_defaults(func=run)


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def _nbody(small):
    from stepsize.nbody import integrate, pythagorean

    t_end = 10.0 if small else 70.0
    settings = [
        ("hermite4", dict(eta=0.01)),
        ("hermite4", dict(eta=0.003)),
        ("dop853", dict(rtol=1e-12)),
        ("vern7", dict(rtol=1e-12)),
    ]
    rows = []
    for method, opts in settings:
        integrate(pythagorean(), 0.1, method=method, **opts)  # compile / warm up
        r, wall = _timed(integrate, pythagorean(), t_end, method=method, **opts)
        rows.append(
            dict(
                method=method, options=opts, energy_error=r.energy_error, steps=r.steps, wall_s=wall
            )
        )
    try:
        import rebound
    except ImportError:
        return rows, f"Pythagorean problem to t = {t_end:g} (REBOUND not installed)"
    sim = rebound.Simulation()
    for m, x in zip((3.0, 4.0, 5.0), ((1, 3), (-2, -1), (1, -1)), strict=True):
        sim.add(m=m, x=x[0], y=x[1])
    sim.integrator = "ias15"
    e0 = sim.energy()
    _, wall = _timed(sim.integrate, t_end)
    rows.append(
        dict(
            method="REBOUND ias15",
            options={},
            energy_error=abs(sim.energy() / e0 - 1),
            steps=sim.steps_done,
            wall_s=wall,
        )
    )
    return rows, f"Pythagorean problem to t = {t_end:g}"


def _stiff(small, out):
    from scipy.integrate import solve_ivp

    from stepsize.ode import problems, solve, stiffness_profile

    p = problems.get("rober")
    t_span = (0.0, 1e5) if small else p.t_span
    kw = dict(rtol=1e-6, atol=1e-10, args=p.args)
    solve(p.fun, t_span, p.y0, **kw)  # compile / warm up
    sol, wall = _timed(solve, p.fun, t_span, p.y0, profile=True, **kw)
    ref, wall_ref = _timed(solve_ivp, p.fun, t_span, p.y0, method="LSODA", **kw)
    ax = figure(figsize=(6, 3.5)).subplots()
    stiffness_profile(sol, plot=True, ax=ax)  # t spans 1e-4 .. 1e11: a log time axis
    save(ax.figure, out / "stiffness_profile.png", dpi=120)
    # error against the Test Set reference at t = 1e11 (none for the short --small span)
    error = (lambda y: problems.mixed_error(p, y)) if not small else (lambda y: None)
    rows = [
        dict(
            solver="stepsize auto",
            nswitch=sol.stats["nswitch"],
            nfev=sol.nfev,
            error=error(sol.y[:, -1]),
            wall_s=wall,
        ),
        dict(
            solver="scipy LSODA",
            nswitch=None,
            nfev=ref.nfev,
            error=error(ref.y[:, -1]),
            wall_s=wall_ref,
        ),
    ]
    return rows, f"ROBER to t = {t_span[1]:g}, method='auto' (switches detected by the solver)"


def _flow(small, out):
    from stepsize.flow import compare_schedules, plan_bellman, pretrained
    from stepsize.schedules import uniform

    model = pretrained("checkerboard")
    times = plan_bellman(model, K=4, n_grid=100, n_samples=128 if small else 256, seed=0)
    comp = compare_schedules(
        model,
        {"uniform": uniform(4), "bellman": times},
        n_samples=256 if small else 1024,
        reference_steps=200 if small else 1000,
    )
    fig = figure(figsize=(8, 4))
    for ax, name in zip(fig.subplots(1, 2), ("uniform", "bellman"), strict=True):
        x = comp.samples[name]
        ax.scatter(x[:, 0], x[:, 1], s=2)
        ax.set_title(f"{name}, 4 steps")
    save(fig, out / "flow_samples.png", dpi=120)
    rows = [
        dict(schedule=r["schedule"], steps=r["steps"], error=r["error"])
        for r in comp.rows
        if r["schedule"] != "reference"
    ]
    planned = ", ".join(f"{t:.3f}" for t in times)
    return rows, (
        f"Checkerboard flow model, 4 Euler steps, error against a many-step teacher; "
        f"Bellman times: {planned}"
    )


def _descent(small):
    from stepsize.descent import digits, gd, perceptron

    data = digits(3, 8)
    rows = []
    for gamma in (1.0, 100.0):
        for rule in ("constant", "normalized"):
            r = gd(data.A, data.y, gamma, rule=rule, max_iter=500)
            rows.append(
                dict(
                    method=f"LR+GD {rule}",
                    gamma=gamma,
                    iterations_to_separate=r.iterations_to_separate,
                    final_loss=float(r.loss[-1]),
                )
            )
    r = perceptron(data.A, data.y, max_iter=500)
    rows.append(
        dict(
            method="Batch Perceptron",
            gamma=None,
            iterations_to_separate=r.iterations_to_separate,
            final_loss=None,
        )
    )
    return rows, "Digits 3 vs 8: iterations to separate (Tyurin 2024)"


def _markdown(title, caption, rows):
    keys = list(rows[0])
    lines = [
        f"## {title}",
        "",
        caption,
        "",
        "| " + " | ".join(keys) + " |",
        "|" + "---|" * len(keys),
    ]
    for row in rows:
        cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(args):
    out = check_output_dir(args.out)  # before minutes of computing
    parts = [
        lambda: ("N-body", *_nbody(args.small)),
        lambda: ("Stiff ODE", *_stiff(args.small, out)),
        lambda: ("Flow sampler schedule", *_flow(args.small, out)),
        lambda: ("Gradient descent with large steps", *_descent(args.small)),
    ]
    for plugin in sorted(entry_points(group=PLUGINS), key=lambda ep: ep.name):
        parts.append(partial(plugin.load(), args.small, out))
    sections, tables = ["# stepsize demo\n"], {}
    for part in tqdm(parts, desc="demo", unit="part", disable=None):
        title, rows, caption = part()
        tables[title] = rows
        text = _markdown(title, caption, rows)
        sections.append(text)
        print(text)
    (out / "summary.md").write_text("\n".join(sections))
    if args.json:
        print(json.dumps(tables, indent=2, default=str))
    print(f"report written to {out / 'summary.md'}")
    return 0
