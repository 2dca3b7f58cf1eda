"""Writing SynthMotion to disk: H.264 mp4 files and annotation files in the real formats.

Paths inside annotation files are relative to the dataset root (pass ``root`` to the readers in
:mod:`internvideo_core.data.annotations`). The files follow the layouts the official tools read:

    kinetics/   VideoMAE lists ``{train,val,test}.csv`` (``path label``) and official CSVs
                ``kinetics_{split}.csv`` (``label,youtube_id,time_start,time_end,split``); every ``youtube_id``
                is unique across the three splits
    ssv2/       ``something-something-v2-{labels,train,validation,test}.json`` (the test JSON lists ``id`` only,
                as released) and VideoMAE lists ``{train,val}.csv``
    msrvtt/     ``videodatainfo.json`` (the ``MSRVTT_data.json`` layout), ``msrvtt_train.9k.csv`` (the
                ``MSRVTT_train.9k.csv`` layout: a ``video_id`` column, every video outside the JSFusion test),
                ``msrvtt_jsfusion_test.csv`` (``MSRVTT_JSFUSION_test.csv``), ``msrvtt_mc_test.jsonl`` (the
                multiple-choice file the InternVideo / All-in-one / ClipBERT loaders read: JSON lines
                ``{"qid", "clip_name", "options", "answer"}``), MSRVTT-QA ``qa/{split}_qa.json``
    activitynet/  ActivityNet v1.3 JSON
    ava/        ``ava_{split}_v2.2.csv``, excluded timestamps, ``ava_action_list_v2.2.pbtxt`` and dense person
                proposals ``ava_dense_proposals_{split}.pkl`` (a pickle of ``{"video_id,%04d": float32 [N, 5]}``,
                ``x1, y1, x2, y2, score``, as the released FAIR proposals mmaction2 indexes)

**Class ids.** The integer labels in the kit's lists (``kinetics/*.csv``, ``ssv2/*.csv``, ``openset/*.csv``)
follow the order of ``classes.txt`` (``ssv2``: of ``something-something-v2-labels.json``), which is the
SynthMotion class order, not alphabetical. mmaction2's Kinetics CSV converter (and
:func:`~internvideo_core.data.annotations.read_kinetics_csv` without ``classes``) numbers Kinetics classes
alphabetically, so ids made by that converter from ``kinetics_{split}.csv`` differ from the kit's: pass
``classes.txt`` as the class list (``read_kinetics_csv(path, classes=read_class_names("classes.txt"))``) or
keep one tool's ids throughout.
"""
from __future__ import annotations

import csv
import io
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from internvideo_core.data import synthmotion_annotations as A
from internvideo_core.data.safe_pickle import dump_numpy_pickle
from internvideo_core.data.synthmotion_plan import CLIP_FNS, Clip, SynthSizes, heldout_combinations
from internvideo_core.data.synthmotion_render import (
    DIRECTION_MOTIONS, HELDOUT_MOTIONS, KNOWN_MOTIONS, MOTION_CLASSES, SynthConfig,
)
from internvideo_core.data.synthmotion_scenes import AVA_CLASSES, TAL_CLASSES

AVA_VERSION = "v2.2"
ACTIVITYNET_JSON = "activity_net.v1-3.min.json"


