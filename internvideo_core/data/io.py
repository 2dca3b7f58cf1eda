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
import struct
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

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

BACKENDS = ("auto", "decord", "pyav")


# ----------------------------------------------------------------------------------------------- errors
class VideoReadError(RuntimeError):
    """Base class of every error raised while reading a video; ``path`` is the file concerned."""

    def __init__(self, path: str | os.PathLike | None, problem: str, hint: str = "") -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        self.hint = hint
        where = f"{self.path}: " if self.path is not None else ""
        msg = f"{where}{problem}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)

    def __str__(self) -> str:  # FileNotFoundError/IndexError mixins would otherwise format args differently
        return self.args[0] if self.args else ""


class VideoNotFoundError(VideoReadError, FileNotFoundError):
    """The path does not exist or is not a regular file."""


class EmptyVideoFileError(VideoReadError):
    """The file has zero bytes (an interrupted download or copy)."""


class NotAVideoError(VideoReadError):
    """The file is not in any video container format (e.g. a text/HTML file renamed ``.mp4``)."""


class CorruptVideoError(VideoReadError):
    """The file looks like a video container but is truncated or damaged and cannot be decoded fully."""


class NoVideoFramesError(VideoReadError):
    """The container is valid but holds no video stream or no decodable video frame."""


class FrameIndexError(VideoReadError, IndexError):
    """Requested frame indices are negative or not below ``num_frames``."""


class BackendUnavailableError(VideoReadError):
    """The requested backend is not installed (``pip install decord`` or ``pip install av``)."""


# ---------------------------------------------------------------------------------------------- metadata
@dataclass(frozen=True)
class VideoInfo:
    """Metadata of a video as the reader will deliver it.

    ``num_frames``: frames the reader can deliver (indices ``0 .. num_frames-1``); ``fps``: average frame
    rate; ``duration``: ``num_frames / fps`` seconds; ``width``/``height``: size of the decoded frames
    (coded size); ``backend``: ``"decord"`` or ``"pyav"``, the one that will decode; ``display_width``/
    ``display_height``: size after applying the sample aspect ratio; ``codec``: the codec name.
    """

    path: str
    num_frames: int
    fps: float
    duration: float
    width: int
    height: int
    backend: str
    display_width: int = 0
    display_height: int = 0
    codec: str = ""


# ------------------------------------------------------------------------------------------ file checks
_CONTAINER_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (4, b"ftyp", "MP4/MOV"),
    (4, b"moov", "MP4/MOV"),
    (4, b"mdat", "MP4/MOV"),
    (4, b"free", "MP4/MOV"),
    (4, b"wide", "MP4/MOV"),
    (4, b"skip", "MP4/MOV"),
    (0, b"RIFF", "AVI"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (0, b"FLV", "FLV"),
    (0, b"OggS", "Ogg"),
    (0, b"\x00\x00\x01\xba", "MPEG-PS"),
    (0, b"\x00\x00\x01\xb3", "MPEG video"),
    (0, b"\x30\x26\xb2\x75", "ASF/WMV"),
    (0, b"GIF8", "GIF"),
)


def _sniff(head: bytes) -> str | None:
    """Name of the container format recognised from the first bytes, or None."""
    for offset, magic, name in _CONTAINER_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:
        return "MPEG-TS"
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * len(text)


def _check_iso_boxes(path: Path, size: int) -> None:
    """Walk the top-level MP4/MOV boxes; a box running past the end of the file means a truncated file."""
    with open(path, "rb") as fh:
        pos = 0
        seen: list[str] = []
        while pos < size:
            fh.seek(pos)
            header = fh.read(16)
            if len(header) < 8:
                raise CorruptVideoError(
                    path, f"MP4 file is truncated: {size - pos} stray bytes after the last complete box",
                    "the download or copy was cut short; fetch or re-encode the file again",
                )
            box_size, box_type = struct.unpack(">I4s", header[:8])
            if box_size == 1:
                if len(header) < 16:
                    raise CorruptVideoError(path, "MP4 file is truncated inside a box header",
                                            "fetch or re-encode the file again")
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:  # box extends to end of file
                box_size = size - pos
            if box_size < 8:
                raise CorruptVideoError(path, f"MP4 box {box_type!r} at byte {pos} has an invalid size {box_size}",
                                        "the file is damaged; re-encode or fetch it again")
            seen.append(box_type.decode("latin-1"))
            if pos + box_size > size:
                raise CorruptVideoError(
                    path,
                    f"MP4 file is truncated: box '{seen[-1]}' at byte {pos} needs {box_size} bytes but the file "
                    f"ends after {size - pos}",
                    "the download or copy was cut short; fetch or re-encode the file again",
                )
            pos += box_size
        if "moov" not in seen:
            raise CorruptVideoError(path, f"MP4 file has no 'moov' index box (top-level boxes: {seen})",
                                    "the file was not finalised (recording interrupted?); re-encode it")


