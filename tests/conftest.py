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


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest on one thread on a shared 2-core machine (``pytestmark = usefixtures(...)``)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tutorial_results():
    """``tutorial_results(name) -> values`` of a tutorial-profile notebook run; missing is a failure saying how."""
    from internvideo_core.results import load_results

    def read(name: str) -> dict:
        try:
            return load_results(name, "tutorial")
        except FileNotFoundError as err:
            pytest.fail(f"{err}\nRun the tutorial notebooks first: `make run` "
                        f"(or `internvideo notebooks run --profile tutorial --only {name[:2]}`).")

    return read
