"""stepsize.optim on scikit-learn's digits: each optimizer at its tuned learning rate.

Models: an MLP (64-64-10) and a small CNN with batch norm (conv-BN-ReLU-pool twice, linear);
data: the 1797 8x8 digits, split 1200 train / 237 validation / 360 test (fixed).  For each
optimizer the learning rate is tuned on a 4-point grid (fewest steps to the target accuracy on
the validation split, then best final validation accuracy; tuning seeds 100, 101), then 5 seeds
(0-4) train at that rate; reported per optimizer and model:
optimizer steps and wall time to the target test accuracy, final test accuracy (median and
range over seeds).  The papers' claims checked here:

* EXAdam converges faster than Adam (Adly 2024: 38-48 % fewer steps on CIFAR-10);
* AdamP / SGDP help on normalised networks (Heo et al. 2021) -- the CNN, whose conv filters
  are scale-invariant under batch norm;
* diffGrad improves on Adam (Dubey et al. 2020);
* adaptive batches need fewer optimizer steps (Lau et al., AdAdaGrad-Norm, norm and
  inner-product tests) -- steps and samples seen against fixed-batch AdaGrad-Norm (MLP);
* AutoLRS beats a tuned constant rate (Jin et al. 2021: 1.22-1.5x) -- SGD with momentum, MLP,
  steps to target counting the search steps;
* the largest good learning rate scales linearly with the batch size for SGD and as its square
  root for Adam (Granziol et al. 2022) -- tuned rate at batch 16, 64, 256 (MLP);
* full-batch gradient descent sharpens to the edge of stability, gamma lambda_max -> 2
  (Cohen et al. 2021) -- MLP on 256 samples, sharpness logged every 10 steps;
* stiffness of residual features per block (StepNet view) -- a 4-block residual MLP, at
  initialisation and after training;
* per-step cost against pytorch-optimizer's implementations (same process, interleaved,
  median of repeats).

Run:  .venv/bin/python benchmarks/optim.py [--quick]
Writes benchmarks/results/optim.json and benchmarks/results/optim.png (torch at one thread).
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stepsize.optim import (  # noqa: E402
    SGDP,
    AdaGradNorm,
    AdamP,
    AdaptiveBatchSampler,
    AutoLRS,
    DiffGrad,
    EXAdam,
    SharpnessMonitor,
    residual_stiffness,
    scaling_exponent,
    top_hessian_eigenvalue,
)

RESULTS = ROOT / "benchmarks" / "results"
SEEDS = (0, 1, 2, 3, 4)
TUNE_SEED = 100
TUNE_SEEDS = (100, 101)
TARGET = {"mlp": 0.97, "cnn": 0.97}
OPTIMIZERS = {
    "SGD": (lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9), (0.01, 0.03, 0.1, 0.3)),
    "Adam": (lambda p, lr: torch.optim.Adam(p, lr=lr), (1e-3, 3e-3, 1e-2, 3e-2)),
    "DiffGrad": (lambda p, lr: DiffGrad(p, lr=lr), (1e-3, 3e-3, 1e-2, 3e-2)),
    "AdamP": (lambda p, lr: AdamP(p, lr=lr), (1e-3, 3e-3, 1e-2, 3e-2)),
    "SGDP": (lambda p, lr: SGDP(p, lr=lr, momentum=0.9), (0.01, 0.03, 0.1, 0.3)),
    "EXAdam": (lambda p, lr: EXAdam(p, lr=lr), (1e-3, 3e-3, 1e-2, 3e-2)),
    "EXAdam-v1": (lambda p, lr: EXAdam(p, lr=lr, version=1), (3e-4, 1e-3, 3e-3, 1e-2)),
    "AdaGradNorm": (lambda p, lr: AdaGradNorm(p, lr=lr), (0.3, 1.0, 3.0, 10.0)),
}


def load_digits():
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    X = (d.data / 16.0).astype(np.float32)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-3)
    perm = np.random.default_rng(0).permutation(len(X))
    X, y = torch.tensor(X[perm]), torch.tensor(d.target[perm])
    return {
        "train": (X[:1200], y[:1200]),
        "val": (X[1200:1437], y[1200:1437]),
        "test": (X[1437:], y[1437:]),
    }


def make_model(kind, seed):
    torch.manual_seed(seed)
    if kind == "mlp":
        return torch.nn.Sequential(
            torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)
        )
    return torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)),
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1),
        torch.nn.BatchNorm2d(16),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 10),
    )


@torch.no_grad()
def accuracy(model, data):
    model.eval()
    X, y = data
    acc = float((model(X).argmax(dim=1) == y).float().mean())
    model.train()
    return acc


def batches(n, batch, seed):
    g = torch.Generator().manual_seed(seed)
    while True:
        perm = torch.randperm(n, generator=g)
        for i in range(0, n - batch + 1, batch):
            yield perm[i : i + batch]


def train(kind, make_opt, lr, seed, data, steps, *, batch=32, eval_every=10, split="test"):
    """One run: accuracy every ``eval_every`` steps; steps and time to the target."""
    model = make_model(kind, seed)
    opt = make_opt(model.parameters(), lr)
    X, y = data["train"]
    it = batches(len(X), batch, seed)
    curve, hit, wall = [], None, 0.0
    for k in range(1, steps + 1):
        idx = next(it)
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(X[idx]), y[idx])
        loss.backward()
        opt.step()
        wall += time.perf_counter() - t0
        if not math.isfinite(float(loss.detach())):
            break
        if k % eval_every == 0:
            acc = accuracy(model, data[split])
            curve.append(acc)
            if hit is None and acc >= TARGET[kind]:
                hit = (k, wall)
    final = accuracy(model, data[split])
    return {
        "curve": curve,
        "steps_to_target": hit[0] if hit else None,
        "time_to_target": hit[1] if hit else None,
        "final": final,
        "wall": wall,
    }


def _summary(values):
    """Median and range over seeds; a seed that never reached the target counts as infinity
    (so the median exists while more than half reach it); ``values`` are kept per seed."""
    vals = [math.inf if v is None else float(v) for v in values]
    med = float(np.median(vals))
    finite = [v for v in vals if math.isfinite(v)]
    return {
        "median": med if math.isfinite(med) else None,
        "min": min(finite) if finite else None,
        "max": max(vals) if all(map(math.isfinite, vals)) else None,
        "reached": len(finite),
        "per_seed": [None if v is None else v for v in values],
    }


def compare_optimizers(data, steps):
    out = {}
    for kind in ("mlp", "cnn"):
        out[kind] = {}
        for name, (make, grid) in OPTIMIZERS.items():
            tune = {
                lr: [train(kind, make, lr, s, data, steps, split="val") for s in TUNE_SEEDS]
                for lr in grid
            }
            lr = min(
                grid,
                key=lambda v: (
                    sum(r["steps_to_target"] or math.inf for r in tune[v]),
                    -sum(r["final"] for r in tune[v]),
                ),
            )
            runs = [train(kind, make, lr, s, data, steps) for s in SEEDS]
            out[kind][name] = {
                "lr": lr,
                "tuning": {
                    str(k): {
                        "val_steps_to_target": [r["steps_to_target"] for r in v],
                        "val_final": [r["final"] for r in v],
                    }
                    for k, v in tune.items()
                },
                "edge_of_grid": lr in (grid[0], grid[-1]),
                "steps_to_target": _summary([r["steps_to_target"] for r in runs]),
                "time_to_target": _summary([r["time_to_target"] for r in runs]),
                "final_accuracy": _summary([r["final"] for r in runs]),
                "mean_curve": np.mean(
                    [r["curve"] for r in runs if len(r["curve"]) == steps // 10], axis=0
                ).tolist(),
            }
            row = out[kind][name]
            print(
                f"{kind} {name:11s} lr={lr:<7g} steps->target {row['steps_to_target']}"
                f" final {row['final_accuracy']['median']:.4f}",
                flush=True,
            )
    return out


def _ratio(a, b):
    return None if a is None or b is None else a / b


def _paired(cmp, kind, a, b):
    """Seeds (same initialisation and batch order for both) on which ``a`` reaches the target
    in fewer steps than ``b``, ties, and losses; a seed that never reaches counts as infinity."""
    sa = [math.inf if v is None else v for v in cmp[kind][a]["steps_to_target"]["per_seed"]]
    sb = [math.inf if v is None else v for v in cmp[kind][b]["steps_to_target"]["per_seed"]]
    return {
        "wins": sum(x < y for x, y in zip(sa, sb)),
        "ties": sum(x == y for x, y in zip(sa, sb)),
        "losses": sum(x > y for x, y in zip(sa, sb)),
    }


def _grid_best(row):
    """A view free of the tuning pick: the fewest validation steps to the target over the lr
    grid (mean over the tuning seeds; a seed that never reaches counts as infinity)."""
    best = min(
        np.mean([math.inf if v is None else v for v in t["val_steps_to_target"]])
        for t in row["tuning"].values()
    )
    return float(best) if math.isfinite(best) else None


def _versus(cmp, kind, a, b):
    """``a`` against ``b`` on ``kind``: median step ratio, paired seeds, final-accuracy gap.
    Holds when ``a`` is faster on the median and on most seeds and not less accurate."""
    ra = cmp[kind][a]["steps_to_target"]["median"]
    rb = cmp[kind][b]["steps_to_target"]["median"]
    r = _ratio(ra, rb)
    pair = _paired(cmp, kind, a, b)
    diff = cmp[kind][a]["final_accuracy"]["median"] - cmp[kind][b]["final_accuracy"]["median"]
    grid = _ratio(_grid_best(cmp[kind][a]), _grid_best(cmp[kind][b]))
    return {
        "steps_ratio": r,
        "paired_seeds": pair,
        "final_accuracy_diff": diff,
        "grid_best_val_steps_ratio": grid,
        "holds": r is not None and r < 1.0 and pair["wins"] > pair["losses"] and diff >= -0.005,
    }


def claims(cmp, adaptive, autolrs, scaling, sharp):
    out = {}
    for kind in ("mlp", "cnn"):
        out[f"exadam_faster_than_adam_{kind}"] = _versus(cmp, kind, "EXAdam", "Adam")
        out[f"exadam_v1_faster_than_adam_{kind}"] = _versus(cmp, kind, "EXAdam-v1", "Adam")
        out[f"diffgrad_better_than_adam_{kind}"] = _versus(cmp, kind, "DiffGrad", "Adam")
    out["adamp_helps_normalised_cnn"] = _versus(cmp, "cnn", "AdamP", "Adam")
    out["sgdp_helps_normalised_cnn"] = _versus(cmp, "cnn", "SGDP", "SGD")
    out["adamp_on_mlp_no_scale_invariance"] = _versus(cmp, "mlp", "AdamP", "Adam")
    fixed = adaptive["fixed_small"]["steps_to_target"]["median"]
    for test in ("norm", "inner_product"):
        ad = adaptive[test]["steps_to_target"]["median"]
        out[f"adaptive_batch_fewer_steps_{test}"] = {
            "steps_ratio_vs_fixed_small": _ratio(ad, fixed),
            "samples_ratio_vs_fixed_small": _ratio(
                adaptive[test]["samples_to_target"]["median"],
                adaptive["fixed_small"]["samples_to_target"]["median"],
            ),
            "holds": ad is not None and fixed is not None and ad < fixed,
        }
    r = _ratio(
        autolrs["tuned_constant"]["steps_to_target"]["median"],
        autolrs["autolrs"]["steps_to_target"]["median"],
    )
    out["autolrs_speedup_vs_tuned_constant"] = {
        "speedup": r,
        "paper": [1.22, 1.5],
        "holds": r is not None and r > 1.0,
        "final_accuracy": {k: autolrs[k]["final_accuracy"]["median"] for k in autolrs},
    }
    for name, paper in (("SGD", 1.0), ("Adam", 0.5)):
        row = scaling[name]
        out[f"lr_scaling_{name.lower()}"] = {
            "exponent_16_256": row["exponent"],
            "exponent_16_64": row["exponent_16_64"],
            "paper": paper,
            "holds": abs(row["exponent"] - paper) <= 0.25,
        }
    # At or past the edge (c >= 1) GD should hover at 2; below it, sharpen towards 2.
    edges = {run["c"]: run["edge"] for run in sharp["runs"]}
    hover = [float(np.median(e[len(e) // 2 :])) for c, e in edges.items() if c >= 1.0]
    rising = [e[-1] > e[0] for c, e in edges.items() if c < 1.0]
    out["edge_of_stability"] = {
        "median_late_gamma_lambda_max_at_or_past_edge": hover,
        "sharpening_below_edge": rising,
        "holds": all(1.8 <= h <= 2.3 for h in hover) and all(rising),
    }
    return out


def adaptive_batches(data, steps):
    """AdaGrad-Norm with fixed batches (8, 128) against the norm and inner-product tests
    (start 8, eta = theta = 0.5), MLP, lr tuned for the fixed batch of 8."""
    X, y = data["train"]

    def run(seed, mode, lr):
        model = make_model("mlp", seed)
        opt = AdaGradNorm(model.parameters(), lr=lr)
        start = 128 if mode == "fixed_large" else 8
        test = mode if mode in ("norm", "inner_product") else "norm"
        sampler = AdaptiveBatchSampler(
            len(X), start, test=test, eta=0.5, theta=0.5, max_batch_size=len(X), seed=seed
        )
        hit, seen, k, sizes = None, 0, 0, []
        while k < steps and hit is None:
            for idx in sampler:
                if len(idx) < 2:
                    continue
                xb, yb = X[idx], y[idx]
                opt.zero_grad()
                if mode in ("norm", "inner_product"):
                    sampler.backward(model, F.cross_entropy, xb, yb)
                else:
                    F.cross_entropy(model(xb), yb).backward()
                opt.step()
                k += 1
                seen += len(idx)
                sizes.append(len(idx))
                if k % 5 == 0 and accuracy(model, data["test"]) >= TARGET["mlp"]:
                    hit = (k, seen)
                if k >= steps or hit is not None:
                    break
        return {
            "steps": hit[0] if hit else None,
            "samples": hit[1] if hit else None,
            "final_batch": sizes[-1],
            "final": accuracy(model, data["test"]),
        }

    grid = (0.3, 1.0, 3.0)
    lr = max(grid, key=lambda v: run(TUNE_SEED, "fixed_small", v)["final"])
    out = {"lr": lr}
    for mode in ("fixed_small", "fixed_large", "norm", "inner_product"):
        runs = [run(s, mode, lr) for s in SEEDS]
        out[mode] = {
            "steps_to_target": _summary([r["steps"] for r in runs]),
            "samples_to_target": _summary([r["samples"] for r in runs]),
            "final_batch": [r["final_batch"] for r in runs],
            "final_accuracy": _summary([r["final"] for r in runs]),
        }
        print(
            f"adaptive {mode:13s} steps {out[mode]['steps_to_target']['median']} samples "
            f"{out[mode]['samples_to_target']['median']} batch {out[mode]['final_batch']}",
            flush=True,
        )
    return out


def autolrs_vs_constant(data, steps, sgd_lr):
    """SGD(momentum 0.9) on the MLP: AutoLRS over [1e-3, 1] (tau = 200, so tau' = 20 steps per
    candidate) against the tuned constant rate.  Steps to target count every optimizer step,
    search included, and the target is checked only outside the search (whose states are
    discarded)."""
    X, y = data["train"]

    def run(seed, auto):
        model = make_model("mlp", seed)
        opt = torch.optim.SGD(model.parameters(), lr=sgd_lr, momentum=0.9)
        sched = (
            AutoLRS(opt, model, 1e-3, 1.0, tau=200, n_candidates=10, seed=seed) if auto else None
        )
        it = batches(len(X), 32, seed)
        hit = None
        for k in range(1, steps + 1):
            idx = next(it)
            opt.zero_grad()
            loss = F.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step(float(loss.detach()))
            searching = sched is not None and sched.searching  # its states are discarded
            if (
                hit is None
                and not searching
                and k % 10 == 0
                and accuracy(model, data["test"]) >= TARGET["mlp"]
            ):
                hit = k
        lrs = [s.lr for s in sched.history if math.isfinite(s.lr)] if sched else [sgd_lr]
        return hit, accuracy(model, data["test"]), lrs

    out = {}
    for label, auto in (("tuned_constant", False), ("autolrs", True)):
        runs = [run(s, auto) for s in SEEDS]
        out[label] = {
            "steps_to_target": _summary([r[0] for r in runs]),
            "final_accuracy": _summary([r[1] for r in runs]),
            "stage_lrs": [r[2] for r in runs],
        }
        print(f"autolrs {label}: {out[label]['steps_to_target']}", flush=True)
    return out


def lr_scaling(data, epochs=5):
    """Best learning rate (training loss after ``epochs`` epochs: the optimisation question the
    rule answers) at batch 16, 64, 256, on a grid of ratio 10^(1/6)."""
    X, y = data["train"]
    out = {}
    for name, make, grid in (
        ("SGD", lambda p, lr: torch.optim.SGD(p, lr=lr), np.geomspace(0.01, 10.0, 19)),
        ("Adam", lambda p, lr: torch.optim.Adam(p, lr=lr), np.geomspace(1e-4, 1e-1, 19)),
    ):
        best = {}
        for batch in (16, 64, 256):
            losses = {}
            for lr in grid:
                model = make_model("mlp", TUNE_SEED)
                opt = make(model.parameters(), float(lr))
                it = batches(len(X), batch, TUNE_SEED)
                for _ in range(epochs * len(X) // batch):
                    idx = next(it)
                    opt.zero_grad()
                    F.cross_entropy(model(X[idx]), y[idx]).backward()
                    opt.step()
                with torch.no_grad():
                    v = float(F.cross_entropy(model(X), y))
                losses[float(lr)] = v if math.isfinite(v) else math.inf
            best[batch] = min(losses, key=losses.get)
        out[name] = {
            "best_lr": {str(b): v for b, v in best.items()},
            "exponent": scaling_exponent(list(best), list(best.values())),
            "exponent_16_64": scaling_exponent([16, 64], [best[16], best[64]]),
        }
        print(f"scaling {name}: {out[name]}", flush=True)
    return out


def sharpening(data, steps=500):
    """Full-batch GD on 256 training samples, MSE on one-hot labels (Cohen et al.'s set-up),
    tanh MLP; lr = c * 2 / lambda_max(init) for c = 0.5, 1, 1.5; gamma lambda_max every 25
    steps."""
    X, y = data["train"][0][:256], data["train"][1][:256]
    Y = F.one_hot(y, 10).float()

    def net():
        torch.manual_seed(0)
        return torch.nn.Sequential(
            torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10)
        )

    def mse(model):
        return 0.5 * ((model(X) - Y) ** 2).sum(dim=1).mean()

    model0 = net()
    lam0 = top_hessian_eigenvalue(lambda: mse(model0), model0, tol=1e-4, max_iter=200).value
    runs = []
    for c in (0.5, 1.0, 1.5):
        model = net()
        lr = c * 2.0 / lam0
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        mon = SharpnessMonitor(
            model, lambda model=model: mse(model), opt, every=25, tol=1e-3, max_iter=50
        )
        for _ in range(steps):
            opt.zero_grad()
            mse(model).backward()
            opt.step()
            mon.step()
        runs.append(
            {
                "c": c,
                "lr": lr,
                "step": mon.log.step,
                "edge": mon.log.edge,
                "secant_max": float(max(mon.log.secant)),
                "final_loss": float(mse(model).detach()),
            }
        )
        print(
            f"sharpness lr={lr:.3f}: gamma*lambda_max {mon.log.edge[0]:.2f} -> "
            f"{mon.log.edge[-1]:.2f}",
            flush=True,
        )
    return {"lambda_max_init": lam0, "runs": runs}


class _Block(torch.nn.Module):
    def __init__(self, width):
        super().__init__()
        self.f = torch.nn.Sequential(
            torch.nn.Linear(width, width), torch.nn.Tanh(), torch.nn.Linear(width, width)
        )

    def forward(self, x):
        return x + self.f(x)


def residual_blocks(data, steps=600):
    """Per-block h * lambda_hat (median over test samples) of a 4-block residual MLP."""
    torch.manual_seed(0)
    stem, blocks = torch.nn.Linear(64, 32), [_Block(32) for _ in range(4)]
    model = torch.nn.Sequential(stem, *blocks, torch.nn.Linear(32, 10))
    X, y = data["train"]

    def profile():
        with torch.no_grad():
            s = residual_stiffness([b.f for b in blocks], stem(data["test"][0]))
        return np.median(s, axis=1).tolist()

    before = profile()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    it = batches(len(X), 32, 0)
    for _ in range(steps):
        idx = next(it)
        opt.zero_grad()
        F.cross_entropy(model(X[idx]), y[idx]).backward()
        opt.step()
    after = profile()
    print(f"residual stiffness before {before} after {after}", flush=True)
    return {"before": before, "after": after, "test_accuracy": accuracy(model, data["test"])}


def peer_timing(data, repeats=7, steps=40):
    """ms per optimizer step on the CNN, ours against pytorch-optimizer, interleaved."""
    try:
        import pytorch_optimizer as po
    except ImportError:
        return None
    pairs = {
        "DiffGrad": (DiffGrad, po.DiffGrad),
        "AdamP": (AdamP, po.AdamP),
        "SGDP": (SGDP, po.SGDP),
        "EXAdam": (EXAdam, po.EXAdam),
    }
    X, y = data["train"][0][:32], data["train"][1][:32]
    model = make_model("cnn", 0)
    F.cross_entropy(model(X), y).backward()
    out = {}
    for name, (ours, theirs) in pairs.items():
        times = {"stepsize": [], "pytorch_optimizer": []}
        opts = {
            "stepsize": ours(model.parameters(), lr=1e-4),
            "pytorch_optimizer": theirs(model.parameters(), lr=1e-4),
        }
        for label in opts:  # warm-up
            opts[label].step()
        for _ in range(repeats):
            for label, opt in opts.items():
                t0 = time.perf_counter()
                for _ in range(steps):
                    opt.step()
                times[label].append((time.perf_counter() - t0) / steps * 1e3)
        med = {k: float(np.median(v)) for k, v in times.items()}
        out[name] = {
            "ms_per_step": med,
            "ratio_peer_over_stepsize": med["pytorch_optimizer"] / med["stepsize"],
        }
        print(f"timing {name}: {out[name]}", flush=True)
    return out


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 3, figsize=(15, 8.5))
    for j, kind in enumerate(("mlp", "cnn")):
        for name, row in result["optimizers"][kind].items():
            c = row["mean_curve"]
            ax[0, j].plot(np.arange(1, len(c) + 1) * 10, c, label=f"{name} ({row['lr']:g})")
        ax[0, j].axhline(TARGET[kind], color="k", lw=0.5)
        ax[0, j].set(
            title=f"{kind.upper()} on digits: mean test accuracy (5 seeds)",
            xlabel="optimizer step",
            ylim=(0.8, 1.0),
        )
        ax[0, j].legend(fontsize=7)
    ad = result["adaptive_batch"]
    for mode, row in ad.items():
        if mode == "lr" or row["steps_to_target"]["median"] is None:
            continue
        ax[0, 2].scatter(
            row["samples_to_target"]["median"], row["steps_to_target"]["median"], label=mode
        )
    ax[0, 2].set(
        title=f"AdaGrad-Norm to {TARGET['mlp']:.0%}: steps vs samples seen",
        xlabel="samples seen",
        ylabel="optimizer steps",
        xscale="log",
        yscale="log",
    )
    ax[0, 2].legend(fontsize=8)
    for run in result["sharpness"]["runs"]:
        ax[1, 0].plot(run["step"], run["edge"], label=f"lr {run['lr']:.3f}")
    ax[1, 0].axhline(2.0, color="k", ls="--", lw=0.8)
    ax[1, 0].set(title="full-batch GD: gamma * lambda_max (2 = edge of stability)", xlabel="step")
    ax[1, 0].legend(fontsize=8)
    for name, row in result["lr_scaling"].items():
        b = [int(k) for k in row["best_lr"]]
        ax[1, 1].loglog(
            b, list(row["best_lr"].values()), "o-", label=f"{name}: slope {row['exponent']:.2f}"
        )
    ax[1, 1].set(title="best learning rate vs batch size", xlabel="batch size")
    ax[1, 1].legend(fontsize=8)
    rs = result["residual_stiffness"]
    ax[1, 2].plot(range(1, 5), rs["before"], "o-", label="initialisation")
    ax[1, 2].plot(range(1, 5), rs["after"], "o-", label="trained")
    ax[1, 2].axhline(2.0, color="k", ls="--", lw=0.8)
    ax[1, 2].set(title="residual block stiffness h * lambda_hat (median)", xlabel="block")
    ax[1, 2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument(
        "--claims-only",
        action="store_true",
        help="re-evaluate the claims and the plot from the saved JSON",
    )
    args = parser.parse_args(argv)
    if args.claims_only:
        path = RESULTS / "optim.json"
        result = json.loads(path.read_text())
        result["claims"] = claims(
            result["optimizers"],
            result["adaptive_batch"],
            result["autolrs"],
            result["lr_scaling"],
            result["sharpness"],
        )
        path.write_text(json.dumps(result, indent=1))
        plot(result, RESULTS / "optim.png")
        for k, v in result["claims"].items():
            print(f"{k}: {v}")
        return 0
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    data = load_digits()
    steps = 150 if args.quick else 400
    cmp = compare_optimizers(data, steps)
    adaptive = adaptive_batches(data, steps)
    auto = autolrs_vs_constant(data, 2 * steps, cmp["mlp"]["SGD"]["lr"])
    scaling = lr_scaling(data, epochs=1 if args.quick else 5)
    sharp = sharpening(data, steps=100 if args.quick else 500)
    resid = residual_blocks(data, steps=steps)
    timing = peer_timing(data)
    result = {
        "setup": {
            "data": "sklearn digits, 1200/237/360",
            "seeds": list(SEEDS),
            "steps": steps,
            "batch": 32,
            "target": TARGET,
            "threads": 1,
            "torch": torch.__version__,
        },
        "optimizers": cmp,
        "adaptive_batch": adaptive,
        "autolrs": auto,
        "lr_scaling": scaling,
        "sharpness": sharp,
        "residual_stiffness": resid,
        "peer_timing": timing,
    }
    result["claims"] = claims(cmp, adaptive, auto, scaling, sharp)
    result["setup"]["wall_s"] = time.perf_counter() - t0
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "optim-quick" if args.quick else "optim"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1))
    plot(result, RESULTS / f"{name}.png")
    for k, v in result["claims"].items():
        print(f"{k}: {v}")
    print(f"wall {result['setup']['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
