"""Where the kit keeps things: the repository's data folder, caches and run outputs.

Every location can be changed by an environment variable so that a researcher can point the kit at real
data and a shared cache.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def data_dir() -> Path:
    """The kit's ``data/`` folder (labels, sample videos); ``INTERNVIDEO_DATA`` overrides."""
    return Path(os.environ.get("INTERNVIDEO_DATA", REPO_DIR / "data"))


def labels_path(name: str) -> Path:
    """Path of a class-name list in ``data/labels`` (e.g. ``"kinetics400"``)."""
    path = data_dir() / "labels" / f"{name}.txt"
    if not path.exists():
        available = sorted(p.stem for p in (data_dir() / "labels").glob("*.txt"))
        raise FileNotFoundError(f"no label list {path}; available: {available}")
    return path


def read_labels(name: str) -> list[str]:
    """Class names of a plain list (index = line number), e.g. ``read_labels("kinetics400")[0]``."""
    return [ln.strip() for ln in labels_path(name).read_text(encoding="utf-8").splitlines() if ln.strip()]


def read_label_map(name: str) -> dict[int, str]:
    """``{id: name}`` for lists written as ``id: name`` (AVA), or ``{line index: name}`` for plain lists."""
    out: dict[int, str] = {}
    for i, line in enumerate(read_labels(name)):
        head, sep, tail = line.partition(":")
        if sep and head.strip().isdigit():
            out[int(head)] = tail.strip()
        else:
            out[i] = line
    return out


def cache_dir() -> Path:
    """Checkpoint cache: ``INTERNVIDEO_CACHE`` or ``$XDG_CACHE_HOME/internvideo`` (``~/.cache/internvideo``)."""
    env = os.environ.get("INTERNVIDEO_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(base) / "internvideo"


def runs_dir() -> Path:
    """Run outputs (notebook results JSON, checkpoints, executed notebooks): ``INTERNVIDEO_RUNS`` or ``runs/``."""
    return Path(os.environ.get("INTERNVIDEO_RUNS", REPO_DIR / "runs"))


def shared_dir() -> Path:
    """The team's shared folder beside the repository (fixtures from the official code)."""
    return Path(os.environ.get("INTERNVIDEO_SHARED", REPO_DIR.parent / "shared"))
