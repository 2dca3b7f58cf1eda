"""Spatio-temporal action detection head (AVA protocol), as the official VideoMAE / InternVideo detector.

The official ViT detector (``modeling_finetune.VisionTransformer.forward_features`` of
MCG-NJU/VideoMAE-Action-Detection, the code InternVideo's AVA results build on):

1. encoder tokens ``[B, N, C]`` after the final LayerNorm are laid out as ``[B, C, t, h, w]`` and **averaged
   over time** into a 2-D map ``[B, C, h, w]`` (:func:`time_pooled_map`);
2. ``RoIAlign`` of the person boxes of the key frame on that map (``7 x 7``, ``spatial_scale = 1 / patch``,
   ``sampling_ratio = 0``, legacy ``aligned=False``) -> ``[K, C, 7, 7]``;
3. **max pooling** over the ``7 x 7`` cells -> ``[K, C]``;
4. one linear layer -> action logits ``[K, A]``, trained with ``binary_cross_entropy_with_logits`` (multi-label)
   against the ground-truth boxes' multi-hot labels; at test time the scores are ``sigmoid(logits)`` times the
   box score (1 for given boxes), and the boxes are first grown by ``(0.1, 0.05)``
   (:func:`~internvideo_core.data.boxes.extend_boxes`).

Kit deviations, stated: the official backbone has a final ``norm`` LayerNorm; the kit's mean-pooling ViT has
``fc_norm`` instead, so :class:`ActionDetector` owns a LayerNorm initialised from the encoder's ``fc_norm``.
The official training jitters boxes (``random_aug``); the kit's recipe leaves boxes as given.
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

__all__ = ["time_pooled_map", "RoIActionHead", "ActionDetector", "ava_bce_loss"]


def time_pooled_map(tokens: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
    """Tokens ``[B, t*h*w, C]`` in (t, h, w) order -> the time-averaged map ``[B, C, h, w]``."""
    t, h, w = grid
    if tokens.dim() != 3 or tokens.shape[1] != t * h * w:
        raise ValueError(f"expected tokens [B, {t * h * w}, C] for grid {grid}, got shape {tuple(tokens.shape)}")
    return rearrange(tokens, "b (t h w) c -> b c t h w", t=t, h=h, w=w).mean(dim=2)


class RoIActionHead(nn.Module):
    """RoIAlign + spatial pooling + dropout + linear: ``forward(feature_map, boxes) -> logits [K, A]``.

    Args:
        in_dim: channels ``C`` of the map. num_classes: actions ``A``. resolution: RoIAlign output size (7).
        spatial_scale: map cells per input pixel (``1 / patch_size``). sampling_ratio: RoIAlign samples per
            bin (0 = adaptive, official). pool: ``"max"`` (official) or ``"avg"``. dropout: before the linear.

    ``feature_map [B, C, h, w]``; ``boxes``: a list of ``B`` pixel boxes ``[K_b, 4]`` (x1, y1, x2, y2, in the
    network input's pixels) or one ``[K, 5]`` tensor ``(batch index, x1, y1, x2, y2)``.
    """

    def __init__(self, in_dim: int, num_classes: int, resolution: int = 7, spatial_scale: float = 1 / 16,
                 sampling_ratio: int = 0, pool: str = "max", dropout: float = 0.0) -> None:
        super().__init__()
        if pool not in ("max", "avg"):
            raise ValueError(f"pool must be 'max' or 'avg', got {pool!r}")
        self.resolution, self.spatial_scale, self.sampling_ratio, self.pool = (
            resolution, spatial_scale, sampling_ratio, pool)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_dim, num_classes)
        nn.init.trunc_normal_(self.fc.weight, std=0.02)
        nn.init.zeros_(self.fc.bias)

    def roi_features(self, feature_map: torch.Tensor,
                     boxes: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """Pooled box features ``[K, C]``."""
        from torchvision.ops import roi_align

        if not torch.is_tensor(boxes):
            boxes = [b.to(feature_map.dtype) for b in boxes]
        else:
            boxes = boxes.to(feature_map.dtype)
        cells = roi_align(feature_map, boxes, output_size=self.resolution, spatial_scale=self.spatial_scale,
                          sampling_ratio=self.sampling_ratio, aligned=False)      # [K, C, r, r]
        return cells.amax(dim=(2, 3)) if self.pool == "max" else cells.mean(dim=(2, 3))

    def forward(self, feature_map: torch.Tensor, boxes: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.roi_features(feature_map, boxes)))


class ActionDetector(nn.Module):
    """A kit video encoder + :class:`RoIActionHead`.

    ``encoder`` must provide ``forward_tokens(x) -> [B, N, C]`` and ``config.grid`` / ``config.patch_size``
    (every kit ViT does). ``forward(x [B, 3, T, H, W], boxes) -> logits [K, A]`` with ``boxes`` as in
    :class:`RoIActionHead` (pixels of ``x``); :meth:`feature_map` gives the ``[B, C, h, w]`` map.
    """

    def __init__(self, encoder: nn.Module, num_classes: int, **head_kwargs) -> None:
        super().__init__()
        self.encoder = encoder
        cfg = encoder.config
        dim = cfg.embed_dim
        fc_norm = getattr(encoder, "fc_norm", None)
        # official: LayerNorm on the tokens; from the encoder's fc_norm when it has one (see module docstring)
        self.norm = copy.deepcopy(fc_norm) if isinstance(fc_norm, nn.LayerNorm) else nn.LayerNorm(dim, eps=1e-6)
        if isinstance(getattr(encoder, "norm", None), nn.LayerNorm):
            self.norm = nn.Identity()  # the encoder already ends with the official norm
        head_kwargs.setdefault("spatial_scale", 1.0 / cfg.patch_size)
        self.head = RoIActionHead(dim, num_classes, **head_kwargs)
        self.num_classes = num_classes

    def get_num_layers(self) -> int:
        """Encoder depth (for layer-wise lr decay; ``encoder.`` names follow the official layer ids)."""
        return self.encoder.get_num_layers()

    def no_weight_decay(self) -> set[str]:
        return {f"encoder.{n}" for n in getattr(self.encoder, "no_weight_decay", lambda: set())()}

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W] -> [B, C, h, w]`` (normed tokens averaged over time)."""
        return time_pooled_map(self.norm(self.encoder.forward_tokens(x)), self.encoder.config.grid)

    def forward(self, x: torch.Tensor, boxes: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        return self.head(self.feature_map(x), boxes)


def ava_bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Multi-label BCE over boxes ``[K, A]`` (mean over every entry), the official AVA training loss.

    The official script multiplies this mean by the number of boxes in the batch (``outputs.shape[0]``); the kit
    returns the plain mean (pass the factor yourself to reproduce that scale).
    """
    return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))
