"""Natural-language grounding over a snippet sequence: a VSLNet-style span predictor and its decoding.

VSLNet (Zhang et al. 2020, the Ego4D NLQ baseline) treats grounding as span extraction over video features
conditioned on the query: fuse each snippet with the query, highlight the snippets that belong to the answer
(query-guided highlighting, QGH), and predict a start and an end distribution over the snippets; the answer is the
pair ``(i, j)``, ``i <= j``, with the highest ``P_start(i) * P_end(j)``.

:class:`SpanGrounder` is that recipe at tutorial size, over *sentence* query embeddings (the InternVideo-MM text
tower's ``encode_text``): query-conditioned fusion ``[v, q, v * q]``, a bidirectional GRU, the highlight head
gating the features, and a second GRU feeding the end head (the end is predicted after the start, as VSLNet's
conditioned span predictor). :func:`decode_spans` returns the top-k spans for the Ego4D ``R@k`` metric.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SpanGrounder", "decode_spans", "span_loss"]


class SpanGrounder(nn.Module):
    """Query-conditioned start / end / highlight logits over a snippet sequence.

    Args:
        video_dim: ``Dv`` of the snippet features. query_dim: ``Dq`` of the query embedding.
        hidden: width ``H``. dropout: on the fused features.
        use_video: ``False`` builds the text-only baseline: the snippet features are replaced by zeros, so only the
            query and the position in the sequence are left.
    """

    def __init__(self, video_dim: int, query_dim: int, hidden: int = 64, dropout: float = 0.1,
                 use_video: bool = True) -> None:
        super().__init__()
        self.use_video = use_video
        self.video_proj = nn.Sequential(nn.LayerNorm(video_dim), nn.Linear(video_dim, hidden))
        self.query_proj = nn.Sequential(nn.LayerNorm(query_dim), nn.Linear(query_dim, hidden))
        self.fuse = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.GELU(), nn.Dropout(dropout))
        self.encoder = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.highlight = nn.Linear(2 * hidden, 1)
        self.start_head = nn.Linear(2 * hidden, 1)
        self.end_rnn = nn.GRU(2 * hidden, hidden, batch_first=True, bidirectional=True)
        self.end_head = nn.Linear(2 * hidden, 1)

    def forward(self, video: torch.Tensor, query: torch.Tensor) -> dict[str, torch.Tensor]:
        """``video [B, N, Dv]``, ``query [B, Dq]`` -> ``{"start", "end", "highlight"}`` logits, each ``[B, N]``."""
        if not self.use_video:
            video = torch.zeros_like(video)
        v = self.video_proj(video)                                   # [B, N, H]
        q = self.query_proj(query).unsqueeze(1).expand_as(v)         # [B, N, H]
        h, _ = self.encoder(self.fuse(torch.cat([v, q, v * q], dim=-1)))  # [B, N, 2H]
        highlight = self.highlight(h).squeeze(-1)                    # [B, N]
        h = h * torch.sigmoid(highlight).unsqueeze(-1)               # QGH: keep the snippets of the answer
        start = self.start_head(h).squeeze(-1)
        e, _ = self.end_rnn(h)
        end = self.end_head(e).squeeze(-1)
        return {"start": start, "end": end, "highlight": highlight}


def span_loss(out: dict[str, torch.Tensor], start: torch.Tensor, end: torch.Tensor,
              highlight_weight: float = 0.5) -> torch.Tensor:
    """VSLNet's loss: cross-entropy of the start and end snippet indices (``start``, ``end`` long ``[B]``, inclusive)
    plus ``highlight_weight`` x binary cross-entropy of "snippet inside the answer"."""
    n = out["start"].shape[1]
    pos = torch.arange(n, device=start.device)
    inside = ((pos[None] >= start[:, None]) & (pos[None] <= end[:, None])).float()
    return (F.cross_entropy(out["start"], start) + F.cross_entropy(out["end"], end)
            + highlight_weight * F.binary_cross_entropy_with_logits(out["highlight"], inside))


def decode_spans(start_logits: torch.Tensor, end_logits: torch.Tensor, k: int = 5, max_len: int | None = None,
                 nms_iou: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` spans of one query.

    ``P(i, j) = softmax(start)[i] * softmax(end)[j]`` over ``i <= j`` (and ``j - i < max_len``); spans are taken by
    decreasing ``P``, skipping any whose IoU (in snippets, ends inclusive) with an already taken span exceeds
    ``nms_iou``, so the k answers are different places.

    Args:
        start_logits, end_logits: ``[N]``.

    Returns:
        ``(spans long [K, 2] (first, last snippet, inclusive), scores [K])`` with ``K <= k``.
    """
    n = start_logits.shape[0]
    joint = start_logits.softmax(-1)[:, None] * end_logits.softmax(-1)[None, :]   # [N, N]
    valid = torch.ones(n, n, dtype=torch.bool).triu()
    if max_len is not None:
        valid &= ~torch.ones(n, n, dtype=torch.bool).triu(int(max_len))
    scores, flat = joint.masked_fill(~valid, -1.0).flatten().sort(descending=True)
    taken: list[tuple[int, int]] = []
    kept: list[float] = []
    for score, f in zip(scores.tolist(), flat.tolist()):
        if score < 0 or len(taken) == k:
            break
        i, j = divmod(f, n)
        if all(_span_iou((i, j), t) <= nms_iou for t in taken):
            taken.append((i, j))
            kept.append(score)
    return torch.tensor(taken, dtype=torch.long).reshape(-1, 2), torch.tensor(kept)


def _span_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]) + 1)
    return inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)
