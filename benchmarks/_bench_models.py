"""Models and inputs of ``bench_videomae.py``: every contender built from the kit model's weights, the seeded
clips and tube mask they all get, and how each contender is called.

Contenders: ``kit`` (and its ``kit_compile`` copy), ``hf_sdpa`` / ``hf_eager`` (transformers VideoMAE with
the kit's weights, ``attn_implementation`` sdpa / eager) and ``official`` (``_official_style.py``). Videos
are ``[B, 3, T, H, W]`` (``[B, T, 3, H, W]`` for HF), masks ``bool [B, N]``.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
from typing import Any, Callable

import torch
from _bench_guard import error_record
from _official_style import OfficialStyleClassifier, OfficialStylePretrain, official_style_pretrain_loss
from torch import nn

from internvideo_core.checkpoint import to_official_state_dict
from internvideo_core.convert.hf_videomae import hf_config_kwargs, load_into_hf
from internvideo_core.masking import tube_mask
from internvideo_core.registry import create_model

__all__ = ["build_kit", "build_hf", "build_official", "build_models", "make_video", "make_mask",
           "classifier_call", "pretrain_calls", "autocast_ctx"]

_TINY = dict(embed_dim=64, depth=2, num_heads=4, decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=2)
_DECODER_KEYS = ("decoder_embed_dim", "decoder_depth", "decoder_num_heads")


def build_kit(workload: str, args: argparse.Namespace) -> nn.Module:
    """The kit model for ``workload`` (CPU, fp32): a classifier or the masked autoencoder.

    Classifier: ``drop_path_rate=0`` (no contender has stochastic depth here), ``init_scale=1`` (an O(1)
    head, so the logit check is meaningful), sinusoid table for the model's own grid (what HF and the
    official pretraining code build), ``--num-classes`` outputs.
    """
    size = "base" if args.model == "tiny" else args.model
    arch = dict(_TINY) if args.model == "tiny" else {}
    common = dict(img_size=args.img_size, num_frames=args.frames)
    if workload == "pretrain":
        return create_model(f"videomae_pretrain_{size}_patch16_224", **common, **arch)
    arch = {k: v for k, v in arch.items() if k not in _DECODER_KEYS}
    return create_model(f"videomae_vit_{size}_patch16_224", **common, **arch, drop_path_rate=0.0,
                        pos_ref_img_size=None, init_scale=1.0, num_classes=args.num_classes)


def build_hf(kit: nn.Module, attn: str) -> nn.Module:
    """A transformers VideoMAE model with the kit model's weights and ``attn_implementation=attn``."""
    import transformers

    pretraining = hasattr(kit.config, "decoder_embed_dim")
    config = transformers.VideoMAEConfig(**hf_config_kwargs(kit.config), attn_implementation=attn)
    cls = transformers.VideoMAEForPreTraining if pretraining else transformers.VideoMAEForVideoClassification
    model = cls(config)
    load_into_hf(model, to_official_state_dict(kit))  # zero key bias where this transformers version has one
    if model.config._attn_implementation != attn:
        raise RuntimeError(f"transformers built attention {model.config._attn_implementation!r}, asked {attn!r}")
    eps = kit.config.layer_norm_eps  # HF hard-codes eps 1e-5 for these two norms; the checkpoints use 1e-6
    norm = model.decoder.norm if pretraining else model.fc_norm
    if norm is not None:
        norm.eps = eps
    return model


def build_official(kit: nn.Module) -> nn.Module:
    """The explicit-attention ("official") model with the kit model's weights (strict load)."""
    pretraining = hasattr(kit.config, "decoder_embed_dim")
    model = (OfficialStylePretrain if pretraining else OfficialStyleClassifier)(kit.config)
    model.load_state_dict(to_official_state_dict(kit), strict=True)
    return model


def build_models(workload: str, contenders: list[str], args: argparse.Namespace,
                 errors: dict[str, dict[str, str]] | None = None, *,
                 build_hf: Callable[[nn.Module, str], nn.Module] = build_hf) -> dict[str, nn.Module]:
    """``{contender: model}`` on the CPU in fp32, all with the same weights (the kit model is always built:
    it is the source of the weights).

    ``kit_compile`` is a copy of the kit model (the kit model itself when ``kit`` is not asked for); it is
    compiled later, on the device, by :func:`measure`. With ``errors`` given, a contender that fails to
    build is recorded there (``{name: error_record}``) and left out instead of raising. ``build_hf``: the HF
    builder (``bench_videomae.run`` passes its own name so it can be replaced, e.g. by a test).
    """
    torch.manual_seed(args.seed)
    kit = build_kit(workload, args)
    models: dict[str, nn.Module] = {}
    for name in contenders:
        try:
            if name == "kit":
                models[name] = kit
            elif name == "kit_compile":
                models[name] = copy.deepcopy(kit) if "kit" in contenders else kit
            elif name == "hf_sdpa":
                models[name] = build_hf(kit, "sdpa")
            elif name == "hf_eager":
                models[name] = build_hf(kit, "eager")
            elif name == "official":
                models[name] = build_official(kit)
        except Exception as exc:
            if errors is None:
                raise
            errors[name] = error_record(exc, "build")
    return models


# ------------------------------------------------------------------------------------------------------------
# inputs and per-contender calls
# ------------------------------------------------------------------------------------------------------------
def make_video(batch: int, args: argparse.Namespace, device: torch.device, hf_layout: bool) -> torch.Tensor:
    """A seeded random clip batch ``[B, 3, T, H, W]`` (``[B, T, 3, H, W]`` for HF), fp32 on ``device``."""
    g = torch.Generator().manual_seed(args.seed + 1)
    x = torch.randn(batch, 3, args.frames, args.img_size, args.img_size, generator=g)
    if hf_layout:
        x = x.transpose(1, 2)
    return x.contiguous().to(device)


def make_mask(batch: int, kit_config: Any, args: argparse.Namespace, device: torch.device) -> torch.Tensor:
    """Tube mask ``bool [B, N]`` (ratio ``--mask-ratio``), the same for every contender."""
    return tube_mask(batch, kit_config.grid, args.mask_ratio, generator=torch.Generator().manual_seed(args.seed + 2),
                     device=device)


def classifier_call(name: str, model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``f(video) -> logits`` (video in the contender's own layout)."""
    if name.startswith("hf_"):
        return lambda x: model(pixel_values=x).logits
    return model


def pretrain_calls(name: str, model: nn.Module) -> tuple[Callable, Callable]:
    """``(predict(video, mask) -> [B, N_masked, P], loss(video, mask) -> scalar)`` for a contender."""
    if name.startswith("hf_"):
        return (lambda x, m: model(pixel_values=x, bool_masked_pos=m).logits,
                lambda x, m: model(pixel_values=x, bool_masked_pos=m).loss)
    if name == "official":
        return model, lambda x, m: official_style_pretrain_loss(model, x, m)
    counts: dict[int, int] = {}  # the masked count, read once per mask (as the training loop knows it)

    def count(m: torch.Tensor) -> int:
        if id(m) not in counts:
            counts[id(m)] = int(m[0].sum())
        return counts[id(m)]

    return (lambda x, m: model(x, m, num_masked=count(m)), lambda x, m: model.loss(x, m, num_masked=count(m)))


def autocast_ctx(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