def _check_riff(path: Path, size: int) -> None:
    """An AVI (RIFF) file whose declared size exceeds the file is truncated."""
    with open(path, "rb") as fh:
        header = fh.read(12)
    if len(header) < 12:
        raise CorruptVideoError(path, "AVI file is truncated inside its RIFF header", "fetch the file again")
    riff_size = struct.unpack("<I", header[4:8])[0]
    if riff_size + 8 > size + 1:  # RIFF chunks are padded to even sizes
        raise CorruptVideoError(
            path, f"AVI file is truncated: its RIFF header declares {riff_size + 8} bytes but the file has {size}",
            "the download or copy was cut short; fetch or re-encode the file again",
        )


def _check_file(path: Path) -> str:
    """Cheap, crash-free sanity checks before any decoder opens the file; returns the sniffed format."""
    if not path.exists():
        raise VideoNotFoundError(path, "no such file", "check the path and the dataset root folder")
    if not path.is_file():
        raise VideoNotFoundError(path, "not a regular file (a directory?)", "pass the path of a video file")
    size = path.stat().st_size
    if size == 0:
        raise EmptyVideoFileError(path, "the file is empty (0 bytes)",
                                  "an interrupted download or copy; fetch the file again")
    with open(path, "rb") as fh:
        head = fh.read(512)
    fmt = _sniff(head)
    if fmt == "MP4/MOV":
        _check_iso_boxes(path, size)
    elif fmt == "AVI":
        _check_riff(path, size)
    return fmt or ""


def _not_a_video(path: Path, head: bytes, detail: str) -> NotAVideoError:
    if _looks_like_text(head):
        preview = head[:40].decode("utf-8", "replace").splitlines()[0] if head.strip() else ""
        what = f"a text file, not a video (it starts with {preview!r})"
    else:
        what = "not in any known video container format"
    return NotAVideoError(path, f"{what}; the decoder said: {detail}",
                          "check that the file is really a video (an HTML error page saved as .mp4?) "
                          "and download it again")


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


def available_backends() -> list[str]:
    """Installed backends, preferred first."""
    return [name for name, ok in (("decord", _have_decord()), ("pyav", _have_pyav())) if ok]


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
                        got[idx] = frame.to_ndarray(format="rgb24")
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
                    out.append(frame.to_ndarray(format="rgb24"))
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
            return np.zeros((0, self.height, self.width, 3), dtype=np.uint8)
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

    def __init__(self, path: Path, num_threads: int = 0, size: tuple[int, int] | None = None) -> None:
        """``size``: ``(height, width)`` already known from the PyAV probe (saves decoding frame 0)."""
        import decord

        self.path = path
        try:
            self._vr = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=num_threads)
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
            return np.zeros((0, self.height, self.width, 3), dtype=np.uint8)
        try:
            batch = self._vr.get_batch(targets.tolist()).asnumpy()
        except Exception as exc:
            raise CorruptVideoError(self.path, f"decord failed to decode frames: {exc}",
                                    "try backend='pyav' or re-encode the file") from exc
        return batch


# ------------------------------------------------------------------------------------------------ reader
class VideoReader:
    """An opened video: ``info`` (:class:`VideoInfo`) and ``read(indices) -> uint8 [T, H, W, 3]``.

    ``backend``: ``"auto"`` (decord if installed and it opens the file, else PyAV; also falls back to PyAV
    when decord fails while decoding), ``"decord"`` or ``"pyav"``. ``num_threads``: decoder threads, 0 =
    the decoder's choice (all cores); pass 1 inside DataLoader workers, as the official loaders do.
    One reader serves one thread at a time (reads are serialised by a lock).
    """

    def __init__(self, path: str | os.PathLike, backend: str = "auto", num_threads: int = 0) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.path = Path(path)
        self.requested_backend = backend
        self._lock = threading.Lock()
        self._fmt = _check_file(self.path)
        if backend == "decord" and not _have_decord():
            raise BackendUnavailableError(self.path, "backend 'decord' is not installed",
                                          "pip install decord, or use backend='pyav'")
        if backend in ("pyav", "auto") and not _have_pyav() and not (backend == "auto" and _have_decord()):
            raise BackendUnavailableError(self.path, "backend 'pyav' is not installed", "pip install av")
        # the PyAV probe is the safety net: header sanity, a video stream, >= 1 frame (no decoding)
        self._probe = _PyAVBackend(self.path, num_threads=num_threads) if _have_pyav() else None
        self._impl: Any = self._probe
        if backend == "decord" or (backend == "auto" and _have_decord()):
            try:
                size = (self._probe.height, self._probe.width) if self._probe is not None else None
                impl = _DecordBackend(self.path, num_threads=num_threads, size=size)
                if self._probe is not None and impl.num_frames != self._probe.num_frames and backend == "auto":
                    impl = None  # disagreeing frame counts: PyAV's decode-order count is authoritative
                if impl is not None:
                    self._impl = impl
            except VideoReadError:
                if backend == "decord":
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
        frames = np.ascontiguousarray(frames[inverse.reshape(-1)])
        return torch.from_numpy(frames)

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


def open_video(path: str | os.PathLike, backend: str = "auto", num_threads: int = 0) -> VideoReader:
    """Open ``path`` once for metadata and several reads (see :class:`VideoReader`)."""
    return VideoReader(path, backend=backend, num_threads=num_threads)


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
