"""Orbits of N-body runs in the x-y plane (drawn with :mod:`stepsize._figure`)."""

from stepsize._figure import figure, save


def plot_orbits(path, runs):
    """One panel per ``(title, result)`` in ``runs``: the x-y path of every body of a result
    integrated with ``save_every`` (its ``history``); returns ``path``."""
    fig = figure(figsize=(4.5 * len(runs), 4.2))
    for ax, (title, r) in zip(fig.subplots(1, len(runs), squeeze=False)[0], runs):
        for i in range(r.system.n_bodies):
            ax.plot(r.history.positions[:, i, 0], r.history.positions[:, i, 1], lw=0.8)
        ax.set_title(title)
        ax.set_aspect("equal", "datalim")
    return save(fig, path)
