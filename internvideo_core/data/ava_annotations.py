"""AVA annotation files, read as the official tools write them (pure: text in, records out).

    read_ava_csv / read_ava_rows   AVA ground-truth or detection CSV (``video, t, x1, y1, x2, y2, action[, person |
                         score]``); the one AVA CSV reader: the metric helpers of :mod:`internvideo_core.eval.detection`
                         call it too; a UTF-8 byte-order mark and CRLF line ends are accepted
    read_ava_excluded / read_ava_excluded_list   excluded timestamps ``video,t``
    read_ava_label_map   ``ava_action_list_v2.2.pbtxt`` or ``id: name`` lines
    read_ava_proposals   AVA dense proposals ``.pkl`` (``{"video,%04d": float32 [N, 4 or 5]}``, restricted
                         unpickling)

Malformed lines raise :class:`~internvideo_core.data.annotations.AnnotationError` naming the file and line.
"""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any, Iterable, NamedTuple

from internvideo_core.data.annotations import AnnotationError, PathLike, _int, _lines

__all__ = ["AVARow", "AVADetection", "read_ava_csv", "read_ava_rows", "read_ava_excluded", "read_ava_excluded_list",
           "read_ava_label_map", "read_ava_proposals"]


class AVARow(NamedTuple):
    """An AVA ground-truth row (normalised box); as a tuple it is a ground-truth row of
    :func:`~internvideo_core.eval.detection.ava_frame_map`."""

    video_id: str
    timestamp: int
    x1: float
    y1: float
    x2: float
    y2: float
    action_id: int
    person_id: int


class AVADetection(NamedTuple):
    """An AVA detection row: ``(video, t, x1, y1, x2, y2, action, score)``."""

    video_id: str
    timestamp: int
    x1: float
    y1: float
    x2: float
    y2: float
    action_id: int
    score: float


# ------------------------------------------------------------------------------------------------- AVA
def _source_lines(source: PathLike | Iterable[str]) -> tuple[str, list[str]]:
    """``(name for messages, lines)`` of a file (UTF-8, byte-order mark dropped) or of an iterable of text lines
    (a leading byte-order mark and line ends ``\\r\\n`` / ``\\n`` removed)."""
    if isinstance(source, (str, os.PathLike)):
        return str(source), _lines(source)
    lines = [str(x).rstrip("\r\n") for x in source]
    if lines:
        lines[0] = lines[0].removeprefix("\ufeff")
    return "<lines>", lines


def _ava_records(source: PathLike | Iterable[str], columns: tuple[int, ...], expected: str
                 ) -> tuple[str, list[tuple[int, list[str], int, tuple[float, float, float, float], int]]]:
    """The one AVA CSV parser: ``(name, [(line, fields, timestamp, box, action_id)])``. Checks the number of
    columns (``columns``), numeric timestamp / box / action and normalised boxes; blank lines are skipped."""
    name, lines = _source_lines(source)
    out = []
    for n, r in enumerate(csv.reader(lines), start=1):
        if not r or not "".join(r).strip():
            continue
        r = [x.strip() for x in r]
        if len(r) not in columns:
            want = " or ".join(str(c) for c in columns)
            raise AnnotationError(name, n, f"{len(r)} columns {r}", f"{want} columns {expected}")
        try:
            ts = int(float(r[1]))
            box = (float(r[2]), float(r[3]), float(r[4]), float(r[5]))
        except ValueError:
            raise AnnotationError(name, n, f"non-numeric timestamp or box in {r}", expected) from None
        if not all(-0.01 <= b <= 1.01 for b in box) or box[2] < box[0] or box[3] < box[1]:
            raise AnnotationError(name, n, f"box {box}", "normalised coordinates 0..1 with x1 <= x2 and y1 <= y2")
        out.append((n, r, ts, box, _int(name, n, r[6], "action_id", expected)))
    return name, out


def read_ava_rows(source: PathLike | Iterable[str]) -> list[tuple]:
    """AVA CSV rows as the official evaluator reads them: ``(video, timestamp, x1, y1, x2, y2, action)`` for 7
    columns, plus the 8th column as a float for 8 (the score of a result file; the person id of a ground-truth
    file, which the metric ignores). ``source``: a path or text lines. The row tuples of
    :func:`~internvideo_core.eval.detection.ava_frame_map`."""
    name, recs = _ava_records(source, (7, 8), "'video_id,timestamp,x1,y1,x2,y2,action_id[,score or person_id]'")
    out: list[tuple] = []
    for n, r, ts, box, action in recs:
        row: tuple = (r[0], ts, *box, action)
        if len(r) == 8:
            try:
                row = row + (float(r[7]),)
            except ValueError:
                raise AnnotationError(name, n, f"8th column {r[7]!r} is not a number", "a score or person id") from None
        out.append(row)
    return out


