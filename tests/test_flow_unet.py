"""Training the 16x16 digits UNets: resumable checkpoints and ``stepsize flow train``."""

import json

import pytest
import torch

pytest.importorskip("diffusers")

from stepsize import flow  # noqa: E402
from stepsize._atomic import CheckpointError  # noqa: E402
from stepsize.cli import main  # noqa: E402
from stepsize.flow._unet import train_unet  # noqa: E402

torch.set_num_threads(1)


@pytest.mark.parametrize("kind", ["ddpm", "flow"])
def test_unet_training_resumes_bit_for_bit(tmp_path, monkeypatch, kind):
    kw = dict(batch=4, seed=3, log_every=0)
    full, meta = train_unet(kind, 6, **kw)
    ckpt = tmp_path / f"{kind}.ckpt"
    step = torch.optim.lr_scheduler.OneCycleLR.step
    calls = [0]

    def interrupted(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 6:  # the 5th optimiser step (the first call is the constructor's)
            raise KeyboardInterrupt
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.lr_scheduler.OneCycleLR, "step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_unet(kind, 6, checkpoint=ckpt, checkpoint_every=2, **kw)
    monkeypatch.undo()
    assert torch.load(ckpt, weights_only=True)["step"] == 4
    resumed, meta2 = train_unet(kind, 6, checkpoint=ckpt, checkpoint_every=2, **kw)
    for p, q in zip(full.parameters(), resumed.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert meta2["final_loss"] == meta["final_loss"] and meta2["steps"] == 6
    with pytest.raises(CheckpointError, match="lr"):
        train_unet(kind, 6, checkpoint=ckpt, lr=1e-3, **kw)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        train_unet(kind, 0)


def test_flow_train_writes_a_unet_that_loads(tmp_path, capsys):
    argv = ["flow", "train", "digits16-ddpm", "--steps", "3", "--batch", "4"]
    assert main([*argv, "--out", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (row,) = doc["models"]
    assert row["data"] == "digits16-ddpm" and row["steps"] == 3 and row["seed"] == 0
    assert (tmp_path / "digits16-ddpm.ckpt").exists()
    model = flow.load_model(tmp_path / "digits16-ddpm.pt")
    assert model.process.kind == "vp" and model.meta["batch"] == 4
    x = flow.sample(model, torch.randn(2, 1, 16, 16), [0.0, 0.5, 1.0], "dpmpp_2m")
    assert x.shape == (2, 1, 16, 16) and torch.isfinite(x).all()
    assert main([*argv, "--hidden", "8"]) == 2
    assert "--hidden: digits16-ddpm is a UNet of fixed size" in capsys.readouterr().err
