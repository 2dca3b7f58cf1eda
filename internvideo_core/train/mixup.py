"""Mixup / CutMix for video batches: timm's ``Mixup`` with ONE box shared by every frame.

timm's ``Mixup`` expects images ``[B, C, H, W]``: on a video ``[B, C, T, H, W]`` its cutmix would slice the
time and height axes as if they were height and width. :class:`VideoMixup` folds time into channels
(``b c t h w -> b (c t) h w``), calls timm, and unfolds, so the box covers the same pixels in all frames
and ``lam`` is the kept-area fraction, as in image CutMix. Randomness comes from ``numpy.random`` (timm),
which the training checkpoints save and restore.
"""
from __future__ import annotations

import torch
from einops import rearrange
from timm.data import Mixup

__all__ = ["VideoMixup"]


class VideoMixup:
    """``(video [B, C, T, H, W], labels [B]) -> (mixed video, soft targets [B, num_classes])``.

    Arguments are those of ``timm.data.Mixup`` (``mixup_alpha``, ``cutmix_alpha``, ``cutmix_minmax``, ``prob``,
    ``switch_prob``, ``mode``, ``label_smoothing``, ``num_classes``). ``B`` must be even (use drop_last).
    """

    def __init__(self, **timm_kwargs) -> None:
        self.mixup = Mixup(**timm_kwargs)

    def __call__(self, video: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if video.ndim != 5:
            raise ValueError(f"VideoMixup expects [B, C, T, H, W], got shape {tuple(video.shape)}")
        if video.shape[0] % 2:
            raise ValueError(f"mixup needs an even batch size, got {video.shape[0]}; use drop_last=True")
        c = video.shape[1]
        flat = rearrange(video, "b c t h w -> b (c t) h w").clone()
        flat, target = self.mixup(flat, target)
        return rearrange(flat, "b (c t) h w -> b c t h w", c=c), target
