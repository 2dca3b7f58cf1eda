"""Checkpoint conversion for InternVideo-MM (:class:`~internvideo_core.models.mm.InternVideoMM`).

Layouts read by ``from_external`` (picked automatically):

- the released Lightning files (``InternVideo-MM-B-16.ckpt``, ``-L-14.ckpt``): ``{"state_dict": ...}`` with
  the dual encoder under ``clip.``; the prefix is stripped (the kit uses the official names), every other
  prefix (``caption_decoder.`` ...) is listed in ``report.ignored`` and not loaded; float16 tensors are
  cast to the model's dtype (float32) by :func:`~internvideo_core.checkpoint.load_checkpoint`;
- the same keys without prefix (:func:`to_official`, the kit's own safetensors);
- OpenAI-CLIP layout (``visual.conv1.weight`` 2-D ``[W, 3, p, p]``, ``visual.ln_post``, ``visual.proj``):
  an initialisation source, see :func:`clip_to_mm_state_dict` / :func:`init_from_clip_state_dict`.

``to_official`` returns the official keys without the ``clip.`` prefix (as in ``key_manifests.json``);
:func:`to_lightning_checkpoint` wraps them the way the official ``load_model`` reads them.
"""
from __future__ import annotations

import math
from typing import Mapping

import torch
import torch.nn.functional as F
from einops import rearrange

from internvideo_core.checkpoint import CheckpointError, Converter, LoadReport, register_converter
from internvideo_core.models.mm import InternVideoMM

__all__ = [
    "PREFIX",
    "is_clip_layout",
    "clip_to_mm_state_dict",
    "init_from_clip_state_dict",
    "from_external",
    "to_official",
    "to_lightning_checkpoint",
]

PREFIX = "clip."
_TEMPORAL_PREFIXES = ("visual.transformer.dpe.", "visual.transformer.dec.")
_TEMPORAL_KEYS = ("visual.transformer.temporal_cls_token", "visual.transformer.balance")


def is_clip_layout(tensors: Mapping[str, torch.Tensor]) -> bool:
    """True for an OpenAI-CLIP state dict (image tower with ``visual.proj`` / ``visual.ln_post``)."""
    return "visual.proj" in tensors or "visual.ln_post.weight" in tensors


def _is_temporal(key: str) -> bool:
    return key.startswith(_TEMPORAL_PREFIXES) or key in _TEMPORAL_KEYS


def _resize_positions(pos: torch.Tensor, grid: int) -> torch.Tensor:
    """CLIP image positions ``[1 + g*g, C]`` -> ``[1 + grid*grid, C]`` (bicubic over the patch grid)."""
    old = math.isqrt(pos.shape[0] - 1)
    if old * old != pos.shape[0] - 1:
        raise CheckpointError(f"visual.positional_embedding has {pos.shape[0]} rows, not 1 + a square grid")
    patches = rearrange(pos[1:].float(), "(h w) c -> 1 c h w", h=old)
    patches = F.interpolate(patches, size=(grid, grid), mode="bicubic", align_corners=False)
    return torch.cat([pos[:1].float(), rearrange(patches, "1 c h w -> (h w) c")]).to(pos.dtype)


def clip_to_mm_state_dict(model: InternVideoMM, clip: Mapping[str, torch.Tensor],
                          report: LoadReport) -> dict[str, torch.Tensor]:
    """Map an OpenAI-CLIP state dict onto InternVideo-MM names and shapes.

    - ``visual.conv1.weight [W, 3, p, p]`` -> ``[W, 3, 1, p, p]`` (the stem's temporal kernel is 1, so this
      inflation is exact: every frame is embedded as CLIP embeds an image);
    - ``visual.ln_post`` -> ``visual_ln_post``, ``visual.proj`` -> ``visual_proj``;
    - image positions bicubic-resized when the model's grid differs, text positions cut to the model's
      ``context_length`` (both noted in ``report.resized``);
    - image and text blocks, embeddings, ``ln_final``, ``text_projection``, ``logit_scale``: 1:1;
    - the temporal modules and ``text_mask_embedding`` are not in CLIP: they are reset to their official
      init (zero-output extractors, ``balance`` 0, zero query) and listed in ``report.initialized``.
      With that init the video tower returns ``0.5 * mean_t(CLIP class token of frame t)``, and since
      ``visual_ln_post`` is a LayerNorm (scale-invariant up to its eps), a static clip embeds like its
      frame through the CLIP image tower.
    """
    own = model.state_dict()
    out: dict[str, torch.Tensor] = {}
    for key, value in clip.items():
        if not isinstance(value, torch.Tensor):
            continue  # the JIT archives also hold ints (input_resolution, context_length, vocab_size)
        new = {"visual.ln_post.weight": "visual_ln_post.weight", "visual.ln_post.bias": "visual_ln_post.bias",
               "visual.proj": "visual_proj"}.get(key, key)
        if new not in own:
            report.ignored[key] = "not a parameter of InternVideo-MM"
            continue
        target = tuple(own[new].shape)
        if new == "visual.conv1.weight" and value.dim() == 4:
            value = value.unsqueeze(2)
            report.notes.append("visual.conv1.weight inflated from 2-D [W, 3, p, p] to 3-D [W, 3, 1, p, p]")
        elif new == "visual.positional_embedding" and tuple(value.shape) != target and value.shape[1] == target[1]:
            resized = _resize_positions(value, model.visual.grid)
            report.resized[key] = f"{tuple(value.shape)} -> {tuple(resized.shape)} (bicubic over the patch grid)"
            value = resized
        elif new == "positional_embedding" and value.shape[0] > target[0] and value.shape[1] == target[1]:
            report.resized[key] = f"{tuple(value.shape)} -> {target} (first {target[0]} positions)"
            value = value[: target[0]]
        out[new] = value
    model.visual.transformer.reset_temporal_parameters()
    for key in own:
        if key not in out:
            if _is_temporal(key):
                report.initialized[key] = "temporal module, official zero-output init"
            elif key == "text_mask_embedding":
                report.initialized[key] = "masked-language-modelling token, not in CLIP (N(0, 0.02) init)"
    return out


