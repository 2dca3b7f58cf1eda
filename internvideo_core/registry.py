"""Model registry: names -> frozen config dataclass + builder, and the pretrained-checkpoint zoo.

Families register themselves from ``internvideo_core/zoo/*.py`` (imported lazily on first use), so this
module stays free of model code and never imports anything at import time beyond the standard library.

- ``register_model(name, config, builder)``: ``config`` is a frozen dataclass instance; ``builder(config)``
  returns an ``nn.Module``.
- ``register_pretrained(entry)``: a :class:`PretrainedEntry` describing a released checkpoint.
- ``create_model(name, checkpoint_path=None, pretrained=False, **overrides)``: builds the model from the
  registered config with ``dataclasses.replace(config, **overrides)``, then loads weights strictly through
  :mod:`internvideo_core.checkpoint` (which returns a report, kept on ``model.load_report``).
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = [
    "ModelEntry",
    "PretrainedEntry",
    "register_model",
    "register_pretrained",
    "get_model_entry",
    "get_pretrained",
    "list_models",
    "list_pretrained",
    "create_model",
]


@dataclass(frozen=True)
class ModelEntry:
    """One architecture name: its default config and the function that builds it."""

    name: str
    config: Any
    builder: Callable[[Any], Any]
    family: str = ""
    description: str = ""


@dataclass(frozen=True)
class PretrainedEntry:
    """A released checkpoint.

    ``sha256`` may be ``None`` when the digest was not published; the hub then records the digest of the
    first download next to the file and verifies later copies against it. ``mirrors``: further URLs of the
    same file, tried in order when ``url`` fails.
    """

    name: str
    arch: str
    url: str
    filename: str
    license: str
    origin: str
    sha256: str | None = None
    img_size: int = 224
    num_frames: int = 16
    label_map: str | None = None
    num_classes: int | None = None
    overrides: dict = field(default_factory=dict)
    notes: str = ""
    mirrors: tuple[str, ...] = ()


_MODELS: dict[str, ModelEntry] = {}
_PRETRAINED: dict[str, PretrainedEntry] = {}
_ZOO_LOADED = False


def register_model(name: str, config: Any, builder: Callable[[Any], Any], *, family: str = "",
                   description: str = "") -> None:
    """Register an architecture. Re-registering the same name is an error (catches copy-paste slips)."""
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"register_model({name!r}): config must be a dataclass instance, got {type(config)!r}")
    if name in _MODELS:
        raise ValueError(f"model name {name!r} is registered twice")
    _MODELS[name] = ModelEntry(name, config, builder, family, description)


def register_pretrained(entry: PretrainedEntry) -> None:
    """Register a released checkpoint under ``entry.name``."""
    if entry.name in _PRETRAINED:
        raise ValueError(f"pretrained name {entry.name!r} is registered twice")
    _PRETRAINED[entry.name] = entry


def _load_zoo() -> None:
    """Import every module of ``internvideo_core.zoo`` once; each registers its family."""
    global _ZOO_LOADED
    if _ZOO_LOADED:
        return
    _ZOO_LOADED = True
    from internvideo_core import zoo

    for info in sorted(pkgutil.iter_modules(zoo.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{zoo.__name__}.{info.name}")


def list_models(family: str | None = None) -> list[str]:
    """Sorted names of every registered architecture (optionally of one family)."""
    _load_zoo()
    return sorted(n for n, e in _MODELS.items() if family is None or e.family == family)


def list_pretrained() -> list[str]:
    """Sorted names of every registered released checkpoint."""
    _load_zoo()
    return sorted(_PRETRAINED)


def get_model_entry(name: str) -> ModelEntry:
    _load_zoo()
    try:
        return _MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(sorted(_MODELS))}") from None


def get_pretrained(name: str) -> PretrainedEntry:
    _load_zoo()
    try:
        return _PRETRAINED[name]
    except KeyError:
        raise KeyError(
            f"unknown pretrained checkpoint {name!r}; see `internvideo zoo list`. Known: {', '.join(sorted(_PRETRAINED))}"
        ) from None


def build_config(name: str, **overrides: Any) -> Any:
    """The registered config of ``name`` with ``overrides`` applied (unknown fields are an error)."""
    entry = get_model_entry(name)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(f"{name}: unknown config field(s) {unknown}; valid fields: {sorted(fields)}")
    return dataclasses.replace(entry.config, **overrides)


def create_model(name: str, *, checkpoint_path: str | None = None, pretrained: bool | str = False,
                 strict: bool = True, **overrides: Any):
    """Build a registered model, optionally loading weights.

    Args:
        name: an architecture name from :func:`list_models`, or a checkpoint name from
            :func:`list_pretrained` (then its architecture is built and ``pretrained`` is implied).
        checkpoint_path: a local file in any supported format (see :mod:`internvideo_core.checkpoint`).
        pretrained: ``True`` downloads the default checkpoint registered for this architecture (or the one
            named by ``name``); a string names a checkpoint from :func:`list_pretrained`.
        strict: unexpected or missing keys are an error (the default); ``False`` only reports them.
        **overrides: config fields to change (``img_size``, ``num_frames``, ``num_classes``, ...).

    Returns:
        The model (``nn.Module``) in eval mode if weights were loaded, with ``model.load_report`` set.
    """
    _load_zoo()
    ckpt_entry: PretrainedEntry | None = None
    if name in _PRETRAINED and name not in _MODELS:
        ckpt_entry = _PRETRAINED[name]
        name = ckpt_entry.arch
        overrides = {**ckpt_entry.overrides, **overrides}
    elif isinstance(pretrained, str):
        ckpt_entry = get_pretrained(pretrained)
    elif pretrained:
        candidates = [e for e in _PRETRAINED.values() if e.arch == name]
        if not candidates:
            raise ValueError(f"no released checkpoint is registered for {name!r}; see `internvideo zoo list`")
        ckpt_entry = candidates[0]
    if ckpt_entry is not None and checkpoint_path is None:
        if ckpt_entry.arch != name:
            raise ValueError(f"checkpoint {ckpt_entry.name!r} is for {ckpt_entry.arch!r}, not {name!r}")
        overrides = {**ckpt_entry.overrides, **overrides}
        from internvideo_core.hub import download_pretrained

        checkpoint_path = str(download_pretrained(ckpt_entry.name))

    config = build_config(name, **overrides)
    model = get_model_entry(name).builder(config)
    if checkpoint_path is not None:
        from internvideo_core.checkpoint import load_checkpoint

        model.load_report = load_checkpoint(model, checkpoint_path, strict=strict)
        model.eval()
    return model
