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


def train_unet(kind, steps=6000, *, batch=64, lr=2e-3, seed=0, log_every=500):
    """Train the ``kind`` ("ddpm" or "flow") UNet on the upscaled digits with Adam and a cosine
    learning rate; returns ``(net, meta)`` with the settings and the final mean loss."""
    if kind not in SCHEDULER_CONFIGS:
        raise ValueError(f"kind: unknown {kind!r}; known: ddpm, flow")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = make_unet()
    data = digit_images()
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    abar = torch.cumprod(1 - betas, 0).float()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.05)
    start, recent = time.perf_counter(), []
    for step in range(steps):
        idx = torch.randint(0, len(data), (batch,), generator=gen)
        x = data[idx]
        loss = _loss(net, x, kind, abar, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        recent = (recent + [loss.item()])[-200:]
        if log_every and (step + 1) % log_every == 0:
            print(
                f"{kind} step {step + 1}: loss {np.mean(recent):.4f} "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    meta = {
        "model": kind,
        "steps": steps,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "final_loss": float(np.mean(recent)),
        "seconds": time.perf_counter() - start,
    }
    return net.eval(), meta


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
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    net, meta = train_unet(args.kind, args.steps, seed=args.seed)
    save_unet(args.out, net, args.kind, **meta)
    print(f"wrote {args.out}: {meta}")


if __name__ == "__main__":
    main()