def read_ava_csv(path: PathLike | Iterable[str], detections: bool = False) -> list[AVARow] | list[AVADetection]:
    """AVA CSV ``video_id,timestamp,x1,y1,x2,y2,action_id,person_id`` (normalised boxes; 7 columns allowed
    without a person id). ``detections=True`` reads result files whose 8th column is a score. ``path`` may also
    be an iterable of text lines."""
    expected = ("'video_id,timestamp,x1,y1,x2,y2,action_id,score'" if detections
                else "'video_id,timestamp,x1,y1,x2,y2,action_id,person_id'")
    name, recs = _ava_records(path, (8,) if detections else (7, 8), expected)
    out: list[Any] = []
    for n, r, ts, box, action in recs:
        if detections:
            try:
                score = float(r[7])
            except ValueError:
                raise AnnotationError(name, n, f"score {r[7]!r}", expected) from None
            out.append(AVADetection(r[0], ts, *box, action, score))
        else:
            pid = _int(name, n, r[7], "person_id", expected) if len(r) == 8 else -1
            out.append(AVARow(r[0], ts, *box, action, pid))
    return out


def read_ava_excluded_list(path: PathLike | Iterable[str]) -> list[tuple[str, int]]:
    """AVA excluded timestamps ``video_id,timestamp`` per line -> ``[(video_id, timestamp)]`` in file order."""
    name, lines = _source_lines(path)
    out = []
    for n, r in enumerate(csv.reader(lines), start=1):
        if not r or not "".join(r).strip():
            continue
        if len(r) != 2:
            raise AnnotationError(name, n, f"{len(r)} columns {r}", "'video_id,timestamp'")
        out.append((r[0].strip(), _int(name, n, r[1].strip(), "timestamp", "'video_id,timestamp' (integer seconds)")))
    return out


def read_ava_excluded(path: PathLike | Iterable[str]) -> set[tuple[str, int]]:
    """AVA excluded timestamps ``video_id,timestamp`` per line -> ``{(video_id, timestamp)}``."""
    return set(read_ava_excluded_list(path))


def read_ava_proposals(path: PathLike) -> dict[str, Any]:
    """AVA dense person proposals as released (``ava_dense_proposals_{train,val}.FAIR.recall_93.9.pkl``) and as
    mmaction2's AVA dataset indexes them: a pickle of ``{"<video_id>,<timestamp %04d>": float32 [N, 5]}``
    (normalised ``x1, y1, x2, y2, score``; ``[N, 4]`` without scores is accepted). Unpickled with the kit's
    restricted loader (plain containers and numpy arrays only: no other class or function is ever called)."""
    import numpy as np

    from internvideo_core.data.safe_pickle import restricted_load

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"annotation file not found: {p}")
    expected = 'a pickle of {"video_id,%04d": float32 array [N, 5] (x1, y1, x2, y2, score)}'
    with p.open("rb") as f:
        try:
            data = restricted_load(f, numpy=True)
        except Exception as e:  # noqa: BLE001 - any unpickling failure is a malformed file here
            raise AnnotationError(path, None, f"cannot unpickle safely ({type(e).__name__}: {e})", expected) from None
    if not isinstance(data, dict):
        raise AnnotationError(path, None, f"top level is {type(data).__name__}", expected)
    for key, arr in data.items():
        video, sep, ts = str(key).rpartition(",")
        if not isinstance(key, str) or not sep or not video or not ts.isdigit():
            raise AnnotationError(path, f"[{key!r}]", "key is not 'video_id,timestamp'", expected)
        if (not isinstance(arr, np.ndarray) or arr.ndim != 2 or arr.shape[1] not in (4, 5)
                or arr.dtype.kind != "f"):
            what = f"{arr.dtype} {arr.shape}" if isinstance(arr, np.ndarray) else type(arr).__name__
            raise AnnotationError(path, f"[{key!r}]", f"found {what}", "a float array of shape [N, 4] or [N, 5]")
    return data


_PBTXT_ITEM = re.compile(r"item\s*\{(.*?)\}", re.S)


def read_ava_label_map(path: PathLike) -> dict[int, str]:
    """AVA label map: the official pbtxt (``item { name: "..." id: N }``) or an ``id: name`` list."""
    text = Path(path).read_text(encoding="utf-8-sig") if Path(path).is_file() else None
    if text is None:
        raise FileNotFoundError(f"annotation file not found: {path}")
    out: dict[int, str] = {}
    if "item" in text and "{" in text:
        for k, m in enumerate(_PBTXT_ITEM.finditer(text)):
            name = re.search(r'name:\s*"([^"]*)"', m.group(1))
            idx = re.search(r"\bid:\s*(\d+)", m.group(1))
            if not name or not idx:
                raise AnnotationError(path, f"item {k}", f"found {m.group(0)!r}", 'item { name: "..." id: N }')
            out[int(idx.group(1))] = name.group(1)
        return out
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        head, sep, tail = raw.partition(":")
        if not sep or not head.strip().isdigit():
            raise AnnotationError(path, n, f"found {raw!r}", "'<id>: <name>'")
        out[int(head)] = tail.strip()
    return out
