"""Temporal action localization: ActivityNet-style mAP at several tIoU thresholds, tIoU, 1-D NMS / soft-NMS.

``tal_map`` follows the ActivityNet detection evaluator (``Evaluation/eval_detection.py`` of
activitynet/ActivityNet, used by InternVideo1's temporal localization code):

* per class, predictions of that class are sorted by descending score (ties: see
  :func:`internvideo_core.eval._common.descending_order`);
* each prediction looks at the ground-truth segments of the same class in the same video in order of decreasing
  tIoU; it takes the first one not yet matched (at this threshold); as soon as the next candidate's tIoU falls
  below the threshold it is a false positive. Predictions in videos without ground truth of that class are false
  positives;
* AP is the all-point interpolated area under the precision envelope; mAP is the mean over the classes that occur in
  the ground truth (or ``classes``); ``average_mAP`` is the mean of the per-threshold mAPs.

Checked against ``tests/fixtures/official/tal_metric_vectors.json`` (``tests/test_metrics_localization.py``).
All numbers are fractions in [0, 1] (multiply by 100 for the usual tables).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Hashable, Iterable, Sequence

import numpy as np

from ._common import descending_order, to_numpy, voc_ap

__all__ = [
    "ANET_TIOU_THRESHOLDS", "THUMOS_TIOU_THRESHOLDS", "tal_map", "average_precision_detection", "temporal_iou",
    "segment_nms", "segment_soft_nms",
]

#: ActivityNet v1.3 thresholds ``np.linspace(0.5, 0.95, 10)``.
ANET_TIOU_THRESHOLDS: tuple[float, ...] = tuple(float(t) for t in np.linspace(0.5, 0.95, 10))
#: THUMOS14 thresholds ``np.linspace(0.3, 0.7, 5)``.
THUMOS_TIOU_THRESHOLDS: tuple[float, ...] = tuple(float(t) for t in np.linspace(0.3, 0.7, 5))


def temporal_iou(segments_a: Any, segments_b: Any) -> np.ndarray:
    """Pairwise temporal IoU.

    Args:
        segments_a: ``[N, 2]`` (start, end), or a single ``[2]`` segment.
        segments_b: ``[M, 2]`` (start, end), or a single ``[2]`` segment.

    Returns:
        ``[N, M]`` tIoU = overlap / (len_a + len_b - overlap), as ActivityNet's ``segment_iou`` (no +1 on lengths).
    """
    a = to_numpy(segments_a).astype(np.float64).reshape(-1, 2)
    b = to_numpy(segments_b).astype(np.float64).reshape(-1, 2)
    inter = np.clip(np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    union = (a[:, None, 1] - a[:, None, 0]) + (b[None, :, 1] - b[None, :, 0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return np.nan_to_num(iou, nan=0.0)


def average_precision_detection(ground_truth: Sequence[tuple[Hashable, float, float]],
                                predictions: Sequence[tuple[Hashable, float, float, float]],
                                tiou_thresholds: Sequence[float]) -> np.ndarray:
    """AP of one class at each tIoU threshold (ActivityNet ``compute_average_precision_detection``).

    Args:
        ground_truth: rows ``(video, start, end)`` of this class.
        predictions: rows ``(video, start, end, score)`` of this class.
        tiou_thresholds: ``[T]`` thresholds.

    Returns:
        ``[T]`` AP values (zeros when there are no predictions or no ground truth).
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64)
    ap = np.zeros(len(thr))
    if len(predictions) == 0 or len(ground_truth) == 0:
        return ap
    gt_by_video: dict[Hashable, list[int]] = defaultdict(list)
    for i, row in enumerate(ground_truth):
        gt_by_video[row[0]].append(i)
    gt_seg = np.array([[float(r[1]), float(r[2])] for r in ground_truth], dtype=np.float64)
    scores = np.array([float(r[3]) for r in predictions], dtype=np.float64)
    order = descending_order(scores)
    n_pred = len(predictions)
    tp = np.zeros((len(thr), n_pred))
    fp = np.zeros((len(thr), n_pred))
    lock_gt = np.full((len(thr), len(ground_truth)), -1, dtype=np.int64)
    for rank, p in enumerate(order):
        video, start, end = predictions[p][0], float(predictions[p][1]), float(predictions[p][2])
        gt_ids = gt_by_video.get(video)
        if not gt_ids:
            fp[:, rank] = 1
            continue
        ids = np.asarray(gt_ids)
        tiou = temporal_iou([start, end], gt_seg[ids])[0]
        cand = descending_order(tiou)
        for t, th in enumerate(thr):
            for j in cand:
                if tiou[j] < th:
                    fp[t, rank] = 1
                    break
                gid = ids[j]
                if lock_gt[t, gid] >= 0:
                    continue
                tp[t, rank] = 1
                lock_gt[t, gid] = rank
                break
            if tp[t, rank] == 0 and fp[t, rank] == 0:
                fp[t, rank] = 1
    tp_c = np.cumsum(tp, axis=1)
    fp_c = np.cumsum(fp, axis=1)
    recall = tp_c / len(ground_truth)
    precision = tp_c / (tp_c + fp_c)
    for t in range(len(thr)):
        ap[t] = voc_ap(precision[t], recall[t])
    return ap


