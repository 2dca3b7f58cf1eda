"""The recipe of an Ego4D-NLQ SynthMotion run: :class:`EgoRecipe` and its per-profile values (no tensors here)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from internvideo_core.data.synthmotion_ego4d import EGO_PROFILES, EgoSizes

__all__ = ["EgoRecipe", "RECIPES", "get_recipe"]


@dataclass(frozen=True)
class EgoRecipe:
    """Everything that defines a run.

    Data: ``sizes`` (videos, frames, fps, objects, event lengths). Snippets: the video is cut into cells of
    ``stride`` frames; cell ``i`` (frames ``[i * stride, (i + 1) * stride)``) is described by the dual encoder's
    video embedding of the ``window`` frames centred on it (``num_frames`` of them, linspace, as InternVideo-MM
    samples a clip). Grounding model: :class:`internvideo_core.models.grounding.SpanGrounder` of width ``hidden``,
    trained ``epochs`` with AdamW (``lr``, ``weight_decay``, cosine), ``batch_size`` queries per step; answers are
    at most ``max_len`` cells long; ``top_k`` windows are submitted per query (R@5 needs 5).
    """

    sizes: EgoSizes = EGO_PROFILES["tutorial"]
    window: int = 16
    stride: int = 8
    hidden: int = 48
    dropout: float = 0.3
    epochs: int = 20
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.05
    highlight_weight: float = 0.5
    max_len: int = 8
    top_k: int = 5
    nms_iou: float = 0.5

    def replace(self, **changes: Any) -> "EgoRecipe":
        return dataclasses.replace(self, **changes)


RECIPES: dict[str, EgoRecipe] = {
    "smoke": EgoRecipe(sizes=EGO_PROFILES["smoke"], hidden=16, epochs=2),
    "tutorial": EgoRecipe(),
    "full": EgoRecipe(sizes=EGO_PROFILES["full"], hidden=128, epochs=40, max_len=16),
}


def get_recipe(profile: str, **overrides: Any) -> EgoRecipe:
    """The recipe of ``profile`` (``smoke`` / ``tutorial`` / ``full``) with ``overrides`` applied."""
    if profile not in RECIPES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {list(RECIPES)}")
    return RECIPES[profile].replace(**overrides)
