"""How fast ``stepsize/ThreeBody-v0`` steps, where the time goes, and what SB3 training sees.

Measured at the paper's settings (Hermite 4, eta from logspace(-4, -1, 10), 0.1 yr per step, 300
steps per episode on held-out systems ``reset(seed=1_000_000 + k)``):

* environment steps per second with random actions (what exploration sees), with eta = 1e-4
  (the paper's first action) and with eta = 0.1, and the fraction of that time spent inside the
  compiled integrator (``Simulation._evolve_kernel``) - the rest is the Python around it;
* PPO (``MlpPolicy``, ``DummyVecEnv`` of one copy) learning steps per second with torch on one
  thread and on the default number of threads.

``--trees A B ...`` measures other checkouts of the project side by side (each in its own
process, interleaved, median of ``--repeats``), e.g. the main branch against this one.

Run:  .venv/bin/python benchmarks/rl_env_speed.py [--trees PATH ...] [--repeats 3]
Writes benchmarks/results/rl_env_speed.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SETTINGS = ("random", "eta=1e-4", "eta=0.1")


def measure_env(episodes=3, seed=1_000_000):
    """{setting: (env steps/s, kernel fraction)} for the environment of the current path."""
    import numpy as np

    import stepsize.nbody._simulation as sim_module
    from envs.three_body import ThreeBodyEnv

    kernel = [0.0]
    inner = sim_module.Simulation._evolve_kernel

    def timed(self, t_end):
        start = time.perf_counter()
        inner(self, t_end)
        kernel[0] += time.perf_counter() - start

    sim_module.Simulation._evolve_kernel = timed
    out = {}
    rng = np.random.default_rng(0)
    for setting, action in zip(SETTINGS, (None, 0, 9)):
        env = ThreeBodyEnv(max_steps=300)
        env.reset(seed=seed)
        env.step(9)  # compiled code loaded before the clock starts
        kernel[0], n = 0.0, 0
        start = time.perf_counter()
        for k in range(episodes):
            env.reset(seed=seed + k)
            done = False
            while not done:
                a = int(rng.integers(10)) if action is None else action
                *_, terminated, truncated, _ = env.step(a)
                n, done = n + 1, terminated or truncated
        wall = time.perf_counter() - start
        out[setting] = (n / wall, kernel[0] / wall)
    sim_module.Simulation._evolve_kernel = inner
    return out


def measure_ppo(threads, steps):
    """PPO learning steps per second on ThreeBody-v0 with ``threads`` torch threads (0: default)."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO

    if threads:
        torch.set_num_threads(threads)
    env = gym.make("envs:stepsize/ThreeBody-v0")
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, seed=0)
    model.learn(256)  # warm-up: compiled kernels, torch
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - start), torch.get_num_threads()


def worker(args):
    """Run in a child process with ``--tree`` first on sys.path; prints one JSON line."""
    sys.path.insert(0, args.tree)
    row = {"env": measure_env()}
    if args.ppo:
        row["ppo_default_threads"] = measure_ppo(0, 512)  # first: set_num_threads is global
        row["ppo_1_thread"] = measure_ppo(1, 2048)
    print(json.dumps(row))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trees", nargs="+", default=[str(ROOT)])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "rl_env_speed.json"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--ppo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    load_before = os.getloadavg()
    runs = {tree: [] for tree in args.trees}
    for k in range(args.repeats):  # interleaved: tree A, tree B, A, B, ...
        for tree in args.trees:
            cmd = [sys.executable, __file__, "--worker", "--tree", tree]
            if k == 0:
                cmd.append("--ppo")
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            runs[tree].append(json.loads(out.strip().splitlines()[-1]))
    summary = {}
    for n, tree in enumerate(args.trees):
        rows = runs[tree]
        entry = {
            s: {
                "env_steps_per_s": statistics.median(r["env"][s][0] for r in rows),
                "kernel_fraction": statistics.median(r["env"][s][1] for r in rows),
            }
            for s in SETTINGS
        }
        entry["ppo_steps_per_s"] = {
            "1 thread": rows[0]["ppo_1_thread"][0],
            f"{rows[0]['ppo_default_threads'][1]} threads (default)": rows[0][
                "ppo_default_threads"
            ][0],
        }
        summary[f"tree {n}" if n else "this tree"] = entry
        print(f"[tree {n}] {json.dumps(entry, indent=1)}")
    if len(args.trees) > 1:
        base, new = summary["tree 1"], summary["this tree"]
        summary["ratio this tree / tree 1 (env steps/s)"] = {
            s: new[s]["env_steps_per_s"] / base[s]["env_steps_per_s"] for s in SETTINGS
        }
    payload = {
        "what": __doc__.split("\n")[0],
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "load_average_1min": [load_before[0], os.getloadavg()[0]],  # shared machine: noise
        "trees": ["this tree"] + [f"tree {n}" for n in range(1, len(args.trees))],
        "results": summary,
    }
    Path(args.out).write_text(json.dumps(payload, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
