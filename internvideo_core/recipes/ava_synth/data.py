"""Key-frame samples of the SynthMotion ``ava`` part in memory, as the AVA CSV files describe them.

:func:`load_ava_split` renders the videos of one split (the same pixels as the mp4 files that
:func:`~internvideo_core.data.synthmotion.generate_synthmotion` writes with the same sizes, seed and config) and
cuts one sample per annotated key frame; its ``ground_truth`` rows are the rows of
``ava/ava_<split>_v2.2.csv`` (boxes rounded to 3 decimals as written). :class:`KeyFrameLoader` batches samples as
``{"video": [B, 3, T, S, S], "boxes": [K, 5] (batch index, x1, y1, x2, y2 in pixels), "labels": [K, A]}``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch

from .config import AVASynthRecipe

__all__ = ["AVASplit", "load_ava_split", "keyframes_of", "KeyFrameLoader", "frames_to_input"]


@dataclass
class AVASplit:
    """Key-frame samples: ``videos`` uint8 ``[N, clip_frames, S, S, 3]``, per sample normalised ``boxes``
    ``[K_i, 4]`` and multi-hot ``labels`` ``[K_i, A]``, ``video_ids`` / ``timestamps``; ``ground_truth``: AVA
    rows ``(video, t, x1, y1, x2, y2, action_id, person_id)``; ``excluded``: ``(video, t)`` boundary seconds;
    ``classes[i]`` is the name of ``action_ids[i]``."""

    videos: torch.Tensor
    boxes: list[torch.Tensor]
    labels: list[torch.Tensor]
    video_ids: list[str]
    timestamps: list[int]
    ground_truth: list[tuple]
    excluded: list[tuple[str, int]]
    classes: tuple[str, ...]
    action_ids: tuple[int, ...]
    full_videos: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.video_ids)


def keyframes_of(meta: dict[str, Any], fps: float, num_segments: int) -> list[tuple[int, int, bool]]:
    """``(timestamp, frame, annotated)`` of every key frame of a video, as the AVA writer lays them out:
    one per second from 1 to ``2 * num_segments - 1``; odd seconds (segment centres) are annotated, even ones
    (segment boundaries) are excluded."""
    return [(ts, int(round(ts * fps)), ts % 2 == 1) for ts in range(1, 2 * num_segments)]


def load_ava_split(recipe: AVASynthRecipe, seed: int = 0, split: str = "train", keep_videos: bool = False
                   ) -> AVASplit:
    """Render the AVA videos of ``split`` (``train`` / ``val``) and cut the annotated key frames."""
    import dataclasses

    from internvideo_core.data.synthmotion import AVA_CLASSES, SynthConfig
    from internvideo_core.data.synthmotion_plan import CLIP_FNS, resolve_sizes

    _, sizes = resolve_sizes(recipe.encoder_profile)
    sizes = dataclasses.replace(sizes, ava=tuple(recipe.ava_videos))
    cfg = SynthConfig(size=recipe.render_size, **dict(recipe.synth))
    n = sizes.count("ava", split)
    action_id = {c: i + 1 for i, c in enumerate(AVA_CLASSES)}
    half = recipe.clip_frames // 2
    videos, boxes, labels, vids, stamps, gt, excluded, full = [], [], [], [], [], [], [], {}
    for i in range(n):
        clip = CLIP_FNS["ava"](seed, split, i, sizes, cfg)
        frames, objs = clip.frames, clip.meta["objects"]
        if keep_videos:
            full[clip.vid] = clip
        for ts, frame, annotated in keyframes_of(clip.meta, cfg.fps, sizes.ava_segments):
            if not annotated:
                excluded.append((clip.vid, ts))
                continue
            start = frame - half
            if start < 0 or start + recipe.clip_frames > len(frames):
                raise ValueError(f"key frame {ts} s of {clip.vid} needs frames {start}..{start + recipe.clip_frames}"
                                 f" but the video has {len(frames)}")
            rounded = [[float("%.3f" % v) for v in o["boxes"][frame]] for o in objs]  # as the CSV writes them
            b = torch.tensor(rounded, dtype=torch.float32)
            y = torch.zeros(len(objs), len(AVA_CLASSES))
            for j, o in enumerate(objs):
                for lab in o["actions"][(ts - 1) // 2]:
                    y[j, action_id[lab] - 1] = 1.0
                    gt.append((clip.vid, ts, *rounded[j], action_id[lab], j))
            videos.append(torch.from_numpy(frames[start: start + recipe.clip_frames]))
            boxes.append(b)
            labels.append(y)
            vids.append(clip.vid)
            stamps.append(ts)
    return AVASplit(torch.stack(videos), boxes, labels, vids, stamps, gt, excluded, tuple(AVA_CLASSES),
                    tuple(action_id[c] for c in AVA_CLASSES), full)


def frames_to_input(frames: torch.Tensor, stride: int, offset: int | list[int] = 0) -> torch.Tensor:
    """uint8 ``[B, T0, S, S, 3]`` -> ImageNet-normalised ``[B, 3, T0 / stride, S, S]`` (every ``stride``-th frame
    from ``offset``, one offset per clip or one for all)."""
    from einops import rearrange

    from internvideo_core.data.transforms import IMAGENET_MEAN, IMAGENET_STD

    b, t0 = frames.shape[:2]
    offs = [offset] * b if isinstance(offset, int) else list(offset)
    nf = t0 // stride
    x = torch.stack([frames[i, o: o + stride * (nf - 1) + 1: stride] for i, o in enumerate(offs)])
    x = rearrange(x, "b t h w c -> b c t h w").float()
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1, 1) * 255.0
    return (x - mean) / std


class KeyFrameLoader:
    """Batches of key-frame samples (see the module docstring). Training mode shuffles each epoch (seeded by
    ``seed`` and the epoch), drops the last incomplete batch and draws a temporal offset in ``[0, stride)`` per
    clip. Boxes are the ground truth in pixels of the ``render_size`` frame; in test mode they are grown by
    ``recipe.test_box_extension`` (official test-time extension)."""

    def __init__(self, data: AVASplit, recipe: AVASynthRecipe, *, batch_size: int, train: bool = True,
                 seed: int = 0) -> None:
        self.data, self.recipe, self.train, self.seed, self.epoch = data, recipe, train, seed, 0
        self.batch_size = max(1, min(batch_size, len(data))) if train else batch_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.data)
        return n // self.batch_size if self.train else math.ceil(n / self.batch_size)

    def pixel_boxes(self, i: int) -> torch.Tensor:
        """Boxes of sample ``i`` in input pixels ``[K, 4]`` (grown in test mode)."""
        from internvideo_core.data.boxes import extend_boxes, normalised_to_pixels

        s = self.recipe.render_size
        px = normalised_to_pixels(self.data.boxes[i], s, s)
        return px if self.train else extend_boxes(px, self.recipe.test_box_extension, s, s)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        n, stride = len(self.data), self.recipe.frame_stride
        order = torch.randperm(n, generator=g) if self.train else torch.arange(n)
        for b in range(len(self)):
            idx = order[b * self.batch_size: (b + 1) * self.batch_size].tolist()
            offs = torch.randint(0, stride, (len(idx),), generator=g).tolist() if self.train else [0] * len(idx)
            video = frames_to_input(self.data.videos[idx], stride, offs)
            rois = torch.cat([torch.cat([torch.full((len(self.data.boxes[i]), 1), float(k)), self.pixel_boxes(i)], 1)
                              for k, i in enumerate(idx)])
            labels = torch.cat([self.data.labels[i] for i in idx])
            yield {"video": video, "boxes": rois, "labels": labels, "index": torch.tensor(idx)}
