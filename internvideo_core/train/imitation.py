"""Behaviour cloning of an expert (imitation learning) for recurrent policies over whole episodes.

    from internvideo_core.train.imitation import ImitationConfig, behaviour_cloning
    result = behaviour_cloning(policy, loader, ImitationConfig(epochs=8, base_lr=1e-3))

``loader`` yields dicts (padded episodes): ``"video"`` clips ``[B, L, 3, T, H, W]``, ``"text"`` instruction
tokens ``[B, Lt]``, ``"label"`` expert actions ``[B, L]`` and ``"mask"`` ``[B, L]`` bool (True = a real step).
The policy maps ``(video, text, mask) -> logits [B, L, A]``; the loss is :func:`bc_loss`, the cross-entropy of
the expert's action at every real step (padding ignored), averaged over steps. The epoch/step driver, schedule
and checkpoints are :func:`~internvideo_core.train.loop.run_training`'s.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from internvideo_core.train import distributed as D
from internvideo_core.train.config import TrainConfig
from internvideo_core.train.loop import TrainResult, resolve_device, run_training, seed_everything, setup_optimization

__all__ = ["ImitationConfig", "bc_loss", "behaviour_cloning"]


@dataclass
class ImitationConfig(TrainConfig):
    """Behaviour cloning: AdamW, warmup + cosine; ``scale_lr`` off (the lr is per step, not per 256 items)."""

    scale_lr: bool = False
    weight_decay: float = 0.01
    clip_grad: float | None = 1.0


def bc_loss(logits: torch.Tensor, actions: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the expert's actions over the real steps: ``logits [B, L, A]``, ``actions [B, L]``,
    ``valid [B, L]`` bool."""
    return F.cross_entropy(logits[valid], actions[valid])


def behaviour_cloning(policy: nn.Module, loader: Iterable, config: ImitationConfig | None = None) -> TrainResult:
    """Train ``policy`` to imitate the expert actions of ``loader`` (see the module docstring)."""
    cfg = config or ImitationConfig()
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed, D.get_rank())
    policy.to(device)
    optimizer, lr_s, wd_s, spe, _ = setup_optimization(policy, cfg, loader)

    def compute_loss(batch: Any) -> torch.Tensor:
        return bc_loss(policy(batch["video"], batch["text"], batch["mask"]), batch["label"], batch["mask"])

    return run_training(model=policy, loader=loader, optimizer=optimizer, compute_loss=compute_loss,
                        epochs=cfg.epochs, device=device, lr_schedule=lr_s, wd_schedule=wd_s,
                        precision=cfg.precision, clip_grad=cfg.clip_grad, steps_per_epoch=spe,
                        output_dir=cfg.output_dir, checkpoint_every=cfg.checkpoint_every, max_steps=cfg.max_steps,
                        config=cfg, name="imitation", progress=cfg.progress)
