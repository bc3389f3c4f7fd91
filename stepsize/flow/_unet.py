"""Image models trained here with diffusers' own ``UNet2DModel``: an epsilon-prediction DDPM
and a rectified flow on scikit-learn's digits upscaled to 16x16 (no downloads).

The DDPM uses diffusers' ``DDPMScheduler`` defaults (linear betas 1e-4 to 0.02 on 1000 steps)
and the loss ``||eps - net(sqrt(abar) x + sqrt(1 - abar) eps, k)||^2`` (Ho et al. 2020); the flow
the rectified-flow loss ``||(noise - x) - net((1 - s) x + s noise, 1000 s)||^2`` of diffusers'
``FlowMatchEulerDiscreteScheduler`` (``s = 1 - t`` uniform). Both are sampled through
:class:`stepsize.flow.DiffusersModel`.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from stepsize._atomic import check_same_config, load_checkpoint, save_checkpoint
from stepsize.flow._data import load_data

IMAGE_SIZE = 16

UNET_CONFIG = {
    "sample_size": IMAGE_SIZE,
    "in_channels": 1,
    "out_channels": 1,
    "block_out_channels": [16, 32],
    "layers_per_block": 1,
    "down_block_types": ["DownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "UpBlock2D"],
    "norm_num_groups": 8,
}
"""The small UNet of both models (164k parameters; stored in float16, 0.33 MB a file)."""

SCHEDULER_CONFIGS = {
    "ddpm": {
        "_class_name": "DDPMScheduler",
        "num_train_timesteps": 1000,
        "beta_schedule": "linear",
        "beta_start": 0.0001,
        "beta_end": 0.02,
        "prediction_type": "epsilon",
    },
    "flow": {
        "_class_name": "FlowMatchEulerDiscreteScheduler",
        "num_train_timesteps": 1000,
        "shift": 1.0,
    },
}
"""Scheduler configs the models were trained with (the model file stores them too)."""


def digit_images(n=None, seed=0):
    """The digits as ``(n, 1, 16, 16)`` float32 images in [-1, 1] (bilinear 2x upscaling)."""
    x = torch.as_tensor(load_data("digits", n, seed), dtype=torch.float32).reshape(-1, 1, 8, 8)
    return torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def downscale(images):
    """16x16 images back to the 8x8 digits' pixels (2x2 means), flattened: the input of the
    shipped digits classifier, whose features the Frechet distance uses."""
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    x = x.reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE).float()
    return torch.nn.functional.avg_pool2d(x, 2).reshape(len(x), -1)


def make_unet():
    """A fresh ``UNet2DModel`` of :data:`UNET_CONFIG`."""
    from diffusers import UNet2DModel

    return UNet2DModel(**UNET_CONFIG)


def _loss(net, x, kind, abar, gen):
    noise = torch.randn(x.shape, generator=gen)
    if kind == "ddpm":
        k = torch.randint(0, len(abar), (len(x),), generator=gen)
        a = abar[k].reshape(-1, 1, 1, 1)
        xt = a.sqrt() * x + (1 - a).sqrt() * noise
        return torch.mean((net(xt, k).sample - noise) ** 2)
    s = torch.rand(len(x), generator=gen).reshape(-1, 1, 1, 1)
    xt = (1 - s) * x + s * noise
    return torch.mean((net(xt, 1000.0 * s.reshape(-1)).sample - (noise - x)) ** 2)


def train_unet(
    kind,
    steps=6000,
    *,
    batch=64,
    lr=2e-3,
    seed=0,
    log_every=500,
    checkpoint=None,
    checkpoint_every=250,
):
    """Train the ``kind`` ("ddpm" or "flow") UNet on the upscaled digits with Adam and a
    one-cycle learning rate (5% warm-up, cosine decay); returns ``(net, meta)`` with the settings
    and the mean loss of the last 200 steps.

    With ``checkpoint`` (a path) the state (weights, Adam, learning-rate schedule, generator,
    recent losses) is saved atomically every ``checkpoint_every`` steps and at the end, and a
    run that finds it continues from it with results identical to an uninterrupted run; a
    checkpoint of another run (kind, steps, batch, lr or seed) is refused with what differs.
    """
    if kind not in SCHEDULER_CONFIGS:
        raise ValueError(f"kind: unknown {kind!r}; known: ddpm, flow")
    for name, v in (("steps", steps), ("batch", batch), ("checkpoint_every", checkpoint_every)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not (isinstance(lr, (int, float)) and 0 < lr < np.inf):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = make_unet()
    gen = torch.Generator().manual_seed(seed)
    data = digit_images()
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    abar = torch.cumprod(1 - betas, 0).float()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.05)
    run = {"model": kind, "steps": steps, "batch": batch, "lr": float(lr), "seed": int(seed)}
    path = None if checkpoint is None else Path(checkpoint)
    step, recent, seconds = 0, [], 0.0
    if path is not None:
        state = load_checkpoint(path, _checked_state)
        if state is not None:
            check_same_config(path, state["run"], run)
            net.load_state_dict(state["net"])
            opt.load_state_dict(state["opt"])
            sched.load_state_dict(state["sched"])
            gen.set_state(state["gen"])
            step, recent, seconds = state["step"], list(state["recent"]), state["seconds"]

    def save():
        state = {
            "run": run,
            "net": net.state_dict(),
            "opt": opt.state_dict(),
            "sched": sched.state_dict(),
            "gen": gen.get_state(),
            "step": step,
            "recent": recent,
            "seconds": seconds + time.process_time() - start,
        }
        save_checkpoint(path, lambda fh: torch.save(state, fh))

    start = time.process_time()
    net.train()
    while step < steps:
        idx = torch.randint(0, len(data), (batch,), generator=gen)
        loss = _loss(net, data[idx], kind, abar, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        recent = (recent + [loss.item()])[-200:]
        if log_every and step % log_every == 0:
            print(
                f"{kind} step {step}: loss {np.mean(recent):.4f} "
                f"({seconds + time.process_time() - start:.0f} CPU-s)",
                flush=True,
            )
        if path is not None and (step % checkpoint_every == 0 or step == steps):
            save()
    meta = {
        **run,
        "final_loss": float(np.mean(recent)),
        "cpu_seconds": seconds + time.process_time() - start,
    }
    return net.eval(), meta


def _checked_state(fh):
    state = torch.load(fh, map_location="cpu", weights_only=True)
    missing = {"run", "net", "opt", "sched", "gen", "step", "recent", "seconds"} - set(state)
    if missing:
        raise KeyError(f"not a train_unet checkpoint (no {', '.join(sorted(missing))})")
    return state


def save_unet(path, net, kind, **meta):
    """Write a trained UNet with its scheduler config; weights in float16 (the file format of
    :func:`stepsize.flow.save_model`, kind "unet")."""
    state = {k: v.detach().cpu().half().clone() for k, v in net.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "kind": "unet",
        "config": dict(UNET_CONFIG),
        "state_dict": state,
        "scheduler": dict(SCHEDULER_CONFIGS[kind]),
        "meta": meta,
    }
    torch.save(doc, path)


def load_unet(doc):
    """The :class:`stepsize.flow.DiffusersModel` of a loaded "unet" model file (float32)."""
    from diffusers import UNet2DModel

    from stepsize.flow._adapters import DiffusersModel

    net = UNet2DModel(**doc["config"])
    net.load_state_dict({k: v.float() for k, v in doc["state_dict"].items()})
    model = DiffusersModel(net.eval(), doc["scheduler"])
    model.meta = doc.get("meta", {})
    return model


def main(argv=None):
    """``python -m stepsize.flow._unet ddpm|flow --steps N --out FILE`` (one torch thread)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("kind", choices=sorted(SCHEDULER_CONFIGS))
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--checkpoint", default=None, help="resumable checkpoint file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    net, meta = train_unet(args.kind, args.steps, seed=args.seed, checkpoint=args.checkpoint)
    save_unet(args.out, net, args.kind, **meta)
    print(f"wrote {args.out}: {meta}")


if __name__ == "__main__":
    main()
