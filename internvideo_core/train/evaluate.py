"""Multi-view testing of a video classifier: clips x crops, softmax per view, mean, top-1 / top-5.

The official protocol (VideoMAE ``final_test`` + ``merge``, used by InternVideo): every view (temporal clip x
spatial crop; K400 5 x 3, SSv2 2 x 3) is classified, each view's logits go through a softmax, the
probabilities of a video's views are averaged and top-k is read from the average. The arithmetic is
:func:`internvideo_core.eval.classification.aggregate_views` / ``topk_accuracy``.

Batches may be

- ``(video [B, V, 3, T, H, W], label [B])``: the V views of each video already grouped;
- ``(video [B, 3, T, H, W], label [B])``: one view per video (single-view validation);
- ``(video [B, 3, T, H, W], label [B], video_id [B])`` or ``(..., video_id, view_id)``: one view per row,
  grouped by ``video_id`` (repeated ``(video_id, view_id)`` pairs, e.g. from the padding of a distributed
  sampler, count once);
- dicts with ``"video"``, ``"label"`` and optionally ``"video_id"`` / ``"view_id"``.

Under DDP every rank evaluates its shard and the predictions are gathered before aggregation.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import torch
from torch import nn

from internvideo_core.train import distributed as D
from internvideo_core.train.loop import autocast, resolve_device

__all__ = ["evaluate", "predict_views"]


def _as_list(x: Any) -> list:
    if x is None:
        return []
    if isinstance(x, torch.Tensor):
        return x.tolist()
    return list(x)


def _unpack(batch: Any) -> tuple[torch.Tensor, torch.Tensor, list | None, list | None]:
    if isinstance(batch, dict):
        return batch["video"], batch["label"], batch.get("video_id"), batch.get("view_id")
    video, label = batch[0], batch[1]
    vid = batch[2] if len(batch) > 2 else None
    view = batch[3] if len(batch) > 3 else None
    return video, label, vid, view


@torch.no_grad()
def predict_views(model: nn.Module, loader: Iterable, *, device: str | torch.device | None = None,
                  precision: str = "auto", progress: bool = True) -> dict[str, Any]:
    """Logits of every view, gathered over ranks.

    Returns ``{"logits": [N, V, C] or [N_views, C], "labels": [N] or [N_views], "video_ids": list | None,
    "view_ids": list | None}`` (grouped form when the batches are ``[B, V, ...]``).
    """
    dev = resolve_device(device)
    was_training = model.training
    model.eval()
    logits, labels, vids, views = [], [], [], []
    grouped: bool | None = None
    it = loader
    if progress and D.is_main_process():
        from tqdm.auto import tqdm

        it = tqdm(loader, desc="evaluate", leave=False, dynamic_ncols=True)
    try:
        for batch in it:
            video, label, vid, view = _unpack(batch)
            is_grouped = video.ndim == 6
            if grouped is None:
                grouped = is_grouped
            elif grouped != is_grouped:
                raise ValueError("the loader mixes grouped [B, V, C, T, H, W] and flat [B, C, T, H, W] batches")
            video = video.to(dev, non_blocking=True)
            with autocast(dev, precision):
                if is_grouped:
                    out = torch.stack([model(video[:, v]) for v in range(video.shape[1])], dim=1)
                else:
                    out = model(video)
            logits.append(out.float().cpu())
            labels.append(torch.as_tensor(label).reshape(-1).cpu())
            vids += _as_list(vid)
            views += _as_list(view)
    finally:
        model.train(was_training)
    if not logits:
        raise ValueError("the evaluation loader gave no batches")
    part = {"logits": torch.cat(logits), "labels": torch.cat(labels), "video_ids": vids, "view_ids": views}
    parts = D.all_gather_object(part)
    res = {
        "logits": torch.cat([p["logits"] for p in parts]),
        "labels": torch.cat([p["labels"] for p in parts]),
        "video_ids": sum((p["video_ids"] for p in parts), []) or None,
        "view_ids": sum((p["view_ids"] for p in parts), []) or None,
    }
    if res["video_ids"] is not None and len(res["video_ids"]) != len(res["labels"]):
        raise ValueError("video ids were given for some batches only")
    return res


def evaluate(model: nn.Module, loader: Iterable, *, device: str | torch.device | None = None,
             precision: str = "auto", ks: Sequence[int] = (1, 5), progress: bool = True,
             return_predictions: bool = False) -> dict[str, Any]:
    """Multi-view top-k accuracy (percent) of a classifier on ``loader`` (see the module docstring).

    Returns ``{"top1", "top5", "num_videos", "num_views"}`` (floats / ints), plus ``"probs" [N, C]``,
    ``"labels" [N]`` and ``"video_ids"`` when ``return_predictions``.
    """
    from internvideo_core.eval.classification import aggregate_views, topk_accuracy

    pred = predict_views(model, loader, device=device, precision=precision, progress=progress)
    logits, labels = pred["logits"], pred["labels"]
    if logits.ndim == 3:
        probs = aggregate_views(logits)
        ids = pred["video_ids"] or list(range(len(labels)))
        num_views = logits.shape[1]
        if pred["video_ids"] is not None:  # grouped batches with ids: drop padded duplicates
            first: dict = {}
            for i, v in enumerate(ids):
                first.setdefault(v, i)
            keep = torch.as_tensor(list(first.values()))
            probs, labels, ids = probs[keep], labels[keep], list(first)
    elif pred["video_ids"] is not None:
        probs, ids = aggregate_views(logits, pred["video_ids"], pred["view_ids"], return_ids=True)
        first_label: dict = {}
        for v, y in zip(pred["video_ids"], labels.tolist()):
            if first_label.setdefault(v, y) != y:
                raise ValueError(f"video {v!r} has views with different labels ({first_label[v]} and {y})")
        labels = torch.as_tensor([first_label[v] for v in ids])
        num_views = round(len(pred["video_ids"]) / max(len(ids), 1))
    else:
        probs = logits.softmax(-1)
        ids = list(range(len(labels)))
        num_views = 1
    out: dict[str, Any] = dict(topk_accuracy(probs, labels, ks))
    out["num_videos"] = int(len(labels))
    out["num_views"] = int(num_views)
    if return_predictions:
        out.update(probs=probs, labels=labels, video_ids=ids)
    return out
