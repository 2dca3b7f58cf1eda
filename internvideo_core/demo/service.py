"""One object per demo process: examples, model choices, cached models, clips and gallery embeddings.

Every public method takes plain values (a video path, widget values) and returns plain values the page can
show (numpy pictures, ``{label: probability}`` dicts, Markdown). Problems the visitor can act on (an unreadable
file, a missing model, an empty label list) raise :class:`DemoError` with a readable message; the page shows
that message instead of a traceback.

    service = DemoService(profile="tutorial", full=False)
    info, frames = service.preview(sample_video("arm_wrestling_demo.mp4"))
    top5 = service.recognize(sample_video("arm_wrestling_demo.mp4"))
"""
from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from internvideo_core.data.io import VideoReadError
from internvideo_core.demo import tasks
from internvideo_core.demo.models import (
    TASK_TITLES, TASKS, DemoModel, ModelChoice, ModelUnavailable, choose_model, load_model, video_text_defaults,
)
from internvideo_core.demo.videos import (
    MAX_PIXELS, STRIPED_ORIGIN, ExampleClip, VideoClip, bundled_examples, display_indices, mosaic,
    read_error_message, render_striped_examples, render_synth_examples,
)

__all__ = ["DemoError", "DemoService", "EXAMPLE_PREFIX", "CACHE_BYTES", "MAX_SEED", "clean_stale_demo_folders",
           "object_summary"]

#: A reference to an example clip (``"example:<name>"``): what the page keeps instead of a server path.
EXAMPLE_PREFIX = "example:"
#: The decoded frames of all cached clips together stay under this many bytes (least recently used go first).
CACHE_BYTES = 256 * 2**20
#: Mask seeds must lie in ``[0, MAX_SEED]`` (``torch.Generator.manual_seed`` takes 64-bit signed values).
MAX_SEED = 2**63 - 1
_DEMO_TMP = r"internvideo_demo_(?P<pid>\d+)_\w+"


def clean_stale_demo_folders(parent: str | os.PathLike | None = None) -> list[Path]:
    """Remove ``internvideo_demo_<pid>_*`` temporary folders of demo processes that are gone (in ``parent``,
    default the system temporary folder); returns them."""
    from internvideo_core.housekeeping import remove_stale

    return remove_stale(parent or tempfile.gettempdir(), _DEMO_TMP)


class DemoError(RuntimeError):
    """A problem to show to the visitor (the message is complete and readable)."""


