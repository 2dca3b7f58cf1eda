"""Training the localization head on snippet features: AdamW, linear warmup + cosine, focal + gIoU losses.

    head = TALHead(TALHeadConfig(in_dim=videos[0].feats.shape[1], num_classes=len(classes)))
    history = train_tal_head(head, videos, TALTrainConfig(epochs=30))
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Sequence

import torch
from torch import nn

from .data import TALVideo, collate, seconds_to_grid
from .targets import assign_targets, make_points, tal_losses

__all__ = ["TALTrainConfig", "batch_targets", "train_tal_head"]


@dataclasses.dataclass(frozen=True)
class TALTrainConfig:
    """``epochs`` over the videos in batches of ``batch_size``; AdamW ``lr`` / ``weight_decay`` with
    ``warmup_epochs`` of linear warmup then cosine to 0; ``reg_weight`` on the gIoU loss; ``radius``: centre
    sampling in strides; ``seed``: batch order and initialisation."""

    epochs: int = 30
    batch_size: int = 4
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 2.0
    reg_weight: float = 1.0
    radius: float = 1.5
    clip_grad: float = 1.0
    seed: int = 0


def batch_targets(videos: Sequence[TALVideo], length: int, num_levels: int, num_classes: int, radius: float
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Points ``[P, 4]`` of a padded length and the targets ``cls [B, P, C]``, ``reg [B, P, 2]`` of each video
    (its segments converted to the snippet grid with :func:`~internvideo_core.tal.data.seconds_to_grid`)."""
    points = make_points(length, num_levels)
    cls, reg = [], []
    for v in videos:
        segs = torch.as_tensor(seconds_to_grid(v.segments, v), dtype=torch.float32).reshape(-1, 2)
        c, r = assign_targets(points, segs, torch.as_tensor(v.labels), num_classes, radius)
        cls.append(c)
        reg.append(r)
    return points, torch.stack(cls), torch.stack(reg)


def train_tal_head(head: nn.Module, videos: Sequence[TALVideo], config: TALTrainConfig = TALTrainConfig(), *,
                   device: str | torch.device | None = None, progress: bool = False) -> dict[str, Any]:
    """Train ``head`` (:class:`~internvideo_core.models.tal_head.TALHead`) in place on ``videos``.

    Returns ``{"epoch_loss": [...], "epoch_cls": [...], "epoch_reg": [...], "steps", "seconds"}``.
    """
    c = config
    dev = torch.device(device) if device is not None else next(head.parameters()).device
    head.to(dev).train()
    torch.manual_seed(c.seed)
    hc = head.config
    multiple = 2 ** (hc.num_levels - 1)
    steps_per_epoch = math.ceil(len(videos) / c.batch_size)
    total, warm = c.epochs * steps_per_epoch, c.warmup_epochs * steps_per_epoch
    opt = torch.optim.AdamW(head.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(total - warm, 1))))
    g = torch.Generator().manual_seed(c.seed)
    hist: dict[str, Any] = {"epoch_loss": [], "epoch_cls": [], "epoch_reg": []}
    start = time.perf_counter()
    epochs: Any = range(c.epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="train-tal", unit="epoch")
    for _ in epochs:
        order = torch.randperm(len(videos), generator=g).tolist()
        sums = {"loss": 0.0, "cls": 0.0, "reg": 0.0}
        for b in range(0, len(order), c.batch_size):
            batch = [videos[i] for i in order[b: b + c.batch_size]]
            feats, mask = collate(batch, multiple)
            points, cls_t, reg_t = batch_targets(batch, feats.shape[-1], hc.num_levels, hc.num_classes, c.radius)
            cls_out, reg_out, masks = head(feats.to(dev), mask.to(dev))
            losses = tal_losses(torch.cat(cls_out, 1), torch.cat(reg_out, 1), torch.cat(masks, 1),
                                cls_t.to(dev), reg_t.to(dev), c.reg_weight)
            opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            if c.clip_grad:
                nn.utils.clip_grad_norm_(head.parameters(), c.clip_grad)
            opt.step()
            sched.step()
            for k in sums:
                sums[k] += float(losses[k].detach()) * len(batch)
        for k in sums:
            hist[f"epoch_{k}"].append(sums[k] / len(videos))
    head.eval()
    hist.update(steps=total, seconds=time.perf_counter() - start)
    return hist
