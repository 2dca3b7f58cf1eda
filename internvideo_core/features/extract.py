"""Snippet features of many videos, one file per video, resumable: what ``internvideo extract-features`` runs.

Output folder (ActionFormer reads it with ``feat_folder=DIR``, ``file_prefix=""``, ``file_ext=".npy"``,
``feat_stride`` / ``num_frames`` from ``index.json``, ``default_fps=None`` with the fps in the annotation file or
the index; its loader transposes ``[N, D]`` to ``[D, N]`` itself)::

    DIR/<video id>.npy     float32 [num_snippets, dim]
    DIR/<video id>.json    this video's record (fps, centre_times, feat_stride, num_frames, ...)
    DIR/index.json         {"feat_stride", "num_frames", "clip_len", "frame_interval", "dim", "model",
                            "videos": {video id: record}} of every finished video (rewritten after each run)

The video id is the file name without extension (ActivityNet files ``v_<id>.mp4`` keep their ``v_``, as
ActionFormer's ``file_prefix="v_"`` expects). A video is finished when both its ``.npy`` and ``.json`` exist;
both are written to a temporary name and renamed, the ``.json`` last, so an interrupted run never leaves a
half-written file that a rerun would take as done.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from torch import nn

from .snippets import extract_video_features

__all__ = ["VIDEO_EXTENSIONS", "ExtractionReport", "list_videos", "video_id", "extract_features_to_folder",
           "load_features", "read_index"]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg")


@dataclasses.dataclass
class ExtractionReport:
    """``done``: ids extracted in this run; ``skipped``: already finished; ``failed``: ``{id: error}``."""

    done: list[str]
    skipped: list[str]
    failed: dict[str, str]
    index_path: Path
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    """Summed over the videos extracted in this run: ``snippets`` and the seconds ``decode``, ``preprocess``,
    ``model``, ``total`` (see :class:`~internvideo_core.features.snippets.SnippetFeatures`)."""

    @property
    def ok(self) -> bool:
        return not self.failed


def video_id(path: str | os.PathLike) -> str:
    """The id of a video file: its name without extension."""
    return Path(path).stem


def list_videos(source: str | os.PathLike, root: str | os.PathLike | None = None) -> list[Path]:
    """Videos of a folder (recursively, sorted, by extension in :data:`VIDEO_EXTENSIONS`) or of a list file
    (one path per line, the first whitespace-separated field; VideoMAE lists ``path label`` work; relative
    paths are taken from ``root`` or the list's folder; ``#`` lines are skipped)."""
    src = Path(source)
    if src.is_dir():
        return sorted(p for p in src.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such folder or list file; give a folder of videos or a text file "
                                "with one video path per line")
    base = Path(root) if root is not None else src.parent
    out = []
    for line in src.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        p = Path(line.split()[0])
        out.append(p if p.is_absolute() else base / p)
    return out


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _save_npy(path: Path, array: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, array)

    _atomic_write(path, write)


def _save_json(path: Path, obj: Any) -> None:
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8"))


def _finished(out_dir: Path, vid: str) -> bool:
    return (out_dir / f"{vid}.npy").exists() and (out_dir / f"{vid}.json").exists()


def read_index(out_dir: str | os.PathLike) -> dict[str, Any]:
    """``DIR/index.json`` as written by :func:`extract_features_to_folder`."""
    path = Path(out_dir) / "index.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `internvideo extract-features --output {out_dir}` first")
    return json.loads(path.read_text(encoding="utf-8"))


def load_features(out_dir: str | os.PathLike, vid: str) -> tuple[np.ndarray, dict[str, Any]]:
    """``(features float32 [N, D], record)`` of video ``vid`` in a feature folder."""
    d = Path(out_dir)
    npy, rec = d / f"{vid}.npy", d / f"{vid}.json"
    if not npy.exists() or not rec.exists():
        raise FileNotFoundError(f"no features for video {vid!r} in {d} (expected {npy.name} and {rec.name}); "
                                "extract them with `internvideo extract-features`")
    return np.load(npy), json.loads(rec.read_text(encoding="utf-8"))


def _write_index(out_dir: Path, meta: dict[str, Any]) -> Path:
    videos = {}
    for rec in sorted(out_dir.glob("*.json")):
        if rec.name == "index.json" or not (out_dir / f"{rec.stem}.npy").exists():
            continue
        videos[rec.stem] = json.loads(rec.read_text(encoding="utf-8"))
    first = next(iter(videos.values()), {})
    head = {k: first[k] for k in ("feat_stride", "num_frames", "clip_len", "frame_interval", "dim") if k in first}
    path = out_dir / "index.json"
    _save_json(path, {**head, **meta, "videos": videos})
    return path


def extract_features_to_folder(model: nn.Module, videos: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *,
                               limit: int | None = None, progress: bool = True, overwrite: bool = False,
                               meta: dict[str, Any] | None = None, **kwargs: Any) -> ExtractionReport:
    """Extract every video of ``videos`` into ``out_dir`` (layout in the module docstring).

    Finished videos are skipped (unless ``overwrite``); a video that cannot be read or encoded is recorded in
    ``report.failed`` with its error and the run goes on. ``limit``: at most this many videos of the list.
    ``meta``: extra keys for ``index.json`` (e.g. the model name). ``kwargs`` go to
    :func:`~internvideo_core.features.snippets.extract_video_features`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    todo = list(videos)[: limit if limit is not None else None]
    done, skipped, failed = [], [], {}
    timings: dict[str, float] = {}
    bar: Any = todo
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(todo, desc="extract-features", unit="video")
    for path in bar:
        vid = video_id(path)
        if not overwrite and _finished(out, vid):
            skipped.append(vid)
            continue
        try:
            res = extract_video_features(model, path, **kwargs)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop a long run; reported at the end
            failed[vid] = f"{path}: {type(err).__name__}: {err}"
            continue
        for k, v in res.timings.items():
            timings[k] = timings.get(k, 0.0) + v
        timings["snippets"] = timings.get("snippets", 0) + len(res.features)
        _save_npy(out / f"{vid}.npy", res.features)
        _save_json(out / f"{vid}.json", {"path": str(path), **res.index_entry()})
        done.append(vid)
    index = _write_index(out, dict(meta or {}))
    return ExtractionReport(done, skipped, failed, index, timings)
