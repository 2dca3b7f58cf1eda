"""SynthMotion: the kit's procedural video dataset, generated from a seed.

Parts (each in its own folder under the dataset root, in the real annotation formats):

    classification  Kinetics-like: 12 motion classes, shape/colour/background are distractors.
                    ``kinetics/{train,val,test}.csv`` (VideoMAE list ``path label``) and
                    ``kinetics/kinetics_{split}.csv`` (official ``label,youtube_id,time_start,time_end,split``;
                    ``youtube_id`` unique across splits)
    ssv2            SSv2-like: the 10 direction-pair classes (only temporal order separates a pair).
                    ``ssv2/something-something-v2-{labels,train,validation,test}.json`` and lists
    captions        MSR-VTT-like: ``msrvtt/videodatainfo.json`` (several paraphrased captions per video),
                    ``msrvtt/msrvtt_train.9k.csv`` / ``msrvtt_jsfusion_test.csv`` (CLIP4Clip's training and
                    test CSVs), ``msrvtt/zero_shot.json`` (held-out shape/motion combinations never captioned in
                    training), ``msrvtt/msrvtt_mc_test.jsonl`` (multiple choice, InternVideo's layout)
    qa              MSRVTT-QA-like on the same videos: ``msrvtt/qa/{train,val,test}_qa.json``, answers
    tal             ActivityNet-like untrimmed videos: ``activitynet/activity_net.v1-3.min.json``
    ava             AVA-like multi-object videos: ``ava/ava_{train,val}_v2.2.csv``, excluded timestamps,
                    ``ava_action_list_v2.2.pbtxt``, dense proposals ``.pkl``, per-frame boxes JSON
    openset         test clips of held-out motions: ``openset/test.csv`` (known test + unknown, label >= 12)

Class ids in the kit's lists follow ``classes.txt`` order (the SynthMotion class order), while mmaction2's
Kinetics CSV converter numbers Kinetics classes alphabetically: see
:mod:`~internvideo_core.data.synthmotion_writers` for the file layouts and how to keep the ids consistent.

Every clip is rendered from its own generator seeded by ``(seed, part, split, index)``, so a clip is the
same whether it is written to mp4 by :func:`generate_synthmotion` or returned in memory by
:func:`synthmotion_clips`.

    root = ensure_synthmotion("tutorial", seed=0)           # generated once into the cache, then reused
    ds = kinetics_dataset(root / "kinetics/train.csv", root=root, num_frames=16, rate=1, size=64)  # mp4 path
    clips = synthmotion_clips("classification", "train", "tutorial", seed=0)  # the same clips, in memory
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from internvideo_core.data import synthmotion_writers as W
from internvideo_core.data.synthmotion_plan import (  # noqa: F401  (re-exported API)
    CLASSES, CLIP_FNS, PARTS, PROFILES, SPLITS, Clip, SynthSizes, clip_rng, heldout_combinations, resolve_sizes,
)
from internvideo_core.data.synthmotion_render import (  # noqa: F401
    COLOURS, DIRECTION_MOTIONS, DIRECTION_PAIRS, HELDOUT_MOTIONS, KNOWN_MOTIONS, MOTION_CLASSES, SHAPES,
    SynthConfig, render_clip,
)
from internvideo_core.data.synthmotion_scenes import (  # noqa: F401
    AVA_CLASSES, TAL_CLASSES, render_multi_object, render_untrimmed,
)

FORMAT = "synthmotion-2"  # the file layouts; a cached dataset of another format is regenerated

__all__ = [
    "MOTION_CLASSES", "KNOWN_MOTIONS", "HELDOUT_MOTIONS", "DIRECTION_MOTIONS", "DIRECTION_PAIRS", "SHAPES",
    "COLOURS", "TAL_CLASSES", "AVA_CLASSES", "PARTS", "PROFILES", "SynthConfig", "SynthSizes", "SynthClips",
    "render_clip", "render_untrimmed", "render_multi_object", "synthmotion_clips", "make_clips",
    "generate_synthmotion", "ensure_synthmotion", "load_manifest",
]


@dataclasses.dataclass
class SynthClips:
    """In-memory clips: ``videos`` uint8 torch ``[N, T, H, W, 3]``, ``labels`` long ``[N]`` (index into
    ``classes``), ids and per-clip meta (shape, colour, motion; ``captions`` for the caption part)."""

    videos: Any
    labels: Any
    classes: tuple[str, ...]
    ids: list[str]
    metas: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.ids)


def _stack(clips: list[Clip], classes: tuple[str, ...]) -> SynthClips:
    import torch

    if clips:
        videos = torch.from_numpy(np.stack([c.frames for c in clips]))
    else:
        videos = torch.zeros(0, dtype=torch.uint8)
    labels = torch.tensor([c.label for c in clips], dtype=torch.long)
    return SynthClips(videos, labels, classes, [c.vid for c in clips], [c.meta for c in clips])


def synthmotion_clips(part: str = "classification", split: str = "train",
                      profile_or_sizes: str | SynthSizes | dict[str, Any] = "tutorial", seed: int = 0,
                      cfg: SynthConfig | None = None, limit: int | None = None) -> SynthClips:
    """The clips of one part/split in memory (no files), identical before H.264 compression to those
    :func:`generate_synthmotion` writes with the same arguments.

    ``part``: classification (labels index :data:`KNOWN_MOTIONS`), ssv2 (:data:`DIRECTION_MOTIONS`),
    captions (:data:`MOTION_CLASSES`; ``metas[i]["captions"]`` holds the paraphrases) or openset (test only,
    labels >= 12). ``split``: train, val, test. ``limit``: stop after that many clips.
    """
    if part not in CLASSES:
        raise ValueError(f"in-memory clips exist for parts {sorted(CLASSES)}, not {part!r}; for tal/ava use "
                         "render_untrimmed / render_multi_object, or generate the files")
    splits = SPLITS["captions" if part == "qa" else part]
    if split not in splits:
        raise ValueError(f"part {part!r} has splits {list(splits)}, not {split!r}")
    _, sizes = resolve_sizes(profile_or_sizes)
    cfg = cfg or SynthConfig()
    n = sizes.count(part, split) if limit is None else min(limit, sizes.count(part, split))
    clips = [CLIP_FNS[part](seed, split, i, sizes, cfg) for i in range(n)]
    if part in ("captions", "qa"):
        for clip in clips:
            clip.meta["captions"] = W.captions_of(seed, clip, sizes.captions_per_video)
    return _stack(clips, CLASSES[part])


def make_clips(motions: tuple[str, ...] | list[str], per_class: int, seed: int = 0,
               cfg: SynthConfig | None = None) -> SynthClips:
    """Any set of motions in memory: ``per_class`` clips each, labels = index in ``motions``."""
    cfg = cfg or SynthConfig()
    motions = tuple(motions)
    clips = []
    for i in range(per_class * len(motions)):
        frames, meta = render_clip(motions[i % len(motions)], np.random.default_rng([seed, 77, i]), cfg)
        clips.append(Clip(f"clip{i:06d}", frames, i % len(motions), meta))
    return _stack(clips, motions)


def generate_synthmotion(root: str | Path, profile_or_sizes: str | SynthSizes | dict[str, Any] = "tutorial",
                         seed: int = 0, parts: tuple[str, ...] | list[str] | None = None,
                         cfg: SynthConfig | None = None, crf: int = 18, workers: int = 0,
                         progress: bool = False) -> dict[str, Any]:
    """Write SynthMotion under ``root``: H.264 mp4 videos plus annotation files in the real formats.

    Args:
        root: output folder (created). profile_or_sizes: ``smoke``/``tutorial``/``full`` or sizes.
        seed: everything is a function of it. parts: subset of :data:`PARTS` (default all; ``openset``
            brings ``classification``, ``qa`` brings the caption videos). cfg: rendering knobs.
        crf: x264 quality (lower = better; 18 keeps 64 x 64 frames within ~3 grey levels).
        workers: processes rendering and encoding in parallel (0 = in this process); the files do not depend
            on it.
    Returns:
        the manifest (also written to ``root/manifest.json`` without its ``timing`` entry): files per part
        (relative to ``root``), video counts, classes, sizes, config.
    """
    root = Path(root)
    profile, sizes = resolve_sizes(profile_or_sizes)
    cfg = cfg or SynthConfig()
    wanted = set(PARTS if parts is None else parts)
    unknown = sorted(wanted - set(PARTS))
    if unknown:
        raise ValueError(f"unknown SynthMotion parts {unknown}; expected a subset of {list(PARTS)}")
    if "openset" in wanted:
        wanted.add("classification")
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pool = None
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        mapper = (lambda fn, jobs: pool.map(fn, jobs, chunksize=4)) if pool else map
        writer = W.PartWriter(root, seed, sizes, cfg, crf, progress, mapper)
        files: dict[str, Any] = {"common": writer.write_class_lists()}
        for part in ("classification", "ssv2", "openset"):
            if part in wanted:
                files[part] = getattr(writer, f"write_{part}")()
        if wanted & {"captions", "qa"}:
            files["captions"] = writer.write_vl()
            if "qa" in wanted:
                files["qa"] = writer.write_qa()
        for part in ("tal", "ava"):
            if part in wanted:
                files[part] = getattr(writer, f"write_{part}")()
    finally:
        if pool is not None:
            pool.shutdown()
    seconds = time.perf_counter() - t0
    manifest = {
        "format": FORMAT, "profile": profile, "seed": seed, "parts": [p for p in PARTS if p in files],
        "sizes": dataclasses.asdict(sizes), "config": dataclasses.asdict(cfg), "crf": crf,
        "classes": list(KNOWN_MOTIONS), "heldout_classes": list(HELDOUT_MOTIONS),
        "direction_classes": list(DIRECTION_MOTIONS), "tal_classes": list(TAL_CLASSES),
        "ava_classes": list(AVA_CLASSES), "counts": writer.counts, "files": files,
    }
    W.write_json(root / "manifest.json", manifest)
    manifest["timing"] = {"seconds": round(seconds, 3), "videos": sum(writer.counts.values()),
                          "clips_per_s": round(writer.frames_written / cfg.num_frames / max(seconds, 1e-9), 1)}
    return manifest


def load_manifest(root: str | Path) -> dict[str, Any]:
    """Read ``root/manifest.json`` of a generated SynthMotion folder (with a hint when it is missing)."""
    path = Path(root) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: generate the dataset first, e.g. "
                                f"`internvideo synth --out {root} --profile tutorial`")
    return json.loads(path.read_text(encoding="utf-8"))


def ensure_synthmotion(profile_or_sizes: str | SynthSizes | dict[str, Any] = "tutorial", seed: int = 0,
                       root: str | Path | None = None, parts: tuple[str, ...] | list[str] | None = None,
                       cfg: SynthConfig | None = None, workers: int = 0) -> Path:
    """The folder of a generated SynthMotion, generating it only when missing or different.

    ``root`` defaults to ``<cache>/synthmotion/<profile>_seed<seed>`` (see
    :func:`~internvideo_core.paths.cache_dir`). An existing folder is reused when its manifest has the same
    format, sizes, seed, config and at least the requested ``parts``; otherwise it is regenerated into a temporary
    sibling and swapped in, so an interrupted run never leaves a half-written dataset behind.
    """
    from internvideo_core.paths import cache_dir

    name, sizes = resolve_sizes(profile_or_sizes)
    cfg = cfg or SynthConfig()
    root = Path(root) if root is not None else cache_dir() / "synthmotion" / f"{name}_seed{seed}"
    want = set(PARTS if parts is None else parts)
    try:
        m = load_manifest(root)
        same = (m.get("format") == FORMAT and m["seed"] == seed
                and m["sizes"] == json.loads(json.dumps(dataclasses.asdict(sizes)))
                and m["config"] == json.loads(json.dumps(dataclasses.asdict(cfg))))
        if same and want <= set(m["parts"]):
            return root
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        pass
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    generate_synthmotion(tmp, profile_or_sizes, seed, parts=sorted(want), cfg=cfg, workers=workers)
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root
