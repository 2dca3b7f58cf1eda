"""The recipe's two models, built through the registry with the recipe's sizes: the masked autoencoder
(``videomae_pretrain_tiny_synth``) and the classifier (``videomae_vit_tiny_synth``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from .config import VideoMAESynthRecipe

__all__ = ["build_pretrain_model", "build_classifier"]


def build_pretrain_model(recipe: VideoMAESynthRecipe, **overrides: Any) -> nn.Module:
    """The masked autoencoder of ``recipe`` (``videomae_pretrain_tiny_synth`` with the recipe's sizes)."""
    from internvideo_core.registry import create_model

    kw = dict(recipe.model_overrides(), decoder_embed_dim=recipe.decoder_embed_dim,
              decoder_depth=recipe.decoder_depth, decoder_num_heads=recipe.decoder_num_heads, norm_pix_loss=recipe.norm_pix_loss)
    return create_model("videomae_pretrain_tiny_synth", **{**kw, **overrides})


def build_classifier(recipe: VideoMAESynthRecipe, num_classes: int, checkpoint_path: str | Path | None = None,
                     **overrides: Any) -> nn.Module:
    """The classifier of ``recipe``; ``checkpoint_path`` (e.g. a pretraining checkpoint) is loaded strictly
    through :func:`~internvideo_core.registry.create_model` (decoder keys are reported as ignored)."""
    from internvideo_core.registry import create_model

    kw = dict(recipe.model_overrides(), num_classes=num_classes, drop_path_rate=recipe.drop_path_rate)
    return create_model("videomae_vit_tiny_synth", checkpoint_path=None if checkpoint_path is None else
                        str(checkpoint_path), **{**kw, **overrides})
