"""File-system housekeeping shared by the checkpoint writer, the downloader and the demo.

- :func:`ensure_writable_dir`: check (before any model or data is built) that a folder exists or can be
  created and that files can be written there; a :class:`NotWritableError` says which folder, why and what
  to do, instead of a raw ``PermissionError`` / ``FileExistsError`` traceback half-way through a run.
- :func:`remove_stale` / :func:`pid_alive`: leftovers of killed processes (``.checkpoint.pth.tmp-<pid>``
  half-written checkpoints, ``.lock`` / ``.part.url`` files of failed downloads, the demo's temporary
  folders) are removed by the next save / download / start, but only those whose writing process is dead or
  that are older than a threshold, so a live process never loses its file.
- :func:`apply_umask`: give a file the permissions ``open()`` would (``0o666 & ~umask``), for writers that
  create files ``0600`` (safetensors).

Standard library only; nothing here imports the rest of the kit.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable

__all__ = ["NotWritableError", "ensure_writable_dir", "pid_alive", "remove_stale", "apply_umask", "current_umask"]


class NotWritableError(PermissionError):
    """A folder the kit must write to cannot be created or written; the message says which and what to do."""


def ensure_writable_dir(path: str | os.PathLike, what: str, hint: str = "") -> Path:
    """Create ``path`` if needed and check that a file can be written in it; returns ``Path(path)``.

    ``what`` names the folder's role in the message ("output folder", "checkpoint cache
    (INTERNVIDEO_CACHE)"); ``hint`` says what to do (default: choose another folder or fix permissions).
    """
    path = Path(path).expanduser()
    advice = hint or "choose another folder or fix its permissions"
    if path.exists() and not path.is_dir():
        raise NotWritableError(f"the {what} {path} is a file, not a folder: {advice}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotWritableError(f"the {what} {path} cannot be created: a parent is a file, not a folder; "
                               f"{advice}") from None
    except OSError as err:
        raise NotWritableError(f"the {what} {path} cannot be created ({err.strerror or err}): {advice}") from None
    probe = path / f".write-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"ok")
    except OSError as err:
        raise NotWritableError(f"the {what} {path} is not writable ({err.strerror or err}): {advice}") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return path


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists on this machine (it may belong to another user)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def remove_stale(folder: str | os.PathLike, pattern: str, *, max_age_s: float | None = None,
                 keep: Callable[[Path], bool] | None = None) -> list[Path]:
    """Remove the entries of ``folder`` whose name fully matches the regular expression ``pattern`` and that
    are stale; returns what was removed.

    Stale: the pattern has a named group ``pid`` and that process is dead (and it is not this process), or,
    without a ``pid`` group, the entry is older than ``max_age_s`` seconds (``None``: never by age).
    ``keep(path) -> True`` spares an entry anyway. Folders are removed with their contents. Never raises for
    an entry that vanished or cannot be removed (another process may be cleaning too).
    """
    folder = Path(folder)
    regex = re.compile(pattern)
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        m = regex.fullmatch(entry.name)
        if m is None:
            continue
        pid = m.groupdict().get("pid")
        try:
            if pid is not None:
                stale = int(pid) != os.getpid() and not pid_alive(int(pid))
            else:
                stale = max_age_s is not None and now - entry.lstat().st_mtime > max_age_s
            if not stale or (keep is not None and keep(entry)):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        except OSError:
            continue
    return removed


def current_umask() -> int:
    """The process umask (from /proc on Linux; elsewhere set and restored at once)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike) -> None:
    """``chmod`` ``path`` to ``0o666 & ~umask``: the mode ``open()`` gives a new file (e.g. 0644)."""
    with contextlib.suppress(OSError):
        os.chmod(path, 0o666 & ~current_umask())
