"""Example clips, frame reading with a per-video cache, user-facing read errors, and picture mosaics.

Examples come from two places:

- the real files shipped in ``internvideo_core/assets/videos`` (see ``assets/ATTRIBUTION.md``): :func:`bundled_examples`;
- SynthMotion clips the kit renders on the spot (one object, one motion, a caption that says which) and writes
  as small H.264 mp4 files so that every example, like an upload, is a file read through
  :mod:`internvideo_core.data.io`: :func:`render_synth_examples`.

:class:`VideoClip` opens a file once and decodes only the frames asked for (each frame at most once).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from internvideo_core.data.io import (
    BackendUnavailableError, CorruptVideoError, EmptyVideoFileError, FrameIndexError, NotAVideoError,
    NoVideoFramesError, VideoInfo, VideoNotFoundError, VideoReadError, open_video,
)

__all__ = [
    "VIDEO_SUFFIXES", "MAX_PIXELS", "ExampleClip", "bundled_examples", "SYNTH_EXAMPLES", "render_synth_examples",
    "STRIPED_EXAMPLES", "STRIPED_ORIGIN", "render_striped_examples", "VideoClip",
    "read_error_message", "display_indices", "mosaic", "filmstrip",
]

#: File types the demo offers to upload (anything PyAV can open also works).
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".avi", ".webm", ".mkv", ".mov")

#: Pixel budget of a decoded frame (640 x 480): larger videos are scaled down while they are decoded, so an
#: 8K upload costs ~0.9 MB per frame instead of 100 MB (the models look at 224-256 px anyway).
MAX_PIXELS = 640 * 480

_BUNDLED_CAPTIONS = {
    "arm_wrestling_demo.mp4": "two people arm wrestling (a Kinetics-style clip)",
    "demo_spatiotemporal_det.mp4": "people in a room (a spatio-temporal detection demo clip)",
    "test.mp4": "a short real clip (mmaction2 test data)",
    "test.avi": "the same kind of clip in an AVI container",
    "synthmotion_move_down_green_triangle.mp4": "a green triangle moves down (a SynthMotion clip shipped with the kit)",
}

#: (motion, shape, colour) of the SynthMotion examples, in the order they are offered.
SYNTH_EXAMPLES: tuple[tuple[str, str, str], ...] = (
    ("move left", "circle", "red"),
    ("move right", "square", "blue"),
    ("rotate clockwise", "star", "green"),
    ("grow", "triangle", "yellow"),
    ("move up", "hexagon", "orange"),
    ("fade out", "diamond", "purple"),
    ("bounce", "cross", "cyan"),
    ("shrink", "circle", "white"),
    ("move down", "star", "red"),
    ("rotate counterclockwise", "square", "green"),
    ("fade in", "triangle", "blue"),
    ("stay", "hexagon", "yellow"),
)
#: (motion, shape, colour) of the "striped" SynthMotion examples: drawn in the look the embedded autoencoder was
#: trained on (:data:`internvideo_core.embedded.STRIPED_LOOK`); no (colour, shape) of :data:`SYNTH_EXAMPLES` doing
#: the same motion, so that retrieval of those examples' captions is not confused by them.
STRIPED_EXAMPLES: tuple[tuple[str, str, str], ...] = (
    ("move right", "hexagon", "red"),
    ("rotate clockwise", "square", "yellow"),
    ("move up", "circle", "cyan"),
)
#: ``ExampleClip.origin`` of the striped examples.
STRIPED_ORIGIN = "SynthMotion (striped)"


@dataclass(frozen=True)
class ExampleClip:
    """A ready-made input: ``name`` (shown in the picker), ``path``, ``caption`` (what it shows), ``origin``."""

    name: str
    path: Path
    caption: str
    origin: str


def bundled_examples(folder: str | os.PathLike | None = None) -> list[ExampleClip]:
    """The real sample videos shipped with the kit (:func:`internvideo_core.paths.videos_dir`) or those of
    ``folder``, sorted by name (missing folder: none)."""
    from internvideo_core.paths import videos_dir

    root = Path(folder) if folder is not None else videos_dir()
    if not root.is_dir():
        return []
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    return [ExampleClip(p.name, p, _BUNDLED_CAPTIONS.get(p.name, "a bundled sample video"), "bundled")
            for p in files]


def render_synth_examples(folder: str | os.PathLike, count: int = 8, seed: int = 0, size: int = 64,
                          num_frames: int = 16) -> list[ExampleClip]:
    """Render the first ``count`` of :data:`SYNTH_EXAMPLES` as mp4 files in ``folder`` (re-used when present).

    Clips are ``num_frames`` frames of ``size`` x ``size`` px at 8 fps, drawn as the embedded models' training
    clips (:data:`internvideo_core.embedded.SYNTH_LOOK`: plain background, no noise, large objects); the caption
    is the canonical sentence, e.g. "a red circle moves to the left".
    """
    from internvideo_core.embedded import SYNTH_LOOK

    return _render_examples(folder, SYNTH_EXAMPLES[:count], SYNTH_LOOK, "plain", "SynthMotion", seed, size, num_frames)


def render_striped_examples(folder: str | os.PathLike, count: int = 3, seed: int = 0, size: int = 64,
                            num_frames: int = 16) -> list[ExampleClip]:
    """Render the first ``count`` of :data:`STRIPED_EXAMPLES` as mp4 files in ``folder`` (re-used when present),
    drawn in the embedded autoencoder's training look (:data:`internvideo_core.embedded.STRIPED_LOOK`: the object
    cut out of vertical stripes fixed to the frame, larger, no marker); origin :data:`STRIPED_ORIGIN`, caption e.g.
    "a red striped hexagon moves to the right"."""
    from internvideo_core.embedded import STRIPED_LOOK

    return _render_examples(folder, STRIPED_EXAMPLES[:count], STRIPED_LOOK, "striped", STRIPED_ORIGIN, seed, size,
                            num_frames)


def _render_examples(folder: str | os.PathLike, examples: Sequence[tuple[str, str, str]], look: dict, tag: str,
                     origin: str, seed: int, size: int, num_frames: int) -> list[ExampleClip]:
    from internvideo_core.data.synthmotion import SynthConfig, render_clip
    from internvideo_core.data.synthmotion_annotations import MOTION_PHRASES
    from internvideo_core.data.synthmotion_writers import write_mp4

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = SynthConfig(size=size, num_frames=num_frames, **look)
    plain = tag == "plain"
    out = []
    for i, (motion, shape, colour) in enumerate(examples):
        kind = "" if plain else f"{tag}_"
        name = f"synthmotion_{kind}{motion.replace(' ', '_')}_{colour}_{shape}.mp4"
        path = folder / f"s{seed}_{size}px_{num_frames}f_{tag}_{name}"
        if not path.exists():
            rng = np.random.default_rng([seed, 2024, i] if plain else [seed, 2024, 1000 + i])
            frames, _ = render_clip(motion, rng, cfg, shape=shape, colour=colour)
            tmp = path.with_name(path.stem + ".tmp.mp4")
            write_mp4(tmp, frames, cfg.fps)
            os.replace(tmp, path)
        article = "an" if colour[0] in "aeiou" else "a"
        words = f"{colour} {shape}" if plain else f"{colour} {tag} {shape}"
        out.append(ExampleClip(name, path, f"{article} {words} {MOTION_PHRASES[motion][0]}", origin))
    return out


class VideoClip:
    """An opened video that decodes each requested frame once: ``frames(indices) -> uint8 [K, H, W, 3]``.

    Frames larger than ``max_pixels`` are scaled down at decode time (``None``: coded size);
    ``output_size`` is the delivered ``(width, height)`` and ``nbytes`` what the decoded frames hold.
    Opening raises :class:`~internvideo_core.data.io.VideoReadError` for missing, empty, non-video or broken
    files (see :func:`read_error_message`).
    """

    def __init__(self, path: str | os.PathLike, max_pixels: int | None = MAX_PIXELS) -> None:
        self.path = Path(path)
        self._reader = open_video(self.path, num_threads=1, max_pixels=max_pixels)
        self.info: VideoInfo = self._reader.info
        self.output_size: tuple[int, int] = self._reader.output_size
        self._cache: dict[int, torch.Tensor] = {}

    @property
    def nbytes(self) -> int:
        """Bytes held by the decoded frames."""
        return sum(f.numel() * f.element_size() for f in self._cache.values())

    @property
    def num_frames(self) -> int:
        return self.info.num_frames

    def frames(self, indices: Sequence[int] | np.ndarray) -> torch.Tensor:
        """Frames at ``indices`` (any order, repeats allowed) -> uint8 ``[K, H, W, 3]``."""
        idx = [int(i) for i in np.asarray(indices).reshape(-1)]
        todo = sorted({i for i in idx if i not in self._cache})
        if todo:
            for i, frame in zip(todo, self._reader.read(todo)):
                self._cache[i] = frame
        return torch.stack([self._cache[i] for i in idx])

    @property
    def decoded(self) -> int:
        """How many distinct frames have been decoded so far."""
        return len(self._cache)


_SAFE_PROBLEMS: tuple[tuple[type, str, str], ...] = (
    (VideoNotFoundError, "no such file", "upload it again"),
    (EmptyVideoFileError, "the file is empty (0 bytes)", "upload the complete file"),
    (NotAVideoError, "it is not a video file", "upload an mp4, avi, webm, mkv or mov video"),
    (NoVideoFramesError, "it holds no video frames", "upload a file with a video track"),
    (FrameIndexError, "a frame it should hold is missing", "re-encode the file"),
    (CorruptVideoError, "the file is damaged or truncated", "re-encode it or upload it again"),
    (BackendUnavailableError, "no video decoder is installed", "pip install av"),
)


def read_error_message(err: BaseException, name: str | None = None) -> str:
    """One readable sentence for a file the demo cannot use (never a traceback).

    ``err``: usually a :class:`VideoReadError`; ``name``: the file name to show instead of the (temporary) path
    of an upload. The message is built from the kind of error only: it never quotes the file's contents or
    the decoder's words about them (a visitor could otherwise read a server file through the messages).
    """
    shown = name or (Path(err.path).name if isinstance(err, VideoReadError) and err.path else "the file")
    for kind, problem, hint in _SAFE_PROBLEMS:
        if isinstance(err, kind):
            return f"Cannot read {shown}: {problem}. {hint[0].upper()}{hint[1:]}."
    if isinstance(err, VideoReadError):
        return f"Cannot read {shown}: the video cannot be decoded. Re-encode it or try another file."
    return f"Cannot read {shown}: the decoder failed ({type(err).__name__})."


def display_indices(num_frames: int, count: int = 8) -> np.ndarray:
    """``count`` evenly spaced frame numbers of a ``num_frames``-frame video (fewer for short videos)."""
    return np.unique(np.linspace(0, num_frames - 1, min(count, num_frames)).round().astype(np.int64))


# ---------------------------------------------------------------------------------------------- pictures
def _to_hwc_uint8(frame: np.ndarray | torch.Tensor) -> np.ndarray:
    arr = frame.detach().cpu().numpy() if isinstance(frame, torch.Tensor) else np.asarray(frame)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    return arr


def _fit(frame: np.ndarray, cell: int) -> np.ndarray:
    """Scale a ``[H, W, 3]`` picture so that its height is ``cell`` (nearest for small, bilinear for large)."""
    from PIL import Image

    h, w = frame.shape[:2]
    width = max(1, round(w * cell / h))
    resample = Image.NEAREST if h < cell else Image.BILINEAR
    return np.asarray(Image.fromarray(frame).resize((width, cell), resample))


def filmstrip(frames: np.ndarray | torch.Tensor, count: int = 4, cell: int = 96, gap: int = 2) -> np.ndarray:
    """``count`` evenly spaced frames of ``uint8 [T, H, W, 3]`` side by side -> ``uint8 [cell, W', 3]``."""
    frames = _to_hwc_uint8(frames)
    pick = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    tiles = [_fit(frames[i], cell) for i in pick]
    width = sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1)
    out = np.full((cell, width, 3), 255, dtype=np.uint8)
    x = 0
    for t in tiles:
        out[:, x:x + t.shape[1]] = t
        x += t.shape[1] + gap
    return out


def mosaic(rows: Sequence[tuple[str, np.ndarray | torch.Tensor]], count: int = 8, cell: int = 96,
           label_width: int = 150) -> np.ndarray:
    """Rows of frames with a label on the left -> ``uint8 [len(rows) * (cell + 4), W, 3]``.

    ``rows``: ``(label, frames uint8 [T, H, W, 3] or float in [0, 1])``; ``count`` evenly spaced frames each.
    """
    from PIL import Image, ImageDraw

    strips = [filmstrip(frames, count, cell) for _, frames in rows]
    width = label_width + max(s.shape[1] for s in strips)
    canvas = Image.new("RGB", (width, len(rows) * (cell + 4)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, ((label, _), strip) in enumerate(zip(rows, strips)):
        y = r * (cell + 4)
        canvas.paste(Image.fromarray(strip), (label_width, y))
        lines = _wrap(label, max(8, label_width // 7))
        for k, line in enumerate(lines):
            draw.text((4, y + cell // 2 - 6 * len(lines) + 12 * k), line, fill="black")
    return np.asarray(canvas)


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return lines + ([line] if line else [])
