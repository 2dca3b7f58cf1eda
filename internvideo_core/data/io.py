"""Video reading: decord when it works, PyAV otherwise, and errors a person can act on.

    info = video_info("clip.mp4")                       # VideoInfo(num_frames=300, fps=30.0, ...)
    frames = read_video("clip.mp4", indices=[0, 8, 8])  # uint8 [3, H, W, 3], in the requested order
    with open_video("clip.mp4") as video:               # one open for metadata + several reads
        clip = video.read(sampler(video.info.num_frames))

Frame numbering: frame ``i`` is the ``i``-th picture the decoder delivers, in presentation order, counted
from the start of the file. Both backends use this definition (decord builds its index from the demuxed
packets; the PyAV reader counts decoded pictures), and on the kit's sample videos they deliver bit-identical
frames (``tests/test_video_io.py``). ``num_frames`` is the number of such frames the reader can deliver; it
may differ from a container's metadata frame count.

Exactness first: with ``backend="auto"`` torchcodec (fastest, where it imports: it needs FFmpeg shared libraries)
or else decord (fast, what the official loaders use) serves only files whose
frames can be found by timestamp: every packet has a unique pts and the container is not AVI. For AVI and
other containers with unreliable timestamps decord's seeking can return a neighbouring frame without an error
(``test.avi`` frames ``[0, 5, 82, 163]`` came back with frame 82 in place of 163 in some processes), so
those files are decoded by PyAV, which counts decoded pictures and is always exact. High-bit-depth video
(e.g. 10-bit 4:2:0 H.264, ``yuv420p10le``) is also read with PyAV: decord's and PyAV's RGB conversions of
such streams differ (mean 3-8, max ~50 per pixel on noisy content; neither is bit-exact against the source),
and PyAV - libswscale applied to the decoder's own 10-bit output - is the kit's reference, so results do
not depend on which backend is installed. ``backend="decord"`` / ``"torchcodec"`` force that decoder anyway.

Pixel budget: ``max_pixels`` (e.g. the demo's) scales frames larger than that down (aspect kept, area
filter) while each decoded picture is converted to RGB, so an 8K upload never yields a full-size RGB frame;
such reads always use PyAV. ``VideoReader.output_size`` tells the delivered ``(width, height)``.

Only the requested frames are converted to RGB. PyAV decodes forward from the start of the file, or, for
containers with reliable timestamps (MP4/MOV/MKV/WebM, not AVI), from the last keyframe before a far
target; both paths return the same frames (tested against decord).

Frames are returned at their coded (storage) size, exactly as the official decord-based loaders see them:
no display-aspect (SAR) correction and no rotation. ``VideoInfo.display_width``/``display_height`` report the
display size (e.g. ``test.mp4`` is stored 340x256 with a 1024:765 pixel aspect, shown as 455x256).

Every failure raises a subclass of :class:`VideoReadError` (a ``RuntimeError``) naming the file, the problem
and what to do. decord can crash the process on some broken inputs, so every file is first checked with
cheap, safe means (size, magic bytes, MP4/AVI box sizes, a PyAV header probe) before decord sees it.
"""
from __future__ import annotations

import dataclasses
import os
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch.utils.data import get_worker_info

__all__ = [
    "VideoInfo",
    "VideoReadError",
    "VideoNotFoundError",
    "EmptyVideoFileError",
    "NotAVideoError",
    "CorruptVideoError",
    "NoVideoFramesError",
    "FrameIndexError",
    "BackendUnavailableError",
    "VideoReader",
    "open_video",
    "video_info",
    "read_video",
    "available_backends",
]

from internvideo_core.data.video_backends import (
    _DecordBackend, _have_decord, _have_pyav, _have_torchcodec, _normalize_indices, _PyAVBackend, _TorchCodecBackend,
    available_backends,
)
from internvideo_core.data.video_checks import (  # re-exported: the typed errors are part of the io API
    BackendUnavailableError, CorruptVideoError, EmptyVideoFileError, FrameIndexError, NotAVideoError,
    NoVideoFramesError, VideoInfo, VideoNotFoundError, VideoReadError, _check_file,
)

