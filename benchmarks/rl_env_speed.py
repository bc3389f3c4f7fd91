"""How fast ``stepsize/ThreeBody-v0`` steps, where the time goes, and what SB3 training sees.

The headline setting, ``"paper"``, is the paper's training set-up (``PAPER`` below: Hermite 4,
eta from logspace(-4, -1, 10), a decision every 0.1 yr, episodes of 100 decisions on new paper
systems, uniformly random actions); the other settings run the paper's evaluation episodes of
300 decisions (held-out systems ``reset(seed=1_000_000 + k)``) with random actions, with
eta = 1e-4 (the first action) and with eta = 0.1.  All in CPU time of the process
(``time.process_time``: the machine is shared, so wall time measures the neighbours):

* environment steps per CPU second of one environment, resets included; the integrator steps
  per environment step; and, in a second pass with the call timed, the share of the time inside
  the compiled call (``Simulation._evolve_kernel``, or the whole compiled environment step
  ``hermite3_env_step`` where the tree has one) - the rest is the Python around it;
* where the tree has ``envs.ThreeBodyVecEnv``: the same settings on a vector of n = 16, 64, 256 and
  1024 environments stepped by one compiled call (300 vector steps, episodes reset as SB3 resets
  them), as environment steps per CPU second (the vector's throughput, not the cost of one
  environment's step: a vector step waits for its slowest environment), with the Hermite steps
  per environment step and the share of the time in ``vector_env_step``;
* PPO (``MlpPolicy``, ``DummyVecEnv`` of one copy) learning steps per second with torch on one
  thread and on the default number of threads.

``--trees A B ...`` measures other checkouts of the project side by side (each in its own
process, interleaved, median of ``--repeats``), e.g. the tree at an issue's filing against this
one (``--names`` labels them, e.g. with their commits), and gives this tree's speed-up over each;
``results["headline: ..."]`` holds the paper setting's three ratios (one environment, the vector
of ``HEADLINE_SIZE`` per environment step and per Hermite step).

Run:  .venv/bin/python benchmarks/rl_env_speed.py [--trees PATH ...] [--names ...] [--repeats 3]
Writes benchmarks/results/rl_env_speed.json and .png (``--replot`` redraws the PNG from the JSON).
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
# name: (action, None for uniformly random; episode length in environment steps)
SETTINGS = {
    "paper": (None, 100),  # the headline: see PAPER
    "random": (None, 300),
    "eta=1e-4": (0, 300),
    "eta=0.1": (9, 300),
}
PAPER = (
    "the paper's training set-up (Saz Ulibarrena & Portegies Zwart 2025; the settings of their "
    "shipped Hermite model, models/settings_integration_3BP_hermite.json of "
    "github.com/veronicasaz/ThreeBodyProblem_astronomy): Hermite 4 with the AMUSE criterion, "
    "Discrete(10) over eta = logspace(-4, -1, 10), a decision every 0.1 yr (check_step), "
    "episodes of 100 decisions (max_steps; 300 in their evaluation: the other rows), ended at "
    "|dE/E0| > 0.1, a new paper system at every reset; actions uniformly random, which is what "
    "their DQN's exploration starts from (epsilon 0.9) and what an untrained policy does"
)
HEADLINE_SIZE = "256"


def _episodes(env, action, episodes, seed, rng):
    """(environment steps, integrator steps) of ``episodes`` episodes of ``action`` (None:
    uniformly random, drawn before the episodes so that the clock measures the environment)."""
    draws = iter(rng.integers(10, size=episodes * env.max_steps).tolist())
    n = steps = 0
    for k in range(episodes):
        env.reset(seed=seed + k)
        done = False
        while not done:
            a = next(draws) if action is None else action
            *_, terminated, truncated, info = env.step(a)
            n, done = n + 1, terminated or truncated
        steps += info["steps"]
    return n, steps


def _timed(module, name, clock):
    """Wrap ``module.name`` so that ``clock[0]`` sums the CPU time spent in it; returns the
    function to restore."""
    inner = getattr(module, name)

    def timed(*args):
        start = time.process_time()
        out = inner(*args)
        clock[0] += time.process_time() - start
        return out

    setattr(module, name, timed)
    return inner


def measure_env(seed=1_000_000):
    """{setting: (env steps per CPU s, integrator steps per env step, compiled share)} for the
    environment of the current path."""
    import numpy as np

    import envs.three_body as env_module
    import stepsize.nbody._simulation as sim_module

    out = {}
    for setting, (action, length) in SETTINGS.items():
        env = env_module.ThreeBodyEnv(max_steps=length)
        env.reset(seed=seed)
        env.step(9)  # compiled code loaded before the clock starts
        episodes = 900 // length  # 900 environment steps at most, whatever the length
        start = time.process_time()
        n, steps = _episodes(env, action, episodes, seed, np.random.default_rng(0))
        cpu = time.process_time() - start
        clock = [0.0]  # second pass: the same episodes with the compiled call timed
        if hasattr(env_module, "hermite3_env_step"):
            owner, name = env_module, "hermite3_env_step"
        else:
            owner, name = sim_module.Simulation, "_evolve_kernel"
        inner = _timed(owner, name, clock)
        start = time.process_time()
        _episodes(env, action, episodes, seed, np.random.default_rng(0))
        share = clock[0] / (time.process_time() - start)
        setattr(owner, name, inner)
        out[setting] = (n / cpu, steps / n, share)
    return out


VECTOR_SIZES = (16, 64, 256, 1024)
VECTOR_KEY = "vector (throughput: env steps per CPU s of the whole vector)"


def measure_vector(sizes=VECTOR_SIZES, steps=300, seed=1_000_000):
    """{n: {setting: (env steps per CPU s, integrator steps per env step, compiled share)}}
    for ``envs.ThreeBodyVecEnv`` of n environments (None where the tree has none)."""
    import numpy as np

    try:
        import envs.vector as vector_module
    except ImportError:
        return None
    out = {}
    for n in sizes:
        row = {}
        for setting, (action, length) in SETTINGS.items():
            vec = vector_module.ThreeBodyVecEnv(n, max_steps=length)
            vec.seed(seed)
            vec.reset()
            vec.step(np.full(n, 9))  # compiled code loaded before the clock starts
            rng = np.random.default_rng(0)
            draws = (
                rng.integers(10, size=(steps, n)) if action is None else np.full((steps, n), action)
            )
            clock = [0.0]
            inner = _timed(vector_module, "vector_env_step", clock)
            infos = []
            start = time.process_time()
            for k in range(steps):
                infos.append(vec.step(draws[k])[3])
            cpu = time.process_time() - start
            vector_module.vector_env_step = inner
            row[setting] = (steps * n / cpu, _integrator_steps(infos) / (steps * n), clock[0] / cpu)
        out[str(n)] = row
    return out


def _integrator_steps(infos):
    """The integrator steps taken over a list of vector steps' infos (``info["steps"]`` counts
    from the start of the episode)."""
    last = [info["steps"] for info in infos[0]]  # the first step's count is not included
    total = 0
    for row in infos[1:]:
        for k, info in enumerate(row):
            total += info["steps"] - last[k]
            last[k] = 0 if "terminal_observation" in info else info["steps"]
    return total * len(infos) / (len(infos) - 1)


def measure_ppo(threads, steps):
    """PPO learning steps per CPU second on ThreeBody-v0, ``threads`` torch threads (0: default)."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO

    if threads:
        torch.set_num_threads(threads)
    env = gym.make("envs:stepsize/ThreeBody-v0")
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, seed=0)
    model.learn(256)  # warm-up: compiled kernels, torch
    start = time.process_time()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.process_time() - start), torch.get_num_threads()


