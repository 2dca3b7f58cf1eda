"""Snippet features of long videos and query embeddings, from the InternVideo-MM dual encoder.

:func:`snippet_features` is the one place that turns a long video into a ``[N, D]`` sequence. It is written here
against the dual encoder's ``encode_video``; once ``internvideo extract-features`` (the localization work) provides
its library function for sliding-window snippet features, this function should call it with
``window`` / ``stride`` and the same cell convention (cell ``i`` = frames ``[i * stride, (i + 1) * stride)``,
described by the ``window`` frames centred on it) and nothing else here needs to change.

:func:`build_features` joins what the grounding model needs: per video the snippet sequence, per query (read from
the official ``nlq_{split}.json`` rows) its text embedding (``tokenize`` + ``encode_text``) and its answer as cell
indices.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from internvideo_core.data.ego4d_formats import NLQQuery
from internvideo_core.data.transforms import CLIP_MEAN, CLIP_STD

__all__ = ["snippet_indices", "snippet_features", "cell_windows", "time_to_cells", "encode_queries",
           "EgoFeatures", "build_features"]


def snippet_indices(num_frames: int, window: int, stride: int, frames_per_snippet: int) -> torch.Tensor:
    """Frame indices ``long [N, frames_per_snippet]`` of the snippets, ``N = ceil(num_frames / stride)``: snippet
    ``i`` samples ``frames_per_snippet`` frames (linspace) of the ``window`` frames centred on cell ``i``, clamped
    to the video."""
    n = math.ceil(num_frames / stride)
    centre = (torch.arange(n, dtype=torch.float64) + 0.5) * stride
    offsets = torch.linspace(0, window - 1, frames_per_snippet, dtype=torch.float64) - (window - 1) / 2
    return (centre[:, None] + offsets[None, :] - 0.5).round().long().clamp(0, num_frames - 1)


@torch.no_grad()
def snippet_features(model: nn.Module, frames: np.ndarray | torch.Tensor, window: int = 16, stride: int = 8,
                     frames_per_snippet: int = 4, img_size: int | None = None, batch_size: int = 256) -> torch.Tensor:
    """Video embeddings ``[N, E]`` of the snippets of one long video.

    Args:
        model: a dual encoder (``encode_video [B, 3, T, S, S] -> [B, E]``, CLIP mean/std input).
        frames: uint8 ``[T, H, W, 3]``.
        window, stride, frames_per_snippet: see :func:`snippet_indices`.
        img_size: resize frames to this square size first (``None``: as they are).
    """
    video = torch.as_tensor(frames)
    idx = snippet_indices(video.shape[0], window, stride, frames_per_snippet)
    x = rearrange(video, "t h w c -> t c h w").float()
    if img_size is not None and (x.shape[-1] != img_size or x.shape[-2] != img_size):
        x = F.interpolate(x, size=(img_size, img_size), mode="bilinear", antialias=True, align_corners=False)
        x = x.round().clamp(0, 255)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    x = (x / 255.0 - mean) / std                                       # [T, 3, S, S]
    model.eval()
    out = []
    for i in range(0, idx.shape[0], batch_size):
        clips = rearrange(x[idx[i:i + batch_size]], "n f c h w -> n c f h w")
        out.append(model.encode_video(clips))
    return torch.cat(out)


def cell_windows(num_cells: int, stride: int, fps: float, duration: float) -> torch.Tensor:
    """``[N, 2]`` seconds covered by each cell (``[i, (i + 1)] * stride / fps``, the last clipped to ``duration``)."""
    i = torch.arange(num_cells, dtype=torch.float64)
    return torch.stack([i * stride / fps, ((i + 1) * stride / fps).clamp(max=duration)], dim=1)


def time_to_cells(start_sec: float, end_sec: float, stride: int, fps: float, num_cells: int) -> tuple[int, int]:
    """First and last cell (inclusive) of a window in seconds."""
    first = int(math.floor(start_sec * fps / stride + 1e-9))
    last = int(math.ceil(end_sec * fps / stride - 1e-9)) - 1
    first = min(max(first, 0), num_cells - 1)
    return first, min(max(last, first), num_cells - 1)


@torch.no_grad()
def encode_queries(model: nn.Module, texts: Sequence[str], context_length: int, batch_size: int = 256
                   ) -> torch.Tensor:
    """Sentence embeddings ``[Q, E]`` of the queries: :func:`internvideo_core.text.tokenize` + ``encode_text``."""
    from internvideo_core.text import tokenize

    model.eval()
    out = [model.encode_text(tokenize(list(texts[i:i + batch_size]), context_length=context_length))
           for i in range(0, len(texts), batch_size)]
    return torch.cat(out) if out else torch.zeros(0)


@dataclass
class EgoFeatures:
    """Inputs of the grounding model for one split.

    ``video [V, N, Dv]``: snippet features per video (all videos of a split have ``N`` cells); ``query [Q, Dq]``;
    ``episode long [Q]``: the video of each query; ``start`` / ``end`` long ``[Q]``: answer cells (inclusive);
    ``queries``: the NLQ rows; ``clip_uids [V]``; ``durations [V]`` seconds; ``stride`` / ``fps`` for cell times.
    """

    video: torch.Tensor
    query: torch.Tensor
    episode: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor
    queries: list[NLQQuery]
    clip_uids: list[str]
    durations: list[float]
    stride: int
    fps: float

    def __len__(self) -> int:
        return len(self.queries)

    def cells(self, v: int) -> torch.Tensor:
        """``[N, 2]`` seconds of the cells of video ``v``."""
        return cell_windows(self.video.shape[1], self.stride, self.fps, self.durations[v])


def build_features(model: nn.Module, videos: dict[str, np.ndarray], queries: Sequence[NLQQuery], fps: float,
                   window: int, stride: int, frames_per_snippet: int, img_size: int | None,
                   context_length: int, progress: Any = None) -> EgoFeatures:
    """Features of the clips ``videos`` (``{clip_uid: uint8 [T, H, W, 3]}``, same ``T``) and their ``queries``.

    A query whose clip is not in ``videos`` is an error naming it."""
    uids = list(videos)
    lengths = {videos[u].shape[0] for u in uids}
    if len(lengths) > 1:
        raise ValueError(f"build_features batches the videos of a split together and needs one length; got frame "
                         f"counts {sorted(lengths)[:5]} (cut real clips to a fixed length or group them by length)")
    feats = []
    for uid in (progress(uids) if progress else uids):
        feats.append(snippet_features(model, videos[uid], window, stride, frames_per_snippet, img_size))
    video = torch.stack(feats)
    where = {u: i for i, u in enumerate(uids)}
    missing = sorted({q.clip_uid for q in queries} - set(where))
    if missing:
        raise KeyError(f"queries refer to clips without video frames: {missing[:5]} (pass their frames in `videos`)")
    n = video.shape[1]
    cells = [time_to_cells(q.clip_start_sec or 0.0, q.clip_end_sec or 0.0, stride, fps, n) for q in queries]
    return EgoFeatures(
        video=video, query=encode_queries(model, [q.query for q in queries], context_length),
        episode=torch.tensor([where[q.clip_uid] for q in queries], dtype=torch.long),
        start=torch.tensor([c[0] for c in cells], dtype=torch.long),
        end=torch.tensor([c[1] for c in cells], dtype=torch.long), queries=list(queries), clip_uids=uids,
        durations=[videos[u].shape[0] / fps for u in uids], stride=stride, fps=fps)
