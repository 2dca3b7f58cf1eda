"""Ego4D episodic memory: natural-language queries (NLQ) and moment queries (MQ), as the official code scores them.

NLQ (``nlq_metrics``) follows ``NLQ/VSLNet/utils/evaluate_ego4d_nlq.py`` of EGO4D/episodic-memory:

* IoU of a predicted window and the ground-truth window is ``intersection / hull``, the hull being
  ``max(ends) - min(starts)``; it equals the usual union whenever the windows overlap, and gives 0 when they do not
  (a zero-length window on a zero-length truth gives 0/0 = nan, which then counts as a miss, as there);
* ``R@k,IoU=t`` counts a query as found when one of the *first k windows in the submission's order* has IoU
  **strictly greater** than ``t`` (``overlap > threshold``): a window at exactly IoU 0.3 does not count at 0.3. The
  windows carry no scores; their order is the ranking;
* ``mIoU`` is the mean over queries of the IoU of the **first** window only (the script writes
  ``mean(sort(overlap[0])[-3:])``, but ``overlap[0]`` holds that single number);
* means are taken over the *submitted* predictions, not over the queries of the ground truth: a query left out of
  the submission is not counted as a miss, and a query submitted twice counts twice (``num_evaluated`` and
  ``num_queries`` report both counts, as the script's "Evaluated: n / m instances" line does);
* the script returns fractions and prints them times 100; we return fractions in [0, 1].

MQ (``mq_metrics``) follows ``MQ/Evaluation/ego4d/`` (``eval_detection.py`` for mAP, ``get_retrieval_performance.py``
for the recall table) after ``MQ/Convert_annotation.py`` has turned ``moments_{train,val}.json`` into clip
annotations:

* only ``primary`` labels count; a clip listed twice is merged; clips left without labels are dropped;
* a clip belongs to the evaluated subset when its split is a *substring* of ``subset`` (``v['subset'] in
  self.subset``): with the default ``"validation"`` the clips whose split is ``"val"`` are evaluated;
* mAP: ActivityNet detection AP per class, a prediction matching a truth at ``tIoU >= t`` (the ``<`` test rejects
  below), tIoU thresholds ``[0.1, 0.2, 0.3, 0.4, 0.5]``, mean over the classes present in the subset's ground truth;
  predictions of other labels are ignored. This is the computation of the kit's
  :func:`internvideo_core.eval.localization.tal_map`, which we reuse (``tests/test_metrics_grounding.py`` checks it
  against a literal re-implementation of the loop). One degenerate case differs: a zero-length prediction on the
  same zero-length truth has tIoU 0/0, which the official code lets match and ``tal_map`` does not;
* recall ``R{r}x@tIoU`` (``recall[i][j]`` for tIoU ``(0.3, 0.5, 0.7)[i]``, rank ``r = j + 1``): for each class of a
  clip with ``n`` ground-truth moments, its predictions of that class are taken *in the submission's order* (not
  sorted by score), and a ground-truth moment is retrieved when one of the first ``r * n`` of them has IoU
  **strictly greater** than the threshold (hull IoU as in NLQ). No one-to-one matching: one prediction can retrieve
  several moments. The mean is over all ground-truth moments of the subset; a class without predictions in a clip
  contributes misses;
* a clip of the ground truth with no entry in the submission stops the official script (``KeyError``); we raise a
  :class:`ValueError` naming it;
* the submission is the challenge file ``{"detect_results": {...}, "retrieve_results": {...}}`` (what
  ``Merge_detection_retrieval.py`` writes) or an ActivityNet-style ``{"results": {...}}`` used for both; each entry
  ``{clip_uid: [{"label", "segment": [start, end], "score"}]}`` in clip seconds;
* fractions in [0, 1], as the official code prints them.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = [
    "MQ_TIOU_THRESHOLDS", "MQ_RECALL_TIOUS", "MQ_RECALL_RANKS", "window_iou", "nlq_metrics", "mq_metrics",
    "mq_clip_annotations", "mq_detection_map", "mq_recall",
]

#: tIoU thresholds of the MQ detection mAP (``opts.py`` ``--tIoU_thr`` default, written as these literals).
MQ_TIOU_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)
#: tIoU thresholds and ranks of the MQ recall table (fixed in ``Moment_Retrieval.evaluate``).
MQ_RECALL_TIOUS: tuple[float, ...] = (0.3, 0.5, 0.7)
MQ_RECALL_RANKS: tuple[int, ...] = (1, 2, 3, 4, 5)


def window_iou(pred: Any, gt: Any) -> np.ndarray:
    """IoU of windows as the Ego4D scripts compute it (``compute_IoU`` / ``iou``): intersection over hull.

    Args:
        pred: ``[P, >=2]`` windows (start, end, ...); extra columns (a score) are ignored.
        gt: ``[G, 2]`` windows.

    Returns:
        ``[P, G]`` float64, ``max(0, min(e) - max(s)) / max(0, max(e) - min(s))`` (nan for 0/0).
    """
    p = np.array([[float(w[0]), float(w[1])] for w in pred], dtype=np.float64).reshape(-1, 2)
    g = np.array([[float(w[0]), float(w[1])] for w in gt], dtype=np.float64).reshape(-1, 2)
    inter = np.maximum(0.0, np.minimum(p[:, 1, None], g[None, :, 1]) - np.maximum(p[:, 0, None], g[None, :, 0]))
    hull = np.maximum(0.0, np.maximum(p[:, 1, None], g[None, :, 1]) - np.minimum(p[:, 0, None], g[None, :, 0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / hull


def _label(t: float) -> str:
    return f"{float(t):g}"


def nlq_metrics(ground_truth: Mapping[str, Any], predictions: Sequence[Mapping[str, Any]],
                thresholds: Sequence[float] = (0.3, 0.5), top_k: Sequence[int] = (1, 5)) -> dict[str, Any]:
    """Ego4D NLQ recall at rank k and IoU t, and mean IoU, as ``evaluate_ego4d_nlq.py`` computes them.

    Args:
        ground_truth: the official ``nlq_val.json`` as a dict (``videos -> clips -> annotations -> language_queries``
            with ``clip_start_sec`` / ``clip_end_sec``).
        predictions: the submission's ``results`` list: ``{"clip_uid", "annotation_uid", "query_idx",
            "predicted_times": [[start, end], ...]}`` with windows ranked best first.
        thresholds: IoU thresholds ``t`` (a window counts when its IoU is strictly above ``t``).
        top_k: ranks ``k``.

    Returns:
        ``{"R@{k},IoU={t}": fraction for each k and t, "mIoU": fraction, "num_evaluated": int, "num_queries": int}``
        (see the module docstring for the rules).
    """
    gt: dict[tuple[str, str], Mapping[str, Any]] = {}
    num_queries = 0
    for video in ground_truth["videos"]:
        for clip in video["clips"]:
            for ann in clip["annotations"]:
                gt[(clip["clip_uid"], ann["annotation_uid"])] = ann
                num_queries += len(ann["language_queries"])
    if len(predictions) == 0:
        raise ValueError("nlq_metrics: the submission's 'results' list is empty; expected one entry per query "
                         "({'clip_uid', 'annotation_uid', 'query_idx', 'predicted_times'})")
    hits = np.zeros((len(thresholds), len(top_k), len(predictions)), dtype=bool)
    top1 = np.zeros(len(predictions))
    for n, pred in enumerate(predictions):
        key = (pred["clip_uid"], pred["annotation_uid"])
        if key not in gt:
            raise ValueError(f"nlq_metrics: prediction {n} is for clip {key[0]!r}, annotation {key[1]!r}, which the "
                             "ground truth does not have (the official script stops: 'Instance not present!')")
        query = gt[key]["language_queries"][pred["query_idx"]]
        windows = pred["predicted_times"]
        if len(windows) == 0 or np.ndim(windows) != 2:
            raise ValueError(f"nlq_metrics: prediction {n} ({key}) must have 'predicted_times' as a non-empty list "
                             f"of [start, end] windows, got {windows!r}")
        overlap = window_iou(windows, [[query["clip_start_sec"], query["clip_end_sec"]]])[:, 0]  # [P]
        top1[n] = overlap[0]
        for i, t in enumerate(thresholds):
            for j, k in enumerate(top_k):
                hits[i, j, n] = bool((overlap[: int(k)] > t).any())
    out: dict[str, Any] = {}
    for j, k in enumerate(top_k):
        for i, t in enumerate(thresholds):
            out[f"R@{int(k)},IoU={_label(t)}"] = float(hits[i, j].mean())
    out["mIoU"] = float(top1.mean())
    out["num_evaluated"] = len(predictions)
    out["num_queries"] = num_queries
    return out


def mq_clip_annotations(ground_truth: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Clip annotations as ``MQ/Convert_annotation.py`` writes them, from ``moments_{split}.json`` (a dict).

    Returns ``{clip_uid: {"video_id", "clip_id", "subset", "parent_start_sec", "parent_end_sec",
    "annotations": [label dicts with "label", "start_time", "end_time", ...]}}`` with primary labels only, clips of
    the same uid merged, and clips without labels dropped (test clips are kept, without labels). A dict already in
    that form (values with ``subset`` and ``annotations``) is returned as is.
    """
    if "videos" not in ground_truth:
        for uid, v in ground_truth.items():
            if not isinstance(v, Mapping) or "subset" not in v or "annotations" not in v:
                raise ValueError(f"MQ ground truth: expected moments_{{split}}.json (a dict with 'videos') or clip "
                                 f"annotations {{clip_uid: {{'subset', 'annotations'}}}}; entry {uid!r} is neither")
        return dict(ground_truth)  # type: ignore[arg-type]
    clips: dict[str, dict[str, Any]] = {}
    for video in ground_truth["videos"]:
        if "split" not in video:
            raise ValueError(f"MQ ground truth: video {video.get('video_uid')!r} has no 'split' (train / val / test), "
                             "which the official conversion reads to pick the evaluated subset")
        for clip in video["clips"]:
            uid = clip["clip_uid"]
            entry = clips.setdefault(uid, {
                "video_id": video["video_uid"], "clip_id": uid, "parent_start_sec": clip.get("video_start_sec"),
                "parent_end_sec": clip.get("video_end_sec"), "annotations": [], "subset": video["split"]})
            if video["split"] != "test":
                for ann in clip.get("annotations", []):
                    entry["annotations"].extend(lab for lab in ann["labels"] if lab["primary"])
    return {k: v for k, v in clips.items() if v["subset"] == "test" or v["annotations"]}


