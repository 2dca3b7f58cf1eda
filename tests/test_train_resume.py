"""Exact resume (pretraining with mask generator, fine-tuning with mixup / drop path / EMA) and atomic saves."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from internvideo_core import create_model
from internvideo_core.train.checkpointing import atomic_torch_save, load_training_checkpoint, save_training_checkpoint
from internvideo_core.train.config import FinetuneConfig, PretrainConfig
from internvideo_core.train.distributed import ResumableSampler
from internvideo_core.train.finetune import finetune
from internvideo_core.train.pretrain import pretrain

TINY = dict(img_size=32, num_frames=4, embed_dim=32, depth=2, num_heads=2)


pytestmark = pytest.mark.usefixtures("one_thread")


class NoisyClips(Dataset):
    """Fixed clips plus per-item random noise from the global torch RNG (a stand-in for random augmentation)."""

    def __init__(self, n: int = 12, num_classes: int = 5) -> None:
        g = torch.Generator().manual_seed(1234)
        self.x = torch.randn(n, 3, 4, 32, 32, generator=g)
        self.y = torch.arange(n) % num_classes

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i] + 0.1 * torch.rand(1), self.y[i]


def _scramble_rngs() -> None:
    """A fresh process starts from other random states; the checkpoint must restore them all."""
    torch.manual_seed(987654)
    np.random.seed(4242)
    random.seed(77)


def _pretrain(out, *, max_steps=None, resume=None, model_seed=0, sampler=False):
    torch.manual_seed(model_seed)
    model = create_model("videomae_pretrain_tiny_synth", **TINY, decoder_embed_dim=16, decoder_depth=1,
                         decoder_num_heads=2)
    ds = NoisyClips()
    if sampler:
        loader = DataLoader(ds, batch_size=4, sampler=ResumableSampler(ds, seed=5), drop_last=True)
    else:
        loader = DataLoader(ds, batch_size=4, shuffle=True, drop_last=True)
    cfg = PretrainConfig(epochs=3, warmup_epochs=1, base_lr=1e-2, mask_ratio=0.75, output_dir=str(out),
                         checkpoint_every=2, max_steps=max_steps, progress=False, seed=3)
    if resume is not None:
        _scramble_rngs()
    return model, pretrain(model, loader, cfg, resume=resume)


@pytest.mark.parametrize("stop,sampler", [(4, False), (3, False), (5, True)])
def test_pretrain_resume_matches_uninterrupted(tmp_path, stop, sampler):
    full_model, full = _pretrain(tmp_path / "full", sampler=sampler)
    assert len(full.losses) == 9
    _, part = _pretrain(tmp_path / "part", max_steps=stop, sampler=sampler)
    assert part.losses == full.losses[:stop]
    ckpt = torch.load(tmp_path / "part" / "checkpoint.pth", weights_only=True)
    assert ckpt["step"] == stop and "mask" in ckpt["rng"][0]["step"]["generators"]
    resumed_model, rest = _pretrain(tmp_path / "part", resume=tmp_path / "part" / "checkpoint.pth", model_seed=99,
                                    sampler=sampler)
    assert rest.step == 9
    np.testing.assert_allclose(rest.losses, full.losses[stop:], rtol=0, atol=1e-6)
    for (n, a), b in zip(full_model.state_dict().items(), resumed_model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=n)


def test_pretrain_resume_without_restoring_mask_generator_differs(tmp_path, monkeypatch):
    """The mask generator state matters: dropping it from the restore changes the following losses."""
    _, full = _pretrain(tmp_path / "full")
    _pretrain(tmp_path / "part", max_steps=4)
    path = tmp_path / "part" / "checkpoint.pth"
    ckpt = torch.load(path, weights_only=True)
    for r in ckpt["rng"]:
        for key in ("step", "epoch_start"):
            r[key]["generators"]["mask"] = torch.Generator().manual_seed(0).get_state()
    torch.save(ckpt, path)
    _, rest = _pretrain(tmp_path / "part", resume=path)
    assert not np.allclose(rest.losses, full.losses[4:], atol=1e-6)


def _finetune(out, *, max_steps=None, resume=None, model_seed=0):
    torch.manual_seed(model_seed)
    model = create_model("videomae_vit_tiny_synth", **TINY, num_classes=5, drop_path_rate=0.1)
    loader = DataLoader(NoisyClips(), batch_size=4, shuffle=True, drop_last=True)
    cfg = FinetuneConfig(epochs=3, warmup_epochs=1, base_lr=0.05, layer_decay=0.75, mixup=0.8, cutmix=1.0,
                         smoothing=0.1, model_ema=True, model_ema_decay=0.9, output_dir=str(out),
                         checkpoint_every=2, max_steps=max_steps, progress=False, seed=1, clip_grad=5.0)
    if resume is not None:
        _scramble_rngs()
    return model, finetune(model, loader, cfg, resume=resume)


def test_finetune_resume_matches_uninterrupted(tmp_path):
    full_model, full = _finetune(tmp_path / "full")
    assert len(full.losses) == 9 and len(set(full.losses)) == 9
    _, part = _finetune(tmp_path / "part", max_steps=4)
    assert part.losses == full.losses[:4]
    ckpt_path = tmp_path / "part" / "checkpoint.pth"
    ema_before = torch.load(ckpt_path, weights_only=True)["ema"]
    assert ema_before is not None
    resumed_model, rest = _finetune(tmp_path / "part", resume=ckpt_path, model_seed=5)
    np.testing.assert_allclose(rest.losses, full.losses[4:], rtol=0, atol=1e-6)
    for (n, a), b in zip(full_model.state_dict().items(), resumed_model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=n)
    ema_full = torch.load(tmp_path / "full" / "checkpoint.pth", weights_only=True)["ema"]
    ema_rest = torch.load(ckpt_path, weights_only=True)["ema"]
    for k in ema_full:
        torch.testing.assert_close(ema_full[k], ema_rest[k], rtol=0, atol=1e-6, msg=k)


def test_atomic_save_keeps_previous_checkpoint_on_crash(tmp_path, monkeypatch):
    model = torch.nn.Linear(3, 2)
    path = tmp_path / "checkpoint.pth"
    save_training_checkpoint(path, model=model, step=1)
    good = path.read_bytes()
    real_save = torch.save

    def crashing_save(obj, f, *a, **k):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crashing_save)
    with torch.no_grad():
        model.weight.add_(1.0)
    with pytest.raises(OSError, match="disk full"):
        save_training_checkpoint(path, model=model, step=2)
    monkeypatch.setattr(torch, "save", real_save)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pth"]  # temporary file removed
    fresh = torch.nn.Linear(3, 2)
    ckpt = load_training_checkpoint(path, model=fresh)
    assert ckpt["step"] == 1
    assert not torch.equal(fresh.weight, model.weight)

    import os

    def crashing_replace(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crashing_replace)
    with pytest.raises(OSError, match="power cut"):
        atomic_torch_save({"x": 1}, path)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pth"]


def test_resume_refuses_other_files(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"model": {"w": torch.zeros(1)}}, path)
    with pytest.raises(ValueError, match="not a kit training checkpoint"):
        load_training_checkpoint(path)
    with pytest.raises(FileNotFoundError):
        load_training_checkpoint(tmp_path / "missing.pth")


def test_resume_with_changed_settings_warns(tmp_path):
    _pretrain(tmp_path / "part", max_steps=2)
    torch.manual_seed(0)
    model = create_model("videomae_pretrain_tiny_synth", **TINY, decoder_embed_dim=16, decoder_depth=1,
                         decoder_num_heads=2)
    loader = DataLoader(NoisyClips(), batch_size=4, shuffle=True, drop_last=True)
    cfg = PretrainConfig(epochs=3, warmup_epochs=1, base_lr=2e-2, mask_ratio=0.75, output_dir=str(tmp_path / "part"),
                         max_steps=3, progress=False, seed=3)
    with pytest.warns(UserWarning, match="base_lr: 0.01 -> 0.02"):
        pretrain(model, loader, cfg, resume=tmp_path / "part" / "checkpoint.pth")
