"""Iterations to separate for LR+GD, Normalized LR+GD and the batch perceptrons on local data.

Reproduces the orderings of Tyurin (2024, arXiv 2412.08424) on data available offline:

* Table 1, "worst-case" row (Thm 5.1 data, n = 1000): compared number by number.
* "Larger step sizes separate faster despite higher loss" (Sec. 4): for LR+GD, iterations to
  separate should not increase with gamma while the largest loss before separation grows.
* "Normalized LR+GD is more robust to imbalanced data" (Table 1: 311 vs 538 on imbalanced
  FashionMNIST, ratio 0.58): checked as Normalized <= 0.7 x LR+GD on digit pairs with one class
  subsampled to 10% and to 3%, in both orientations.  On balanced data the paper found the
  opposite (2778 LR+GD vs 3160 Normalized, ratio 1.14).
* The bounds n R^2/mu^2 (Thm 3.3), R^2/mu^2 (Thm 5.3) and Thm 6.1's bound.
* Edge of stability: h * lambda_max along runs that separate within 3000 steps.
* A PPO agent trained briefly on stepsize/LearningRate-v0 against every fixed gamma.

Run:  .venv/bin/python benchmarks/descent.py [--max-iter N] [--rl-steps N] [--no-rl]
Writes benchmarks/results/descent.json and benchmarks/results/descent.png.
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stepsize.descent import (  # noqa: E402
    digits,
    gd,
    max_margin,
    perceptron,
    separable,
    sharpness_along,
    worst_case,
)

GAMMAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
PAIRS = ((3, 8), (1, 7), (4, 9), (3, 5), (2, 3))
PAPER_WORST_CASE = {("Normalized LR+GD", g): k for g, k in ((100.0, 2), (10.0, 2), (1.0, 16))}
PAPER_WORST_CASE.update({("Normalized LR+GD", 0.1): 157, ("LR+GD", 100.0): 308})
RESULTS = ROOT / "benchmarks" / "results"


def datasets():
    sets = [separable(seed=s) for s in range(3)] + [worst_case(1000)]
    sets += [digits(p, q) for p, q in PAIRS]
    for fraction in (0.1, 0.03):
        for p, q in PAIRS:
            sets += [digits(p, q, fraction), digits(q, p, fraction)]
    return sets


def run_dataset(ds, max_iter):
    cert = max_margin(ds.A, ds.y)
    mu = ds.margin if ds.margin is not None else cert.lower
    ratio = ds.R**2 / mu**2
    out = {
        "name": ds.name if ds.name != "synthetic" else f"synthetic-{ds.description[-1]}",
        "n": ds.n,
        "d": ds.d,
        "R": ds.R,
        "mu": mu,
        "mu_exact": ds.margin is not None,
        "runs": [],
    }
    for gamma in GAMMAS:
        for method, rule in (("LR+GD", "constant"), ("Normalized LR+GD", "normalized")):
            r = gd(ds.A, ds.y, gamma, rule, max_iter=max_iter, stop_when_separated=True)
            bound = ratio + 2 * math.log(2 * ds.n - 1) / (gamma * mu**2)
            out["runs"].append(_row(ds, r, method, gamma, bound if rule == "normalized" else None))
    for method, normalized, bound in (
        ("Batch Perceptron", False, ds.n * ratio),
        ("Normalized Batch Perceptron", True, ratio),
    ):
        r = perceptron(ds.A, ds.y, normalized, max_iter=max_iter)
        out["runs"].append(_row(ds, r, method, None, bound))
    return out


def _row(ds, r, method, gamma, bound):
    row = {
        "method": method,
        "gamma": gamma,
        "iterations_to_separate": r.iterations_to_separate,
        "max_loss_before_separation": float(r.loss[1:].max()) if r.iterations else None,
        "bound": bound,
        "within_bound": None if bound is None or not r.success else bool(r.iterations <= bound),
    }
    if gamma is not None and r.success and r.iterations <= 3000:
        lam = sharpness_along(ds.A, ds.y, r.thetas[:-1])
        glm = r.step * lam
        glm = glm[np.isfinite(glm)]
        row["gamma_lambda_max_at_0"] = float(glm[0]) if glm.size else None
        row["fraction_above_edge"] = float(np.mean(glm > 2.0)) if glm.size else None
    return row


def _its(entry, method, gamma):
    for row in entry["runs"]:
        if row["method"] == method and row["gamma"] == gamma:
            return row["iterations_to_separate"]
    raise KeyError((method, gamma))


def _best(entry, method):
    its = [_its(entry, method, g) for g in GAMMAS]
    its = [k for k in its if k is not None]
    return min(its) if its else None


def checks(entries):
    """The paper's orderings, evaluated on every data set; returns a JSON-ready dict."""
    by_name = {e["name"]: e for e in entries}
    worst = by_name["worst-case-1000"]
    table1 = [
        {"method": m, "gamma": g, "paper": k, "local": _its(worst, m, g)}
        for (m, g), k in PAPER_WORST_CASE.items()
    ]
    monotone = []
    for e in entries:
        its = [_its(e, "LR+GD", g) for g in GAMMAS]
        loss = [
            r["max_loss_before_separation"]
            for g in GAMMAS
            for r in e["runs"]
            if r["method"] == "LR+GD" and r["gamma"] == g
        ]
        finite = [math.inf if k is None else k for k in its]
        limit = _its(e, "Batch Perceptron", None)
        violations = [
            f"gamma {GAMMAS[i]:g}->{GAMMAS[i + 1]:g}: {finite[i]}->{finite[i + 1]}"
            + (" at the perceptron limit" if _near(finite[i], limit) else "")
            for i in range(len(GAMMAS) - 1)
            if finite[i + 1] > finite[i]
        ]
        monotone.append(
            {
                "data": e["name"],
                "iterations": its,
                "max_loss": loss,
                "faster_with_larger_gamma": not violations,
                "only_at_perceptron_limit": all("limit" in v for v in violations),
                "violations": violations,
                "loss_higher_at_largest_gamma": loss[-1] > loss[0],
            }
        )
    ratios = []
    for e in entries:
        if not e["name"].startswith("digits"):
            continue
        at100 = _ratio(_its(e, "Normalized LR+GD", 100.0), _its(e, "LR+GD", 100.0))
        best = _ratio(_best(e, "Normalized LR+GD"), _best(e, "LR+GD"))
        ratios.append({"data": e["name"], "ratio_at_gamma_100": at100, "ratio_best": best})
    bounds_ok = all(r["within_bound"] is not False for e in entries for r in e["runs"])
    return {
        "table1_worst_case": table1,
        "larger_gamma_faster": monotone,
        "normalized_over_lrgd": ratios,
        "all_bounds_hold": bounds_ok,
    }


