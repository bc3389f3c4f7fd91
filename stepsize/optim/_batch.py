"""Adaptive batch sizes from the norm test and the inner-product test (AdAdaGrad).

Lau, Liu & Kolar, "AdAdaGrad: Adaptive Batch Size Schemes for Adaptive Gradient Methods"
(arXiv 2402.11215; code timlautk/AdAdaGrad).  With per-sample gradients ``g_i`` (i in the batch
B, ``|B| = b``) and the batch gradient ``g = mean_i g_i``:

* norm test (Byrd, Chin, Nocedal & Wu 2012): the batch is large enough if
  ``sum_j Var_i(g_ij) / b <= eta^2 ||g||^2``; the next batch size is
  ``b_next = max(b, ceil(sum_j Var_i(g_ij) / (eta^2 ||g||^2)))``;
* inner-product test (Bollapragada, Byrd & Nocedal 2018):
  ``Var_i(<g_i, g>) / b <= theta^2 ||g||^4``; ``b_next = max(b, ceil(Var_i(<g_i, g>) /
  (theta^2 ||g||^4)))``.

``Var_i`` is the unbiased sample variance (``correction=1``), as in the authors' ``tests.py``.
The batch size never decreases.  AdAdaGrad-Norm is :class:`~stepsize.optim.AdaGradNorm` fed by
these batches; the same companion drives any optimizer.
"""

import math
from dataclasses import dataclass, field

import torch
from torch.func import functional_call, grad, vmap

from stepsize.optim._validate import check_choice, check_count, check_positive

TESTS = ("norm", "inner_product")


@dataclass(frozen=True)
class BatchTest:
    """Outcome of one test: ``passed``; ``next_batch_size``; ``statistic`` (the variance sum, or
    the inner-product variance); ``grad_norm_sq`` = ``||g||^2``; ``batch_size`` tested."""

    passed: bool
    next_batch_size: int
    statistic: float
    grad_norm_sq: float
    batch_size: int


def _flatten(per_sample):
    """``(b, P)`` from a dict or list of per-sample gradient tensors with leading dim ``b``."""
    parts = list(per_sample.values()) if isinstance(per_sample, dict) else list(per_sample)
    if not parts:
        raise ValueError("per_sample_grads is empty")
    b = parts[0].shape[0]
    if b < 2:
        raise ValueError(f"the batch tests need at least 2 samples, got {b}")
    return torch.cat([t.detach().reshape(b, -1).to(torch.float64) for t in parts], dim=1)


def norm_test(per_sample_grads, eta):
    """The norm test on per-sample gradients (dict/list of ``(b, ...)`` tensors)."""
    eta = check_positive(eta, "eta")
    G = _flatten(per_sample_grads)
    b = G.shape[0]
    g = G.mean(dim=0)
    var_sum = float(G.var(dim=0, correction=1).sum())
    gn2 = float(g @ g)
    return _verdict(var_sum, eta**2 * gn2, b, gn2)


def inner_product_test(per_sample_grads, theta):
    """The inner-product test on per-sample gradients."""
    theta = check_positive(theta, "theta")
    G = _flatten(per_sample_grads)
    b = G.shape[0]
    g = G.mean(dim=0)
    gn2 = float(g @ g)
    var_ip = float((G @ g).var(correction=1))
    return _verdict(var_ip, theta**2 * gn2**2, b, gn2)


def _verdict(statistic, bound, b, gn2):
    """Passed if ``statistic / b <= bound``; else the smallest batch that would pass
    (``-1`` when the gradient is exactly zero but the samples disagree: no batch passes)."""
    if bound == 0.0:
        need = b if statistic == 0.0 else math.inf
    else:
        need = statistic / bound
    passed = need <= b
    nxt = b if passed else (math.ceil(need) if math.isfinite(need) else -1)
    return BatchTest(passed, nxt, statistic, gn2, b)


