"""Parsers of the real annotation formats (pure: text in, records out; no video is opened).

    read_video_list      VideoMAE / mmaction lists ``path label`` (space separated; VideoMAE's ``.csv``);
                         mmaction multi-label lists ``path label label ...`` with ``multi_label=True``
    read_rawframe_list   mmaction rawframe lists ``frame_dir total_frames label`` (``with_offset=True``:
                         ``frame_dir offset total_frames label``; ``multi_label=True``: several labels)
    read_kinetics_csv    official Kinetics ``label,youtube_id,time_start,time_end,split`` (test: no label)
    read_ssv2_labels / read_ssv2_json   Something-Something v2 labels JSON and train/validation/test JSON
    read_msrvtt_json     MSR-VTT ``videodatainfo.json`` (other video-text and QA formats, MSR-VTT 1k-A
                         included: :mod:`.video_text_formats`, :mod:`.video_qa_formats`)
    read_activitynet_json  ActivityNet v1.3 JSON (segments in seconds)
    read_ava_csv / read_ava_excluded / read_ava_label_map   AVA CSV, excluded timestamps, pbtxt / ``id: name``
                         (the one AVA CSV reader: the metric helpers of :mod:`internvideo_core.eval.detection`
                         call it too; a UTF-8 byte-order mark and CRLF line ends are accepted)
    read_ava_proposals   AVA dense proposals ``.pkl`` (``{"video,%04d": float32 [N, 4 or 5]}``, restricted
                         unpickling)
    read_class_names     one class name per line

Every malformed line raises :class:`AnnotationError` naming the file, the line (or JSON entry), what was
found and what was expected. Relative video paths are joined to ``root`` when given. A list line never
becomes a path glued from a name and numbers: integer columns beyond those of the format are either read
(``with_offset``, ``multi_label``) or rejected with the formats that are accepted. Subset / split filters
match case-insensitively (THUMOS14 JSON says ``Validation``) and raise, listing the subsets present, when
nothing matches.
"""
from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

