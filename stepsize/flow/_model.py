"""Small torch networks: a velocity MLP ``v(x, t)`` and a digits classifier for features."""

import math

import torch
from torch import nn


def _mlp(sizes):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.SiLU()]
    return nn.Sequential(*layers[:-1])


class VelocityMLP(nn.Module):
    """Velocity field ``v(x, t)`` of a flow, an MLP on ``[x, t, sin(pi k t), cos(pi k t)]``.

    Parameters
    ----------
    dim : int
        State dimension (``x`` has shape ``(B, dim)``).
    hidden, depth : int
        Width and number of hidden layers.
    n_freq : int
        Frequencies ``k = 1 .. n_freq`` of the time features.
    """

    def __init__(self, dim, hidden=128, depth=3, n_freq=8):
        super().__init__()
        self.config = {"dim": dim, "hidden": hidden, "depth": depth, "n_freq": n_freq}
        self.dim = dim
        self.register_buffer("freqs", math.pi * torch.arange(1, n_freq + 1, dtype=torch.float32))
        self.net = _mlp([dim + 1 + 2 * n_freq] + [hidden] * depth + [dim])

    def forward(self, x, t):
        """``x``: ``(B, dim)``; ``t``: a number or a tensor of shape ``(B,)``."""
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).reshape(-1, 1).expand(len(x), 1)
        arg = t * self.freqs.to(x.dtype)
        return self.net(torch.cat([x, t, torch.sin(arg), torch.cos(arg)], dim=1))


class DigitsClassifier(nn.Module):
    """MLP classifier of 8x8 digits in [-1, 1]; :meth:`features` is its last hidden layer."""

    def __init__(self, dim=64, hidden=(128, 64), n_classes=10):
        super().__init__()
        self.config = {"dim": dim, "hidden": list(hidden), "n_classes": n_classes}
        self.body = nn.Sequential(_mlp([dim, *hidden]), nn.SiLU())
        self.head = nn.Linear(hidden[-1], n_classes)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.body(x))
