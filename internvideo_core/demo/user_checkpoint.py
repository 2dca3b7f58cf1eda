"""``python demos/app.py --checkpoint PATH_OR_NAME``: try your own model (or a named one) in the demo.

:func:`checkpoint_choice` turns the value into a :class:`~internvideo_core.demo.models.ModelChoice` for the task
the model serves, without reading weights:

- an embedded name (``videomae_vit_tiny_synth``, ``videomae_pretrain_tiny_synth``, ``internvideo_mm_tiny_synth``):
  the model shipped in the package;
- a released name (``internvideo zoo list``): its file in the kit cache (nothing is downloaded; the message
  says ``internvideo zoo download NAME`` when it is not there);
- a path: a model saved by the kit's training commands, described by the ``config.json`` beside it
  (:mod:`internvideo_core.model_config`: architecture, overrides, class names, input), or a tutorial notebook's
  file (``runs/checkpoints/<profile>/*.safetensors``, recognised by its metadata).

The task follows the architecture: ``videomae_vit_*`` -> recognition, ``videomae_pretrain_*`` ->
reconstruction, ``internvideo_mm_*`` -> zero-shot labels and retrieval. :func:`load_user_checkpoint` builds a
model described by ``config.json`` with its own input protocol (one view).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from internvideo_core.demo.models import DemoModel, ModelChoice, ModelUnavailable, shown_path, video_text_defaults

__all__ = ["task_of_architecture", "checkpoint_choice", "load_user_checkpoint"]


def task_of_architecture(arch: str) -> str:
    """The demo task an architecture serves; :class:`ValueError` for others."""
    if arch.startswith("internvideo_mm"):
        return "video_text"
    if arch.startswith("videomae_pretrain"):
        return "reconstruction"
    if arch.startswith("videomae_vit"):
        return "recognition"
    raise ValueError(f"the demo shows VideoMAE classifiers and autoencoders and InternVideo-MM dual encoders, "
                     f"not {arch!r}")


def _metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {})
    except Exception as err:  # any unreadable file gets the same answer
        raise ValueError(f"--checkpoint {shown_path(path)}: not a readable safetensors file ({type(err).__name__})") from err


def checkpoint_choice(value: str, profile: str = "tutorial") -> ModelChoice:
    """The :class:`ModelChoice` of ``--checkpoint value``; :class:`ValueError` with one readable line when the
    value is neither an existing file nor a known name, or its task cannot be told."""
    from internvideo_core.embedded import EMBEDDED, embedded_card, embedded_path
    from internvideo_core.model_config import read_model_config
    from internvideo_core.registry import cached_path, get_pretrained, list_pretrained

    path = Path(value).expanduser()
    if not path.exists():
        if value in EMBEDDED:
            from internvideo_core.demo.models import _embedded_note

            task = EMBEDDED[value]
            return ModelChoice(task, "embedded", value, embedded_path(value), "", profile,
                               note=_embedded_note(task, embedded_card(value)))
        if value in list_pretrained():
            task = task_of_architecture(get_pretrained(value).arch)
            cached = cached_path(value)
            if not cached.is_file():
                raise ValueError(f"--checkpoint {value}: the released checkpoint is not in the kit cache; run "
                                 f"`internvideo zoo download {value}` first (the demo never downloads)")
            return ModelChoice(task, "released", value, cached, "", profile)
        raise ValueError(f"--checkpoint {value}: no such file, and not a model name (embedded: "
                         f"{', '.join(EMBEDDED)}; released: `internvideo zoo list`)")
    if path.is_dir():
        path = path / "model.safetensors"
        if not path.is_file():
            raise ValueError(f"--checkpoint {value}: a folder without model.safetensors")
    saved = read_model_config(path)
    if saved is not None:
        arch = saved["architecture"]
        return ModelChoice(task_of_architecture(arch), "checkpoint", arch, path, "", profile)
    meta = _metadata(path)
    if meta.get("recipe") == "videomae_synth":
        task = "recognition" if meta.get("task") == "classifier" else "reconstruction"
    elif meta.get("recipe", "").startswith("{"):
        task = "video_text"
    else:
        raise ValueError(f"--checkpoint {value}: no config.json beside it and no tutorial metadata, so the demo "
                         "cannot tell the architecture; use a model saved by `internvideo finetune / pretrain / "
                         "train-mm` (they write config.json) or a notebook's runs/checkpoints file")
    name = {"recognition": "videomae_vit_tiny_synth", "reconstruction": "videomae_pretrain_tiny_synth",
            "video_text": "internvideo_mm_tiny_synth"}[task]
    return ModelChoice(task, "tutorial", name, path, "", profile)


def load_user_checkpoint(choice: ModelChoice) -> DemoModel:
    """A model described by the ``config.json`` beside ``choice.path``: built with its overrides, loaded
    strictly, fed by its saved input (``num_frames``, ``img_size``, ``sampling``, ``sampling_rate``; one view,
    the short side resized to the crop size)."""
    import numpy as np

    from internvideo_core.data.input_spec import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, InputSpec
    from internvideo_core.data.preprocess import VideoPreprocess
    from internvideo_core.model_config import model_kwargs, read_model_config
    from internvideo_core.registry import create_model

    saved = read_model_config(choice.path)
    if saved is None:
        raise ModelUnavailable(f"`{shown_path(choice.path)}` has no config.json beside it")
    model = create_model(saved["architecture"], checkpoint_path=str(choice.path), strict=True,
                         **model_kwargs(saved))
    cfg = model.config
    inp = saved.get("input") or {}
    mm = choice.task == "video_text"
    size = int(inp.get("img_size") or (cfg.input_resolution if mm else cfg.img_size))
    spec = InputSpec(sampling=inp.get("sampling") or ("uniform" if mm else "dense"),
                     num_frames=int(inp.get("num_frames") or cfg.num_frames),
                     frame_interval=int(inp.get("sampling_rate") or 1), short_side=size, crop_size=size,
                     mean=CLIP_MEAN if mm else IMAGENET_MEAN, std=CLIP_STD if mm else IMAGENET_STD)
    pre = VideoPreprocess(spec)

    def indices(n: int) -> np.ndarray:
        return pre.indices(n, "single")[0]

    def preprocess(frames: Any) -> Any:
        return pre.from_frames(frames, np.arange(frames.shape[0])[None], crops=1)

    kw: dict[str, Any] = dict(pixel_mean=tuple(spec.mean), pixel_std=tuple(spec.std))
    if choice.task == "recognition":
        n_cls = int(cfg.num_classes)
        names = tuple(saved.get("class_names") or ())
        kw["classes"] = names if len(names) == n_cls else tuple(f"class {i}" for i in range(n_cls))
    elif choice.task == "video_text":
        from internvideo_core.text import tokenize

        kind = "tutorial" if saved["architecture"].endswith("_synth") else "released"
        labels, templates, query = video_text_defaults(kind)
        ctx = int(cfg.context_length)
        kw.update(tokenize=lambda texts: tokenize(list(texts), context_length=ctx), templates=templates,
                  default_labels=labels, default_query=query)
    return DemoModel(choice, model, indices, preprocess, spec.describe("single") + " (from config.json)", **kw)