def _ratio(a, b):
    return None if a is None or b is None else a / b


def _near(its, limit):
    """Within 20% of the Batch Perceptron count, where Thm 3.2 says LR+GD saturates."""
    return limit is not None and abs(its - limit) <= 0.2 * limit


def rl_comparison(steps, seed, episodes=100):
    """PPO trained for ``steps`` on LearningRate-v0 against each fixed gamma, same test seeds."""
    from stable_baselines3 import PPO

    from envs.learning_rate import LearningRateEnv

    env = LearningRateEnv()
    start = time.perf_counter()
    model = PPO("MlpPolicy", env, n_steps=512, batch_size=64, seed=seed, device="cpu")
    model.learn(total_timesteps=steps)
    train_s = time.perf_counter() - start
    policies = {"PPO": lambda obs: int(model.predict(obs, deterministic=True)[0])}
    for i, gamma in enumerate(env.gammas):
        policies[f"gamma={gamma:g}"] = lambda obs, i=i: i
    out = {}
    for name, policy in policies.items():
        returns, lengths, solved = [], [], 0
        for k in range(episodes):
            obs, _ = env.reset(seed=10_000 + k)
            total, done = 0.0, False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(policy(obs))
                total += reward
                done = terminated or truncated
            returns.append(total)
            lengths.append(env.unwrapped._t)
            solved += bool(terminated)
        out[name] = {
            "mean_return": float(np.mean(returns)),
            "mean_iterations": float(np.mean(lengths)),
            "separated": solved / episodes,
        }
    return {"train_steps": steps, "train_seconds": train_s, "episodes": episodes, "policies": out}


