"""Pretraining and fine-tuning of the recipe, on the loops of :mod:`internvideo_core.train`
(:func:`~internvideo_core.train.pretrain.pretrain`, :func:`~internvideo_core.train.finetune.finetune`).

    model, history = pretrain_on_synthmotion("tutorial", seed=0)              # tube masking, ratio 0.9
    path = save_pretrained(model, "tutorial")
    clf, history, metrics = finetune_on_synthmotion(init=path, profile="tutorial", seed=0)
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import VideoMAESynthRecipe, get_recipe
from .data import ClipLoader, SynthData, load_synth_data
from .evaluation import evaluate_classifier
from .models import build_classifier, build_pretrain_model

__all__ = ["pretrain_on_synthmotion", "finetune_on_synthmotion"]


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def pretrain_on_synthmotion(profile: str = "tutorial", seed: int = 0, mask: str | None = None,
                            ratio: float | None = None, *, recipe: VideoMAESynthRecipe | None = None,
                            data: SynthData | None = None, progress: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """Pretrain the recipe's masked autoencoder on the unlabelled pool.

    ``mask`` (``"tube"`` / ``"random"``) and ``ratio`` default to the recipe's (tube, 0.9). Returns the model
    (eval mode) and a history ``{"loss": per-step losses, "epoch_loss", "seconds", "mask", "ratio"}``.
    """
    from internvideo_core.train.pretrain import PretrainConfig, pretrain

    r = recipe or get_recipe(profile)
    mask = mask or r.mask_type
    ratio = r.mask_ratio if ratio is None else ratio
    data = data or load_synth_data(r, profile, seed)
    torch.manual_seed(seed)
    model = build_pretrain_model(r)
    loader = ClipLoader(data.pool, None, r, batch_size=r.pretrain_batch_size, train=True, seed=seed)
    cfg = PretrainConfig(epochs=r.pretrain_epochs, base_lr=r.pretrain_lr, min_lr=r.pretrain_lr / 100,
                         warmup_epochs=r.pretrain_warmup_epochs, weight_decay=r.pretrain_weight_decay,
                         mask_type=mask, mask_ratio=ratio, seed=seed, device=_device(), progress=progress)
    start = time.perf_counter()
    result = pretrain(model, loader, cfg)
    model.eval()
    history = {"loss": list(result.losses), "epoch_loss": [e["loss"] for e in result.epochs],
               "seconds": time.perf_counter() - start, "mask": mask, "ratio": ratio}
    return model, history


def finetune_on_synthmotion(init: str | Path | None = None, profile: str = "tutorial", seed: int = 0, *,
                            recipe: VideoMAESynthRecipe | None = None, data: SynthData | None = None,
                            progress: bool = False) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """Fine-tune a classifier on the labelled subset, from ``init`` (a pretraining checkpoint) or from scratch.

    Returns ``(model, history, metrics)``: history ``{"loss", "epoch_loss", "seconds", "load_report"}``;
    metrics of :func:`evaluate_classifier` on the test clips (single centre view).
    """
    from internvideo_core.train.finetune import FinetuneConfig, finetune

    r = recipe or get_recipe(profile)
    data = data or load_synth_data(r, profile, seed)
    torch.manual_seed(seed)
    model = build_classifier(r, len(data.classes), init)
    report = getattr(model, "load_report", None)
    loader = ClipLoader(data.train_videos, data.train_labels, r, batch_size=r.finetune_batch_size, train=True,
                        seed=seed)
    cfg = FinetuneConfig(epochs=r.finetune_epochs, base_lr=r.finetune_lr, min_lr=r.finetune_lr / 100,
                         warmup_epochs=r.finetune_warmup_epochs, weight_decay=r.finetune_weight_decay,
                         layer_decay=r.layer_decay, mixup=0.0, cutmix=0.0, smoothing=r.smoothing, seed=seed,
                         device=_device(), progress=progress)
    start = time.perf_counter()
    result = finetune(model, loader, cfg)
    seconds = time.perf_counter() - start
    model.eval()
    metrics = evaluate_classifier(model, data.test_videos, data.test_labels, r)
    history = {"loss": list(result.losses), "epoch_loss": [e["loss"] for e in result.epochs], "seconds": seconds,
               "load_report": report}
    return model, history, metrics

