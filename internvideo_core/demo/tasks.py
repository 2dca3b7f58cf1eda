"""The demo's four tasks as plain functions of models and tensors (no files, no Gradio).

    probs = classify(model, views)                                   # [C], softmax per view, mean over views
    probs = zero_shot(model, video, labels, templates, tokenize)     # [C] softmax over logit_scale * cosine
    order, sims = rank_videos(text_emb, video_embs)                  # gallery order, best first
    rec = reconstruct(model, x, ratio=0.9, seed=0)                   # tube mask, prediction, two de-normalisations
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from internvideo_core.masking import visible_statistics

__all__ = [
    "classify", "top_k", "parse_labels", "parse_templates", "encode_video", "encode_text", "zero_shot",
    "rank_videos", "Reconstruction", "reconstruct", "neighbour_statistics", "OBJECT_THRESHOLD",
]


# ------------------------------------------------------------------------------------------ recognition
@torch.no_grad()
def classify(model: nn.Module, views: torch.Tensor) -> torch.Tensor:
    """Class probabilities ``[C]`` of one video from its views ``[V, 3, T, H, W]``: softmax per view, then the
    mean over views (the official multi-view test rule)."""
    return model(views.to(_device(model))).float().softmax(dim=-1).mean(dim=0).cpu()


def top_k(probs: torch.Tensor, classes: Sequence[str], k: int = 5) -> dict[str, float]:
    """The ``k`` most probable classes ``{name: probability}``, most probable first."""
    if len(classes) != probs.shape[-1]:
        raise ValueError(f"{probs.shape[-1]} probabilities but {len(classes)} class names")
    values, idx = probs.float().topk(min(k, probs.shape[-1]))
    return {classes[i]: float(v) for v, i in zip(values.tolist(), idx.tolist())}


# ------------------------------------------------------------------------------------------ video-text
def parse_labels(text: str) -> list[str]:
    """Comma-separated candidate labels -> distinct, stripped, non-empty labels in their first order."""
    out: list[str] = []
    for part in (text or "").replace("\n", ",").split(","):
        label = " ".join(part.split())
        if label and label not in out:
            out.append(label)
    return out


def parse_templates(text: str) -> list[str]:
    """Prompt templates, one per line, each with one ``{}`` (the label); empty text -> ``["{}"]``.

    Raises ``ValueError`` naming a line without ``{}``."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    for ln in lines:
        if ln.count("{}") != 1:
            raise ValueError(f"the prompt template {ln!r} needs exactly one {{}} where the label goes, "
                             "e.g. 'a video of a person {}.'")
    return lines or ["{}"]


