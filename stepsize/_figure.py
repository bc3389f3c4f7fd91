"""The library's one path to a figure: matplotlib's object API on the Agg canvas.

Every figure of the library is a :class:`matplotlib.figure.Figure` made here and written with
:func:`save`; nothing touches pyplot's global state or calls ``matplotlib.use``, so drawing works
in scripts, notebooks and worker processes alike and never changes the user's backend.
"""


def figure(**kwargs):
    """A new ``Figure(**kwargs)`` (default ``layout="constrained"``) with an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**{"layout": "constrained", **kwargs})
    FigureCanvasAgg(fig)
    return fig


def save(fig, path, dpi=110):
    """Write ``fig`` to ``path`` (the format from its suffix) and return the path."""
    fig.savefig(path, dpi=dpi)
    return path


def colors(k, cmap="viridis"):
    """``k`` colours spread over ``cmap`` (its bright end left out, for legible lines)."""
    import numpy as np
    from matplotlib import colormaps

    return [colormaps[cmap](x) for x in np.linspace(0.0, 0.9, k)]
