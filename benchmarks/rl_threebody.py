"""The shipped ThreeBody-v0 policies against every fixed Hermite eta on held-out systems.

The evaluation of Saz Ulibarrena & Portegies Zwart (CNSNS 2025, arXiv 2502.12809): each policy
and each of the 10 fixed time-step parameters eta = logspace(-4, -1, 10) on the same 100
held-out initial conditions (``reset(seed=1_000_000 + k)``, seeds no training run uses), 300
steps of 0.1 yr each (30 yr) unless |dE/E0| > 0.1 ends an episode.  Reports per runner the
median final energy error, median integrator steps, median wall time, environment steps per
second and the mean return; the Pareto verdict on the medians (dominated by a fixed eta? how far
below the fixed-eta front?).

Then the paper's transfer claim: the first policy, unchanged, as the controller of other
integrators through :class:`agents.PolicyController` (a continuous action maps onto log10 of
the target's own grid, an action index onto its value: ``envs._parameters``), each against its
own fixed-parameter front on the same held-out systems: adaptive leapfrog (eta), DOP853 on the
pair separations (rtol), the Gauss-Radau gr15 (epsilon), and Hermite on 4 and 5 bodies (the
policy watches the most tightly interacting triple).

Evaluates the shipped default policy (``threebody_linear``), the PPO policy and the shipped
reproduction of the paper (DQN, paper observation and reward), or the policies given.

Each transfer row records every episode and the 5-95% bootstrap range of its margin and steps
ratio (the 20 systems resampled, ``Evaluation.bootstrap``).

Run:  .venv/bin/python benchmarks/rl_threebody.py [--episodes N] [--policy NAME|DIR ...]
      [--transfer-only]   (the transfer again, the stored policies' evaluations kept)
Writes benchmarks/results/rl_threebody.json, rl_threebody.png (the first policy),
rl_threebody_<name>.png (the others) and rl_transfer.png (the first policy transferred).
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from agents import evaluate, evaluate_transfer  # noqa: E402
from agents._evaluate import training_seeds  # noqa: E402
from agents._pretrained import load_run  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TRANSFER = (("leapfrog", 3), ("dop853", 3), ("gr15", 3), ("hermite4", 4), ("hermite4", 5))
PER_EPISODE = ("energy_error", "steps")


def plot_transfer(results, path):
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.8))
    for ax, ev in zip(axes, results):
        s = ev.summary()
        xs = [f["median_steps"] for f in s["fixed"]]
        ys = [f["median_energy_error"] for f in s["fixed"]]
        ax.plot(xs, ys, "o-", color="tab:blue", ms=4, label=f"fixed {ev.parameter}")
        p = s["policy"]
        ax.plot(
            p["median_steps"], p["median_energy_error"], "*", color="tab:red", ms=13, label="policy"
        )
        ax.set(xscale="log", yscale="log", title=ev.label, xlabel="integrator steps (median)")
        ax.title.set_fontsize(9)
    axes[0].set_ylabel("final |dE/E0| (median)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate_policy(name, args, out, png):
    """Evaluate one policy; returns (the JSON section, the model, its config)."""
    model, config = load_run(name)
    start = time.perf_counter()
    ev = evaluate(
        model,
        args.episodes,
        env_kwargs=config.get("env_kwargs"),
        max_steps=args.max_steps,
        training_seeds=training_seeds(config),
        workers=args.workers,
    )
    print(f"\n[{name}]\n{ev.table()}")
    ev.plot(out / png)
    summary = ev.summary()
    section = {
        "config": config,
        "evaluation_s": time.perf_counter() - start,
        "training_curve": config.get("learning_curve"),
        "medians": {
            "policy": [summary["policy"]["median_energy_error"], summary["policy"]["median_steps"]],
            "fixed": {
                f"{f['value']:.3g}": [f["median_energy_error"], f["median_steps"]]
                for f in summary["fixed"]
            },
        },
        "env_steps_per_s": {f"{f['value']:.3g}": f["env_steps_per_s"] for f in summary["fixed"]},
        "evaluation": summary,
        "per_episode": {  # the Pareto plot's data; ev.to_dict() has every field
            "policy": {k: ev.policy[k].tolist() for k in PER_EPISODE},
            "fixed": [{k: f[k].tolist() for k in PER_EPISODE} for f in ev.fixed],
        },
    }
    return section, model, config


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--policy",
        nargs="+",
        default=["default", "threebody_ppo", "threebody_dqn_paper"],
        help="shipped names or training directories (the first one is also transferred)",
    )
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--max-steps", type=int, default=300)
    parser.add_argument("--transfer-episodes", type=int, default=20)
    parser.add_argument("--transfer-years", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument(
        "--transfer-only",
        action="store_true",
        help="rerun only the transfer of the first policy; keep the policies of the stored JSON",
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.transfer_only:
        sections = json.loads((out / "rl_threebody.json").read_text())["policies"]
        model, config = load_run(args.policy[0])
    else:
        sections, first = {}, None
        for k, name in enumerate(args.policy):
            png = "rl_threebody.png" if k == 0 else f"rl_threebody_{Path(name).name}.png"
            sections[name], model, config = evaluate_policy(name, args, out, png)
            first = first or (model, config)
        model, config = first
    observation = (config.get("env_kwargs") or {}).get("observation", "paper")
    transfer = [
        evaluate_transfer(
            model,
            method=m,
            n_bodies=n,
            episodes=args.transfer_episodes,
            t_end=args.transfer_years,
            observation=observation,
            workers=args.workers,
        )
        for m, n in TRANSFER
    ]
    for t in transfer:
        print(f"\n{t.table()}")
    plot_transfer(transfer, out / "rl_transfer.png")

    payload = {
        "policies": sections,
        "transfer": {"policy": args.policy[0], **{t.label: t.to_dict() for t in transfer}},
    }
    (out / "rl_threebody.json").write_text(json.dumps(payload, indent=1, default=_plain))
    print(f"wrote {out / 'rl_threebody.json'}, the rl_threebody*.png plots and rl_transfer.png")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else str(value)


if __name__ == "__main__":
    main()
