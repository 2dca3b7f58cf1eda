"""AVA result files: detections as CSV rows ``video_id, timestamp, x1, y1, x2, y2, action_id, score``.

The official AVA evaluation (``get_ava_performance.py``) and :func:`~internvideo_core.eval.detection.ava_frame_map`
read this layout: one row per (box, action) with normalised box coordinates and a 4-digit timestamp.
:func:`ava_detection_rows` turns per-box scores ``[K, A]`` into such rows, :func:`write_ava_csv` writes them, and
the kit's AVA reader (:func:`internvideo_core.data.ava_annotations.read_ava_csv` with ``detections=True``) reads them
back.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

__all__ = ["ava_detection_rows", "write_ava_csv"]


def ava_detection_rows(video_id: str, timestamp: int, boxes: torch.Tensor, scores: torch.Tensor,
                       action_ids: Sequence[int], min_score: float = 0.0) -> list[tuple]:
    """Rows ``(video_id, timestamp, x1, y1, x2, y2, action_id, score)`` of one key frame.

    Args:
        boxes: normalised boxes ``[K, 4]`` (x1, y1, x2, y2 in 0..1). scores: ``[K, A]`` per-action scores
            (e.g. ``sigmoid(logits) * box_score``). action_ids: the AVA id of each score column (length ``A``).
        min_score: rows with a lower score are dropped (0 keeps every row, as the official evaluation expects).
    """
    boxes = torch.as_tensor(boxes, dtype=torch.float64).reshape(-1, 4)
    scores = torch.as_tensor(scores, dtype=torch.float64).reshape(len(boxes), -1)
    if scores.shape[1] != len(action_ids):
        raise ValueError(f"scores have {scores.shape[1]} columns but {len(action_ids)} action ids were given")
    rows = []
    for box, row in zip(boxes.tolist(), scores.tolist()):
        for action, score in zip(action_ids, row):
            if score >= min_score:
                rows.append((str(video_id), int(timestamp), *box, int(action), float(score)))
    return rows


def _format(row: Sequence[Any]) -> list[str]:
    if len(row) not in (7, 8):
        raise ValueError(f"AVA rows have 7 or 8 fields (video, t, x1, y1, x2, y2, action[, score]), got {row!r}")
    out = [str(row[0]), "%04d" % int(row[1]), *("%.3f" % float(v) for v in row[2:6]), str(int(row[6]))]
    if len(row) == 8:  # an int is a ground-truth person id, a float a detection score
        out.append(str(row[7]) if isinstance(row[7], int) else "%.6f" % float(row[7]))
    return out


def write_ava_csv(path: str | Path, rows: Iterable[Sequence[Any]]) -> Path:
    """Write AVA rows atomically: boxes ``%.3f`` as the released files, timestamps ``%04d``, an 8th column as
    ``%.6f`` when it is a float (detection score) and as written when it is an int (ground-truth person id)."""
    path = Path(path)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(_format(r) for r in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(buf.getvalue())
    os.replace(tmp, path)
    return path
