"""The decoding backends behind :mod:`internvideo_core.data.io`: PyAV (always available), torchcodec and decord
(used when installed and exact for the file). All deliver frame ``i`` = the ``i``-th picture in presentation order.

torchcodec (PyTorch's decoder, ``pip install torchcodec`` plus FFmpeg 4-8 shared libraries, e.g. conda-forge
``ffmpeg``) is the fastest of the three on the CPU (``benchmarks/bench_pipeline.py``: 1.15-1.2x decord on the
test protocol's seeks, 1.75-1.95x on sequential reads, bit-identical frames), so ``auto`` prefers it where it
imports; without FFmpeg libraries it does not import and decord / PyAV serve as before."""
from __future__ import annotations

import contextlib
import functools
import io
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from internvideo_core.data.video_checks import (
    CorruptVideoError, FrameIndexError, NoVideoFramesError, VideoReadError, _not_a_video, _sniff,
)


# ---------------------------------------------------------------------------------------------- backends
def _have_decord() -> bool:
    try:
        import decord  # noqa: F401
    except Exception:
        return False
    return True


def _have_pyav() -> bool:
    try:
        import av  # noqa: F401
    except Exception:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _have_torchcodec() -> bool:
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # its loader prints a traceback per FFmpeg version tried
            from torchcodec._core import ops
            from torchcodec.decoders import VideoDecoder  # noqa: F401
    except Exception:
        return False
    return bool(getattr(ops, "_FFMPEG_AVAILABLE", True))  # torchcodec imports without FFmpeg but cannot decode


def available_backends() -> list[str]:
    """Installed backends, preferred first."""
    found = (("torchcodec", _have_torchcodec()), ("decord", _have_decord()), ("pyav", _have_pyav()))
    return [name for name, ok in found if ok]


def _normalize_indices(indices: Any, num_frames: int, path: str) -> np.ndarray:
    """Indices as int64 [N]; raises FrameIndexError for negative or too large values."""
    if indices is None:
        return np.arange(num_frames, dtype=np.int64)
    if isinstance(indices, torch.Tensor):
        indices = indices.detach().cpu().numpy()
    arr = np.asarray(indices)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise FrameIndexError(path, f"frame indices must be integers, got dtype {arr.dtype}",
                                  "convert them with .astype(int)")
    arr = arr.astype(np.int64).reshape(-1)
    if arr.size:
        bad = arr[(arr < 0) | (arr >= num_frames)]
        if bad.size:
            raise FrameIndexError(
                path,
                f"frame indices {bad[:5].tolist()}{'...' if bad.size > 5 else ''} are out of range: the video "
                f"has {num_frames} frames (valid indices 0..{num_frames - 1}; negative indices are not allowed)",
                "clamp the indices with the samplers in internvideo_core.data.sampling",
            )
    return arr


class _SeekMismatch(Exception):
    """Seek-based decoding met a frame it cannot place; the caller decodes from the start instead."""


