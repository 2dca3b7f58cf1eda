"""The temporal-localization-on-SynthMotion recipe (notebook 08): sizes and settings per profile.

Setting: untrimmed SynthMotion videos (the ``tal`` part: one object alternating still gaps and 1.5-3.5 s action
segments of 9 motion classes, at 8 fps) rendered like the clips notebook 02 pretrained its VideoMAE on (same size,
plain background, no noise, large objects), so that the pretrained encoder sees familiar input. Snippets are the
encoder's own input protocol: ``num_frames`` frames every ``frame_stride`` frames (8 x 2 = a 15-frame span, about
1.9 s), one every ``feat_stride`` frames. The head is :class:`~internvideo_core.models.tal_head.TALHead`.

Why these settings (measured on the 2-core CPU, seed 0, average mAP 0.5:0.95 of the head / of the
sliding-window baseline on the same features):

- Mean-pooled snippet features (one vector per clip) of the frozen encoders are weak: 60 training videos,
  untrained 2.0 / 4.8, frozen pretrained 1.8 / 3.5. Pooling over space only and keeping the 4 time steps
  (``pool="time"``) keeps the direction of a motion inside a snippet: 8.0 / 6.1 and 5.8 / 5.5.
- More videos matter more than epochs: 160 training videos (``tal_videos``) give untrained 12.0 / 8.4, frozen
  pretrained 7.8 / 6.2, and the fine-tuned encoder of notebook 03 19.4 / 14.6 (the notebook's table: 20.1 / 14.6).
- ``head_threads=1``: the head is a small conv net on batches of 4 x 384 x ~64; its ops are too small to share
  between threads, and with torch's two threads each step costs 2.3-2.7x the CPU time of one thread for no gain in
  wall time (2.26 vs 0.84 s of CPU per epoch on the 2-core machine). Training the three heads of notebook 08 fell
  from ~190 s to ~80 s of CPU, the same algorithm (mAP moves within a point: thread count changes float sums).
  ``None`` keeps the caller's thread count.
- A snippet classifier on frozen masked-autoencoder features is no better than on an untrained encoder (snippet
  accuracy 14 % vs 17 % on the action snippets), as notebook 02's linear probe found; hence the fine-tuned
  encoder as the main feature extractor (InternVideo's TAL features also come from fine-tuned models).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["TALSynthRecipe", "RECIPES", "get_recipe"]


@dataclass(frozen=True)
class TALSynthRecipe:
    """``profile``: the profile the recipe belongs to (the encoders and rendering of notebook 02 / 03 of that
    profile are used); ``tal_videos`` (train, validation) untrimmed videos of ``tal_frames`` frames; snippets every
    ``feat_stride`` frames; head ``embed_dim`` / ``num_levels``; training ``epochs`` / ``batch_size`` / ``lr``."""

    profile: str = "tutorial"
    tal_videos: tuple[int, int] = (160, 40)
    tal_frames: tuple[int, int] = (96, 160)
    feat_stride: int = 2
    pool: str = "time"
    embed_dim: int = 64
    num_levels: int = 4
    dropout: float = 0.1
    epochs: int = 30
    batch_size: int = 4
    lr: float = 3e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 3.0
    probe_steps: int = 300
    head_threads: int | None = 1

    def replace(self, **changes: Any) -> "TALSynthRecipe":
        return dataclasses.replace(self, **changes)


RECIPES: dict[str, TALSynthRecipe] = {
    "smoke": TALSynthRecipe(profile="smoke", tal_videos=(4, 2), tal_frames=(48, 64), embed_dim=16, num_levels=2,
                            epochs=2, probe_steps=20),
    "tutorial": TALSynthRecipe(profile="tutorial"),
    "full": TALSynthRecipe(profile="full", tal_videos=(200, 50), tal_frames=(128, 256), embed_dim=128, num_levels=5,
                           epochs=60),
}


def get_recipe(profile: str, **overrides: Any) -> TALSynthRecipe:
    """The recipe of ``profile`` (``smoke`` / ``tutorial`` / ``full``) with ``overrides`` applied."""
    if profile not in RECIPES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {list(RECIPES)}")
    return RECIPES[profile].replace(**overrides)
