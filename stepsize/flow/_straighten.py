"""BOSS stage 2: fine-tune the velocity model on the chosen steps ("straightening").

Nguyen et al. (ICLR 2024, arXiv 2312.16414, Sec. 4): with teacher states ``x_{t_k}`` at the
schedule's times (from the same noise), minimise over the network

    mean_{k, b} || v(x_{t_k}, t_k) - (x_{t_{k+1}} - x_{t_k}) / (t_{k+1} - t_k) ||^2,

so that one Euler step from ``x_{t_k}`` lands on the teacher's ``x_{t_{k+1}}``.
"""

import copy
import math

import numpy as np
import torch

from stepsize.flow._plan import make_noise
from stepsize.flow._sample import reference
from stepsize.flow._train import TrainResult
from stepsize.schedules import check_schedule


def _loss(model, xs, targets, times, k, b):
    t = torch.as_tensor(times, dtype=xs.dtype)[k]
    return torch.mean((model(xs[k, b], t) - targets[k, b]) ** 2)


def straighten(
    model,
    schedule,
    *,
    n_pairs=4096,
    steps=2000,
    batch=256,
    lr=1e-4,
    seed=0,
    n_teacher=1000,
    shape=None,
):
    """A fine-tuned copy of ``model`` whose Euler steps over ``schedule`` follow its teacher.

    Teacher pairs come from ``n_pairs`` noise samples (seeded) solved accurately
    (:func:`reference`, ``n_teacher`` Heun steps); Adam with a cosine-decayed rate for ``steps``
    minibatches of ``batch`` random (pair, step) examples. ``stats`` holds the loss over all pairs
    before and after.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    times = check_schedule(schedule)
    steps, batch = int(steps), int(batch)
    if steps < 1 or batch < 1 or not lr > 0:
        raise ValueError("steps, batch and lr must be > 0")
    noise = make_noise(model, n_pairs, seed, shape)
    states = reference(model, noise, n_teacher, "heun", at=times)
    dt = torch.as_tensor(np.diff(times), dtype=states.dtype).reshape(-1, *[1] * (states.ndim - 1))
    xs, targets = states[:-1], (states[1:] - states[:-1]) / dt
    n_k = len(times) - 1
    all_k = torch.arange(n_k).repeat_interleave(len(noise))
    all_b = torch.arange(len(noise)).repeat(n_k)
    student = copy.deepcopy(model)
    with torch.no_grad():
        before = _loss(student, xs, targets, times, all_k, all_b).item()
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, steps) / steps))
    )
    gen = torch.Generator().manual_seed(int(seed) + 1)
    student.train()
    losses = []
    for _ in range(steps):
        k = torch.randint(n_k, (batch,), generator=gen)
        b = torch.randint(len(noise), (batch,), generator=gen)
        loss = _loss(student, xs, targets, times, k, b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    student.eval()
    with torch.no_grad():
        after = _loss(student, xs, targets, times, all_k, all_b).item()
    stats = {
        "pairs": len(noise),
        "steps": steps,
        "loss_before": before,
        "loss_after": after,
        "schedule": times.tolist(),
    }
    return TrainResult(student, np.array(losses), stats)
