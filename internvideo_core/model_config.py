"""Saved models that describe themselves: a ``config.json`` beside the kit's ``model.safetensors``.

In the manner of Hugging Face's ``config.json``, every model the training commands save (``finetune``,
``pretrain``, ``train-mm``) carries what is needed to use it again without repeating flags::

    {"format": "internvideo-model-1", "architecture": "videomae_vit_tiny_synth",
     "overrides": {"embed_dim": 32, "num_classes": 12, ...},   # what create_model(architecture, ...) needs
     "config": {...every field of the model config...}, "num_classes": 12, "class_names": [...],
     "input": {"num_frames": 8, "img_size": 32, "sampling_rate": 1, "sampling": "dense"},
     "kit_version": "0.1.0", "command": "internvideo finetune --data ...", "weights": "model.safetensors"}

so ``internvideo evaluate --checkpoint runs/finetune/model.safetensors --data ...`` needs no ``--model`` /
``--model-args``. :func:`resolve_weights` also lets ``--init`` / ``--checkpoint`` take a released name
(``internvideo zoo list``) instead of a path.
"""
from __future__ import annotations

import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

__all__ = ["CONFIG_NAME", "FORMAT", "config_path", "save_model", "read_model_config", "model_kwargs",
           "resolve_weights", "command_line"]

CONFIG_NAME = "config.json"
FORMAT = "internvideo-model-1"


def config_path(weights: str | Path) -> Path:
    """Where the description of ``weights`` lives: ``config.json`` in the same folder."""
    return Path(weights).with_name(CONFIG_NAME)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that made a run, as a shell line (``argv`` as given to ``internvideo``, else ``sys.argv``)."""
    if argv is None:
        return " ".join(shlex.quote(a) for a in sys.argv)
    return " ".join(["internvideo", *(shlex.quote(str(a)) for a in argv)])


def save_model(model: Any, path: str | Path, *, arch: str, overrides: dict[str, Any],
               class_names: Sequence[str] | None = None, input: dict[str, Any] | None = None,
               command: str | None = None) -> Path:
    """Write ``model``'s weights to ``path`` (kit safetensors, :func:`~internvideo_core.checkpoint.save_safetensors`)
    and its description to ``config.json`` beside them; returns the weights' path."""
    from internvideo_core import __version__
    from internvideo_core.checkpoint import save_safetensors

    path = save_safetensors(model, path, metadata={"model": arch})
    cfg = getattr(model, "config", None)
    num_classes = getattr(cfg, "num_classes", None) if hasattr(model, "head") else None
    payload = {
        "format": FORMAT,
        "architecture": arch,
        "overrides": _jsonable(overrides),
        "config": _jsonable(dataclasses.asdict(cfg)) if dataclasses.is_dataclass(cfg) else {},
        "num_classes": num_classes,
        "class_names": list(class_names) if class_names else None,
        "input": _jsonable(input or {}),
        "kit_version": __version__,
        "command": command if command is not None else command_line(),
        "weights": path.name,
    }
    tmp = config_path(path).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    tmp.replace(config_path(path))
    return path


def read_model_config(weights: str | Path | None) -> dict[str, Any] | None:
    """The ``config.json`` beside ``weights`` (``None`` when there is none, or ``weights`` is not a file)."""
    if weights is None or not Path(weights).is_file():
        return None
    path = config_path(weights)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable model description ({exc}); delete it or fix it") from exc
    if not isinstance(data, dict) or "architecture" not in data:
        raise ValueError(f"{path} has no 'architecture': not a model description written by the kit")
    return data


def model_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """``create_model`` overrides of a description (JSON lists back to tuples)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in (config.get("overrides") or {}).items()}


def resolve_weights(name_or_path: str, flag: str = "--checkpoint") -> str:
    """A weights file path: ``name_or_path`` itself when it exists, the cached (downloaded if needed) file when it
    is a released name (``internvideo zoo list``); otherwise :class:`FileNotFoundError` saying both."""
    if Path(name_or_path).exists():
        return str(name_or_path)
    from internvideo_core.registry import download_pretrained, list_pretrained

    if name_or_path in list_pretrained():
        return str(download_pretrained(name_or_path))
    raise FileNotFoundError(f"{flag} {name_or_path}: no such file, and not a released checkpoint name "
                            "(`internvideo zoo list`)")