class DemoService:
    """The demo's state and actions.

    Args:
        profile: tutorial checkpoints are looked up under ``runs/checkpoints/<profile>/``.
        full: prefer released checkpoints already in the kit cache (see :func:`~.models.choose_model`).
        synth_examples: how many SynthMotion example clips to render (written as mp4 under ``example_dir``).
        striped_examples: how many "striped" SynthMotion examples to render (the look the embedded autoencoder
            was trained on, for the reconstruction tab; :meth:`striped`).
        example_dir: where the rendered clips go (default: a fresh temporary folder
            ``internvideo_demo_<pid>_*``; those of demo processes that are gone are removed first).
        seed: seed of the rendered clips.
        device: where the models run (default: ``cuda`` when available, else ``cpu``).
        max_pixels: frames larger than this are scaled down while they are decoded.
        cache_bytes: bound of the decoded frames kept for reuse, all clips together.
        compile: on CUDA, compile each model's forward (``torch.compile``, in place) when it is loaded: the
            first request of each input shape compiles (tens of seconds), later ones run faster. Ignored on
            the CPU, where compiling costs more than the demo's few requests gain.
        checkpoints: ``--checkpoint`` values (paths or model names, see
            :func:`~internvideo_core.demo.user_checkpoint.checkpoint_choice`); each replaces the model of the
            task it serves.

    Which files may be opened: by default any path (library use, tests). :meth:`restrict_to` limits them to
    the examples and files under the given folders (the page passes Gradio's upload folder), checked on the
    real path (symlinks and ``..`` resolved).
    """

    def __init__(self, profile: str = "tutorial", full: bool = False, synth_examples: int = 8,
                 example_dir: str | os.PathLike | None = None, seed: int = 0, device: str | None = None,
                 max_pixels: int | None = MAX_PIXELS, cache_bytes: int = CACHE_BYTES, compile: bool = False,
                 checkpoints: Sequence[str] = (), striped_examples: int = 3) -> None:
        self.profile, self.full = profile, full
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.max_pixels, self.cache_bytes = max_pixels, int(cache_bytes)
        self.compile = bool(compile) and str(self.device).startswith("cuda")
        if example_dir is None:
            clean_stale_demo_folders()
            example_dir = tempfile.mkdtemp(prefix=f"internvideo_demo_{os.getpid()}_")
        self.example_dir = Path(example_dir)
        self.examples: list[ExampleClip] = bundled_examples()
        if synth_examples > 0:
            self.examples += render_synth_examples(self.example_dir, synth_examples, seed=seed)
        if striped_examples > 0:
            self.examples += render_striped_examples(self.example_dir, striped_examples, seed=seed)
        self.choices: dict[str, ModelChoice] = {t: choose_model(t, profile, full) for t in TASKS}
        if checkpoints:
            from internvideo_core.demo.user_checkpoint import checkpoint_choice

            for value in checkpoints:  # ValueError with one readable line for a bad value
                choice = checkpoint_choice(str(value), profile)
                self.choices[choice.task] = choice
        self._models: dict[str, DemoModel] = {}
        self._clips: OrderedDict[tuple[str, int, int], VideoClip] = OrderedDict()
        self._gallery: dict[str, tuple[list[ExampleClip], torch.Tensor]] = {}
        self._lock = threading.RLock()
        self._allowed_dirs: list[Path] | None = None

    # ----------------------------------------------------------------------------------------- file access
    def restrict_to(self, *folders: str | os.PathLike) -> None:
        """From now on open only the examples and files whose real path lies under one of ``folders``."""
        self._allowed_dirs = [Path(os.path.realpath(f)) for f in folders]

    def _allowed(self, real: Path) -> bool:
        if self._allowed_dirs is None:
            return True
        if any(real == Path(os.path.realpath(e.path)) for e in self.examples):
            return True
        return any(real.is_relative_to(d) for d in self._allowed_dirs)

    def resolve(self, ref: str | os.PathLike | None) -> Path:
        """The file behind ``ref``: an example reference ``"example:<name>"`` or a path (checked against
        :meth:`restrict_to`). :class:`DemoError` for nothing, an unknown example or a refused path; the
        message never reveals whether a refused file exists."""
        if ref is None or str(ref) == "":
            raise DemoError("No video yet: upload a clip or pick an example.")
        text = str(ref)
        if text.startswith(EXAMPLE_PREFIX):
            return self.example(text[len(EXAMPLE_PREFIX):]).path
        path = Path(text)
        if self._allowed_dirs is not None:
            real = Path(os.path.realpath(path))
            if not self._allowed(real):
                raise DemoError(f"{path.name} was not uploaded through this page: only uploaded files and the "
                                "examples can be opened. Upload the video with the file picker.")
        return path
    # ----------------------------------------------------------------------------------------- helpers
    def striped(self) -> list[ExampleClip]:
        """The striped SynthMotion examples (drawn like the embedded autoencoder's training clips)."""
        return [e for e in self.examples if e.origin == STRIPED_ORIGIN]

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
                    if self.compile:
                        self._models[task].model.compile(dynamic=False)
                except ModelUnavailable as err:
                    raise DemoError(str(err)) from None
            return self._models[task]

    def clip(self, path: str | os.PathLike | None) -> VideoClip:
        """The opened video at ``path`` (a path or ``"example:<name>"``, see :meth:`resolve`), cached by path,
        size and modification time; the cached frames of all clips stay under ``cache_bytes``."""
        path = self.resolve(path)
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
                clip = VideoClip(path, max_pixels=self.max_pixels)
            except VideoReadError as err:
                raise DemoError(read_error_message(err, path.name)) from None
            except Exception as err:  # any decoder failure is shown, never a traceback
                raise DemoError(read_error_message(err, path.name)) from None
            self._clips[key] = clip
            self._trim_cache()
            return clip

    def _trim_cache(self) -> None:
        """Drop least recently used clips while the decoded frames exceed ``cache_bytes`` or 16 clips."""
        with self._lock:
            while len(self._clips) > 1 and (len(self._clips) > 16 or self.cached_bytes() > self.cache_bytes):
                self._clips.popitem(last=False)

    def cached_bytes(self) -> int:
        """Bytes of decoded frames held by the clip cache."""
        with self._lock:
            return sum(c.nbytes for c in self._clips.values())

    def _frames(self, clip: VideoClip, indices: np.ndarray) -> torch.Tensor:
        try:
            with self._lock:
                frames = clip.frames(indices)
                self._trim_cache()
                return frames
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
        if clip.output_size != (i.width, i.height):
            size += f", decoded at {clip.output_size[0]}x{clip.output_size[1]} (the demo's pixel budget)"
        info = (f"**{clip.path.name}**: {i.num_frames} frames, {i.fps:g} fps ({i.duration:.1f} s), {size}, "
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
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= 100:
            raise DemoError(f"The number of clips to show must be a whole number from 1 to 100, got {k!r}.")
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
        try:
            ratio_ok = 0.0 <= float(ratio) < 1.0
        except (TypeError, ValueError):
            ratio_ok = False
        if not ratio_ok:
            raise DemoError(f"The mask ratio must be in [0, 1), got {ratio!r}.")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= MAX_SEED:
            raise DemoError(f"The mask seed must be a whole number from 0 to 2**63 - 1, got {seed!r}.")
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
        return picture, object_summary(rec) + " " + text, rec

    def reconstruction_note(self) -> str:
        """Markdown for the reconstruction tab: what the (embedded) autoencoder was trained on, and which examples
        show it at work."""
        choice = self.choices["reconstruction"]
        if choice.kind != "embedded":
            return ""
        from internvideo_core.embedded import embedded_card

        metrics = embedded_card(choice.name).get("metrics") or {}
        text = ("The embedded autoencoder was trained on SynthMotion clips in the **striped** look (notebook 02's "
                "reconstruction clips): each object is cut out of vertical stripes fixed to the frame, one patch "
                "per period at the model's input size, so every tubelet inside an object holds the same "
                "normalised pattern and the visible tubelets give it away. The flat one-colour examples have "
                "nothing inside an object to predict (only its edges, which the few visible tubelets rarely "
                "show), so there it does no better than the mean patch.")
        if "object_ratio_to_mean_patch" in metrics and "flat_object_ratio_to_mean_patch" in metrics:
            text += (f" Held-out, model / mean-patch error on the masked object tubelets: "
                     f"**{metrics['object_ratio_to_mean_patch']}** on striped clips, "
                     f"{metrics['flat_object_ratio_to_mean_patch']} on flat ones.")
        if self.striped():
            text += " Press **Reconstruct a striped example** to see it."
        return text

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


def object_summary(rec: tasks.Reconstruction) -> str:
    """One Markdown sentence: the model's error on the masked object tubelets against the mean-patch baseline
    (``""`` for a model without normalised-pixel targets)."""
    if rec.object_tubelets is None:
        return ""
    if rec.object_tubelets == 0:
        return "No masked tubelet holds part of the object (nothing but flat background is hidden)."
    return (f"On the {rec.object_tubelets} masked **object tubelets** (normalised value above 0.5 somewhere: "
            f"the object's edges and stripes) the model's error is **{rec.object_loss:.3f}** against "
            f"{rec.object_mean_patch:.3f} for the mean-patch baseline (predict each tubelet's own mean): "
            f"model / mean-patch = **{rec.object_ratio:.3f}**.")