@torch.no_grad()
def encode_video(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """L2-normalised video embedding ``[E]`` of ``x [V, 3, T, H, W]`` (mean over views)."""
    return F.normalize(F.normalize(model.encode_video(x.to(_device(model))).float(), dim=-1).mean(0), dim=-1).cpu()


@torch.no_grad()
def encode_text(model: nn.Module, texts: Sequence[str], tokenize: Callable[[Sequence[str]], torch.Tensor]
                ) -> torch.Tensor:
    """L2-normalised text embeddings ``[N, E]``."""
    return F.normalize(model.encode_text(tokenize(list(texts)).to(_device(model))).float(), dim=-1).cpu()


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _scale(model: nn.Module) -> float:
    return float(model.logit_scale.detach().float().exp())


@torch.no_grad()
def zero_shot(model: nn.Module, video: torch.Tensor, labels: Sequence[str], templates: Sequence[str],
              tokenize: Callable[[Sequence[str]], torch.Tensor]) -> torch.Tensor:
    """Zero-shot probabilities ``[C]`` of ``labels`` for one video.

    ``video``: the preprocessed clip ``[V, 3, T, H, W]`` or its embedding ``[E]``. Every label is put in every
    template; per template, ``softmax(logit_scale * cosine)`` over the labels; the mean over templates (the
    kit's prompt-ensemble protocol, :func:`internvideo_core.eval.zeroshot.zero_shot_classify`).
    """
    from internvideo_core.eval.zeroshot import class_text_embeddings, zero_shot_classify

    if not labels:
        raise ValueError("give at least one candidate label")
    v = encode_video(model, video) if video.ndim == 5 else F.normalize(video.float(), dim=-1)
    dev = _device(model)
    text = class_text_embeddings(list(labels), list(templates), lambda tok: model.encode_text(tok.to(dev)).cpu(),
                                 tokenize)                                   # [T, C, E]
    return zero_shot_classify(v[None], text, ensemble="softmax_mean", logit_scale=_scale(model))[0]


def rank_videos(text_emb: torch.Tensor, video_embs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Text-to-video retrieval: ``(order [N], cosine [N])``, order = gallery indices by decreasing similarity
    (ties keep the gallery order)."""
    sims = F.normalize(video_embs.float(), dim=-1) @ F.normalize(text_emb.float().reshape(-1), dim=0)
    order = torch.from_numpy(np.argsort(-sims.numpy(), kind="stable").copy())
    return order, sims


# ------------------------------------------------------------------------------------------ reconstruction
@dataclass
class Reconstruction:
    """Pictures of one masked-autoencoder pass, all uint8 ``[T, H, W, 3]``: ``original`` (the model's input
    un-normalised), ``masked`` (masked tubelets greyed out), ``official`` (predicted tubelets de-normalised with
    their true mean/std, as the official VideoMAE visualisation), ``from_visible`` (de-normalised with a mean/std
    interpolated from the visible tubelets only: nothing of the hidden pixels is used). ``mask``: bool ``[N]``
    (True = masked), ``grid`` (t, h, w), ``tubelet``; ``loss``: the normalised-pixel MSE on the masked tokens;
    ``error_official`` / ``error_from_visible``: pixel MSE (0-1 scale) of the two pictures on the masked area.
    ``object_tubelets`` / ``object_loss`` / ``object_mean_patch``: how many masked tubelets hold structure (a
    normalised target value above :data:`OBJECT_THRESHOLD`: the object's edges and pattern), the model's
    normalised-pixel MSE on them and that of the mean-patch baseline (predict each tubelet's own mean, i.e. zeros):
    the ``object_model`` / ``object_mean_patch`` of
    :func:`~internvideo_core.recipes.videomae_synth.reconstruction_report` for one clip (``None`` for a model
    without normalised-pixel targets; NaN losses when no object tubelet is masked)."""

    original: np.ndarray
    masked: np.ndarray
    official: np.ndarray
    from_visible: np.ndarray
    mask: torch.Tensor
    grid: tuple[int, int, int]
    tubelet: int
    loss: float
    error_official: float
    error_from_visible: float
    object_tubelets: int | None = None
    object_loss: float = float("nan")
    object_mean_patch: float = float("nan")

    @property
    def object_ratio(self) -> float:
        """``object_loss / object_mean_patch`` (below 1: better than predicting each tubelet's mean)."""
        return self.object_loss / self.object_mean_patch if self.object_mean_patch > 0 else float("nan")


#: A masked tubelet is an object tubelet when some normalised target value exceeds this (as
#: :func:`~internvideo_core.recipes.videomae_synth.reconstruction_report` counts them).
OBJECT_THRESHOLD = 0.5


#: The demo's name for :func:`internvideo_core.masking.visible_statistics` (kept for callers of the demo API).
neighbour_statistics = visible_statistics


@torch.no_grad()
def reconstruct(model: nn.Module, x: torch.Tensor, ratio: float = 0.9, seed: int = 0,
                pixel_mean: Sequence[float] = (0.485, 0.456, 0.406),
                pixel_std: Sequence[float] = (0.229, 0.224, 0.225)) -> Reconstruction:
    """Tube-mask ``x [1, 3, T, H, W]`` (normalised with ``pixel_mean/std``) at ``ratio`` and reconstruct it.

    The mask comes from :func:`internvideo_core.masking.tube_mask` with a generator seeded by ``seed``. With
    normalised-pixel targets the decoder predicts each tubelet up to its mean and std; the two pictures put those
    back with the true statistics (``official``) or with :func:`neighbour_statistics` (``from_visible``).
    """
    from internvideo_core.masking import tube_mask
    from internvideo_core.viz import mask_frames

    if x.ndim != 5 or x.shape[0] != 1:
        raise ValueError(f"expected one clip [1, 3, T, H, W], got {tuple(x.shape)}")
    cfg = model.config
    grid, tub = tuple(cfg.grid), cfg.tubelet_size
    mask = tube_mask(1, grid, ratio, generator=torch.Generator().manual_seed(int(seed)))
    dev = _device(model)
    pred = model(x.to(dev), mask.to(dev)).float()                            # [1, N_mask, P*C]
    target = model.targets(x.to(dev), mask.to(dev)).float()                  # [1, N_mask, P*C]
    loss = float(F.mse_loss(pred, target))
    objects: dict[str, Any] = {}
    if cfg.norm_pix_loss:
        obj = target.abs().amax(-1) > OBJECT_THRESHOLD                       # [1, N_mask]
        n_obj = int(obj.sum())
        objects = {"object_tubelets": n_obj}
        if n_obj:
            objects.update(object_loss=float((pred - target).pow(2).mean(-1)[obj].mean()),
                           object_mean_patch=float(target.pow(2).mean(-1)[obj].mean()))
    pred, x = pred.cpu(), x.cpu()
    mean_t = torch.tensor(pixel_mean, dtype=torch.float32).view(1, 3, 1, 1, 1)
    std_t = torch.tensor(pixel_std, dtype=torch.float32).view(1, 3, 1, 1, 1)
    pixels = (x.float() * std_t + mean_t).clamp(0, 1)                        # [1, 3, T, H, W] in [0, 1]
    patches = model.patchify(pixels)                                         # [1, N, P, C]
    pred = rearrange(pred, "b n (p c) -> b n p c", c=patches.shape[-1])
    _, masked_idx = model.split_indices(mask)
    idx = masked_idx[..., None, None].expand(-1, -1, *patches.shape[-2:])

    def paint(stat_mean: torch.Tensor | None, stat_std: torch.Tensor | None) -> torch.Tensor:
        p = pred
        if stat_mean is not None:
            p = p * (stat_std.gather(1, masked_idx[..., None].expand(-1, -1, 3))[:, :, None] + 1e-6) \
                + stat_mean.gather(1, masked_idx[..., None].expand(-1, -1, 3))[:, :, None]
        full = patches.scatter(1, idx, p)
        return model.unpatchify(rearrange(full, "b n p c -> b n (p c)")).clamp(0, 1)  # [1, 3, T, H, W]

    if cfg.norm_pix_loss:
        true_mean, true_std = (v.squeeze(-2) for v in model.patch_statistics(patches))  # [1, N, C] each
        est_mean, est_std = neighbour_statistics(true_mean, true_std, mask, grid)
        official, from_visible = paint(true_mean, true_std), paint(est_mean, est_std)
    else:
        official = from_visible = paint(None, None)
    pix_mask = model.unpatchify(mask[..., None].float().expand(-1, -1, patches.shape[-2] * 3)).bool()

    def err(rec: torch.Tensor) -> float:
        return float((rec - pixels).pow(2)[pix_mask].mean()) if bool(pix_mask.any()) else 0.0

    def frames(v: torch.Tensor) -> np.ndarray:
        return (rearrange(v[0], "c t h w -> t h w c").numpy() * 255 + 0.5).astype(np.uint8)

    original = frames(pixels)
    return Reconstruction(original, mask_frames(original, mask[0], grid, tubelet=tub), frames(official),
                          frames(from_visible), mask[0], grid, tub, loss, err(official), err(from_visible), **objects)
