"""Model registry: names -> frozen config dataclass + builder, and the pretrained-checkpoint zoo.

Families register themselves in the modules of ``internvideo_core/zoo`` (imported on first use, by the
explicit list in :func:`_load_zoo`), so this module stays free of model code and imports nothing heavy at
import time (standard library and :mod:`internvideo_core.data.input_spec`).

- ``register_model(name, config, builder)``: ``config`` is a frozen dataclass instance; ``builder(config)``
  returns an ``nn.Module``.
- ``register_pretrained(entry)``: a :class:`PretrainedEntry` describing a released checkpoint, with its input
  protocol (:class:`~internvideo_core.data.input_spec.InputSpec`).
- ``cached_path(name)``, ``mirrors_for(name)``, ``download_pretrained(name)``: where a released checkpoint lives
  in the cache and how to fetch it (the transfer itself is :func:`internvideo_core.hub.download_url`, which
  knows no model names).
- ``create_model(name, checkpoint_path=None, pretrained=False, **overrides)``: builds the model from the
  registered config with ``dataclasses.replace(config, **overrides)``, then loads weights strictly through
  :mod:`internvideo_core.checkpoint` (which returns a report, kept on ``model.load_report``).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from internvideo_core.data.input_spec import InputSpec

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
    "cached_path",
    "mirrors_for",
    "download_pretrained",
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
    same file, tried in order when ``url`` fails. ``input``: how the checkpoint is fed (sampling, frames,
    resize, crop, mean/std, test views), from the official scripts. ``label_map``: the class-name list in
    ``internvideo_core/assets/labels``.
    """

    name: str
    arch: str
    url: str
    filename: str
    license: str
    origin: str
    sha256: str | None = None
    input: InputSpec = field(default_factory=InputSpec)
    label_map: str | None = None
    num_classes: int | None = None
    overrides: dict = field(default_factory=dict)
    notes: str = ""
    mirrors: tuple[str, ...] = ()

    @property
    def img_size(self) -> int:
        """The crop size the checkpoint was trained and tested at (``input.crop_size``)."""
        return self.input.crop_size

    @property
    def num_frames(self) -> int:
        """Frames per clip (``input.num_frames``)."""
        return self.input.num_frames


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
    """Import the registration modules once (an explicit list: add a new family here)."""
    global _ZOO_LOADED
    if _ZOO_LOADED:
        return
    _ZOO_LOADED = True
    from internvideo_core.zoo import mm_models, mm_pretrained, videomae_models, videomae_pretrained  # noqa: F401


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


#: Override names every model family accepts: ``alias -> config field`` for configs that spell it otherwise
#: (the dual encoder's ``input_resolution`` is the ``img_size`` of the VideoMAE models).
_ALIASES = {"img_size": "input_resolution"}


def build_config(name: str, **overrides: Any) -> Any:
    """The registered config of ``name`` with ``overrides`` applied (unknown fields are an error).

    ``img_size`` is accepted by every family (the dual encoder's ``input_resolution``)."""
    entry = get_model_entry(name)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    for alias, target in _ALIASES.items():
        if alias in overrides and alias not in fields and target in fields:
            value = overrides.pop(alias)
            if target in overrides and overrides[target] != value:
                raise TypeError(f"{name}: {alias}={value} and {target}={overrides[target]} disagree; give one")
            overrides[target] = value
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(f"{name}: unknown config field(s) {unknown}; valid fields: {sorted(fields)}")
    return dataclasses.replace(entry.config, **overrides)


def create_model(name: str, *, checkpoint_path: str | None = None, pretrained: bool | str = False,
                 strict: bool = True, head_subset: str | None = None, **overrides: Any):
    """Build a registered model, optionally loading weights.

    Args:
        name: an architecture name from :func:`list_models`, or a checkpoint name from
            :func:`list_pretrained` (then its architecture is built and ``pretrained`` is implied).
        checkpoint_path: a local file in any supported format (see :mod:`internvideo_core.checkpoint`).
        pretrained: ``True`` downloads the default checkpoint registered for this architecture (or the one
            named by ``name``); a string names a checkpoint from :func:`list_pretrained`.
        strict: unexpected or missing keys are an error (the default); ``False`` only reports them.
        head_subset: keep the first rows of a checkpoint's larger classification head (``"k400"``: the
            K710 -> K400 cut; ``"first"``); without it a class-count mismatch is an error naming both counts.
        **overrides: config fields to change. VideoMAE classifiers and autoencoders: ``img_size, patch_size,
            num_frames, tubelet_size, embed_dim, depth, num_heads, num_classes, drop_path_rate, decoder_embed_dim,
            decoder_depth, decoder_num_heads`` (and every other field of their config). Dual encoders:
            ``img_size`` (= ``input_resolution``), ``num_frames, vision_width, vision_layers, vision_heads,
            vision_patch_size, temporal_layers, temporal_heads, text_width, text_layers, text_heads,
            context_length, embed_dim``. An unknown name is an error listing the valid ones.

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
        checkpoint_path = str(download_pretrained(ckpt_entry.name))

    config = build_config(name, **overrides)
    model = get_model_entry(name).builder(config)
    if checkpoint_path is not None:
        from internvideo_core.checkpoint import load_checkpoint

        model.load_report = load_checkpoint(model, checkpoint_path, strict=strict, head_subset=head_subset)
        model.eval()
    return model


# ------------------------------------------------------------------------------------ released checkpoints
def cached_path(name: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the checkpoint ``name`` lives in the cache (whether or not it is there yet): ``cache_dir`` (default
    :func:`internvideo_core.paths.cache_dir`, ``INTERNVIDEO_CACHE``) / ``entry.filename``."""
    from internvideo_core.paths import cache_dir as default_cache_dir

    entry = get_pretrained(name)
    return (Path(cache_dir).expanduser() if cache_dir else default_cache_dir()) / entry.filename


def mirrors_for(name: str) -> list[str]:
    """Alternative URLs of the checkpoint ``name`` (``entry.mirrors``), tried in order after ``entry.url``."""
    return list(get_pretrained(name).mirrors)


def download_pretrained(name: str, *, cache_dir: str | os.PathLike | None = None, progress: bool = True,
                        timeout: float = 30.0, recheck: bool = False) -> Path:
    """Path of the released checkpoint ``name`` in the cache, downloading and verifying it if needed.

    The file goes to :func:`cached_path`; :func:`internvideo_core.hub.download_url` fetches ``entry.url``, then
    the :func:`mirrors_for` URLs, and verifies the sha256 digest (published, or recorded on first download).
    """
    from internvideo_core.hub import HubError, download_url

    entry = get_pretrained(name)
    dest = cached_path(name, cache_dir)
    try:
        return download_url(entry.url, dest, entry.sha256, progress=progress, timeout=timeout,
                            mirrors=mirrors_for(name), recheck=recheck)
    except HubError as err:
        raise type(err)(f"checkpoint {name!r} ({entry.arch}): {err}") from err
