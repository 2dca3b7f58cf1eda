"""Clips, encoders and classifiers of the model-interaction recipe (notebook 11).

    recipe = get_recipe("tutorial")
    data = load_interaction_data(recipe, 0)                     # direction x colour clips, both encoders' inputs
    mae, mm = load_encoders(recipe, 0)                          # notebooks 02 / 04 checkpoints, or train them
    results = compare_classifiers(recipe, 0, mae, mm, data)     # alone / late fusion / concat / cross-model attention
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .config import InteractionSynthRecipe

__all__ = ["InteractionData", "load_interaction_data", "load_encoders", "train_classifier", "accuracy_report",
           "compare_classifiers"]


@dataclass
class InteractionData:
    """``x_mae_*`` ``[N, 3, T_a, S_a, S_a]`` (ImageNet mean/std) and ``x_mm_*`` ``[N, 3, T_b, S_b, S_b]`` (CLIP
    mean/std) of the same clips; ``y_*`` ``[N]`` class indices (``colour * len(motions) + motion``)."""

    x_mae_train: torch.Tensor
    x_mm_train: torch.Tensor
    y_train: torch.Tensor
    x_mae_test: torch.Tensor
    x_mm_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    frames: torch.Tensor  # uint8 [N_test, F, S, S, 3] of the test clips (for display)


def _render(recipe: InteractionSynthRecipe, split: int, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from internvideo_core.data.synthmotion import SynthConfig, render_clip

    cfg = SynthConfig(size=recipe.render_size, num_frames=recipe.clip_frames, noise=0.0, textured=False,
                      radius=tuple(recipe.radius))
    frames, labels = [], []
    n_m = len(recipe.motions)
    for i in range(per_class * len(recipe.classes)):
        k = i % len(recipe.classes)
        colour, motion = recipe.colours[k // n_m], recipe.motions[k % n_m]
        clip, _ = render_clip(motion, np.random.default_rng([seed, 111, split, i]), cfg, colour=colour)
        frames.append(clip)
        labels.append(k)
    return np.stack(frames), np.asarray(labels)


def _inputs(frames: torch.Tensor, profile: str) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 ``[N, F, S, S, 3]`` -> (VideoMAE input, InternVideo-MM input) with each recipe's preprocessing."""
    from internvideo_core.recipes import mm_synth as M
    from internvideo_core.recipes import videomae_synth as V

    vr, mr = V.get_recipe(profile), M.get_recipe(profile)

    def resize(size: int) -> torch.Tensor:
        x = rearrange(frames, "n t h w c -> (n t) c h w").float()
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        return rearrange(x.round().clamp(0, 255).to(torch.uint8), "(n t) c h w -> n t h w c", n=len(frames))

    x_mae = V.clips_to_input(resize(vr.render_size), vr)                         # centre crop, strided frames
    mm_frames = rearrange(resize(mr.img_size), "n t h w c -> n c t h w")
    x_mm = M.clips_to_input(mm_frames, M.frame_indices(mm_frames.shape[2], mr.num_frames))
    return x_mae, x_mm


def load_interaction_data(recipe: InteractionSynthRecipe, seed: int) -> InteractionData:
    """Render the direction x colour clips (train and test, disjoint seeds) and both encoders' inputs (each
    encoder's recipe of ``recipe.profile``)."""
    r = recipe
    out = []
    for split, per_class in ((0, r.train_per_class), (1, r.test_per_class)):
        frames, labels = _render(r, split, per_class, seed)
        f = torch.from_numpy(frames)
        out.append((*_inputs(f, r.profile), torch.from_numpy(labels).long(), f))
    (a_tr, b_tr, y_tr, _), (a_te, b_te, y_te, f_te) = out
    return InteractionData(a_tr, b_tr, y_tr, a_te, b_te, y_te, r.classes, f_te)


def load_encoders(recipe: InteractionSynthRecipe, seed: int, *, verbose: bool = True) -> tuple[nn.Module, nn.Module]:
    """The frozen encoders of ``recipe.profile``: notebook 02's pretrained VideoMAE (as a classifier without head)
    and notebook 04's InternVideo-MM dual encoder; each is trained here with its recipe when its checkpoint is
    missing."""
    from internvideo_core.recipes import mm_synth as M
    from internvideo_core.recipes import videomae_synth as V
    from internvideo_core.recipes.openset_synth import ensure_pretrained_encoder

    profile = recipe.profile
    path = ensure_pretrained_encoder(profile, seed, verbose=verbose)
    mae = V.build_classifier(V.get_recipe(profile), 0, path, drop_path_rate=0.0).eval()
    mm, _ = M.get_dual_encoder(profile, seed)
    return mae, mm.eval()


def train_classifier(recipe: InteractionSynthRecipe, seed: int, model: nn.Module, inputs: Any, labels: torch.Tensor,
                     forward: Callable[[nn.Module, Any, torch.Tensor], torch.Tensor]) -> dict[str, Any]:
    """AdamW (cosine lr, ``recipe`` settings) on the trainable parameters of ``model``, cross entropy, mini-batches
    of clip indices; ``forward(model, inputs, idx) -> logits``. Returns ``{"loss": per-epoch, "seconds",
    "trainable_parameters"}``."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    n = len(labels)
    steps = recipe.epochs * math.ceil(n / recipe.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(seed)
    losses, start = [], time.perf_counter()
    model.train()
    for _ in range(recipe.epochs):
        order, total = torch.randperm(n, generator=g), 0.0
        for b in range(0, n, recipe.batch_size):
            idx = order[b: b + recipe.batch_size]
            loss = F.cross_entropy(forward(model, inputs, idx), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / n)
    model.eval()
    return {"loss": losses, "seconds": time.perf_counter() - start,
            "trainable_parameters": sum(p.numel() for p in params)}


def accuracy_report(logits: torch.Tensor, labels: torch.Tensor, recipe: InteractionSynthRecipe) -> dict[str, float]:
    """Top-1 (percent) on the pair, and on each factor alone (colour, direction) read off the predicted pair."""
    pred = logits.argmax(-1)
    n_m = len(recipe.motions)
    return {"top1": float((pred == labels).float().mean()) * 100,
            "colour": float((pred // n_m == labels // n_m).float().mean()) * 100,
            "direction": float((pred % n_m == labels % n_m).float().mean()) * 100}


def _head(dim: int, num_classes: int) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_classes))


def compare_classifiers(recipe: InteractionSynthRecipe, seed: int, mae: nn.Module, mm: nn.Module, data: InteractionData
                        ) -> dict[str, dict[str, Any]]:
    """Train and test, with the same budget: a classifier on the VideoMAE features alone, on the InternVideo-MM
    video embedding alone, their late fusion (mean of the two classifiers' logits, nothing more trained), a
    classifier on the concatenated frozen features, the control "same blocks, own tokens" (the CMA architecture
    with each encoder attending to its own tokens: the same extra capacity, no interaction) and the cross-model
    attention model (:class:`~internvideo_core.models.interaction.ModelInteraction`). Returns per model
    ``{"top1", "colour", "direction", "trainable_parameters", "loss", "seconds", "logits"}`` (plus ``"gates"`` and
    ``"model"`` for the two attention models)."""
    from internvideo_core.models.interaction import InteractionState, ModelInteraction

    r = recipe
    k = len(r.classes)
    torch.manual_seed(seed)
    cma = ModelInteraction(mae, mm, k, num_layers=r.num_layers, directions=r.directions, mlp_ratio=r.mlp_ratio)
    with torch.no_grad():
        states = {s: InteractionState.cat([cma.stem(a[i: i + 64], b[i: i + 64]) for i in range(0, len(a), 64)])
                  for s, a, b in (("train", data.x_mae_train, data.x_mm_train), ("test", data.x_mae_test, data.x_mm_test))}
        feats = {s: cma.features_from(st) for s, st in states.items()}  # the frozen encoders' own features
    out: dict[str, dict[str, Any]] = {}
    singles = {"VideoMAE alone": 0, "InternVideo-MM alone": 1, "concatenation (no CMA)": None}
    for name, which in singles.items():
        torch.manual_seed(seed)
        f_tr, f_te = ((feats[s][which] if which is not None else torch.cat(feats[s], -1)) for s in ("train", "test"))
        head = _head(f_tr.shape[1], k)
        hist = train_classifier(r, seed, head, f_tr, data.y_train, lambda m, x, i: m(x[i]))
        with torch.no_grad():
            logits = head(f_te)
        out[name] = {**accuracy_report(logits, data.y_test, r), **hist, "logits": logits}
    fused = (out["VideoMAE alone"]["logits"] + out["InternVideo-MM alone"]["logits"]) / 2
    out["late fusion (mean logits)"] = {
        **accuracy_report(fused, data.y_test, r), "loss": [], "seconds": 0.0, "logits": fused,
        "trainable_parameters": out["VideoMAE alone"]["trainable_parameters"]
        + out["InternVideo-MM alone"]["trainable_parameters"]}
    for name, context in (("same blocks, own tokens", "self"), ("cross-model attention", "other")):
        torch.manual_seed(seed)
        model = cma if context == "other" else ModelInteraction(
            mae, mm, k, num_layers=r.num_layers, directions=r.directions, mlp_ratio=r.mlp_ratio, context="self")
        hist = train_classifier(r, seed, model, states["train"], data.y_train,
                                lambda m, s, i: m.forward_from(s.index(i)))
        with torch.no_grad():
            logits = model.forward_from(states["test"])
        gates = {d: [float(b.gate_attn.detach().abs().mean()) for b in getattr(model, d) or []]
                 for d in ("to_mae", "to_mm")}
        out[name] = {**accuracy_report(logits, data.y_test, r), **hist, "logits": logits, "gates": gates,
                     "model": model}
    return out
