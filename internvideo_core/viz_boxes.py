"""Boxes and action labels drawn on key frames (notebook 09 and the demo's detection tab).

``draw_detections`` returns a new ``uint8 [H', W', 3]`` image (PIL drawing, no matplotlib), ``show_keyframes``
puts several of them in one matplotlib figure.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["PALETTE", "draw_detections", "show_keyframes"]

PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230),
)


def draw_detections(frame, boxes, captions: Sequence[str] = (), *, scale: int = 1,
                    colours: Sequence[tuple[int, int, int]] | None = None, width: int = 2) -> np.ndarray:
    """Draw normalised boxes ``[K, 4]`` (x1, y1, x2, y2 in 0..1) with one caption each (lines split by ``\\n``)
    on ``frame`` ``uint8 [H, W, 3]``, enlarged ``scale`` times (nearest neighbour, for tiny SynthMotion frames)."""
    from PIL import Image, ImageDraw

    arr = frame.detach().cpu().numpy() if hasattr(frame, "detach") else np.asarray(frame)
    img = Image.fromarray(arr.astype(np.uint8))
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    w, h = img.size
    boxes = np.asarray(boxes.detach().cpu() if hasattr(boxes, "detach") else boxes, dtype=float).reshape(-1, 4)
    colours = colours or PALETTE
    for k, box in enumerate(boxes):
        c = tuple(colours[k % len(colours)])
        x1, y1, x2, y2 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
        draw.rectangle([x1, y1, x2, y2], outline=c, width=width)
        text = captions[k] if k < len(captions) else ""
        if text:
            tw, th = draw.multiline_textbbox((0, 0), text)[2:]
            ty = y1 - th - 4 if y1 - th - 4 >= 0 else min(y2 + 2, h - th - 2)
            tx = max(0.0, min(x1, w - tw - 4))  # keep the caption inside the picture
            draw.rectangle([tx, ty, tx + tw + 4, ty + th + 2], fill=c)
            draw.multiline_text((tx + 2, ty), text, fill=(255, 255, 255))
    return np.asarray(img)


def show_keyframes(images: Sequence[np.ndarray], titles: Sequence[str] = (), *, columns: int = 3,
                   size: float = 3.6):
    """Key-frame images (from :func:`draw_detections`) in a grid; returns the Figure."""
    import matplotlib.pyplot as plt

    n = max(1, len(images))
    cols = min(columns, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(img)
        if i < len(titles):
            ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig
