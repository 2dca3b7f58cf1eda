"""Readers of the video-text retrieval annotations used by InternVideo-MM's downstream evaluation.

The layouts and orders follow the official retrieval code (``InternVideo1/Downstream/Video-Text-Retrieval``,
CLIP4Clip lineage: ``dataloaders/dataloader_*_retrieval.py``) and the datasets' releases:

    read_msrvtt_1ka         ``MSRVTT_JSFUSION_test.csv`` (``key,vid_key,video_id,sentence``), 1000 texts <-> 1000 videos
    read_msrvtt_train       ``MSRVTT_train.9k.csv`` / ``MSRVTT_train.7k.csv`` (column ``video_id``) + ``MSRVTT_data.json``
    read_msrvtt_full        ``MSRVTT_data.json`` / ``videodatainfo.json`` videos of one ``split`` (full test: 2990 x 20)
    read_msrvtt_mc          ``msrvtt_mc_test.jsonl`` multiple choice (``qid, clip_name, options, answer``)
    read_msvd               ``raw-captions.pkl`` (safe unpickling) + ``{train,val,test}_list.txt``
    read_lsmdc              ``LSMDC16_annos_{training,val}.csv``, ``LSMDC16_challenge_1000_publictect.csv`` (TSV)
    read_didemo             ``{train,val,test}_data.json`` (+ ``*_list.txt``): one paragraph per video
    read_activitynet_paragraphs  ``train.json`` / ``val_1.json`` (+ ``train_ids.json`` / ``val_ids.json``)
    read_vatex              ``vatex_training_v1.0.json`` / ``vatex_validation_v1.0.json`` (+ ``*_list.txt``)

Every reader returns :class:`~internvideo_core.data.annotations.CaptionRecord` s, **one per retrieval text** (a
caption, or a whole paragraph for DiDeMo / ActivityNet), in the order the official code enumerates them; a video
with several captions appears in several records. :func:`retrieval_index` turns them into the texts, the video
gallery and the ``text_to_video`` mapping of :func:`internvideo_core.eval.retrieval.retrieval_metrics`
(``None`` for 1:1 data, which selects the official 1:1 metric path); :func:`group_by_video` gives one record per
video with all its captions (the layout of :class:`~internvideo_core.data.datasets.CaptionDataset`).

Malformed lines or entries raise :class:`~internvideo_core.data.annotations.AnnotationError` naming the file, the
line or entry, what was found and what was expected. Video files are not opened here.
"""
from __future__ import annotations

import csv
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from internvideo_core.data.annotations import AnnotationError, CaptionRecord, _matching_subsets
from internvideo_core.data.safe_pickle import restricted_load

__all__ = [
    "RetrievalIndex", "retrieval_index", "group_by_video", "read_id_list", "read_raw_captions_pkl",
    "MultipleChoiceItem", "read_msrvtt_mc", "read_msrvtt_1ka", "read_msrvtt_train", "read_msrvtt_full", "read_msvd", "read_lsmdc", "read_didemo",
    "read_activitynet_paragraphs", "read_vatex",
]
PathLike = str | os.PathLike


# --------------------------------------------------------------------------------------------- helpers
def _text(path: PathLike) -> str:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"annotation file not found: {p}")
    return p.read_text(encoding="utf-8-sig")


def _json(path: PathLike) -> Any:
    text = _text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AnnotationError(path, e.lineno, f"invalid JSON ({e.msg}, column {e.colno})", "a JSON document") from None


def _split_of(path: PathLike, split: str | None) -> str:
    """``split`` if given, else guessed from the file name (train / val / test, '' if unknown)."""
    if split is not None:
        return split
    name = Path(path).name.lower()
    for key, value in (("train", "train"), ("val", "val"), ("test", "test"), ("publictect", "test")):
        if key in name:
            return value
    return ""


def _is_str_list(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(s, str) for s in x)


