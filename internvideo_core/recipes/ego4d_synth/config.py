"""The recipe of an Ego4D-NLQ SynthMotion run: :class:`EgoRecipe` and its per-profile values (no tensors here)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from internvideo_core.data.synthmotion_ego4d import EGO_PROFILES, EgoSizes

__all__ = ["EgoRecipe", "RECIPES", "get_recipe"]


@dataclass(frozen=True)
class EgoRecipe:
    """Everything that defines a run; ``profile`` is the profile it came from (set by :func:`get_recipe`).

    Data: ``sizes`` (videos, frames, fps, objects, event lengths), written as ``v1/clips/<clip_uid>.mp4``.
    Snippets: what ``internvideo extract-features`` computes (:func:`internvideo_core.features.extract_video_features`):
    snippet ``i`` starts at frame ``i * stride`` and the dual encoder sees ``clip_len`` frames (``None``: the
    model's ``num_frames``) ``frame_interval`` apart, i.e. a span of ``(clip_len - 1) * frame_interval + 1``
    frames (4 frames 5 apart: 16 frames, 8 s at 2 fps), one snippet every ``stride`` frames (4 s).
    Grounding model: :class:`internvideo_core.models.grounding.SpanGrounder` of width ``hidden``, trained
    ``epochs`` with AdamW (``lr``, ``weight_decay``, cosine), ``batch_size`` queries per step; answers are at most
    ``max_len`` snippets long; ``top_k`` windows are submitted per query (R@5 needs 5).
    """

    profile: str = "tutorial"
    sizes: EgoSizes = EGO_PROFILES["tutorial"]
    clip_len: int | None = None
    frame_interval: int = 5
    stride: int = 8
    hidden: int = 48
    dropout: float = 0.3
    epochs: int = 15
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.05
    highlight_weight: float = 0.5
    max_len: int = 8
    top_k: int = 5
    nms_iou: float = 0.5

    def replace(self, **changes: Any) -> "EgoRecipe":
        return dataclasses.replace(self, **changes)


RECIPES: dict[str, EgoRecipe] = {
    "smoke": EgoRecipe(profile="smoke", sizes=EGO_PROFILES["smoke"], hidden=16, epochs=2),
    "tutorial": EgoRecipe(),
    "full": EgoRecipe(profile="full", sizes=EGO_PROFILES["full"], hidden=128, epochs=40, max_len=16),
}


def get_recipe(profile: str, **overrides: Any) -> EgoRecipe:
    """The recipe of ``profile`` (``smoke`` / ``tutorial`` / ``full``) with ``overrides`` applied."""
    if profile not in RECIPES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {list(RECIPES)}")
    return RECIPES[profile].replace(profile=profile, **overrides)
