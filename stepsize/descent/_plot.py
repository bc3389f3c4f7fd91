"""Figure of a sweep: one row per method, columns loss, gradient norm, accuracy, ``h * lambda``.

Uses matplotlib's object API with the Agg canvas, so no global backend is touched.  It reads
the runs it is given and imports nothing of the sweep, so :mod:`._sweep` alone imports it.
"""

import numpy as np


def plot_sweep(sweep, path, methods, edge_of_stability):
    """``sweep.runs[(method, gamma)]`` for each of ``methods`` and ``sweep.gammas``, with the
    line ``h * lambda = edge_of_stability``, saved to ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(17, 7.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(methods), 4, sharex=True)
    colors = _colors(len(sweep.gammas))
    for row, method in enumerate(methods):
        loss, grad, acc, edge = axes[row]
        top = edge_of_stability
        for gamma, color in zip(sweep.gammas, colors):
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
    fig.savefig(path, dpi=110)


_FLOOR = 1e-20  # loss and gradient norms below this (underflow far past separation) are cut off
_CEILING = 1e12  # h * lambda above this (overflowed beta_t of Normalized LR+GD) is cut off


def _colors(k):
    from matplotlib import colormaps

    return [colormaps["viridis"](x) for x in np.linspace(0.0, 0.9, k)]


def _positive(x, floor=_FLOOR, ceiling=np.inf):
    """Values outside ``[floor, ceiling]`` and non-finite values are not drawn on a log axis."""
    x = np.asarray(x, dtype=float)
    return np.where(np.isfinite(x) & (x >= floor) & (x <= ceiling), x, np.nan)