def read_id_list(path: PathLike) -> list[str]:
    """Split list ``*_list.txt``: one video id per line (surrounding white space and blank lines ignored).
    A repeated id raises (it would silently duplicate captions and break the text -> video mapping)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(_text(path).splitlines(), start=1):
        vid = raw.strip()
        if not vid:
            continue
        if vid in seen:
            raise AnnotationError(path, n, f"video id {vid!r} repeats line {seen[vid]}", "each video id once")
        seen[vid] = n
        out.append(vid)
    return out


# ------------------------------------------------------------------------------------- retrieval index
@dataclass(frozen=True)
class RetrievalIndex:
    """Texts and video gallery of a retrieval split.

    ``texts`` ``[num_texts]`` (rows of ``sim``), ``video_ids`` ``[num_videos]`` (columns, first-appearance order),
    ``text_to_video`` ``[num_texts]`` video index of every text, or ``None`` when text ``i`` belongs to video ``i``
    (1:1, the official MSR-VTT 1k-A / DiDeMo / ActivityNet / LSMDC protocol). Pass it straight on:
    ``retrieval_metrics(sim, text_to_video=index.text_to_video)``.
    """

    texts: list[str]
    video_ids: list[str]
    text_to_video: list[int] | None


def retrieval_index(records: Sequence[CaptionRecord], multi_caption: bool | None = None) -> RetrievalIndex:
    """Texts, video gallery and text -> video mapping of caption records (one or several captions each).

    ``multi_caption``: ``None`` decides from the data (1:1 when every video has exactly one text, in gallery
    order); ``True`` forces the multi-caption mapping (the official MSVD / VATEX path, even if a video has one
    caption); ``False`` requires 1:1 data and raises otherwise.
    """
    texts: list[str] = []
    video_ids: list[str] = []
    position: dict[str, int] = {}
    t2v: list[int] = []
    for rec in records:
        if rec.video_id not in position:
            position[rec.video_id] = len(video_ids)
            video_ids.append(rec.video_id)
        texts.extend(rec.captions)
        t2v.extend([position[rec.video_id]] * len(rec.captions))
    one_to_one = t2v == list(range(len(video_ids)))
    if multi_caption is False and not one_to_one:
        raise ValueError(f"{len(texts)} texts for {len(video_ids)} videos are not 1:1 (text i <-> video i); "
                         "use multi_caption=None or True")
    multi = (not one_to_one) if multi_caption is None else multi_caption
    return RetrievalIndex(texts, video_ids, t2v if multi else None)


def group_by_video(records: Iterable[CaptionRecord]) -> list[CaptionRecord]:
    """One record per video (first-appearance order) with all its captions in order; split of the first."""
    merged: dict[str, tuple[str, list[str]]] = {}
    for rec in records:
        merged.setdefault(rec.video_id, (rec.split, []))[1].extend(rec.captions)
    return [CaptionRecord(vid, split, tuple(caps)) for vid, (split, caps) in merged.items()]


# ---------------------------------------------------------------------------------------------- MSR-VTT
def _csv_rows(path: PathLike, required: Sequence[str]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    rows = list(csv.reader(_text(path).splitlines()))
    header = [h.strip() for h in rows[0]] if rows else []
    if not set(required) <= set(header):
        raise AnnotationError(path, 1, f"header {header}", f"a header with columns {', '.join(required)}")
    body = [(n, r) for n, r in enumerate(rows[1:], start=2) if r and "".join(r).strip()]
    for n, r in body:
        if len(r) != len(header):
            raise AnnotationError(path, n, f"{len(r)} columns {r}", f"{len(header)} columns {header}")
    return header, body


def read_msrvtt_1ka(path: PathLike, split: str = "test") -> list[CaptionRecord]:
    """MSR-VTT 1k-A test (``MSRVTT_JSFUSION_test.csv``, header ``key,vid_key,video_id,sentence``, comma separated,
    quoted fields allowed): one record per row, in file order (``ret0, ret1, ...``: text ``i`` <-> video ``i``)."""
    header, body = _csv_rows(path, ("video_id", "sentence"))
    vcol, scol = header.index("video_id"), header.index("sentence")
    out = []
    for n, r in body:
        if not r[vcol].strip() or not r[scol].strip():
            raise AnnotationError(path, n, f"empty video_id or sentence in {r}", "a video id like 'video7579' and a sentence")
        out.append(CaptionRecord(r[vcol].strip(), split, (r[scol],)))
    return out


def _msrvtt_data(path: PathLike) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    data = _json(path)
    if not isinstance(data, dict) or not isinstance(data.get("sentences"), list):
        raise AnnotationError(path, None, "no 'sentences' list", '{"videos": [...], "sentences": [{"video_id", "caption"}]}')
    for i, s in enumerate(data["sentences"]):
        if not isinstance(s, dict) or not isinstance(s.get("video_id"), str) or not isinstance(s.get("caption"), str):
            raise AnnotationError(path, f"sentences[{i}]", f"found {s!r}", 'an object with string "video_id" and "caption"')
    videos = data.get("videos", [])
    if not isinstance(videos, list):
        raise AnnotationError(path, "videos", f"found {type(videos).__name__}", 'a list of {"video_id", "split", ...}')
    return videos, data["sentences"]


def read_msrvtt_train(csv_path: PathLike, data_json: PathLike, split: str = "train") -> list[CaptionRecord]:
    """MSR-VTT training split: video ids from ``MSRVTT_train.9k.csv`` (9000 videos, 1k-A protocol) or
    ``MSRVTT_train.7k.csv`` (7010 = train + validate, full protocol), header with a ``video_id`` column; captions
    from ``MSRVTT_data.json`` ``sentences``. One record per caption in the JSON's sentence order (the official
    ``--expand_msrvtt_sentences`` enumeration: 180k / 140k pairs). Every listed video needs a caption."""
    header, body = _csv_rows(csv_path, ("video_id",))
    col = header.index("video_id")
    wanted = {r[col].strip() for _, r in body}
    _, sentences = _msrvtt_data(data_json)
    out = [CaptionRecord(s["video_id"], split, (s["caption"],)) for s in sentences if s["video_id"] in wanted]
    missing = sorted(wanted - {r.video_id for r in out})
    if missing:
        raise AnnotationError(csv_path, None, f"{len(missing)} listed videos have no caption in {data_json} "
                              f"(first: {missing[:3]})", "the MSRVTT_data.json that ships with this split CSV")
    return out


def read_msrvtt_full(data_json: PathLike, split: str = "test") -> list[CaptionRecord]:
    """Videos of one official split (``train``, ``validate`` or ``test``; ``val`` = ``validate``) of
    ``MSRVTT_data.json`` / ``videodatainfo.json`` (any case; a split no video has raises, listing the splits
    present) with all their captions: one record per caption, videos in
    ``videos`` order, captions in ``sentences`` order. ``split="test"`` is the full-protocol test set (2990 videos
    x 20 captions, multi-caption retrieval)."""
    videos, sentences = _msrvtt_data(data_json)
    caps: dict[str, list[str]] = {}
    for s in sentences:
        caps.setdefault(s["video_id"], []).append(s["caption"])
    for i, v in enumerate(videos):
        if not isinstance(v, dict) or not isinstance(v.get("video_id"), str) or "split" not in v:
            raise AnnotationError(data_json, f"videos[{i}]", f"found {v!r}",
                                  'an object with "video_id" and "split" (train / validate / test)')
    keep = _matching_subsets(data_json, split, (str(v["split"]) for v in videos), "split")
    out = []
    for i, v in enumerate(videos):
        if str(v["split"]) not in keep:
            continue
        if v["video_id"] not in caps:
            raise AnnotationError(data_json, f"videos[{i}]", f"video {v['video_id']!r} has no sentence",
                                  "at least one caption per video")
        out.extend(CaptionRecord(v["video_id"], split, (c,)) for c in caps[v["video_id"]])
    return out


@dataclass(frozen=True)
class MultipleChoiceItem:
    """One multiple-choice question: the video ``video_id``, its candidate sentences ``options`` (one is true)
    and ``answer``, the index of the true one in ``options``."""

    qid: str
    video_id: str
    options: tuple[str, ...]
    answer: int


def read_msrvtt_mc(path: PathLike) -> list[MultipleChoiceItem]:
    """MSR-VTT multiple choice (JSFusion's 2990 test questions) as the official video-language code reads it:
    ``msrvtt_mc_test.jsonl``, one JSON object per line ``{"qid", "clip_name": "video7010", "options": [5
    sentences], "answer": index of the true sentence}`` (InternVideo's and All-in-one's ``MSRVTTChoiceDataset``
    load it with ``pandas.read_json(lines=True)``, ClipBERT with ``int(answer)``, so a numeric string answer is
    accepted). Items in file order; blank lines skipped."""
    expected = '{"qid", "clip_name": video id, "options": [sentence, ...], "answer": index into options}'
    out = []
    for n, raw in enumerate(_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            e = json.loads(raw)
        except json.JSONDecodeError as err:
            raise AnnotationError(path, n, f"invalid JSON ({err.msg}, column {err.colno})",
                                  "one JSON object per line (JSON lines)") from None
        if (not isinstance(e, dict) or not isinstance(e.get("clip_name"), str) or not _is_str_list(e.get("options"))
                or len(e["options"]) < 2 or "answer" not in e):
            raise AnnotationError(path, n, f"found {raw.strip()[:200]!r}", expected)
        ans = e["answer"]
        if isinstance(ans, bool) or not (isinstance(ans, int) or (isinstance(ans, str) and ans.strip().isdigit())):
            raise AnnotationError(path, n, f"answer {ans!r} is not an integer", expected)
        ans = int(ans)
        if not 0 <= ans < len(e["options"]):
            raise AnnotationError(path, n, f"answer {ans} out of range for {len(e['options'])} options",
                                  f"an index 0..{len(e['options']) - 1}")
        out.append(MultipleChoiceItem(str(e.get("qid", len(out))), e["clip_name"], tuple(e["options"]), ans))
    return out


# ------------------------------------------------------------------------------------------------- MSVD
def read_raw_captions_pkl(path: PathLike) -> dict[str, list[str]]:
    """``raw-captions.pkl`` (MSVD, Collaborative-Experts format): ``{video_id: [[token, ...], ...]}`` ->
    ``{video_id: ["token token ...", ...]}`` (tokens joined by one space, as CLIP4Clip does; a caption stored as
    a plain string is kept). Unpickled with a restricted loader allowing only builtin containers and strings."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"annotation file not found: {p}")
    expected = "a pickle of {video_id: [[token, ...], ...]} made of dict/list/str only"
    with p.open("rb") as f:
        try:
            data = restricted_load(f)
        except (pickle.UnpicklingError, EOFError, UnicodeDecodeError, ValueError, TypeError) as e:
            raise AnnotationError(path, None, f"cannot unpickle safely ({e})", expected) from None
    if not isinstance(data, dict):
        raise AnnotationError(path, None, f"top level is {type(data).__name__}", expected)
    out: dict[str, list[str]] = {}
    for vid, caps in data.items():
        if not isinstance(vid, str) or not isinstance(caps, (list, tuple)):
            raise AnnotationError(path, f"[{vid!r}]", f"found {type(caps).__name__}", expected)
        texts = []
        for j, cap in enumerate(caps):
            if not isinstance(cap, str) and not _is_str_list(cap):
                raise AnnotationError(path, f"[{vid!r}][{j}]", f"found {cap!r}", "a list of string tokens")
            texts.append(cap if isinstance(cap, str) else " ".join(cap))
        out[vid] = texts
    return out


def read_msvd(captions_pkl: PathLike, split_list: PathLike, split: str | None = None) -> list[CaptionRecord]:
    """MSVD retrieval split: videos of ``{train,val,test}_list.txt`` in list order, each with all its captions
    from ``raw-captions.pkl`` (one record per caption; about 40 per video, multi-caption retrieval). A listed
    video without captions raises, as in the official loader."""
    captions = read_raw_captions_pkl(captions_pkl)
    name = _split_of(split_list, split)
    out = []
    for vid in read_id_list(split_list):
        if not captions.get(vid):
            raise AnnotationError(split_list, None, f"video {vid!r} has no captions in {captions_pkl}",
                                  "every listed video to be a key of raw-captions.pkl")
        out.extend(CaptionRecord(vid, name, (c,)) for c in captions[vid])
    return out


# ------------------------------------------------------------------------------------------------ LSMDC
def read_lsmdc(path: PathLike, split: str | None = None) -> list[CaptionRecord]:
    """LSMDC 2016 TSV: ``clip_id \\t start_aligned \\t end_aligned \\t start_extracted \\t end_extracted \\t
    sentence`` (column names as in the official loader's comment; times are not parsed). One record per line in
    file order; a clip id may have several lines in the training file. The InternVideo loader further keeps only
    clips whose video file exists (and drops 100 training clips at positions 58200-58299); filter the records
    yourself if you need that."""
    name = _split_of(path, split)
    out = []
    for n, raw in enumerate(_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 6 or not parts[0].strip() or not parts[5].strip():
            raise AnnotationError(path, n, f"{len(parts)} tab-separated fields {parts[:6]}",
                                  "6 fields: clip_id, start_aligned, end_aligned, start_extracted, end_extracted, sentence")
        out.append(CaptionRecord(parts[0].strip(), name, (parts[5],)))
    return out


# ----------------------------------------------------------------------------------------------- DiDeMo
def read_didemo(path: PathLike, split_list: PathLike | None = None, split: str | None = None) -> list[CaptionRecord]:
    """DiDeMo ``{train,val,test}_data.json`` (a list of ``{"video", "description", "times", ...}``) for paragraph
    retrieval: the descriptions of each video joined by one space in file order (as CLIP4Clip), one record per
    video in order of first appearance, restricted to ``split_list`` ids when given. ``times`` is not used."""
    data = _json(path)
    if not isinstance(data, list):
        raise AnnotationError(path, None, f"top level is {type(data).__name__}", 'a list of {"video", "description", ...}')
    paragraphs: dict[str, list[str]] = {}
    for i, e in enumerate(data):
        if not isinstance(e, dict) or not isinstance(e.get("video"), str) or not isinstance(e.get("description"), str):
            raise AnnotationError(path, f"entry {i}", f"found {e!r}", 'an object with string "video" and "description"')
        paragraphs.setdefault(e["video"], []).append(e["description"])
    keep = None if split_list is None else set(read_id_list(split_list))
    name = _split_of(path, split)
    return [CaptionRecord(v, name, (" ".join(d),)) for v, d in paragraphs.items() if keep is None or v in keep]


# -------------------------------------------------------------------------------- ActivityNet Captions
def read_activitynet_paragraphs(path: PathLike, ids_json: PathLike | None = None,
                                split: str | None = None) -> list[CaptionRecord]:
    """ActivityNet Captions ``train.json`` / ``val_1.json`` (``{"v_xxx": {"duration", "timestamps",
    "sentences"}}``) for paragraph-to-video retrieval: each video's sentences joined by one space (kept verbatim,
    leading spaces included, as CLIP4Clip). Order: ``train_ids.json`` / ``val_ids.json`` (a JSON list of ids,
    duplicates dropped, ids without captions skipped, as officially) or the JSON's key order. Video ids keep
    their ``v_`` prefix, which is the video file name (``v_xxx.mp4``)."""
    data = _json(path)
    if not isinstance(data, dict):
        raise AnnotationError(path, None, f"top level is {type(data).__name__}", '{"v_id": {"duration", "sentences", ...}}')
    paragraphs: dict[str, str] = {}
    for vid, e in data.items():
        where = f"[{vid!r}]"
        if not isinstance(e, dict) or not _is_str_list(e.get("sentences")) or not e["sentences"]:
            raise AnnotationError(path, where, f"found {e!r:.200}", 'an object with a non-empty "sentences" list of strings')
        duration = e.get("duration", 1.0)
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration <= 0:
            raise AnnotationError(path, where, f"duration {duration!r}", "a positive number of seconds")
        paragraphs[vid] = " ".join(e["sentences"])
    order: Iterable[str] = paragraphs
    if ids_json is not None:
        ids = _json(ids_json)
        if not _is_str_list(ids):
            raise AnnotationError(ids_json, None, f"found {type(ids).__name__}", 'a JSON list of video ids ["v_...", ...]')
        order = dict.fromkeys(ids)
    name = _split_of(path, split)
    return [CaptionRecord(v, name, (paragraphs[v],)) for v in order if v in paragraphs]


# ------------------------------------------------------------------------------------------------ VATEX
def read_vatex(path: PathLike, split_list: PathLike | None = None, split: str | None = None,
               language: str = "en") -> list[CaptionRecord]:
    """VATEX ``vatex_training_v1.0.json`` / ``vatex_validation_v1.0.json``: a list of ``{"videoID", "enCap": [10],
    "chCap": [10]}``. One record per caption (``language="en"``: ``enCap``, ``"zh"``: ``chCap``), videos in
    ``split_list`` order when given (ids missing from the JSON are skipped, as officially: many YouTube videos
    are gone), else JSON order. ``videoID`` is ``<youtube id>_<start>_<end>``."""
    key = {"en": "enCap", "zh": "chCap"}.get(language)
    if key is None:
        raise ValueError(f"language must be 'en' or 'zh', got {language!r}")
    data = _json(path)
    if not isinstance(data, list):
        raise AnnotationError(path, None, f"top level is {type(data).__name__}", f'a list of {{"videoID", "{key}"}}')
    captions: dict[str, list[str]] = {}
    for i, e in enumerate(data):
        if not isinstance(e, dict) or not isinstance(e.get("videoID"), str) or not _is_str_list(e.get(key)):
            raise AnnotationError(path, f"entry {i}", f"found {e!r:.200}", f'an object with "videoID" and a "{key}" list of strings')
        captions[e["videoID"]] = list(e[key])
    order = list(captions) if split_list is None else read_id_list(split_list)
    name = _split_of(path, split)
    return [CaptionRecord(v, name, (c,)) for v in order if v in captions for c in captions[v]]
