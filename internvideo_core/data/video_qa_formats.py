"""Readers of the open-ended video QA annotations used by InternVideo-MM's downstream evaluation.

    read_videoqa_json     MSRVTT-QA / MSVD-QA ``{train,val,test}_qa.json``: a list of ``{"question", "answer",
                          "video_id" | "video", "id"}``; JSON lines (All-in-one's ``*.jsonl``) accepted too
    read_msrvtt_qa_json   MSRVTT-QA: integer video ids ``N`` -> ``"videoN"`` (the MSR-VTT file name)
    read_msvd_qa          MSVD-QA: integer video ids ``N`` -> ``"vidN"`` -> YouTube clip name via ``youtube_mapping.txt``
    read_youtube_mapping  ``youtube_mapping.txt``: ``<youtube clip name> vid<N>`` per line
    read_tgif_frameqa     TGIF-QA FrameQA ``{Train,Test}_frameqa_question.csv`` (tab separated, with a header)

All return :class:`~internvideo_core.data.annotations.QARecord` s in file order. ``type`` is filled where the
dataset has one (TGIF FrameQA: object / number / color / location; a ``"type"`` field in a JSON entry); the
MSRVTT-QA / MSVD-QA question types (what, who, how, when, where) are the question's first word:
:func:`internvideo_core.eval.qa.question_type`. Malformed entries raise
:class:`~internvideo_core.data.annotations.AnnotationError` (file, entry or line, what was expected).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from internvideo_core.data.annotations import AnnotationError, QARecord

__all__ = ["TGIF_FRAMEQA_TYPES", "read_videoqa_json", "read_msrvtt_qa_json", "read_msvd_qa", "read_youtube_mapping",
           "read_tgif_frameqa"]
PathLike = str | os.PathLike

#: TGIF-QA FrameQA ``type`` column 0..3 (the TGIF-QA dataset README; same as the COCO-QA question generator).
TGIF_FRAMEQA_TYPES = ("object", "number", "color", "location")
_VIDEO_EXT = re.compile(r"\.(mp4|avi|webm|mkv|mov|gif)$", re.I)


def _text(path: PathLike) -> str:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"annotation file not found: {p}")
    return p.read_text(encoding="utf-8-sig")


def _entries(path: PathLike) -> list[tuple[str, Any]]:
    """``(location, entry)`` of a JSON list, or of a JSON-lines file (one object per line)."""
    text = _text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if e.msg != "Extra data":
            raise AnnotationError(path, e.lineno, f"invalid JSON ({e.msg}, column {e.colno})",
                                  "a JSON list of question objects or one JSON object per line") from None
        out = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append((f"line {n}", json.loads(line)))
            except json.JSONDecodeError as err:
                raise AnnotationError(path, n, f"invalid JSON line ({err.msg}, column {err.colno})",
                                      "one JSON object per line") from None
        return out
    if not isinstance(data, list):
        raise AnnotationError(path, None, f"top level is {type(data).__name__}", "a list of question objects")
    return [(f"entry {i}", e) for i, e in enumerate(data)]


def _int_like(x: Any) -> int | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, str) and x.strip().isdigit():
        return int(x)
    return None


def read_videoqa_json(path: PathLike, int_prefix: str = "video",
                      mapping: dict[str, str] | None = None) -> list[QARecord]:
    """Open-ended video QA JSON (MSRVTT-QA / MSVD-QA release layout, or All-in-one JSON lines).

    Each entry needs string ``question`` and ``answer`` and a video: ``video_id`` (an integer ``N`` becomes
    ``f"{int_prefix}{N}"``; a string is kept) or ``video`` (a file name; the extension is dropped). ``mapping``
    (optional) renames the resulting ids (MSVD-QA ``vidN`` -> YouTube clip name); an id that is neither a key nor
    already a value of ``mapping`` raises. ``qid`` is the entry's integer ``id`` or else its position; ``type`` a
    ``"type"`` field when present.
    """
    values = set(mapping.values()) if mapping else set()
    out = []
    for pos, (where, q) in enumerate(_entries(path)):
        expected = 'an object with string "question", "answer" and a "video_id" (int or str) or "video"'
        if not isinstance(q, dict) or not isinstance(q.get("question"), str) or not isinstance(q.get("answer"), str):
            raise AnnotationError(path, where, f"found {q!r:.200}", expected)
        raw = q.get("video_id", q.get("video"))
        number = _int_like(raw) if "video_id" in q else None
        if number is not None:
            vid = f"{int_prefix}{number}"
        elif isinstance(raw, str) and raw.strip():
            vid = _VIDEO_EXT.sub("", Path(raw.strip()).name) if "video_id" not in q else raw.strip()
        else:
            raise AnnotationError(path, where, f"video {raw!r}", expected)
        if mapping is not None:
            if vid in mapping:
                vid = mapping[vid]
            elif vid not in values:
                raise AnnotationError(path, where, f"video {vid!r} is not in the video-name mapping",
                                      "a video listed in youtube_mapping.txt")
        qid = _int_like(q.get("id"))
        qtype = q.get("type", "")
        out.append(QARecord(pos if qid is None else qid, vid, q["question"], q["answer"],
                            "" if qtype is None else str(qtype)))
    return out


def read_msrvtt_qa_json(path: PathLike) -> list[QARecord]:
    """MSRVTT-QA ``{train,val,test}_qa.json``: integer ``video_id`` ``N`` -> ``"videoN"`` (``videoN.mp4``)."""
    return read_videoqa_json(path, int_prefix="video")


def read_youtube_mapping(path: PathLike) -> dict[str, str]:
    """MSVD ``youtube_mapping.txt``: ``<youtube clip name> vid<N>`` per line (space separated) ->
    ``{"vidN": "<youtube clip name>"}`` (the clip name is the MSVD video file name without ``.avi``)."""
    out: dict[str, str] = {}
    for n, raw in enumerate(_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.split()
        if len(parts) != 2 or not re.fullmatch(r"vid\d+", parts[1]):
            raise AnnotationError(path, n, f"found {raw!r}", "'<youtube clip name> vid<N>' (e.g. '-4wsuPCjDBc_5_15 vid1')")
        if parts[1] in out:
            raise AnnotationError(path, n, f"{parts[1]} is mapped twice", "each vid<N> once")
        out[parts[1]] = parts[0]
    return out


def read_msvd_qa(path: PathLike, youtube_mapping: PathLike | dict[str, str] | None = None) -> list[QARecord]:
    """MSVD-QA ``{train,val,test}_qa.json``: integer ``video_id`` ``N`` -> ``"vidN"``; with ``youtube_mapping``
    (``youtube_mapping.txt`` or its dict) -> the YouTube clip name, i.e. the MSVD file ``<name>.avi``."""
    mapping = (read_youtube_mapping(youtube_mapping) if isinstance(youtube_mapping, (str, os.PathLike))
               else youtube_mapping)
    return read_videoqa_json(path, int_prefix="vid", mapping=mapping)


def read_tgif_frameqa(path: PathLike) -> list[QARecord]:
    """TGIF-QA FrameQA ``{Train,Test}_frameqa_question.csv``: tab separated with a header naming the columns.

    The released files have ``gif_name, question, answer, type, vid_id, key, description``; columns are found by
    name, so other orders work. Needed: ``gif_name`` (-> ``video_id``; the file is ``gifs/<gif_name>.gif``),
    ``question``, ``answer``; ``type`` 0..3 becomes :data:`TGIF_FRAMEQA_TYPES`. Fields are split on tabs only (no
    quote handling). ``qid`` is the 0-based row index (``key`` is a caption key and repeats across questions).
    """
    lines = _text(path).splitlines()
    header = [h.strip() for h in lines[0].split("\t")] if lines else []
    need = ("gif_name", "question", "answer")
    if not set(need) <= set(header):
        raise AnnotationError(path, 1, f"header {header}",
                              "a tab-separated header with gif_name, question, answer (and type, vid_id, key, ...)")
    col = {h: i for i, h in enumerate(header)}
    out = []
    for n, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        parts = raw.split("\t")
        if len(parts) != len(header):
            raise AnnotationError(path, n, f"{len(parts)} tab-separated fields", f"{len(header)} fields {header}")
        gif, question, answer = (parts[col[k]].strip() for k in need)
        if not gif or not question or not answer:
            raise AnnotationError(path, n, f"empty gif_name, question or answer in {parts[:3]}", "all three non-empty")
        qtype = ""
        if "type" in col:
            t = parts[col["type"]].strip()
            if t not in ("0", "1", "2", "3"):
                raise AnnotationError(path, n, f"type {t!r}", "0, 1, 2 or 3 (object, number, color, location)")
            qtype = TGIF_FRAMEQA_TYPES[int(t)]
        out.append(QARecord(len(out), gif, question, answer, qtype))
    return out
