"""The AVA-on-SynthMotion recipe: spatio-temporal action detection with the VideoMAE encoder of notebook 02.

Setting: the ``ava`` part of SynthMotion (several objects per video, each doing one translation from
``move left / right / up / down / stay`` and, half of the time, a rotation ``rotate clockwise / counterclockwise``
in every 2-second segment; AVA-style key frames at the segment centres, one per second, the boundary seconds
excluded). A training sample is one key frame: the ``clip_frames`` frames centred on it (one segment), the boxes
of every object at the key frame and their multi-hot actions. The encoder comes from the ``videomae_synth``
recipe of the same profile: notebook 03's classifier (notebook 02's autoencoder fine-tuned on the motion
classes, the analogue of the Kinetics-fine-tuned weights the official AVA detectors start from) or notebook 02's
autoencoder; it is fine-tuned end to end with the RoI head
(:class:`~internvideo_core.models.roi_head.ActionDetector`), ground-truth boxes in training and given boxes at
test time (the AVA "ground-truth boxes" protocol).

The scenes are rendered like the pretraining clips (plain background, no pixel noise) but larger
(``render_size`` px instead of 28) so that two or three objects fit; the encoder's sinusoid table is built for
its pretraining grid and resized to the larger one, as the official detector interpolates its position table.

Measured (seed 0, 80 / 20 videos, 240 / 60 key frames, 147 validation boxes; frame-mAP, class-prior baseline 25.5):

- lr 2e-2 x 12 epochs, autoencoder init: 28.8 (scratch 37.5): underfitted, the loss hardly moves;
- lr 1e-1 x 16 epochs: autoencoder init 40.1, classifier init 50.9; rendered at 40 px instead of 32: 53.6 for
  1.7 x the compute;
- lr 1e-1 x 24 epochs: classifier init 56.3 (58.3 in a later run), autoencoder init 47.1 (48.2); 220 s of CPU for
  notebook 09. The five translations reach 52-78 AP; the two rotations stay near their prior (a marker of 1-2 px on
  objects 8-12 px wide).
- lr 1e-1 x 20 epochs (the tutorial default): 52.7 / 42.2, 187 s of CPU. 14 epochs: 43.7 / 36.5 at 134 s, but
  "move right" only 0.15 above its prior; lr 2e-1 x 14 epochs: 42.4. Training is compute-bound (4.4 s of CPU per
  epoch per detector on one or two threads alike), so the epochs are the budget.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["AVASynthRecipe", "RECIPES", "get_recipe"]


@dataclass(frozen=True)
class AVASynthRecipe:
    """Everything that defines a run. ``profile``: the profile the recipe belongs to (set by :func:`get_recipe`).
    ``encoder_profile``: the ``videomae_synth`` recipe whose encoder is used (its patch, tubelet, width, depth,
    clip length and frame stride). ``ava_videos``: SynthMotion AVA videos (train, val). ``lr`` is per 256 key
    frames (scaled by batch / 256, official rule)."""

    profile: str = "tutorial"
    encoder_profile: str = "tutorial"
    render_size: int = 32
    synth: tuple[tuple[str, Any], ...] = (("noise", 0.0), ("textured", False), ("radius", (0.12, 0.18)))
    ava_videos: tuple[int, int] = (80, 20)
    # training
    epochs: int = 20
    batch_size: int = 8
    lr: float = 1e-1
    min_lr: float = 1e-4
    warmup_epochs: float = 1
    weight_decay: float = 0.05
    layer_decay: float = 0.75
    # head (official: RoIAlign 7 x 7, max pooling, no dropout; test boxes grown by (0.1, 0.05))
    resolution: int = 7
    pool: str = "max"
    dropout: float = 0.0
    test_box_extension: tuple[float, float] = (0.1, 0.05)

    def replace(self, **changes: Any) -> "AVASynthRecipe":
        return dataclasses.replace(self, **changes)

    def encoder_recipe(self):
        """The :class:`~internvideo_core.recipes.videomae_synth.VideoMAESynthRecipe` of the encoder."""
        from internvideo_core.recipes.videomae_synth import get_recipe as get_vm

        return get_vm(self.encoder_profile)

    @property
    def clip_frames(self) -> int:
        """Frames around a key frame (the encoder recipe's clip length)."""
        return self.encoder_recipe().clip_frames

    @property
    def frame_stride(self) -> int:
        return self.encoder_recipe().frame_stride


RECIPES: dict[str, AVASynthRecipe] = {
    # CI: seconds (the smoke encoder: 16 px crops, patch 8; 2 x 2 maps).
    "smoke": AVASynthRecipe(profile="smoke", encoder_profile="smoke", render_size=16, ava_videos=(3, 2), epochs=1,
                            batch_size=4, warmup_epochs=0, resolution=2),
    # CPU laptop, a few minutes.
    "tutorial": AVASynthRecipe(profile="tutorial"),
    # GPU: more videos, longer schedule (not tuned; a starting point).
    "full": AVASynthRecipe(profile="full", encoder_profile="full", render_size=96, ava_videos=(400, 100), epochs=30,
                           batch_size=16),
}


def get_recipe(profile: str, **overrides: Any) -> AVASynthRecipe:
    """The recipe of ``profile`` (``smoke`` / ``tutorial`` / ``full``) with ``overrides`` applied."""
    if profile not in RECIPES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {list(RECIPES)}")
    return RECIPES[profile].replace(**overrides)
