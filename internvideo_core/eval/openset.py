"""Open-set action recognition: AUROC, open-set macro-F1, thresholds and evidential (EDL) uncertainty.

InternVideo1's open-set task (``Downstream/Open-Set-Action-Recognition``, built on DEAR, Bao et al. ICCV 2021)
fine-tunes the video backbone with an evidential head: logits -> evidence ``e >= 0`` -> Dirichlet
``alpha = e + 1``, ``S = sum(alpha)``, expected probabilities ``alpha / S`` and uncertainty ``u = K / S``.
Known (in-distribution, e.g. UCF-101) vs unknown (e.g. HMDB-51 / MiT) samples are then separated by ``u``:

* ``open_set_auroc``: area under the ROC of "unknown" (positive) vs "known" with ``u`` as the score; equals
  ``sklearn.metrics.roc_auc_score`` (ties count one half), implemented here without sklearn;
* ``open_set_macro_f1``: samples with ``u > threshold`` are predicted as the extra class ``K`` ("unknown"), every
  unknown sample's label is ``K``, and macro-F1 is taken over the labels present in truth or prediction (sklearn's
  ``f1_score(average="macro")``). The threshold comes from the training set: :func:`uncertainty_threshold` keeps 95%
  of the known samples (official ``get_threshold.py``);
* ``open_macro_f1_openness``: DEAR's "Open maF1": macro-F1 while adding 1..N unknown classes (random subsets,
  repeated), weighted by openness.

AUROC and F1 are fractions in [0, 1] (the official tables print x100).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from internvideo_core.models.heads import evidence as evidence_from_logits

from ._common import to_numpy

__all__ = [
    "binary_auroc", "open_set_auroc", "uncertainty_threshold", "macro_f1", "open_set_macro_f1", "openness",
    "open_macro_f1_openness", "evidence_from_logits", "edl_outputs", "edl_uncertainty", "softmax_uncertainty",
    "scores_from_logits", "openset_report", "SCORE_EXPLANATION", "roc_curve",
]


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x`` [N] in ascending order, tied values sharing their average rank."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    # start index of each run of equal values
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], len(xs)]
    avg = (starts + ends + 1) / 2.0  # mean of 1-based positions starts+1 .. ends
    ranks_sorted = np.repeat(avg, ends - starts)
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = ranks_sorted
    return ranks


def binary_auroc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve, positive class ``1``, higher score = more positive.

    Computed with the Mann-Whitney statistic on average ranks: the probability that a random positive scores above a
    random negative, ties counting 1/2 (identical to the trapezoidal ROC area of ``roc_auc_score``).

    Args:
        labels: ``[N]`` 0/1 (bool or int). scores: ``[N]`` floats.
    """
    y = to_numpy(labels, float_dtype=False).astype(bool).reshape(-1)
    s = to_numpy(scores).astype(np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} differ in length")
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUROC needs at least one positive (unknown) and one negative (known) sample")
    ranks = _average_ranks(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def open_set_auroc(known_uncertainty: Any, unknown_uncertainty: Any) -> float:
    """Open-set AUROC: unknown samples are the positives, the uncertainty ``[N1]`` / ``[N2]`` is the score."""
    k = to_numpy(known_uncertainty).reshape(-1)
    u = to_numpy(unknown_uncertainty).reshape(-1)
    labels = np.r_[np.zeros(len(k), dtype=bool), np.ones(len(u), dtype=bool)]
    return binary_auroc(labels, np.r_[k, u])


def uncertainty_threshold(known_uncertainty: Any, keep_ratio: float = 0.95) -> float:
    """Threshold that keeps ``keep_ratio`` of the known (training) samples at or below it.

    Official rule (``get_threshold.py``): sort descending, ``top = N - int(N * keep_ratio)``, threshold = the
    ``top``-th largest value (index ``top - 1``); with ``top == 0`` the largest value is used.
    """
    u = np.sort(to_numpy(known_uncertainty).reshape(-1))[::-1]
    if u.size == 0:
        raise ValueError("no uncertainties given")
    top = u.size - int(u.size * keep_ratio)
    return float(u[max(top - 1, 0)])


def macro_f1(labels: Any, preds: Any) -> float:
    """Macro-averaged F1 over the labels present in ``labels`` or ``preds`` (sklearn ``average="macro"``).

    Per label ``F1 = 2 TP / (2 TP + FP + FN)``.
    """
    y = to_numpy(labels, float_dtype=False).reshape(-1)
    p = to_numpy(preds, float_dtype=False).reshape(-1)
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and preds {p.shape} differ in length")
    if y.size == 0:
        raise ValueError("macro_f1 of an empty set")
    classes = np.union1d(y, p)
    f1 = []
    for c in classes:
        tp = np.sum((y == c) & (p == c))
        fp = np.sum((y != c) & (p == c))
        fn = np.sum((y == c) & (p != c))
        f1.append(2.0 * tp / (2.0 * tp + fp + fn))
    return float(np.mean(f1))


def open_set_macro_f1(labels: Any, preds: Any, uncertainty: Any, threshold: float, num_known_classes: int) -> float:
    """Open-set macro-F1 with "unknown" as class ``K = num_known_classes``.

    Args:
        labels: ``[N]`` true ids; any value outside ``[0, K)`` (e.g. -1 or an id of the unknown dataset) means
            unknown and becomes ``K``.
        preds: ``[N]`` closed-set predictions in ``[0, K)``.
        uncertainty: ``[N]``; samples with ``uncertainty > threshold`` are predicted as unknown (``K``).
        threshold: e.g. from :func:`uncertainty_threshold`.
        num_known_classes: K.
    """
    k = int(num_known_classes)
    y = to_numpy(labels, float_dtype=False).astype(np.int64).reshape(-1)
    p = to_numpy(preds, float_dtype=False).astype(np.int64).reshape(-1).copy()
    u = to_numpy(uncertainty).reshape(-1)
    y = np.where((y < 0) | (y >= k), k, y)
    p[u > threshold] = k
    return macro_f1(y, p)


def openness(num_known: int, num_novel: int) -> float:
    """Openness in percent, ``(1 - sqrt(2 K / (2 K + N_novel))) * 100`` (training and target classes both K)."""
    return (1.0 - np.sqrt((2.0 * num_known) / (2.0 * num_known + num_novel))) * 100.0


def open_macro_f1_openness(known_labels: Any, known_preds: Any, known_uncertainty: Any,
                           unknown_labels: Any, unknown_preds: Any, unknown_uncertainty: Any,
                           threshold: float, num_known_classes: int, num_unknown_classes: int,
                           num_rand: int = 10, seed: int = 123) -> dict[str, Any]:
    """DEAR's openness curve and openness-weighted "Open maF1" (official ``compare_openness.py``).

    For ``n = 0..num_unknown_classes`` novel classes: ``num_rand`` random subsets of ``n`` unknown classes
    (``RandomState(seed).choice(num_unknown_classes, n, replace=False)``, as the official ``np.random.seed(123)``),
    macro-F1 of known + those unknown samples, averaged. ``n = 0`` uses the known samples only.

    Args:
        known_*: ``[N1]`` labels in ``[0, K)``, closed-set predictions and uncertainties of the known test set.
        unknown_*: ``[N2]`` labels in ``[0, num_unknown_classes)`` (ids within the unknown dataset), predictions,
            uncertainties.

    Returns:
        ``{"openness": [n+1], "macro_f1": [n+1], "std": [n+1], "open_maF1": float, "open_maF1_std": float}``.
    """
    k = int(num_known_classes)
    rng = np.random.RandomState(seed)
    kl = to_numpy(known_labels, float_dtype=False).astype(np.int64).reshape(-1)
    kp = to_numpy(known_preds, float_dtype=False).astype(np.int64).reshape(-1).copy()
    ku = to_numpy(known_uncertainty).reshape(-1)
    ul = to_numpy(unknown_labels, float_dtype=False).astype(np.int64).reshape(-1)
    up = to_numpy(unknown_preds, float_dtype=False).astype(np.int64).reshape(-1)
    uu = to_numpy(unknown_uncertainty).reshape(-1)
    kp[ku > threshold] = k  # false rejections
    f1s, stds, opens = [macro_f1(kl, kp)], [0.0], [0.0]
    for n in range(1, int(num_unknown_classes) + 1):
        opens.append(openness(k, n))
        vals = np.zeros(num_rand, dtype=np.float32)
        for m in range(num_rand):
            sel = rng.choice(num_unknown_classes, n, replace=False)
            idx = np.concatenate([np.flatnonzero(ul == c) for c in sel])  # n >= 1 classes: never an empty list
            sub_p = up[idx].copy()
            sub_p[uu[idx] > threshold] = k
            vals[m] = macro_f1(np.r_[kl, np.full(len(idx), k)], np.r_[kp, sub_p])
        f1s.append(float(np.mean(vals)))
        stds.append(float(np.std(vals)))
    w = np.asarray(opens) / 100.0
    f1a, sa = np.asarray(f1s), np.asarray(stds)
    denom = w.sum()
    return {
        "openness": opens, "macro_f1": f1s, "std": stds,
        "open_maF1": float((w * f1a).sum() / denom) if denom > 0 else f1s[0],
        "open_maF1_std": float((w * sa).sum() / denom) if denom > 0 else 0.0,
    }


def edl_outputs(logits: torch.Tensor, kind: str = "exp") -> dict[str, torch.Tensor]:
    """Dirichlet quantities of an evidential head.

    Args:
        logits: ``[N, K]`` head outputs. kind: evidence function (see :func:`evidence_from_logits`).

    Returns:
        ``{"evidence": [N, K], "alpha": [N, K] = evidence + 1, "strength": [N] = sum(alpha),
        "probs": [N, K] = alpha / S, "uncertainty": [N] = K / S}`` (``u`` in (0, 1]; 1 = no evidence at all).
    """
    logits = torch.as_tensor(logits)
    e = evidence_from_logits(logits, kind)
    alpha = e + 1.0
    s = alpha.sum(dim=-1)
    return {"evidence": e, "alpha": alpha, "strength": s, "probs": alpha / s.unsqueeze(-1),
            "uncertainty": logits.shape[-1] / s}


def edl_uncertainty(logits: torch.Tensor, kind: str = "exp") -> torch.Tensor:
    """Evidential uncertainty ``u = K / S`` ``[N]`` of logits ``[N, K]`` (see :func:`edl_outputs`)."""
    return edl_outputs(logits, kind)["uncertainty"]


def roc_curve(known_uncertainty: Any, unknown_uncertainty: Any) -> tuple[np.ndarray, np.ndarray]:
    """ROC points ``(fpr [M], tpr [M])`` of "unknown" (positive) vs "known" with the uncertainty as the score:
    one point per distinct threshold, from (0, 0) to (1, 1); its trapezoidal area is :func:`open_set_auroc`."""
    k = to_numpy(known_uncertainty).astype(np.float64).reshape(-1)
    u = to_numpy(unknown_uncertainty).astype(np.float64).reshape(-1)
    if k.size == 0 or u.size == 0:
        raise ValueError("a ROC curve needs known and unknown samples")
    thresholds = np.unique(np.r_[k, u])[::-1]  # call "unknown" when score >= threshold
    tpr = np.r_[0.0, [(u >= t).mean() for t in thresholds]]
    fpr = np.r_[0.0, [(k >= t).mean() for t in thresholds]]
    return fpr, tpr


def softmax_uncertainty(logits: torch.Tensor) -> torch.Tensor:
    """The plain-softmax baseline's uncertainty ``1 - max_k softmax(logits)_k`` ``[N]`` of logits ``[N, K]``
    (DEAR's "SoftMax" baseline thresholds the max probability; ``1 - p`` makes higher = more likely unknown)."""
    logits = torch.as_tensor(logits).float()
    return 1.0 - logits.softmax(-1).amax(-1)


def scores_from_logits(logits: torch.Tensor, kind: str = "edl", evidence: str = "exp") -> dict[str, torch.Tensor]:
    """``{"pred": [N], "uncertainty": [N]}`` of logits ``[N, K]`` or ``[N, V, K]`` (``V`` views).

    Views are averaged **before** the evidence, as the official test (``average_clips='score'``: the mean of the
    raw head outputs over clips and crops). ``kind``: ``"edl"`` (``u = K / S``) or ``"softmax"`` (``1 - max p``).
    """
    logits = torch.as_tensor(logits).float()
    if logits.dim() == 3:
        logits = logits.mean(1)
    if kind == "edl":
        u = edl_uncertainty(logits, evidence)
    elif kind == "softmax":
        u = softmax_uncertainty(logits)
    else:
        raise ValueError(f"score kind must be 'edl' or 'softmax', got {kind!r}")
    return {"pred": logits.argmax(-1), "uncertainty": u}


SCORE_EXPLANATION = (
    "closed-set accuracy: top-1 on the known-class test clips alone (no rejection).\n"
    "AUROC: threshold-free; how well the continuous uncertainty ranks unknown above known clips (0.5 = chance).\n"
    "open-set macro-F1 (official): one fixed threshold, the 95 % point of the known-class TRAINING uncertainties "
    "(get_threshold.py); clips above it are called 'unknown' (class K), then macro-F1 over the K known classes + "
    "unknown. It also counts closed-set mistakes and depends on where the threshold falls, so it can be low while "
    "AUROC is high (and the reverse).\n"
    "open maF1 over openness (official compare_openness.py): the same F1 while 0..N unknown classes are added, "
    "random draws per count, averaged with openness weights.")


def openset_report(known_labels: Any, known_logits: Any, unknown_labels: Any, unknown_logits: Any, *,
                   threshold: float | None = None, train_logits: Any = None, kind: str = "edl",
                   evidence: str = "exp", keep_ratio: float = 0.95, num_rand: int = 10,
                   seed: int = 123) -> dict[str, Any]:
    """Every open-set number of one model, from its logits (``[N, K]`` or ``[N, V, K]``; views averaged first).

    Args:
        known_labels: ``[N1]`` in ``[0, K)``; known_logits: the known-class test clips.
        unknown_labels: ``[N2]`` ids within the unknown dataset (e.g. HMDB-51 labels); unknown_logits.
        threshold: the rejection threshold; else computed from ``train_logits`` (known-class training clips) with
            :func:`uncertainty_threshold` (``keep_ratio`` 0.95, official). One of the two is needed.
        kind: ``"edl"`` or ``"softmax"`` (see :func:`scores_from_logits`).
        num_rand / seed: the openness draws (official: 10, ``np.random.seed(123)``).

    Returns:
        ``{"closed_set_accuracy", "auroc", "threshold", "open_set_macro_f1", "open_maF1", "open_maF1_std",
        "openness": {...}, "known_uncertainty", "unknown_uncertainty", "num_known", "num_unknown",
        "num_unknown_classes", "kind"}`` (fractions in [0, 1]; uncertainties as lists).
    """
    known = scores_from_logits(known_logits, kind, evidence)
    unknown = scores_from_logits(unknown_logits, kind, evidence)
    k = int(torch.as_tensor(known_logits).shape[-1])
    if threshold is None:
        if train_logits is None:
            raise ValueError("openset_report needs a threshold or the known-class training logits to compute it")
        threshold = uncertainty_threshold(scores_from_logits(train_logits, kind, evidence)["uncertainty"], keep_ratio)
    kl = to_numpy(known_labels, float_dtype=False).astype(np.int64).reshape(-1)
    raw_ul = to_numpy(unknown_labels, float_dtype=False).astype(np.int64).reshape(-1)
    classes, ul = np.unique(raw_ul, return_inverse=True)  # unknown ids -> 0..M-1 for the class draws
    kp, ku = to_numpy(known["pred"], float_dtype=False), to_numpy(known["uncertainty"])
    up, uu = to_numpy(unknown["pred"], float_dtype=False), to_numpy(unknown["uncertainty"])
    curve = open_macro_f1_openness(kl, kp, ku, ul, up, uu, threshold, k, len(classes), num_rand=num_rand, seed=seed)
    return {
        "kind": kind, "closed_set_accuracy": float(np.mean(kp == kl)),
        "auroc": open_set_auroc(ku, uu), "threshold": float(threshold),
        "open_set_macro_f1": open_set_macro_f1(np.r_[kl, np.full(len(ul), -1)], np.r_[kp, up], np.r_[ku, uu],
                                               threshold, k),
        "open_maF1": curve["open_maF1"], "open_maF1_std": curve["open_maF1_std"],
        "openness": {key: curve[key] for key in ("openness", "macro_f1", "std")},
        "known_uncertainty": ku.tolist(), "unknown_uncertainty": uu.tolist(),
        "num_known": int(len(kl)), "num_unknown": int(len(ul)), "num_unknown_classes": int(len(classes)),
    }
