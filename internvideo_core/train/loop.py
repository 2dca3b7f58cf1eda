"""Pieces shared by the training loops: precision, stepping, epoch iteration with resume, logging, driver.

:func:`run_training` is the one epoch/step driver behind :mod:`.pretrain`, :mod:`.finetune` and
:mod:`.contrastive`; each of them only supplies ``compute_loss(batch) -> loss``. The driver owns:

- the per-iteration lr / weight-decay schedule (:mod:`.schedule`), applied before each step;
- precision: ``"auto"`` = bf16 autocast on CUDA, fp32 on CPU; ``"fp16"`` adds a ``GradScaler`` (the only case
  that needs one); ``"bf16"`` / ``"fp32"`` force a mode;
- gradient clipping (``clip_grad`` = max norm, ``None`` = off, as in the official code);
- checkpoints every ``checkpoint_every`` optimizer steps, at the end of each epoch and of training, written
  atomically by rank 0 with the random states of every rank;
- resume: ``resume=path`` restores model/optimizer/scaler/EMA/step, re-creates the interrupted epoch's data
  iterator, skips the batches already done (through :class:`.distributed.ResumableSampler` when the loader
  uses one, else by reading them), then restores all random states, so the following losses equal those of
  an uninterrupted run;
- a tqdm bar on rank 0 and one log line per epoch (also appended to ``output_dir/log.txt``).
"""
from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import torch
from torch import nn

from internvideo_core.train import distributed as D
from internvideo_core.train.checkpointing import (
    capture_rng_state,
    load_training_checkpoint,
    preserve_rng,
    restore_rng_state,
    save_training_checkpoint,
)
from internvideo_core.train.schedule import WarmupCosine, apply_schedule

__all__ = [
    "resolve_device",
    "autocast",
    "make_scaler",
    "backward_step",
    "to_device",
    "seed_everything",
    "EpochMeter",
    "TrainResult",
    "run_training",
]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``/``"auto"`` -> CUDA if available else CPU."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _precision(precision: str, device: torch.device) -> str:
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise ValueError(f"precision must be auto, fp32, bf16 or fp16, got {precision!r}")
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return precision


def autocast(device: torch.device, precision: str = "auto") -> contextlib.AbstractContextManager:
    """Autocast context for the forward pass: bf16 on CUDA by default, nothing (fp32) on CPU."""
    p = _precision(precision, device)
    if p == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if p == "bf16" else torch.float16)


def make_scaler(device: torch.device, precision: str = "auto") -> torch.amp.GradScaler:
    """A GradScaler that is enabled only for fp16 (bf16 and fp32 need none)."""
    return torch.amp.GradScaler(device.type, enabled=_precision(precision, device) == "fp16")


def backward_step(loss: torch.Tensor, model: nn.Module, optimizer: torch.optim.Optimizer,
                  scaler: torch.amp.GradScaler | None = None, clip_grad: float | None = None) -> float | None:
    """``zero_grad -> backward -> (unscale, clip) -> step``. Returns the gradient norm if clipping is on.

    Raises a ``FloatingPointError`` on a non-finite loss (the official code stops the same way).
    """
    if not torch.isfinite(loss.detach()).all():
        raise FloatingPointError(f"loss is {loss.item()}, stopping training (lower the lr or use bf16/fp32)")
    optimizer.zero_grad(set_to_none=True)
    use_scaler = scaler is not None and scaler.is_enabled()
    (scaler.scale(loss) if use_scaler else loss).backward()
    norm = None
    if clip_grad is not None:
        if use_scaler:
            scaler.unscale_(optimizer)
        norm = float(torch.nn.utils.clip_grad_norm_(
            [p for g in optimizer.param_groups for p in g["params"]], clip_grad))
    if use_scaler:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return norm


def to_device(batch: Any, device: torch.device) -> Any:
    """Move tensors inside (nested) tuples/lists/dicts to ``device``; other values are kept."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch) if not hasattr(batch, "_fields") else \
            type(batch)(*(to_device(v, device) for v in batch))
    return batch


def seed_everything(seed: int, rank: int = 0) -> None:
    """Seed torch (CPU and CUDA), numpy and python ``random`` with ``seed + rank``."""
    import random

    import numpy as np

    s = int(seed) + int(rank)
    torch.manual_seed(s)
    np.random.seed(s % 2**32)
    random.seed(s)


class EpochMeter:
    """Running means of named scalars for one epoch, plus its wall time."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.start = time.perf_counter()

    def update(self, **values: float) -> None:
        for k, v in values.items():
            if v is None:
                continue
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
            self.counts[k] = self.counts.get(k, 0) + 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] for k in self.sums}

    def line(self, prefix: str) -> str:
        parts = [prefix] + [f"{k} {v:.4g}" for k, v in self.means().items()]
        parts.append(f"time {time.perf_counter() - self.start:.1f}s")
        return "  ".join(parts)


