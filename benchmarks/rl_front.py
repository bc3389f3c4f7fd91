"""Can any eta controller beat the fixed-eta front of ThreeBody-v0?  Held-out paper systems.

Issue 16's bar: on held-out paper three-body systems (``reset(seed=1_000_000 + k)``, seeds no
training run uses), 30 yr (300 decisions of 0.1 yr), a controller's (median steps, median
|dE/E0|) must lie >= 0.5 decades below the front of the 10 fixed eta = logspace(-4, -1, 10)
(interpolated in log-log), or need <= 0.7x its steps at equal error.  Runners, all on the same
systems:

* the 10 fixed eta (the front);
* the shipped default policy (PPO, extended observation, ``reward="final"``);
* the shipped ``threebody_linear`` policy (log10 eta linear in four encounter features, learned
  by random search on seeds 0 .. 47: ``benchmarks/rl_search.py``), continuous action;
* eta jittered at random around a constant: log10 eta_k = c + sigma xi_k, xi_k ~ N(0, 1), redrawn
  every 0.1 yr.  It asks how much any controller that changes eta pays for the change itself:
  with h = eta tau the energy error of Hermite on these orbits largely cancels over the
  encounters (the final |dE/E0| is 10-50x below the sum of the per-interval increments at fixed
  eta); a change of eta breaks that cancellation;
* hindsight, per system: the constant eta (log-interpolated between the grid values) that
  brings each system to one common final error, chosen after seeing all 10 runs of that
  system: an upper bound on what a controller that only picks one eta per system can do.

Run:  .venv/bin/python benchmarks/rl_front.py [--episodes 100] [--workers 2] [--seed S]
Writes benchmarks/results/rl_front.json and rl_front.png (``--seed`` S other than 1_000_000:
rl_front_<S>.json / .png, e.g. a second held-out set; ``--no-jitter`` skips those runners).
"""

import argparse
import json
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import agents  # noqa: E402
from agents._evaluate import _columns, _env_episode  # noqa: E402
from stepsize.parallel import run  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
JITTER = [(sigma, c) for sigma in (0.03, 0.1, 0.3) for c in (-2.5, -2.0)]
TARGETS = (-11.0, -10.0, -9.0, -8.0, -7.0, -6.0)


class Jitter:
    """A stand-in policy for the continuous env: log10 eta = c + sigma N(0, 1) per decision."""

    def __init__(self, sigma, c, seed, low=-4.0, high=-1.0):
        self.sigma, self.c, self.low, self.high = sigma, c, low, high
        self.rng = np.random.default_rng(seed)

    def predict(self, obs, deterministic=True):
        le = min(max(self.c + self.sigma * self.rng.normal(), self.low), self.high)
        return np.array([2.0 * (le - self.low) / (self.high - self.low) - 1.0]), None


def _jitter_item(kwargs, item):
    sigma, c, seed = item
    return _env_episode(kwargs, seed, model=Jitter(sigma, c, seed))[0]


def verdict(ev, runs):
    """Evaluation.pareto of ``runs`` (a dict of per-episode arrays) against ``ev``'s front."""
    policy, ev.policy = ev.policy, runs
    try:
        return ev.pareto()
    finally:
        ev.policy = policy


def hindsight(ev, target):
    """Per system, the log-interpolated constant eta that ends at ``target`` (log10 |dE/E0|):
    its steps (log-interpolated) and error; the best error reached where none gets there."""
    logs = np.log10(np.array([f["steps"] for f in ev.fixed], float))
    loge = np.log10(np.maximum(np.array([f["energy_error"] for f in ev.fixed]), 1e-20))
    steps, errors = [], []
    for j in range(logs.shape[1]):
        s, e = logs[::-1, j], loge[::-1, j]  # from the largest eta down
        ok = np.flatnonzero(e <= target)
        if ok.size == 0:
            k = int(np.argmin(e))
            steps.append(s[k])
            errors.append(e[k])
        elif ok[0] == 0:
            steps.append(s[0])
            errors.append(e[0])
        else:
            i = ok[0]
            f = (target - e[i - 1]) / (e[i] - e[i - 1])
            steps.append(s[i - 1] + f * (s[i] - s[i - 1]))
            errors.append(target)
    nan = np.full(len(steps), np.nan)
    other = {k: nan for k in ("wall_s", "inference_s", "steps_per_s", "return")}
    other["terminated"] = np.zeros(len(steps), bool)
    return {"steps": 10.0 ** np.array(steps), "energy_error": 10.0 ** np.array(errors), **other}


def summarize(name, runs, p):
    return {
        "runner": name,
        "median_steps": float(np.median(runs["steps"])),
        "median_energy_error": float(np.median(runs["energy_error"])),
        "margin_decades": p["margin_decades"],
        "steps_ratio": p["steps_ratio"],
        "beats_front": p["beats_front"],
    }


