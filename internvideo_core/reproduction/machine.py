"""Where and with what a run happened: CPU model and cores, torch and Python versions, kit version, git commit."""
from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from internvideo_core.paths import REPO_DIR


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, ``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_commit(repo: Path = REPO_DIR) -> str:
    """``<short sha>`` of the checkout, ``+dirty`` when tracked files changed; ``"unknown"`` outside git."""
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def machine_info() -> dict[str, str]:
    """The facts the report prints about the machine and the code (no torch import: read from metadata)."""
    from internvideo_core import __version__

    gpu = os.environ.get("CUDA_VISIBLE_DEVICES")
    return {
        "cpu": cpu_model(),
        "cores": str(os.cpu_count() or "unknown"),
        "torch": _version("torch"),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "kit": __version__,
        "commit": git_commit(),
        **({"CUDA_VISIBLE_DEVICES": gpu} if gpu else {}),
    }
