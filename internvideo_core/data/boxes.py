"""Person / object boxes ``[K, 4]`` as ``(x1, y1, x2, y2)``: normalised (AVA CSV, 0..1) <-> pixels, and the
test-time box extension of the official AVA detection code.

AVA CSV files store boxes normalised by the frame width and height; RoI pooling needs them in the pixels of
the network input. :func:`extend_boxes` is the official test-time extension (``BoxList.extend`` of
AlphAction, used by VideoMAE-Action-Detection with ``(0.1, 0.05)``), quirk included: box sizes count one
extra pixel (``TO_REMOVE = 1``, the legacy maskrcnn-benchmark convention), and the result is clipped to
``[0, width - 1] x [0, height - 1]``.
"""
from __future__ import annotations

import torch

__all__ = ["normalised_to_pixels", "pixels_to_normalised", "extend_boxes"]


def _check(boxes: torch.Tensor) -> torch.Tensor:
    boxes = torch.as_tensor(boxes, dtype=torch.float32) if not torch.is_tensor(boxes) else boxes
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"expected boxes [K, 4] (x1, y1, x2, y2), got shape {tuple(boxes.shape)}")
    return boxes


def normalised_to_pixels(boxes: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Normalised ``[K, 4]`` -> pixel ``[K, 4]``: x coordinates times ``width``, y times ``height``."""
    boxes = _check(boxes)
    scale = boxes.new_tensor([width, height, width, height])
    return boxes * scale


def pixels_to_normalised(boxes: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Pixel ``[K, 4]`` -> normalised ``[K, 4]`` (the inverse of :func:`normalised_to_pixels`)."""
    boxes = _check(boxes)
    scale = boxes.new_tensor([width, height, width, height])
    return boxes / scale


def extend_boxes(boxes: torch.Tensor, scale: tuple[float, float], width: int, height: int) -> torch.Tensor:
    """Grow pixel boxes ``[K, 4]`` by ``scale = (sx, sy)`` of their size, half on each side, then clip.

    As the official code: ``pad_w = sx * (x2 - x1 + 1) / 2``, ``pad_h = sy * (y2 - y1 + 1) / 2`` (the ``+ 1`` is
    the legacy pixel-count quirk), clipped to ``[0, width - 1]`` / ``[0, height - 1]``.
    """
    boxes = _check(boxes)
    x1, y1, x2, y2 = boxes.unbind(-1)
    pad_w = float(scale[0]) * (x2 - x1 + 1) / 2
    pad_h = float(scale[1]) * (y2 - y1 + 1) / 2
    out = torch.stack([x1 - pad_w, y1 - pad_h, x2 + pad_w, y2 + pad_h], dim=-1)
    out[:, 0::2] = out[:, 0::2].clamp(0, width - 1)
    out[:, 1::2] = out[:, 1::2].clamp(0, height - 1)
    return out
