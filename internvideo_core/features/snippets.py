"""Snippet features of an untrimmed video: sliding clips through any kit encoder, one vector per snippet.

    feats, centres = extract_snippet_features(model, "video.mp4")          # [N, D] float32, [N] seconds
    plan = snippet_plan(num_video_frames=300, fps=30.0, clip_len=16)        # where the snippets are

Layout (the one ActionFormer-style localization code reads, e.g. its THUMOS-14 / ActivityNet datasets with
``feat_stride`` / ``num_frames`` / ``default_fps``): snippet ``i`` starts at frame ``i * stride`` and covers
``span = (clip_len - 1) * frame_interval + 1`` frames, of which the encoder sees ``clip_len`` frames
``frame_interval`` apart. Its centre time is ``(i * stride + span / 2) / fps`` seconds: ActionFormer's
``feat_offset = 0.5 * num_frames / feat_stride`` with ``feat_stride = stride`` and ``num_frames = span``.
A video holds ``(T - span) // stride + 1`` snippets (the last ``< stride`` frames are not covered, as in the
usual I3D / TSP extraction); a video shorter than ``span`` gives one snippet whose indices are clamped to
its last frame.

Only the frames the snippets need are decoded, in chunks of ``chunk_snippets`` snippets (each chunk decodes
the union of its snippets' frames once), so a video longer than memory works.
"""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Callable, Sequence

import numpy as np
import torch
from einops import rearrange
from torch import nn

from internvideo_core.data.transforms import (CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, center_crop,
                                              frames_to_tensor, normalize, resize_short_side)

__all__ = ["SnippetPlan", "SnippetFeatures", "snippet_plan", "encoder_fn", "input_protocol",
           "extract_video_features", "extract_snippet_features"]


@dataclasses.dataclass(frozen=True)
class SnippetPlan:
    """Where the snippets of one video are.

    ``starts`` int64 ``[N]`` (first frame of each snippet), ``clip_len`` frames ``frame_interval`` apart,
    ``stride`` frames between starts, ``num_video_frames`` / ``fps`` of the video.
    """

    starts: np.ndarray
    clip_len: int
    frame_interval: int
    stride: int
    num_video_frames: int
    fps: float

    @property
    def span(self) -> int:
        """Frames one snippet covers: ``(clip_len - 1) * frame_interval + 1`` (ActionFormer's ``num_frames``)."""
        return (self.clip_len - 1) * self.frame_interval + 1

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def indices(self) -> np.ndarray:
        """int64 ``[N, clip_len]`` frame numbers of every snippet (clamped to the last frame)."""
        idx = self.starts[:, None] + np.arange(self.clip_len, dtype=np.int64)[None] * self.frame_interval
        return np.minimum(idx, self.num_video_frames - 1)

    @property
    def centre_times(self) -> np.ndarray:
        """float64 ``[N]`` seconds: ``(start + span / 2) / fps``."""
        return (self.starts + self.span / 2.0) / self.fps


