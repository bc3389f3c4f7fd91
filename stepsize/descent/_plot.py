"""Figure of a sweep: one row per method, columns loss, gradient norm, accuracy, ``h * lambda``.

Drawn with :mod:`stepsize._figure` (matplotlib's object API); it reads the runs it is given and
imports nothing of the sweep, so :mod:`._sweep` alone imports it.
"""

import numpy as np

from stepsize._figure import colors, figure, save


def plot_sweep(sweep, path, methods, edge_of_stability):
    """``sweep.runs[(method, gamma)]`` for each of ``methods`` and ``sweep.gammas``, with the
    line ``h * lambda = edge_of_stability``, saved to ``path``."""
    fig = figure(figsize=(17, 7.5))
    axes = fig.subplots(len(methods), 4, sharex=True)
    palette = colors(len(sweep.gammas))
    for row, method in enumerate(methods):
        loss, grad, acc, edge = axes[row]
        top = edge_of_stability
        for gamma, color in zip(sweep.gammas, palette):
            r = sweep.runs[(method, gamma)]
            t = np.arange(r.iterations + 1)
            label = f"gamma={gamma:g}"
            loss.plot(t, _positive(r.loss), color=color, lw=1, label=label)
            grad.plot(t, _positive(r.grad_norm), color=color, lw=1)
            acc.plot(t, r.accuracy, color=color, lw=1)
            glm = r.gamma_lambda_max
            for values, style in ((glm, "-"), (r.gamma_lambda, ":")):
                if values is not None and values.size:
                    shown = _positive(values, edge_of_stability * 1e-4, _CEILING)
                    edge.plot(t[:-1], shown, color=color, lw=1, ls=style)
                    top = max(top, np.nanmax(shown, initial=0.0))
        edge.axhline(
            edge_of_stability,
            color="k",
            ls="--",
            lw=1,
            label=f"edge of stability ({edge_of_stability:g})",
        )
        for ax, title in zip(
            axes[row],
            ("logistic loss f", "||grad f||", "accuracy", "h * lambda (solid: max, dotted: hat)"),
        ):
            ax.set_title(f"{method}: {title}", fontsize=9)
            ax.set_xscale("symlog", linthresh=10)
            ax.grid(alpha=0.3)
        for ax in (loss, grad, edge):
            ax.set_yscale("log")
        edge.set_ylim(edge_of_stability * 1e-4, 3.0 * top)
        acc.set_ylim(-0.02, 1.02)
        loss.legend(fontsize=7)
        edge.legend(fontsize=7, loc="lower left")
    for ax in axes[-1]:
        ax.set_xlabel("iteration t")
    fig.suptitle(
        f"{sweep.dataset.name}: n={sweep.dataset.n}, d={sweep.dataset.d}, "
        f"mu={sweep.mu:.3g}, R={sweep.dataset.R:.3g}",
        fontsize=10,
    )
    save(fig, path)


_FLOOR = 1e-20  # loss and gradient norms below this (underflow far past separation) are cut off
_CEILING = 1e12  # h * lambda above this (overflowed beta_t of Normalized LR+GD) is cut off


def _positive(x, floor=_FLOOR, ceiling=np.inf):
    """Values outside ``[floor, ceiling]`` and non-finite values are not drawn on a log axis."""
    x = np.asarray(x, dtype=float)
    return np.where(np.isfinite(x) & (x >= floor) & (x <= ceiling), x, np.nan)
