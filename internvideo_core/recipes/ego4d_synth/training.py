"""Training the span grounder on snippet features, predicting windows in the official submission format, and the
two baselines (a text-only model and random windows)."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from internvideo_core.data.ego4d_formats import nlq_prediction
from internvideo_core.models.grounding import SpanGrounder, decode_spans, span_loss
from internvideo_core.recipes.ego4d_synth.config import EgoRecipe
from internvideo_core.recipes.ego4d_synth.features import EgoFeatures

__all__ = ["train_grounder", "predict_spans", "spans_to_results", "random_window_results", "prior_results"]


def train_grounder(recipe: EgoRecipe, seed: int, feats: EgoFeatures, use_video: bool = True
                   ) -> tuple[SpanGrounder, dict[str, Any]]:
    """Train a :class:`SpanGrounder` (``use_video=False``: the text-only baseline) on ``feats``.

    AdamW with a cosine schedule over ``epochs`` x ``ceil(Q / batch_size)`` steps; each step takes a random batch of
    queries with their video's snippet sequence. Returns ``(model in eval mode, {"losses": per-epoch mean})``."""
    torch.manual_seed(seed)
    model = SpanGrounder(feats.video.shape[-1], feats.query.shape[-1], recipe.hidden, recipe.dropout, use_video)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    n = len(feats)
    steps_per_epoch = max(1, math.ceil(n / recipe.batch_size))
    total = recipe.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    gen = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    model.train()
    for _ in range(recipe.epochs):
        order = torch.randperm(n, generator=gen)
        epoch = []
        for s in range(steps_per_epoch):
            idx = order[s * recipe.batch_size:(s + 1) * recipe.batch_size]
            out = model(feats.video[feats.episode[idx]], feats.query[idx])
            loss = span_loss(out, feats.start[idx], feats.end[idx], recipe.highlight_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            epoch.append(loss.item())
        losses.append(float(np.mean(epoch)))
    return model.eval(), {"losses": losses}


@torch.no_grad()
def predict_spans(recipe: EgoRecipe, model: SpanGrounder, feats: EgoFeatures, batch_size: int = 256
                  ) -> list[torch.Tensor]:
    """Per query, the top-``top_k`` spans in seconds (``[K, 2]``, best first)."""
    out: list[torch.Tensor] = []
    for i in range(0, len(feats), batch_size):
        idx = torch.arange(i, min(i + batch_size, len(feats)))
        logits = model(feats.video[feats.episode[idx]], feats.query[idx])
        for b, q in enumerate(idx.tolist()):
            spans, _ = decode_spans(logits["start"][b], logits["end"][b], recipe.top_k, recipe.max_len,
                                    recipe.nms_iou)
            cells = feats.cells(int(feats.episode[q]))
            out.append(torch.stack([cells[spans[:, 0], 0], cells[spans[:, 1], 1]], dim=1))
    return out


def spans_to_results(feats: EgoFeatures, spans: Sequence[Any]) -> list[dict[str, Any]]:
    """The NLQ submission's ``results`` list for ``feats.queries`` (windows in clip seconds, best first)."""
    return [nlq_prediction(q, [[float(s), float(e)] for s, e in w]) for q, w in zip(feats.queries, spans)]


def random_window_results(recipe: EgoRecipe, seed: int, feats: EgoFeatures, train: EgoFeatures
                          ) -> list[dict[str, Any]]:
    """Random-window baseline: ``recipe.top_k`` windows per query, lengths drawn from the training answers'
    lengths, placed
    uniformly in the clip."""
    rng = np.random.default_rng(seed)
    lengths = np.array([(q.clip_end_sec or 0.0) - (q.clip_start_sec or 0.0) for q in train.queries])
    spans = []
    for q in range(len(feats)):
        dur = feats.durations[int(feats.episode[q])]
        ln = np.minimum(rng.choice(lengths, size=recipe.top_k), dur)
        start = rng.uniform(0, dur - ln)
        spans.append(np.stack([start, start + ln], axis=1))
    return spans_to_results(feats, spans)


def prior_results(recipe: EgoRecipe, model: SpanGrounder, feats: EgoFeatures) -> list[dict[str, Any]]:
    """Shorthand: :func:`predict_spans` then :func:`spans_to_results` (used for both trained models)."""
    return spans_to_results(feats, predict_spans(recipe, model, feats))