def snippet_plan(num_video_frames: int, fps: float, clip_len: int, frame_interval: int = 1,
                 stride: int | None = None, stride_seconds: float | None = None) -> SnippetPlan:
    """The sliding snippets of a video of ``num_video_frames`` frames at ``fps``.

    ``stride``: frames between snippet starts; or ``stride_seconds`` (rounded to whole frames, at least 1);
    default ``max(1, span // 4)`` (ActionFormer's THUMOS-14 I3D features: 16 frames, stride 4).
    """
    if num_video_frames < 1:
        raise ValueError(f"a video needs at least one frame, got {num_video_frames}")
    if clip_len < 1 or frame_interval < 1:
        raise ValueError(f"clip_len and frame_interval must be >= 1, got {clip_len}, {frame_interval}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    span = (clip_len - 1) * frame_interval + 1
    if stride is not None and stride_seconds is not None:
        raise ValueError("give stride (frames) or stride_seconds, not both")
    if stride_seconds is not None:
        stride = max(1, int(round(stride_seconds * fps)))
    stride = max(1, span // 4) if stride is None else int(stride)
    if stride < 1:
        raise ValueError(f"stride must be >= 1 frame, got {stride}")
    n = (num_video_frames - span) // stride + 1 if num_video_frames >= span else 1
    starts = np.arange(n, dtype=np.int64) * stride
    return SnippetPlan(starts, clip_len, frame_interval, stride, int(num_video_frames), float(fps))


@dataclasses.dataclass
class SnippetFeatures:
    """Features of one video: ``features`` float32 ``[N, D]`` and the :class:`SnippetPlan` they follow."""

    features: np.ndarray
    plan: SnippetPlan
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    """Seconds spent: ``decode`` (reading frames), ``preprocess`` (resize, crop, normalise, gather) and
    ``model`` (encoder forward, device synchronised), plus ``total``."""

    @property
    def centre_times(self) -> np.ndarray:
        return self.plan.centre_times

    def index_entry(self) -> dict[str, Any]:
        """The JSON index record of this video (what :mod:`internvideo_core.features.extract` writes)."""
        p = self.plan
        return {"num_snippets": int(len(p)), "dim": int(self.features.shape[1]), "fps": p.fps,
                "num_video_frames": p.num_video_frames, "duration": p.num_video_frames / p.fps,
                "feat_stride": p.stride, "num_frames": p.span, "clip_len": p.clip_len,
                "frame_interval": p.frame_interval, "centre_times": [round(float(t), 6) for t in p.centre_times]}


# ------------------------------------------------------------------------------------------------ encoders
def encoder_fn(model: nn.Module, pool: str = "mean") -> Callable[[torch.Tensor], torch.Tensor]:
    """``x [B, 3, T, H, W] -> [B, D]`` for any kit encoder.

    - a classifier (``forward_features``): the pooled, ``fc_norm``-ed features (the head's input);
    - the VideoMAE pretraining model (has ``encoder`` and ``decoder``): the encoder on all tokens (nothing
      masked), mean over tokens;
    - InternVideo-MM (``encode_video``): the projected video embedding (unnormalised).

    ``pool="time"`` (VideoMAE models): mean over space only, the ``T / tubelet`` time steps concatenated
    (``[B, T' * D]``), which keeps the order of events inside a snippet (the classifier's token features
    before ``fc_norm``).
    """
    if pool not in ("mean", "time"):
        raise ValueError(f"pool must be 'mean' or 'time', got {pool!r}")
    if hasattr(model, "encode_video"):
        if pool != "mean":
            raise ValueError("InternVideo-MM gives one embedding per clip; use pool='mean'")
        return model.encode_video
    tokens_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
    if hasattr(model, "encoder") and hasattr(model, "decoder"):
        tokens_fn = lambda x: model.encoder(x, None)  # noqa: E731
    elif hasattr(model, "forward_tokens"):
        tokens_fn = model.forward_tokens
    if pool == "mean" and hasattr(model, "forward_features") and not hasattr(model, "decoder"):
        return model.forward_features
    if tokens_fn is None:
        raise TypeError(f"{type(model).__name__} is not a kit video encoder: expected forward_features, "
                        "encode_video or a VideoMAE pretraining model")
    if pool == "mean":
        return lambda x: tokens_fn(x).mean(1)
    steps = model.config.grid[0]
    return lambda x: rearrange(tokens_fn(x), "b (t s) d -> b t s d", t=steps).mean(2).flatten(1)


def input_protocol(model: nn.Module) -> dict[str, Any]:
    """Input defaults read from ``model.config``: ``clip_len`` (its ``num_frames``), ``size`` (``img_size`` /
    ``input_resolution``), ``short_side`` (= size; InternVideo-MM: ``size * 256 / 224``) and mean/std
    (ImageNet for VideoMAE, CLIP for InternVideo-MM)."""
    cfg = getattr(model, "config", None)
    if cfg is None:
        raise TypeError(f"{type(model).__name__} has no .config; pass clip_len and size explicitly")
    mm = hasattr(model, "encode_video")
    size = int(getattr(cfg, "img_size", None) or getattr(cfg, "input_resolution"))
    return {"clip_len": int(cfg.num_frames), "size": size,
            "short_side": int(round(size * 256 / 224)) if mm else size,
            "mean": CLIP_MEAN if mm else IMAGENET_MEAN, "std": CLIP_STD if mm else IMAGENET_STD}


# ------------------------------------------------------------------------------------------------ extraction
@torch.no_grad()
def extract_video_features(model: nn.Module, video: str | os.PathLike | torch.Tensor, *,
                           clip_len: int | None = None, frame_interval: int = 1, stride: int | None = None,
                           stride_seconds: float | None = None, fps: float | None = None,
                           size: int | None = None, short_side: int | None = None,
                           mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                           batch_size: int = 32, chunk_snippets: int = 256, device: str | torch.device | None = None,
                           precision: str = "auto", backend: str = "auto", pool: str = "mean") -> SnippetFeatures:
    """Features of every sliding snippet of one video (see the module docstring for the layout).

    Args:
        model: a kit encoder (see :func:`encoder_fn`), in eval mode on ``device``.
        video: a file, or decoded uint8 frames ``[T, H, W, 3]`` (then ``fps`` is required).
        clip_len, size, short_side, mean, std: default from :func:`input_protocol`.
        frame_interval, stride, stride_seconds: see :func:`snippet_plan`.
        batch_size: snippets per forward pass. chunk_snippets: snippets whose frames are decoded together.
        device: default the model's. precision: ``auto`` = bf16 autocast on CUDA, fp32 on CPU.
        pool: ``"mean"`` (one vector per clip) or ``"time"`` (see :func:`encoder_fn`).

    Returns:
        :class:`SnippetFeatures` (``features`` float32 ``[N, D]``).
    """
    from internvideo_core.data.io import open_video
    from internvideo_core.train.loop import autocast

    given = (clip_len, size, short_side, mean, std)
    proto = input_protocol(model) if any(v is None for v in given) else {}
    clip_len = int(clip_len or proto["clip_len"])
    size = int(size or proto["size"])
    short_side = int(short_side or proto.get("short_side", size))
    mean = tuple(mean or proto["mean"])
    std = tuple(std or proto["std"])
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    encode = encoder_fn(model, pool)
    model.eval()

    reader = None
    if isinstance(video, torch.Tensor):
        if fps is None:
            raise ValueError("decoded frames need fps=")
        num_frames, read = int(video.shape[0]), (lambda idx: video[torch.from_numpy(idx)])
    else:
        reader = open_video(video, backend=backend)
        num_frames, read = reader.info.num_frames, reader.read
        fps = fps or reader.info.fps
        if not fps:
            raise ValueError(f"{video}: the file reports no frame rate; pass fps=")
    clock = {"decode": 0.0, "preprocess": 0.0, "model": 0.0}
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    t_start = time.perf_counter()
    try:
        plan = snippet_plan(num_frames, float(fps), clip_len, frame_interval, stride, stride_seconds)
        all_idx = plan.indices
        out: list[torch.Tensor] = []
        for c in range(0, len(plan), chunk_snippets):
            idx = all_idx[c: c + chunk_snippets]
            unique, inverse = np.unique(idx, return_inverse=True)
            t0 = time.perf_counter()
            frames = read(unique)                                   # uint8 [U, H, W, 3]: each frame once
            t1 = time.perf_counter()
            x = normalize(center_crop(resize_short_side(frames_to_tensor(frames), short_side), size), mean, std)
            positions = torch.from_numpy(inverse.reshape(idx.shape))  # [n, clip_len] into the U frames
            clock["decode"] += t1 - t0
            clock["preprocess"] += time.perf_counter() - t1
            for b in range(0, len(positions), batch_size):
                t2 = time.perf_counter()
                clips = x[:, positions[b: b + batch_size]]           # [3, n, T, S, S]
                clips = clips.permute(1, 0, 2, 3, 4).to(dev, non_blocking=True)  # [n, 3, T, S, S]
                t3 = time.perf_counter()
                with autocast(dev, precision):
                    out.append(encode(clips).float().cpu())          # .cpu() waits for the device
                sync()
                clock["preprocess"] += t3 - t2
                clock["model"] += time.perf_counter() - t3
    finally:
        if reader is not None:
            reader.close()
    clock["total"] = time.perf_counter() - t_start
    return SnippetFeatures(torch.cat(out).numpy().astype(np.float32), plan, clock)


def extract_snippet_features(model: nn.Module, video_path: str | os.PathLike, **kwargs: Any
                             ) -> tuple[np.ndarray, np.ndarray]:
    """``(features float32 [N, D], centre_times float64 [N] seconds)`` of one video; keyword arguments as
    :func:`extract_video_features` (``clip_len``, ``frame_interval``, ``stride`` / ``stride_seconds``,
    ``batch_size``, ``device``, ``precision`` ...)."""
    res = extract_video_features(model, video_path, **kwargs)
    return res.features, res.centre_times
