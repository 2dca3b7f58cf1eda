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
    AVA (CSV, excluded timestamps, label maps, dense proposals): :mod:`.ava_annotations`
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
from typing import Any, Iterable, Iterator, Sequence

__all__ = [
    "AnnotationError", "VideoRecord", "CaptionRecord", "QARecord", "TemporalRecord",
    "read_class_names", "read_json", "read_video_list", "read_rawframe_list", "read_kinetics_csv", "read_ssv2_labels",
    "read_ssv2_json", "read_msrvtt_json", "read_activitynet_json",
    "activitynet_rows",
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


def read_json(path: PathLike) -> Any:
    """A JSON annotation file (UTF-8, byte-order mark accepted); :class:`FileNotFoundError` or
    :class:`AnnotationError` naming the file and line when it is missing or not JSON."""
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
    data = read_json(path)
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
    data = read_json(path)
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
    data = read_json(path)
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
    data = read_json(path)
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
