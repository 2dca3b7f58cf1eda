"""VideoMAE masked-autoencoder pretraining loop.

    from internvideo_core import create_model
    from internvideo_core.train.pretrain import pretrain, PretrainConfig
    model = create_model("videomae_pretrain_tiny_synth")
    result = pretrain(model, loader, PretrainConfig(epochs=5, warmup_epochs=1, output_dir="runs/pt"))

``loader`` yields videos ``[B, 3, T, H, W]`` (normalized with ImageNet mean/std), or tuples / dicts whose first
item / ``"video"`` is the video; a ``"mask"`` (or a bool ``[B, N]`` second tuple item) is used as given,
otherwise a mask is drawn each step from the loop's own ``torch.Generator`` (seeded by ``config.seed`` and
the rank, saved in the checkpoints): tube masking at ``mask_ratio`` 0.9 by default. The loss is
``model.loss(video, mask)`` (MSE on normalized pixels of the masked tubelets).

Under torchrun the model is wrapped in DistributedDataParallel (see :mod:`.distributed` for launching).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import torch
from torch import nn

from internvideo_core.train import distributed as D
from internvideo_core.train.config import PretrainConfig
from internvideo_core.train.compile import maybe_compile
from internvideo_core.train.loop import (
    TrainResult,
    resolve_device,
    run_training,
    seed_everything,
    setup_optimization,
    wrap_ddp,
)

__all__ = ["PretrainConfig", "pretrain", "token_grid", "make_mask_fn", "MaskedAutoencoderTask"]

MaskFn = Callable[[int, tuple[int, int, int], float, torch.Generator], torch.Tensor]


def _find_size(model: nn.Module, names: tuple[str, ...]) -> int | None:
    for obj in (getattr(model, "config", None), getattr(model, "cfg", None), getattr(model, "patch_embed", None),
                getattr(getattr(model, "encoder", None), "patch_embed", None), getattr(model, "encoder", None), model):
        if obj is None:
            continue
        for n in names:
            v = getattr(obj, n, None)
            if v is not None:
                return int(v[-1] if isinstance(v, (tuple, list)) else v)
    return None


def token_grid(model: nn.Module, video_shape: torch.Size | tuple[int, ...], patch_size: int | None = None,
               tubelet_size: int | None = None) -> tuple[int, int, int]:
    """Token grid ``(T / tubelet, H / patch, W / patch)`` of a video ``[B, 3, T, H, W]`` for ``model``."""
    p = patch_size or _find_size(model, ("patch_size",))
    tt = tubelet_size or _find_size(model, ("tubelet_size",))
    if p is None or tt is None:
        raise ValueError(f"cannot tell the patch / tubelet size of {type(model).__name__}: set patch_size and "
                         "tubelet_size in PretrainConfig")
    _, _, t, h, w = video_shape
    if t % tt or h % p or w % p:
        raise ValueError(f"video {tuple(video_shape)} is not divisible into {tt}x{p}x{p} tubelets")
    return t // tt, h // p, w // p


def make_mask_fn(mask_type: str) -> MaskFn:
    """``(batch, grid, ratio, generator) -> bool [B, N]`` from :mod:`internvideo_core.masking`."""
    from internvideo_core import masking

    if mask_type == "tube":
        fn = masking.tube_mask
    elif mask_type == "random":
        fn = masking.random_mask
    else:
        raise ValueError(f"mask_type must be 'tube' or 'random', got {mask_type!r}")
    return lambda b, grid, ratio, gen: fn(b, grid=grid, ratio=ratio, generator=gen)


class MaskedAutoencoderTask(nn.Module):
    """``forward(video, mask) -> model.loss(video, mask)`` so DDP sees a forward call."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, video: torch.Tensor, mask: torch.Tensor, num_masked: int | None = None) -> torch.Tensor:
        if num_masked is None:
            return self.model.loss(video, mask)
        return self.model.loss(video, mask, num_masked=num_masked)


def _split_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, dict):
        return batch["video"], batch.get("mask")
    video = batch[0]
    mask = batch[1] if len(batch) > 1 and isinstance(batch[1], torch.Tensor) and batch[1].dtype == torch.bool \
        and batch[1].ndim == 2 else None
    return video, mask


def pretrain(model: nn.Module, loader: Iterable, config: PretrainConfig | None = None, *,
             resume: str | None = None, mask_fn: MaskFn | None = None) -> TrainResult:
    """Pretrain a masked autoencoder (``model.loss(video, mask)``) on ``loader``.

    Args:
        model: e.g. ``create_model("videomae_pretrain_small_patch16_224")``; moved to ``config.device``.
        loader: a DataLoader or any re-iterable of batches (see the module docstring).
        config: :class:`PretrainConfig` (official hyper-parameters by default; set ``epochs`` for small runs).
        resume: a ``checkpoint.pth`` from an earlier run with the same config; training continues exactly.
        mask_fn: ``(batch, grid, ratio, generator) -> bool [B, N]``; default tube / random masking from
            :mod:`internvideo_core.masking` per ``config.mask_type``.

    Returns:
        :class:`~internvideo_core.train.loop.TrainResult` with the per-step losses.
    """
    cfg = config or PretrainConfig()
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed, D.get_rank())
    model.to(device)
    known_count = mask_fn is None  # the kit's masks: the masked count is known without reading the mask back
    mask_fn = mask_fn or make_mask_fn(cfg.mask_type)
    mask_gen = torch.Generator().manual_seed(cfg.seed * 1000 + 17 + D.get_rank())
    optimizer, lr_s, wd_s, spe, _ = setup_optimization(model, cfg, loader, layer_decay=1.0)
    engine = maybe_compile(wrap_ddp(MaskedAutoencoderTask(model), device), cfg)

    def compute_loss(batch: Any) -> torch.Tensor:
        video, mask = _split_batch(batch)
        count = None
        if mask is None:
            grid = token_grid(model, video.shape, cfg.patch_size, cfg.tubelet_size)
            mask = mask_fn(video.shape[0], grid, cfg.mask_ratio, mask_gen).to(video.device, non_blocking=True)
            if known_count:
                from internvideo_core.masking import num_masked

                count = num_masked(cfg.mask_type, grid, cfg.mask_ratio)
        return engine(video, mask.bool(), count)

    return run_training(model=model, loader=loader, optimizer=optimizer, compute_loss=compute_loss,
                        epochs=cfg.epochs, device=device, lr_schedule=lr_s, wd_schedule=wd_s,
                        precision=cfg.precision, clip_grad=cfg.clip_grad, steps_per_epoch=spe,
                        generators={"mask": mask_gen}, output_dir=cfg.output_dir,
                        checkpoint_every=cfg.checkpoint_every, resume=resume, max_steps=cfg.max_steps,
                        config=cfg, name="pretrain", progress=cfg.progress)
