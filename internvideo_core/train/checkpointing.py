"""Training checkpoints: atomic saves and exact resume.

A training checkpoint is one ``torch.save`` dict that loads with ``torch.load(weights_only=True)``::

    {"format": "internvideo-train-v1",
     "model": state_dict,                      # the bare model (DDP/compile wrappers removed)
     "optimizer": ..., "scheduler": ..., "scaler": ..., "ema": ...,   # None where unused
     "step": optimizer steps done, "epoch": current epoch, "batch_in_epoch": batches done in it,
     "rng": [per rank {"step": state, "epoch_start": state}], each state
             {"torch", "cuda", "numpy", "python", "generators": {name: state}},
     "config": the loop config as a plain dict, "extra": {...}}

Because the key ``"model"`` holds the weights, :func:`internvideo_core.checkpoint.read_state_dict` reads a
kit training checkpoint like an official pretraining file.

Saving is atomic: the file is written to a temporary name in the same folder, flushed to disk and moved
over the old one with ``os.replace``; a crash during the save leaves the previous checkpoint intact.

Resuming restores every random state (torch CPU/CUDA, numpy - used by timm's Mixup -, python ``random``,
and named ``torch.Generator`` objects such as the mask generator), so the losses after the resume equal
those of an uninterrupted run (see ``tests/test_train_resume.py``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import re
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from internvideo_core.checkpoint import CheckpointError
from internvideo_core.housekeeping import remove_stale
from internvideo_core.train.optim import unwrap_model

__all__ = [
    "FORMAT",
    "ResumeError",
    "ResumeFileNotFound",
    "atomic_torch_save",
    "capture_rng_state",
    "restore_rng_state",
    "preserve_rng",
    "save_training_checkpoint",
    "load_training_checkpoint",
    "config_to_dict",
]

FORMAT = "internvideo-train-v1"


class ResumeError(CheckpointError, ValueError):
    """A ``--resume`` file that cannot be used: empty, truncated, not a kit training checkpoint, or of
    another model; the message names the file (a :class:`~internvideo_core.checkpoint.CheckpointError`)."""


class ResumeFileNotFound(CheckpointError, FileNotFoundError):
    """The ``--resume`` file does not exist."""


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)`` that never leaves a half-written file at ``path``.

    Writes ``.<name>.tmp-<pid>`` beside ``path``, fsyncs it, then ``os.replace`` (atomic on POSIX and
    Windows). On any error the temporary file is removed and the previous ``path`` is untouched. Temporaries
    left by killed processes (``.<name>.tmp-<pid>`` whose pid is dead) are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # half-written temporaries of killed runs (their pid is gone) would otherwise stay forever (GBs each)
    remove_stale(path.parent, rf"\.{re.escape(path.name)}\.tmp-(?P<pid>\d+)")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename durable (not possible on every OS / filesystem)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


def capture_rng_state(generators: Mapping[str, torch.Generator] | None = None) -> dict[str, Any]:
    """Every random state of this process, as plain types and tensors (safe for ``weights_only`` loads)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        # the current device only: one process drives one GPU (all devices would touch every GPU's context)
        "cuda": [torch.cuda.get_rng_state()] if torch.cuda.is_available() and torch.cuda.is_initialized() else [],
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": int(version), "internal": list(internal), "gauss_next": gauss_next},
        "generators": {name: g.get_state() for name, g in (generators or {}).items()},
    }
    return state


def restore_rng_state(state: Mapping[str, Any], generators: Mapping[str, torch.Generator] | None = None) -> None:
    """Inverse of :func:`capture_rng_state`; generators are restored in place (missing names are an error)."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"][0])
    npst = state["numpy"]
    np.random.set_state((npst["kind"], npst["keys"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"],
                         npst["cached_gaussian"]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    saved = state.get("generators", {})
    for name, g in (generators or {}).items():
        if name not in saved:
            raise KeyError(f"the checkpoint has no state for generator {name!r} (it has {sorted(saved)})")
        g.set_state(saved[name])


@contextlib.contextmanager
def preserve_rng(generators: Mapping[str, torch.Generator] | None = None) -> Iterator[None]:
    """Run a block (e.g. a validation pass) without changing any random state afterwards."""
    state = capture_rng_state(generators)
    try:
        yield
    finally:
        restore_rng_state(state, generators)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as a dict of plain values (paths and other objects become strings)."""
    if config is None:
        return {}
    raw = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)

    def plain(v: Any) -> Any:
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return str(v)

    return {k: plain(v) for k, v in raw.items()}


