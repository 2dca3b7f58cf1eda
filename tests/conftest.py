"""Shared test fixtures: paths of the official reference vectors and of the sample videos."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("INTERNVIDEO_OFFLINE", "1")  # no test may reach the network

REPO = Path(__file__).resolve().parents[1]


def _official_dir() -> Path:
    from internvideo_core.paths import shared_dir

    return shared_dir() / "fixtures" / "official"


@pytest.fixture(scope="session")
def official_dir() -> Path:
    """``../shared/fixtures/official`` (or ``$INTERNVIDEO_SHARED/fixtures/official``). Missing is a failure."""
    path = _official_dir()
    if not (path / "MANIFEST.json").exists():
        pytest.fail(f"official fixtures not found at {path}; set INTERNVIDEO_SHARED to the team's shared/ folder")
    return path


@pytest.fixture(scope="session")
def videos_dir() -> Path:
    return REPO / "data" / "videos"