@dataclass
class TrainResult:
    """What a training run returns: per-step losses (rank-mean), per-epoch mean metrics, final step."""

    losses: list[float] = field(default_factory=list)
    epochs: list[dict[str, float]] = field(default_factory=list)
    step: int = 0
    checkpoint: Path | None = None


_END = object()


def _steps_per_epoch(loader: Iterable, explicit: int | None) -> int:
    if explicit:
        return int(explicit)
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError("the loader has no len(): pass steps_per_epoch= in the config") from None


def _epoch_iterator(loader: Iterable, epoch: int, skip: int) -> Iterator:
    """The loader's iterator for ``epoch`` with the first ``skip`` batches left out."""
    sampler = getattr(loader, "sampler", None)
    batch_size = getattr(loader, "batch_size", None)
    fast = skip > 0 and isinstance(sampler, D.ResumableSampler) and batch_size
    if hasattr(sampler, "set_epoch"):
        if isinstance(sampler, D.ResumableSampler):
            sampler.set_epoch(epoch, start=skip * batch_size if fast else 0)
        else:
            sampler.set_epoch(epoch)
    elif hasattr(loader, "set_epoch"):
        loader.set_epoch(epoch)  # type: ignore[union-attr]
    dataset = getattr(loader, "dataset", None)
    if hasattr(dataset, "set_epoch"):  # datasets seeding their augmentation by (seed, epoch, index)
        dataset.set_epoch(epoch)
    it = iter(loader)
    if skip and not fast:
        for _ in range(skip):  # read and drop the batches already trained on
            next(it)
    return it


_RUN_ONLY_FIELDS = {"output_dir", "progress", "max_steps", "device", "checkpoint_every", "precision", "compile",
                    "compile_mode", "tensorboard"}


def _warn_config_change(path: Any, saved: Mapping[str, Any], config: Any) -> None:
    """Warn when a resumed run changes settings that shape the training trajectory."""
    if config is None or not saved:
        return
    import warnings

    from internvideo_core.train.checkpointing import config_to_dict

    now = config_to_dict(config)
    changed = sorted(k for k in now.keys() & saved.keys() if k not in _RUN_ONLY_FIELDS and now[k] != saved[k])
    if changed:
        warnings.warn(f"resuming {path} with changed settings {', '.join(f'{k}: {saved[k]} -> {now[k]}' for k in changed)}"
                      "; the run will not continue the original one exactly", stacklevel=3)


