"""The recipe's two models, built through the registry by name: the masked autoencoder
(``videomae_pretrain_tiny_synth``) and the classifier (``videomae_vit_tiny_synth``); the tutorial profile is
exactly the registered configs, the other profiles pass what they change."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from .config import AUTOENCODER, CLASSIFIER, VideoMAESynthRecipe

__all__ = ["build_pretrain_model", "build_classifier"]


def build_pretrain_model(recipe: VideoMAESynthRecipe, **overrides: Any) -> nn.Module:
    """The masked autoencoder of ``recipe`` (``videomae_pretrain_tiny_synth``, with the profile's changes)."""
    from internvideo_core.registry import create_model

    return create_model(AUTOENCODER, **{**recipe.model_overrides(AUTOENCODER), **overrides})


def build_classifier(recipe: VideoMAESynthRecipe, num_classes: int, checkpoint_path: str | Path | None = None,
                     **overrides: Any) -> nn.Module:
    """The classifier of ``recipe``; ``checkpoint_path`` (e.g. a pretraining checkpoint) is loaded strictly
    through :func:`~internvideo_core.registry.create_model` (decoder keys are reported as ignored)."""
    from internvideo_core.registry import create_model

    kw = dict(recipe.model_overrides(CLASSIFIER), num_classes=num_classes)
    return create_model(CLASSIFIER, checkpoint_path=None if checkpoint_path is None else str(checkpoint_path),
                        **{**kw, **overrides})
