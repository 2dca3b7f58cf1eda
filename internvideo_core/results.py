"""Headline numbers of a notebook or script run, written as JSON for tests and the reproduction report."""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from internvideo_core.paths import runs_dir


def results_path(name: str, profile: str) -> Path:
    """``runs/results/<profile>/<name>.json``."""
    return runs_dir() / "results" / profile / f"{name}.json"


def save_results(name: str, profile: str, values: dict[str, Any]) -> Path:
    """Write ``values`` (JSON-serialisable) plus provenance; returns the path. Written atomically."""
    path = results_path(name, profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "name": name,
        "profile": profile,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": platform.python_version(),
        "values": values,
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=float))
    os.replace(tmp, path)
    return path


def load_results(name: str, profile: str) -> dict[str, Any]:
    """The ``values`` written by :func:`save_results`; a clear error if the run has not happened."""
    path = results_path(name, profile)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: run the notebook {name!r} in the {profile!r} profile first "
            f"(`make run` for the tutorial profile)."
        )
    return json.loads(path.read_text())["values"]