def from_external(model: InternVideoMM, tensors: dict[str, torch.Tensor], report: LoadReport) -> dict[str, torch.Tensor]:
    """Official Lightning / prefix-free official / OpenAI-CLIP tensors -> ``model.state_dict()`` names."""
    if any(k.startswith(PREFIX) for k in tensors):
        state: dict[str, torch.Tensor] = {}
        for key, value in tensors.items():
            if key.startswith(PREFIX):
                state[key[len(PREFIX):]] = value
            else:
                head = key.split(".", 1)[0]
                report.ignored[key] = (f"prefix '{head}.' is not part of the dual encoder "
                                       f"(only '{PREFIX}' is loaded)")
        report.notes.append(f"official layout: prefix '{PREFIX}' stripped")
    elif is_clip_layout(tensors):
        report.notes.append("OpenAI-CLIP layout: image/text towers loaded, temporal modules freshly initialised")
        state = clip_to_mm_state_dict(model, tensors, report)
    else:
        state = dict(tensors)
    dtypes = sorted({str(v.dtype).replace("torch.", "") for v in state.values() if v.is_floating_point()})
    if "float16" in dtypes or "bfloat16" in dtypes:
        report.notes.append(f"stored as {'/'.join(dtypes)}; cast to the model dtype (float32) for computing")
    return state


def init_from_clip_state_dict(model: InternVideoMM, state_dict: Mapping[str, torch.Tensor], *,
                              strict: bool = True) -> LoadReport:
    """Initialise ``model`` from an OpenAI-CLIP state dict (e.g. ``torch.jit.load(ViT-B-16.pt).state_dict()``).

    See :func:`clip_to_mm_state_dict` for the mapping. ``strict``: shape mismatches or CLIP parameters
    missing from the file raise :class:`~internvideo_core.checkpoint.CheckpointError`. Returns the report.
    """
    report = LoadReport(path="<OpenAI-CLIP state dict>", source_format="openai-clip")
    state = clip_to_mm_state_dict(model, state_dict, report)
    own = model.state_dict()
    wrong = [f"{k}: CLIP {tuple(v.shape)} vs model {tuple(own[k].shape)}" for k, v in state.items()
             if tuple(v.shape) != tuple(own[k].shape)]
    missing = sorted(set(own) - set(state) - set(report.initialized))
    if strict and (wrong or missing):
        raise CheckpointError(
            "the CLIP weights do not fit this InternVideo-MM config: "
            + "; ".join(filter(None, [", ".join(wrong[:8]), f"missing {missing[:8]}" if missing else ""]))
            + ". Pick the matching model (ViT-B/16 -> internvideo_mm_b16, ViT-L/14 -> internvideo_mm_l14) "
              "or override vision/text widths and layers to match.")
    for entry in wrong:
        key = entry.split(":", 1)[0]
        report.ignored[key] = "shape does not fit: " + entry.split(": ", 1)[1]
        state.pop(key)
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)
    report.converted = len(state)
    return report


def to_official(model: InternVideoMM) -> dict[str, torch.Tensor]:
    """Official key names and shapes without the ``clip.`` prefix (the layout of ``key_manifests.json``)."""
    return {k: v.detach() for k, v in model.state_dict().items()}


def to_lightning_checkpoint(model: InternVideoMM, dtype: torch.dtype = torch.float16) -> dict:
    """``{"state_dict": {"clip." + key: tensor}}`` as the released ``.ckpt`` files (float16 by default);
    ``torch.save`` it and the official ``InternVideo.load_model`` can read it."""
    return {"state_dict": {PREFIX + k: v.detach().to(dtype).cpu() for k, v in to_official(model).items()}}


register_converter(InternVideoMM, Converter(from_external=from_external, to_official=to_official))
