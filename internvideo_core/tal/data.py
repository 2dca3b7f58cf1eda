"""Snippet features + ActivityNet-format annotations -> videos for the localization head, and batches of them.

Time <-> snippet grid, as ActionFormer converts it: a snippet ``i`` is centred at
``(i * feat_stride + num_frames / 2) / fps`` seconds, so a time ``s`` sits at grid position
``s * fps / feat_stride - feat_offset`` with ``feat_offset = 0.5 * num_frames / feat_stride`` (``num_frames``: the
frames one snippet covers). The annotation file is an ActivityNet v1.3 JSON (SynthMotion's
``activitynet/activity_net.v1-3.min.json``, ActivityNet-1.3 itself, or THUMOS-14 in the ActivityNet-style JSON
that ActionFormer ships, subsets ``Validation`` / ``Test``), read by
:func:`internvideo_core.data.annotations.read_activitynet_json`. Feature folders are those of
``internvideo extract-features`` (files named by video id; a ``v_`` prefix as in ActivityNet's file names is
found too).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

__all__ = ["TALVideo", "load_tal_videos", "seconds_to_grid", "grid_to_seconds", "collate"]


@dataclasses.dataclass
class TALVideo:
    """One untrimmed video: ``feats`` float32 ``[N, D]``, the grid (``fps``, ``feat_stride``, ``num_frames``),
    ``duration`` seconds, ground truth ``segments`` float ``[M, 2]`` seconds and ``labels`` long ``[M]``."""

    video_id: str
    feats: np.ndarray
    fps: float
    feat_stride: int
    num_frames: int
    duration: float
    segments: np.ndarray
    labels: np.ndarray

    @property
    def feat_offset(self) -> float:
        return 0.5 * self.num_frames / self.feat_stride


def seconds_to_grid(seconds: np.ndarray | torch.Tensor, video: TALVideo):
    """Seconds -> snippet-grid positions (``s * fps / feat_stride - feat_offset``)."""
    return seconds * video.fps / video.feat_stride - video.feat_offset


def grid_to_seconds(grid: np.ndarray | torch.Tensor, video: TALVideo):
    """Snippet-grid positions -> seconds (``(g + feat_offset) * feat_stride / fps``)."""
    return (grid + video.feat_offset) * video.feat_stride / video.fps


def load_tal_videos(feature_dir: str | os.PathLike, annotations: str | os.PathLike, subset: str | None,
                    classes: Sequence[str], *, missing: str = "error") -> list[TALVideo]:
    """The videos of ``subset`` of an ActivityNet-format JSON with their features from ``feature_dir``.

    ``classes``: label names (index = class id; annotations with other labels are dropped). ``missing``:
    ``"error"`` (default) or ``"skip"`` for videos without features.
    """
    from internvideo_core.data.annotations import read_activitynet_json
    from internvideo_core.features.extract import load_features

    index = {c: i for i, c in enumerate(classes)}
    out = []
    d = Path(feature_dir)
    for rec in read_activitynet_json(annotations, subset):
        vid = rec.video_id
        if not (d / f"{vid}.npy").exists() and (d / f"v_{vid}.npy").exists():
            vid = f"v_{vid}"
        try:
            feats, meta = load_features(d, vid)
        except FileNotFoundError:
            if missing == "skip":
                continue
            raise
        segs = [(s, e, index[lab]) for s, e, lab in rec.segments if lab in index]
        out.append(TALVideo(rec.video_id, feats.astype(np.float32), float(meta["fps"]), int(meta["feat_stride"]),
                            int(meta["num_frames"]), float(rec.duration),
                            np.array([[s, e] for s, e, _ in segs], dtype=np.float64).reshape(-1, 2),
                            np.array([c for _, _, c in segs], dtype=np.int64)))
    return out


def collate(videos: Sequence[TALVideo], multiple: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to a common length (a multiple of ``multiple``): ``feats [B, D, T]`` and ``mask bool [B, T]``."""
    n = max(len(v.feats) for v in videos)
    t = int(np.ceil(n / multiple) * multiple)
    feats = torch.zeros(len(videos), videos[0].feats.shape[1], t)
    mask = torch.zeros(len(videos), t, dtype=torch.bool)
    for i, v in enumerate(videos):
        feats[i, :, : len(v.feats)] = torch.from_numpy(v.feats).T
        mask[i, : len(v.feats)] = True
    return feats, mask
