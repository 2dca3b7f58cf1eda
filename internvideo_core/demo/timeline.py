"""The demo's action timeline tab: snippet features of an untrimmed video through notebook 08's encoder, its
localization head, and the detected segments drawn on a timeline (with the ground truth beneath for a rendered
SynthMotion example).

    tab = ActionTimeline(service)                         # the DemoService of the page (file checks, clips)
    ref, truth = tab.render_example()                     # "example:<name>" of an untrimmed SynthMotion video
    picture, table, detections = tab.detect(ref, min_score=0.3)

Problems the visitor can act on raise :class:`~internvideo_core.demo.service.DemoError` with a readable message
(no server path). The model is notebook 08's head (``runs/checkpoints/<profile>/tal_synth_head.safetensors``,
see :mod:`internvideo_core.recipes.tal_synth.export`) with the encoder it names; the video is resampled to the
head's frame rate (8 fps) and scaled to the encoder's input before its snippets are encoded.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from internvideo_core.demo.service import EXAMPLE_PREFIX, DemoError

__all__ = ["ActionTimeline", "draw_timeline", "MAX_SECONDS"]

#: Longest video the tab localizes actions in (seconds).
MAX_SECONDS = 600.0
_CHUNK = 64  # frames decoded at a time
_TABLE_ROWS = 30  # segments listed in the table (all are drawn)


def _pack_lanes(segments: Sequence[dict[str, Any]], max_lanes: int) -> list[tuple[int, dict[str, Any]]]:
    """Greedy: each segment (best score first) goes to the first lane where it overlaps nothing; segments that
    fit no lane are left out. Returns ``[(lane, segment)]``."""
    lanes: list[list[tuple[float, float]]] = [[] for _ in range(max_lanes)]
    out = []
    for d in sorted(segments, key=lambda d: -d["score"]):
        s, e = d["segment"]
        for k, lane in enumerate(lanes):
            if all(e <= a or s >= b for a, b in lane):
                lane.append((s, e))
                out.append((k, d))
                break
    return out


def draw_timeline(detections: Sequence[dict[str, Any]], duration: float, classes: Sequence[str],
                  truth: Sequence[dict[str, Any]] | None = None, title: str = "", max_lanes: int = 3) -> np.ndarray:
    """A timeline picture uint8 ``[H, W, 3]``: detections (``{"label", "score", "segment": [s, e]}``) packed into
    at most ``max_lanes`` rows without overlaps (best first; opacity and text = score), the ground-truth segments
    (``{"label", "segment"}``) in a row beneath when given; colour = class."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    import matplotlib

    colours = matplotlib.colormaps["tab10"](np.arange(10))
    colour = {c: colours[i % 10] for i, c in enumerate(classes)}
    placed = _pack_lanes(detections, max_lanes)
    n_lanes = max([k + 1 for k, _ in placed], default=1)
    rows = n_lanes + (1 if truth is not None else 0)
    height = 0.55 * rows + 1.5                                  # inches: lanes + title, axis label and legend
    fig = Figure(figsize=(10, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    top = rows
    for k, d in placed:
        s, e = d["segment"]
        y = top - 1 - k
        ax.broken_barh([(s, e - s)], (y + 0.1, 0.8), color=colour.get(d["label"], "grey"),
                       alpha=float(np.clip(0.35 + 0.65 * d["score"], 0, 1)), edgecolor="k", linewidth=0.4)
        if e - s >= 0.06 * duration:                            # text only where it fits
            ax.text((s + e) / 2, y + 0.5, f"{d['label']}\n{d['score']:.2f}", ha="center", va="center", fontsize=6,
                    clip_on=True)
    ticks, names = [top - 1 - k + 0.5 for k in range(n_lanes)], ["detected"] + [""] * (n_lanes - 1)
    if truth is not None:
        for g in truth:
            s, e = g["segment"]
            ax.broken_barh([(s, e - s)], (0.1, 0.8), color=colour.get(g["label"], "grey"), edgecolor="k",
                           linewidth=0.4, hatch="//")
            if e - s >= 0.06 * duration:
                ax.text((s + e) / 2, 0.5, g["label"], ha="center", va="center", fontsize=6, clip_on=True)
        ax.axhline(1.0, color="k", linewidth=0.8)
        ticks, names = ticks + [0.5], names + ["ground truth"]
    ax.set_yticks(ticks, names)
    ax.set_xlim(0, max(duration, 1e-3))
    ax.set_ylim(0, rows)
    ax.set_xlabel("seconds")
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    fig.legend(handles=[Patch(color=colour[c], label=c) for c in classes], loc="lower center",
               ncol=min(5, len(classes)), fontsize=7)
    fig.subplots_adjust(left=0.12, right=0.98, bottom=1.05 / height, top=1 - 0.3 / height)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


class ActionTimeline:
    """State and actions of the tab (the head and its encoder are loaded once, on first use)."""

    def __init__(self, service: Any, profile: str | None = None) -> None:
        self.service = service
        self.profile = profile or getattr(service, "profile", "tutorial")
        self._loaded: Any = None
        self._truth: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.RLock()

    def checkpoint(self) -> Path:
        from internvideo_core.recipes.tal_synth import head_checkpoint_path

        return head_checkpoint_path(self.profile)

    def _command(self) -> str:
        return f"`internvideo notebooks run --profile {self.profile} --only 08`"

    def status(self) -> str:
        """Markdown: which head serves the tab, or how to get one (no server path)."""
        name = self.checkpoint().name
        if self.checkpoint().is_file():
            return (f"Model: the tutorial localization head of notebook 08 (`{name}`, profile {self.profile}) on "
                    "snippet features of notebook 03's fine-tuned VideoMAE encoder. Trained on untrimmed SynthMotion "
                    "videos only, it knows nine motions of a coloured shape (move left/right/up/down, rotate "
                    "clockwise/counterclockwise, grow, shrink, bounce), **not** real-world actions: on real footage its segments only show the pipeline "
                    "working.")
        return (f"**No localization head yet** (`{name}` is missing from the profile's checkpoints). Train one with "
                f"{self._command()} (a few minutes on a CPU); the other tabs work without it.")

    def model(self):
        """The :class:`~internvideo_core.recipes.tal_synth.TimelineModel`; :class:`DemoError` saying what to run
        when the head or its encoder is missing or does not match."""
        from internvideo_core.recipes.tal_synth import TimelineModelError, load_timeline_model

        with self._lock:
            if self._loaded is None:
                try:
                    tm = load_timeline_model(self.profile)
                except TimelineModelError as err:
                    raise DemoError(f"The action timeline needs notebook 08's localization head: {err}") from None
                tm.head.to(self.service.device)
                tm.encoder.to(self.service.device)
                self._loaded = tm
            return self._loaded

    # ------------------------------------------------------------------------------------------ example
    def render_example(self, index: int = 0, seed: int = 0) -> tuple[str, list[dict[str, Any]]]:
        """Render validation video ``index`` of the ``tal`` part of SynthMotion as notebook 08 renders it (mp4 in
        the example folder, registered as an example of the service): ``("example:<name>", ground truth
        [{"label", "segment": [start_s, end_s]}])``. Needs no model."""
        from internvideo_core.data.synthmotion_plan import CLIP_FNS, resolve_sizes
        from internvideo_core.data.synthmotion_writers import write_mp4
        from internvideo_core.demo.videos import ExampleClip
        from internvideo_core.recipes.tal_synth import get_recipe, synth_config

        r = get_recipe(self.profile)
        cfg = synth_config(r)
        _, sizes = resolve_sizes({"tal": r.tal_videos, "tal_frames": r.tal_frames})
        clip = CLIP_FNS["tal"](int(seed), "val", int(index), sizes, cfg)
        name = f"synthmotion_untrimmed_{self.profile}_s{seed}_{index}.mp4"
        folder = Path(self.service.example_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        with self._lock:
            if not path.exists():
                tmp = path.with_name(path.stem + ".tmp.mp4")
                write_mp4(tmp, clip.frames, cfg.fps)
                os.replace(tmp, path)
            truth = [{"label": lab, "segment": [round(s / cfg.fps, 3), round(e / cfg.fps, 3)]}
                     for s, e, lab in clip.meta["segments"]]
            if all(e.name != name for e in self.service.examples):
                self.service.examples.append(ExampleClip(
                    name, path, f"an untrimmed SynthMotion video with {len(truth)} actions", "SynthMotion untrimmed"))
            self._truth[EXAMPLE_PREFIX + name] = truth
        return EXAMPLE_PREFIX + name, truth

    def truth(self, ref: str | None) -> list[dict[str, Any]] | None:
        """The ground truth of a rendered example (``None`` for any other video)."""
        return self._truth.get(str(ref)) if ref else None

    # ------------------------------------------------------------------------------------------ inference
    def _resampled_frames(self, ref: str | os.PathLike, fps: float, short_side: int) -> tuple[torch.Tensor, str]:
        """The video at ``fps`` (nearest frames), short side scaled to ``short_side``: uint8 ``[T, h, w, 3]``, and
        its file name. Goes through the service's file checks; decodes ``_CHUNK`` frames at a time."""
        from internvideo_core.data.io import open_video
        from internvideo_core.data.transforms import frames_to_tensor, resize_short_side
        from internvideo_core.demo.videos import read_error_message

        clip = self.service.clip(ref)          # refuses files outside the uploads / examples; readable messages
        path, name = clip.path, clip.path.name
        n, src_fps = clip.num_frames, float(clip.info.fps or 0.0)
        if not src_fps or src_fps <= 0:
            raise DemoError(f"{name} reports no frame rate; re-encode it (e.g. ffmpeg -i in.avi -r 25 out.mp4).")
        duration = n / src_fps
        if duration > MAX_SECONDS:
            raise DemoError(f"{name} is {duration:.0f} s long; the demo localizes actions in videos of at most "
                            f"{MAX_SECONDS:.0f} s. Cut it first, or use `internvideo extract-features` and "
                            "`internvideo train-tal` on long videos.")
        count = max(1, int(np.floor(duration * fps + 1e-6)))
        idx = np.minimum(np.round(np.arange(count) * src_fps / fps).astype(np.int64), n - 1)
        out = []
        try:
            reader = open_video(path, num_threads=1, max_pixels=self.service.max_pixels)
            try:
                for c in range(0, len(idx), _CHUNK):
                    frames = reader.read(idx[c: c + _CHUNK].tolist())                     # uint8 [k, H, W, 3]
                    x = resize_short_side(frames_to_tensor(frames), short_side)            # [3, k, h, w] in 0..1
                    out.append(x.mul(255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 3, 0))
            finally:
                reader.close()
        except DemoError:
            raise
        except Exception as err:  # any decoder failure is shown, never a traceback
            raise DemoError(read_error_message(err, name)) from None
        return torch.cat(out), name

    def detect(self, ref: str | os.PathLike | None, min_score: float = 0.3, max_lanes: int = 3
               ) -> tuple[np.ndarray, str, list[dict[str, Any]]]:
        """Localize actions in the video ``ref`` (a path or ``"example:<name>"``): ``(timeline picture,
        Markdown table of the shown segments, every detection {"label", "score", "segment"} best first)``."""
        from internvideo_core.features import extract_video_features
        from internvideo_core.tal import TALVideo, predict_segments

        try:
            min_score = float(min_score)
        except (TypeError, ValueError):
            min_score = -1.0
        if not 0.0 <= min_score <= 1.0:
            raise DemoError("The minimum score must be a number from 0 to 1.")
        if ref is None or str(ref) == "":
            raise DemoError("No video yet: upload a clip, pick an example or render an untrimmed SynthMotion video.")
        tm = self.model()
        p = tm.protocol
        fps = float(p["fps"])
        frames, name = self._resampled_frames(ref, fps, int(p["short_side"]))
        with self._lock, torch.no_grad():
            feats = extract_video_features(tm.encoder, frames, fps=fps, clip_len=int(p["clip_len"]),
                                           frame_interval=int(p["frame_interval"]), stride=int(p["stride"]),
                                           size=int(p["size"]), short_side=int(p["short_side"]), pool=p["pool"],
                                           device=self.service.device, batch_size=64)
            video = TALVideo(name, tm.standardise(feats.features), fps, int(p["stride"]), feats.plan.span,
                             len(frames) / fps, np.zeros((0, 2)), np.zeros(0, dtype=np.int64))
            dets = predict_segments(tm.head, [video], tm.classes, device=self.service.device)[name]
        shown = [d for d in dets if d["score"] >= min_score]
        truth = self.truth(str(ref))
        picture = draw_timeline(shown, video.duration, tm.classes, truth, max_lanes=max_lanes,
                                title=f"{name}: detections scoring at least {min_score:.2f}")
        lanes = _pack_lanes(shown, max_lanes)
        rows = sorted((d for _, d in lanes), key=lambda d: d["segment"][0])
        table = ["| action | start (s) | end (s) | score |", "|---|---:|---:|---:|"]
        table += [f"| {d['label']} | {d['segment'][0]:.2f} | {d['segment'][1]:.2f} | {d['score']:.2f} |"
                  for d in rows[:_TABLE_ROWS]]
        if len(rows) > _TABLE_ROWS:
            table.append(f"| ... {len(rows) - _TABLE_ROWS} more | | | |")
        note = (f"{name}: {video.duration:.1f} s resampled to {fps:g} fps, {len(video.feats)} snippets of "
                f"{p['clip_len']} frames every {p['frame_interval']} (one every {p['stride']} frames); "
                f"{len(dets)} detections after soft-NMS, {len(shown)} score at least {min_score:.2f}, {len(rows)} "
                "shown (at most "
                f"{max_lanes} rows without overlaps, best first).")
        if not rows:
            table = [f"No segment scores at least {min_score:.2f}; lower the minimum score."]
        if truth is not None:
            table += ["", "Ground truth: " + ", ".join(f"{g['label']} {g['segment'][0]:.2f}-{g['segment'][1]:.2f} s"
                                                       for g in truth)]
        return picture, note + "\n\n" + "\n".join(table), dets
