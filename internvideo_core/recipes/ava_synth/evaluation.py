"""Detections of a trained detector as AVA rows, the training-prior baseline, and the frame-mAP of both."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .config import AVASynthRecipe
from .data import AVASplit, KeyFrameLoader

__all__ = ["predict_scores", "detection_rows", "prior_scores", "frame_map"]


@torch.no_grad()
def predict_scores(recipe: AVASynthRecipe, model: nn.Module, data: AVASplit, batch_size: int = 16
                   ) -> list[torch.Tensor]:
    """Per sample ``sigmoid(logits)`` ``[K_i, A]`` on the given boxes (grown by the test extension)."""
    model.eval()
    device = next(model.parameters()).device
    out: list[torch.Tensor] = []
    for batch in KeyFrameLoader(data, recipe, batch_size=batch_size, train=False):
        probs = torch.sigmoid(model(batch["video"].to(device), batch["boxes"].to(device))).float().cpu()
        counts = [len(data.boxes[i]) for i in batch["index"].tolist()]
        out.extend(probs.split(counts))
    return out


def detection_rows(data: AVASplit, scores: list[torch.Tensor],
                   box_scores: list[torch.Tensor] | None = None) -> list[tuple]:
    """AVA rows of every (box, action) with score ``scores * box_score`` (official post-processing; given
    boxes have score 1)."""
    from internvideo_core.eval.ava_results import ava_detection_rows

    rows: list[tuple] = []
    for i, s in enumerate(scores):
        if box_scores is not None:
            s = s * box_scores[i].reshape(-1, 1)
        rows += ava_detection_rows(data.video_ids[i], data.timestamps[i], data.boxes[i], s, data.action_ids)
    return rows


def prior_scores(train: AVASplit, data: AVASplit) -> list[torch.Tensor]:
    """The baseline: every box of ``data`` gets the training-set frequency of each action ``[K_i, A]``."""
    prior = torch.cat(train.labels).mean(0)
    return [prior.expand(len(b), -1).clone() for b in data.boxes]


def frame_map(data: AVASplit, rows: list[tuple]) -> dict[str, Any]:
    """``ava_frame_map`` of ``rows`` against the split's ground truth (excluded seconds removed); per-class AP
    keyed by class name as well: ``{"mAP", "per_class": {id: AP}, "per_class_name": {name: AP}}``."""
    from internvideo_core.eval.detection import ava_frame_map

    res = ava_frame_map(data.ground_truth, rows, excluded=data.excluded, classes=data.action_ids)
    names = dict(zip(data.action_ids, data.classes))
    return {**res, "per_class_name": {names[c]: ap for c, ap in res["per_class"].items()}}
