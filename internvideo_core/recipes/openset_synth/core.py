"""Data, encoder, training and scoring of the open-set recipe (notebook 10).

    recipe = get_recipe("tutorial")                                 # carries its profile (recipe.profile)
    data = load_openset_data(recipe, 0)                             # known train / known test / unknown clips
    ckpt = ensure_pretrained_encoder(recipe, 0)                     # notebook 02's VideoMAE, or pretrain it
    edl, hist = train_openset_model(recipe, 0, ckpt, loss="edl", data=data)
    report = score_openset(recipe, edl, data, kind="edl")          # AUROC, thresholded F1, openness curve
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from internvideo_core.recipes import videomae_synth as V

from .config import OpenSetSynthRecipe

__all__ = ["OpenSetData", "load_openset_data", "ensure_pretrained_encoder", "build_openset_model",
           "train_openset_model", "openset_logits", "score_openset"]


@dataclass
class OpenSetData:
    """uint8 clips ``[N, clip_frames, S, S, 3]`` of the VideoMAE recipe's rendering, and their labels.

    ``train_*``: known classes, training; ``test_*``: known classes, held-out clips; ``unknown_*``: motions never
    trained on, labels = index in :data:`~internvideo_core.data.synthmotion.MOTION_CLASSES` (>= 12).
    """

    train_videos: torch.Tensor
    train_labels: torch.Tensor
    test_videos: torch.Tensor
    test_labels: torch.Tensor
    unknown_videos: torch.Tensor
    unknown_labels: torch.Tensor
    classes: tuple[str, ...]
    unknown_classes: tuple[str, ...]


def _first_per_class(labels: torch.Tensor, per_class: int) -> torch.Tensor:
    keep, counts = [], {}
    for i, y in enumerate(labels.tolist()):
        if counts.get(y, 0) < per_class:
            counts[y] = counts.get(y, 0) + 1
            keep.append(i)
    return torch.as_tensor(keep, dtype=torch.long)


def load_openset_data(recipe: OpenSetSynthRecipe, seed: int = 0) -> OpenSetData:
    """Render the known / unknown clips of ``recipe.profile`` (same rendering as the VideoMAE recipe's clips)."""
    from internvideo_core.data.synthmotion import (HELDOUT_MOTIONS, MOTION_CLASSES, PROFILES, SynthConfig,
                                                   synthmotion_clips)

    r, profile = recipe, recipe.profile
    vr = V.get_recipe(profile)
    cfg = SynthConfig(size=vr.render_size, num_frames=vr.clip_frames, **dict(vr.synth))
    sizes = PROFILES[profile]
    if sizes.classification[0] < r.labels_per_class:
        sizes = dataclasses.replace(sizes, classification=(r.labels_per_class, *sizes.classification[1:]))
    sizes = dataclasses.replace(sizes, openset_per_class=r.unknown_per_class)
    train = synthmotion_clips("classification", "train", sizes, seed, cfg=cfg)
    keep = _first_per_class(train.labels, r.labels_per_class)
    tests = [synthmotion_clips("classification", s, sizes, seed, cfg=cfg) for s in ("val", "test")]
    unknown = synthmotion_clips("openset", "test", sizes, seed, cfg=cfg)
    return OpenSetData(train.videos[keep], train.labels[keep], torch.cat([t.videos for t in tests]),
                       torch.cat([t.labels for t in tests]), unknown.videos, unknown.labels,
                       tuple(train.classes), tuple(m for m in MOTION_CLASSES if m in HELDOUT_MOTIONS))


def ensure_pretrained_encoder(recipe: OpenSetSynthRecipe | str, seed: int = 0, *, verbose: bool = True) -> Path:
    """Notebook 02's pretrained VideoMAE (``runs/checkpoints/<profile>/videomae_synth_pretrain.safetensors``) when
    it fits the VideoMAE recipe, else pretrain it here with that recipe (as notebook 03 does) and save it.
    ``recipe``: this recipe (its ``profile`` is used) or a profile name (for other recipes that need the file)."""
    profile = recipe if isinstance(recipe, str) else recipe.profile
    vr = V.get_recipe(profile)
    path = V.pretrain_checkpoint_path(profile)
    if V.checkpoint_matches(path, vr):
        if verbose:
            print("using notebook 02's encoder:", path.name)
        return path
    if verbose:
        print(f"{path.name} missing or from another recipe: pretraining here (as notebook 02 does)")
    model, _ = V.pretrain_on_synthmotion(vr, seed)
    return V.save_pretrained(model, vr)


def build_openset_model(recipe: OpenSetSynthRecipe, init: str | Path | None, num_classes: int) -> nn.Module:
    """The VideoMAE recipe's classifier (encoder from ``init``, fresh head with dropout ``head_dropout``).

    Its logits serve either loss: the linear head *is* the evidential head of DEAR's ``BaseClsHead`` (dropout,
    linear; evidence = ``exp(clamp(logits))``), or a softmax classifier's head.
    """
    return V.build_classifier(V.get_recipe(recipe.profile), num_classes, init, head_drop_rate=recipe.head_dropout)


def train_openset_model(recipe: OpenSetSynthRecipe, seed: int, init: str | Path | None, *, loss: str = "edl",
                        data: OpenSetData | None = None, progress: bool = False, log: bool = False
                        ) -> tuple[nn.Module, dict[str, Any]]:
    """Fine-tune encoder + head on the known classes with the EDL loss (``loss="edl"``) or plain cross entropy
    (``"ce"``, the max-softmax baseline), same budget. ``log``: print the loop's line per epoch (off: the history
    holds the same numbers). Returns ``(model in eval mode, history)``."""
    from internvideo_core.train.evidential import EvidentialConfig, finetune_evidential
    from internvideo_core.train.finetune import FinetuneConfig, finetune

    r = recipe
    vr = V.get_recipe(r.profile)
    data = data or load_openset_data(r, seed)
    torch.manual_seed(seed)
    model = build_openset_model(r, init, len(data.classes))
    loader = V.ClipLoader(data.train_videos, data.train_labels, vr, batch_size=r.batch_size, train=True, seed=seed)
    common = dict(epochs=r.epochs, base_lr=r.lr, min_lr=r.lr / 100, warmup_epochs=r.warmup_epochs,
                  weight_decay=r.weight_decay, layer_decay=r.layer_decay, seed=seed,
                  device="cuda" if torch.cuda.is_available() else "cpu", progress=progress)
    if loss not in ("edl", "ce"):
        raise ValueError(f"loss must be 'edl' or 'ce', got {loss!r}")
    start = time.perf_counter()
    with contextlib.nullcontext() if log else contextlib.redirect_stdout(io.StringIO()):
        if loss == "edl":
            result = finetune_evidential(model, loader, EvidentialConfig(
                **common, evidence=r.evidence, with_kl=r.with_kl, annealing_method=r.annealing_method,
                annealing_start=r.annealing_start))
        else:
            result = finetune(model, loader, FinetuneConfig(**common, mixup=0.0, cutmix=0.0, smoothing=0.0))
    model.eval()
    return model, {"loss": list(result.losses), "epoch_loss": [e["loss"] for e in result.epochs],
                   "seconds": time.perf_counter() - start}


@torch.no_grad()
def openset_logits(recipe: OpenSetSynthRecipe, model: nn.Module, videos: torch.Tensor) -> torch.Tensor:
    """Logits of every view ``[N, V, K]`` (``temporal_views`` x centre crop) on the VideoMAE recipe's input."""
    return V.predict_logits(model, videos, V.get_recipe(recipe.profile), temporal_views=recipe.temporal_views)


def score_openset(recipe: OpenSetSynthRecipe, model: nn.Module, data: OpenSetData, kind: str = "edl"
                  ) -> dict[str, Any]:
    """:func:`~internvideo_core.eval.openset.openset_report` of ``model``: threshold from the known training clips,
    known test vs unknown clips; ``kind`` ``"edl"`` (``u = K / S``) or ``"softmax"`` (``1 - max p``)."""
    from internvideo_core.eval.openset import openset_report

    r = recipe
    logits = {name: openset_logits(r, model, v)
              for name, v in (("train", data.train_videos), ("known", data.test_videos),
                              ("unknown", data.unknown_videos))}
    return openset_report(data.test_labels, logits["known"], data.unknown_labels, logits["unknown"],
                          train_logits=logits["train"], kind=kind, evidence=r.evidence, keep_ratio=r.keep_ratio,
                          num_rand=r.num_rand)
