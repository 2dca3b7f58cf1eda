"""Action classification metrics: top-k accuracy, multi-view aggregation, confusion matrix, mean class accuracy.

Multi-view testing follows the official VideoMAE ``merge`` / ``compute_video`` step (used by InternVideo's
fine-tuning code): every view's logits go through a softmax, the probabilities of all views of a video are averaged,
and top-1 / top-5 are read from the averaged vector. Duplicate views (the distributed sampler pads the last batch)
are counted once when ``view_ids`` are given. K400 uses 5 clips x 3 crops, SSv2 2 x 3.

Accuracies are percentages (as the official logs print them).
"""
from __future__ import annotations

from typing import Any, Hashable, Sequence

import numpy as np
import torch

__all__ = ["topk_accuracy", "aggregate_views", "confusion_matrix", "mean_class_accuracy", "per_class_accuracy"]


def _as_tensor(x: Any) -> torch.Tensor:
    return x.detach().cpu() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))


def topk_accuracy(logits_or_probs: Any, targets: Any, ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """Top-k accuracy in percent.

    Args:
        logits_or_probs: ``[N, C]`` scores (logits or probabilities: the ranking is the same).
        targets: ``[N]`` integer class ids.
        ks: the k values; a k larger than C is clamped to C (so top-5 on a 3-class toy set is 100%).

    Returns:
        ``{"top1": float, "top5": float, ...}`` (one key ``f"top{k}"`` per requested k).
    """
    scores = _as_tensor(logits_or_probs).float()
    tgt = _as_tensor(targets).long().reshape(-1)
    if scores.ndim != 2 or scores.shape[0] != tgt.shape[0]:
        raise ValueError(f"expected scores [N, C] and targets [N], got {tuple(scores.shape)} and {tuple(tgt.shape)}")
    n, c = scores.shape
    out: dict[str, float] = {}
    if n == 0:
        return {f"top{k}": float("nan") for k in ks}
    kmax = min(max(ks), c)
    top = scores.topk(kmax, dim=1).indices  # [N, kmax]
    hit = top == tgt[:, None]
    for k in ks:
        out[f"top{k}"] = float(hit[:, : min(k, c)].any(dim=1).double().mean()) * 100.0
    return out


def aggregate_views(logits: Any, video_ids: Sequence[Hashable] | None = None,
                    view_ids: Sequence[Hashable] | None = None,
                    return_ids: bool = False) -> torch.Tensor | tuple[torch.Tensor, list]:
    """Softmax per view, then mean over the views of each video (official VideoMAE multi-view testing).

    Args:
        logits: either ``[N_videos, V, C]`` (views already grouped) or flat ``[N_views, C]`` with ``video_ids``.
        video_ids: ``[N_views]`` video id of every row of a flat ``logits``.
        view_ids: optional ``[N_views]`` view id (e.g. ``(clip, crop)``); a repeated ``(video, view)`` pair is
            counted once (the first occurrence), as the official merge does for padded distributed batches.
        return_ids: also return the video ids in output order (flat input only).

    Returns:
        ``probs [N_videos, C]`` (float32); for flat input the videos are in order of first appearance, and with
        ``return_ids`` the pair ``(probs, ids)``.
    """
    x = _as_tensor(logits).float()
    if video_ids is None:
        if x.ndim != 3:
            raise ValueError(f"logits must be [N_videos, V, C] or flat [N_views, C] with video_ids; got {tuple(x.shape)}")
        probs = x.softmax(dim=-1).mean(dim=1)
        return (probs, list(range(x.shape[0]))) if return_ids else probs
    if x.ndim != 2 or x.shape[0] != len(video_ids):
        raise ValueError(f"flat logits must be [N_views, C] with one video id per row; got {tuple(x.shape)} and "
                         f"{len(video_ids)} ids")
    if view_ids is not None and len(view_ids) != len(video_ids):
        raise ValueError(f"view_ids has {len(view_ids)} entries, video_ids {len(video_ids)}")
    p = x.softmax(dim=-1)
    order: dict[Hashable, int] = {}
    seen: set = set()
    keep = []
    for i, vid in enumerate(video_ids):
        if view_ids is not None:
            key = (vid, view_ids[i])
            if key in seen:
                continue
            seen.add(key)
        order.setdefault(vid, len(order))
        keep.append(i)
    keep_t = torch.as_tensor(keep, dtype=torch.long)
    group = torch.as_tensor([order[video_ids[i]] for i in keep], dtype=torch.long)
    sums = torch.zeros(len(order), x.shape[1]).index_add_(0, group, p[keep_t])
    counts = torch.bincount(group, minlength=len(order)).clamp_min(1).float()
    probs = sums / counts[:, None]
    return (probs, list(order)) if return_ids else probs


def confusion_matrix(preds_or_scores: Any, targets: Any, num_classes: int | None = None) -> torch.Tensor:
    """Confusion matrix ``[C, C]`` (int64): rows are true classes, columns predicted classes.

    Args:
        preds_or_scores: ``[N]`` predicted ids or ``[N, C]`` scores (argmax is taken).
        targets: ``[N]`` true ids.
        num_classes: C; default: inferred from the scores' width or the largest id + 1.
    """
    p = _as_tensor(preds_or_scores)
    if p.ndim == 2:
        num_classes = num_classes if num_classes is not None else p.shape[1]
        p = p.argmax(dim=1)
    p = p.long().reshape(-1)
    t = _as_tensor(targets).long().reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"predictions {tuple(p.shape)} and targets {tuple(t.shape)} differ in length")
    if num_classes is None:
        num_classes = int(max(p.max().item() if p.numel() else -1, t.max().item() if t.numel() else -1)) + 1
    return torch.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(preds_or_scores: Any, targets: Any, num_classes: int | None = None) -> torch.Tensor:
    """Recall of every class in percent, ``[C]`` float; NaN for classes without samples."""
    cm = confusion_matrix(preds_or_scores, targets, num_classes).double()
    support = cm.sum(dim=1)
    return (cm.diagonal() / support * 100.0).float()  # 0 / 0 (float64) is NaN for a class without samples


def mean_class_accuracy(preds_or_scores: Any, targets: Any, num_classes: int | None = None) -> float:
    """Mean over classes (with at least one sample) of per-class accuracy, in percent."""
    acc = per_class_accuracy(preds_or_scores, targets, num_classes)
    return float(acc[~torch.isnan(acc)].mean())  # the mean of no class is NaN
