"""What SynthMotion contains: sizes per profile, and every video as a pure function of
``(seed, part, split, index)`` so that files and in-memory clips agree and generation can run in parallel.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from internvideo_core.data.synthmotion_render import (
    DIRECTION_MOTIONS, HELDOUT_MOTIONS, KNOWN_MOTIONS, MOTION_CLASSES, SHAPES, SynthConfig, render_clip,
)
from internvideo_core.data.synthmotion_scenes import render_multi_object, render_untrimmed

PARTS: tuple[str, ...] = ("classification", "ssv2", "captions", "qa", "tal", "ava", "openset")
SPLITS: dict[str, tuple[str, ...]] = {
    "classification": ("train", "val", "test"), "ssv2": ("train", "val", "test"), "captions": ("train", "val", "test"),
    "tal": ("train", "val"), "ava": ("train", "val"), "openset": ("test",),
}
_PART_ID = {p: i for i, p in enumerate(PARTS)}
_SPLIT_ID = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class SynthSizes:
    """How many videos each part has. Per-class counts are ``(train, val, test)``."""

    classification: tuple[int, int, int] = (50, 10, 10)   # per known class
    ssv2: tuple[int, ...] = (40, 10, 10)                   # per direction class: train, validation, test
                                                           # (a 2-tuple means no test videos)
    vl: tuple[int, int, int] = (300, 50, 100)              # caption/QA videos
    captions_per_video: int = 5
    zero_shot_combos: int = 3
    tal: tuple[int, int] = (40, 10)                        # untrimmed videos: training, validation
    tal_frames: tuple[int, int] = (96, 160)
    ava: tuple[int, int] = (40, 10)                        # multi-object videos: train, val
    ava_segments: int = 3                                  # 2-second action segments per AVA video
    ava_objects: tuple[int, int] = (2, 3)
    openset_per_class: int = 10                            # test clips per held-out motion

    def count(self, part: str, split: str) -> int:
        """Number of videos of ``part`` in ``split`` (0 for splits the part does not have)."""
        if split not in SPLITS.get("captions" if part == "qa" else part, ()):
            return 0
        s = _SPLIT_ID[split]
        if part == "classification":
            return self.classification[s] * len(KNOWN_MOTIONS)
        if part == "ssv2":
            return (self.ssv2[s] if s < len(self.ssv2) else 0) * len(DIRECTION_MOTIONS)
        if part in ("captions", "qa"):
            return self.vl[s]
        if part in ("tal", "ava"):
            return getattr(self, part)[s]
        return self.openset_per_class * len(HELDOUT_MOTIONS)


PROFILES: dict[str, SynthSizes] = {
    "smoke": SynthSizes(classification=(2, 1, 1), ssv2=(2, 1, 1), vl=(12, 4, 8), captions_per_video=3,
                        zero_shot_combos=2, tal=(3, 2), tal_frames=(64, 80), ava=(2, 2), openset_per_class=2),
    "tutorial": SynthSizes(),
    "full": SynthSizes(classification=(300, 50, 50), ssv2=(200, 40, 40), vl=(2000, 200, 500), captions_per_video=10,
                       zero_shot_combos=6, tal=(200, 50), tal_frames=(128, 256), ava=(200, 50),
                       openset_per_class=100),
}


def resolve_sizes(profile_or_sizes: str | SynthSizes | dict[str, Any]) -> tuple[str, SynthSizes]:
    """``"tutorial"`` / a :class:`SynthSizes` / a dict of overrides of the tutorial sizes -> (name, sizes)."""
    if isinstance(profile_or_sizes, SynthSizes):
        return "custom", profile_or_sizes
    if isinstance(profile_or_sizes, dict):
        return "custom", dataclasses.replace(SynthSizes(), **profile_or_sizes)
    if profile_or_sizes not in PROFILES:
        raise ValueError(f"unknown SynthMotion profile {profile_or_sizes!r}; expected one of {list(PROFILES)}")
    return str(profile_or_sizes), PROFILES[profile_or_sizes]


def clip_rng(seed: int, part: str, split: str, index: int) -> np.random.Generator:
    """The generator of one video: an independent stream for every (seed, part, split, index)."""
    return np.random.default_rng([seed, _PART_ID[part], _SPLIT_ID[split], index])


def heldout_combinations(seed: int, n: int) -> list[tuple[str, str]]:
    """``n`` (shape, motion) pairs that never appear in captioned training/validation videos."""
    rng = np.random.default_rng([seed, 99])
    pairs = [(s, m) for s in SHAPES for m in KNOWN_MOTIONS]
    picked = rng.choice(len(pairs), size=min(n, len(pairs)), replace=False)
    return [pairs[i] for i in sorted(picked)]


@dataclass
class Clip:
    """One rendered video: id, frames uint8 ``[T, H, W, 3]``, label index (-1 when not a class), meta."""

    vid: str
    frames: np.ndarray
    label: int
    meta: dict[str, Any]


def _split_offset(part: str, split: str, sizes: SynthSizes) -> int:
    """Videos of ``part`` in the splits before ``split`` (train, val, test): numbering continues across splits,
    so ids are unique in the whole dataset."""
    return sum(sizes.count(part, s) for s in ("train", "val", "test")[: _SPLIT_ID[split]])


def classification_clip(seed: int, split: str, i: int, sizes: SynthSizes, cfg: SynthConfig) -> Clip:
    """Kinetics-like clips. The ``youtube_id`` (11 characters like YouTube's: ``k`` + 10 digits) numbers the
    videos across train, val and test, so it is unique in the whole dataset (tools that name files by
    ``youtube_id`` and time span never write two splits onto one path)."""
    motion = KNOWN_MOTIONS[i % len(KNOWN_MOTIONS)]
    frames, meta = render_clip(motion, clip_rng(seed, "classification", split, i), cfg)
    return Clip(f"k{_split_offset('classification', split, sizes) + i:010d}", frames, KNOWN_MOTIONS.index(motion),
                meta)


def ssv2_clip(seed: int, split: str, i: int, sizes: SynthSizes, cfg: SynthConfig) -> Clip:
    """Direction-pair clips; numeric ids continue from train to validation to test like SSv2's."""
    motion = DIRECTION_MOTIONS[i % len(DIRECTION_MOTIONS)]
    frames, meta = render_clip(motion, clip_rng(seed, "ssv2", split, i), cfg)
    return Clip(str(1 + i + _split_offset("ssv2", split, sizes)), frames, DIRECTION_MOTIONS.index(motion), meta)


def vl_clip(seed: int, split: str, i: int, sizes: SynthSizes, cfg: SynthConfig) -> Clip:
    """Caption/QA videos with 0-2 still distractors. Ids continue across splits like MSR-VTT's
    (``video0`` ...). Held-out (shape, motion) combinations appear only in test (every 4th test video)."""
    offset = sum(sizes.vl[: _SPLIT_ID[split]])
    held = heldout_combinations(seed, sizes.zero_shot_combos)
    rng = clip_rng(seed, "captions", split, i)
    motion = KNOWN_MOTIONS[int(rng.integers(len(KNOWN_MOTIONS)))]
    shape = str(rng.choice(SHAPES))
    if split == "test" and held and i % 4 == 0:
        shape, motion = held[(i // 4) % len(held)]
    while split != "test" and (shape, motion) in held:
        shape = str(rng.choice(SHAPES))
    frames, meta = render_clip(motion, rng, cfg.replace(clutter=int(rng.integers(0, 3)), clutter_moving=0.0),
                               shape=shape)
    meta["zero_shot"] = (shape, motion) in held
    return Clip(f"video{offset + i}", frames, MOTION_CLASSES.index(motion), meta)


def openset_clip(seed: int, split: str, i: int, sizes: SynthSizes, cfg: SynthConfig) -> Clip:
    motion = HELDOUT_MOTIONS[i % len(HELDOUT_MOTIONS)]
    frames, meta = render_clip(motion, clip_rng(seed, "openset", split, i), cfg)
    return Clip(f"u{i:010d}", frames, MOTION_CLASSES.index(motion), meta)


def tal_video(seed: int, split: str, i: int, sizes: SynthSizes, cfg: SynthConfig) -> Clip:
    """An untrimmed video; ``meta["segments"]`` = ``[(start_frame, end_frame, label), ...]``."""
    rng = clip_rng(seed, "tal", split, i)
    num_frames = int(rng.integers(sizes.tal_frames[0], sizes.tal_frames[1] + 1))
    frames, meta = render_untrimmed(rng, cfg, num_frames)
    offset = 0 if split == "train" else sizes.tal[0]
    return Clip(f"synth{offset + i:06d}", frames, -1, meta)


def ava_video(seed: int, split: str, i: int, sizes: SynthSizes, cfg: SynthConfig) -> Clip:
    """A multi-object video of ``ava_segments`` 2-second segments (see :func:`render_multi_object`)."""
    rng = clip_rng(seed, "ava", split, i)
    n_obj = int(rng.integers(sizes.ava_objects[0], sizes.ava_objects[1] + 1))
    frames, meta = render_multi_object(rng, cfg, sizes.ava_segments, int(round(2 * cfg.fps)), n_obj)
    return Clip(f"ava{split[0]}{i:07d}", frames, -1, meta)


CLIP_FNS: dict[str, Callable[[int, str, int, SynthSizes, SynthConfig], Clip]] = {
    "classification": classification_clip, "ssv2": ssv2_clip, "captions": vl_clip, "qa": vl_clip,
    "openset": openset_clip, "tal": tal_video, "ava": ava_video,
}
CLASSES: dict[str, tuple[str, ...]] = {
    "classification": KNOWN_MOTIONS, "ssv2": DIRECTION_MOTIONS, "captions": MOTION_CLASSES, "qa": MOTION_CLASSES,
    "openset": MOTION_CLASSES,
}