def worker(args):
    """Run in a child process with ``--tree`` first on sys.path; prints one JSON line."""
    sys.path.insert(0, args.tree)
    row = {"env": measure_env(), "vector": measure_vector()}
    if args.ppo:
        row["ppo_default_threads"] = measure_ppo(0, 512)  # first: set_num_threads is global
        row["ppo_1_thread"] = measure_ppo(1, 2048)
    print(json.dumps(row))


def derive(payload):
    """The ratios of this tree over each other tree, into ``payload["results"]``: environment
    steps per CPU second of this tree's single environment, and of its vectors (throughput),
    over the other tree's single environment; and the same per integrator step (CPU time per
    environment step divided by the integrator steps it took), which takes out that a vector of
    n runs other systems (seeds 1,000,000 + k, k < n) than the three episodes of the single
    environment, and so other numbers of Hermite steps per decision."""
    results = payload["results"]
    new = results["this tree"]
    vector = new.get(VECTOR_KEY, {})

    def per_step(entry):
        return entry["env_steps_per_cpu_s"] * entry["integrator_steps_per_env_step"]

    for name in payload["trees"][1:]:
        base = results[name]
        results[f"ratio this tree / {name} (env steps per CPU s)"] = {
            s: new[s]["env_steps_per_cpu_s"] / base[s]["env_steps_per_cpu_s"] for s in SETTINGS
        }
        if not vector:
            continue
        results[f"ratio this tree's vector of n / {name}'s single env (env steps per CPU s)"] = {
            n: {s: v[s]["env_steps_per_cpu_s"] / base[s]["env_steps_per_cpu_s"] for s in SETTINGS}
            for n, v in vector.items()
        }
        results[
            f"ratio this tree's vector of n / {name}'s single env (integrator steps per CPU s)"
        ] = {
            n: {s: per_step(v[s]) / per_step(base[s]) for s in SETTINGS} for n, v in vector.items()
        }
        head = vector.get(HEADLINE_SIZE, {}).get("paper")
        row = {
            "one environment, per env step": new["paper"]["env_steps_per_cpu_s"]
            / base["paper"]["env_steps_per_cpu_s"]
        }
        if head:
            row[f"vector of {HEADLINE_SIZE}, throughput per env step"] = (
                head["env_steps_per_cpu_s"] / base["paper"]["env_steps_per_cpu_s"]
            )
            row[f"vector of {HEADLINE_SIZE}, per Hermite step"] = per_step(head) / per_step(
                base["paper"]
            )
        results[f"headline: paper settings, this tree / {name}"] = row


