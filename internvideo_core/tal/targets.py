"""Points, target assignment, losses and decoding of the anchor-free localization head (ActionFormer's rules).

Positions are in snippet (feature-grid) units: point ``i`` of level ``l`` sits at ``t = i * 2**l``. Each level
regresses segments whose longest side ``max(t - start, end - t)`` lies in its range ``[lo_l, hi_l]`` (level 0:
``[0, 4]``, then ``[4, 8]``, ``[8, 16]``, ..., the last level up to infinity: ActionFormer's
``regression_range``). A point is a positive of a ground-truth segment when it lies inside the segment **and**
within ``radius * stride`` of its centre (centre sampling, radius 1.5), and the segment's size fits the level;
among several such segments it takes the shortest (all equally short ones: multi-label, as ActionFormer). Its
regression targets are the distances to the start and the end divided by the level stride.

Losses: sigmoid focal loss (``torchvision.ops.sigmoid_focal_loss``, alpha 0.25, gamma 2) over all valid points and
classes, and a 1-D generalised IoU loss on the positives (``torchvision.ops.generalized_box_iou_loss`` on boxes
``(-left, 0, right, 1)``: with unit height the 2-D gIoU is exactly the 1-D one; ActionFormer uses a centre-DIoU,
whose 2-D form would not reduce to 1-D). Both are divided by the number of positives in the batch (ActionFormer
smooths that count with an EMA; a plain count is enough here).
"""
from __future__ import annotations

import math
import torch
from torchvision.ops import generalized_box_iou_loss, sigmoid_focal_loss

__all__ = ["regression_ranges", "make_points", "assign_targets", "decode_offsets", "tal_losses"]


def regression_ranges(num_levels: int) -> list[tuple[float, float]]:
    """``[(0, 4), (4, 8), (8, 16), ..., (4 * 2**(L-2), inf)]`` in snippets."""
    out = []
    for level in range(num_levels):
        lo = 0.0 if level == 0 else 4.0 * 2 ** (level - 1)
        hi = math.inf if level == num_levels - 1 else 4.0 * 2 ** level
        out.append((lo, hi))
    return out


def make_points(length: int, num_levels: int) -> torch.Tensor:
    """All points of a sequence of ``length`` snippets (a multiple of ``2**(num_levels-1)``):
    float ``[P, 4]`` rows ``(t, lo, hi, stride)``, level by level (the order of the head's outputs)."""
    rows = []
    for level, (lo, hi) in enumerate(regression_ranges(num_levels)):
        stride = 2 ** level
        t = torch.arange(0, length, stride, dtype=torch.float32)
        rows.append(torch.stack([t, torch.full_like(t, lo), torch.full_like(t, hi), torch.full_like(t, stride)], 1))
    return torch.cat(rows)


def assign_targets(points: torch.Tensor, segments: torch.Tensor, labels: torch.Tensor, num_classes: int,
                   radius: float = 1.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets of one video.

    Args:
        points: ``[P, 4]`` from :func:`make_points`. segments: ``[N, 2]`` (start, end) in snippets.
        labels: long ``[N]``. num_classes: ``C``. radius: centre-sampling radius in strides.

    Returns:
        ``cls [P, C]`` (0/1; an all-zero row is background) and ``reg [P, 2]`` (distances to start / end over the
        stride; only meaningful where ``cls`` has a 1).
    """
    p = points.shape[0]
    if segments.numel() == 0:
        return torch.zeros(p, num_classes), torch.zeros(p, 2)
    t, lo, hi, stride = (points[:, i: i + 1] for i in range(4))        # [P, 1] each
    start, end = segments[:, 0][None], segments[:, 1][None]             # [1, N]
    left, right = t - start, end - t                                    # [P, N]
    centre = (start + end) / 2
    near_left = t - torch.maximum(centre - radius * stride, start)      # centre sampling, clipped to the segment
    near_right = torch.minimum(centre + radius * stride, end) - t
    inside = torch.minimum(near_left, near_right) >= 0
    reach = torch.maximum(left, right)
    fits = (reach >= lo) & (reach <= hi)
    length = (end - start).expand(p, -1).clone()
    length[~(inside & fits)] = math.inf
    shortest, which = length.min(dim=1)                                 # [P]
    pos = torch.isfinite(shortest)
    chosen = (length <= shortest[:, None]) & pos[:, None]               # ties: every equally short segment
    cls = torch.zeros(p, num_classes)
    rows, cols = chosen.nonzero(as_tuple=True)
    cls[rows, labels[cols]] = 1.0
    reg = torch.stack([left.gather(1, which[:, None])[:, 0], right.gather(1, which[:, None])[:, 0]], 1)
    return cls, reg / stride


def decode_offsets(points: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """``points [P, 4]``, ``offsets [P, 2]`` (in strides) -> segments ``[P, 2]`` = ``t -/+ offset * stride``."""
    t, stride = points[:, 0:1], points[:, 3:4]
    return torch.cat([t - offsets[:, 0:1] * stride, t + offsets[:, 1:2] * stride], 1)


def tal_losses(cls_logits: torch.Tensor, offsets: torch.Tensor, valid: torch.Tensor, cls_targets: torch.Tensor,
               reg_targets: torch.Tensor, reg_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """``cls_logits [B, P, C]``, ``offsets [B, P, 2]``, ``valid bool [B, P]``, targets ``[B, P, C]`` / ``[B, P, 2]``
    -> ``{"cls", "reg", "loss" = cls + reg_weight * reg, "num_pos"}`` (see the module docstring)."""
    pos = (cls_targets.sum(-1) > 0) & valid
    norm = max(int(pos.sum()), 1)
    cls = sigmoid_focal_loss(cls_logits[valid], cls_targets[valid], alpha=0.25, gamma=2.0, reduction="sum") / norm
    if pos.any():
        pr, tg = offsets[pos].float(), reg_targets[pos].float()
        zeros, ones = torch.zeros_like(pr[:, 0]), torch.ones_like(pr[:, 0])
        box_p = torch.stack([-pr[:, 0], zeros, pr[:, 1], ones], 1)
        box_t = torch.stack([-tg[:, 0], zeros, tg[:, 1], ones], 1)
        reg = generalized_box_iou_loss(box_p, box_t, reduction="sum") / norm
    else:
        reg = offsets.sum() * 0.0
    return {"cls": cls, "reg": reg, "loss": cls + reg_weight * reg, "num_pos": torch.tensor(float(pos.sum()))}
