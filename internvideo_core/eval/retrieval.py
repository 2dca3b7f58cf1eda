"""Video-text retrieval metrics, as computed by InternVideo1's retrieval code (CLIP4Clip lineage).

Reference: ``InternVideo1/Downstream/Video-Text-Retrieval/metrics.py`` and ``eval_epoch`` of
``main_task_retrieval.py`` in OpenGVLab/InternVideo. Checked against
``tests/fixtures/official/retrieval_metric_vectors.json`` (``tests/test_metrics_retrieval.py``).

Conventions
-----------
* ``sim`` is ``[num_texts, num_videos]``: **rows are texts**, columns videos. In the 1:1 setting (MSR-VTT 1k-A,
  DiDeMo, ActivityNet paragraphs, LSMDC) text ``i`` belongs to video ``i``.
* The official code feeds *logits* (``exp(logit_scale) * cosine``, about 100 x cosine) to the metrics; the plain
  metrics do not depend on the scale, the dual-softmax ones do (the softmax has no temperature of its own), so pass
  the same logits to reproduce official DSL numbers.
* Ranks are 0-based internally; reported ``MdR`` / ``MnR`` are 1-based. ``R1/R5/R10`` are percentages.
* Output keys: ``R1, R5, R10, MdR, MnR`` (the official code calls the last two ``MR``/``MedianR`` and ``MeanR``).

Dual softmax (``dsl=True``), as in ``eval_epoch``:
``t2v: sim * softmax(sim, axis=0)`` and ``v2t: sim.T * softmax(sim.T, axis=0)`` (each a column softmax, i.e. over
the *queries* competing for the same gallery item, then re-ranking each query's row). With several captions per
video the official code builds only ``sim * softmax(sim, axis=0)`` (softmax over all texts) and uses it for both
directions; we do the same.

Multi-caption datasets (MSR-VTT full, MSVD, VATEX...): pass ``text_to_video`` [num_texts] (video index of each
text). Text-to-video ranks every text against all videos (lower median, as the official ``torch.median``);
video-to-text first reduces each video's captions to their maximum similarity with every video, giving a
``[num_videos, num_videos]`` matrix ``M[v, g] = max_{t in captions(g)} sim[t, v]``, then ranks caption group ``v``
among all groups in row ``v`` (``np.median``), i.e. a video is retrieved by its best caption.

Ties (``ties=``): exact ties are rare with float similarities but happen with fp16 features or duplicates.
* ``"official"`` (default) reproduces the official code exactly. In the 1:1 path (``compute_metrics``) a query whose
  true item ties with ``e - 1`` others contributes *every* tied position ``g, g+1, ..., g+e-1`` as a separate rank
  (``g`` = number of strictly better items), so it is counted ``e`` times and the denominators grow. In the
  multi-caption text-to-video path (double ``argsort``) tied videos keep index order, so the rank is ``g`` plus the
  number of tied videos with a smaller index.
* ``"optimistic"``: rank ``g``; ``"pessimistic"``: rank ``g + e - 1``; ``"mean"``: ``g + (e - 1) / 2``; one rank per
  query in all three.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._common import to_numpy

__all__ = ["retrieval_metrics", "dual_softmax", "query_ranks", "metrics_from_ranks", "TIE_RULES"]

TIE_RULES = ("official", "optimistic", "pessimistic", "mean")


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def dual_softmax(sim: Any) -> np.ndarray:
    """Dual-softmax re-weighting ``sim * softmax(sim, axis=0)`` of a ``[queries, gallery]`` matrix.

    Each gallery column is normalised over the queries (the "prior" that the item belongs to that query), then
    multiplied element-wise with the raw similarity. For v2t call it on ``sim.T``.
    """
    s = to_numpy(sim)
    return s * _softmax(s, axis=0)


def _tie_counts(sim: np.ndarray, target_col: np.ndarray,
                block: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row ``i``: (# entries > target, # entries == target incl. itself, # equal entries left of target).

    Rows are processed in blocks so that a 60k x 3k matrix (MSR-VTT full) does not need several GB of masks.
    """
    n = sim.shape[0]
    greater = np.empty(n, dtype=np.int64)
    equal = np.empty(n, dtype=np.int64)
    equal_left = np.empty(n, dtype=np.int64)
    cols = np.arange(sim.shape[1])[None, :]
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        s = sim[lo:hi]
        tgt = target_col[lo:hi]
        d = s[np.arange(hi - lo), tgt][:, None]
        greater[lo:hi] = np.sum(s > d, axis=1)
        eq = s == d
        equal[lo:hi] = np.sum(eq, axis=1)
        equal_left[lo:hi] = np.sum(eq & (cols < tgt[:, None]), axis=1)
    return greater, equal, equal_left


