"""The dual encoder of a recipe, and where and how notebook 04's trained weights are saved and found again.

:func:`build_dual_encoder` creates ``internvideo_mm_tiny_synth`` (with the profile's changes);
:func:`checkpoint_path` is ``runs/checkpoints/<profile>/mm_synth.safetensors``; :func:`save_dual_encoder` writes
the weights with the recipe, seed and history in the safetensors metadata; :func:`load_dual_encoder` reads them back
only when recipe and seed match.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from internvideo_core.recipes.mm_synth.config import MODEL, MMSynthRecipe, as_recipe

__all__ = ["build_dual_encoder", "checkpoint_path", "save_dual_encoder", "load_dual_encoder"]


def build_dual_encoder(recipe: MMSynthRecipe) -> nn.Module:
    """The kit's tiny dual encoder with the recipe's sizes."""
    from internvideo_core.registry import create_model

    return create_model(MODEL, **recipe.model_overrides())


def checkpoint_path(recipe: MMSynthRecipe | str) -> Path:
    """``runs/checkpoints/<profile>/mm_synth.safetensors`` of a recipe (or a profile name); notebooks 04-07."""
    from internvideo_core.paths import runs_dir

    profile = recipe if isinstance(recipe, str) else recipe.profile
    return runs_dir() / "checkpoints" / profile / "mm_synth.safetensors"


def save_dual_encoder(model: nn.Module, recipe: MMSynthRecipe, seed: int, history: dict[str, Any]) -> Path:
    """Write ``model`` to :func:`checkpoint_path` with the recipe (JSON), seed, profile and ``history`` (without its
    per-epoch logs) in the safetensors metadata, which :func:`load_dual_encoder` checks. Returns the path."""
    from internvideo_core.checkpoint import save_safetensors

    path = checkpoint_path(recipe)
    meta = {"recipe": recipe.to_json(), "seed": str(seed), "profile": recipe.profile,
            "history": json.dumps({k: v for k, v in history.items() if k != "epochs"})}
    save_safetensors(model, path, metadata=meta)
    return path


def load_dual_encoder(recipe: MMSynthRecipe | str, seed: int = 0) -> tuple[nn.Module, dict[str, Any]] | None:
    """The model saved by :func:`train_dual_encoder_on_synthmotion` for this recipe (or profile name) and seed, or
    ``None`` when there is no such file (or it was trained with another recipe or seed)."""
    from safetensors import safe_open

    from internvideo_core.checkpoint import load_checkpoint

    recipe = as_recipe(recipe)
    path = checkpoint_path(recipe)
    if not path.exists():
        return None
    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata() or {}
    if meta.get("recipe") != recipe.to_json() or meta.get("seed") != str(seed):
        return None
    model = build_dual_encoder(recipe)
    load_checkpoint(model, path, strict=True)
    history = json.loads(meta.get("history", "{}"))
    return model.eval(), history
