"""Sliding-window inference over a long video: class probabilities per window and for the whole video.

    windows = predict_windows("match.mp4", score, clip_len=16, rate=4, stride=64)
    # score(frames uint8 [T, H, W, 3]) -> probabilities [C]; windows[i] = WindowPrediction(start_s, end_s, probs)
    video_probs = torch.stack([w.probs for w in windows]).mean(0)   # the whole video, as multi-clip testing

Each window spans ``clip_len * rate`` frames (``stride`` frames apart, the last one flush with the end of the
video, see :func:`~internvideo_core.data.eval_clips.sliding_windows`); ``clip_len`` frames are taken every ``rate``
frames inside it. Frames are decoded one window at a time, so memory stays flat however long the video is.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from internvideo_core.data.eval_clips import sliding_windows
from internvideo_core.data.io import open_video

__all__ = ["WindowPrediction", "predict_windows", "top_k_labels"]


@dataclass(frozen=True)
class WindowPrediction:
    """One window: ``start`` / ``end`` seconds (frame indices ``first``..``last``), ``probs`` ``[C]``."""

    start: float
    end: float
    first: int
    last: int
    probs: torch.Tensor


def predict_windows(path: str | os.PathLike, score: Callable[[torch.Tensor], torch.Tensor], clip_len: int,
                    rate: int = 1, stride: int | None = None, progress: bool = True,
                    backend: str = "auto") -> list[WindowPrediction]:
    """Probabilities of every window of ``path`` (see the module docstring); ``stride`` defaults to the window
    length (non-overlapping windows)."""
    from tqdm.auto import tqdm

    span = clip_len * rate
    out = []
    with open_video(path, backend=backend) as video:
        n, fps = video.info.num_frames, video.info.fps or 1.0
        for lo, hi in tqdm(sliding_windows(n, span, stride or span), desc="windows", unit="window",
                           disable=not progress):
            idx = np.minimum(lo + np.arange(clip_len) * rate, hi - 1)
            probs = score(video.read(idx)).detach().float().cpu().reshape(-1)
            out.append(WindowPrediction(lo / fps, hi / fps, int(lo), int(hi - 1), probs))
    return out


def top_k_labels(probs: torch.Tensor, class_names: Sequence[str], k: int = 5) -> list[tuple[str, float]]:
    """``[(name, probability), ...]`` of the ``k`` most probable classes, best first."""
    values, index = probs.topk(min(k, probs.numel()))
    return [(class_names[i], float(v)) for v, i in zip(values.tolist(), index.tolist())]