def plot(ev, rows, path):
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    front = np.array(ev.pareto()["front"])
    fixed = np.array(
        [(np.median(f["steps"]), np.median(f["energy_error"])) for f in ev.fixed], float
    )
    ax.plot(fixed[:, 0], fixed[:, 1], "o", color="tab:blue", ms=5, label="fixed eta")
    for (x, y), v in zip(fixed, ev.values):
        ax.annotate(f"{v:.2g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.plot(front[:, 0], front[:, 1], "-", color="tab:blue", alpha=0.6, label="front")
    ax.plot(front[:, 0], front[:, 1] * 10**-0.5, ":", color="tab:blue", label="front - 0.5 dec")
    style = {"policy": ("*", "tab:red", 14), "jitter": ("s", "tab:orange", 6)}
    style["linear"] = ("*", "tab:purple", 14)
    style["hindsight"] = ("^", "tab:green", 6)
    seen = set()
    for r in rows:
        kind = r["runner"].split()[0]
        marker, color, ms = style[kind]
        label = (
            None
            if kind in seen
            else {
                "policy": "shipped PPO policy",
                "linear": "shipped linear policy (random search)",
                "jitter": "eta jittered every 0.1 yr (sigma in decades)",
                "hindsight": "hindsight constant eta per system",
            }[kind]
        )
        seen.add(kind)
        ax.plot(
            r["median_steps"], r["median_energy_error"], marker, color=color, ms=ms, label=label
        )
        if kind == "jitter":
            ax.annotate(
                r["runner"].split()[1],
                (r["median_steps"], r["median_energy_error"]),
                textcoords="offset points",
                xytext=(4, -8),
                fontsize=6,
                color=color,
            )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="integrator steps (median over systems)",
        ylabel="final |dE/E0| (median over systems)",
        title=f"ThreeBody-v0: {ev.seeds.size} held-out systems, 30 yr",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--seed", type=int, default=agents.EVAL_SEED)
    parser.add_argument("--no-jitter", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    start = time.perf_counter()
    model = agents.load_default_policy()
    config = agents.default_policy_config()
    ev = agents.evaluate(
        model,
        args.episodes,
        env_kwargs=config["env_kwargs"],
        max_steps=300,
        seed=args.seed,
        training_seeds=range(48),  # the linear policy's; the PPO run used seeds 0 .. 3
        workers=args.workers,
    )
    print(ev.table(), flush=True)
    rows = [summarize("policy PPO (shipped)", ev.policy, ev.pareto())]
    kwargs = dict(max_steps=300, continuous=True)
    linear = agents.load_default_policy("threebody_linear")
    runs = _columns([_env_episode(kwargs, int(s), model=linear)[0] for s in ev.seeds])
    rows.append(summarize("linear (shipped threebody_linear)", runs, verdict(ev, runs)))
    print(rows[-1], flush=True)
    jitter = [] if args.no_jitter else JITTER
    items = [(s, c, int(seed)) for s, c in jitter for seed in ev.seeds]
    done = run(partial(_jitter_item, kwargs), items, workers=args.workers)
    n = ev.seeds.size
    for k, (sigma, c) in enumerate(jitter):
        runs = _columns(done[k * n : (k + 1) * n])
        rows.append(summarize(f"jitter {sigma:g}@{10**c:.1e}", runs, verdict(ev, runs)))
    for target in TARGETS:
        runs = hindsight(ev, target)
        rows.append(summarize(f"hindsight 1e{target:.0f}", runs, verdict(ev, runs)))
    for r in rows:
        print(
            f"{r['runner']:>24} {r['median_steps']:9.0f} {r['median_energy_error']:10.2e} "
            f"{r['margin_decades']:+6.2f} dec {r['steps_ratio']:5.2f}x "
            f"{'BEATS' if r['beats_front'] else 'no'}"
        )
    name = "rl_front" if args.seed == agents.EVAL_SEED else f"rl_front_{args.seed}"
    plot(ev, rows, out / f"{name}.png")
    summary = ev.summary()
    payload = {
        "what": __doc__.split("\n")[0],
        "episodes": n,
        "seeds": summary["seeds"],
        "bar": {"margin_decades": 0.5, "steps_ratio": 0.7},
        "fixed": [
            {k: f[k] for k in ("value", "median_steps", "median_energy_error")}
            for f in summary["fixed"]
        ],
        "front": summary["pareto"]["front"],
        "runners": rows,
        "any_beats_front": any(r["beats_front"] for r in rows),
        "runtime_s": time.perf_counter() - start,
    }
    (out / f"{name}.json").write_text(json.dumps(payload, indent=1))
    print(f"wrote {out / name}.json and .png ({payload['runtime_s']:.0f} s)")


if __name__ == "__main__":
    main()