def query_ranks(sim: Any, target_col: Sequence[int] | None = None, ties: str = "official",
                official_style: str = "expand") -> np.ndarray:
    """0-based rank of each row's target column when the row is sorted by descending similarity.

    Args:
        sim: ``[Q, G]`` similarities, rows are queries.
        target_col: ``[Q]`` column of each query's true item; default ``arange(Q)`` (the diagonal, needs Q <= G).
        ties: one of :data:`TIE_RULES` (see the module docstring).
        official_style: how ``ties="official"`` resolves ties: ``"expand"`` (1:1 ``compute_metrics``: one entry per
            tied position, so the result can be longer than Q) or ``"index"`` (stable sort: tied items keep
            column order).

    Returns:
        ``[Q]`` ranks (float for ``ties="mean"``), or longer for ``ties="official", official_style="expand"``.
    """
    s = to_numpy(sim)
    if s.ndim != 2:
        raise ValueError(f"sim must be a 2-D [queries, gallery] matrix, got shape {s.shape}")
    if target_col is None:
        if s.shape[0] > s.shape[1]:
            raise ValueError(f"sim has more rows than columns {s.shape}: give target_col (or text_to_video)")
        tgt = np.arange(s.shape[0])
    else:
        tgt = np.asarray(target_col, dtype=np.int64)
    if ties not in TIE_RULES:
        raise ValueError(f"ties must be one of {TIE_RULES}, got {ties!r}")
    greater, equal, equal_left = _tie_counts(s, tgt)
    if ties == "optimistic":
        return greater
    if ties == "pessimistic":
        return greater + equal - 1
    if ties == "mean":
        return greater + (equal - 1) / 2.0
    if official_style == "index":
        return greater + equal_left
    if official_style != "expand":
        raise ValueError(f"official_style must be 'expand' or 'index', got {official_style!r}")
    # compute_metrics: np.where(sorted_row == target) yields every tied position
    starts = np.repeat(greater, equal)
    offsets = np.arange(int(equal.sum())) - np.repeat(np.cumsum(equal) - equal, equal)
    return starts + offsets


def metrics_from_ranks(ranks: Any, median: str = "mean_of_middle") -> dict[str, float]:
    """``R1, R5, R10`` (percent), ``MdR``, ``MnR`` (1-based) from 0-based ranks.

    ``median="mean_of_middle"`` is ``np.median`` (official 1:1 path and video-to-text); ``"lower"`` is
    ``torch.median`` (the lower of the two middle values; official multi-caption text-to-video path).
    """
    r = np.asarray(ranks, dtype=np.float64)
    if r.size == 0:
        raise ValueError("no ranks to summarise (empty similarity matrix?)")
    if median == "mean_of_middle":
        med = float(np.median(r))
    elif median == "lower":
        med = float(np.sort(r)[(r.size - 1) // 2])
    else:
        raise ValueError(f"median must be 'mean_of_middle' or 'lower', got {median!r}")
    return {
        "R1": float(np.sum(r < 1)) * 100.0 / r.size,
        "R5": float(np.sum(r < 5)) * 100.0 / r.size,
        "R10": float(np.sum(r < 10)) * 100.0 / r.size,
        "MdR": med + 1.0,
        "MnR": float(np.mean(r)) + 1.0,
    }


def retrieval_metrics(sim: Any, dsl: bool = False, text_to_video: Sequence[int] | None = None,
                      ties: str = "official") -> dict[str, dict[str, float]]:
    """Text-to-video and video-to-text retrieval metrics of a similarity matrix.

    Args:
        sim: ``[num_texts, num_videos]`` (numpy, torch or nested lists); rows are texts. Without ``text_to_video`` it
            must be square and text ``i`` matches video ``i``.
        dsl: apply the dual-softmax re-ranking first (see module docstring; pass logits, as the official code does).
        text_to_video: ``[num_texts]`` video index of every text, for datasets with several captions per video.
            Every video needs at least one caption.
        ties: tie rule, one of :data:`TIE_RULES` (default ``"official"``).

    Returns:
        ``{"t2v": {"R1", "R5", "R10", "MdR", "MnR"}, "v2t": {...}}``.
    """
    s = to_numpy(sim)
    if s.ndim != 2:
        raise ValueError(f"sim must be [num_texts, num_videos], got shape {s.shape}")
    if text_to_video is None:
        if s.shape[0] != s.shape[1]:
            raise ValueError(
                f"sim is {s.shape[0]} texts x {s.shape[1]} videos but no text_to_video was given; pass the video "
                "index of every text for multi-caption datasets")
        t2v_mat = dual_softmax(s) if dsl else s
        v2t_mat = dual_softmax(s.T) if dsl else s.T
        return {
            "t2v": metrics_from_ranks(query_ranks(t2v_mat, ties=ties)),
            "v2t": metrics_from_ranks(query_ranks(v2t_mat, ties=ties)),
        }

    t2v_idx = np.asarray(text_to_video, dtype=np.int64)
    n_texts, n_videos = s.shape
    if t2v_idx.shape != (n_texts,):
        raise ValueError(f"text_to_video must have one entry per text ({n_texts}), got shape {t2v_idx.shape}")
    if t2v_idx.min(initial=0) < 0 or t2v_idx.max(initial=0) >= n_videos:
        raise ValueError(f"text_to_video values must lie in [0, {n_videos}), got min {t2v_idx.min()} max {t2v_idx.max()}")
    counts = np.bincount(t2v_idx, minlength=n_videos)
    if np.any(counts == 0):
        missing = np.flatnonzero(counts == 0)[:5].tolist()
        raise ValueError(f"videos without any caption (first few: {missing}); drop them from sim or add captions")
    m = dual_softmax(s) if dsl else s
    t2v = metrics_from_ranks(query_ranks(m, t2v_idx, ties=ties, official_style="index"), median="lower")
    # group max: grouped[g, v] = max over captions t of video g of m[t, v]
    order = np.argsort(t2v_idx, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(t2v_idx[order]) != 0])  # every video has >= 1 caption
    grouped = np.maximum.reduceat(m[order], starts, axis=0)
    v2t = metrics_from_ranks(query_ranks(grouped.T, ties=ties))
    return {"t2v": t2v, "v2t": v2t}
