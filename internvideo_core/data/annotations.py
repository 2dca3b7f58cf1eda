"""Parsers of the real annotation formats (pure: text in, records out; no video is opened).

    read_video_list      VideoMAE / mmaction lists ``path label`` (space separated; VideoMAE's ``.csv``)
    read_rawframe_list   mmaction rawframe lists ``frame_dir num_frames label``
    read_kinetics_csv    official Kinetics ``label,youtube_id,time_start,time_end,split`` (test: no label)
    read_ssv2_labels / read_ssv2_json   Something-Something v2 labels JSON and train/validation/test JSON
    read_msrvtt_json     MSR-VTT ``videodatainfo.json`` (other video-text and QA formats, MSR-VTT 1k-A
                         included: :mod:`.video_text_formats`, :mod:`.video_qa_formats`)
    read_activitynet_json  ActivityNet v1.3 JSON (segments in seconds)
    read_ava_csv / read_ava_excluded / read_ava_label_map   AVA CSV, excluded timestamps, pbtxt / ``id: name``
    read_class_names     one class name per line

Every malformed line raises :class:`AnnotationError` naming the file, the line (or JSON entry), what was
found and what was expected. Relative video paths are joined to ``root`` when given.
"""
from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Sequence

__all__ = [
    "AnnotationError", "VideoRecord", "CaptionRecord", "QARecord", "TemporalRecord", "AVARow", "AVADetection",
    "read_class_names", "read_video_list", "read_rawframe_list", "read_kinetics_csv", "read_ssv2_labels",
    "read_ssv2_json", "read_msrvtt_json", "read_activitynet_json",
    "activitynet_rows", "read_ava_csv", "read_ava_excluded", "read_ava_label_map", "KINETICS_TEMPLATE",
]

KINETICS_TEMPLATE = "{youtube_id}_{time_start:06d}_{time_end:06d}.mp4"
PathLike = str | os.PathLike


class AnnotationError(ValueError):
    """A malformed annotation: ``path``, ``line`` (1-based, or a JSON location), ``problem``, ``expected``."""

    def __init__(self, path: PathLike, line: int | str | None, problem: str, expected: str) -> None:
        self.path, self.line, self.problem, self.expected = str(path), line, problem, expected
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}; expected {expected}")


# --------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class VideoRecord:
    """A trimmed video with a class: ``path`` (file or frame folder), ``label`` (-1 = unlabelled),
    ``num_frames`` (rawframe lists), ``video_id``, ``start``/``end`` seconds (Kinetics CSV)."""

    path: str
    label: int
    num_frames: int | None = None
    video_id: str = ""
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class CaptionRecord:
    """A video with its captions (MSR-VTT): ``video_id``, ``split``, ``captions``."""

    video_id: str
    split: str
    captions: tuple[str, ...]


@dataclass(frozen=True)
class QARecord:
    """One question about a video (MSRVTT-QA). ``video_id`` is normalised to ``"video<N>"`` for ints."""

    qid: int
    video_id: str
    question: str
    answer: str
    type: str = ""


@dataclass(frozen=True)
class TemporalRecord:
    """An untrimmed video: ``segments`` = ``((start_s, end_s, label), ...)`` in seconds."""

    video_id: str
    subset: str
    duration: float
    segments: tuple[tuple[float, float, str], ...]


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


# --------------------------------------------------------------------------------------------- helpers
def _lines(path: PathLike) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"annotation file not found: {p}")
    return p.read_text(encoding="utf-8-sig").splitlines()


def _join(root: PathLike | None, rel: str) -> str:
    if root is None or os.path.isabs(rel):
        return rel
    return os.path.join(str(root), rel)


