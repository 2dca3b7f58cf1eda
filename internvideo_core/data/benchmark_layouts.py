"""Where each benchmark keeps its files, and how the official evaluation groups and samples its videos.

Used by the ``eval-retrieval`` / ``eval-mc`` / ``eval-qa`` commands; every annotation goes through the kit's
readers (:mod:`.video_text_formats`, :mod:`.video_qa_formats`). Default file names are those of the official
data folders (``InternVideo1/Downstream/Video-Text-Retrieval`` CLIP4Clip layout); a lower-case copy (SynthMotion
writes ``msrvtt_jsfusion_test.csv``) is found too, and every file can be given explicitly.

Retrieval frame sampling, as the official dataloaders' decord path (``_get_rawvideo_dec``) computes it
(:func:`retrieval_frame_indices`): candidate frames every ``round(fps / feature_framerate)`` frames from the
first to the last frame (one per second with ``--feature_framerate 1``); if more than ``max_frames``,
``max_frames`` of them at ``np.linspace(0, len - 1, max_frames).astype(int)``; if fewer, all of them and the
clip is **padded with zero frames** (zeros after normalisation) up to ``max_frames``, and the official video
tower encodes those padding frames too (the video mask only affects the mean pooling of its single output
token). Frames are resized (short side, bicubic on PIL images) to 224 and centre-cropped to 224, CLIP mean/std.
The ActivityNet loader reads the whole video (``0 .. ceil(duration)`` s) through ``RawVideoExtractor`` (cv2, the
frame at every whole second), which picks the same frames up to rounding of ``sec * fps``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .annotations import AnnotationError, CaptionRecord
from .video_text_formats import (MultipleChoiceItem, RetrievalIndex, read_activitynet_paragraphs, read_didemo,
                                 read_lsmdc, read_msrvtt_1ka, read_msrvtt_full, read_msrvtt_mc, read_msvd,
                                 read_vatex, retrieval_index)

__all__ = ["RETRIEVAL_DATASETS", "RetrievalSplit", "find_file", "resolve_video", "load_retrieval_split",
           "retrieval_frame_indices", "downstream_frame_indices", "read_lsmdc_mc", "load_mc_split",
           "VIDEO_EXTENSIONS", "ZEROSHOT_LABELS",
           "prompt_name", "read_labelled_videos", "QA_DATASETS", "load_qa_split"]

PathLike = str | os.PathLike
VIDEO_EXTENSIONS = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".gif", "")

#: dataset -> multi-caption test set?, video extensions tried in order, paragraph-level videos?, and the seconds
#: of video the official loader reads (``None``: all; DiDeMo: ``0 .. 31`` s, its ``end = [31]`` "trick", since
#: the annotations cover the first 30 s; the DiDeMo videos are the original name + ``.mp4``).
RETRIEVAL_DATASETS: dict[str, dict] = {
    "msrvtt": {"multi_caption": False, "exts": (".mp4",), "paragraph": False, "max_seconds": None},
    "msvd": {"multi_caption": True, "exts": (".avi", ".mp4"), "paragraph": False, "max_seconds": None},
    "lsmdc": {"multi_caption": False, "exts": (".avi", ".mp4"), "paragraph": False, "max_seconds": None},
    "didemo": {"multi_caption": False, "exts": VIDEO_EXTENSIONS, "paragraph": True, "max_seconds": 31},
    "activitynet": {"multi_caption": False, "exts": (".mp4", ".mkv", ".webm"), "paragraph": True,
                    "max_seconds": None},
    "vatex": {"multi_caption": True, "exts": (".mp4",), "paragraph": False, "max_seconds": None},
}


def find_file(root: PathLike, names: Sequence[str], what: str) -> Path:
    """The first of ``names`` under ``root`` (exact, then case-insensitive); raises naming all candidates."""
    root = Path(root)
    for name in names:
        if (root / name).is_file():
            return root / name
    lower = {p.name.lower(): p for p in root.iterdir()} if root.is_dir() else {}
    for name in names:
        if name.lower() in lower and lower[name.lower()].is_file():
            return lower[name.lower()]
    raise FileNotFoundError(f"{what}: none of {list(names)} under {root}; give the file explicitly "
                            f"(see --help) or point --data-root at the dataset folder")


def resolve_video(video_dir: PathLike, video_id: str, exts: Sequence[str] = VIDEO_EXTENSIONS) -> Path:
    """``video_dir/<id><ext>`` for the first existing extension, else ``video_dir/<movie>/<id><ext>`` (LSMDC
    keeps clips in one folder per movie: the id up to its last ``_``), else ``video_dir/<split>/<id><ext>``
    for ``train`` / ``val`` / ``test`` sub-folders. Raises listing what was tried."""
    base = Path(video_dir)
    folders = [base]
    if "_" in video_id:
        folders.append(base / video_id[:video_id.rfind("_")])
    folders += [base / s for s in ("test", "val", "train")]
    tried = []
    for folder in folders:
        for ext in exts:
            p = folder / f"{video_id}{ext}"
            tried.append(str(p))
            if p.is_file():
                return p
    raise FileNotFoundError(f"video {video_id!r} not found; tried {tried[:6]}{' ...' if len(tried) > 6 else ''}. "
                            "Set --video-dir to the folder holding the videos")


@dataclass(frozen=True)
class RetrievalSplit:
    """A retrieval test set: ``index`` (texts, video ids, ``text_to_video`` or ``None`` for 1:1) and the
    annotation files it came from."""

    dataset: str
    index: RetrievalIndex
    annotations: tuple[str, ...]


def load_retrieval_split(dataset: str, data_root: PathLike, annotation: PathLike | None = None,
                         split_list: PathLike | None = None, full: bool = False) -> RetrievalSplit:
    """The official test split of a retrieval benchmark.

    Default files under ``data_root`` (official names; give ``annotation`` / ``split_list`` to override):

    ========== =========================================================== =====================================
    msrvtt     ``MSRVTT_JSFUSION_test.csv`` (1k-A, 1000 x 1:1); ``full``:  ``MSRVTT_data.json`` split ``test``
    msvd       ``raw-captions.pkl`` + ``test_list.txt``                    multi-caption (about 40 per video)
    lsmdc      ``LSMDC16_challenge_1000_publictect.csv``                   1000 x 1:1
    didemo     ``test_data.json`` (+ ``test_list.txt`` if present)         paragraph per video, 1:1
    activitynet ``val_1.json`` + ``val_ids.json``                          paragraph per video, 1:1
    vatex      ``vatex_validation_v1.0.json`` + ``test_list.txt`` (ids)   multi-caption (10 per video)
    ========== =========================================================== =====================================
    """
    if dataset not in RETRIEVAL_DATASETS:
        raise ValueError(f"unknown retrieval dataset {dataset!r}; choose from {sorted(RETRIEVAL_DATASETS)}")
    root = Path(data_root)
    ann = Path(annotation) if annotation else None
    lst = Path(split_list) if split_list else None
    records: list[CaptionRecord]
    if dataset == "msrvtt":
        if full:
            ann = ann or find_file(root, ["MSRVTT_data.json", "videodatainfo.json"], "MSR-VTT captions JSON")
            records = read_msrvtt_full(ann, "test")
        else:
            ann = ann or find_file(root, ["MSRVTT_JSFUSION_test.csv"], "MSR-VTT 1k-A test CSV")
            records = read_msrvtt_1ka(ann)
    elif dataset == "msvd":
        ann = ann or find_file(root, ["raw-captions.pkl"], "MSVD captions pickle")
        lst = lst or find_file(root, ["test_list.txt"], "MSVD test list")
        records = read_msvd(ann, lst, "test")
    elif dataset == "lsmdc":
        ann = ann or find_file(root, ["LSMDC16_challenge_1000_publictect.csv"], "LSMDC test TSV")
        records = read_lsmdc(ann, "test")
    elif dataset == "didemo":
        ann = ann or find_file(root, ["test_data.json"], "DiDeMo test JSON")
        if lst is None and (root / "test_list.txt").is_file():
            lst = root / "test_list.txt"
        records = read_didemo(ann, lst, "test")
    elif dataset == "activitynet":
        ann = ann or find_file(root, ["val_1.json"], "ActivityNet Captions val_1.json")
        if lst is None and (root / "val_ids.json").is_file():
            lst = root / "val_ids.json"
        records = read_activitynet_paragraphs(ann, lst, "val")
    else:  # vatex
        ann = ann or find_file(root, ["vatex_validation_v1.0.json", "vatex_validation_v1.0_ceph.json"],
                               "VATEX validation JSON")
        if lst is None and (root / "test_list.txt").is_file():
            lst = root / "test_list.txt"
        records = read_vatex(ann, lst, "test")
    if not records:
        raise AnnotationError(ann, None, "no test texts", "at least one video with a caption in the split")
    multi = True if RETRIEVAL_DATASETS[dataset]["multi_caption"] or full else None
    index = retrieval_index(records, multi_caption=multi)
    files = tuple(str(p) for p in (ann, lst) if p is not None)
    return RetrievalSplit(dataset, index, files)


def retrieval_frame_indices(num_frames: int, fps: float, max_frames: int,
                            feature_framerate: float = 1.0) -> tuple[np.ndarray, int]:
    """Frames the official retrieval loaders feed the model: ``(indices [k], number of zero padding frames)``.

    ``stride = round(fps / int(feature_framerate))`` (at least 1); candidates ``0, stride, ... <= num_frames - 1``;
    more than ``max_frames`` -> ``linspace(0, len - 1, max_frames).astype(int)`` of them; fewer -> all, and
    ``max_frames - k`` zero frames follow (see the module docstring).
    """
    if num_frames < 1:
        raise ValueError(f"the video has no frames (num_frames={num_frames})")
    rate = int(feature_framerate)
    if rate < 1:
        raise ValueError(f"feature_framerate must be >= 1 frame per second, got {feature_framerate}")
    stride = max(1, int(round(float(fps if fps > 0 else rate) / rate)))
    candidates = np.arange(0, num_frames, stride)
    if len(candidates) > max_frames:
        candidates = candidates[np.linspace(0, len(candidates) - 1, num=max_frames, dtype=int)]
    return candidates.astype(np.int64), max_frames - len(candidates)


def downstream_frame_indices(num_frames: int, count: int = 8) -> np.ndarray:
    """Frames of the official multi-modal downstream loaders (zero-shot recognition, multiple choice, QA:
    ``CoTrain/datasets/video/video_base_dataset.py``, ``sample_frames(..., sample="uniform")`` in val/test):
    ``min(count, num_frames)`` segments with edges ``linspace(0, num_frames, k + 1).astype(int)`` and the middle
    frame ``(start + end - 1) // 2`` of each. A video shorter than ``count`` frames gives fewer frames (as
    officially)."""
    if num_frames < 1:
        raise ValueError(f"the video has no frames (num_frames={num_frames})")
    k = min(count, num_frames)
    edges = np.linspace(0, num_frames, k + 1).astype(int)
    return ((edges[:-1] + edges[1:] - 1) // 2).astype(np.int64)


# ------------------------------------------------------------------------------------------ multiple choice
def read_lsmdc_mc(path: PathLike) -> list[MultipleChoiceItem]:
    """LSMDC multiple choice ``LSMDC16_multiple_choice_test_randomized.csv`` (LSMDC 2016 release, tab separated,
    no header): ``CLIP_ID, START_ALIGNED, END_ALIGNED, START_EXTRACTED, END_EXTRACTED, SENTENCE1 .. SENTENCE5,
    ANSWER_INDEX`` with a **1-based** answer (1..5), as the challenge README states; the official loaders read
    ``options = row[5:10]`` and ``answer = row[10] - 1``. ``qid`` is the 0-based row index. (One version of the
    InternVideo loader skips three clips whose videos are broken; keep them or drop them yourself.)"""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"annotation file not found: {p}")
    out = []
    expected = "11 tab-separated fields: clip_id, 4 time stamps, 5 sentences, the 1-based answer index"
    for n, raw in enumerate(p.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.rstrip("\r\n").split("\t")
        if len(parts) != 11 or not parts[0].strip():
            raise AnnotationError(p, n, f"{len(parts)} fields {parts[:3]}", expected)
        ans = parts[10].strip()
        if not ans.isdigit() or not 1 <= int(ans) <= 5:
            raise AnnotationError(p, n, f"answer {ans!r}", "an integer 1..5 (1-based index of the true sentence)")
        out.append(MultipleChoiceItem(str(len(out)), parts[0].strip(), tuple(parts[5:10]), int(ans) - 1))
    return out


def load_mc_split(dataset: str, data_root: PathLike, annotation: PathLike | None = None
                  ) -> tuple[list[MultipleChoiceItem], str]:
    """``(items, annotation path)`` of ``msrvtt`` (``msrvtt_mc_test.jsonl``) or ``lsmdc``
    (``LSMDC16_multiple_choice_test_randomized.csv``) multiple choice."""
    root = Path(data_root)
    if dataset == "msrvtt":
        ann = Path(annotation) if annotation else find_file(root, ["msrvtt_mc_test.jsonl"], "MSR-VTT MC JSONL")
        return read_msrvtt_mc(ann), str(ann)
    if dataset == "lsmdc":
        ann = Path(annotation) if annotation else find_file(
            root, ["LSMDC16_multiple_choice_test_randomized.csv"], "LSMDC multiple-choice CSV")
        return read_lsmdc_mc(ann), str(ann)
    raise ValueError(f"unknown multiple-choice dataset {dataset!r}; choose msrvtt or lsmdc")


# ------------------------------------------------------------------------------------------- zero-shot
#: dataset -> class list in data/labels
ZEROSHOT_LABELS = {"k400": "kinetics400", "k600": "kinetics600", "k700": "kinetics700", "ucf101": "ucf101",
                   "hmdb51": "hmdb51"}


def prompt_name(name: str) -> str:
    """Class name as prompt text: underscores to spaces, UCF101 CamelCase split (``ApplyEyeMakeup`` ->
    ``apply eye makeup``), surrounding quotes and white space removed."""
    import re

    name = str(name).strip().strip('"').replace("_", " ")
    if " " not in name and re.search(r"[a-z][A-Z]", name):
        name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()
    return " ".join(name.split())


def read_labelled_videos(path: PathLike, classes: Sequence[str], video_dir: PathLike | None = None
                         ) -> list[tuple[str, int]]:
    """``(video path, class index)`` of a test list: an official Kinetics CSV (``label,youtube_id,...``), a
    VideoMAE / mmaction list ``path label``, or a UCF101 / HMDB51-style list of ``Class/video.avi`` paths
    without labels (the class is the folder name)."""
    from .annotations import read_kinetics_csv, read_video_list

    p = Path(path)
    first = p.read_text(encoding="utf-8-sig").splitlines()[:1]
    if first and first[0].replace(" ", "").startswith("label,youtube_id"):
        recs = read_kinetics_csv(p, classes=list(classes), video_dir=video_dir)
        return [(r.path, r.label) for r in recs]
    lines = [ln.strip() for ln in p.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
    if lines and not lines[0].rsplit(" ", 1)[-1].lstrip("-").isdigit():
        index = {c: i for i, c in enumerate(classes)}
        out = []
        for n, ln in enumerate(lines, start=1):
            folder = Path(ln).parent.name
            if folder not in index:
                raise AnnotationError(p, n, f"class folder {folder!r} is not in the class list",
                                      "'<Class>/<video file>' with a class of the label list")
            out.append((str(Path(video_dir or "") / ln), index[folder]))
        return out
    return [(r.path, r.label) for r in read_video_list(p, root=video_dir, num_classes=len(classes))]


# ----------------------------------------------------------------------------------------------------- QA
#: dataset -> (default test file, default train file, video extensions)
QA_DATASETS = {
    "msrvtt": ("test_qa.json", "train_qa.json", (".mp4",)),
    "msvd": ("test_qa.json", "train_qa.json", (".avi", ".mp4")),
    "tgif": ("Test_frameqa_question.csv", "Train_frameqa_question.csv", (".gif", ".mp4")),
}


def load_qa_split(dataset: str, data_root: PathLike, annotation: PathLike | None = None, train: bool = False,
                  youtube_mapping: PathLike | None = None) -> tuple[list, str]:
    """``(QARecords, file)`` of MSRVTT-QA / MSVD-QA (``{split}_qa.json``; MSVD ids mapped to clip names through
    ``youtube_mapping.txt`` when present) or TGIF-QA FrameQA (``{Train,Test}_frameqa_question.csv``)."""
    from .video_qa_formats import read_msrvtt_qa_json, read_msvd_qa, read_tgif_frameqa

    if dataset not in QA_DATASETS:
        raise ValueError(f"unknown QA dataset {dataset!r}; choose from {sorted(QA_DATASETS)}")
    root = Path(data_root)
    name = QA_DATASETS[dataset][1 if train else 0]
    what = f"{dataset} QA {'training' if train else 'test'} file"
    ann = Path(annotation) if annotation else find_file(root, [name], what)
    if dataset == "msrvtt":
        return read_msrvtt_qa_json(ann), str(ann)
    if dataset == "msvd":
        default = root / "youtube_mapping.txt"
        mapping = youtube_mapping or (default if default.is_file() else None)
        return read_msvd_qa(ann, mapping), str(ann)
    return read_tgif_frameqa(ann), str(ann)