def tal_map(ground_truth: Iterable[Sequence[Any]], predictions: Iterable[Sequence[Any]],
            tiou_thresholds: Sequence[float] = ANET_TIOU_THRESHOLDS,
            classes: Sequence[Hashable] | None = None) -> dict[str, Any]:
    """Temporal action localization mAP (ActivityNet evaluator).

    Args:
        ground_truth: rows ``(video, start, end, label)`` (seconds or any consistent unit).
        predictions: rows ``(video, start, end, label, score)``.
        tiou_thresholds: e.g. :data:`ANET_TIOU_THRESHOLDS` (0.5:0.05:0.95) or :data:`THUMOS_TIOU_THRESHOLDS`
            (0.3:0.1:0.7).
        classes: labels to average over; default: every label in the ground truth (as the official evaluator, whose
            class list comes from the annotation file). Predictions with other labels are ignored.

    Returns:
        ``{"mAP_per_tiou": [T floats], "average_mAP": float, "tiou_thresholds": [T], "ap_per_class": {label: [T]}}``
        (fractions in [0, 1]).
    """
    gt_rows = [tuple(r) for r in ground_truth]
    pred_rows = [tuple(r) for r in predictions]
    for r in gt_rows:
        if len(r) != 4:
            raise ValueError(f"ground-truth rows must be (video, start, end, label), got {r!r}")
    for r in pred_rows:
        if len(r) != 5:
            raise ValueError(f"prediction rows must be (video, start, end, label, score), got {r!r}")
    thr = [float(t) for t in tiou_thresholds]
    labels = list(classes) if classes is not None else sorted({r[3] for r in gt_rows}, key=lambda x: (str(type(x)), x))
    gt_by_label: dict[Hashable, list] = defaultdict(list)
    for v, s, e, lab in gt_rows:
        gt_by_label[lab].append((v, s, e))
    pred_by_label: dict[Hashable, list] = defaultdict(list)
    for v, s, e, lab, sc in pred_rows:
        pred_by_label[lab].append((v, s, e, sc))
    ap = np.zeros((len(labels), len(thr)))
    for i, lab in enumerate(labels):
        ap[i] = average_precision_detection(gt_by_label.get(lab, []), pred_by_label.get(lab, []), thr)
    m = ap.mean(axis=0) if len(labels) else np.zeros(len(thr))
    return {
        "mAP_per_tiou": [float(x) for x in m],
        "average_mAP": float(m.mean()) if len(thr) else 0.0,
        "tiou_thresholds": thr,
        "ap_per_class": {lab: [float(x) for x in ap[i]] for i, lab in enumerate(labels)},
    }


def _as_boxes(segments: np.ndarray):
    import torch

    seg = torch.as_tensor(segments, dtype=torch.float64).reshape(-1, 2)
    zeros = torch.zeros_like(seg[:, 0])
    return torch.stack([seg[:, 0], zeros, seg[:, 1], zeros + 1.0], dim=1)


def segment_nms(segments: Any, scores: Any, iou_threshold: float) -> np.ndarray:
    """Hard NMS for 1-D segments via ``torchvision.ops.nms`` on ``(start, 0, end, 1)`` boxes.

    Args:
        segments: ``[N, 2]`` (start, end). scores: ``[N]``. iou_threshold: drop segments whose tIoU with a kept,
            higher-scoring one is above this.

    Returns:
        ``[K]`` int64 indices of kept segments, by decreasing score.
    """
    import torch
    from torchvision.ops import nms

    seg = to_numpy(segments).reshape(-1, 2)
    if seg.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    keep = nms(_as_boxes(seg), torch.as_tensor(to_numpy(scores), dtype=torch.float64).reshape(-1), float(iou_threshold))
    return keep.numpy().astype(np.int64)


def segment_soft_nms(segments: Any, scores: Any, sigma: float = 0.5, iou_threshold: float = 0.3,
                     method: str = "gaussian", score_threshold: float = 0.0,
                     max_segments: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Soft-NMS for 1-D segments (Bodla et al. 2017), the usual TAL post-processing.

    Repeatedly takes the highest-scoring remaining segment and decays the others: ``"gaussian"``:
    ``score *= exp(-tiou^2 / sigma)``; ``"linear"``: ``score *= 1 - tiou`` when ``tiou > iou_threshold``.

    Args:
        segments: ``[N, 2]``; scores: ``[N]``.
        sigma, iou_threshold, method: decay parameters (see above).
        score_threshold: stop once the best remaining (decayed) score is at or below this.
        max_segments: keep at most this many.

    Returns:
        ``(segments [K, 2], scores [K])`` in selection order (decreasing decayed score).
    """
    if method not in ("gaussian", "linear"):
        raise ValueError(f"method must be 'gaussian' or 'linear', got {method!r}")
    seg = to_numpy(segments).astype(np.float64).reshape(-1, 2).copy()
    sc = to_numpy(scores).astype(np.float64).reshape(-1).copy()
    out_seg: list[np.ndarray] = []
    out_sc: list[float] = []
    limit = len(sc) if max_segments is None else min(int(max_segments), len(sc))
    while len(sc) and len(out_sc) < limit:
        i = int(np.argmax(sc))
        if sc[i] <= score_threshold:
            break
        best, best_score = seg[i], sc[i]
        out_seg.append(best.copy())
        out_sc.append(float(best_score))
        seg = np.delete(seg, i, axis=0)
        sc = np.delete(sc, i)
        if not len(sc):
            break
        iou = temporal_iou(best, seg)[0]
        if method == "gaussian":
            sc = sc * np.exp(-(iou ** 2) / sigma)
        else:
            sc = np.where(iou > iou_threshold, sc * (1.0 - iou), sc)
    return (np.array(out_seg, dtype=np.float64).reshape(-1, 2), np.array(out_sc, dtype=np.float64))