def write_mp4(path: str | Path, frames: np.ndarray, fps: float, crf: int = 18, preset: str = "veryfast") -> None:
    """Encode uint8 ``[T, H, W, 3]`` RGB frames as H.264 (libx264, yuv420p) mp4.

    The bytes are a deterministic function of the frames: one thread, explicit timestamps and no macroblock
    tree (x264's mbtree gives run-to-run differences on tiny frames; crf 18 without it matches the size and
    quality of crf 14 with it, about 3 grey levels mean error at 64 x 64)."""
    import av

    t, h, w, c = frames.shape
    if c != 3 or frames.dtype != np.uint8:
        raise ValueError(f"write_mp4 expects uint8 [T, H, W, 3] frames, got {frames.dtype} {frames.shape}")
    if h % 2 or w % 2:
        raise ValueError(f"H.264 yuv420p needs even frame sizes, got {w}x{h} for {path}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset, "threads": "1", "x264-params": "mbtree=0"}
        stream.codec_context.thread_count = 1
        for i, frame in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts = i
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_json(path: Path, obj: Any, compact: bool = False) -> None:
    """JSON, indented for small files people read, compact (like the real ``*.min.json``) for big ones."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, separators=(",", ":"), default=_jsonable) if compact else \
        json.dumps(obj, indent=1, default=_jsonable)
    path.write_text(text + "\n", encoding="utf-8")


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x)}")


def write_text(path: Path, lines: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{ln}\n" for ln in lines), encoding="utf-8")


def write_csv(path: Path, rows: Iterable[Iterable[Any]], header: list[str] | None = None) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(header)
    w.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")


def captions_of(seed: int, clip: Clip, n: int) -> list[str]:
    """The paraphrased captions of a caption-part clip (seeded by the video number)."""
    rng = np.random.default_rng([seed, 55, int(clip.vid.removeprefix("video"))])
    return A.caption_variants(clip.meta, rng, n)


def _short_meta(meta: dict[str, Any]) -> dict[str, Any]:
    keys = ("motion", "shape", "colour", "size", "background", "num_objects")
    return {k: meta[k] for k in keys if k in meta}


def video_rel(part: str, split: str, vid: str, cfg: SynthConfig) -> str:
    """Where a part's video lives, relative to the dataset root (the real datasets' naming)."""
    if part == "classification":
        end = math.ceil(cfg.num_frames / cfg.fps)
        return f"kinetics/videos/{split}/{vid}_000000_{end:06d}.mp4"
    folder = {"ssv2": "ssv2", "captions": "msrvtt", "qa": "msrvtt", "openset": "openset", "ava": "ava"}
    if part == "tal":
        return f"activitynet/videos/v_{vid}.mp4"
    return f"{folder[part]}/videos/{vid}.mp4"


Job = tuple[str, int, str, int, SynthSizes, SynthConfig, int, str]


def render_job(job: Job) -> tuple[Clip, str, int]:
    """Render one video and write its mp4 (runs in worker processes): returns the clip without frames, its
    relative path and its number of frames."""
    part, seed, split, i, sizes, cfg, crf, root = job
    clip = CLIP_FNS[part](seed, split, i, sizes, cfg)
    rel = video_rel(part, split, clip.vid, cfg)
    write_mp4(Path(root) / rel, clip.frames, cfg.fps, crf)
    n = len(clip.frames)
    clip.frames = np.zeros((0,), dtype=np.uint8)
    return clip, rel, n


class PartWriter:
    """Writes each part's videos and annotation files; keeps counts and the caption-part metas (for QA)."""

    def __init__(self, root: Path, seed: int, sizes: SynthSizes, cfg: SynthConfig, crf: int, progress: bool,
                 mapper: Callable[..., Iterable[Any]] = map):
        self.root, self.seed, self.sizes, self.cfg, self.crf = root, seed, sizes, cfg, crf
        self.progress, self.mapper = progress, mapper
        self.counts: dict[str, int] = {}
        self.frames_written = 0
        self._kinetics_test: list[tuple[str, int]] = []
        self._vl: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    # --------------------------------------------------------------------------------------- helpers
    def videos(self, part: str, split: str) -> Iterator[tuple[Clip, str]]:
        """Render and write the videos of ``part``/``split`` (through ``mapper``, in order): yields each clip
        (frames dropped) and its path relative to the root."""
        n = self.sizes.count(part, split)
        jobs = [(part, self.seed, split, i, self.sizes, self.cfg, self.crf, str(self.root)) for i in range(n)]
        results: Iterable[Any] = self.mapper(render_job, jobs)
        if self.progress:
            from tqdm.auto import tqdm

            results = tqdm(results, total=n, desc=f"{part} {split}", leave=False)
        for clip, rel, frames in results:
            self.counts[part] = self.counts.get(part, 0) + 1
            self.frames_written += frames
            yield clip, rel

    def write_class_lists(self) -> dict[str, str]:
        write_text(self.root / "classes.txt", KNOWN_MOTIONS)
        write_text(self.root / "heldout_classes.txt", HELDOUT_MOTIONS)
        write_text(self.root / "all_classes.txt", MOTION_CLASSES)
        return {"classes": "classes.txt", "heldout_classes": "heldout_classes.txt", "all_classes": "all_classes.txt"}

    # -------------------------------------------------------------------------------- trimmed parts
    def write_classification(self) -> dict[str, Any]:
        """Kinetics-like: VideoMAE lists ``path label`` and official CSVs ``label,youtube_id,...``."""
        out: dict[str, Any] = {"classes": "classes.txt"}
        end = math.ceil(self.cfg.num_frames / self.cfg.fps)
        for split in ("train", "val", "test"):
            rows, official = [], []
            for clip, rel in self.videos("classification", split):
                rows.append((rel, clip.label))
                official.append((KNOWN_MOTIONS[clip.label], clip.vid, 0, end, split))
            write_text(self.root / f"kinetics/{split}.csv", (f"{p} {lab}" for p, lab in rows))
            write_csv(self.root / f"kinetics/kinetics_{split}.csv", official,
                      ["label", "youtube_id", "time_start", "time_end", "split"])
            out[split] = f"kinetics/{split}.csv"
            out[f"official_{split}"] = f"kinetics/kinetics_{split}.csv"
            if split == "test":
                self._kinetics_test = rows
        out["video_template"] = "kinetics/videos/{split}/{youtube_id}_{time_start:06d}_{time_end:06d}.mp4"
        return out

    def write_ssv2(self) -> dict[str, Any]:
        """SSv2-like: ``something-something-v2-{train,validation,test}.json``, labels JSON, VideoMAE lists
        ``{train,val}.csv``. The test JSON lists ``{"id"}`` only (no template or label), as the real release.
        Manifest keys: ``labels``, ``{train,validation,test}_json``, lists ``train`` / ``val``, ``video_dir``."""
        labels = {A.ssv2_template_label(A.SSV2_TEMPLATES[m]): str(i) for i, m in enumerate(DIRECTION_MOTIONS)}
        write_json(self.root / "ssv2/something-something-v2-labels.json", labels)
        out: dict[str, Any] = {"labels": "ssv2/something-something-v2-labels.json", "video_dir": "ssv2/videos"}
        for split, name in (("train", "train"), ("val", "validation"), ("test", "test")):
            entries, rows = [], []
            for clip, rel in self.videos("ssv2", split):
                entries.append({"id": clip.vid} if split == "test" else A.ssv2_entry(clip.vid, clip.meta))
                rows.append(f"{rel} {clip.label}")
            write_json(self.root / f"ssv2/something-something-v2-{name}.json", entries)
            out[f"{name}_json"] = f"ssv2/something-something-v2-{name}.json"
            if split != "test":
                write_text(self.root / f"ssv2/{split}.csv", rows)
                out[split] = f"ssv2/{split}.csv"
        return out

    def write_openset(self) -> dict[str, Any]:
        """Held-out motions: ``openset/unknown_test.csv`` and ``openset/test.csv`` (known test + unknown;
        labels >= len(classes) are unknown)."""
        unknown = []
        for clip, rel in self.videos("openset", "test"):
            unknown.append((rel, clip.label))
        write_text(self.root / "openset/unknown_test.csv", (f"{p} {lab}" for p, lab in unknown))
        write_text(self.root / "openset/test.csv", (f"{p} {lab}" for p, lab in [*self._kinetics_test, *unknown]))
        return {"test": "openset/test.csv", "unknown_test": "openset/unknown_test.csv",
                "num_known_classes": len(KNOWN_MOTIONS), "heldout_classes": "heldout_classes.txt"}

    # ---------------------------------------------------------------------------- video + language
    def write_vl(self) -> dict[str, Any]:
        """MSR-VTT-like: ``msrvtt/videodatainfo.json`` (videos + several captions each), the training CSV
        (``MSRVTT_train.9k.csv`` layout: every video outside the test CSV, as the 1k-A protocol's 9000), the
        JSFusion-style test CSV, zero-shot held-out combinations, multiple choice (``msrvtt_mc_test.jsonl``),
        per-video meta."""
        videos, sentences, jsf, mc, meta_out, zs_ids, train_ids = [], [], [], [], {}, [], []
        split_name = {"train": "train", "val": "validate", "test": "test"}
        n = self.sizes.captions_per_video
        for split in ("train", "val", "test"):
            self._vl[split] = []
            for clip, _ in self.videos("captions", split):
                num = int(clip.vid.removeprefix("video"))
                videos.append({"category": 0, "url": "", "video_id": clip.vid, "start time": 0.0,
                               "end time": round(self.cfg.num_frames / self.cfg.fps, 3),
                               "split": split_name[split], "id": num})
                caps = captions_of(self.seed, clip, n)
                for cap in caps:
                    sentences.append({"caption": cap, "video_id": clip.vid, "sen_id": len(sentences)})
                meta_out[clip.vid] = {**_short_meta(clip.meta), "zero_shot": bool(clip.meta.get("zero_shot"))}
                self._vl[split].append((clip.vid, clip.meta))
                if split != "test":
                    train_ids.append((clip.vid,))
                if split == "test":
                    jsf.append((f"ret{len(jsf)}", f"msr{num}", clip.vid, caps[0]))
                    rng = np.random.default_rng([self.seed, 66, num])
                    item = A.multiple_choice(clip.vid, clip.meta, caps[0], rng)
                    mc.append({"qid": len(mc), "clip_name": clip.vid, "options": item["options"],
                               "answer": item["answer"]})
                    if clip.meta.get("zero_shot"):
                        zs_ids.append(clip.vid)
        info = {"contributor": "InternVideo kit", "data_created": "generated", "version": "synthmotion-1",
                "description": "SynthMotion captions in the MSR-VTT videodatainfo format"}
        write_json(self.root / "msrvtt/videodatainfo.json", {"info": info, "videos": videos, "sentences": sentences},
                   compact=True)
        write_csv(self.root / "msrvtt/msrvtt_train.9k.csv", train_ids, ["video_id"])
        write_csv(self.root / "msrvtt/msrvtt_jsfusion_test.csv", jsf, ["key", "vid_key", "video_id", "sentence"])
        write_text(self.root / "msrvtt/msrvtt_mc_test.jsonl", (json.dumps(it) for it in mc))
        write_json(self.root / "msrvtt/video_meta.json", meta_out)
        combos = heldout_combinations(self.seed, self.sizes.zero_shot_combos)
        write_json(self.root / "msrvtt/zero_shot.json", {
            "heldout_combinations": [{"shape": s, "motion": m} for s, m in combos],
            "test_video_ids": zs_ids,
            "class_prompts": {m: A.prompt_for(m) for m in KNOWN_MOTIONS},
        })
        return {"captions": "msrvtt/videodatainfo.json", "train_csv": "msrvtt/msrvtt_train.9k.csv",
                "jsfusion_test": "msrvtt/msrvtt_jsfusion_test.csv",
                "multiple_choice_test": "msrvtt/msrvtt_mc_test.jsonl", "zero_shot": "msrvtt/zero_shot.json",
                "video_meta": "msrvtt/video_meta.json", "video_template": "msrvtt/videos/{video_id}.mp4"}

    def write_qa(self) -> dict[str, Any]:
        """MSRVTT-QA-like: ``msrvtt/qa/{train,val,test}_qa.json`` with integer video ids, and answers."""
        out: dict[str, Any] = {}
        answers: set[str] = set()
        qid = 0
        for split, items in self._vl.items():
            rows = []
            for vid, meta in items:
                for qa in A.questions_for(meta):
                    rows.append({"id": qid, "video_id": int(vid.removeprefix("video")), **qa})
                    answers.add(qa["answer"])
                    qid += 1
            write_json(self.root / f"msrvtt/qa/{split}_qa.json", rows)
            out[split] = f"msrvtt/qa/{split}_qa.json"
        write_json(self.root / "msrvtt/qa/answers.json", sorted(answers))
        out["answers"] = "msrvtt/qa/answers.json"
        return out

    # ------------------------------------------------------------------------------ untrimmed / AVA
    def write_tal(self) -> dict[str, Any]:
        """ActivityNet-like: untrimmed videos ``activitynet/videos/v_<id>.mp4`` + ActivityNet v1.3 JSON."""
        fps, database = self.cfg.fps, {}
        for split, subset in (("train", "training"), ("val", "validation")):
            for clip, _ in self.videos("tal", split):
                meta, num_frames = clip.meta, clip.meta["num_frames"]
                database[clip.vid] = {
                    "subset": subset, "duration": round(num_frames / fps, 3), "resolution": f"{self.cfg.size}x"
                    f"{self.cfg.size}", "url": "", "annotations": [
                        {"segment": [round(s / fps, 3), round(e / fps, 3)], "label": lab}
                        for s, e, lab in meta["segments"]]}
        taxonomy = [{"nodeId": i + 1, "nodeName": c, "parentId": 0, "parentName": "Root"}
                    for i, c in enumerate(TAL_CLASSES)]
        write_json(self.root / f"activitynet/{ACTIVITYNET_JSON}",
                   {"version": "SynthMotion (ActivityNet v1.3 format)", "taxonomy": taxonomy, "database": database},
                   compact=True)
        write_text(self.root / "activitynet/classes.txt", TAL_CLASSES)
        return {"annotations": f"activitynet/{ACTIVITYNET_JSON}", "classes": "activitynet/classes.txt",
                "video_template": "activitynet/videos/v_{video_id}.mp4", "fps": fps}

    def write_ava(self) -> dict[str, Any]:
        """AVA-like: keyframes every second; segment centres (odd seconds) are annotated, segment boundaries
        (even seconds) are listed as excluded timestamps. Boxes normalised x1, y1, x2, y2. Dense proposals at
        every keyframe: ``ava_dense_proposals_{split}.pkl``, ``{"video,%04d": float32 [N, 5]}`` (the objects'
        true boxes with score 1.0), pickle protocol 4 with numpy 1 module names (numpy 1.x and 2.x load it)."""
        fps = self.cfg.fps
        action_id = {c: i + 1 for i, c in enumerate(AVA_CLASSES)}
        out: dict[str, Any] = {"fps": fps, "video_template": "ava/videos/{video_id}.mp4"}
        all_boxes: dict[str, Any] = {}
        for split in ("train", "val"):
            rows, excluded, proposals = [], [], {}
            for clip, _ in self.videos("ava", split):
                vid, meta = clip.vid, clip.meta
                objs = meta["objects"]
                all_boxes[vid] = {"fps": fps, "num_frames": meta["num_frames"], "objects": [
                    {"person_id": j, "shape": o["shape"], "colour": o["colour"], "boxes": o["boxes"]}
                    for j, o in enumerate(objs)]}
                for ts in range(1, 2 * self.sizes.ava_segments):
                    frame = int(round(ts * fps))
                    proposals[f"{vid},{ts:04d}"] = np.array([[*map(float, o["boxes"][frame]), 1.0] for o in objs],
                                                            dtype=np.float32).reshape(-1, 5)
                    if ts % 2 == 0:
                        excluded.append((vid, f"{ts:04d}"))
                        continue
                    for j, o in enumerate(objs):
                        box = ["%.3f" % v for v in o["boxes"][frame]]
                        for lab in o["actions"][(ts - 1) // 2]:
                            rows.append((vid, f"{ts:04d}", *box, action_id[lab], j))
            write_csv(self.root / f"ava/ava_{split}_{AVA_VERSION}.csv", rows)
            write_csv(self.root / f"ava/ava_{split}_excluded_timestamps_{AVA_VERSION}.csv", excluded)
            with (self.root / f"ava/ava_dense_proposals_{split}.pkl").open("wb") as f:
                dump_numpy_pickle(proposals, f)
            out[split] = f"ava/ava_{split}_{AVA_VERSION}.csv"
            out[f"{split}_excluded"] = f"ava/ava_{split}_excluded_timestamps_{AVA_VERSION}.csv"
            out[f"{split}_proposals"] = f"ava/ava_dense_proposals_{split}.pkl"
        pbtxt = "".join(f'item {{\n  name: "{c}"\n  id: {i}\n}}\n' for c, i in action_id.items())
        (self.root / f"ava/ava_action_list_{AVA_VERSION}.pbtxt").write_text(pbtxt, encoding="utf-8")
        write_text(self.root / "ava/ava_actions.txt", (f"{i}: {c}" for c, i in action_id.items()))
        write_json(self.root / "ava/boxes_per_frame.json", all_boxes, compact=True)
        out.update(label_map=f"ava/ava_action_list_{AVA_VERSION}.pbtxt", label_list="ava/ava_actions.txt",
                   boxes_per_frame="ava/boxes_per_frame.json")
        return out
