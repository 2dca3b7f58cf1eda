"""Clip loaders of the evaluation commands that :mod:`.pipelines` does not cover.

    clips = load_retrieval_clips("video7010.mp4", max_frames=12)   # [1, 3, 12, 224, 224], official retrieval input
    windows = sliding_windows(900, window=64, stride=64)           # [(0, 64), (64, 128), ...]

:func:`load_retrieval_clips` is the official retrieval protocol (frame choice in
:func:`~internvideo_core.data.benchmark_layouts.retrieval_frame_indices`: about one frame per second, at most
``max_frames``, zero frames padding short videos; PIL bicubic resize of the short side to ``size``, centre crop,
CLIP mean/std). ``merge_clips=N > 1`` (a kit option, not an official setting) cuts the video into ``N`` equal
consecutive parts and samples each part the same way, giving ``[N, 3, T, size, size]`` whose embeddings the
caller averages.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from .benchmark_layouts import downstream_frame_indices, retrieval_frame_indices
from .io import open_video
from .transforms import CLIP_MEAN, CLIP_STD, center_crop, frames_to_tensor, normalize, resize

__all__ = ["pil_resize_crop", "load_retrieval_clips", "load_uniform_clips", "load_downstream_clip", "load_mm_input",
           "split_ranges", "sliding_windows"]


def pil_resize_crop(frames: torch.Tensor, size: int = 224) -> torch.Tensor:
    """uint8 ``[T, H, W, 3]`` -> float ``[3, T, size, size]`` in ``[0, 1]``: torchvision ``Resize(size, BICUBIC)``
    on PIL images (short side ``size``, long side ``int(size * long / short)``) then ``CenterCrop(size)``."""
    from PIL import Image
    from torchvision.transforms import functional as TF
    from torchvision.transforms import InterpolationMode

    out = []
    for f in frames.numpy():
        img = TF.resize(Image.fromarray(f), size, interpolation=InterpolationMode.BICUBIC)
        out.append(TF.to_tensor(TF.center_crop(img, size).convert("RGB")))
    return torch.stack(out, dim=1)


def split_ranges(num_frames: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` consecutive ``(start, end)`` frame ranges covering ``0 .. num_frames`` (each at least 1 frame)."""
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    edges = np.linspace(0, num_frames, parts + 1).round().astype(int)
    return [(int(a), max(int(b), int(a) + 1)) for a, b in zip(edges[:-1], edges[1:])]


def load_retrieval_clips(path: str | os.PathLike, max_frames: int = 12, size: int = 224,
                         feature_framerate: float = 1.0, merge_clips: int = 1, max_seconds: float | None = None,
                         backend: str = "auto") -> torch.Tensor:
    """Official retrieval input of one video: ``[merge_clips, 3, max_frames, size, size]`` (CLIP-normalised,
    zero frames after the real ones when the video is short). ``max_seconds``: read only frames
    ``0 .. int(max_seconds * fps)`` (the official ``end_time``; DiDeMo uses 31)."""
    with open_video(path, backend=backend) as video:
        n, fps = video.info.num_frames, video.info.fps
        if max_seconds is not None and fps > 0:
            n = min(n, int(max_seconds * fps) + 1)
        plans = []
        for lo, hi in split_ranges(n, merge_clips):
            idx, pad = retrieval_frame_indices(hi - lo, fps, max_frames, feature_framerate)
            plans.append((idx + lo, pad))
        wanted = np.unique(np.concatenate([p[0] for p in plans]))
        decoded = video.read(wanted)
    pos = {int(f): i for i, f in enumerate(wanted)}
    clips = []
    for idx, pad in plans:
        x = normalize(pil_resize_crop(decoded[torch.tensor([pos[int(i)] for i in idx])], size), CLIP_MEAN, CLIP_STD)
        if pad:
            x = torch.cat([x, x.new_zeros(3, pad, size, size)], dim=1)
        clips.append(x)
    return torch.stack(clips)


def load_uniform_clips(path: str | os.PathLike, num_frames: int = 8, size: int = 224, short_side: int = 256,
                       merge_clips: int = 1, backend: str = "auto") -> torch.Tensor:
    """The pretraining protocol (:func:`~internvideo_core.data.pipelines.load_mm_clip`: linspace frames, bilinear
    short side, centre crop, CLIP mean/std) on each of ``merge_clips`` consecutive parts of the video:
    ``[merge_clips, 3, num_frames, size, size]``. ``merge_clips=1`` equals ``load_mm_clip(path)[None]``."""
    from .pipelines import mm_clip_from_frames
    from .sampling import uniform_indices

    with open_video(path, backend=backend) as video:
        n = video.info.num_frames
        plans = [uniform_indices(hi - lo, num_frames) + lo for lo, hi in split_ranges(n, merge_clips)]
        wanted = np.unique(np.concatenate(plans))
        decoded = video.read(wanted)
    pos = {int(f): i for i, f in enumerate(wanted)}
    return torch.stack([mm_clip_from_frames(decoded[torch.tensor([pos[int(i)] for i in idx])], size, short_side)
                        for idx in plans])


def load_downstream_clip(path: str | os.PathLike, num_frames: int = 8, size: int = 224, squash: int = 256,
                         backend: str = "auto") -> torch.Tensor:
    """The official multi-modal downstream input (zero-shot, multiple choice, QA) -> ``[3, T, size, size]``:
    segment-middle frames (:func:`~internvideo_core.data.benchmark_layouts.downstream_frame_indices`), every frame
    resized to ``squash x squash`` (decord's ``width=256, height=256``: the aspect ratio is not kept; bilinear
    here), centre crop ``size``, CLIP mean/std. The resize filter and the normalisation of the official
    ``VideoTransform`` are not in the public sources the kit could read; CLIP's mean/std (the model's) are used."""
    with open_video(path, backend=backend) as video:
        frames = video.read(downstream_frame_indices(video.info.num_frames, num_frames))
    x = resize(frames_to_tensor(frames), (squash, squash))
    return normalize(center_crop(x, size), CLIP_MEAN, CLIP_STD)


def load_mm_input(path: str | os.PathLike, sampling: str, num_frames: int, size: int) -> torch.Tensor:
    """One clip ``[3, T, size, size]`` for a dual encoder: ``sampling="official"`` (:func:`load_downstream_clip`)
    or ``"kit"`` (:func:`~internvideo_core.data.pipelines.load_mm_clip`: linspace frames, short side
    ``size * 256 / 224``, the InternVideo-MM demo preprocessing the kit checks against the official code)."""
    if sampling == "official":
        return load_downstream_clip(path, num_frames, size, round(size * 256 / 224))
    if sampling == "kit":
        from .pipelines import load_mm_clip

        return load_mm_clip(path, num_frames, size, round(size * 256 / 224))
    raise ValueError(f"sampling must be 'official' or 'kit', got {sampling!r}")


def sliding_windows(num_frames: int, window: int, stride: int) -> list[tuple[int, int]]:
    """``(start, end)`` frame ranges of length ``window`` every ``stride`` frames; the last window ends at the
    last frame (so the tail is covered); a video shorter than ``window`` gives one range ``(0, num_frames)``."""
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got {window}, {stride}")
    if num_frames <= window:
        return [(0, num_frames)]
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] + window < num_frames:
        starts.append(num_frames - window)
    return [(s, s + window) for s in starts]
