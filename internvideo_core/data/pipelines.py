"""Ready-made clip loaders for the official evaluation protocols (decode once, only the frames needed).

    clip = load_mm_clip("video.mp4")               # InternVideo-MM: [3, 8, 224, 224], CLIP-normalized
    views = load_videomae_views("video.mp4")        # VideoMAE K400 test: [15, 3, 16, 224, 224]
    views = load_videomae_segment_views("v.webm")   # VideoMAE SSv2 test: [6, 3, 16, 224, 224]

Views are ordered temporal-view-major, as the official test sets enumerate them:
``view = clip * num_crops + crop``. All loaders accept ``frames=`` (uint8 ``[N, H, W, 3]``, an already
decoded video, e.g. a Gradio upload) instead of a path, plus ``backend=`` for :func:`read_video`.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch

from .io import open_video
from .sampling import dense_views, segment_views, uniform_indices, union_indices
from .transforms import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    center_crop,
    frames_to_tensor,
    normalize,
    normalize_,
    resize_short_side,
    spatial_crop_offsets,
)

__all__ = [
    "decode_views",
    "load_mm_clip",
    "mm_clip_from_frames",
    "load_videomae_views",
    "load_videomae_segment_views",
    "views_from_frames",
]


def decode_views(
    path: str | os.PathLike | None,
    index_fn,
    frames: torch.Tensor | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, np.ndarray]:
    """Decode the union of the frames that ``index_fn(num_frames) -> int [..., T]`` asks for, once.

    Returns ``(frames uint8 [U, H, W, 3], positions int [..., T])`` with ``frames[positions]`` the views.
    With ``frames`` given (uint8 ``[N, H, W, 3]``) nothing is decoded.
    """
    if frames is not None:
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
            raise ValueError(f"frames must be uint8 [N, H, W, 3] with N >= 1, got {tuple(frames.shape)}")
        views = np.asarray(index_fn(int(frames.shape[0])), dtype=np.int64)
        unique, positions = union_indices(views)
        return frames[torch.from_numpy(unique)], positions
    if path is None:
        raise ValueError("give a video path or decoded frames")
    with open_video(path, backend=backend) as video:
        views = np.asarray(index_fn(video.info.num_frames), dtype=np.int64)
        unique, positions = union_indices(views)
        return video.read(unique), positions


def mm_clip_from_frames(
    frames: torch.Tensor, size: int = 224, short_side: int = 256, antialias: bool = False
) -> torch.Tensor:
    """InternVideo-MM preprocessing of sampled frames: uint8 ``[T, H, W, 3]`` -> float ``[3, T, size, size]``.

    Short side to ``short_side`` (bilinear), centre crop ``size``, /255, CLIP mean/std.
    """
    x = frames_to_tensor(frames)
    x = resize_short_side(x, short_side, antialias=antialias)
    x = center_crop(x, size)
    return normalize(x, CLIP_MEAN, CLIP_STD)


def load_mm_clip(
    path: str | os.PathLike | None = None,
    num_frames: int = 8,
    size: int = 224,
    short_side: int = 256,
    *,
    frames: torch.Tensor | None = None,
    backend: str = "auto",
    antialias: bool = False,
) -> torch.Tensor:
    """InternVideo-MM clip loader -> float ``[3, num_frames, size, size]``.

    Frames ``linspace(0, n-1, num_frames).astype(int)``, short side ``short_side`` (bilinear), centre crop
    ``size``, /255, CLIP mean/std: the official preprocessing (checked against
    ``internvideo_mm_preprocess_io.safetensors`` in ``tests/test_mm_preprocess.py``).
    """
    decoded, positions = decode_views(path, lambda n: uniform_indices(n, num_frames), frames, backend)
    return mm_clip_from_frames(decoded[torch.from_numpy(positions)], size, short_side, antialias)


def _load_multi_view(
    path: str | os.PathLike | None,
    index_fn,
    num_crops: int,
    size: int,
    short_side: int | None,
    frames: torch.Tensor | None,
    backend: str,
    mean: Sequence[float],
    std: Sequence[float],
    antialias: bool,
) -> torch.Tensor:
    """Decode the union of the temporal views once (:func:`decode_views`), resize the short side to
    ``short_side`` (``None``: ``size``) + normalize it once, then gather the views and cut spatial crops.

    ``index_fn(num_frames) -> int [V_t, T]`` -> float ``[V_t * num_crops, 3, T, size, size]``.
    """
    decoded, positions = decode_views(path, index_fn, frames, backend)
    return views_from_frames(decoded, positions, size, num_crops, short_side, mean, std, antialias)


def views_from_frames(
    decoded: torch.Tensor,
    positions: np.ndarray,
    size: int,
    num_crops: int,
    short_side: int | None = None,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    antialias: bool = False,
) -> torch.Tensor:
    """Multi-view test input from the distinct decoded frames: uint8 ``[U, H, W, 3]`` + ``positions`` int
    ``[V_t, T]`` (rows of indices into ``decoded``) -> float ``[V_t * num_crops, 3, T, size, size]``.

    The short side is resized to ``short_side`` (``None``: ``size``) and normalised once on the ``U`` distinct
    frames (in place); each view is then gathered and cropped straight into the preallocated output
    (no list of views and no stack) (the same numbers as resizing each view).
    """
    short_side = size if short_side is None else short_side
    x = frames_to_tensor(decoded)  # [3, U, H, W]
    x = resize_short_side(x, short_side, antialias=antialias)
    x = normalize_(x, mean, std)  # x is a new tensor: frames_to_tensor always copies
    offsets = spatial_crop_offsets(x.shape[-2], x.shape[-1], size, num_crops)
    rows = torch.as_tensor(np.asarray(positions, dtype=np.int64)).reshape(-1, np.shape(positions)[-1])
    out = torch.empty(rows.shape[0] * len(offsets), x.shape[0], rows.shape[1], size, size, dtype=x.dtype)
    v = 0
    for row in rows:
        for top, left in offsets:
            out[v].copy_(x[:, row, top : top + size, left : left + size])
            v += 1
    return out


def load_videomae_views(
    path: str | os.PathLike | None = None,
    num_frames: int = 16,
    rate: int = 4,
    num_clips: int = 5,
    num_crops: int = 3,
    size: int = 224,
    short_side: int | None = None,
    *,
    frames: torch.Tensor | None = None,
    backend: str = "auto",
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    antialias: bool = False,
) -> torch.Tensor:
    """VideoMAE Kinetics test views -> float ``[num_clips * num_crops, 3, num_frames, size, size]``.

    Official protocol (VideoMAE ``kinetics.py``, test mode): every ``rate``-th frame, ``num_clips`` clips
    evenly spaced over them (:func:`~internvideo_core.data.sampling.dense_indices` ``mode="test"``); short
    side resized to ``short_side`` (default ``size``, as the official ``--short_side_size 224``); ``num_crops``
    crops along the long side; ImageNet mean/std. Average the per-view softmax to score the video.
    Only the distinct frames of all views are decoded, once.
    """
    return _load_multi_view(path, lambda n: dense_views(n, num_frames, rate, num_clips), num_crops, size,
                            short_side, frames, backend, mean, std, antialias)


def load_videomae_segment_views(
    path: str | os.PathLike | None = None,
    num_segments: int = 16,
    num_views: int = 2,
    num_crops: int = 3,
    size: int = 224,
    short_side: int | None = None,
    *,
    frames: torch.Tensor | None = None,
    backend: str = "auto",
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    antialias: bool = False,
) -> torch.Tensor:
    """VideoMAE SSv2 test views -> float ``[num_views * num_crops, 3, num_segments, size, size]``.

    Official protocol (VideoMAE ``ssv2.py``, test mode): ``num_segments`` TSN segments, temporal view 0 the
    segment starts and view 1 the segment centres (:func:`~internvideo_core.data.sampling.segment_views`),
    ``num_crops`` crops along the long side after resizing the short side to ``short_side`` (default
    ``size``), ImageNet mean/std: 2 x 3 = 6 views by default.
    """
    return _load_multi_view(path, lambda n: segment_views(n, num_segments, num_views), num_crops, size,
                            short_side, frames, backend, mean, std, antialias)
