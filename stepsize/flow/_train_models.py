"""Train one model per data set, as independent jobs (local processes or a Dask cluster)."""

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

TRAINABLE = (
    "moons",
    "8gaussians",
    "checkerboard",
    "digits",
    "digits-classifier",
    "digits16-ddpm",
    "digits16-flow",
)
UNETS = {"digits16-ddpm": "ddpm", "digits16-flow": "flow"}
"""The 16x16 digits UNets (:func:`stepsize.flow._unet.train_unet`) by name, and their kind."""


def check_names(names):
    """``names`` as a list, each one of :data:`TRAINABLE`; ValueError otherwise."""
    names = list(names)
    if not names:
        raise ValueError("give at least one data set")
    for name in names:
        if name not in TRAINABLE:
            raise ValueError(f"unknown {name!r}; known: {', '.join(TRAINABLE)}")
    return names


def _train_one(options, name):
    from stepsize.flow._train import TrainResult, train_classifier, train_flow

    if name == "digits-classifier":
        return train_classifier(seed=options["seed"])
    kw = {k: v for k, v in options.items() if k != "checkpoint_dir" and v is not None}
    directory = options["checkpoint_dir"]
    checkpoint = None if directory is None else str(Path(directory) / f"{name}.ckpt")
    if name in UNETS:
        from stepsize.flow._unet import train_unet

        extra = sorted(set(kw) & {"hidden", "depth"})
        if extra:
            raise ValueError(f"{name} is a UNet of fixed size: {', '.join(extra)} do not apply")
        net, meta = train_unet(UNETS[name], **kw, checkpoint=checkpoint, log_every=0)
        return TrainResult(net, np.array([meta["final_loss"]]), {"data": name, **meta})
    return train_flow(name, **kw, checkpoint=checkpoint)


@dataclass
class TrainedModels:
    """The :class:`TrainResult` of each data set, by name, in the order trained."""

    results: dict

    def rows(self):
        return [{**r.stats, "data": name} for name, r in self.results.items()]

    def to_dict(self):
        return {"models": self.rows()}

    def table(self):
        lines = [f"{'data':18} {'steps':>6} {'final loss':>11} {'parameters':>10}"]
        for r in self.rows():
            extra = f"  test accuracy {r['test_accuracy']:.3f}" if "test_accuracy" in r else ""
            lines.append(
                f"{r['data']:18} {r['steps']:6d} {r['final_loss']:11.4f} "
                f"{r.get('parameters', '')!s:>10}{extra}"
            )
        return "\n".join(lines)

    def save(self, out):
        """``out/NAME.pt`` for every model (:func:`save_model`); returns the paths."""
        from stepsize.flow._pretrained import save_model
        from stepsize.flow._unet import save_unet

        paths = []
        for name, r in self.results.items():
            paths.append(Path(out) / f"{name}.pt")
            if name in UNETS:
                save_unet(paths[-1], r.model, UNETS[name], **r.stats)
            else:
                save_model(paths[-1], r.model, **r.stats)
        return paths


def train_models(names, *, seed=0, checkpoint_dir=None, map=None, **options):
    """Train a velocity MLP (:func:`train_flow`, given ``options`` such as ``steps``, ``batch``,
    ``lr``, ``hidden``, ``depth``; None takes its default) for each data set of ``names``, the
    digits classifier for "digits-classifier" (:func:`train_classifier`, given ``seed`` only),
    or a 16x16 digits UNet for "digits16-ddpm" and "digits16-flow"
    (:func:`stepsize.flow._unet.train_unet`, given ``steps``, ``batch`` and ``lr``).

    With ``checkpoint_dir`` each flow run keeps a resumable ``checkpoint_dir/NAME.ckpt``.  The
    runs are independent jobs computed through ``map`` (default: one after the other here; pass
    a :class:`stepsize.parallel.Runner`'s ``map`` for processes or Dask).
    """
    names = check_names(names)
    directory = None if checkpoint_dir is None else str(checkpoint_dir)
    job = partial(_train_one, {**options, "seed": seed, "checkpoint_dir": directory})
    results = (map or _serial_map)(job, names)
    return TrainedModels(dict(zip(names, results)))


def _serial_map(fn, items):
    return [fn(item) for item in items]
