"""The official ``--mergeclip`` of InternVideo's retrieval code: weight-space interpolation with OpenAI CLIP.

``InternVideo1/Downstream/Video-Text-Retrieval/modules/clip_evl/model.py`` (``build_model``, ``mergeclip=True``,
``mergeweight=0.5`` in ``zeroshot_scripts/*.sh`` and ``eval_finetuned_scripts/*.sh``): the CLIP weights are first
put into the video model (2-D patch embedding inflated to 3-D), then for every key ``k`` of the InternVideo-MM
state dict that is also a key of the **original CLIP state dict**::

    new[k] = mergeweight * clip[k] + (1 - mergeweight) * internvideo[k]

Quirks kept here (each checked by ``tests/test_eval_commands.py``):

* the official code renames CLIP's ``visual.proj`` / ``visual.ln_post.*`` to ``visual_proj`` /
  ``visual_ln_post.*`` in the model but compares against the CLIP file's *original* names, so those three
  tensors are **not** merged (nor are the temporal modules and ``text_mask_embedding``, which CLIP lacks);
* ``--mergeclip`` is an ``argparse`` ``type=bool`` flag, so any non-empty value (even ``False``) turns it on;
* for fine-tuned evaluation the fine-tuned ``pytorch_model.bin`` is loaded after the merge and overwrites it.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

__all__ = ["read_clip_state_dict", "merge_clip_weights", "NOT_MERGED"]

#: CLIP keys that the official merge skips because the model calls them differently.
NOT_MERGED = ("visual.proj", "visual.ln_post.weight", "visual.ln_post.bias")


def read_clip_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """OpenAI CLIP weights: a state dict file (``torch.load(weights_only=True)``) or the released TorchScript
    archive (``ViT-L-14.pt``, read with ``torch.jit.load`` on the CPU; only its tensors are used)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"CLIP weights not found: {p} (the OpenAI file, e.g. ViT-L-14.pt)")
    try:
        raw = torch.load(p, map_location="cpu", weights_only=True)
    except Exception:
        raw = torch.jit.load(str(p), map_location="cpu").state_dict()
    if isinstance(raw, dict) and "state_dict" in raw and isinstance(raw["state_dict"], dict):
        raw = raw["state_dict"]
    return {k: v for k, v in raw.items() if isinstance(v, torch.Tensor)}


@torch.no_grad()
def merge_clip_weights(model: nn.Module, clip: str | os.PathLike | dict[str, torch.Tensor],
                       weight: float = 0.5) -> list[str]:
    """Interpolate ``model`` (an :class:`~internvideo_core.models.mm.InternVideoMM`) in place with CLIP weights.

    Returns the merged parameter names. ``weight`` is the official ``mergeweight`` (the CLIP share, 0..1).
    """
    from internvideo_core.checkpoint import LoadReport
    from internvideo_core.convert.mm import clip_to_mm_state_dict

    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"mergeweight must lie in [0, 1], got {weight}")
    clip_sd = read_clip_state_dict(clip) if not isinstance(clip, dict) else clip
    own = model.state_dict()
    saved = {k: own[k].clone() for k in own if k.startswith("visual.transformer.")}
    mapped = clip_to_mm_state_dict(model, clip_sd, LoadReport(path="<clip>", source_format="openai-clip"))
    model.load_state_dict(saved, strict=False)  # clip_to_mm_state_dict resets the temporal modules: undo that
    merged = []
    for key, value in mapped.items():
        if key not in own or key not in clip_sd or key in NOT_MERGED:
            continue
        if tuple(value.shape) != tuple(own[key].shape):
            raise ValueError(f"CLIP tensor {key} has shape {tuple(value.shape)}, the model {tuple(own[key].shape)}: "
                             "pick the CLIP file of the same size (ViT-B/16 for B/16, ViT-L/14 for L/14)")
        own[key].copy_(weight * value.to(own[key].dtype) + (1.0 - weight) * own[key])
        merged.append(key)
    return merged
