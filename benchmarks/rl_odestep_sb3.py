"""An SB3 policy trained through ``stepsize/ODEStep-v0`` itself, against PI and ``odestep_filter``.

``odestep_filter`` (``benchmarks/rl_odestep.py``) was found by a cross-entropy search on filter
coefficients, not through the environment.  Here stable-baselines3's PPO learns through the
environment's own interface: ``ODEStepEnv(member, action="rtol", tol=TOL, n_intervals=N)``, the
policy choosing the rtol of PI-controlled dp5 for each of N equal intervals from the
observation (y, log10 of the mean step, log10(1 + nfev) of the last interval, log10 ||f||,
elapsed fraction), paid by Dellnitz et al.'s reward against the local tolerance ``TOL``.  One
policy per family (their states differ in size: Kepler 4, van der Pol 2), trained on members
drawn at every reset from the training seeds 0 .. m - 1 of ``agents._odestep.member``.

Evaluation on held-out seeds (default 2000 .. 2029, those the shipped filter was measured on last):
one deterministic episode per member gives a point (nfev, global error at t_end), nfev the
evaluations of the interval solves (each interval is a new solve, as the environment runs it);
its ratio against PI's work-precision front (rtol 1e-11 .. 1e-4, interpolated in log-log at the
policy's error, :func:`agents._odestep.equal_error_ratio`) is set beside the ratio of
``odestep_filter``'s front on the same member.

Run:  PYTHONPATH=. python benchmarks/rl_odestep_sb3.py [--steps 20000] [--held-out 30]
Writes benchmarks/results/rl_odestep_sb3.json and .png (``--replot``: the PNG from the JSON).
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

from agents._odestep import EVAL_RTOLS, FAMILIES, equal_error_ratio, front, member  # noqa: E402
from envs.ode_step import ODEStepEnv  # noqa: E402
from stepsize.control import PRESETS  # noqa: E402
from stepsize.ode import problems  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TOL = 1e-6  # the local tolerance of the reward
N_INTERVALS = 20


def member_env(problem):
    return ODEStepEnv(problem, action="rtol", tol=TOL, n_intervals=N_INTERVALS)


class FamilyEnv(gym.Env):
    """``ODEStepEnv`` on a member of ``family`` drawn from ``seeds`` at every reset."""

    metadata = {"render_modes": []}

    def __init__(self, family, seeds):
        self.envs = [member_env(member(family, s)) for s in seeds]
        self.action_space = self.envs[0].action_space
        self.observation_space = self.envs[0].observation_space
        self.env = self.envs[0]

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.env = self.envs[int(self.np_random.integers(len(self.envs)))]
        return self.env.reset(seed=int(self.np_random.integers(2**31)))

    def step(self, action):
        return self.env.step(action)


def episode(model, problem):
    """(nfev of the interval solves, global error at t_end, rtols chosen) of one deterministic
    episode of ``model`` on ``problem``."""
    env = member_env(problem)
    obs, _ = env.reset(seed=0)
    done, chosen = False, []
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        chosen.append(float(env.values[int(action)]))
        obs, _, terminated, truncated, info = env.step(int(action))
        done = terminated or truncated
    error = math.inf  # a failed interval ends the episode early
    if terminated and math.isfinite(info["error"]) and info["steps"] == N_INTERVALS:
        error = problems.mixed_error(problem, env._y)
    return info["nfev"] - 1, error, chosen


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20000, help="PPO steps per family")
    ap.add_argument("--training", type=int, default=12, help="training members per family")
    ap.add_argument("--held-out", type=int, default=30)
    ap.add_argument("--held-out-start", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--replot", action="store_true")
    args = ap.parse_args(argv)
    path = RESULTS / "rl_odestep_sb3.json"
    if args.replot:
        return plot(json.loads(path.read_text()), path.with_suffix(".png"))

    import torch
    from stable_baselines3 import PPO

    import agents

    torch.set_num_threads(1)
    filt = agents.load_default_policy("odestep_filter")
    pi = PRESETS["PI"]
    out = {
        "command": "python benchmarks/rl_odestep_sb3.py " + " ".join(argv or sys.argv[1:]),
        "env": {"action": "rtol", "tol": TOL, "n_intervals": N_INTERVALS, "method": "dp5"},
        "training": {
            "algo": "PPO",
            "steps_per_family": args.steps,
            "seeds": [0, args.training - 1],
        },
        "held_out": [args.held_out_start, args.held_out_start + args.held_out - 1],
        "families": {},
    }
    for family in FAMILIES:
        start = time.process_time()
        env = FamilyEnv(family, range(args.training))
        model = PPO("MlpPolicy", env, n_steps=512, batch_size=64, seed=args.seed, verbose=0)
        model.learn(args.steps)
        cpu = time.process_time() - start
        rows = []
        for seed in range(args.held_out_start, args.held_out_start + args.held_out):
            p = member(family, seed)
            nfev, error, chosen = episode(model, p)
            pi_front = front(p, pi, EVAL_RTOLS)
            point = (np.array([float(nfev)]), np.array([error]))
            rows.append(
                {
                    "seed": seed,
                    "nfev": nfev,
                    "error": error,
                    "rtols_chosen": sorted(set(chosen)),
                    "policy_vs_PI": equal_error_ratio(point, pi_front),
                    "filter_vs_PI": equal_error_ratio(front(p, filt, EVAL_RTOLS), pi_front),
                }
            )
            print(family, rows[-1], flush=True)
        out["families"][family] = {"training_cpu_s": cpu, "summary": summary(rows), "rows": rows}
    everything = [r for f in out["families"].values() for r in f["rows"]]
    out["summary"] = summary(everything)
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    plot(out, path.with_suffix(".png"))
    print(json.dumps(out["summary"], indent=1))


def plot(out, path):
    """Per held-out member: nfev / nfev(PI) at equal error of the PPO policy and of the filter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    data, labels = [], []
    for family, f in out["families"].items():
        for key, name in (("policy_vs_PI", "PPO via ODEStep-v0"), ("filter_vs_PI", "filter")):
            data.append([r[key] for r in f["rows"] if math.isfinite(r[key])])
            labels.append(f"{family}\n{name}")
    ax.boxplot(data, tick_labels=labels)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set(ylabel="nfev / nfev(PI) at equal error", title="held-out members (dp5)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def summary(rows):
    """Geometric means of the ratios against PI over the members where both are defined."""
    pairs = [
        (r["policy_vs_PI"], r["filter_vs_PI"])
        for r in rows
        if math.isfinite(r["policy_vs_PI"]) and math.isfinite(r["filter_vs_PI"])
    ]
    if not pairs:
        return {"members": 0}
    policy, filt = np.log(np.array(pairs)).T
    return {
        "members": len(pairs),
        "members_without_ratio": len(rows) - len(pairs),
        "policy_vs_PI": float(np.exp(policy.mean())),
        "filter_vs_PI": float(np.exp(filt.mean())),
        "policy_better_than_PI": int(np.sum(policy < 0)),
    }


if __name__ == "__main__":
    main()
