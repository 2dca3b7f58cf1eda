"""SynthMotion scenes made of several motion segments: long untrimmed videos (temporal localization) and
multi-object videos with per-object actions (spatio-temporal localization, AVA-style).

A segment continues from the object's current state (position, radius, angle), so consecutive segments
join without jumps; a motion is only chosen when it fits in the frame from that state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from internvideo_core.data.synthmotion_render import (
    COLOURS, SHAPES, SceneObject, SynthConfig, Track, pick_distractors, render_scene,
)

# Classes of the temporal-localization part (actions inside long videos; "stay" is background).
TAL_CLASSES: tuple[str, ...] = (
    "move left", "move right", "move up", "move down",
    "rotate clockwise", "rotate counterclockwise", "grow", "shrink", "bounce",
)
# Classes of the AVA-like part: one translation action (incl. "stay") plus optionally one rotation action per
# object and keyframe, so that keyframes are multi-label like AVA's pose + interaction labels.
AVA_TRANSLATIONS: tuple[str, ...] = ("move left", "move right", "move up", "move down", "stay")
AVA_ROTATIONS: tuple[str, ...] = ("rotate clockwise", "rotate counterclockwise")
AVA_CLASSES: tuple[str, ...] = AVA_TRANSLATIONS + AVA_ROTATIONS


@dataclass
class State:
    """Current pose of an object (pixels / degrees)."""

    x: float
    y: float
    r: float
    angle: float


def segment(motion: str, st: State, n: int, rng: np.random.Generator, cfg: SynthConfig,
            r_limits: tuple[float, float]) -> tuple[Track, State] | None:
    """Track of ``n`` frames performing ``motion`` from state ``st`` and the state after it, or ``None``
    when the motion does not fit in the frame from ``st``."""
    size, sp = float(cfg.size), cfg.speed
    k = np.arange(1, n + 1, dtype=np.float64)  # frames after the current state
    tr = Track.still(n, st.x, st.y, st.r, st.angle)
    lo, hi = st.r + 1.0, size - st.r - 1.0
    if motion in ("move left", "move right", "move up", "move down"):
        step = sp * rng.uniform(0.8, 1.4) * size / 64.0
        sign = -1.0 if motion in ("move left", "move up") else 1.0
        horizontal = motion in ("move left", "move right")
        start = st.x if horizontal else st.y
        end = start + sign * step * n
        if not lo <= end <= hi:
            return None
        path = start + sign * step * k
        if horizontal:
            tr.x = path
        else:
            tr.y = path
    elif motion in ("rotate clockwise", "rotate counterclockwise"):
        sign = 1.0 if motion == "rotate clockwise" else -1.0
        tr.angle = st.angle + sign * min(sp * rng.uniform(9.0, 16.0), 60.0) * k
    elif motion in ("grow", "shrink"):
        factor = 1.0 + min(sp * rng.uniform(0.5, 0.8), 1.5)
        end_r = st.r * factor if motion == "grow" else st.r / factor
        if not r_limits[0] <= end_r <= r_limits[1]:
            return None
        if motion == "grow" and not (end_r + 1 <= st.x <= size - end_r - 1 and end_r + 1 <= st.y <= size - end_r - 1):
            return None
        tr.r = st.r * (end_r / st.r) ** (k / n)
    elif motion == "bounce":
        h = sp * rng.uniform(0.15, 0.25) * size
        if st.y - h < lo:
            return None
        bounces = int(rng.integers(1, 3))
        tr.y = st.y - h * np.abs(np.sin(np.pi * bounces * k / n))
    elif motion != "stay":
        raise ValueError(f"motion {motion!r} cannot be a segment; expected one of {TAL_CLASSES + ('stay',)}")
    new = State(float(tr.x[-1]), float(tr.y[-1]), float(tr.r[-1]), float(tr.angle[-1]))
    return tr, new


def concat_tracks(parts: list[Track]) -> Track:
    return Track(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("x", "y", "r", "angle", "alpha")))


def _first_state(rng: np.random.Generator, cfg: SynthConfig) -> tuple[State, tuple[float, float]]:
    r = rng.uniform(*cfg.radius) * cfg.size
    limits = (max(2.5, r / 2.2), min(cfg.size * 0.3, r * 2.2))
    pad = r + 1.0
    return State(rng.uniform(pad, cfg.size - pad), rng.uniform(pad, cfg.size - pad), r, rng.uniform(0, 360)), limits


def _pick_segment(classes: tuple[str, ...], st: State, n: int, rng: np.random.Generator, cfg: SynthConfig,
                  limits: tuple[float, float]) -> tuple[str, Track, State]:
    for motion in rng.permutation(np.array(classes)):
        out = segment(str(motion), st, n, rng, cfg, limits)
        if out is not None:
            return str(motion), out[0], out[1]
    tr, new = segment("stay", st, n, rng, cfg, limits)  # type: ignore[misc]
    return "stay", tr, new


def render_untrimmed(rng: np.random.Generator, cfg: SynthConfig, num_frames: int,
                     classes: tuple[str, ...] = TAL_CLASSES, seg_len: tuple[int, int] = (12, 28),
                     gap_len: tuple[int, int] = (4, 20)) -> tuple[np.ndarray, dict[str, Any]]:
    """A long video: one main object alternating still gaps and action segments, plus ``cfg.clutter``
    still distractors.

    Returns frames uint8 ``[num_frames, H, W, 3]`` and meta with ``segments``: list of
    ``(start_frame, end_frame_exclusive, label)`` (never "stay"), shape, colour, ``boxes`` ``[T, 4]``."""
    st, limits = _first_state(rng, cfg)
    parts: list[Track] = []
    segments: list[tuple[int, int, str]] = []
    t = 0
    while t < num_frames:
        gap = int(rng.integers(gap_len[0], gap_len[1] + 1))
        gap = min(gap, num_frames - t)
        tr, st = segment("stay", st, gap, rng, cfg, limits)  # type: ignore[misc]
        parts.append(tr)
        t += gap
        n = int(rng.integers(seg_len[0], seg_len[1] + 1))
        if num_frames - t < seg_len[0] + 1:
            if num_frames - t > 0:
                tr, st = segment("stay", st, num_frames - t, rng, cfg, limits)  # type: ignore[misc]
                parts.append(tr)
            break
        n = min(n, num_frames - t - 1)
        motion, tr, st = _pick_segment(classes, st, n, rng, cfg, limits)
        parts.append(tr)
        if motion != "stay":
            segments.append((t, t + n, motion))
        t += n
    track = concat_tracks(parts)
    shape, colour = str(rng.choice(SHAPES)), str(rng.choice(list(COLOURS)))
    distractors = pick_distractors(rng, cfg.replace(clutter_moving=0.0), cfg.clutter, (shape, colour),
                                   float(track.r.min()), num_frames)
    frames, boxes, kind = render_scene([*distractors, SceneObject(shape, COLOURS[colour], track)], rng, cfg,
                                       num_frames)
    meta = {"segments": segments, "shape": shape, "colour": colour, "background": kind,
            "num_frames": num_frames, "boxes": np.round(boxes[-1] / cfg.size, 4)}
    return frames, meta


def render_multi_object(rng: np.random.Generator, cfg: SynthConfig, num_segments: int, seg_frames: int,
                        num_objects: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Several objects, each changing its action every ``seg_frames`` frames: per segment one translation
    from :data:`AVA_TRANSLATIONS` and, with probability 1/2, a simultaneous rotation.

    Returns frames uint8 ``[num_segments * seg_frames, H, W, 3]`` and meta with ``objects``: per object
    shape, colour, ``boxes`` ``[T, 4]`` (normalised x1, y1, x2, y2) and ``actions``: per segment a list of
    labels."""
    objects: list[SceneObject] = []
    used: set[tuple[str, str]] = set()
    for _ in range(num_objects):
        while True:
            shape, colour = str(rng.choice(SHAPES)), str(rng.choice(list(COLOURS)))
            if (shape, colour) not in used:
                used.add((shape, colour))
                break
        st, limits = _first_state(rng, cfg)
        parts, actions = [], []
        for _ in range(num_segments):
            motion, tr, st_after = _pick_segment(AVA_TRANSLATIONS, st, seg_frames, rng, cfg, limits)
            labels = [motion]
            if rng.random() < 0.5:
                spin = str(rng.choice(AVA_ROTATIONS))
                rot, _ = segment(spin, st, seg_frames, rng, cfg, limits)  # type: ignore[misc]
                tr.angle = rot.angle
                st_after.angle = float(rot.angle[-1])
                labels.append(spin)
            parts.append(tr)
            actions.append(labels)
            st = st_after
        objects.append(SceneObject(shape, COLOURS[colour], concat_tracks(parts),
                                   {"shape": shape, "colour": colour, "actions": actions}))
    total = num_segments * seg_frames
    frames, boxes, kind = render_scene(objects, rng, cfg, total)
    metas = [{**o.meta, "boxes": np.round(b / cfg.size, 4)} for o, b in zip(objects, boxes)]
    return frames, {"objects": metas, "background": kind, "num_frames": total, "seg_frames": seg_frames}
