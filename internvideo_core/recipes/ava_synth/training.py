"""Training the detector on the loop of :mod:`internvideo_core.train` (AdamW, warmup + cosine, layer decay),
loss :func:`~internvideo_core.models.roi_head.ava_bce_loss` on the ground-truth boxes."""
from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import AVASynthRecipe
from .data import AVASplit, KeyFrameLoader, load_ava_split
from .models import build_detector

__all__ = ["train_detector"]


def train_detector(recipe: AVASynthRecipe, seed: int = 0, train: AVASplit | None = None,
                   init: str | Path | None = None, *, progress: bool = False, log: bool = False
                   ) -> tuple[nn.Module, dict[str, Any]]:
    """Fine-tune encoder + RoI head on the training key frames (``train``; rendered here when ``None``), from
    ``init`` (a pretraining or classifier checkpoint) or from scratch. ``log``: print the training loop's line per
    epoch (off: the history holds the same numbers). Returns the model (eval mode) and
    ``{"loss", "epoch_loss", "seconds"}``."""
    from internvideo_core.models.roi_head import ava_bce_loss
    from internvideo_core.train.config import TrainConfig
    from internvideo_core.train.loop import resolve_device, run_training, setup_optimization

    r = recipe
    train = train if train is not None else load_ava_split(r, seed, "train")
    device = resolve_device("auto")
    torch.manual_seed(seed)
    model = build_detector(r, len(train.classes), init).to(device)
    loader = KeyFrameLoader(train, r, batch_size=r.batch_size, train=True, seed=seed)
    cfg = TrainConfig(epochs=r.epochs, batch_size=loader.batch_size, base_lr=r.lr, min_lr=r.min_lr,
                      warmup_epochs=r.warmup_epochs, weight_decay=r.weight_decay, seed=seed, progress=progress)
    optimizer, lr_schedule, wd_schedule, _, _ = setup_optimization(model, cfg, loader, layer_decay=r.layer_decay)

    def compute_loss(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return ava_bce_loss(model(batch["video"], batch["boxes"]), batch["labels"])

    start = time.perf_counter()
    with contextlib.nullcontext() if log else contextlib.redirect_stdout(io.StringIO()):
        result = run_training(model=model, loader=loader, optimizer=optimizer, compute_loss=compute_loss,
                              epochs=r.epochs, device=device, lr_schedule=lr_schedule, wd_schedule=wd_schedule,
                              config=cfg, name="ava", progress=progress)
    model.eval()
    return model, {"loss": list(result.losses), "epoch_loss": [e["loss"] for e in result.epochs],
                   "seconds": time.perf_counter() - start}