def run_training(
    *,
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    compute_loss: Callable[[Any], torch.Tensor | tuple[torch.Tensor, dict[str, float]]],
    epochs: int,
    device: torch.device,
    lr_schedule: WarmupCosine | None = None,
    wd_schedule: WarmupCosine | None = None,
    precision: str = "auto",
    clip_grad: float | None = None,
    steps_per_epoch: int | None = None,
    generators: Mapping[str, torch.Generator] | None = None,
    output_dir: str | Path | None = None,
    checkpoint_every: int = 0,
    resume: str | Path | None = None,
    max_steps: int | None = None,
    ema: nn.Module | None = None,
    after_step: Callable[[int], None] | None = None,
    end_of_epoch: Callable[[int], dict[str, float] | None] | None = None,
    config: Any = None,
    name: str = "train",
    progress: bool = True,
) -> TrainResult:
    """Train ``model`` for ``epochs`` over ``loader``; see the module docstring for what is handled.

    Args:
        compute_loss: ``batch -> loss`` or ``(loss, {"metric": value})``; runs under autocast, on batches
            already moved to ``device``.
        generators: named ``torch.Generator`` objects the loss uses (e.g. the mask generator); saved and
            restored with the checkpoints.
        checkpoint_every: save ``output_dir/checkpoint.pth`` every this many optimizer steps (0 = only at the
            end of each epoch). No checkpoints without ``output_dir``.
        max_steps: stop after this many optimizer steps in total (a checkpoint is written there).
        after_step: called with the new step count after each optimizer step (EMA update, clamping...).
        end_of_epoch: called with the epoch index after its last step (validation); random states are
            preserved around it. Its returned metrics join the epoch log.
    """
    info_rank, world = D.get_rank(), D.get_world_size()
    main = info_rank == 0
    spe = _steps_per_epoch(loader, steps_per_epoch)
    total_steps = epochs * spe
    scaler = make_scaler(device, precision)
    out = Path(output_dir) if output_dir is not None else None
    ckpt_path = out / "checkpoint.pth" if out is not None else None
    if out is not None and main:
        out.mkdir(parents=True, exist_ok=True)
    result = TrainResult()
    step, start_epoch, skip = 0, 0, 0
    rng_to_restore: dict[str, Any] | None = None
    epoch_rng: dict[str, Any] | None = None
    if resume is not None:
        ckpt = load_training_checkpoint(resume, model=model, optimizer=optimizer, scaler=scaler, ema=ema)
        step, start_epoch, skip = ckpt["step"], ckpt["epoch"], ckpt["batch_in_epoch"]
        if skip >= spe:
            start_epoch, skip = start_epoch + 1, 0
        _warn_config_change(resume, ckpt.get("config") or {}, config)
        rngs = ckpt["rng"]
        if len(rngs) != world:
            raise ValueError(f"{resume} was written by {len(rngs)} process(es) but this run has {world}; "
                             "resume with the same number of processes for an exact continuation")
        rng_to_restore = rngs[info_rank]
        result.step = step

    def save(epoch: int, batch_in_epoch: int) -> None:
        if ckpt_path is None:
            return
        rng = D.all_gather_object({"step": capture_rng_state(generators), "epoch_start": epoch_rng})
        if main:
            save_training_checkpoint(ckpt_path, model=model, optimizer=optimizer, scheduler=lr_schedule,
                                     scaler=scaler, ema=ema, step=step, epoch=epoch, batch_in_epoch=batch_in_epoch,
                                     rng=rng, config=config)
            result.checkpoint = ckpt_path
        D.barrier()

    log_file = out / "log.txt" if out is not None and main else None
    board = None
    if getattr(config, "tensorboard", False) and main:
        from internvideo_core.train.tensorboard_log import open_tensorboard

        board = open_tensorboard(out)
    model.train()
    for epoch in range(start_epoch, epochs):
        if max_steps is not None and step >= max_steps:
            break
        done_in_epoch = skip if epoch == start_epoch else 0
        # Random states: "epoch_start" is captured before the epoch's data iterator is created (a shuffling
        # sampler or worker seeds may draw from the global RNG), "step" after the last finished step.
        if rng_to_restore is not None and done_in_epoch == 0:
            restore_rng_state(rng_to_restore["step"], generators)
        elif rng_to_restore is not None:
            restore_rng_state(rng_to_restore["epoch_start"], generators)
        epoch_rng = capture_rng_state(generators)
        it = _epoch_iterator(loader, epoch, done_in_epoch)
        if rng_to_restore is not None and done_in_epoch:
            restore_rng_state(rng_to_restore["step"], generators)
        rng_to_restore = None
        meter = EpochMeter()
        bar = None
        if progress and main:
            from tqdm.auto import tqdm

            bar = tqdm(total=spe, initial=done_in_epoch, desc=f"{name} epoch {epoch} ({epoch + 1} of {epochs})", leave=False,
                       dynamic_ncols=True)
        batch_idx = done_in_epoch
        while batch_idx < spe and not (max_steps is not None and step >= max_steps):
            batch = next(it, _END)  # fetched only when it will be used: loading may draw random numbers
            if batch is _END:
                break
            lr = apply_schedule(optimizer, step, lr_schedule, wd_schedule)
            batch = to_device(batch, device)
            with autocast(device, precision):
                res = compute_loss(batch)
            loss, metrics = (res if isinstance(res, tuple) else (res, {}))
            norm = backward_step(loss.float(), model, optimizer, scaler, clip_grad)
            step += 1
            batch_idx += 1
            if after_step is not None:
                after_step(step)
            loss_val = D.all_reduce_mean(loss.detach().float()) if world > 1 else float(loss.detach())
            result.losses.append(loss_val)
            meter.update(loss=loss_val, lr=lr, grad_norm=norm, **metrics)
            if board is not None:
                board.step(step, loss_val, lr, norm)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss_val:.4f}", lr=f"{lr:.2e}")
            if checkpoint_every and step % checkpoint_every == 0 and batch_idx < spe:
                save(epoch, batch_idx)
        if bar is not None:
            bar.close()
        if batch_idx < spe and not (max_steps is not None and step >= max_steps):
            raise RuntimeError(f"the loader gave {batch_idx} batches in epoch {epoch}, expected {spe} "
                               "(steps_per_epoch); use drop_last=True or set steps_per_epoch")
        epoch_done = batch_idx >= spe
        summary = meter.means()
        if epoch_done and end_of_epoch is not None:
            with preserve_rng(generators):
                extra = end_of_epoch(epoch) or {}
            model.train()
            summary.update(extra)
        summary.update(epoch=epoch, step=step)
        result.epochs.append(summary)
        if main:
            # epochs numbered from 0 as in log.txt's "epoch" (and the official logs), "(k of N)" for reading
            line = meter.line(f"[{name}] epoch {epoch} ({epoch + 1} of {epochs}) step {step}/{total_steps}")
            extras = {k: v for k, v in summary.items() if k not in meter.means() and k not in ("epoch", "step")}
            if extras:
                line += "  " + "  ".join(f"{k} {v:.4g}" for k, v in extras.items())
            print(line, flush=True)
            if board is not None:
                board.epoch(step, summary)
            if log_file is not None:
                with open(log_file, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({k: (v if math.isfinite(float(v)) else None) for k, v in summary.items()})
                             + "\n")
        save(epoch, batch_idx)
        if not epoch_done:
            break
    if board is not None:
        board.close()
    result.step = step
    return result


