"""Where notebook 09 keeps its detector, how it is written (kit safetensors, the recipe profile, the class names
and AVA ids in the metadata) and read back (the demo's key-frame tab uses it)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from torch import nn

from .config import AVASynthRecipe, get_recipe

__all__ = ["detector_checkpoint_path", "save_detector", "load_detector"]


def detector_checkpoint_path(profile: str) -> Path:
    """``runs/checkpoints/<profile>/ava_synth_detector.safetensors`` (written by notebook 09)."""
    from internvideo_core.paths import runs_dir

    return runs_dir() / "checkpoints" / profile / "ava_synth_detector.safetensors"


def save_detector(recipe: AVASynthRecipe, model: nn.Module, classes: Sequence[str], action_ids: Sequence[int],
                  path: str | Path | None = None) -> Path:
    """Save a trained detector with its recipe's profile, class names and AVA action ids (index = output unit) to
    :func:`detector_checkpoint_path` of ``recipe.profile`` (or ``path``)."""
    from internvideo_core.checkpoint import save_safetensors

    if model.num_classes != len(classes) or len(classes) != len(action_ids):
        raise ValueError(f"the detector has {model.num_classes} outputs but {len(classes)} class names and "
                         f"{len(action_ids)} action ids were given")
    profile = recipe.profile
    meta = {"recipe": "ava_synth", "task": "detector", "profile": profile, "classes": json.dumps(list(classes)),
            "action_ids": json.dumps([int(a) for a in action_ids])}
    return save_safetensors(model, path or detector_checkpoint_path(profile), metadata=meta)


def load_detector(path: str | Path) -> tuple[nn.Module, AVASynthRecipe, list[str], list[int]]:
    """``(detector in eval mode, its recipe, class names, AVA action ids)`` from a :func:`save_detector` file.

    Raises ``FileNotFoundError`` (missing file) or ``ValueError`` (not a detector file) saying what to do."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from .models import build_detector

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no AVA detector at {path}; run notebook 09 (`internvideo notebooks run "
                                f"--only 09`) to train one")
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    if meta.get("recipe") != "ava_synth" or meta.get("task") != "detector":
        raise ValueError(f"{path} is not an ava_synth detector (metadata {meta}); expected a file written by "
                         "recipes.ava_synth.save_detector")
    recipe = get_recipe(meta["profile"])
    classes, ids = json.loads(meta["classes"]), json.loads(meta["action_ids"])
    model = build_detector(recipe, len(classes))
    model.load_state_dict(load_file(str(path)), strict=True)
    return model.eval(), recipe, classes, ids
