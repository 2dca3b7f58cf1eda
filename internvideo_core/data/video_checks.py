"""Typed video-reading errors, :class:`VideoInfo` and the cheap, crash-free file checks that run before any
decoder opens a file (used by :mod:`internvideo_core.data.io`, which re-exports the public names)."""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path



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