def plot(payload, path):
    """CPU microseconds per environment step, by setting and tree (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trees = payload["trees"]
    series = [(tree, payload["results"][tree]) for tree in trees]
    vector = payload["results"]["this tree"].get(VECTOR_KEY, {})
    series += [(f"this tree, vector of {n} (per env step)", v) for n, v in vector.items()]
    fig, ax = plt.subplots(figsize=(9, 4.8))
    width = 0.8 / len(series)
    for k, (label, res) in enumerate(series):
        us = [1e6 / res[s]["env_steps_per_cpu_s"] for s in SETTINGS]
        bars = ax.bar([i + k * width for i in range(len(SETTINGS))], us, width, label=label)
        ax.bar_label(bars, fmt="%.3g", fontsize=7)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(SETTINGS))], SETTINGS)
    ax.legend(fontsize=7)
    ax.set_yscale("log")
    ax.set(ylabel="CPU µs per environment step", title="stepsize/ThreeBody-v0, paper settings")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trees", nargs="+", default=[str(ROOT)])
    parser.add_argument("--names", nargs="+", help="labels of the trees after the first")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "rl_env_speed.json"))
    parser.add_argument("--replot", action="store_true", help="redraw the PNG from --out")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--ppo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.replot:  # also recomputes the ratios from the stored medians
        payload = json.loads(Path(args.out).read_text())
        derive(payload)
        Path(args.out).write_text(json.dumps(payload, indent=1))
        return plot(json.loads(Path(args.out).read_text()), Path(args.out).with_suffix(".png"))

    load_before = os.getloadavg()
    runs = {tree: [] for tree in args.trees}
    for k in range(args.repeats):  # interleaved: tree A, tree B, A, B, ...
        for tree in args.trees:
            cmd = [sys.executable, __file__, "--worker", "--tree", tree]
            if k == 0:
                cmd.append("--ppo")
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            runs[tree].append(json.loads(out.strip().splitlines()[-1]))
    names = ["this tree"] + (args.names or [f"tree {n}" for n in range(1, len(args.trees))])
    summary = {}
    for name, tree in zip(names, args.trees, strict=True):
        rows = runs[tree]
        entry = {
            s: {
                "env_steps_per_cpu_s": statistics.median(r["env"][s][0] for r in rows),
                "integrator_steps_per_env_step": statistics.median(r["env"][s][1] for r in rows),
                "compiled_share": statistics.median(r["env"][s][2] for r in rows),
            }
            for s in SETTINGS
        }
        if rows[0].get("vector"):
            entry[VECTOR_KEY] = {
                n: {
                    s: {
                        "env_steps_per_cpu_s": statistics.median(
                            r["vector"][n][s][0] for r in rows
                        ),
                        "integrator_steps_per_env_step": statistics.median(
                            r["vector"][n][s][1] for r in rows
                        ),
                        "compiled_share": statistics.median(r["vector"][n][s][2] for r in rows),
                    }
                    for s in SETTINGS
                }
                for n in rows[0]["vector"]
            }
        entry["ppo_steps_per_cpu_s"] = {
            "1 thread": rows[0]["ppo_1_thread"][0],
            f"{rows[0]['ppo_default_threads'][1]} threads (default)": rows[0][
                "ppo_default_threads"
            ][0],
        }
        summary[name] = entry
        print(f"[{name}] {json.dumps(entry, indent=1)}")
    payload = {
        "what": __doc__.split("\n")[0],
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "load_average_1min": [load_before[0], os.getloadavg()[0]],  # shared machine: noise
        "trees": names,
        "paper_settings": PAPER,
        "results": summary,
    }
    derive(payload)
    Path(args.out).write_text(json.dumps(payload, indent=1))
    plot(payload, Path(args.out).with_suffix(".png"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