def _subset_clips(clips: Mapping[str, Mapping[str, Any]], subset: str) -> dict[str, Mapping[str, Any]]:
    return {uid: v for uid, v in clips.items() if v["subset"] in subset}  # substring test, as the official code


def _submission_part(predictions: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    if key in predictions:
        return predictions[key]
    if "results" in predictions:
        return predictions["results"]
    raise ValueError(f"MQ submission: expected '{key}' (the challenge file) or 'results' (ActivityNet style) with "
                     f"{{clip_uid: [{{'label', 'segment', 'score'}}]}}; got keys {sorted(predictions)[:8]}")


def mq_detection_map(clips: Mapping[str, Mapping[str, Any]], results: Mapping[str, Sequence[Mapping[str, Any]]],
                     tiou_thresholds: Sequence[float] = MQ_TIOU_THRESHOLDS) -> dict[str, Any]:
    """Detection mAP of ``eval_detection.py`` over already-selected clip annotations (see :func:`mq_metrics`).

    Returns ``{"mAP_per_tiou": [T], "average_mAP": float, "ap_per_class": {label: [T]}}``.
    """
    from internvideo_core.eval.localization import tal_map

    gt_rows = [(uid, float(a["start_time"]), float(a["end_time"]), a["label"])
               for uid, v in clips.items() for a in v["annotations"]]
    classes = list(dict.fromkeys(r[3] for r in gt_rows))
    known = set(classes)
    pred_rows = [(uid, float(p["segment"][0]), float(p["segment"][1]), p["label"], float(p["score"]))
                 for uid, preds in results.items() for p in preds if p["label"] in known]
    r = tal_map(gt_rows, pred_rows, tiou_thresholds, classes=classes)
    return {"mAP_per_tiou": r["mAP_per_tiou"], "average_mAP": r["average_mAP"], "ap_per_class": r["ap_per_class"]}


def mq_recall(clips: Mapping[str, Mapping[str, Any]], results: Mapping[str, Sequence[Mapping[str, Any]]],
              tious: Sequence[float] = MQ_RECALL_TIOUS, ranks: Sequence[int] = MQ_RECALL_RANKS) -> list[list[float]]:
    """The recall table of ``get_retrieval_performance.py`` (rows: ``tious``, columns: ``ranks``), see
    :func:`mq_metrics`."""
    found: list[list[list[bool]]] = [[[] for _ in ranks] for _ in tious]
    for uid, v in clips.items():
        if uid not in results:
            raise ValueError(f"MQ submission: no predictions for clip {uid!r} of the evaluated subset (the official "
                             "retrieval evaluation stops with a KeyError); add an entry, possibly an empty list")
        by_label: dict[Any, list[list[float]]] = {}
        for p in results[uid]:
            by_label.setdefault(p["label"], []).append([float(p["segment"][0]), float(p["segment"][1])])
        gt_by_label: dict[Any, list[list[float]]] = {}
        for a in v["annotations"]:
            gt_by_label.setdefault(a["label"], []).append([float(a["start_time"]), float(a["end_time"])])
        for label, gts in gt_by_label.items():
            n = len(gts)
            if label not in by_label:
                for row in found:
                    for col in row:
                        col.extend([False] * n)
                continue
            overlap = window_iou(by_label[label], gts)  # [P, n], predictions in submission order
            for i, t in enumerate(tious):
                for j, r in enumerate(ranks):
                    found[i][j].extend(bool(x) for x in (overlap[: int(r) * n] > t).any(axis=0))
    return [[float(np.mean(col)) if col else float("nan") for col in row] for row in found]


def mq_metrics(ground_truth: Mapping[str, Any], predictions: Mapping[str, Any],
               subset: str = "validation") -> dict[str, Any]:
    """Ego4D MQ detection mAP (tIoU 0.1..0.5) and recall table (tIoU 0.3/0.5/0.7 x rank 1..5), as the official code.

    Args:
        ground_truth: ``moments_{split}.json`` as a dict (or the clip annotations of ``Convert_annotation.py``).
        predictions: the challenge submission ``{"detect_results", "retrieve_results"}`` or ``{"results"}``.
        subset: clips whose split is a substring of it are evaluated (``"validation"`` selects ``"val"``).

    Returns:
        ``{"mAP_per_tiou": [5], "average_mAP": float, "recall": [[5] x 3], "tiou_thresholds": [5],
        "recall_tious": [3], "recall_ranks": [5], "ap_per_class": {label: [5]}}`` (fractions).
    """
    clips = _subset_clips(mq_clip_annotations(ground_truth), subset)
    if not clips:
        raise ValueError(f"MQ ground truth: no clip with a split contained in subset={subset!r} "
                         "(the official code compares with `split in subset`; use 'validation' for 'val')")
    det = mq_detection_map(clips, _submission_part(predictions, "detect_results"))
    recall = mq_recall(clips, _submission_part(predictions, "retrieve_results"))
    return {"mAP_per_tiou": det["mAP_per_tiou"], "average_mAP": det["average_mAP"], "recall": recall,
            "tiou_thresholds": list(MQ_TIOU_THRESHOLDS), "recall_tious": list(MQ_RECALL_TIOUS),
            "recall_ranks": list(MQ_RECALL_RANKS), "ap_per_class": det["ap_per_class"]}
