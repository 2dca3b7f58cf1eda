"""Shared test fixtures: paths of the official reference vectors (``tests/fixtures/official``) and of the sample
videos shipped in the package, and the local servers of the download tests (``tests/_hub_server.py``)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("INTERNVIDEO_OFFLINE", "1")  # no test may reach the network

REPO = Path(__file__).resolve().parents[1]
#: Reference vectors and tiny checkpoints produced by the official InternVideo1 code (README.md and MANIFEST.json
#: there say how); committed with the tests so that a fresh clone is the whole kit.
OFFICIAL_DIR = Path(__file__).resolve().parent / "fixtures" / "official"


@pytest.fixture(autouse=True)
def _tqdm_without_shared_locks(monkeypatch):
    """Every tqdm bar, even a disabled one, takes tqdm's inter-process lock (a semaphore shared with forked
    children) and starts a monitor thread that takes it every 10 s. Mutation testing (``make mutation``) forks the
    test process once per mutant and kills the ones that time out: a child killed while holding the semaphore left
    every later child waiting on it (all timeouts, counted as killed). A process-local lock and no monitor thread
    keep each child independent."""
    import threading

    import tqdm

    monkeypatch.setattr(tqdm.tqdm, "monitor_interval", 0)
    monkeypatch.setattr(tqdm.tqdm, "_lock", threading.RLock(), raising=False)


@pytest.fixture
def checkpoint_calls(monkeypatch) -> list:
    """Spy on ``torch.utils.checkpoint.checkpoint``: the list of ``(fn, kwargs)`` of every call (the real function
    still runs), to check that gradient checkpointing reaches the blocks it should."""
    import torch.utils.checkpoint

    calls: list = []
    real = torch.utils.checkpoint.checkpoint

    def counting(fn, *args, **kwargs):
        calls.append((fn, kwargs))
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(torch.utils.checkpoint, "checkpoint", counting)
    return calls


@pytest.fixture
def randomise():
    """``randomise(module, seed=0)``: every parameter of ``module`` redrawn in place from N(0, 0.5^2) by a seeded
    generator; returns the module. Unit tests that compare a layer with a hand-written reference need weights far
    from the initialisation (zero biases, unit norms, ones in layer scales would hide a missing term)."""
    import torch

    def draw(module, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in module.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        return module

    return draw


@pytest.fixture(scope="session")
def official_dir() -> Path:
    """``tests/fixtures/official`` (committed with the repository). Missing is a failure."""
    if not (OFFICIAL_DIR / "MANIFEST.json").exists():
        pytest.fail(f"official fixtures not found at {OFFICIAL_DIR}; they are part of the repository: "
                    "restore them with `git checkout -- tests/fixtures/official`")
    return OFFICIAL_DIR


@pytest.fixture(scope="session")
def videos_dir() -> Path:
    """The real sample videos shipped in the package (``internvideo_core/assets/videos``)."""
    from internvideo_core.paths import videos_dir as shipped

    return shipped()


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


# ------------------------------------------------------------------ downloads against 127.0.0.1 (tests/_hub_server.py)
@pytest.fixture
def online(monkeypatch, tmp_path):
    """Downloads allowed (everything else runs with INTERNVIDEO_OFFLINE=1), cache in tmp_path."""
    monkeypatch.delenv("INTERNVIDEO_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("INTERNVIDEO_CACHE", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def server():
    """A local HTTP server of in-memory files that misbehaves on request (:class:`_hub_server.Server`)."""
    from _hub_server import serving_files

    with serving_files() as state:
        yield state


@pytest.fixture
def scripted():
    """``(base URL, script)``: a raw TCP server answering its n-th connection with ``script[n]``, or never."""
    from _hub_server import scripted_server

    with scripted_server() as pair:
        yield pair
