"""Model files: save and load small networks; the checkpoints shipped with the package.

A model file is a ``torch.save`` of ``{"kind", "config", "state_dict", "meta"}`` that
``torch.load(..., weights_only=True)`` reads back. The shipped files (2.1 MB in all) were made
with these commands (seed 0; CPU, torch 2.13) and copied from ``DIR``::

    stepsize flow train digits-classifier --out DIR
    stepsize flow train moons,8gaussians,checkerboard --steps 20000 --workers 1 --out DIR
    stepsize flow train digits --steps 20000 --out DIR
    python -m stepsize.flow._unet ddpm --steps 1200 --out DIR/digits16-ddpm.pt
    python -m stepsize.flow._unet flow --steps 1200 --out DIR/digits16-flow.pt

(the same settings as ``stepsize flow train digits16-ddpm,digits16-flow --steps 1200 --out
DIR``, which also keeps a resumable ``DIR/NAME.ckpt``).
Each file's ``meta`` records its training settings and final loss; the classifier's test
accuracy on a held-out fifth of the digits is 0.978.
"""

from pathlib import Path

import torch

from stepsize._errors import UsageError
from stepsize.flow._model import DigitsClassifier, VelocityMLP

PRETRAINED = (
    "moons",
    "8gaussians",
    "checkerboard",
    "digits",
    "digits-classifier",
    "digits16-ddpm",
    "digits16-flow",
)
"""Names accepted by :func:`pretrained`."""

_KINDS = {"velocity": VelocityMLP, "classifier": DigitsClassifier}
_DIR = Path(__file__).parent / "pretrained"


def save_model(path, model, **meta):
    """Write ``model`` (a :class:`VelocityMLP` or :class:`DigitsClassifier`) to ``path``."""
    kind = {VelocityMLP: "velocity", DigitsClassifier: "classifier"}.get(type(model))
    if kind is None:
        raise TypeError(
            f"model must be a VelocityMLP or DigitsClassifier, got {type(model).__name__}"
        )
    state = {k: v.detach().cpu().float().clone() for k, v in model.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"kind": kind, "config": dict(model.config), "state_dict": state, "meta": meta}, path
    )


def load_model(path):
    """Read a file of :func:`save_model`; the model is returned in eval mode, ``.meta`` attached.

    A file that is not one (text, truncated, empty, another network) raises
    :class:`stepsize.UsageError` naming it.
    """
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        if not Path(path).is_file():
            raise
        raise UsageError(f"model file {str(path)!r} cannot be read (truncated?): {exc}") from exc
    except Exception as exc:  # torch reports a damaged file as EOFError, UnpicklingError, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise UsageError(
            f"model file {str(path)!r} is not a stepsize model file ({type(exc).__name__}: {first})"
        ) from exc
    if isinstance(doc, dict) and doc.get("kind") == "unet":
        from stepsize.flow._unet import load_unet

        return load_unet(doc)
    if not isinstance(doc, dict) or doc.get("kind") not in _KINDS:
        raise UsageError(f"model file {str(path)!r} is not a stepsize model file")
    try:
        model = _KINDS[doc["kind"]](**doc["config"])
        model.load_state_dict(doc["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise UsageError(f"model file {str(path)!r} holds a damaged model: {exc}") from exc
    model.meta = doc.get("meta", {})
    return model.eval()


def pretrained(name):
    """A model shipped with the package: a flow for ``moons``, ``8gaussians``, ``checkerboard``,
    ``digits``, the ``digits-classifier`` whose features the Frechet distance uses, or the
    16x16 digits UNets ``digits16-ddpm`` (epsilon DDPM) and ``digits16-flow`` (rectified flow),
    returned as :class:`stepsize.flow.DiffusersModel` (they need diffusers)."""
    if name not in PRETRAINED:
        raise UsageError(f"model: unknown {name!r}; known: {', '.join(PRETRAINED)}")
    return load_model(_DIR / f"{name}.pt")