BACKENDS = ("auto", "torchcodec", "decord", "pyav")


# ------------------------------------------------------------------------------------------------ reader
class VideoReader:
    """An opened video: ``info`` (:class:`VideoInfo`) and ``read(indices) -> uint8 [T, H, W, 3]``.

    ``backend``: ``"auto"`` (torchcodec, else decord, if installed, it opens the file and the file's frames can
    be found exactly by timestamp - see the module notes -, else PyAV; also falls back to PyAV when the decoder
    fails while decoding), ``"torchcodec"``, ``"decord"`` or ``"pyav"``. ``max_pixels``: scale larger frames
    down at decode time. ``num_threads``: decoder threads, 0 =
    the decoder's choice (all cores), except inside a DataLoader worker where 0 means 1 (the workers are the
    parallelism, as in the official loaders).
    One reader serves one thread at a time (reads are serialised by a lock).
    """

    def __init__(self, path: str | os.PathLike, backend: str = "auto", num_threads: int = 0,
                 max_pixels: int | None = None) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.path = Path(path)
        self.requested_backend = backend
        if num_threads == 0 and get_worker_info() is not None:
            num_threads = 1  # inside a DataLoader worker: one decoder thread per worker, as the official loaders
        self.num_threads = num_threads
        self._lock = threading.Lock()
        self._fmt = _check_file(self.path)
        if backend == "decord" and not _have_decord():
            raise BackendUnavailableError(self.path, "backend 'decord' is not installed",
                                          "pip install decord, or use backend='pyav'")
        if backend == "torchcodec" and not _have_torchcodec():
            raise BackendUnavailableError(self.path, "backend 'torchcodec' does not import (not installed, or no "
                                          "FFmpeg 4-8 shared libraries found)",
                                          "pip install torchcodec and install FFmpeg (conda install ffmpeg), or use "
                                          "backend='pyav'")
        if backend in ("pyav", "auto") and not _have_pyav() and not (backend == "auto" and _have_decord()):
            raise BackendUnavailableError(self.path, "backend 'pyav' is not installed", "pip install av")
        # the PyAV probe is the safety net: header sanity, a video stream, >= 1 frame (no decoding)
        self._probe = _PyAVBackend(self.path, num_threads=num_threads) if _have_pyav() else None
        self._impl: Any = self._probe
        if self._probe is not None:
            self._probe.scale_to(max_pixels)
        exact_by_timestamp = self._probe is None or (self._probe.reliable_timestamps and self._probe.bit_depth <= 8
                                                     and self._probe.out_size is None)
        if backend in ("torchcodec", "decord"):
            candidates = [backend]
        elif backend == "auto" and exact_by_timestamp:
            candidates = [n for n, ok in (("torchcodec", _have_torchcodec()), ("decord", _have_decord())) if ok]
        else:
            candidates = []
        for name in candidates:
            try:
                if name == "torchcodec":
                    impl = _TorchCodecBackend(self.path, num_threads=num_threads)
                else:
                    size = (self._probe.height, self._probe.width) if self._probe is not None else None
                    out = self._probe.out_size if self._probe is not None else None
                    impl = _DecordBackend(self.path, num_threads=num_threads, size=size,
                                          **({"out_size": out} if out else {}))
                if self._probe is not None and impl.num_frames != self._probe.num_frames and backend == "auto":
                    impl = None  # disagreeing frame counts: PyAV's decode-order count is authoritative
                if impl is not None:
                    self._impl = impl
                    break
            except VideoReadError:
                if backend == name:
                    raise
        if self._impl is None:  # pragma: no cover - only without PyAV and a decord failure
            raise BackendUnavailableError(self.path, "no backend could open the file", "pip install av")
        probe = self._probe or self._impl
        sar = probe.sar if self._probe is not None else Fraction(1)
        w, h = self._impl.width, self._impl.height
        disp_w = int(round(w * sar)) if sar >= 1 else w
        disp_h = h if sar >= 1 else int(round(h / sar))
        fps = float(probe.fps or self._impl.fps or 0.0)
        n = int(self._impl.num_frames)
        self.info = VideoInfo(
            path=str(self.path), num_frames=n, fps=fps, duration=(n / fps if fps > 0 else 0.0),
            width=int(w), height=int(h), backend=self._impl.name, display_width=disp_w, display_height=disp_h,
            codec=getattr(probe, "codec", ""),
        )

    @property
    def output_size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames :meth:`read` returns (smaller than ``info`` under ``max_pixels``)."""
        impl = self._impl
        if impl is not None and getattr(impl, "out_size", None):
            return impl.out_size
        return self.info.width, self.info.height

    @property
    def backend(self) -> str:
        """The backend that decodes (``"decord"`` or ``"pyav"``)."""
        return self.info.backend

    def __len__(self) -> int:
        return self.info.num_frames

    def read(self, indices: Sequence[int] | np.ndarray | torch.Tensor | None = None) -> torch.Tensor:
        """Decode the frames at ``indices`` (any order, repeats allowed; None = all) -> uint8 [T, H, W, 3].

        Only the distinct requested frames are decoded; the output follows the requested order.
        """
        if self._impl is None:
            raise VideoReadError(self.path, "this reader is closed", "open the video again with open_video()")
        idx = _normalize_indices(indices, self.info.num_frames, str(self.path))
        targets, inverse = np.unique(idx, return_inverse=True)
        with self._lock:
            try:
                frames = self._impl.read(targets)
            except CorruptVideoError:
                if self.requested_backend != "auto" or self._impl is self._probe or self._probe is None:
                    raise
                self._impl = self._probe  # decord failed on a file PyAV can open: fall back
                self.info = dataclasses.replace(self.info, backend=self._impl.name)
                frames = self._impl.read(targets)
        if targets.size != idx.size or not np.array_equal(targets, idx):  # else: already in order, no copy
            frames = frames[inverse.reshape(-1)]
        return torch.from_numpy(np.ascontiguousarray(frames))

    def close(self) -> None:
        self._impl = None
        self._probe = None

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        i = self.info
        return f"VideoReader({i.path!r}, {i.num_frames} frames, {i.width}x{i.height}, {i.fps:g} fps, {i.backend})"


def open_video(path: str | os.PathLike, backend: str = "auto", num_threads: int = 0,
               max_pixels: int | None = None) -> VideoReader:
    """Open ``path`` once for metadata and several reads (see :class:`VideoReader`; ``max_pixels``: scale
    larger frames down at decode time)."""
    return VideoReader(path, backend=backend, num_threads=num_threads, max_pixels=max_pixels)


def video_info(path: str | os.PathLike, backend: str = "auto") -> VideoInfo:
    """Metadata of ``path`` as :class:`VideoInfo` (validates the file; raises :class:`VideoReadError`)."""
    return VideoReader(path, backend=backend).info


def read_video(
    path: str | os.PathLike,
    indices: Iterable[int] | np.ndarray | torch.Tensor | None = None,
    backend: str = "auto",
    num_threads: int = 0,
) -> torch.Tensor:
    """Decode frames of ``path`` -> uint8 tensor ``[T, H, W, 3]`` (RGB).

    ``indices``: frame numbers in any order, repeats allowed (None = every frame); only these frames are
    decoded and they come back in the requested order. Raises :class:`FrameIndexError` (also an
    ``IndexError``) for negative or too large indices and other :class:`VideoReadError` subclasses for
    missing, empty, non-video, truncated or frameless files.
    """
    if indices is not None and not isinstance(indices, (np.ndarray, torch.Tensor, list, tuple)):
        indices = list(indices)
    return VideoReader(path, backend=backend, num_threads=num_threads).read(indices)
