"""Ego4D episodic-memory annotation files: natural-language queries (NLQ) and moment queries (MQ).

The official layout (``ego4d_data/v1/annotations/``; Ego4D documentation and EGO4D/episodic-memory):

``nlq_{train,val,test_unannotated}.json``::

    {"version", "date", "description", "manifest",
     "videos": [{"video_uid", "split",
                 "clips": [{"clip_uid", "video_start_sec", "video_end_sec", "video_start_frame", "video_end_frame",
                            "clip_start_sec", "clip_end_sec", ...,
                            "annotations": [{"annotation_uid",
                                             "language_queries": [{"clip_start_sec", "clip_end_sec",
                                                                   "video_start_sec", "video_end_sec",
                                                                   "template", "query", "slot_x", "verb_x",
                                                                   "slot_y", "verb_y", "raw_tags"}]}]}]}]}

``moments_{train,val,test_unannotated}.json``: the same videos / clips nesting, with ``annotations`` of
``{"annotator_uid", "labels": [{"label", "start_time", "end_time", "video_start_time", "video_end_time",
"video_start_frame", "video_end_frame", "primary"}]}``.

Times called ``clip_*`` / ``start_time`` / ``end_time`` are seconds from the clip start; ``video_*`` from the start
of the parent video. The test files have no times. Submissions:

* NLQ: ``{"version": "1.0", "challenge": "ego4d_nlq_challenge", "results": [{"clip_uid", "annotation_uid",
  "query_idx", "predicted_times": [[start, end], ...]}]}`` (windows best first);
* MQ: ``{"version": "1.0", "challenge": "ego4d_moment_queries", "detect_results": {clip_uid: [{"label",
  "segment": [start, end], "score"}]}, "retrieve_results": {...}}``.

Readers return flat, typed rows (:class:`NLQQuery`, :class:`Moment`); errors name the file and the entry.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = [
    "Ego4DFormatError", "NLQQuery", "Moment", "load_annotation_json", "read_nlq", "read_moments",
    "nlq_prediction", "nlq_submission", "mq_submission", "write_ego4d_json", "NLQ_CHALLENGE", "MQ_CHALLENGE",
]

NLQ_CHALLENGE = "ego4d_nlq_challenge"
MQ_CHALLENGE = "ego4d_moment_queries"


class Ego4DFormatError(ValueError):
    """An Ego4D annotation or submission file does not have the official layout (the message says where)."""


@dataclass(frozen=True)
class NLQQuery:
    """One natural-language query: ``language_queries[query_idx]`` of annotation ``annotation_uid`` of a clip.

    Times in clip seconds (``None`` in the unannotated test file); ``clip_duration`` is
    ``video_end_sec - video_start_sec`` of the clip.
    """

    video_uid: str
    clip_uid: str
    annotation_uid: str
    query_idx: int
    query: str
    template: str | None
    clip_start_sec: float | None
    clip_end_sec: float | None
    clip_duration: float
    split: str | None


@dataclass(frozen=True)
class Moment:
    """One moment label of a clip (clip seconds)."""

    video_uid: str
    clip_uid: str
    label: str
    start_time: float
    end_time: float
    primary: bool
    clip_duration: float
    split: str | None


def load_annotation_json(source: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """``(data, name)`` from a path or an already-loaded dict (name is used in error messages)."""
    if isinstance(source, Mapping):
        return dict(source), "<dict>"
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"Ego4D annotation file {path} not found; expected e.g. "
                                "ego4d_data/v1/annotations/nlq_val.json (download with the ego4d CLI)")
    try:
        return json.loads(path.read_text(encoding="utf-8")), str(path)
    except json.JSONDecodeError as err:
        raise Ego4DFormatError(f"{path}: not valid JSON ({err})") from err


def _videos(data: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    if not isinstance(data, Mapping) or not isinstance(data.get("videos"), list):
        raise Ego4DFormatError(f"{name}: expected the official layout {{'videos': [{{'video_uid', 'clips': [...]}}]}}")
    return data["videos"]


def _need(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise Ego4DFormatError(f"{where}: missing '{key}' (has {sorted(d)[:10]})")
    return d[key]


def _duration(clip: Mapping[str, Any]) -> float:
    if "video_start_sec" in clip and "video_end_sec" in clip:
        return float(clip["video_end_sec"]) - float(clip["video_start_sec"])
    return float(clip.get("clip_end_sec", 0.0)) - float(clip.get("clip_start_sec", 0.0))


def read_nlq(source: str | Path | Mapping[str, Any], skip_empty: bool = True) -> list[NLQQuery]:
    """Every language query of an ``nlq_{split}.json`` in file order.

    ``skip_empty``: leave out queries without ``query`` text, as the official VSLNet data preparation does (the
    official evaluation still counts them in its ``num_gt_queries``). ``query_idx`` is the index in
    ``language_queries`` either way, as the submission needs it.
    """
    data, name = load_annotation_json(source)
    rows: list[NLQQuery] = []
    for v, video in enumerate(_videos(data, name)):
        vw = f"{name}: videos[{v}]"
        video_uid = _need(video, "video_uid", vw)
        for c, clip in enumerate(_need(video, "clips", vw)):
            cw = f"{vw}.clips[{c}]"
            clip_uid = _need(clip, "clip_uid", cw)
            for a, ann in enumerate(clip.get("annotations", [])):
                aw = f"{cw}.annotations[{a}]"
                ann_uid = _need(ann, "annotation_uid", aw)
                for q, query in enumerate(_need(ann, "language_queries", aw)):
                    text = query.get("query")
                    if skip_empty and not text:
                        continue
                    start, end = query.get("clip_start_sec"), query.get("clip_end_sec")
                    if (start is None) != (end is None):
                        raise Ego4DFormatError(f"{aw}.language_queries[{q}]: has only one of clip_start_sec / "
                                               "clip_end_sec")
                    rows.append(NLQQuery(
                        video_uid=video_uid, clip_uid=clip_uid, annotation_uid=ann_uid, query_idx=q,
                        query=text or "", template=query.get("template"),
                        clip_start_sec=None if start is None else float(start),
                        clip_end_sec=None if end is None else float(end),
                        clip_duration=_duration(clip), split=video.get("split")))
    return rows


def read_moments(source: str | Path | Mapping[str, Any], primary_only: bool = True) -> list[Moment]:
    """Every moment label of a ``moments_{split}.json`` in file order (only ``primary`` labels by default, as
    ``MQ/Convert_annotation.py`` keeps them)."""
    data, name = load_annotation_json(source)
    rows: list[Moment] = []
    for v, video in enumerate(_videos(data, name)):
        vw = f"{name}: videos[{v}]"
        video_uid = _need(video, "video_uid", vw)
        for c, clip in enumerate(_need(video, "clips", vw)):
            cw = f"{vw}.clips[{c}]"
            clip_uid = _need(clip, "clip_uid", cw)
            for a, ann in enumerate(clip.get("annotations", [])):
                for k, lab in enumerate(_need(ann, "labels", f"{cw}.annotations[{a}]")):
                    lw = f"{cw}.annotations[{a}].labels[{k}]"
                    primary = bool(lab.get("primary", True))
                    if primary_only and not primary:
                        continue
                    rows.append(Moment(video_uid, clip_uid, str(_need(lab, "label", lw)),
                                       float(_need(lab, "start_time", lw)), float(_need(lab, "end_time", lw)),
                                       primary, _duration(clip), video.get("split")))
    return rows


def nlq_prediction(query: NLQQuery, windows: Sequence[Sequence[float]]) -> dict[str, Any]:
    """One entry of the NLQ submission's ``results``: ``windows`` ``[K, 2]`` clip seconds, best first."""
    return {"clip_uid": query.clip_uid, "annotation_uid": query.annotation_uid, "query_idx": int(query.query_idx),
            "predicted_times": [[float(s), float(e)] for s, e in windows]}


def nlq_submission(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The NLQ challenge file around a ``results`` list (what ``evaluate_ego4d_nlq.py`` checks)."""
    return {"version": "1.0", "challenge": NLQ_CHALLENGE, "results": list(results)}


def mq_submission(detect_results: Mapping[str, Sequence[Mapping[str, Any]]],
                  retrieve_results: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> dict[str, Any]:
    """The MQ challenge file (``Merge_detection_retrieval.py``): ``{clip_uid: [{"label", "segment", "score"}]}``
    for detection and for retrieval (the same predictions when ``retrieve_results`` is None)."""
    return {"version": "1.0", "challenge": MQ_CHALLENGE, "detect_results": dict(detect_results),
            "retrieve_results": dict(detect_results if retrieve_results is None else retrieve_results)}


def write_ego4d_json(path: str | Path, obj: Mapping[str, Any]) -> Path:
    """Write an annotation or submission dict as compact JSON (as the released files are)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, separators=(",", ":")), encoding="utf-8")
    return path
