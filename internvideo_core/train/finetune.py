"""Supervised fine-tuning loop for video classifiers (official VideoMAE recipe).

    from internvideo_core import create_model
    from internvideo_core.train.finetune import finetune, FinetuneConfig
    model = create_model("videomae_vit_tiny_synth", num_classes=10, drop_path_rate=0.1)
    load_encoder_weights(model, "runs/pt/checkpoint.pth")      # optional: start from pretraining
    result = finetune(model, train_loader, FinetuneConfig(epochs=10, warmup_epochs=1), val_loader=val_loader)

- ``loader`` yields ``(video [B, 3, T, H, W], label [B])`` tuples or ``{"video", "label"}`` dicts.
- AdamW with layer-wise lr decay (official layer ids, :mod:`.optim`), lr scaled by total batch / 256,
  per-iteration warmup + cosine.
- Mixup / CutMix (:class:`~internvideo_core.train.mixup.VideoMixup`, one box for all frames) with
  ``SoftTargetCrossEntropy``; without mixing, ``LabelSmoothingCrossEntropy`` (smoothing > 0) or plain cross
  entropy, as the official code chooses.
- Drop path is a model config field (``create_model(..., drop_path_rate=...)``), not a loop option.
- Optional EMA of the weights (timm ``ModelEmaV3``), saved in the checkpoints.
- ``val_loader`` is evaluated with :func:`internvideo_core.train.evaluate.evaluate` (multi-view aware).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import torch
from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
from torch import nn

from internvideo_core.train import distributed as D
from internvideo_core.train.compile import maybe_compile
from internvideo_core.train.config import FinetuneConfig
from internvideo_core.train.loop import (
    TrainResult,
    resolve_device,
    run_training,
    seed_everything,
    setup_optimization,
    wrap_ddp,
)
from internvideo_core.train.mixup import VideoMixup

__all__ = ["FinetuneConfig", "finetune", "make_criterion", "make_mixup", "infer_num_classes",
           "load_encoder_weights"]


def infer_num_classes(model: nn.Module) -> int:
    """``model.num_classes``, ``model.config.num_classes`` or ``model.head.out_features``."""
    for obj in (model, getattr(model, "config", None)):
        n = getattr(obj, "num_classes", None)
        if isinstance(n, int) and n > 0:
            return n
    head = getattr(model, "head", None)
    if isinstance(head, nn.Linear):
        return head.out_features
    raise ValueError(f"cannot tell the number of classes of {type(model).__name__}; set FinetuneConfig.num_classes")


def make_mixup(cfg: FinetuneConfig, num_classes: int) -> VideoMixup | None:
    """The official rule: mixing is on when ``mixup > 0`` or ``cutmix > 0`` or ``cutmix_minmax`` is set."""
    if not (cfg.mixup > 0 or cfg.cutmix > 0 or cfg.cutmix_minmax is not None):
        return None
    return VideoMixup(mixup_alpha=cfg.mixup, cutmix_alpha=cfg.cutmix, cutmix_minmax=cfg.cutmix_minmax,
                      prob=cfg.mixup_prob, switch_prob=cfg.mixup_switch_prob, mode=cfg.mixup_mode,
                      label_smoothing=cfg.smoothing, num_classes=num_classes)


def make_criterion(cfg: FinetuneConfig, mixup_on: bool) -> nn.Module:
    """SoftTargetCrossEntropy with mixing, LabelSmoothingCrossEntropy with smoothing, else CrossEntropyLoss."""
    if mixup_on:
        return SoftTargetCrossEntropy()
    if cfg.smoothing > 0:
        return LabelSmoothingCrossEntropy(smoothing=cfg.smoothing)
    return nn.CrossEntropyLoss()


def load_encoder_weights(model: nn.Module, path: str | Path):
    """Initialise a classifier from a pretraining checkpoint, as the official fine-tuning script does.

    ``path``: a kit training ``checkpoint.pth`` of :func:`~internvideo_core.train.pretrain.pretrain` (its
    ``"model"`` entry), an official ``{"model": ...}`` pretraining file, a Hugging Face VideoMAE file or kit
    safetensors. The family converter strips ``encoder.``, drops the decoder / ``mask_token`` /
    ``encoder_to_decoder`` (and the final encoder norm with mean pooling) and leaves ``fc_norm`` / ``head``
    freshly initialised; a classifier checkpoint's head of another class count starts fresh too (reported);
    anything else missing is an error. Returns the
    :class:`~internvideo_core.checkpoint.LoadReport`.
    """
    from internvideo_core.checkpoint import load_checkpoint

    report = load_checkpoint(model, path, strict=True, new_head=True)  # a classifier of other classes: fresh head
    model.train()
    return report


def finetune(model: nn.Module, loader: Iterable, config: FinetuneConfig | None = None, *,
             val_loader: Iterable | None = None, resume: str | None = None) -> TrainResult:
    """Fine-tune a classifier (``model(video) -> logits``) on ``loader``.

    Args:
        model: a classifier; ``model.get_num_layers()`` is needed when ``layer_decay < 1``.
        loader: batches of ``(video, label)`` (see the module docstring); even batch sizes with mixup.
        config: :class:`FinetuneConfig` (official defaults; set ``epochs`` / ``warmup_epochs`` for small runs).
        val_loader: optional validation data for :func:`~internvideo_core.train.evaluate.evaluate`
            (``top1``/``top5`` join the epoch log; with EMA, the EMA weights are evaluated too).
        resume: a ``checkpoint.pth`` of an earlier run with the same config; continues exactly.

    Returns:
        :class:`~internvideo_core.train.loop.TrainResult`; ``result.epochs[i]`` holds validation metrics.
    """
    cfg = config or FinetuneConfig()
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed, D.get_rank())
    model.to(device)
    num_classes = cfg.num_classes or infer_num_classes(model)
    mixup = make_mixup(cfg, num_classes)
    criterion = make_criterion(cfg, mixup is not None)
    optimizer, lr_s, wd_s, spe, _ = setup_optimization(model, cfg, loader, layer_decay=cfg.layer_decay)
    ema = None
    if cfg.model_ema:
        from timm.utils import ModelEmaV3

        ema = ModelEmaV3(model, decay=cfg.model_ema_decay, device=device)
    engine = maybe_compile(wrap_ddp(model, device), cfg)

    def compute_loss(batch: Any) -> torch.Tensor:
        if isinstance(batch, dict):
            video, label = batch["video"], batch["label"]
        else:
            video, label = batch[0], batch[1]
        if mixup is not None:
            video, label = mixup(video, label)
        return criterion(engine(video), label)

    def after_step(step: int) -> None:
        if ema is not None:
            ema.update(model, step=step)

    end_of_epoch = None
    if val_loader is not None:
        from internvideo_core.train.evaluate import evaluate

        def end_of_epoch(epoch: int) -> dict[str, float]:
            last = epoch + 1 == cfg.epochs
            if not last and (cfg.eval_every <= 0 or (epoch + 1) % cfg.eval_every):
                return {}
            out = {k: v for k, v in evaluate(model, val_loader, device=device, precision=cfg.precision,
                                             progress=False).items() if isinstance(v, float)}
            if ema is not None:
                ema_res = evaluate(ema.module, val_loader, device=device, precision=cfg.precision, progress=False)
                out.update({f"ema_{k}": v for k, v in ema_res.items() if isinstance(v, float)})
            return out

    return run_training(model=model, loader=loader, optimizer=optimizer, compute_loss=compute_loss,
                        epochs=cfg.epochs, device=device, lr_schedule=lr_s, wd_schedule=wd_s,
                        precision=cfg.precision, clip_grad=cfg.clip_grad, steps_per_epoch=spe,
                        output_dir=cfg.output_dir, checkpoint_every=cfg.checkpoint_every, resume=resume,
                        max_steps=cfg.max_steps, ema=ema, after_step=after_step, end_of_epoch=end_of_epoch,
                        config=cfg, name="finetune", progress=cfg.progress)
