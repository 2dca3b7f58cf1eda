"""The detector of the recipe (:class:`~internvideo_core.models.roi_head.ActionDetector` over the kit's tiny
VideoMAE ViT) and the encoder checkpoint it starts from (notebook 03's classifier or notebook 02's autoencoder,
made here with the same recipe when absent)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from internvideo_core.recipes.videomae_synth.config import CLASSIFIER

from .config import AVASynthRecipe

__all__ = ["build_detector", "encoder_checkpoint"]


def encoder_checkpoint(recipe: AVASynthRecipe, seed: int = 0, kind: str = "classifier",
                       progress: bool = False) -> tuple[Path, dict[str, Any]]:
    """The ``videomae_synth`` checkpoint the detector starts from, for ``recipe.encoder_profile``.

    ``kind="pretrained"``: the masked autoencoder of notebook 02. ``kind="classifier"`` (default): notebook 03's
    classifier, that autoencoder fine-tuned on SynthMotion's motion classes (the analogue of the official AVA
    detectors, which start from Kinetics-fine-tuned VideoMAE weights). A file that is missing or was made with
    another recipe is (re)made here with the same recipe. Returns ``(path, {"made_now": [...], "seconds"})``.
    """
    import time

    from internvideo_core.recipes import videomae_synth as V

    if kind not in ("pretrained", "classifier"):
        raise ValueError(f"kind must be 'pretrained' or 'classifier', got {kind!r}")
    vm, prof = recipe.encoder_recipe(), recipe.encoder_profile
    made, start = [], time.perf_counter()
    pre = V.pretrain_checkpoint_path(prof)
    clf = V.classifier_checkpoint_path(prof)
    if kind == "classifier" and V.checkpoint_matches(clf, vm):
        return clf, {"made_now": made, "seconds": 0.0}
    if not V.checkpoint_matches(pre, vm):
        model, _ = V.pretrain_on_synthmotion(vm, seed, progress=progress)
        V.save_pretrained(model, vm)
        made.append(str(pre))
    if kind == "classifier":
        data = V.load_synth_data(vm, seed)
        model, _, _ = V.finetune_on_synthmotion(vm, seed, init=pre, data=data, progress=progress)
        V.save_classifier(model, vm, data.classes)
        made.append(str(clf))
    return (clf if kind == "classifier" else pre), {"made_now": made, "seconds": time.perf_counter() - start}


def _head_size(path: str | Path | None) -> int:
    """Outputs of the classification head stored in a kit safetensors file (1 when it has none), so that a
    fine-tuned classifier loads strictly; the head is dropped afterwards."""
    if path is None:
        return 1
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return int(fh.get_slice("head.weight").get_shape()[0]) if "head.weight" in fh.keys() else 1


def build_detector(recipe: AVASynthRecipe, num_classes: int, init: str | Path | None = None,
                   **overrides: Any) -> nn.Module:
    """ViT encoder (the encoder recipe's sizes at ``render_size`` px; sinusoid table of the pretraining grid,
    resized) + RoI head. ``init``: a pretraining (or classifier) checkpoint loaded strictly into the encoder."""
    from internvideo_core.models.roi_head import ActionDetector
    from internvideo_core.registry import create_model

    vm = recipe.encoder_recipe()
    kw = dict(vm.model_overrides(CLASSIFIER), img_size=recipe.render_size, pos_ref_img_size=vm.img_size,
              pos_ref_num_frames=vm.num_frames, num_classes=_head_size(init), drop_path_rate=vm.drop_path_rate)
    encoder = create_model(CLASSIFIER, checkpoint_path=None if init is None else str(init),
                           **{**kw, **overrides})
    encoder.reset_classifier(0)  # the classification head is not used
    return ActionDetector(encoder, num_classes, resolution=recipe.resolution, pool=recipe.pool,
                          dropout=recipe.dropout)
