"""SynthMotion long videos for Ego4D episodic memory: many objects, many events, minutes of simulated time.

Each video shows ``num_objects`` shapes of distinct colours on a textured background. Events happen one at a time:
after a still gap, one object performs a motion (move left / right / up / down, rotate either way, grow, shrink)
while the others stay still. From the events we write

* natural-language queries (NLQ): for each (object, motion) that occurs, "when did the red triangle move left?";
  when it occurs more than once, two queries: "when did the red triangle first move left?" (the first occurrence)
  and "... last move left?" (the last one). The answer window is the event, in clip seconds;
* moment queries (MQ): every event is a moment whose label is its motion.

Everything is deterministic from ``(seed, split, index)``; :func:`write_ego4d_synthmotion` writes
``v1/annotations/{nlq,moments}_{train,val}.json`` in the official layout (:mod:`internvideo_core.data.ego4d_formats`)
and, optionally, ``v1/clips/<clip_uid>.mp4``.

    episodes = ego4d_episodes("train", "tutorial", seed=0)      # in memory: frames + events + queries
    nlq = nlq_json(episodes, "train")                         # the official nlq_train.json layout
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from internvideo_core.data.synthmotion_render import COLOURS, SHAPES, SceneObject, SynthConfig, render_scene
from internvideo_core.data.synthmotion_scenes import State, _first_state, _pick_segment, concat_tracks, segment

__all__ = [
    "EGO_MOTIONS", "EgoSizes", "EGO_PROFILES", "EgoEvent", "EgoQuery", "EgoEpisode", "render_episode",
    "ego4d_episodes", "nlq_json", "moments_json", "write_ego4d_synthmotion", "query_text",
]

#: Motions an event can have (the MQ labels).
EGO_MOTIONS: tuple[str, ...] = (
    "move left", "move right", "move up", "move down", "rotate clockwise", "rotate counterclockwise", "grow", "shrink",
)
NLQ_TEMPLATE = "Events: When did object X do Y (first / last)?"


@dataclass(frozen=True)
class EgoSizes:
    """Sizes of a profile: videos per split, frames per video at ``fps`` (simulated seconds = frames / fps),
    objects per video, event and gap lengths (frames), render size (px)."""

    train_videos: int
    val_videos: int
    num_frames: int
    fps: float = 2.0
    num_objects: int = 3
    event_len: tuple[int, int] = (16, 32)
    gap_len: tuple[int, int] = (4, 20)
    size: int = 48

    def count(self, split: str) -> int:
        if split not in ("train", "val"):
            raise ValueError(f"Ego4D SynthMotion has splits 'train' and 'val', not {split!r}")
        return self.train_videos if split == "train" else self.val_videos


EGO_PROFILES: dict[str, EgoSizes] = {
    "smoke": EgoSizes(train_videos=8, val_videos=4, num_frames=128),
    "tutorial": EgoSizes(train_videos=160, val_videos=40, num_frames=384),
    "full": EgoSizes(train_videos=1000, val_videos=200, num_frames=1440, size=96),
}


@dataclass(frozen=True)
class EgoEvent:
    """Object ``obj`` (index into the episode's objects) performs ``motion`` on frames ``[start, end)``."""

    obj: int
    motion: str
    start: int
    end: int


@dataclass(frozen=True)
class EgoQuery:
    """A query about event ``event`` (index): its text, which occurrence it asks for (``""``, ``"first"``,
    ``"last"``) and the answer window in frames ``[start, end)``."""

    text: str
    which: str
    obj: int
    motion: str
    event: int
    start: int
    end: int


@dataclass
class EgoEpisode:
    """One long video: uint8 ``frames [T, H, W, 3]``, objects ``[(shape, colour)]``, events and queries."""

    uid: str
    split: str
    frames: np.ndarray
    fps: float
    objects: list[tuple[str, str]]
    events: list[EgoEvent]
    queries: list[EgoQuery] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps


def query_text(colour: str, shape: str, motion: str, which: str = "") -> str:
    """``"when did the red triangle last move left?"`` (``which`` is ``""``, ``"first"`` or ``"last"``)."""
    words = ["when", "did", "the", colour, shape] + ([which] if which else []) + [motion]
    return " ".join(words) + "?"


def _queries(objects: list[tuple[str, str]], events: list[EgoEvent]) -> list[EgoQuery]:
    by_pair: dict[tuple[int, str], list[int]] = {}
    for i, ev in enumerate(events):
        by_pair.setdefault((ev.obj, ev.motion), []).append(i)
    out = []
    for (obj, motion), idx in sorted(by_pair.items(), key=lambda kv: kv[1][0]):
        shape, colour = objects[obj]
        asks = [("", idx[0])] if len(idx) == 1 else [("first", idx[0]), ("last", idx[-1])]
        for which, i in asks:
            ev = events[i]
            out.append(EgoQuery(query_text(colour, shape, motion, which), which, obj, motion, i, ev.start, ev.end))
    return out


def render_episode(seed: int, split: str, index: int, sizes: EgoSizes, cfg: SynthConfig | None = None) -> EgoEpisode:
    """Render video ``index`` of ``split`` (deterministic from ``(seed, split, index)``)."""
    rng = np.random.default_rng([seed, 4242, 0 if split == "train" else 1, index])
    cfg = (cfg or SynthConfig()).replace(size=sizes.size, radius=(0.09, 0.14), clutter=0, clutter_moving=0.0)
    colours = [str(c) for c in rng.choice(list(COLOURS), size=sizes.num_objects, replace=False)]
    objects = [(str(rng.choice(SHAPES)), c) for c in colours]
    states: list[State] = []
    limits: list[tuple[float, float]] = []
    for _ in objects:
        st, lim = _first_state(rng, cfg)
        states.append(st)
        limits.append(lim)
    parts: list[list[Any]] = [[] for _ in objects]
    events: list[EgoEvent] = []
    t, total = 0, sizes.num_frames

    def stay(n: int, skip: int = -1) -> None:
        for k in range(len(objects)):
            if k != skip:
                tr, states[k] = segment("stay", states[k], n, rng, cfg, limits[k])  # type: ignore[misc]
                parts[k].append(tr)

    while t < total:
        gap = min(int(rng.integers(sizes.gap_len[0], sizes.gap_len[1] + 1)), total - t)
        stay(gap)
        t += gap
        if total - t < sizes.event_len[0]:
            if total > t:
                stay(total - t)
            break
        n = min(int(rng.integers(sizes.event_len[0], sizes.event_len[1] + 1)), total - t)
        k = int(rng.integers(len(objects)))
        motion, tr, states[k] = _pick_segment(EGO_MOTIONS, states[k], n, rng, cfg, limits[k])
        parts[k].append(tr)
        stay(n, skip=k)
        if motion != "stay":
            events.append(EgoEvent(k, motion, t, t + n))
        t += n
    scene = [SceneObject(shape, COLOURS[colour], concat_tracks(p)) for (shape, colour), p in zip(objects, parts)]
    frames, _, _ = render_scene(scene, rng, cfg, total)
    uid = f"synth-{split}-{index:05d}"
    return EgoEpisode(uid, split, frames, sizes.fps, objects, events, _queries(objects, events))


def ego4d_episodes(split: str, profile_or_sizes: str | EgoSizes = "tutorial", seed: int = 0,
                   cfg: SynthConfig | None = None, limit: int | None = None) -> list[EgoEpisode]:
    """The episodes of a split in memory (``limit``: at most that many)."""
    sizes = EGO_PROFILES[profile_or_sizes] if isinstance(profile_or_sizes, str) else profile_or_sizes
    n = sizes.count(split) if limit is None else min(limit, sizes.count(split))
    return [render_episode(seed, split, i, sizes, cfg) for i in range(n)]


def _clip_entry(ep: EgoEpisode) -> dict[str, Any]:
    end = round(ep.duration, 3)
    return {"clip_uid": f"{ep.uid}-clip", "source_clip_uid": f"{ep.uid}-clip", "video_start_sec": 0.0,
            "video_end_sec": end, "video_start_frame": 0, "video_end_frame": ep.num_frames, "clip_start_sec": 0.0,
            "clip_end_sec": end, "clip_start_frame": 0, "clip_end_frame": ep.num_frames}


def _sec(frame: int, fps: float) -> float:
    return round(frame / fps, 4)


def nlq_json(episodes: Sequence[EgoEpisode], split: str, per_annotation: int = 3) -> dict[str, Any]:
    """The episodes' queries as ``nlq_{split}.json`` (annotations of up to ``per_annotation`` queries each, as in
    Ego4D where one annotator writes a few queries per clip)."""
    videos = []
    for ep in episodes:
        clip = _clip_entry(ep)
        anns = []
        for a in range(0, len(ep.queries), per_annotation):
            qs = []
            for q in ep.queries[a:a + per_annotation]:
                shape, colour = ep.objects[q.obj]
                s, e = _sec(q.start, ep.fps), _sec(q.end, ep.fps)
                qs.append({"clip_start_sec": s, "clip_end_sec": e, "video_start_sec": s, "video_end_sec": e,
                           "video_start_frame": q.start, "video_end_frame": q.end, "template": NLQ_TEMPLATE,
                           "query": q.text, "slot_x": f"{colour} {shape}", "verb_x": q.motion,
                           "slot_y": q.which or None, "verb_y": None, "raw_tags": [NLQ_TEMPLATE, q.text]})
            anns.append({"annotation_uid": f"{clip['clip_uid']}-nlq{a // per_annotation}", "language_queries": qs})
        videos.append({"video_uid": ep.uid, "split": split, "clips": [{**clip, "annotations": anns}]})
    return {"version": "v1", "date": "synthmotion", "description": f"SynthMotion NLQ {split}",
            "manifest": "synthmotion", "videos": videos}


def moments_json(episodes: Sequence[EgoEpisode], split: str) -> dict[str, Any]:
    """The episodes' events as ``moments_{split}.json`` (one annotator, every label primary)."""
    videos = []
    for ep in episodes:
        clip = _clip_entry(ep)
        labels = [{"label": ev.motion, "start_time": _sec(ev.start, ep.fps), "end_time": _sec(ev.end, ep.fps),
                   "video_start_time": _sec(ev.start, ep.fps), "video_end_time": _sec(ev.end, ep.fps),
                   "video_start_frame": ev.start, "video_end_frame": ev.end, "primary": True} for ev in ep.events]
        annotation = {"annotator_uid": "synthmotion", "labels": labels}
        videos.append({"video_uid": ep.uid, "split": split, "clips": [{**clip, "annotations": [annotation]}]})
    return {"version": "v1", "date": "synthmotion", "description": f"SynthMotion moments {split}",
            "manifest": "synthmotion", "videos": videos}


def write_ego4d_synthmotion(root: str | Path, profile_or_sizes: str | EgoSizes = "smoke", seed: int = 0,
                            videos: bool = True, cfg: SynthConfig | None = None) -> dict[str, Path]:
    """Write ``root/v1/annotations/{nlq,moments}_{train,val}.json`` and (``videos``) ``root/v1/clips/*.mp4``.

    Returns the paths of the four annotation files (keys ``nlq_train``, ``nlq_val``, ``moments_train``,
    ``moments_val``)."""
    from internvideo_core.data.ego4d_formats import write_ego4d_json
    from internvideo_core.data.synthmotion_writers import write_mp4

    root = Path(root)
    out: dict[str, Path] = {}
    for split in ("train", "val"):
        eps = ego4d_episodes(split, profile_or_sizes, seed, cfg)
        if videos:
            for ep in eps:
                write_mp4(root / "v1" / "clips" / f"{ep.uid}-clip.mp4", ep.frames, ep.fps)
        out[f"nlq_{split}"] = write_ego4d_json(root / "v1" / "annotations" / f"nlq_{split}.json", nlq_json(eps, split))
        out[f"moments_{split}"] = write_ego4d_json(root / "v1" / "annotations" / f"moments_{split}.json",
                                                   moments_json(eps, split))
    return out


