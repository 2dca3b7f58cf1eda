"""Where the kit keeps things: files shipped inside the package, caches and run outputs.

Two kinds of location:

- inside the package (present in a wheel install as well as in a checkout): the class-name lists
  (``assets/labels/*.txt``, as timm keeps ``timm/data/_info``), the real sample videos (``assets/videos``) and
  the CLIP BPE vocabulary: :func:`labels_path`, :func:`read_labels`, :func:`sample_video`;
- outside it: the checkpoint cache (:func:`cache_dir`) and run outputs (:func:`runs_dir`). :data:`REPO_DIR` is
  only for things that exist in a checkout (``notebooks/``, the default ``runs/``).

Every outside location can be changed by an environment variable so that a researcher can point the kit at a
shared cache or run folder.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR / "assets"
#: The checkout's root (``notebooks/``, ``runs/``); meaningless for a wheel install, so nothing shipped uses it.
REPO_DIR = PACKAGE_DIR.parent


def labels_path(name: str) -> Path:
    """Path of a class-name list shipped in ``internvideo_core/assets/labels`` (e.g. ``"kinetics400"``)."""
    folder = ASSETS_DIR / "labels"
    path = folder / f"{name}.txt"
    if not path.exists():
        available = sorted(p.stem for p in folder.glob("*.txt"))
        raise FileNotFoundError(f"no label list {path}; available: {available}")
    return path


def read_labels(name: str) -> list[str]:
    """Class names of a plain list (index = line number), e.g. ``read_labels("kinetics400")[0]``."""
    return [ln.strip() for ln in labels_path(name).read_text(encoding="utf-8").splitlines() if ln.strip()]


def videos_dir() -> Path:
    """The folder of the real sample videos shipped with the kit (see ``assets/ATTRIBUTION.md``)."""
    return ASSETS_DIR / "videos"


def sample_video(name: str = "arm_wrestling_demo.mp4") -> Path:
    """Path of a shipped sample video: ``arm_wrestling_demo.mp4`` (default), ``test.mp4``, ``test.avi``,
    ``demo_spatiotemporal_det.mp4``, ``synthmotion_move_down_green_triangle.mp4`` (a SynthMotion clip of the
    kind the embedded models know, see :mod:`internvideo_core.embedded`)."""
    path = videos_dir() / name
    if not path.is_file():
        available = sorted(p.name for p in videos_dir().iterdir()) if videos_dir().is_dir() else []
        raise FileNotFoundError(f"no sample video {path}; available: {available}")
    return path


def cache_dir() -> Path:
    """Checkpoint cache: ``INTERNVIDEO_CACHE`` or ``$XDG_CACHE_HOME/internvideo`` (``~/.cache/internvideo``)."""
    env = os.environ.get("INTERNVIDEO_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(base) / "internvideo"


def in_checkout() -> bool:
    """True when the package is imported from a git checkout / source tree (``notebooks/`` beside it)."""
    return (REPO_DIR / "pyproject.toml").is_file() and (REPO_DIR / "notebooks").is_dir()


def runs_dir() -> Path:
    """Run outputs (notebook results JSON, checkpoints, executed notebooks): ``INTERNVIDEO_RUNS``, else the
    checkout's ``runs/``, else (a wheel install) ``runs/`` in the current folder."""
    env = os.environ.get("INTERNVIDEO_RUNS")
    if env:
        return Path(env)
    return (REPO_DIR if in_checkout() else Path.cwd()) / "runs"
