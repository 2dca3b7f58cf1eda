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
    "open_macro_f1_openness", "evidence_from_logits", "edl_outputs", "edl_uncertainty",
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
            mask_parts = [np.flatnonzero(ul == c) for c in sel]
            idx = np.concatenate(mask_parts) if mask_parts else np.zeros(0, dtype=np.int64)
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
