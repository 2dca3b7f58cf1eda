"""One call from a released checkpoint name to a ready model, its input protocol and its class names.

    model, preprocess, class_names = load_pretrained("videomae_vit_base_k400")   # or "videomae_vit_tiny_synth"
    x = preprocess("clip.mp4")                      # [1, 3, 16, 224, 224], the entry's protocol, one view
    probs = model(x).softmax(-1).mean(0)            # views="test": [15, ...] -> the official 5 x 3 average
    print(class_names[int(probs.argmax())])

As open_clip's ``create_model_and_transforms`` merges a checkpoint's preprocess config into what it returns,
:func:`load_pretrained` reads the zoo entry (:func:`internvideo_core.registry.get_pretrained`): its architecture
and config overrides, its file (from the cache, downloaded and verified if missing), its
:class:`~internvideo_core.data.input_spec.InputSpec` and its label list (``internvideo_core/assets/labels``).
The demo, the notebooks and ``internvideo evaluate`` get released models through it.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any

__all__ = ["load_pretrained", "resolve_input_spec"]

#: Model config fields that also change the input protocol (``img_size`` is the crop size).
_SHARED = {"num_frames": "num_frames", "img_size": "crop_size"}


def resolve_input_spec(name: str, **overrides: Any):
    """The :class:`~internvideo_core.data.input_spec.InputSpec` of the checkpoint ``name`` with ``overrides``
    applied (InputSpec fields, plus ``img_size`` -> ``crop_size``; ``num_frames`` as is). A new ``img_size`` moves
    ``short_side`` along when the entry resizes straight to the crop size (VideoMAE) and keeps the entry's
    short-side/crop ratio otherwise (InternVideo-MM: 256 / 224)."""
    from internvideo_core.registry import get_pretrained

    spec = get_pretrained(name).input
    fields = {f.name for f in dataclasses.fields(spec)}
    changes = {k: v for k, v in overrides.items() if k in fields}
    if "img_size" in overrides and "crop_size" not in changes:
        size = int(overrides["img_size"])
        changes["crop_size"] = size
        if "short_side" not in changes:
            changes["short_side"] = size if spec.short_side == spec.crop_size else round(
                size * spec.short_side / spec.crop_size)
    return spec.replace(**changes)


def load_pretrained(name: str, *, checkpoint_path: str | os.PathLike | None = None,
                    cache_dir: str | os.PathLike | None = None, device: Any = "cpu", strict: bool = True,
                    head_subset: str | None = None, **overrides: Any) -> tuple[Any, Any, list[str]]:
    """``(model, preprocess, class_names)`` of a released checkpoint (see ``internvideo zoo list``).

    Args:
        name: a name from :func:`internvideo_core.registry.list_pretrained` (e.g. ``"videomae_vit_base_k400"``,
            ``"internvideo_mm_l14_pretrain"``), or an embedded SynthMotion model shipped in the package
            (``"videomae_vit_tiny_synth"``, ``"videomae_pretrain_tiny_synth"``, ``"internvideo_mm_tiny_synth"``;
            see :mod:`internvideo_core.embedded`: the tutorial notebooks' file under ``runs/`` is used instead
            when it is newer, unless ``use_runs=False``; ``preprocess`` is then a
            :class:`~internvideo_core.embedded.SynthPreprocess`,
            ``preprocess(video) -> [1, 3, T, S, S]``).
        checkpoint_path: use this local file instead of the cache (same layout as the released file).
        cache_dir: where the released file is looked for / downloaded to (default ``INTERNVIDEO_CACHE``).
        device: where the model goes (eval mode).
        strict: strict loading (default); ``False`` only reports unexpected or missing keys.
        head_subset: ``"k400"``: the official K710 -> K400 cut (a 400-class model with the Kinetics-400 label
            list from a Kinetics-710 head); ``"first"``: the first ``num_classes`` rows of a larger head.
        **overrides: model config fields (``num_frames``, ``img_size``, ``embed_dim``, ...; see
            :func:`~internvideo_core.registry.create_model`) and :class:`~internvideo_core.data.input_spec.InputSpec`
            fields (``sampling``, ``frame_interval``, ``short_side``, ``test_clips``, ...). ``num_frames`` and
            ``img_size`` change both model and protocol.

    Returns:
        ``model``: the ``nn.Module`` in eval mode with ``model.load_report`` and ``model.pretrained_entry``;
        ``preprocess``: a :class:`~internvideo_core.data.preprocess.VideoPreprocess`,
        ``preprocess(video_path_or_uint8_frames, views="single" | "test") -> float [V, 3, T, H, W]``;
        ``class_names``: the entry's label list (index = output index; ``[]`` for autoencoders and dual encoders).

    Raises:
        KeyError: unknown checkpoint name (the message lists the known ones).
        TypeError: an override that is neither a model config nor an InputSpec field.
        internvideo_core.hub.HubError: the file is not cached and cannot be downloaded (the message says where
            to put it).
    """
    from internvideo_core.data.input_spec import InputSpec
    from internvideo_core.data.preprocess import VideoPreprocess
    from internvideo_core.embedded import is_embedded, load_embedded
    from internvideo_core.paths import read_labels
    from internvideo_core.registry import build_config, create_model, download_pretrained, get_pretrained

    if is_embedded(name):
        use_runs = bool(overrides.pop("use_runs", True))
        if overrides or head_subset is not None:
            raise TypeError(f"{name} is an embedded SynthMotion model: it takes no overrides or head_subset "
                            f"(got {sorted(overrides) + (['head_subset'] if head_subset else [])})")
        return load_embedded(name, checkpoint_path=checkpoint_path, device=device, use_runs=use_runs)
    entry = get_pretrained(name)
    spec_fields = {f.name for f in dataclasses.fields(InputSpec)}
    model_kw = {k: v for k, v in overrides.items() if k not in spec_fields or k in _SHARED}
    model_kw = {**entry.overrides, **model_kw}
    label_map = entry.label_map
    if head_subset == "k400":
        model_kw["num_classes"], label_map = 400, "kinetics400"
    build_config(entry.arch, **dict(model_kw))  # unknown names fail here, before anything is read
    spec = resolve_input_spec(name, **overrides)
    path = checkpoint_path if checkpoint_path is not None else download_pretrained(name, cache_dir=cache_dir)
    model = create_model(entry.arch, checkpoint_path=str(path), strict=strict, head_subset=head_subset, **model_kw)
    model.pretrained_entry = entry
    model.eval().to(device)
    class_names = read_labels(label_map) if label_map else []
    num_classes = getattr(model.config, "num_classes", None) if hasattr(model, "head") else None
    if class_names and num_classes is not None and len(class_names) != num_classes:
        raise ValueError(f"{name}: the label list {label_map!r} has {len(class_names)} names but the model "
                         f"has {num_classes} outputs; pass num_classes={len(class_names)} or check the entry")
    return model, VideoPreprocess(spec), class_names