__all__ = [
    "AnnotationError", "VideoRecord", "CaptionRecord", "QARecord", "TemporalRecord", "AVARow", "AVADetection",
    "read_class_names", "read_video_list", "read_rawframe_list", "read_kinetics_csv", "read_ssv2_labels",
    "read_ssv2_json", "read_msrvtt_json", "read_activitynet_json",
    "activitynet_rows", "read_ava_csv", "read_ava_excluded", "read_ava_label_map", "read_ava_proposals",
    "read_ava_rows", "read_ava_excluded_list",
    "KINETICS_TEMPLATE",
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
    """A trimmed video with a class: ``path`` (file or frame folder), ``label`` (-1 = unlabelled, or several
    labels), ``num_frames`` (rawframe lists), ``video_id``, ``start``/``end`` seconds (Kinetics CSV),
    ``offset`` (first frame of the clip inside its folder, mmaction ``with_offset`` lists: frame files are
    numbered ``start_index + offset + i``) and ``labels`` (multi-label lists: every label of the line, and
    ``label`` is -1; empty for single-label records)."""

    path: str
    label: int
    num_frames: int | None = None
    video_id: str = ""
    start: float | None = None
    end: float | None = None
    offset: int = 0
    labels: tuple[int, ...] = ()


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


_INT_TOKEN = re.compile(r"[+-]?[0-9]+")


def _list_lines(path: PathLike) -> Iterator[tuple[int, str]]:
    """``(line number, stripped line)`` of a space-separated list, skipping blank and ``#`` lines."""
    for n, raw in enumerate(_lines(path), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield n, line


def _split_list_line(line: str) -> tuple[str, list[str]]:
    """``(path, trailing integer columns)``: the first field is always (part of) the path, even when it is a
    number (SSv2 folders ``74225``); the path may contain spaces, the integer columns are the maximal run of
    integer fields at the end of the line."""
    tokens = line.split()
    k = 0
    while k < len(tokens) - 1 and _INT_TOKEN.fullmatch(tokens[-1 - k]):
        k += 1
    if k == 0:
        return line, []
    parts = line.rsplit(None, k)
    return parts[0], parts[1:]


def _list_columns(path: PathLike, n: int, line: str, roles: Sequence[str], multi_label: bool, expected: str,
                  formats: str) -> tuple[str, list[str]]:
    """Path and integer columns of one list line whose format has the integer columns ``roles`` (at least
    those when ``multi_label``). Too few columns (or a non-integer where one is needed) and, without
    ``multi_label``, too many raise :class:`AnnotationError` naming the accepted ``formats``."""
    need = len(roles)
    rel, ints = _split_list_line(line)
    if len(ints) < need:
        parts = line.rsplit(None, need)
        if len(parts) == need + 1:
            for role, text in zip(roles, parts[1:]):
                if not _INT_TOKEN.fullmatch(text):
                    raise AnnotationError(path, n, f"{role} {text!r} is not an integer", expected)
        raise AnnotationError(path, n, f"found {line!r}", expected)
    if len(ints) > need and not multi_label:
        raise AnnotationError(path, n, f"found {len(ints)} integer columns after {rel!r} in {line!r}, the format "
                              f"has {need}", formats)
    return rel, ints


def _int(path: PathLike, line: int | str, text: str, what: str, expected: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise AnnotationError(path, line, f"{what} {text!r} is not an integer", expected) from None


_SUBSET_ALIASES = ({"train", "training"}, {"val", "validate", "validation"}, {"test", "testing"})


def _matching_subsets(path: PathLike, wanted: str, present: Iterable[str], what: str = "subset") -> set[str]:
    """The values of ``present`` (a file's subset / split names) that ``wanted`` selects: the same name ignoring
    case (THUMOS14 JSON writes ``Validation``, ActivityNet ``validation``), else a usual alias (``val`` ->
    ``validate`` / ``validation``, ``train`` -> ``training``, ``test`` -> ``testing``). Nothing matching raises
    :class:`AnnotationError` listing the subsets present (a filter that silently yields no video hides a typo)."""
    names = set(present)
    key = wanted.strip().casefold()
    hit = {v for v in names if v.casefold() == key}
    if not hit:
        group = next((g for g in _SUBSET_ALIASES if key in g), {key})
        hit = {v for v in names if v.casefold() in group}
    if not hit:
        listed = ", ".join(repr(v) for v in sorted(names)) or "none"
        raise AnnotationError(path, None, f"no entry has {what} {wanted!r}",
                              f"one of the {what}s present in the file ({listed}), or no filter")
    return hit


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
_LIST_FORMATS = ("one of the accepted list formats: '<video path> <label>' (read_video_list), "
                 "'<video path> <label> <label> ...' (read_video_list(..., multi_label=True)), "
                 "'<frame_dir> <total_frames> <label>' (read_rawframe_list, or a dataset with frame_template), "
                 "'<frame_dir> <offset> <total_frames> <label>' (read_rawframe_list(..., with_offset=True)); "
                 "a path that ends in a space and a number is not supported")


def _check_label(path: PathLike, n: int, label: int, num_classes: int | None) -> None:
    if label < 0 or (num_classes is not None and label >= num_classes):
        bound = f"0..{num_classes - 1}" if num_classes else ">= 0"
        raise AnnotationError(path, n, f"label {label} out of range", f"a label index {bound}")


def read_video_list(path: PathLike, root: PathLike | None = None, num_classes: int | None = None,
                    multi_label: bool = False) -> list[VideoRecord]:
    """VideoMAE / mmaction video list: one ``path label`` per line, space separated (the path may itself
    contain spaces: the label is the last field). ``num_classes`` checks ``0 <= label < num_classes``.

    ``multi_label=True`` reads mmaction's multi-label lists ``path label label ...`` (``labels`` holds them,
    ``label`` is -1). Without it a line with more integer columns (a rawframe list ``dir 300 2``, a multi-label
    line) raises :class:`AnnotationError`: it is never read as a path ``"dir 300"``."""
    expected = ("'<video path> <label index> <label index> ...' (space separated)" if multi_label
                else "'<video path> <label index>' (space separated)")
    out = []
    for n, line in _list_lines(path):
        rel, ints = _list_columns(path, n, line, ("label",), multi_label, expected, _LIST_FORMATS)
        labels = [_int(path, n, t, "label", expected) for t in ints]
        for label in labels:
            _check_label(path, n, label, num_classes)
        if multi_label:
            out.append(VideoRecord(_join(root, rel), -1, video_id=Path(rel).stem, labels=tuple(labels)))
        else:
            out.append(VideoRecord(_join(root, rel), labels[0], video_id=Path(rel).stem))
    return out


def read_rawframe_list(path: PathLike, root: PathLike | None = None, with_offset: bool = False,
                       multi_label: bool = False, num_classes: int | None = None) -> list[VideoRecord]:
    """mmaction rawframe list (SSv2, Kinetics rawframes): ``frame_dir total_frames label`` per line.

    ``with_offset=True``: ``frame_dir offset total_frames label`` (mmaction's ``with_offset``: the clip's frames
    are ``offset + 1 ... offset + total_frames`` of the folder; ``offset`` is kept in the record).
    ``multi_label=True``: several labels after the frame count (``labels``; ``label`` is -1). A line with more
    integer columns than the chosen format raises :class:`AnnotationError` naming the accepted formats (the
    two variants cannot be told apart from the line alone: ``dir 10 40 3`` is an offset line or a two-label
    line)."""
    head = "'<frame folder> <offset> <number of frames>" if with_offset else "'<frame folder> <number of frames>"
    expected = head + (" <label index> <label index> ...'" if multi_label else " <label index>'") + " (space separated)"
    roles = ("offset", "number of frames", "label") if with_offset else ("number of frames", "label")
    need = len(roles)
    out = []
    for n, line in _list_lines(path):
        rel, ints = _list_columns(path, n, line, roles, multi_label, expected, _LIST_FORMATS)
        offset = _int(path, n, ints[0], "offset", expected) if with_offset else 0
        frames = _int(path, n, ints[need - 2], "number of frames", expected)
        labels = [_int(path, n, t, "label", expected) for t in ints[need - 1:]]
        if frames < 1:
            raise AnnotationError(path, n, f"number of frames {frames}", "at least 1 frame")
        if offset < 0:
            raise AnnotationError(path, n, f"offset {offset}", "an offset >= 0")
        if num_classes is not None or multi_label:
            for label in labels:
                _check_label(path, n, label, num_classes)
        out.append(VideoRecord(_join(root, rel), -1 if multi_label else labels[0], num_frames=frames,
                               video_id=Path(rel).name, offset=offset, labels=tuple(labels) if multi_label else ()))
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
    (or val), test (any case), or None for all; a split no video has raises, listing the splits present."""
    data = _load_json(path)
    if not isinstance(data, dict) or "videos" not in data or "sentences" not in data:
        raise AnnotationError(path, None, "missing 'videos' or 'sentences'",
                              'an object {"videos": [...], "sentences": [...]}')
    caps: dict[str, list[str]] = {}
    for i, s in enumerate(data["sentences"]):
        if not isinstance(s, dict) or "video_id" not in s or "caption" not in s:
            raise AnnotationError(path, f"sentences[{i}]", f"found {s!r}", 'an object with "video_id" and "caption"')
        caps.setdefault(str(s["video_id"]), []).append(str(s["caption"]))
    for i, v in enumerate(data["videos"]):
        if not isinstance(v, dict) or "video_id" not in v:
            raise AnnotationError(path, f"videos[{i}]", f"found {v!r}", 'an object with "video_id" and "split"')
    keep = None if split is None else _matching_subsets(path, split, (str(v.get("split", "")) for v in data["videos"]),
                                                        "split")
    out = []
    for v in data["videos"]:
        vsplit = str(v.get("split", ""))
        if keep is None or vsplit in keep:
            out.append(CaptionRecord(str(v["video_id"]), vsplit, tuple(caps.get(str(v["video_id"]), ()))))
    return out


# ------------------------------------------------------------------------------------------ ActivityNet
def read_activitynet_json(path: PathLike, subset: str | None = None) -> list[TemporalRecord]:
    """ActivityNet v1.3 JSON ``{"database": {id: {"subset", "duration", "annotations": [{"segment": [s, e],
    "label"}]}}}`` (``duration_second`` accepted too; THUMOS14 in this layout too). ``subset``: training,
    validation, testing (any case: THUMOS14 says ``Validation`` / ``Test``; ``val`` / ``train`` / ``test`` also
    work) or None for all; a subset no video has raises, listing the subsets present."""
    data = _load_json(path)
    db = data.get("database") if isinstance(data, dict) else None
    if not isinstance(db, dict):
        raise AnnotationError(path, None, "no 'database' object", '{"database": {video_id: {...}}}')
    for vid, entry in db.items():
        if not isinstance(entry, dict):
            raise AnnotationError(path, f"database[{vid!r}]", f"found {entry!r}",
                                  'an object with "subset", "duration", "annotations"')
    keep = None if subset is None else _matching_subsets(path, subset, (str(e.get("subset", "")) for e in db.values()))
    out = []
    for vid, entry in db.items():
        where = f"database[{vid!r}]"
        if keep is not None and str(entry.get("subset", "")) not in keep:
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