def plot(entries, result, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(16, 8.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3)
    shown = ("synthetic-0", "worst-case-1000", "digits-3v8", "digits-3v8-imbalanced-0.1")
    by_name = {e["name"]: e for e in entries}
    for ax, name in zip(axes.flat, shown):
        e = by_name[name]
        for method, style in (("LR+GD", "o-"), ("Normalized LR+GD", "s-")):
            its = [_its(e, method, g) for g in GAMMAS]
            ax.plot(GAMMAS, [np.nan if k is None else k for k in its], style, label=method)
        for method, ls in (("Batch Perceptron", "--"), ("Normalized Batch Perceptron", ":")):
            its = _its(e, method, None)
            if its is not None:
                ax.axhline(its, color="k", ls=ls, lw=1, label=method)
        ax.set(xscale="log", yscale="log", xlabel="gamma", ylabel="iterations to separate")
        ax.set_title(f"{name} (n={e['n']}, mu={e['mu']:.3g})", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    ax = axes[1, 1]
    for row in result["checks"]["larger_gamma_faster"]:
        if row["data"] in shown:
            ax.plot(GAMMAS, row["max_loss"], "o-", label=row["data"])
    ax.set(xscale="log", yscale="log", xlabel="gamma", ylabel="max loss before separation")
    ax.set_title("LR+GD: larger gamma, higher loss", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax = axes[1, 2]
    ratios = [r for r in result["checks"]["normalized_over_lrgd"] if r["ratio_best"] is not None]
    ax.barh(range(len(ratios)), [r["ratio_best"] for r in ratios], color="tab:blue")
    ax.set_yticks(range(len(ratios)), [r["data"].replace("imbalanced", "imb") for r in ratios])
    ax.axvline(0.7, color="r", ls="--", lw=1, label="0.7 (target on imbalanced)")
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("best Normalized LR+GD / best LR+GD (iterations)")
    ax.tick_params(axis="y", labelsize=6)
    ax.legend(fontsize=7)
    fig.suptitle("Tyurin (2024) on local data: iterations to separate", fontsize=11)
    fig.savefig(path, dpi=110)


def report(result):
    c = result["checks"]
    print("Table 1, worst-case row (Thm 5.1 data, n = 1000):")
    for row in c["table1_worst_case"]:
        same = "agrees" if row["paper"] == row["local"] else "DISAGREES"
        print(
            f"  {row['method']:<17} gamma={row['gamma']:<6g} paper {row['paper']:>4}"
            f"  local {row['local']!s:>5}  {same}"
        )
    print("\niterations to separate (LR+GD / Normalized LR+GD per gamma; BP, NBP):")
    print(f"  {'data':<28}" + "".join(f"{g:>14g}" for g in GAMMAS) + f"{'BP':>7}{'NBP':>6}")
    for e in result["datasets"]:
        cells = "".join(
            f"{_fmt(_its(e, 'LR+GD', g)):>7}/{_fmt(_its(e, 'Normalized LR+GD', g)):<6}"
            for g in GAMMAS
        )
        bp = _fmt(_its(e, "Batch Perceptron", None))
        nbp = _fmt(_its(e, "Normalized Batch Perceptron", None))
        print(f"  {e['name']:<28}{cells}{bp:>7}{nbp:>6}")
    print("\nlarger gamma separates faster (LR+GD, monotone over the grid) despite higher loss")
    print("(max loss: largest f(theta_t), 1 <= t <= separation):")
    for row in c["larger_gamma_faster"]:
        verdict = "agrees" if row["faster_with_larger_gamma"] else "disagrees"
        if row["violations"] and row["only_at_perceptron_limit"]:
            verdict = "agrees up to the perceptron limit"
        loss = "higher" if row["loss_higher_at_largest_gamma"] else "NOT higher"
        extra = f" ({'; '.join(row['violations'])})" if row["violations"] else ""
        print(f"  {row['data']:<28} {verdict}{extra}; loss at gamma=100 {loss}")
    print("\nNormalized / LR+GD iterations (paper: <= 0.7 on imbalanced, 1.14 on balanced):")
    for row in c["normalized_over_lrgd"]:
        target = "imbalanced" in row["data"]
        best = row["ratio_best"]
        verdict = "" if not target or best is None else ("agrees" if best <= 0.7 else "disagrees")
        print(
            f"  {row['data']:<28} at gamma=100 {_fmt(row['ratio_at_gamma_100'], '.2f'):>5}"
            f"  best/best {_fmt(best, '.2f'):>5}  {verdict}"
        )
    for fraction in ("0.1", "0.03"):
        vals = [
            r["ratio_best"]
            for r in c["normalized_over_lrgd"]
            if r["data"].endswith(f"imbalanced-{fraction}") and r["ratio_best"] is not None
        ]
        agree = sum(v <= 0.7 for v in vals)
        print(
            f"  imbalanced {fraction}: median best/best ratio {np.median(vals):.2f},"
            f" <= 0.7 on {agree}/{len(vals)}"
        )
    print(f"\nall bounds (Thm 3.3, 5.3, 6.1) hold: {c['all_bounds_hold']}")
    print("\nedge of stability, LR+GD (runs separating within 3000 steps):")
    print("  gamma*lambda_max at theta_0 / share of steps with gamma*lambda_max > 2")
    for e in result["datasets"]:
        if "imbalanced" in e["name"]:
            continue
        cells = [
            f"{r['gamma']:g}: {r['gamma_lambda_max_at_0']:.3g}/{r['fraction_above_edge']:.0%}"
            for r in e["runs"]
            if r["method"] == "LR+GD" and r.get("fraction_above_edge") is not None
        ]
        print(f"  {e['name']:<28} " + ",  ".join(cells))
    if "rl" in result:
        rl = result["rl"]
        steps, seconds, episodes = rl["train_steps"], rl["train_seconds"], rl["episodes"]
        print(f"\nLearningRate-v0: PPO after {steps} steps ({seconds:.0f} s), {episodes} episodes")
        for name, row in rl["policies"].items():
            print(
                f"  {name:<12} return {row['mean_return']:+.3f}  iterations"
                f" {row['mean_iterations']:6.1f}  separated {row['separated']:.0%}"
            )


def _fmt(x, spec="d"):
    return "-" if x is None else format(x, spec)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=50_000)
    parser.add_argument("--rl-steps", type=int, default=30_000)
    parser.add_argument("--no-rl", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    entries = [run_dataset(ds, args.max_iter) for ds in datasets()]
    result = {"max_iter": args.max_iter, "gammas": list(GAMMAS), "datasets": entries}
    result["checks"] = checks(entries)
    if not args.no_rl:
        result["rl"] = rl_comparison(args.rl_steps, args.seed)
    result["seconds"] = time.perf_counter() - start
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "descent.json").write_text(json.dumps(result, indent=1))
    plot(entries, result, RESULTS / "descent.png")
    report(result)
    print(f"\nwrote {RESULTS / 'descent.json'} and descent.png in {result['seconds']:.0f} s")


if __name__ == "__main__":
    main()