class _PyAVBackend:
    """Frame-accurate PyAV reading.

    Frame ``i`` is the ``i``-th decoded picture. Reading decodes forward from the start; for containers with
    reliable timestamps (unique packet pts, not AVI) and several keyframes it first seeks to the last
    keyframe before a far-away target and places decoded pictures by the rank of their pts, which equals
    their decode-order number. Any surprise (unknown pts, a skipped picture) falls back to decoding from
    the start, so seeking only ever changes speed, never the frames returned.
    """

    name = "pyav"
    SEEK_MIN_GAP = 32  # seek only when it skips at least this many frames

    def __init__(self, path: Path, num_threads: int = 0) -> None:
        import av

        self.path = path
        self._av = av
        self.num_threads = num_threads
        self.out_size: tuple[int, int] | None = None  # (width, height) to scale to at decode time; None = coded size
        with open(path, "rb") as fh:
            head = fh.read(512)
        fmt = _sniff(head)
        try:
            container = av.open(str(path), mode="r", metadata_errors="ignore")
        except Exception as exc:  # FFmpegError subclasses; anything else is wrapped too
            if fmt:
                raise CorruptVideoError(path, f"{fmt} container cannot be opened: {exc}",
                                        "the file is damaged or truncated; fetch or re-encode it") from exc
            raise _not_a_video(path, head, str(exc)) from exc
        try:
            streams = container.streams.video
            if not streams:
                kinds = sorted({s.type for s in container.streams}) or ["none"]
                raise NoVideoFramesError(path, f"the file has no video stream (streams: {', '.join(kinds)})",
                                         "an audio-only or broken file; use a file with a video track")
            stream = streams[0]
            self.codec = stream.codec_context.name if stream.codec_context else ""
            self.width = int(stream.codec_context.width or stream.width or 0)
            self.height = int(stream.codec_context.height or stream.height or 0)
            pix = stream.codec_context.format if stream.codec_context else None
            self.pix_fmt = pix.name if pix is not None else ""
            self.bit_depth = max((c.bits for c in pix.components), default=8) if pix is not None else 8
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            self.fps = float(rate) if rate else 0.0
            sar = stream.sample_aspect_ratio
            self.sar = Fraction(sar.numerator, sar.denominator) if sar and sar.numerator else Fraction(1)
            self.meta_frames = int(stream.frames or 0)
            container_name = container.format.name if container.format else ""
            # count the frames by demuxing (no decoding): one picture per non-empty, non-discarded packet
            pts: list[int | None] = []
            keys: list[bool] = []
            try:
                for packet in container.demux(stream):
                    if packet.size and not getattr(packet, "is_discard", False):
                        pts.append(packet.pts)
                        keys.append(bool(packet.is_keyframe))
            except Exception as exc:
                raise CorruptVideoError(path, f"the file is damaged after {len(pts)} video packets: {exc}",
                                        "fetch or re-encode the file again") from exc
        finally:
            container.close()
        if not pts:
            raise NoVideoFramesError(path, "the video stream holds no frames (0 video packets)",
                                     "the recording is empty; re-encode the source or drop this file")
        self.num_frames = len(pts)
        self._frame_pts: list[int] = []
        self._pts_index: dict[int, int] = {}
        self._keyframes = np.zeros(0, dtype=np.int64)
        if "avi" not in container_name and None not in pts and len(set(pts)) == len(pts):
            self._frame_pts = sorted(pts)  # type: ignore[arg-type]
            self._pts_index = {p: i for i, p in enumerate(self._frame_pts)}
            self._keyframes = np.array(sorted(self._pts_index[p] for p, k in zip(pts, keys) if k), dtype=np.int64)

    @property
    def reliable_timestamps(self) -> bool:
        """True when every packet has a unique pts and the container is not AVI: frame ``i`` can then be
        found by timestamp (seeking, decord's index). Otherwise only counting decoded pictures is exact."""
        return bool(self._frame_pts)

    def scale_to(self, max_pixels: int | None) -> None:
        """Deliver frames scaled down (aspect kept, even sizes, area filter) so that width x height <=
        ``max_pixels``; the scaling happens while converting each decoded picture to RGB, so no full-size RGB
        frame is ever made. ``None`` or a video within the budget: coded size."""
        self.out_size = None
        if max_pixels and self.width * self.height > max_pixels:
            s = (max_pixels / (self.width * self.height)) ** 0.5
            self.out_size = (max(2, int(self.width * s) // 2 * 2), max(2, int(self.height * s) // 2 * 2))

    @property
    def out_width(self) -> int:
        return self.out_size[0] if self.out_size else self.width

    @property
    def out_height(self) -> int:
        return self.out_size[1] if self.out_size else self.height

    def _rgb(self, frame: Any) -> np.ndarray:
        if self.out_size is None:
            return frame.to_ndarray(format="rgb24")
        return frame.to_ndarray(format="rgb24", width=self.out_size[0], height=self.out_size[1],
                                interpolation="AREA")

    # -- decoding -------------------------------------------------------------------------------------
    def _open(self):
        try:
            container = self._av.open(str(self.path), mode="r", metadata_errors="ignore")
        except Exception as exc:
            raise CorruptVideoError(self.path, f"cannot reopen the file: {exc}", "was it changed or removed?") from exc
        stream = container.streams.video[0]
        if self.num_threads != 1:
            stream.thread_type = "AUTO"
            stream.thread_count = max(int(self.num_threads), 0)
        return container, stream

    def _keyframe_before(self, index: int) -> int:
        pos = int(np.searchsorted(self._keyframes, index, side="right")) - 1
        return int(self._keyframes[pos]) if pos >= 0 else 0

    def _read_seeking(self, targets: np.ndarray) -> list[np.ndarray]:
        container, stream = self._open()
        wanted = set(targets.tolist())
        got: dict[int, np.ndarray] = {}
        pos = -1  # last decoded frame index
        frames = None
        try:
            for t in targets.tolist():
                if t in got:
                    continue
                key = self._keyframe_before(t)
                if frames is None or (key > pos + 1 and t - pos > self.SEEK_MIN_GAP):
                    if key == 0 and frames is None:
                        frames = container.decode(stream)
                    else:
                        container.seek(int(self._frame_pts[key]), stream=stream, backward=True, any_frame=False)
                        frames = container.decode(stream)
                    pos = key - 1
                for frame in frames:
                    if frame.pts is None or frame.pts not in self._pts_index:
                        raise _SeekMismatch
                    idx = self._pts_index[frame.pts]
                    if idx <= pos:
                        continue  # leading pictures of an open GOP, or a repeat
                    if idx != pos + 1:
                        raise _SeekMismatch  # a picture was skipped: let ordinal decoding decide
                    pos = idx
                    if idx in wanted:
                        got[idx] = self._rgb(frame)
                    if idx >= t:
                        break
                if t not in got:
                    raise _SeekMismatch
        except _SeekMismatch:
            raise
        except Exception as exc:  # a decoder error: let the sequential reader report it precisely
            raise _SeekMismatch from exc
        finally:
            container.close()
        return [got[t] for t in targets.tolist()]

    def _read_sequential(self, targets: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        last = int(targets[-1])
        pos = 0  # index of the next decoded picture
        k = 0
        container, stream = self._open()
        try:
            for frame in container.decode(stream):
                if pos == targets[k]:
                    out.append(self._rgb(frame))
                    k += 1
                    if k == targets.size:
                        break
                pos += 1
                if pos > last:
                    break
        except Exception as exc:
            if pos == 0:
                raise NoVideoFramesError(self.path, f"no frame of the video stream could be decoded ({exc})",
                                         "the file is damaged; re-encode it or drop it from the dataset") from exc
            raise CorruptVideoError(self.path, f"decoding failed after frame {pos - 1} of {self.num_frames}: {exc}",
                                    "the file is damaged; re-encode it or drop it from the dataset") from exc
        finally:
            container.close()
        if k < targets.size:
            if pos == 0:
                raise NoVideoFramesError(self.path, "no frame of the video stream could be decoded",
                                         "the file is damaged; re-encode it or drop it from the dataset")
            raise CorruptVideoError(
                self.path,
                f"only {pos} of {self.num_frames} frames could be decoded, frame {int(targets[k])} was requested",
                "the file is damaged or truncated; re-encode it or drop it from the dataset",
            )
        return out

    def read(self, targets: np.ndarray) -> np.ndarray:
        """``targets``: sorted unique int64 indices -> uint8 [len(targets), H, W, 3]."""
        if targets.size == 0:
            return np.zeros((0, self.out_height, self.out_width, 3), dtype=np.uint8)
        try:
            out = None
            if self._keyframes.size > 1 and self._keyframe_before(int(targets[-1])) > self.SEEK_MIN_GAP:
                try:
                    out = self._read_seeking(targets)
                except _SeekMismatch:
                    out = None
            if out is None:
                out = self._read_sequential(targets)
        except VideoReadError:
            raise
        except Exception as exc:
            raise CorruptVideoError(self.path, f"decoding failed: {exc}",
                                    "the file is damaged; re-encode it or drop it from the dataset") from exc
        return np.stack(out)


class _DecordBackend:
    """decord ``VideoReader`` (the official VideoMAE / InternVideo loaders use it)."""

    name = "decord"

    def __init__(self, path: Path, num_threads: int = 0, size: tuple[int, int] | None = None,
                 out_size: tuple[int, int] | None = None) -> None:
        """``size``: ``(height, width)`` already known from the PyAV probe (saves decoding frame 0);
        ``out_size``: ``(width, height)`` to scale to while decoding (None: coded size)."""
        import decord

        self.path = path
        self.out_size = out_size
        scale = {"width": out_size[0], "height": out_size[1]} if out_size else {}
        try:
            self._vr = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=num_threads, **scale)
            self.num_frames = len(self._vr)
            self.fps = float(self._vr.get_avg_fps())
            if size is None or min(size) <= 0:
                size = tuple(self._vr[0].shape[:2]) if self.num_frames else (0, 0)
        except Exception as exc:
            raise CorruptVideoError(path, f"decord cannot open the file: {exc}",
                                    "try backend='pyav' or re-encode the file") from exc
        if self.num_frames == 0:
            raise NoVideoFramesError(path, "decord finds no frames", "re-encode the file or drop it")
        self.height, self.width = int(size[0]), int(size[1])

    def read(self, targets: np.ndarray) -> np.ndarray:
        if targets.size == 0:
            w, h = self.out_size or (self.width, self.height)
            return np.zeros((0, h, w, 3), dtype=np.uint8)
        try:
            batch = self._vr.get_batch(targets.tolist()).asnumpy()
        except Exception as exc:
            raise CorruptVideoError(self.path, f"decord failed to decode frames: {exc}",
                                    "try backend='pyav' or re-encode the file") from exc
        return batch


class _TorchCodecBackend:
    """torchcodec ``VideoDecoder`` in exact seek mode (a full scan builds the frame index from the packets, like
    decord's); frames come back as uint8 ``[N, H, W, 3]`` at the coded size."""

    name = "torchcodec"

    def __init__(self, path: Path, num_threads: int = 0) -> None:
        from torchcodec.decoders import VideoDecoder

        self.path = path
        self.out_size = None
        try:
            self._dec = VideoDecoder(str(path), dimension_order="NHWC", num_ffmpeg_threads=int(num_threads),
                                     seek_mode="exact")
            meta = self._dec.metadata
            self.num_frames = int(meta.num_frames or 0)
            self.fps = float(meta.average_fps or 0.0)
            self.height, self.width = int(meta.height or 0), int(meta.width or 0)
        except Exception as exc:
            raise CorruptVideoError(path, f"torchcodec cannot open the file: {exc}",
                                    "try backend='pyav' or re-encode the file") from exc
        if self.num_frames == 0:
            raise NoVideoFramesError(path, "torchcodec finds no frames", "re-encode the file or drop it")

    def read(self, targets: np.ndarray) -> np.ndarray:
        if targets.size == 0:
            return np.zeros((0, self.height, self.width, 3), dtype=np.uint8)
        try:
            return self._dec.get_frames_at(indices=targets.tolist()).data.numpy()
        except Exception as exc:
            raise CorruptVideoError(self.path, f"torchcodec failed to decode frames: {exc}",
                                    "try backend='pyav' or re-encode the file") from exc
