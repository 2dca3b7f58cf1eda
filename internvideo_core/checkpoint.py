"""Read every supported checkpoint format, convert keys, load strictly and report what happened.

Formats read by :func:`read_state_dict`:
- released VideoMAE fine-tuned files ``{"module": state_dict}`` and pretraining files ``{"model": ...}``;
- PyTorch Lightning ``.ckpt`` files ``{"state_dict": ...}`` (InternVideo-MM, ``clip.`` prefix, float16);
- a bare state dict; ``.safetensors`` files (the kit's own and Hugging Face ``model.safetensors``);
- in any of them, a 2-D table stored by some of its rows (:func:`sparse_rows`: the embedded dual encoder's word
  table), read back whole with zeros in the rows not stored (:func:`dense_rows`).
Everything goes through ``torch.load(..., weights_only=True)``.

Family-specific key conversion lives in ``internvideo_core/convert/<family>.py``; each registers a
:class:`Converter` for its model class. :func:`load_checkpoint` picks the converter by the model's type,
converts, and loads strictly: anything missing or unexpected that the converter did not explain is an
error naming the keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import nn

__all__ = [
    "CheckpointError",
    "LoadReport",
    "Converter",
    "register_converter",
    "read_state_dict",
    "load_checkpoint",
    "to_official_state_dict",
    "save_safetensors",
    "sparse_rows",
    "dense_rows",
    "SPARSE_SUFFIXES",
    "HEAD_PREFIXES",
    "HEAD_SUBSETS",
    "new_head_weights",
    "refuse_new_head",
]

#: Parameter-name prefixes of a classifier's head: weights that a checkpoint meant for evaluation must provide.
HEAD_PREFIXES: tuple[str, ...] = ("head.", "fc_norm.")

#: Explicit cuts of a classification head with more classes than the model (``head_subset=``, ``--head-subset``):
#: ``"k400"``: a Kinetics-710 head to its first 400 rows (the official K710 -> K400 rule; the model must have
#: 400 outputs); ``"first"``: the first ``num_classes`` rows, whatever the counts.
HEAD_SUBSETS: tuple[str, ...] = ("k400", "first")


#: How a table ``<key>`` ``[num_rows, D]`` is stored by some of its rows: ``<key>.sparse_rows`` ``[K, D]`` (the
#: rows kept), ``<key>.sparse_row_ids`` int64 ``[K]`` (their row numbers), ``<key>.sparse_num_rows`` int64 ``[1]``.
SPARSE_SUFFIXES: tuple[str, str, str] = (".sparse_rows", ".sparse_row_ids", ".sparse_num_rows")
#: The largest whole table (elements) :func:`dense_rows` builds: a file's row count is untrusted input, and a
#: word table of a released model is far smaller (49408 x 768 = 38M).
MAX_DENSE_ELEMENTS = 2**31


class CheckpointError(RuntimeError):
    """A checkpoint could not be read or does not fit the model; the message says which file and why."""


@dataclass
class LoadReport:
    """What :func:`load_checkpoint` did.

    ``converted``: number of tensors loaded; ``source_format``: what the file was recognised as;
    ``ignored``: ``{key: reason}`` for tensors in the file the model does not use;
    ``initialized``: ``{key: reason}`` for model parameters not in the file that were left as initialised
    (e.g. a new classification head); ``resized``: ``{key: "old -> new shape"}``; ``notes``: free text.
    ``head_subset``: the head cut that was asked for (:data:`HEAD_SUBSETS`; ``None``: a classification head
    with more classes than the model is an error, never silently cut).
    """

    path: str
    source_format: str
    converted: int = 0
    ignored: dict[str, str] = field(default_factory=dict)
    initialized: dict[str, str] = field(default_factory=dict)
    resized: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    head_subset: str | None = None

    def brief(self) -> str:
        """One line: ``"loaded 152 tensors from FILE (safetensors); ignored 0, newly initialised 0, resized 0"``."""
        return (f"loaded {self.converted} tensors from {self.path} ({self.source_format}); ignored {len(self.ignored)}"
                f", newly initialised {len(self.initialized)}, resized {len(self.resized)}")

    def summary(self) -> str:
        lines = [f"{self.path}: {self.source_format}, {self.converted} tensors loaded"]
        for title, items in (("ignored", self.ignored), ("newly initialized", self.initialized),
                             ("resized", self.resized)):
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines += [f"    {k}: {v}" for k, v in sorted(items.items())]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    __str__ = summary


@dataclass
class Converter:
    """Key conversion for one model class.

    ``from_external(model, raw, report) -> state_dict``: map the tensors of a file (already unwrapped by
    :func:`read_state_dict`, with ``report.source_format`` set) to the model's own ``state_dict`` names and
    shapes; record dropped keys in ``report.ignored`` and deliberate gaps in ``report.initialized``.
    ``to_official(model) -> state_dict``: the model's weights in the official release layout.
    """

    from_external: Callable[[nn.Module, dict[str, torch.Tensor], LoadReport], dict[str, torch.Tensor]]
    to_official: Callable[[nn.Module], dict[str, torch.Tensor]]


_CONVERTERS: dict[type, Converter] = {}
_CONVERTERS_LOADED = False


def register_converter(model_cls: type, converter: Converter) -> None:
    _CONVERTERS[model_cls] = converter


def _converter_for(model: nn.Module) -> Converter:
    global _CONVERTERS_LOADED
    if not _CONVERTERS_LOADED:
        _CONVERTERS_LOADED = True
        # the converter modules (an explicit list: add a new family here); each registers its model classes
        from internvideo_core.convert import mm, videomae  # noqa: F401
    for cls in type(model).__mro__:
        if cls in _CONVERTERS:
            return _CONVERTERS[cls]
    raise CheckpointError(f"no checkpoint converter is registered for {type(model).__name__}")


def _load_raw(path: Path) -> dict:
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path or download it with "
                              f"`internvideo zoo download NAME`")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes): delete it and download it again")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:
            raise CheckpointError(f"{path} is not a readable safetensors file ({exc})") from exc
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path} could not be read with torch.load(weights_only=True): {exc}. Expected a PyTorch file "
            f"holding tensors (a released .pth/.ckpt or a state dict); files that need arbitrary pickled "
            f"objects are refused for safety."
        ) from exc


def read_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], str]:
    """Read a checkpoint file and unwrap it.

    Returns ``(tensors, source_format)`` where ``source_format`` is one of ``"official-finetune"``
    (``{"module": ...}``), ``"official-pretrain"`` (``{"model": ...}``), ``"lightning"``
    (``{"state_dict": ...}``), ``"safetensors"`` or ``"state_dict"``. Tensors keep their stored dtype; tables
    stored by some of their rows (:func:`sparse_rows`) come back whole (:func:`dense_rows`).
    """
    path = Path(path)
    raw = _load_raw(path)
    if not isinstance(raw, Mapping):
        raise CheckpointError(f"{path}: expected a dict of tensors, found {type(raw).__name__}")
    fmt = "safetensors" if path.suffix == ".safetensors" else "state_dict"
    for wrapper, name in (("module", "official-finetune"), ("model", "official-pretrain"),
                          ("state_dict", "lightning")):
        if wrapper in raw and isinstance(raw[wrapper], Mapping):
            raw, fmt = raw[wrapper], name
            break
    tensors = {k: v for k, v in raw.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{path}: no tensors found (top-level keys: {sorted(raw)[:10]})")
    return dense_rows(tensors, path), fmt


def sparse_rows(key: str, table: torch.Tensor, row_ids: "list[int] | torch.Tensor") -> dict[str, torch.Tensor]:
    """The tensors that store ``table`` ``[num_rows, D]`` (named ``key`` in a state dict) by the rows ``row_ids``
    only (see :data:`SPARSE_SUFFIXES`); :func:`read_state_dict` gives back ``[num_rows, D]`` with zeros elsewhere."""
    ids = torch.as_tensor(row_ids, dtype=torch.int64).unique(sorted=True)
    if table.ndim != 2 or (len(ids) and not 0 <= int(ids[0]) <= int(ids[-1]) < table.shape[0]):
        raise ValueError(f"{key}: expected a 2-D table and row ids inside its {table.shape[0]} rows, got shape "
                         f"{tuple(table.shape)} and ids {ids[:3].tolist()}...{ids[-3:].tolist()}")
    rows, ids_key, n_key = (key + s for s in SPARSE_SUFFIXES)
    return {rows: table[ids].contiguous(), ids_key: ids, n_key: torch.tensor([table.shape[0]], dtype=torch.int64)}


def dense_rows(tensors: Mapping[str, torch.Tensor], source: str | Path = "the state dict") -> dict[str, torch.Tensor]:
    """``tensors`` with every table stored by :func:`sparse_rows` made whole again: ``<key>`` ``[num_rows, D]``
    of the stored rows' dtype, zeros in the rows not stored. Other tensors pass through unchanged."""
    rows_sfx, ids_sfx, n_sfx = SPARSE_SUFFIXES
    keys = {k[: -len(rows_sfx)] for k in tensors if k.endswith(rows_sfx)}
    out = {k: v for k, v in tensors.items() if not k.endswith(SPARSE_SUFFIXES)}
    for key in sorted(keys):
        try:
            rows, ids, n = tensors[key + rows_sfx], tensors[key + ids_sfx].long(), int(tensors[key + n_sfx][0])
        except KeyError as exc:
            raise CheckpointError(f"{source}: the sparse table {key!r} lacks {exc.args[0]!r}; the file is "
                                  "incomplete: write it again") from exc
        ids_inside = not len(ids) or 0 <= int(ids.min()) <= int(ids.max()) < n
        if n < 0 or rows.ndim != 2 or ids.shape != (rows.shape[0],) or not ids_inside:
            raise CheckpointError(f"{source}: the sparse table {key!r} is inconsistent (rows {tuple(rows.shape)}, "
                                  f"ids {tuple(ids.shape)}, {n} rows in all); write the file again")
        if n * rows.shape[1] > MAX_DENSE_ELEMENTS:
            raise CheckpointError(f"{source}: the sparse table {key!r} claims {n} rows of {rows.shape[1]} "
                                  f"(more than {MAX_DENSE_ELEMENTS} values); refusing to build it: the file is damaged "
                                  "or not a kit checkpoint")
        full = rows.new_zeros(n, rows.shape[1])
        full[ids] = rows
        out[key] = full
    orphans = sorted(k for k in tensors if k.endswith(SPARSE_SUFFIXES[1:]) and
                     k.rsplit(".", 1)[0] not in keys)
    if orphans:
        raise CheckpointError(f"{source}: {orphans[0]!r} without its {rows_sfx!r} tensor; the file is incomplete: "
                              "write it again")
    return out