def _first_batch_size(loader: Iterable) -> int | None:
    """Batch size of an in-memory list of batches (tensors, tuples or dicts whose first item is a video)."""
    if not isinstance(loader, (list, tuple)) or not loader:
        return None
    first = loader[0]
    if isinstance(first, Mapping):
        first = first.get("video")
    elif isinstance(first, (list, tuple)) and first:
        first = first[0]
    return int(first.shape[0]) if isinstance(first, torch.Tensor) and first.ndim > 0 else None


def setup_optimization(model: nn.Module, cfg: Any, loader: Iterable, layer_decay: float = 1.0,
                       skip_list: Iterable[str] | None = None):
    """AdamW + lr / wd schedules from a :class:`~internvideo_core.train.config.TrainConfig`.

    Returns ``(optimizer, lr_schedule, wd_schedule, steps_per_epoch, peak_lr)``; lr values are scaled by
    ``batch_size * world_size / 256`` when ``cfg.scale_lr``.
    """
    from internvideo_core.train.optim import create_optimizer

    spe = _steps_per_epoch(loader, cfg.steps_per_epoch)
    batch = cfg.batch_size or getattr(loader, "batch_size", None) or _first_batch_size(loader)
    if cfg.scale_lr and not batch:
        raise ValueError("scale_lr needs the per-process batch size: set batch_size in the config")
    factor = (batch * D.get_world_size() / 256) if cfg.scale_lr else 1.0
    lr, min_lr, warmup_lr = cfg.base_lr * factor, cfg.min_lr * factor, cfg.warmup_lr * factor
    optimizer = create_optimizer(model, lr, cfg.weight_decay, layer_decay, tuple(cfg.betas), cfg.eps, skip_list)
    lr_schedule = WarmupCosine.from_epochs(lr, min_lr, cfg.epochs, spe, cfg.warmup_epochs, warmup_lr, cfg.warmup_steps)
    wd_schedule = None
    if cfg.weight_decay_end is not None and cfg.weight_decay_end != cfg.weight_decay:
        wd_schedule = WarmupCosine(cfg.weight_decay, cfg.weight_decay_end, cfg.epochs * spe)
    return optimizer, lr_schedule, wd_schedule, spe, lr


def wrap_ddp(module: nn.Module, device: torch.device, find_unused_parameters: bool = False) -> nn.Module:
    """``DistributedDataParallel(module)`` under a process group, else ``module``.

    ``find_unused_parameters``: needed when some trainable parameters take no part in the loss (e.g. the
    dual encoder's masked-language-modelling embedding in contrastive training)."""
    if not D.is_dist():
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused_parameters,
                                   gradient_as_bucket_view=True)