def per_sample_gradients(model, loss_fn, inputs, targets):
    """``({name: (b, *p.shape)}, losses)``: per-sample gradients of ``loss_fn(output, target)``
    with ``torch.func`` (``vmap`` over ``grad``).  Models must not mix samples (no batch norm in
    training mode)."""
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def one(p, x, y):
        out = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        loss = loss_fn(out, y.unsqueeze(0))
        return loss, loss

    grads, losses = vmap(grad(one, has_aux=True), in_dims=(None, 0, 0))(params, inputs, targets)
    return grads, losses


@dataclass
class BatchHistory:
    """Per optimizer step: the batch size used, the samples seen so far, the test verdict."""

    batch_size: list = field(default_factory=list)
    samples: list = field(default_factory=list)
    passed: list = field(default_factory=list)


class AdaptiveBatchSampler(torch.utils.data.Sampler):
    """A batch sampler whose batch size grows when the norm / inner-product test fails.

    Use it as ``DataLoader(dataset, batch_sampler=sampler)`` (``num_workers=0``, so that each
    batch is drawn after the previous update) and replace ``loss.backward()`` by
    ``sampler.backward(model, loss_fn, x, y)``: it computes per-sample gradients, writes their
    mean into ``p.grad`` (the usual batch gradient, so any optimizer -- SGD, AdaGrad,
    :class:`~stepsize.optim.AdaGradNorm`, Adam, ... -- can step), runs the test and sets the
    next batch size.  Or call :meth:`observe` with per-sample gradients computed elsewhere.

    Each epoch is a fresh permutation of ``range(n)`` drawn from ``seed``; batches take the
    current size, the last one what is left.  ``max_batch_size`` (default ``n``) caps growth.
    """

    def __init__(
        self, n, batch_size, *, test="norm", eta=0.5, theta=0.5, max_batch_size=None, seed=0
    ):
        self.n = check_count(n, "n", 2)
        self.batch_size = check_count(batch_size, "batch_size", 2)
        self.test = check_choice(test, "test", TESTS)
        self.eta = check_positive(eta, "eta")
        self.theta = check_positive(theta, "theta")
        cap = self.n if max_batch_size is None else check_count(max_batch_size, "max_batch_size", 2)
        if cap < self.batch_size:
            raise ValueError(f"max_batch_size ({cap}) must be >= batch_size ({self.batch_size})")
        self.max_batch_size = cap
        self.generator = torch.Generator().manual_seed(seed)
        self.history = BatchHistory()
        self._seen = 0

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator).tolist()
        start = 0
        while start < self.n:
            stop = min(start + self.batch_size, self.n)
            yield order[start:stop]
            start = stop

    def observe(self, per_sample_grads):
        """Run the test on one batch's per-sample gradients; update and return the verdict."""
        if self.test == "norm":
            verdict = norm_test(per_sample_grads, self.eta)
        else:
            verdict = inner_product_test(per_sample_grads, self.theta)
        self._seen += verdict.batch_size
        self.history.batch_size.append(verdict.batch_size)
        self.history.samples.append(self._seen)
        self.history.passed.append(verdict.passed)
        if not verdict.passed:
            grow = self.max_batch_size if verdict.next_batch_size < 0 else verdict.next_batch_size
            self.batch_size = max(self.batch_size, min(grow, self.max_batch_size))
        return verdict

    def backward(self, model, loss_fn, inputs, targets):
        """Per-sample gradients of ``loss_fn`` (mean reduction over a batch of one); their mean
        goes to ``p.grad`` (accumulated like ``loss.backward()``); returns the mean loss."""
        grads, losses = per_sample_gradients(model, loss_fn, inputs, targets)
        named = dict(model.named_parameters())
        for name, g in grads.items():
            p = named[name]
            mean = g.mean(dim=0)
            p.grad = mean if p.grad is None else p.grad + mean
        self.observe(grads)
        return losses.mean().detach()

    def state_dict(self):
        return {
            "batch_size": self.batch_size,
            "generator": self.generator.get_state(),
            "seen": self._seen,
        }

    def load_state_dict(self, state):
        self.batch_size = int(state["batch_size"])
        self.generator.set_state(state["generator"])
        self._seen = int(state["seen"])