def _head_rows(state: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor]) -> tuple[int, int] | None:
    """``(file classes, model classes)`` when both have a ``head.weight`` of different row counts."""
    if "head.weight" in state and "head.weight" in own and state["head.weight"].ndim == 2:
        rows, out = int(state["head.weight"].shape[0]), int(own["head.weight"].shape[0])
        if rows != out:
            return rows, out
    return None


def load_checkpoint(model: nn.Module, path: str | Path, *, strict: bool = True,
                    head_subset: str | None = None, new_head: bool = False) -> LoadReport:
    """Load ``path`` into ``model`` through the model family's converter; returns a :class:`LoadReport`.

    ``head_subset``: one of :data:`HEAD_SUBSETS` to keep the first rows of a classification head with more
    classes than the model (K710 -> K400); without it a class-count mismatch is a :class:`CheckpointError`
    naming both counts (``strict=False``: the head is reported and left as initialised). ``new_head``: a head of
    another class count is not loaded and starts fresh (fine-tuning a classifier on new classes), reported in
    ``report.initialized``.

    Strict: after conversion every model key must be provided (or listed in ``report.initialized``) and
    every provided key must exist with the right shape; otherwise :class:`CheckpointError` names the keys.
    Tensors are cast to the dtype of the model's parameters (float16 files compute in float32).
    """
    if head_subset is not None and head_subset not in HEAD_SUBSETS:
        raise ValueError(f"head_subset must be one of {', '.join(HEAD_SUBSETS)}, got {head_subset!r}")
    tensors, fmt = read_state_dict(path)
    report = LoadReport(path=str(path), source_format=fmt, head_subset=head_subset)
    converter = _converter_for(model)
    try:
        state = converter.from_external(model, tensors, report)
    except KeyError as exc:  # a converter met a file without a tensor it needs (e.g. one q/k/v weight)
        raise CheckpointError(f"{path} ({fmt}) lacks a tensor {type(model).__name__} needs: {exc.args[0]}. "
                              "The file is incomplete or of another architecture; download or convert it "
                              "again.") from exc
    own = model.state_dict()
    counts = _head_rows(state, own)
    if counts is not None and new_head:
        for k in ("head.weight", "head.bias"):
            if k in state:
                report.ignored[k] = f"{counts[0]}-class head of the file, the model has {counts[1]} classes"
                report.initialized[k] = "new head for the model's classes (fine-tuning)"
                state.pop(k)
        counts = None
    if counts is not None and strict:
        rows, out = counts
        hint = (f"build the model with num_classes={rows}" + (
            f", or keep its first {out} classes explicitly with --head-subset first (head_subset='first'; "
            f"'k400' for the official K710 -> K400 cut)" if rows > out else ""))
        raise CheckpointError(
            f"{path} has a {rows}-class classification head but the model has {out} outputs "
            f"(head.weight: file {tuple(state['head.weight'].shape)} vs model {tuple(own['head.weight'].shape)}): "
            f"{hint}. Check --num-classes / --classes / --model-args num_classes=...")
    unexpected = sorted(set(state) - set(own))
    missing = sorted(set(own) - set(state) - set(report.initialized))
    wrong = sorted(k for k in set(state) & set(own) if tuple(state[k].shape) != tuple(own[k].shape))
    problems = []
    if unexpected:
        problems.append(f"unexpected keys {unexpected[:20]}{' ...' if len(unexpected) > 20 else ''}")
    if missing:
        problems.append(f"missing keys {missing[:20]}{' ...' if len(missing) > 20 else ''}")
    if wrong:
        problems.append("shape mismatches " + ", ".join(
            f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}" for k in wrong[:10]))
    if problems and strict:
        raise CheckpointError(
            f"{path} ({fmt}) does not fit {type(model).__name__}: " + "; ".join(problems)
            + ". Check that the model name and overrides (img_size, num_frames, num_classes, ...) match the "
              "checkpoint, or pass strict=False to load what fits."
        )
    for k in unexpected:
        report.ignored.setdefault(k, "not a parameter of this model")
    for k in wrong:
        report.ignored[k] = f"shape {tuple(state[k].shape)} does not fit {tuple(own[k].shape)}"
        report.initialized.setdefault(k, f"left as initialised: the file's tensor has shape {tuple(state[k].shape)}")
        state.pop(k)
    for k in missing:
        report.initialized.setdefault(k, "not in the checkpoint")
    state = {k: v.to(own[k].dtype) for k, v in state.items() if k in own}
    model.load_state_dict(state, strict=False)
    report.converted = len(state)
    return report


def new_head_weights(report: LoadReport | None) -> list[str]:
    """The classification-head weights (:data:`HEAD_PREFIXES`) that ``report`` lists as newly initialised."""
    if report is None:
        return []
    return sorted(k for k in report.initialized if k.startswith(HEAD_PREFIXES))


def refuse_new_head(report: LoadReport | None, source: str | Path, *, allow: bool = False,
                    flag: str | None = "--allow-random-head") -> list[str]:
    """Refuse to score with a head the checkpoint did not provide (e.g. a pretraining file given to
    ``evaluate``: its top-1 would be chance, silently). Raises :class:`CheckpointError` naming ``source`` and
    the keys, unless ``allow`` (then the keys are only returned, for a warning). ``flag``: the override the
    message offers (None: none)."""
    keys = new_head_weights(report)
    if keys and not allow:
        raise CheckpointError(
            f"{source} provides no classification head: {', '.join(keys)} would be randomly initialised, so the "
            f"predictions would be chance. Pass a fine-tuned classifier checkpoint (a pretraining checkpoint "
            f"must be fine-tuned first: `internvideo finetune --init {source}`)"
            + (f", or {flag} to score the random head anyway." if flag else "."))
    return keys


def to_official_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights with the key names and shapes of the official release."""
    return _converter_for(model).to_official(model)


def save_safetensors(model: nn.Module, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Save the kit's own weights (``model.state_dict()`` names) as safetensors, atomically, with the
    permissions of any file the user creates (``0o666 & ~umask``, like ``torch.save``'s ``.pth``; safetensors
    itself writes ``0600``)."""
    import os

    from safetensors.torch import save_file

    from internvideo_core.housekeeping import apply_umask

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(tmp), metadata=metadata or {})
    apply_umask(tmp)
    os.replace(tmp, path)
    return path
