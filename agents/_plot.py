"""The Pareto plot of an :class:`agents.Evaluation` (drawn with :mod:`stepsize._figure`)."""

import numpy as np

from stepsize._figure import figure, save


def pareto_plot(ev, path):
    """Left: median integrator steps vs median final |dE/E0| (quartile bars) of every fixed value
    (labelled, their Pareto front drawn) and of the policy; right: the policy's actions."""
    fig = figure(figsize=(11, 4.5))
    ax, bx = fig.subplots(1, 2, width_ratios=(2, 1))
    for runs, v in zip(ev.fixed, ev.values):
        _point(ax, runs, "o", "tab:blue")
        xy = (np.median(runs["steps"]), np.median(runs["energy_error"]))
        ax.annotate(f"{v:.0e}", xy, textcoords="offset points", xytext=(4, 4), fontsize=7)
    front = np.array(ev.pareto()["front"])
    label = f"fixed {ev.parameter} (Pareto front)"
    ax.plot(front[:, 0], front[:, 1], "-", color="tab:blue", alpha=0.5, label=label)
    _point(ax, ev.policy, "*", "tab:red", ms=14, label="policy")
    ax.set(
        xscale="log",
        yscale="log",
        title=ev.label,
        xlabel="integrator steps (median, quartiles)",
        ylabel="final |dE/E0| (median, quartiles)",
    )
    ax.legend(fontsize=8)
    counts = ev.action_counts or [0] * len(ev.values)
    bx.bar(range(len(counts)), counts, color="tab:red")
    bx.set(
        xlabel=f"action ({ev.parameter} index)",
        ylabel="policy decisions",
        xticks=range(len(counts)),
    )
    return save(fig, path, dpi=120)


def _point(ax, runs, marker, color, ms=7, label=None):
    s, e = runs["steps"], runs["energy_error"]
    xm, ym = np.median(s), np.median(e)
    xerr = [[xm - np.percentile(s, 25)], [np.percentile(s, 75) - xm]]
    yerr = [[ym - np.percentile(e, 25)], [np.percentile(e, 75) - ym]]
    ax.errorbar(
        xm,
        ym,
        xerr=xerr,
        yerr=yerr,
        fmt=marker,
        color=color,
        ms=ms,
        alpha=0.8,
        label=label,
        capsize=2,
        lw=0.8,
    )
