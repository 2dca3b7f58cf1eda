"""AVA frame-level mAP@0.5 IoU (spatio-temporal action localization), as the official AVA / PASCAL evaluator.

Reference: ``get_ava_performance.py`` of activitynet/ActivityNet and the TF object-detection ``PascalDetectionEvaluator``
it wraps (also vendored by AlphAction, which InternVideo1's spatio-temporal localization code builds on):

* rows are AVA CSV rows ``(video, timestamp, x1, y1, x2, y2, action[, score])``; frames are keyed by
  ``(video, int(timestamp))``; frames listed in ``excluded`` are dropped from both sides; rows whose action is not
  in ``classes`` are dropped (the label-map whitelist);
* within a frame, detections are sorted by descending score; each detection of action ``c`` is compared with the
  ground-truth boxes of action ``c`` in that frame and matched **only to its highest-IoU box** (first one on IoU
  ties): true positive if that IoU >= 0.5 and the box is still free, false positive otherwise (it does not fall
  back to the second-best box). Detections in frames without ground truth are false positives;
* per action, all detections are sorted by score, precision/recall are accumulated and the PASCAL VOC all-point
  AP is taken; an action without ground truth gets AP = NaN and is left out of the mean (``np.nanmean``).

Checked against ``tests/fixtures/official/ava_metric_vectors.json`` (``tests/test_metrics_detection.py``).
Values are fractions in [0, 1].
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from internvideo_core.data.ava_annotations import read_ava_excluded_list, read_ava_rows

from ._common import descending_order, voc_ap

__all__ = ["ava_frame_map", "read_ava_csv_rows", "read_ava_excluded", "frame_key"]


def frame_key(video: Any, timestamp: Any) -> tuple[str, int]:
    """``(video, int(timestamp))``: the official image key is ``"%s,%04d" % (video, int(timestamp))``."""
    return str(video), int(float(timestamp))


def read_ava_csv_rows(source: str | Path | Iterable[str]) -> list[tuple]:
    """AVA CSV lines -> row tuples ``(video, timestamp, x1, y1, x2, y2, action[, score])`` (the 8th column, score
    or person id, as a float), as the official evaluator reads them. ``source``: a path or text lines.

    The kit's one AVA CSV reader, :func:`internvideo_core.data.ava_annotations.read_ava_rows` (UTF-8 byte-order
    mark and CRLF tolerant; malformed lines raise ``AnnotationError``, a ``ValueError``)."""
    return read_ava_rows(source)


def read_ava_excluded(source: str | Path | Iterable[str]) -> list[tuple[str, int]]:
    """An AVA excluded-timestamps CSV (``video,timestamp`` per line) -> frame keys in file order, through
    :func:`internvideo_core.data.ava_annotations.read_ava_excluded_list`."""
    return read_ava_excluded_list(source)


def _group(rows: Iterable[Sequence[Any]], with_score: bool, whitelist: set, excluded: set):
    frames: dict[tuple[str, int], list[tuple[float, int, list[float]]]] = defaultdict(list)
    for r in rows:
        if with_score and len(r) != 8:
            raise ValueError(f"detection rows must be (video, t, x1, y1, x2, y2, action, score), got {tuple(r)!r}")
        if not with_score and len(r) not in (7, 8):
            raise ValueError(f"ground-truth rows must be (video, t, x1, y1, x2, y2, action), got {tuple(r)!r}")
        action = int(r[6])
        if action not in whitelist:
            continue
        key = frame_key(r[0], r[1])
        if key in excluded:
            continue
        score = float(r[7]) if with_score else 1.0
        frames[key].append((score, action, [float(r[2]), float(r[3]), float(r[4]), float(r[5])]))
    return frames


def ava_frame_map(ground_truth_rows: Iterable[Sequence[Any]], detection_rows: Iterable[Sequence[Any]],
                  excluded: Iterable[Sequence[Any]] = (), classes: Sequence[int] | None = None,
                  iou_threshold: float = 0.5) -> dict[str, Any]:
    """Frame-mAP of AVA-style detections (PASCAL VOC AP at IoU ``iou_threshold`` per action, mean over actions).

    Args:
        ground_truth_rows: ``(video, timestamp, x1, y1, x2, y2, action)`` rows (normalised or pixel boxes, as long as
            both sides agree); an 8th column, if present, is ignored.
        detection_rows: ``(video, timestamp, x1, y1, x2, y2, action, score)`` rows.
        excluded: ``(video, timestamp)`` pairs removed from both sides.
        classes: action ids to evaluate (the label map, e.g. the 60 AVA v2.2 actions); default: the actions present
            in the ground truth. Rows of other actions are ignored.
        iou_threshold: matching threshold (0.5 for the official metric).

    Returns:
        ``{"mAP": float, "per_class": {action_id: AP}}`` (AP is NaN for an action without ground truth).
    """
    import torch
    from torchvision.ops import box_iou

    gt_rows = [tuple(r) for r in ground_truth_rows]
    det_rows = [tuple(r) for r in detection_rows]
    excl = {frame_key(e[0], e[1]) for e in excluded}
    labels = sorted({int(r[6]) for r in gt_rows}) if classes is None else [int(c) for c in classes]
    whitelist = set(labels)
    gt = _group(gt_rows, with_score=False, whitelist=whitelist, excluded=excl)
    det = _group(det_rows, with_score=True, whitelist=whitelist, excluded=excl)

    num_gt = defaultdict(int)
    for entries in gt.values():
        for _, action, _ in entries:
            num_gt[action] += 1
    scores_per_class: dict[int, list[np.ndarray]] = defaultdict(list)
    tp_per_class: dict[int, list[np.ndarray]] = defaultdict(list)

    for key, entries in det.items():
        entries = sorted(entries, key=lambda e: -e[0])  # "Evaluation API assumes boxes with descending scores"
        d_score = np.array([e[0] for e in entries])
        d_label = np.array([e[1] for e in entries])
        d_box = torch.tensor([e[2] for e in entries], dtype=torch.float64)
        g_entries = gt.get(key, [])
        g_label = np.array([e[1] for e in g_entries], dtype=np.int64)
        if g_entries:
            g_box = torch.tensor([e[2] for e in g_entries], dtype=torch.float64)
            iou_all = box_iou(d_box, g_box).numpy()
        else:
            iou_all = np.zeros((len(entries), 0))
        for action in np.unique(d_label):
            rows = np.flatnonzero(d_label == action)
            cols = np.flatnonzero(g_label == action)
            tp = np.zeros(len(rows), dtype=bool)
            if len(cols):
                iou = iou_all[np.ix_(rows, cols)]
                best = np.argmax(iou, axis=1)
                taken = np.zeros(len(cols), dtype=bool)
                for i, j in enumerate(best):
                    if iou[i, j] >= iou_threshold and not taken[j]:
                        tp[i] = True
                        taken[j] = True
            scores_per_class[int(action)].append(d_score[rows])
            tp_per_class[int(action)].append(tp)

    per_class: dict[int, float] = {}
    for c in labels:
        if num_gt[c] == 0:
            per_class[c] = float("nan")
            continue
        if scores_per_class[c]:
            s = np.concatenate(scores_per_class[c])
            t = np.concatenate(tp_per_class[c]).astype(np.float64)
        else:
            s, t = np.zeros(0), np.zeros(0)
        order = descending_order(s)
        t = t[order]
        tp_c = np.cumsum(t)
        fp_c = np.cumsum(1.0 - t)
        precision = tp_c / (tp_c + fp_c)  # the count at rank i is i + 1 >= 1: no zero division
        recall = tp_c / num_gt[c]
        per_class[c] = voc_ap(precision, recall)
    values = np.array(list(per_class.values()), dtype=np.float64)
    m = float(np.nanmean(values)) if np.any(~np.isnan(values)) else float("nan")
    return {"mAP": m, "per_class": per_class}
