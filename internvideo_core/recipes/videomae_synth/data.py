"""SynthMotion clips of the recipe in memory, the model input made from them, and seeded masks.

:func:`load_synth_data` renders the pool / labelled / test clips (uint8 ``[N, clip_frames, S, S, 3]``),
:func:`clips_to_input` turns them into ImageNet-normalised ``[B, 3, T, img, img]`` inputs, :class:`ClipLoader`
batches them (random offset and crop in training), :func:`shuffle_frames` destroys their temporal order and
:func:`make_mask` draws a reproducible tube / random mask.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from einops import rearrange

from internvideo_core.data.transforms import IMAGENET_MEAN, IMAGENET_STD

from .config import VideoMAESynthRecipe, as_recipe

__all__ = ["SynthData", "load_synth_data", "clips_to_input", "ClipLoader", "shuffle_frames", "make_mask"]


@dataclass
class SynthData:
    """In-memory SynthMotion clips, all uint8 ``[N, clip_frames, render_size, render_size, 3]``.

    ``pool``: unlabelled pretraining clips; ``train_videos`` / ``train_labels``: the labelled fine-tuning subset;
    ``val_videos`` / ``val_labels``: held-out clips to choose hyper-parameters on (the ``val`` split);
    ``test_videos`` / ``test_labels``: held-out evaluation clips (the ``test`` split; for ``ssv2``, which has no
    test split, the ``val`` clips); ``classes``: class names of the labels.
    """

    pool: torch.Tensor
    train_videos: torch.Tensor
    train_labels: torch.Tensor
    test_videos: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    seconds: float = 0.0
    val_videos: torch.Tensor | None = None
    val_labels: torch.Tensor | None = None


def load_synth_data(recipe: VideoMAESynthRecipe | str, seed: int = 0) -> SynthData:
    """Render the clips of ``recipe`` (SynthMotion sizes of ``recipe.profile``, the same clips for the same seed;
    a profile name stands for its recipe)."""
    from internvideo_core.data.synthmotion import SynthConfig, synthmotion_clips

    recipe = as_recipe(recipe)
    profile = recipe.profile
    start = time.perf_counter()
    cfg = SynthConfig(size=recipe.render_size, num_frames=recipe.clip_frames, **dict(recipe.synth))
    parts = {p: synthmotion_clips(p, "train", profile, seed, cfg=cfg) for p in recipe.pretrain_parts}
    if recipe.finetune_part not in parts:
        parts[recipe.finetune_part] = synthmotion_clips(recipe.finetune_part, "train", profile, seed, cfg=cfg)
    pool = torch.cat([parts[p].videos for p in recipe.pretrain_parts])
    labelled = parts[recipe.finetune_part]
    keep: list[int] = []
    counts: dict[int, int] = {}
    for i, y in enumerate(labelled.labels.tolist()):  # the first labels_per_class clips of every class
        if counts.get(y, 0) < recipe.labels_per_class:
            counts[y] = counts.get(y, 0) + 1
            keep.append(i)
    val = synthmotion_clips(recipe.finetune_part, "val", profile, seed, cfg=cfg)
    test = synthmotion_clips(recipe.finetune_part, "test", profile, seed, cfg=cfg) if recipe.finetune_part != "ssv2" \
        else val
    idx = torch.as_tensor(keep)
    return SynthData(pool=pool, train_videos=labelled.videos[idx], train_labels=labelled.labels[idx],
                     test_videos=test.videos, test_labels=test.labels, val_videos=val.videos, val_labels=val.labels,
                     classes=tuple(labelled.classes), seconds=time.perf_counter() - start)


def clips_to_input(videos: torch.Tensor, recipe: VideoMAESynthRecipe, *, offset: int | torch.Tensor = 0,
                   crop: str | tuple[int, int] | tuple[torch.Tensor, torch.Tensor] = "center") -> torch.Tensor:
    """uint8 ``[B, T0, S, S, 3]`` -> ImageNet-normalised float ``[B, 3, T0 / stride, img, img]``.

    ``offset``: first frame of the strided sampling (an int, or one per clip ``[B]``); ``crop``: ``"center"``
    or ``(top, left)`` (ints, or one per clip ``[B]`` each).
    """
    b, size, s = videos.shape[0], videos.shape[2], recipe.img_size
    if crop == "center":
        crop = ((size - s) // 2, (size - s) // 2)
    top, left = (torch.as_tensor(v).expand(b).tolist() for v in crop)
    off = torch.as_tensor(offset).expand(b).tolist()
    stride, nf = recipe.frame_stride, recipe.num_frames
    if max(off, default=0) + stride * (nf - 1) >= videos.shape[1]:
        raise ValueError(f"clips of {videos.shape[1]} frames are too short for {nf} frames every {stride} "
                         f"from offset {max(off)}")
    frames = torch.stack([videos[i, o: o + stride * (nf - 1) + 1: stride, y: y + s, x: x + s]
                          for i, (o, y, x) in enumerate(zip(off, top, left))])
    x = rearrange(frames, "b t h w c -> b c t h w").float()
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1, 1) * 255.0
    return (x - mean) / std


class ClipLoader:
    """A re-iterable of batches from in-memory clips: ``x [B, 3, T, img, img]`` or ``(x, labels [B])``.

    Training mode (``train=True``) shuffles each epoch (seeded by ``seed`` and the epoch, see
    :meth:`set_epoch`), drops the last incomplete batch and draws a random temporal offset and crop per clip.
    """

    def __init__(self, videos: torch.Tensor, labels: torch.Tensor | None, recipe: VideoMAESynthRecipe, *,
                 batch_size: int, train: bool = True, seed: int = 0) -> None:
        if train and len(videos) < batch_size:
            batch_size = max(1, len(videos))
        self.videos, self.labels, self.recipe = videos, labels, recipe
        self.batch_size, self.train, self.seed, self.epoch = batch_size, train, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.videos)
        return n // self.batch_size if self.train else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        r = self.recipe
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        n = len(self.videos)
        order = torch.randperm(n, generator=g) if self.train else torch.arange(n)
        span = self.videos.shape[2] - r.img_size
        for b in range(len(self)):
            idx = order[b * self.batch_size: (b + 1) * self.batch_size]
            if self.train:
                off = torch.randint(r.frame_stride, (len(idx),), generator=g)
                top, left = torch.randint(span + 1, (2, len(idx)), generator=g)
                x = clips_to_input(self.videos[idx], r, offset=off, crop=(top, left))
            else:
                x = clips_to_input(self.videos[idx], r)
            yield x if self.labels is None else (x, self.labels[idx])


def shuffle_frames(videos: torch.Tensor, generator: torch.Generator, *, return_order: bool = False
                   ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The same clips with their frames in a random order (one permutation per clip): uint8 ``[N, T, ...]``;
    with ``return_order`` also the permutations ``[N, T]`` (frame ``j`` of clip ``i`` is original frame
    ``order[i, j]``)."""
    perm = torch.stack([torch.randperm(videos.shape[1], generator=generator) for _ in range(len(videos))])
    out = torch.gather(videos, 1, perm.view(*perm.shape, 1, 1, 1).expand_as(videos))
    return (out, perm) if return_order else out


def make_mask(kind: str, batch: int, grid: tuple[int, int, int], ratio: float, seed: int = 0) -> torch.Tensor:
    """``bool [batch, N]`` tube or random mask (True = masked) drawn from a generator seeded with ``seed``."""
    from internvideo_core.masking import make_mask as _make

    return _make(kind, batch, grid, ratio, generator=torch.Generator().manual_seed(seed))