def _state(obj: Any) -> Any:
    return obj.state_dict() if obj is not None and hasattr(obj, "state_dict") else None


def save_training_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    scaler: Any = None,
    ema: nn.Module | None = None,
    step: int = 0,
    epoch: int = 0,
    batch_in_epoch: int = 0,
    rng: list[dict[str, Any]] | None = None,
    generators: Mapping[str, torch.Generator] | None = None,
    config: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Atomically write a training checkpoint (call on the main process only; see :mod:`.distributed`).

    Args:
        rng: per rank ``{"step": ..., "epoch_start": ...}`` random states (:func:`capture_rng_state` after
            the last step and before the epoch's data iterator was created); default: this process's
            current state (with ``generators``) for both.
        scheduler: anything with ``state_dict()`` (torch / timm schedulers); the kit's
            :class:`~internvideo_core.train.schedule.WarmupCosine` is a pure function of ``step`` and is
            stored as its fields.
    """
    if rng is None:
        state = capture_rng_state(generators)
        rng = [{"step": state, "epoch_start": state}]
    if scheduler is not None and not hasattr(scheduler, "state_dict") and dataclasses.is_dataclass(scheduler):
        sched_state: Any = config_to_dict(scheduler)
    else:
        sched_state = _state(scheduler)
    ckpt = {
        "format": FORMAT,
        "model": unwrap_model(model).state_dict(),
        "optimizer": _state(optimizer),
        "scheduler": sched_state,
        "scaler": _state(scaler) if scaler is not None and getattr(scaler, "is_enabled", lambda: True)() else None,
        "ema": _state(ema),
        "step": int(step),
        "epoch": int(epoch),
        "batch_in_epoch": int(batch_in_epoch),
        "rng": rng,
        "config": config_to_dict(config),
        "extra": dict(extra or {}),
    }
    return atomic_torch_save(ckpt, path)


def load_training_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    scaler: Any = None,
    ema: nn.Module | None = None,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_training_checkpoint` into the given objects (strictly).

    Random states are *not* restored here: the training loop restores ``ckpt["rng"][rank]["epoch_start"]``
    before re-creating the interrupted epoch's data iterator and ``["step"]`` after skipping the batches
    already done (:func:`restore_rng_state`). Returns the checkpoint dict.
    """
    path = Path(path)
    if not path.is_file():
        raise ResumeFileNotFound(f"no training checkpoint at {path}; pass the checkpoint.pth of an earlier run")
    if path.stat().st_size == 0:
        raise ResumeError(f"{path} is empty (0 bytes): the run was killed before its first save finished, or "
                          "the file was truncated; resume from another checkpoint or start again without --resume")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise ResumeError(
            f"{path} cannot be read as a training checkpoint ({type(exc).__name__}: {exc}); it is truncated, "
            "damaged or not a PyTorch file. Resume from another checkpoint or start again without --resume."
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ResumeError(
            f"{path} is not a kit training checkpoint (format {FORMAT!r}); to start from released or "
            "pretrained weights use --init / create_model(checkpoint_path=...) instead of --resume")
    if model is not None:
        try:
            unwrap_model(model).load_state_dict(ckpt["model"], strict=True)
        except (RuntimeError, KeyError, TypeError) as exc:
            raise ResumeError(f"{path} does not fit this model: {exc}. Resume with the same --model and "
                              "--model-args as the run that wrote it.") from exc
    if optimizer is not None:
        if ckpt.get("optimizer") is None:
            raise ResumeError(f"{path} holds no optimizer state")
        try:
            optimizer.load_state_dict(ckpt["optimizer"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise ResumeError(f"{path}: its optimizer state does not fit this run ({exc}); resume with the "
                              "settings of the run that wrote it") from exc
    if scheduler is not None and hasattr(scheduler, "load_state_dict") and ckpt.get("scheduler") is not None:
        scheduler.load_state_dict(ckpt["scheduler"])
    if scaler is not None and ckpt.get("scaler") is not None:
        scaler.load_state_dict(ckpt["scaler"])
    if ema is not None:
        if ckpt.get("ema") is None:
            raise ResumeError(f"{path} holds no EMA weights but the run uses EMA (model_ema=True)")
        ema.load_state_dict(ckpt["ema"])
    return ckpt
