"""Figures for the command line and benchmarks: samples per schedule and the chosen steps
(drawn with :mod:`stepsize._figure`, matplotlib's object API)."""

import numpy as np

from stepsize._figure import figure, save


def _show_samples(ax, x, title):
    if x.shape[1] == 2:
        ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.5)
        ax.set_aspect("equal")
    else:
        side = int(round(np.sqrt(x.shape[1])))
        tiles = np.clip(x[:16].reshape(-1, side, side), -1, 1)
        tiles = np.pad(tiles, ((0, 0), (1, 1), (1, 1)), constant_values=-0.5)
        side += 2
        grid = tiles.reshape(4, 4, side, side).transpose(0, 2, 1, 3).reshape(4 * side, 4 * side)
        ax.imshow(grid, cmap="gray_r", vmin=-1, vmax=1)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_comparison(path, comparison, schedules, title=""):
    """PNG with the samples of each schedule (and the teacher's) and a strip of their steps."""
    names = list(schedules)
    cols = len(names) + 1
    fig = figure(figsize=(2.0 * cols, 4.2))
    grid = fig.add_gridspec(2, cols, height_ratios=[2, 1])
    errors = {r["schedule"]: r["error"] for r in comparison.rows}
    for i, name in enumerate(names):
        _show_samples(
            fig.add_subplot(grid[0, i]),
            comparison.samples[name],
            f"{name}\nerror {errors[name]:.3g}",
        )
    _show_samples(fig.add_subplot(grid[0, -1]), comparison.reference, "teacher")
    ax = fig.add_subplot(grid[1, :])
    for row, name in enumerate(names):
        t = np.asarray(schedules[name])
        ax.plot(t, np.full_like(t, row), "|-", markersize=12)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("t (0 = noise, 1 = data)")
    ax.set_xlim(-0.02, 1.02)
    fig.suptitle(title)
    return save(fig, path)
