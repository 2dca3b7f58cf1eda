"""Detections of the localization head, and the ActivityNet result JSON they are written in.

Post-processing as ActionFormer's ``inference_single_video`` + ``batched_nms``: per level sigmoid scores of every
(point, class) pair, those above ``score_threshold`` kept (at most ``pre_nms_topk``), the offsets decoded into
segments, converted to seconds and clipped to ``[0, duration]``, segments shorter than ``min_duration`` dropped,
then Gaussian soft-NMS per class (:func:`internvideo_core.eval.localization.segment_soft_nms`, sigma 0.5) and the
``max_segments`` best kept. (ActionFormer's optional box voting is left out.)

Result file (the ActivityNet challenge format, read by its evaluator and by ``internvideo eval-tal``)::

    {"version": "VERSION 1.3", "results": {video_id: [{"label": name, "score": s, "segment": [start, end]}]},
     "external_data": {"used": false, "details": ""}}
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .data import TALVideo, collate, grid_to_seconds
from .targets import decode_offsets, make_points

__all__ = ["predict_segments", "write_anet_results", "read_anet_results", "result_rows", "save_tal_head",
           "load_tal_head"]


@torch.no_grad()
def predict_segments(head: nn.Module, videos: Sequence[TALVideo], classes: Sequence[str], *,
                     score_threshold: float = 0.001, pre_nms_topk: int = 2000, max_segments: int = 100,
                     nms_sigma: float = 0.5, min_duration: float = 0.05, batch_size: int = 8,
                     device: str | torch.device | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{video_id: [{"label", "score", "segment": [start_s, end_s]}, ...]}`` by decreasing score."""
    from internvideo_core.eval.localization import segment_soft_nms

    dev = torch.device(device) if device is not None else next(head.parameters()).device
    head.eval()
    levels = head.config.num_levels
    out: dict[str, list[dict[str, Any]]] = {}
    for b in range(0, len(videos), batch_size):
        batch = list(videos[b: b + batch_size])
        feats, mask = collate(batch, 2 ** (levels - 1))
        cls_out, reg_out, masks = head(feats.to(dev), mask.to(dev))
        scores = torch.cat(cls_out, 1).float().sigmoid().cpu()       # [B, P, C]
        offsets = torch.cat(reg_out, 1).float().cpu()                 # [B, P, 2]
        valid = torch.cat(masks, 1).cpu()                             # [B, P]
        points = make_points(feats.shape[-1], levels)
        for i, v in enumerate(batch):
            sc = scores[i].masked_fill(~valid[i][:, None], 0.0).flatten()
            keep = (sc > score_threshold).nonzero()[:, 0]
            keep = keep[sc[keep].argsort(descending=True)[:pre_nms_topk]]
            pt, cl = keep // scores.shape[-1], keep % scores.shape[-1]
            segs = grid_to_seconds(decode_offsets(points[pt], offsets[i, pt]).double(), v).clamp(0.0, v.duration)
            ok = (segs[:, 1] - segs[:, 0]) > min_duration
            segs, s, cl = segs[ok].numpy(), sc[keep][ok].double().numpy(), cl[ok].numpy()
            dets: list[tuple[float, float, float, int]] = []
            for c in np.unique(cl):
                sel = cl == c
                kept_seg, kept_sc = segment_soft_nms(segs[sel], s[sel], sigma=nms_sigma, method="gaussian",
                                                     score_threshold=score_threshold, max_segments=max_segments)
                dets += [(float(a), float(e), float(x), int(c)) for (a, e), x in zip(kept_seg, kept_sc)]
            dets.sort(key=lambda d: -d[2])
            out[v.video_id] = [{"label": classes[c], "score": round(x, 6), "segment": [round(a, 3), round(e, 3)]}
                               for a, e, x, c in dets[:max_segments]]
    return out


def write_anet_results(path: str | os.PathLike, results: dict[str, list[dict[str, Any]]]) -> Path:
    """Write ``results`` as an ActivityNet result JSON (format in the module docstring)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    obj = {"version": "VERSION 1.3", "results": results, "external_data": {"used": False, "details": ""}}
    p.write_text(json.dumps(obj) + "\n", encoding="utf-8")
    return p


def read_anet_results(path: str | os.PathLike) -> dict[str, list[dict[str, Any]]]:
    """The ``results`` object of an ActivityNet result JSON; a clear error when it is not one."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{p}: cannot read an ActivityNet result JSON ({err})") from err
    res = data.get("results") if isinstance(data, dict) else None
    if not isinstance(res, dict):
        raise ValueError(f'{p}: expected {{"results": {{video_id: [{{"label", "score", "segment"}}]}}}}, found no '
                         '"results" object')
    for vid, dets in res.items():
        for j, d in enumerate(dets):
            seg = d.get("segment") if isinstance(d, dict) else None
            if not isinstance(seg, (list, tuple)) or len(seg) != 2 or "label" not in d or "score" not in d:
                raise ValueError(f'{p}: results[{vid!r}][{j}] is {d!r}; expected {{"label": name, "score": x, '
                                 '"segment": [start, end]}')
    return res


def result_rows(results: dict[str, list[dict[str, Any]]]) -> list[tuple[str, float, float, str, float]]:
    """Rows ``(video, start, end, label, score)`` for :func:`~internvideo_core.eval.localization.tal_map`."""
    return [(vid, float(d["segment"][0]), float(d["segment"][1]), str(d["label"]), float(d["score"]))
            for vid, dets in results.items() for d in dets]


def save_tal_head(head: nn.Module, path: str | os.PathLike, classes: Sequence[str]) -> Path:
    """The head's weights (safetensors) with its :class:`TALHeadConfig` and class names in the metadata."""
    import dataclasses

    from internvideo_core.checkpoint import save_safetensors

    meta = {"task": "tal_head", "config": json.dumps(dataclasses.asdict(head.config)), "classes": json.dumps(list(classes))}
    return save_safetensors(head, path, metadata=meta)


def load_tal_head(path: str | os.PathLike) -> tuple[nn.Module, list[str]]:
    """``(head in eval mode, class names)`` from a file written by :func:`save_tal_head`."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from internvideo_core.models.tal_head import TALHead, TALHeadConfig

    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    if meta.get("task") != "tal_head":
        raise ValueError(f"{path} is not a localization head written by save_tal_head / internvideo train-tal")
    head = TALHead(TALHeadConfig(**json.loads(meta["config"])))
    head.load_state_dict(load_file(str(path)), strict=True)
    return head.eval(), json.loads(meta["classes"])
