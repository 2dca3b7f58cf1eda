"""Where notebooks 02 / 03 keep their checkpoints, how they are written (kit safetensors with the recipe
fingerprint in the metadata) and whether a file fits a recipe."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from torch import nn

from .config import VideoMAESynthRecipe, as_recipe

__all__ = ["pretrain_checkpoint_path", "save_pretrained", "classifier_checkpoint_path", "save_classifier",
           "checkpoint_matches"]


def pretrain_checkpoint_path(profile: str) -> Path:
    """``runs/checkpoints/<profile>/videomae_synth_pretrain.safetensors`` (written by notebook 02)."""
    from internvideo_core.paths import runs_dir

    return runs_dir() / "checkpoints" / profile / "videomae_synth_pretrain.safetensors"


def save_pretrained(model: nn.Module, recipe: VideoMAESynthRecipe | str, path: str | Path | None = None) -> Path:
    """Save the autoencoder (kit safetensors) to :func:`pretrain_checkpoint_path` of ``recipe.profile`` (or
    ``path``), with the recipe's :meth:`~VideoMAESynthRecipe.fingerprint` in the metadata. ``recipe`` may be a
    profile name (its recipe)."""
    from internvideo_core.checkpoint import save_safetensors

    r = as_recipe(recipe)
    profile = r.profile
    return save_safetensors(model, path or pretrain_checkpoint_path(profile),
                            metadata={"recipe": "videomae_synth", "profile": profile, "fingerprint": r.fingerprint()})


def classifier_checkpoint_path(profile: str) -> Path:
    """``runs/checkpoints/<profile>/videomae_synth_classifier.safetensors`` (written by notebook 03, read by the
    demo)."""
    from internvideo_core.paths import runs_dir

    return runs_dir() / "checkpoints" / profile / "videomae_synth_classifier.safetensors"


def save_classifier(model: nn.Module, recipe: VideoMAESynthRecipe | str, classes: Sequence[str],
                    path: str | Path | None = None) -> Path:
    """Save a fine-tuned classifier (kit safetensors) to :func:`classifier_checkpoint_path` of ``recipe.profile``
    (or ``path``) with its class names (JSON list, index = output unit) and the recipe fingerprint in the
    metadata. ``recipe`` may be a profile name (its recipe)."""
    import json

    from internvideo_core.checkpoint import save_safetensors

    r = as_recipe(recipe)
    profile = r.profile
    head = getattr(model, "head", None)
    if isinstance(head, nn.Linear) and head.out_features != len(classes):
        raise ValueError(f"the classifier has {head.out_features} outputs but {len(classes)} class names were given")
    meta = {"recipe": "videomae_synth", "task": "classifier", "profile": profile, "fingerprint": r.fingerprint(),
            "classes": json.dumps(list(classes))}
    return save_safetensors(model, path or classifier_checkpoint_path(profile), metadata=meta)


def checkpoint_matches(path: str | Path, recipe: VideoMAESynthRecipe) -> bool:
    """True when ``path`` exists and was written by :func:`save_pretrained` for the same recipe."""
    path = Path(path)
    if not path.exists():
        return False
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except Exception:  # not a safetensors file / truncated: treat as missing
        return False
    return meta.get("fingerprint") == recipe.fingerprint()
