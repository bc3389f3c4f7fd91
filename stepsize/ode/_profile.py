"""``stiffness_profile``: the stiffness estimate ``h * lambda`` along a solved trajectory."""

from dataclasses import dataclass

import numpy as np


@dataclass
class StiffnessProfile:
    """``h * lambda_hat`` for every accepted step of a solve.

    ``t`` (start of each step), ``h`` (signed step), ``h_lambda``: Hairer's estimate
    ``h ||F(Y_b) - F(Y_a)|| / ||Y_b - Y_a||`` on the explicit pair's stiff pair of stages, or
    ``h ||J||_inf`` on implicit steps; ``implicit`` marks the implicit steps; ``radius`` the
    explicit pair's stability radius on the negative real axis (``h_lambda / radius`` near 1 or
    above: the step is limited by stability, not accuracy); ``methods`` the names (explicit,
    implicit).
    """

    t: np.ndarray
    h: np.ndarray
    h_lambda: np.ndarray
    implicit: np.ndarray
    radius: float
    methods: tuple

    @property
    def ratio(self) -> np.ndarray:
        """``h_lambda / radius``: above ~1 an explicit step would be unstable."""
        return self.h_lambda / self.radius

    def intervals(self, t_end):
        """``[(t_start, t_stop, method name), ...]``: the stretches each method integrated."""
        if self.t.size == 0:
            return []
        first = bool(self.implicit[0])
        if first == bool(self.implicit[-1]) and (self.implicit.all() or not self.implicit.any()):
            return [(float(self.t[0]), float(t_end), self.methods[int(first)])]
        change = np.flatnonzero(np.diff(self.implicit.astype(np.int8))) + 1
        starts = np.concatenate(([0], change))
        stops = np.concatenate((self.t[change], [t_end]))
        return [
            (float(self.t[i]), float(b), self.methods[int(self.implicit[i])])
            for i, b in zip(starts, stops)
        ]

    def plot(self, ax=None):
        """Plot ``h * lambda / radius`` against ``t`` (log scale), implicit stretches shaded, on
        ``ax`` or a new :mod:`stepsize._figure` figure; ``t >= 0`` spanning more than three
        decades (ROBER: 1e-4 .. 1e11) goes on a log axis too."""
        from stepsize._figure import figure

        if ax is None:
            ax = figure(figsize=(7, 3.5)).subplots()
        ax.semilogy(self.t, np.maximum(self.ratio, 1e-300), ".", ms=2, label=r"$h\hat\lambda/R$")
        ax.axhline(1.0, color="k", lw=0.8, ls="--", label=f"stability radius R = {self.radius:.3g}")
        t_end = self.t[-1] + self.h[-1] if self.t.size else 0.0
        for a, b, name in self.intervals(t_end):
            if name == self.methods[1]:
                ax.axvspan(a, b, color="tab:orange", alpha=0.15, lw=0)
        later = self.t[self.t > 0]
        if self.t.size and self.t.min() >= 0 and later.size and later.max() > 1e3 * later.min():
            ax.set_xscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel(r"$h\,\hat\lambda$ / R")
        ax.set_title(f"stiffness along the solution ({self.methods[0]} / {self.methods[1]})")
        ax.legend(loc="best", fontsize=8)
        return ax


def stiffness_profile(sol, plot=False, ax=None):
    """The :class:`StiffnessProfile` of an :class:`~stepsize.ode.ODEResult` solved with
    ``profile=True`` (``plot=True`` also draws it with matplotlib on ``ax`` or a new figure)."""
    if not hasattr(sol, "profile"):
        raise TypeError(f"sol must be a result of stepsize.ode.solve, got {type(sol).__name__}")
    profile = sol.profile
    if not isinstance(profile, StiffnessProfile):
        raise ValueError("sol has no stiffness profile: solve with profile=True to record it")
    if plot:
        profile.plot(ax)
    return profile
