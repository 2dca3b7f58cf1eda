"""One object per demo process: examples, model choices, cached models, clips and gallery embeddings.

Every public method takes plain values (a video path, widget values) and returns plain values the page can
show (numpy pictures, ``{label: probability}`` dicts, Markdown). Problems the visitor can act on (an unreadable
file, a missing model, an empty label list) raise :class:`DemoError` with a readable message; the page shows
that message instead of a traceback.

    service = DemoService(profile="tutorial", full=False)
    info, frames = service.preview("data/videos/arm_wrestling_demo.mp4")
    top5 = service.recognize("data/videos/arm_wrestling_demo.mp4")
"""
from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from internvideo_core.data.io import VideoReadError
from internvideo_core.demo import tasks
from internvideo_core.demo.models import (
    TASK_TITLES, TASKS, DemoModel, ModelChoice, ModelUnavailable, choose_model, load_model, video_text_defaults,
)
from internvideo_core.demo.videos import (
    ExampleClip, VideoClip, bundled_examples, display_indices, mosaic, read_error_message,
    render_synth_examples,
)

__all__ = ["DemoError", "DemoService"]


class DemoError(RuntimeError):
    """A problem to show to the visitor (the message is complete and readable)."""


class DemoService:
    """The demo's state and actions.

    Args:
        profile: tutorial checkpoints are looked up under ``runs/checkpoints/<profile>/``.
        full: prefer released checkpoints already in the kit cache (see :func:`~.models.choose_model`).
        synth_examples: how many SynthMotion example clips to render (written as mp4 under ``example_dir``).
        example_dir: where the rendered clips go (default: a fresh temporary folder).
        seed: seed of the rendered clips.
        device: where the models run (default: ``cuda`` when available, else ``cpu``).
    """

    def __init__(self, profile: str = "tutorial", full: bool = False, synth_examples: int = 8,
                 example_dir: str | os.PathLike | None = None, seed: int = 0, device: str | None = None) -> None:
        self.profile, self.full = profile, full
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.example_dir = Path(example_dir) if example_dir else Path(tempfile.mkdtemp(prefix="internvideo_demo_"))
        self.examples: list[ExampleClip] = bundled_examples()
        if synth_examples > 0:
            self.examples += render_synth_examples(self.example_dir, synth_examples, seed=seed)
        self.choices: dict[str, ModelChoice] = {t: choose_model(t, profile, full) for t in TASKS}
        self._models: dict[str, DemoModel] = {}
        self._clips: OrderedDict[tuple[str, int, int], VideoClip] = OrderedDict()
        self._gallery: dict[str, tuple[list[ExampleClip], torch.Tensor]] = {}
        self._lock = threading.RLock()

    # ----------------------------------------------------------------------------------------- helpers
    def example(self, name: str) -> ExampleClip:
        for ex in self.examples:
            if ex.name == name:
                return ex
        raise DemoError(f"unknown example {name!r}; choose one of {[e.name for e in self.examples]}")

    def model_status(self, task: str) -> str:
        """Markdown line saying which model serves ``task`` and where it comes from (or what is missing)."""
        return self.choices[task].describe()

    def model(self, task: str) -> DemoModel:
        """The loaded model of ``task`` (loaded once, then cached); :class:`DemoError` when there is none."""
        with self._lock:
            if task not in self._models:
                try:
                    self._models[task] = load_model(self.choices[task], self.device)
                except ModelUnavailable as err:
                    raise DemoError(str(err)) from None
            return self._models[task]

    def clip(self, path: str | os.PathLike | None) -> VideoClip:
        """The opened video at ``path`` (cached by path, size and modification time)."""
        if path is None or str(path) == "":
            raise DemoError("No video yet: upload a clip or pick an example.")
        path = Path(path)
        try:
            st = path.stat()
            key = (str(path), st.st_size, st.st_mtime_ns)
        except OSError:
            key = (str(path), -1, -1)
        with self._lock:
            if key in self._clips:
                self._clips.move_to_end(key)
                return self._clips[key]
            try:
                clip = VideoClip(path)
            except VideoReadError as err:
                raise DemoError(read_error_message(err, path.name)) from None
            except Exception as err:  # any decoder failure is shown, never a traceback
                raise DemoError(read_error_message(err, path.name)) from None
            self._clips[key] = clip
            while len(self._clips) > 16:
                self._clips.popitem(last=False)
            return clip

    def _frames(self, clip: VideoClip, indices: np.ndarray) -> torch.Tensor:
        try:
            with self._lock:
                return clip.frames(indices)
        except VideoReadError as err:
            raise DemoError(read_error_message(err, clip.path.name)) from None

    def _input(self, task: str, path: str | os.PathLike | None) -> tuple[DemoModel, torch.Tensor]:
        m = self.model(task)
        clip = self.clip(path)
        frames = self._frames(clip, m.frame_indices(clip.num_frames))
        return m, m.preprocess(frames)

    # ----------------------------------------------------------------------------------------- actions
    def preview(self, path: str | os.PathLike | None, count: int = 8) -> tuple[str, list[tuple[np.ndarray, str]]]:
        """``(Markdown description, [(frame uint8 [H, W, 3], "frame i"), ...])`` of ``count`` evenly spaced
        frames (only those are decoded)."""
        clip = self.clip(path)
        idx = display_indices(clip.num_frames, count)
        frames = self._frames(clip, idx).numpy()
        i = clip.info
        size = f"{i.width}x{i.height}" + (f" (shown {i.display_width}x{i.display_height})"
                                           if (i.display_width, i.display_height) != (i.width, i.height) else "")
        info = (f"**{Path(path).name}**: {i.num_frames} frames, {i.fps:g} fps ({i.duration:.1f} s), {size}, "
                f"{i.codec or 'unknown codec'}, decoded with {i.backend}; showing frames {idx.tolist()}")
        return info, [(f, f"frame {k}") for f, k in zip(frames, idx.tolist())]

    def recognize(self, path: str | os.PathLike | None, k: int = 5) -> dict[str, float]:
        """Top-``k`` ``{class: probability}`` of the recognition model."""
        m, x = self._input("recognition", path)
        with self._lock:
            return tasks.top_k(tasks.classify(m.model, x), m.classes, k)

    def zero_shot(self, path: str | os.PathLike | None, labels_text: str, templates_text: str = "") -> dict[str, float]:
        """``{label: probability}`` over the comma-separated candidate labels (prompt templates one per line;
        empty = the model's default templates)."""
        labels = tasks.parse_labels(labels_text)
        if len(labels) < 2:
            raise DemoError("Give at least two candidate labels, separated by commas.")
        m = self.model("video_text")
        try:
            templates = tasks.parse_templates(templates_text) if templates_text.strip() else list(m.templates or ["{}"])
        except ValueError as err:
            raise DemoError(str(err)) from None
        m, x = self._input("video_text", path)
        with self._lock:
            probs = tasks.zero_shot(m.model, x, labels, templates, m.tokenize)
        return dict(sorted(zip(labels, probs.tolist()), key=lambda kv: -kv[1]))

    def gallery(self) -> tuple[list[ExampleClip], torch.Tensor]:
        """The retrieval gallery (every readable example) and its video embeddings ``[N, E]`` (computed once)."""
        m = self.model("video_text")
        with self._lock:
            if m.choice.name not in self._gallery:
                clips, embs = [], []
                for ex in self.examples:
                    try:
                        _, x = self._input("video_text", ex.path)
                    except DemoError:
                        continue
                    clips.append(ex)
                    embs.append(tasks.encode_video(m.model, x))
                if not clips:
                    raise DemoError("No example video could be read for the retrieval gallery.")
                self._gallery[m.choice.name] = (clips, torch.stack(embs))
            return self._gallery[m.choice.name]

    def retrieve(self, query: str, k: int = 4) -> tuple[np.ndarray, str, list[tuple[str, float]]]:
        """Rank the gallery by similarity to ``query``: ``(picture of the top k clips, one row of frames each;
        Markdown table of every clip; [(clip name, cosine)] best first)``."""
        query = " ".join((query or "").split())
        if not query:
            raise DemoError("Type a text query, e.g. 'a red circle moves to the left'.")
        m = self.model("video_text")
        clips, embs = self.gallery()
        with self._lock:
            text = tasks.encode_text(m.model, [query], m.tokenize)[0]
        order, sims = tasks.rank_videos(text, embs)
        ranking = [(clips[i].name, float(sims[i])) for i in order.tolist()]
        rows = []
        for rank, i in enumerate(order[:k].tolist(), 1):
            clip = self.clip(clips[i].path)
            frames = self._frames(clip, display_indices(clip.num_frames, 4)).numpy()
            rows.append((f"{rank}. {clips[i].name} (cosine {float(sims[i]):.3f})", frames))
        table = ["| rank | clip | shows | cosine |", "|---:|---|---|---:|"]
        table += [f"| {r} | {clips[i].name} | {clips[i].caption} | {float(sims[i]):.3f} |"
                  for r, i in enumerate(order.tolist(), 1)]
        return mosaic(rows, count=4, cell=96, label_width=260), "\n".join(table), ranking

    def reconstruct(self, path: str | os.PathLike | None, ratio: float = 0.9, seed: int = 0
                    ) -> tuple[np.ndarray, str, tasks.Reconstruction]:
        """Mask and reconstruct the clip: ``(mosaic picture, Markdown summary, the Reconstruction)``."""
        if not 0.0 <= float(ratio) < 1.0:
            raise DemoError(f"The mask ratio must be in [0, 1), got {ratio}.")
        m, x = self._input("reconstruction", path)
        with self._lock:
            rec = tasks.reconstruct(m.model, x, float(ratio), int(seed), m.pixel_mean, m.pixel_std)
        t, h, w = rec.grid
        cell = 96 if rec.original.shape[1] < 96 else 128
        picture = mosaic([("input", rec.original), (f"tube mask {ratio:.0%}", rec.masked),
                          ("reconstruction (true tubelet mean/std)", rec.official),
                          ("reconstruction (mean/std from visible tubelets)", rec.from_visible)],
                         count=min(8, len(rec.original)), cell=cell)
        n_mask = int(rec.mask.sum())
        text = (f"{n_mask} of {rec.mask.numel()} tubelets masked ({t} x {h} x {w} grid, {rec.tubelet} frames x "
                f"{m.model.config.patch_size} px each); normalised-pixel loss on the masked tubelets "
                f"{rec.loss:.3f}; pixel MSE on the masked area: {rec.error_official:.4f} with the true tubelet "
                f"mean/std (the official VideoMAE figure), {rec.error_from_visible:.4f} with statistics "
                "interpolated from the visible tubelets only.")
        return picture, text, rec

    def describe_models(self) -> str:
        """Markdown list: every task and its model source."""
        return "\n".join(f"- {TASK_TITLES[t]}: {self.model_status(t)}" for t in TASKS)

    def protocol(self, task: str) -> str:
        """The loaded model's input protocol (loads the model), or '' when the task has no model."""
        try:
            return self.model(task).protocol
        except DemoError:
            return ""

    def defaults(self) -> dict[str, Any]:
        """Default widget values of the video-text tab (from the chosen model's kind, without loading it)."""
        labels, templates, query = video_text_defaults(self.choices["video_text"].kind)
        return {"labels": ", ".join(labels), "templates": "\n".join(templates), "query": query}
