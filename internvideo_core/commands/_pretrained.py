"""The one place where the evaluation commands turn a model name into a ready model (adapter).

``load_for_eval(name_or_path, checkpoint=...)``: a released name goes through
:func:`internvideo_core.pretrained.load_pretrained` (its architecture, overrides, input protocol and class
names, the one way the kit gets a released model); an architecture name with ``--checkpoint`` through
:func:`internvideo_core.registry.create_model`. The commands only use the :class:`EvalModel` fields below.

Also here: the device / bf16 autocast choice shared by the commands (CUDA with bf16 autocast when present).
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

__all__ = ["EvalModel", "load_for_eval", "pick_device", "autocast", "add_common_args", "cache_root", "model_from_args",
           "write_json", "encoder"]


@dataclass
class EvalModel:
    """A model ready for evaluation and how to feed it.

    ``family``: ``"mm"`` (dual encoder: ``encode_video`` / ``encode_text``) or ``"videomae"`` (classifier).
    ``num_frames`` / ``img_size``: the input protocol (zoo entry, else the architecture's config).
    ``class_names``: the classifier's labels when known. ``fingerprint``: what identifies the weights (for the
    embedding cache).
    """

    model: nn.Module
    name: str
    arch: str
    family: str
    num_frames: int
    img_size: int
    checkpoint: str | None
    class_names: list[str] | None = None
    fingerprint: dict[str, Any] = field(default_factory=dict)


def load_for_eval(name_or_path: str, checkpoint: str | os.PathLike | None = None,
                  overrides: dict[str, Any] | None = None, device: torch.device | str = "cpu",
                  strict: bool = True, random_weights: bool = False) -> EvalModel:
    """Model ``name_or_path`` (an architecture of ``list_models()`` or a released checkpoint of
    ``list_pretrained()``, downloaded if ``checkpoint`` is not given) with the weights of ``checkpoint``.

    A released name gives its architecture, its overrides (e.g. ``num_frames=12`` for the MSR-VTT retrieval
    fine-tune) and its frame count; ``overrides`` win. An architecture name without ``checkpoint`` is refused
    (random weights give meaningless numbers) unless ``random_weights=True``.
    """
    from internvideo_core.eval.embedding_cache import file_fingerprint
    from internvideo_core.pretrained import load_pretrained
    from internvideo_core.registry import create_model, get_model_entry, get_pretrained, list_pretrained

    overrides = dict(overrides or {})
    entry = get_pretrained(name_or_path) if name_or_path in list_pretrained() else None
    arch = entry.arch if entry else name_or_path
    classes = None
    if entry is not None:
        model, pre, names = load_pretrained(name_or_path, checkpoint_path=checkpoint, strict=strict, **overrides)
        overrides = {**entry.overrides, **overrides}
        num_frames, img_size = int(pre.spec.num_frames), int(pre.spec.crop_size)
        classes = list(names) if names else None
    else:
        if checkpoint is None and not random_weights:
            raise SystemExit(f"{name_or_path} is an architecture, not a released checkpoint: give --checkpoint FILE "
                             "or a released name (`internvideo zoo list`), e.g. internvideo_mm_l14_pretrain")
        model = create_model(arch, checkpoint_path=None if checkpoint is None else str(checkpoint), strict=strict,
                             **overrides)
        cfg = model.config
        num_frames = int(overrides.get("num_frames", cfg.num_frames))
        img_size = int(getattr(cfg, "img_size", None) or getattr(cfg, "input_resolution", 224))
    family = get_model_entry(arch).family or ("mm" if hasattr(model, "encode_text") else "videomae")
    ckpt = str(checkpoint) if checkpoint is not None else (entry.name if entry else None)
    fp = {"arch": arch, "overrides": overrides,
          "weights": file_fingerprint(checkpoint) if checkpoint is not None else (entry.name if entry else "random")}
    return EvalModel(model.to(device).eval(), name_or_path, arch, family, num_frames, img_size, ckpt, classes, fp)


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast(device: torch.device, precision: str = "auto") -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA for ``auto`` / ``bf16``; nothing on CPU or for ``fp32``."""
    if precision == "fp32" or device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast("cuda", dtype=dtype)


def add_common_args(p, default_model: str) -> None:
    """``--model --checkpoint --model-args --device --precision --cache-dir --no-cache --output --quiet``."""
    p.add_argument("--model", default=default_model,
                   help=f"architecture or released checkpoint name (default: {default_model}; `internvideo zoo list`)")
    p.add_argument("--checkpoint", default=None, help="weights file (default: download the released checkpoint)")
    p.add_argument("--model-args", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                   help="auto: bf16 autocast on CUDA, fp32 on CPU; fp32, bf16 or fp16: that precision everywhere")
    p.add_argument("--cache-dir", default=None,
                   help="embedding cache folder (default: runs/embedding_cache); re-runs reuse it")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    p.add_argument("--output", default=None, help="write metrics and settings as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def cache_root(args) -> str | None:
    """The embedding cache folder of the parsed arguments (``None`` with ``--no-cache``)."""
    if args.no_cache:
        return None
    if args.cache_dir:
        return args.cache_dir
    from internvideo_core.paths import runs_dir

    return str(runs_dir() / "embedding_cache")


def model_from_args(args, saved: dict[str, Any] | None = None) -> EvalModel:
    """The model of ``--model --checkpoint --model-args``; ``saved``: the ``config.json`` description of the
    checkpoint (:mod:`internvideo_core.model_config`): its overrides (``--model-args`` win), class names and
    input size."""
    from internvideo_core.commands._training import model_overrides
    from internvideo_core.model_config import model_kwargs

    overrides = {**(model_kwargs(saved) if saved else {}), **model_overrides(args.model_args)}
    em = load_for_eval(args.model, args.checkpoint, overrides, pick_device(args.device))
    if saved:
        em.class_names = em.class_names or saved.get("class_names") or None
        em.num_frames = int((saved.get("input") or {}).get("num_frames") or em.num_frames)
    return em


def write_json(path: str | os.PathLike | None, payload: dict[str, Any]) -> None:
    import json
    from pathlib import Path

    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")


def encoder(em: EvalModel, fn: Callable[[torch.Tensor], torch.Tensor], device: torch.device,
            precision: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """``fn`` under ``torch.no_grad`` and autocast, inputs moved to ``device``, outputs float32 on CPU."""

    @torch.no_grad()
    def run(x: torch.Tensor) -> torch.Tensor:
        with autocast(device, precision):
            return fn(x.to(device)).float().cpu()

    return run
