"""A learned ODE step controller against the PI controller: work-precision on held-out problems.

The controller (:mod:`agents._odestep`) is a linear policy on the log error and step-ratio history
of Dormand-Prince 5(4), i.e. a Söderlind filter with 8 learned numbers
(b1, b2, b3, a2, a3, safety, qmin, qmax).  They are learned by the cross-entropy method
(Rubinstein & Kroese 2004: sample a Gaussian population, refit mean and spread to the elite
fraction) started at Hairer's PI controller, on training members of two families (Kepler orbits,
e uniform in [0.3, 0.9], two periods; van der Pol, mu log-uniform in [1, 10], t in [0, 20]).
The objective is the mean over training members of log(nfev(candidate) / nfev(PI)) at equal
global error (both fronts over rtol = 1e-10 .. 1e-4, interpolated in log-log); a candidate with
a failed solve or no common error range scores +1.

Evaluation: held-out seeds 1000 .. 1000 + n - 1 of each family (training uses 0 .. m - 1), fronts
over rtol 1e-11 .. 1e-4 (8 points) of the learned controller, PI (the default of ``solve`` for
dp5), H211b and PI42; per member the ratio of evaluations at equal error against PI; medians,
geometric means and the 10/90 % quantiles are written.

The limiter is Hairer's clamp: a 25-generation search of both limiters (12 training members per
family, population 24) reached a training ratio of 0.878 with the clamp and 0.886 with
Söderlind's atan limiter (its held-out ratio not measured).  A larger run (20 members per
family, 30 generations, population 32, elite 8) reached 0.893 on training and 0.942 on seeds
1000-1029, against 0.920 for the default run: the shipped controller is the default run's, and
since that choice looked at seeds 1000-1029, ``--shipped --held-out-start 2000`` measures it
again on seeds never looked at (``rl_odestep_shipped_2000.json``).

Run:  PYTHONPATH=. python benchmarks/rl_odestep.py [--generations 25] [--limiters clamp] [--save]
Writes benchmarks/results/rl_odestep.json and .png; ``--save`` also writes the learned controller
to agents/pretrained/odestep_filter.json (the shipped one came from the command in that file).
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from agents._odestep import (  # noqa: E402
    EVAL_RTOLS,
    FAMILIES,
    PARAMETERS,
    RTOLS,
    controller_from,
    equal_error_ratio,
    front,
    member,
)
from stepsize.control import PRESETS  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
PRETRAINED = ROOT / "agents" / "pretrained" / "odestep_filter.json"
HELD_OUT = 1000
BANDS = {"all": math.inf, "error<=1e-2": 1e-2, "error<=1e-6": 1e-6}  # points counted by error
PI = PRESETS["PI"]
START = np.array([0.85, -0.2, 0.0, 0.0, 0.0, 0.9, 0.2, 10.0])  # PI as a parameter vector
SPREAD = np.array([0.3, 0.2, 0.1, 0.2, 0.1, 0.05, 0.05, 2.0])
LOWER = np.array([0.0, -2.0, -1.0, -1.0, -1.0, 0.3, 0.05, 1.5])
UPPER = np.array([2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 0.9, 20.0])


def objective(theta, training, limiter):
    """Mean log equal-error ratio against PI over the training members (+1 if any fails)."""
    ctrl = controller_from(theta, limiter)
    logs = []
    for problem, pi_front in training:
        ratio = equal_error_ratio(front(problem, ctrl), pi_front)
        if not math.isfinite(ratio):
            return 1.0
        logs.append(math.log(ratio))
    return float(np.mean(logs))


def cem(training, limiter, generations, population, elite, seed):
    """Cross-entropy search from PI; the best parameters seen and the log of each generation."""
    rng = np.random.default_rng(seed)
    mean, spread = START.copy(), SPREAD.copy()
    best = (objective(START, training, limiter), START.copy())
    log = []
    for g in range(generations):
        thetas = np.clip(mean + spread * rng.standard_normal((population, mean.size)), LOWER, UPPER)
        scores = np.array([objective(th, training, limiter) for th in thetas])
        top = thetas[np.argsort(scores)[:elite]]
        mean, spread = top.mean(axis=0), np.maximum(top.std(axis=0), 0.02 * SPREAD)
        i = int(np.argmin(scores))
        if scores[i] < best[0]:
            best = (float(scores[i]), thetas[i].copy())
        log.append({"generation": g, "best": best[0], "median": float(np.median(scores))})
        print(
            f"{limiter} gen {g:2d}: best {math.exp(best[0]):.4f}  median "
            f"{math.exp(np.median(scores)):.4f}",
            flush=True,
        )
    return best, log


def evaluate(controllers, first, n_held_out):
    """Fronts of every controller on held-out members, and per-member ratios against PI."""
    rows = []
    for family in FAMILIES:
        for seed in range(first, first + n_held_out):
            problem = member(family, seed)
            fronts = {name: front(problem, c, EVAL_RTOLS) for name, c in controllers.items()}
            rows.append(
                {
                    "family": family,
                    "seed": seed,
                    "parameter": problem.args[0] if family == "vdpol" else 1.0 - problem.y0[0],
                    "fronts": {
                        k: {"nfev": v[0].tolist(), "error": v[1].tolist()}
                        for k, v in fronts.items()
                    },
                    "ratio_vs_PI": {
                        band: {
                            k: equal_error_ratio(v, fronts["PI"], cap)
                            for k, v in fronts.items()
                            if k != "PI"
                        }
                        for band, cap in BANDS.items()
                    },
                }
            )
    return rows


def summary(rows, name, band="all", family=None):
    r = np.array(
        [row["ratio_vs_PI"][band][name] for row in rows if family in (None, row["family"])]
    )
    r = r[np.isfinite(r)]
    return {
        "members": int(r.size),
        "median": float(np.median(r)),
        "geometric_mean": float(np.exp(np.mean(np.log(r)))),
        "q10": float(np.quantile(r, 0.1)),
        "q90": float(np.quantile(r, 0.9)),
        "worst": float(r.max()),
        "better_than_PI": int(np.sum(r < 1.0)),
    }


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, family in zip(axes[:2], FAMILIES):
        row = next(r for r in rows if r["family"] == family)
        for name, f in row["fronts"].items():
            ax.loglog(f["error"], f["nfev"], "o-", label=name, ms=4)
        ax.set(
            xlabel="global error at t_end (mixed norm)",
            ylabel="RHS evaluations",
            title=f"{family}, held-out seed {row['seed']}",
        )
        ax.legend()
    names = list(rows[0]["ratio_vs_PI"]["all"])
    data = [[r["ratio_vs_PI"]["all"][k] for r in rows] for k in names]
    data = [[x for x in d if math.isfinite(x)] for d in data]
    axes[2].boxplot(data, tick_labels=names)
    axes[2].axhline(1.0, color="k", lw=0.8)
    axes[2].set(ylabel="nfev / nfev(PI) at equal error", title="held-out members, both families")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generations", type=int, default=25)
    ap.add_argument("--population", type=int, default=24)
    ap.add_argument("--elite", type=int, default=6)
    ap.add_argument("--training", type=int, default=12, help="training members per family")
    ap.add_argument("--held-out", type=int, default=30, help="held-out members per family")
    ap.add_argument("--limiters", default="clamp", help="comma-separated: clamp, atan")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--held-out-start", type=int, default=HELD_OUT, help="first held-out seed")
    ap.add_argument("--save", action="store_true")
    ap.add_argument(
        "--shipped", action="store_true", help="no training: evaluate the shipped controller"
    )
    args = ap.parse_args(argv)
    if args.shipped:
        import agents

        learned = agents.load_default_policy("odestep_filter")
        training = {"shipped": agents.default_policy_config("odestep_filter")}
        name = f"rl_odestep_shipped_{args.held_out_start}"
    else:
        training, learned = train(args)
        name = "rl_odestep"
    controllers = {"learned": learned, "PI": PI, "H211b": PRESETS["H211b"], "PI42": PRESETS["PI42"]}
    rows = evaluate(controllers, args.held_out_start, args.held_out)
    out = {
        "command": "python benchmarks/rl_odestep.py " + " ".join(argv or sys.argv[1:]),
        "method": "dp5",
        "training": training,
        "controller": {
            k: getattr(learned, k) for k in ("b", "a", "safety", "qmin", "qmax", "limiter")
        },
        "held_out": {
            "seeds": [args.held_out_start, args.held_out_start + args.held_out - 1],
            "rtols": list(EVAL_RTOLS),
        },
        "summary": {
            band: {
                ctrl: {
                    "all": summary(rows, ctrl, band),
                    **{f: summary(rows, ctrl, band, f) for f in FAMILIES},
                }
                for ctrl in rows[0]["ratio_vs_PI"][band]
            }
            for band in BANDS
        },
        "members": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(out, indent=1))
    plot(rows, RESULTS / f"{name}.png")
    for band, by_name in out["summary"].items():
        for name, s in by_name.items():
            means = {k: round(v["geometric_mean"], 4) for k, v in s.items()}
            print(
                band, name, means, "q10-q90", round(s["all"]["q10"], 4), round(s["all"]["q90"], 4)
            )
    if args.save and not args.shipped:
        config = {
            "algo": "filter",
            "method": "dp5",
            "command": out["command"],
            "controller": training["parameters"],
            "training": {k: training[k] for k in ("members_per_family", "seeds", "limiter")},
            "training_ratio_vs_PI": training["ratio_vs_PI"],
            "held_out_ratio_vs_PI": {b: v["learned"]["all"] for b, v in out["summary"].items()},
        }
        PRETRAINED.write_text(json.dumps(config, indent=1) + "\n")


def train(args):
    """CEM over each limiter on the training members: (training record, best controller)."""
    start = time.perf_counter()
    training = []
    for family in FAMILIES:
        for seed in range(args.training):
            p = member(family, seed)
            training.append((p, front(p, PI)))
    runs = {}
    for limiter in args.limiters.split(","):
        runs[limiter] = cem(
            training, limiter, args.generations, args.population, args.elite, args.seed
        )
    limiter = min(runs, key=lambda k: runs[k][0][0])
    (score, theta), _ = runs[limiter]
    record = {
        "members_per_family": args.training,
        "seeds": [0, args.training - 1],
        "rtols": list(RTOLS),
        "limiter": limiter,
        "seconds": time.perf_counter() - start,
        "ratio_vs_PI": math.exp(score),
        "parameters": dict(zip(PARAMETERS, map(float, theta)), limiter=limiter),
        "per_limiter": {
            k: {"ratio": math.exp(v[0][0]), "theta": v[0][1].tolist(), "log": v[1]}
            for k, v in runs.items()
        },
    }
    return record, controller_from(theta, limiter, name="odestep_filter")


if __name__ == "__main__":
    main()