def _fields(path: PathLike, count: int, expected: str) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each line of a space-separated list, skipping blank and ``#`` lines.

    A line is split from the right into ``count`` fields (the first, a path, may contain spaces); a line
    with fewer raises :class:`AnnotationError` with ``expected``.
    """
    for n, raw in enumerate(_lines(path), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rsplit(None, count - 1)
        if len(parts) != count:
            raise AnnotationError(path, n, f"found {line!r}", expected)
        yield n, parts


def _int(path: PathLike, line: int | str, text: str, what: str, expected: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise AnnotationError(path, line, f"{what} {text!r} is not an integer", expected) from None


def _load_json(path: PathLike) -> Any:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"annotation file not found: {p}")
    try:
        return json.loads(p.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as e:
        raise AnnotationError(path, e.lineno, f"invalid JSON ({e.msg}, column {e.colno})", "a JSON document") from None


def read_class_names(path: PathLike) -> list[str]:
    """Class names, one per line (index = line number among non-empty lines)."""
    return [ln.strip() for ln in _lines(path) if ln.strip()]


# ---------------------------------------------------------------------------------- classification lists
def read_video_list(path: PathLike, root: PathLike | None = None, num_classes: int | None = None) -> list[VideoRecord]:
    """VideoMAE / mmaction video list: one ``path label`` per line, space separated (the path may itself
    contain spaces: the label is the last field). ``num_classes`` checks ``0 <= label < num_classes``."""
    expected = "'<video path> <label index>' (space separated)"
    out = []
    for n, parts in _fields(path, 2, expected):
        label = _int(path, n, parts[1], "label", expected)
        if label < 0 or (num_classes is not None and label >= num_classes):
            bound = f"0..{num_classes - 1}" if num_classes else ">= 0"
            raise AnnotationError(path, n, f"label {label} out of range", f"a label index {bound}")
        out.append(VideoRecord(_join(root, parts[0]), label, video_id=Path(parts[0]).stem))
    return out


def read_rawframe_list(path: PathLike, root: PathLike | None = None) -> list[VideoRecord]:
    """mmaction rawframe list (SSv2, Kinetics rawframes): ``frame_dir num_frames label`` per line."""
    expected = "'<frame folder> <number of frames> <label index>' (space separated)"
    out = []
    for n, parts in _fields(path, 3, expected):
        frames = _int(path, n, parts[1], "number of frames", expected)
        label = _int(path, n, parts[2], "label", expected)
        if frames < 1:
            raise AnnotationError(path, n, f"number of frames {frames}", "at least 1 frame")
        out.append(VideoRecord(_join(root, parts[0]), label, num_frames=frames, video_id=Path(parts[0]).name))
    return out


def read_kinetics_csv(path: PathLike, classes: Sequence[str] | None = None, video_dir: PathLike | None = None,
                      template: str = KINETICS_TEMPLATE) -> list[VideoRecord]:
    """Official Kinetics CSV with a header ``label,youtube_id,time_start,time_end,split`` (the test CSV has no
    ``label`` column: labels are -1). ``classes``: class names (index = label; default: the sorted set of
    labels in the file, the usual convention). Video paths follow ``template`` under ``video_dir``, with
    fields ``youtube_id, time_start, time_end, split, label, label_underscore``."""
    rows = list(csv.reader(_lines(path)))
    if not rows:
        raise AnnotationError(path, 1, "empty file", "a header 'label,youtube_id,time_start,time_end,split'")
    header = [h.strip() for h in rows[0]]
    need = {"youtube_id", "time_start", "time_end"}
    if not need <= set(header):
        raise AnnotationError(path, 1, f"header {header}", "columns label,youtube_id,time_start,time_end,split")
    col = {h: i for i, h in enumerate(header)}
    labelled = "label" in col
    names = [r[col["label"]] for r in rows[1:] if len(r) == len(header)] if labelled else []
    index = {c: i for i, c in enumerate(classes if classes is not None else sorted(set(names)))}
    out = []
    for n, r in enumerate(rows[1:], start=2):
        if not r or not "".join(r).strip():
            continue
        if len(r) != len(header):
            raise AnnotationError(path, n, f"{len(r)} columns {r}", f"{len(header)} columns {header}")
        start = _int(path, n, r[col["time_start"]], "time_start", "integer seconds")
        end = _int(path, n, r[col["time_end"]], "time_end", "integer seconds")
        name = r[col["label"]] if labelled else ""
        if labelled and name not in index:
            raise AnnotationError(path, n, f"unknown class {name!r}", f"one of the {len(index)} given class names")
        fields = {"youtube_id": r[col["youtube_id"]], "time_start": start, "time_end": end,
                  "split": r[col["split"]] if "split" in col else "", "label": name,
                  "label_underscore": name.replace(" ", "_")}
        rel = template.format(**fields)
        out.append(VideoRecord(_join(video_dir, rel), index[name] if labelled else -1,
                               video_id=fields["youtube_id"], start=float(start), end=float(end)))
    return out


# ------------------------------------------------------------------------------------------------ SSv2
def read_ssv2_labels(path: PathLike) -> dict[str, int]:
    """SSv2 labels JSON ``{"Approaching something with your camera": "0", ...}`` -> ``{name: index}``."""
    data = _load_json(path)
    if not isinstance(data, dict):
        raise AnnotationError(path, None, f"top level is {type(data).__name__}", 'an object {"template": "index"}')
    out = {}
    for name, idx in data.items():
        out[name] = _int(path, f"[{name!r}]", str(idx), "index", 'a string or integer index')
    return out


def read_ssv2_json(path: PathLike, labels: dict[str, int] | PathLike | None = None,
                   video_dir: PathLike | None = None, ext: str = ".webm") -> list[VideoRecord]:
    """SSv2 ``something-something-v2-{train,validation,test}.json``: a list of ``{"id", "label", "template",
    "placeholders"}``. The class is the template without brackets looked up in ``labels`` (entries without a
    template, as in the test JSON, get -1). Videos are ``video_dir/<id><ext>``."""
    table = read_ssv2_labels(labels) if isinstance(labels, (str, os.PathLike)) else labels
    data = _load_json(path)
    if not isinstance(data, list):
        raise AnnotationError(path, None, f"top level is {type(data).__name__}", 'a list of {"id", "template", ...}')
    out = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or "id" not in entry:
            raise AnnotationError(path, f"entry {i}", f"found {entry!r}", 'an object with an "id"')
        label = -1
        if "template" in entry and table is not None:
            key = str(entry["template"]).replace("[", "").replace("]", "")
            if key not in table:
                raise AnnotationError(path, f"entry {i}", f"template {entry['template']!r} not in the labels JSON",
                                      "a template listed in something-something-v2-labels.json")
            label = table[key]
        vid = str(entry["id"])
        out.append(VideoRecord(_join(video_dir, vid + ext), label, video_id=vid))
    return out


# ------------------------------------------------------------------------------------ video and language
def read_msrvtt_json(path: PathLike, split: str | None = None) -> list[CaptionRecord]:
    """MSR-VTT ``videodatainfo.json``: ``{"videos": [{"video_id", "split"}], "sentences": [{"video_id",
    "caption"}]}`` -> one record per video (file order) with all its captions. ``split``: train, validate
    (or val), test, or None for all."""
    data = _load_json(path)
    if not isinstance(data, dict) or "videos" not in data or "sentences" not in data:
        raise AnnotationError(path, None, "missing 'videos' or 'sentences'",
                              'an object {"videos": [...], "sentences": [...]}')
    want = {"val": "validate"}.get(split or "", split)
    caps: dict[str, list[str]] = {}
    for i, s in enumerate(data["sentences"]):
        if not isinstance(s, dict) or "video_id" not in s or "caption" not in s:
            raise AnnotationError(path, f"sentences[{i}]", f"found {s!r}", 'an object with "video_id" and "caption"')
        caps.setdefault(str(s["video_id"]), []).append(str(s["caption"]))
    out = []
    for i, v in enumerate(data["videos"]):
        if not isinstance(v, dict) or "video_id" not in v:
            raise AnnotationError(path, f"videos[{i}]", f"found {v!r}", 'an object with "video_id" and "split"')
        vsplit = str(v.get("split", ""))
        if want is None or vsplit == want:
            out.append(CaptionRecord(str(v["video_id"]), vsplit, tuple(caps.get(str(v["video_id"]), ()))))
    return out


# ------------------------------------------------------------------------------------------ ActivityNet
def read_activitynet_json(path: PathLike, subset: str | None = None) -> list[TemporalRecord]:
    """ActivityNet v1.3 JSON ``{"database": {id: {"subset", "duration", "annotations": [{"segment": [s, e],
    "label"}]}}}`` (``duration_second`` accepted too). ``subset``: training, validation, testing or None."""
    data = _load_json(path)
    db = data.get("database") if isinstance(data, dict) else None
    if not isinstance(db, dict):
        raise AnnotationError(path, None, "no 'database' object", '{"database": {video_id: {...}}}')
    out = []
    for vid, entry in db.items():
        where = f"database[{vid!r}]"
        if not isinstance(entry, dict):
            raise AnnotationError(path, where, f"found {entry!r}", 'an object with "subset", "duration", "annotations"')
        if subset is not None and entry.get("subset") != subset:
            continue
        duration = entry.get("duration", entry.get("duration_second"))
        if not isinstance(duration, (int, float)) or duration <= 0:
            raise AnnotationError(path, where, f"duration {duration!r}", "a positive number of seconds")
        segs = []
        for j, ann in enumerate(entry.get("annotations", [])):
            seg = ann.get("segment") if isinstance(ann, dict) else None
            if (not isinstance(seg, (list, tuple)) or len(seg) != 2 or "label" not in ann
                    or not all(isinstance(x, (int, float)) for x in seg) or seg[1] < seg[0]):
                raise AnnotationError(path, f"{where}.annotations[{j}]", f"found {ann!r}",
                                      '{"segment": [start_s, end_s] with start <= end, "label": name}')
            segs.append((float(seg[0]), float(seg[1]), str(ann["label"])))
        out.append(TemporalRecord(str(vid), str(entry.get("subset", "")), float(duration), tuple(segs)))
    return out


def activitynet_rows(records: Sequence[TemporalRecord]) -> list[tuple[str, float, float, str]]:
    """Ground-truth rows ``(video, start, end, label)`` for :func:`~internvideo_core.eval.localization.tal_map`."""
    return [(r.video_id, s, e, lab) for r in records for s, e, lab in r.segments]


# ------------------------------------------------------------------------------------------------- AVA
def read_ava_csv(path: PathLike, detections: bool = False) -> list[AVARow] | list[AVADetection]:
    """AVA CSV ``video_id,timestamp,x1,y1,x2,y2,action_id,person_id`` (normalised boxes; 7 columns allowed
    without a person id). ``detections=True`` reads result files whose 8th column is a score."""
    expected = ("'video_id,timestamp,x1,y1,x2,y2,action_id,score'" if detections
                else "'video_id,timestamp,x1,y1,x2,y2,action_id,person_id'")
    out: list[Any] = []
    for n, r in enumerate(csv.reader(_lines(path)), start=1):
        if not r or not "".join(r).strip():
            continue
        if len(r) not in ((8,) if detections else (7, 8)):
            raise AnnotationError(path, n, f"{len(r)} columns {r}", expected)
        try:
            ts = int(float(r[1]))
            box = tuple(float(x) for x in r[2:6])
        except ValueError:
            raise AnnotationError(path, n, f"non-numeric timestamp or box in {r}", expected) from None
        if not all(-0.01 <= b <= 1.01 for b in box) or box[2] < box[0] or box[3] < box[1]:
            raise AnnotationError(path, n, f"box {box}", "normalised coordinates 0..1 with x1 <= x2 and y1 <= y2")
        action = _int(path, n, r[6], "action_id", expected)
        if detections:
            try:
                score = float(r[7])
            except ValueError:
                raise AnnotationError(path, n, f"score {r[7]!r}", expected) from None
            out.append(AVADetection(r[0], ts, *box, action, score))
        else:
            pid = _int(path, n, r[7], "person_id", expected) if len(r) == 8 else -1
            out.append(AVARow(r[0], ts, *box, action, pid))
    return out


def read_ava_excluded(path: PathLike) -> set[tuple[str, int]]:
    """AVA excluded timestamps ``video_id,timestamp`` per line -> ``{(video_id, timestamp)}``."""
    out = set()
    for n, r in enumerate(csv.reader(_lines(path)), start=1):
        if not r or not "".join(r).strip():
            continue
        if len(r) != 2:
            raise AnnotationError(path, n, f"{len(r)} columns {r}", "'video_id,timestamp'")
        out.add((r[0], _int(path, n, r[1].strip(), "timestamp", "'video_id,timestamp' (integer seconds)")))
    return out


_PBTXT_ITEM = re.compile(r"item\s*\{(.*?)\}", re.S)


def read_ava_label_map(path: PathLike) -> dict[int, str]:
    """AVA label map: the official pbtxt (``item { name: "..." id: N }``) or an ``id: name`` list."""
    text = Path(path).read_text(encoding="utf-8") if Path(path).is_file() else None
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
