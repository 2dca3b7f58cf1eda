"""Execute the numbered notebooks headlessly with papermill (the kit's main job, ``make run``).

Each notebook's first cell is tagged ``parameters`` and accepts ``PROFILE`` (``smoke`` / ``tutorial`` /
``full``) and ``SEED``; executed copies go to ``runs/notebooks/<profile>/`` and each notebook writes its
headline numbers with :func:`internvideo_core.results.save_results`.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from internvideo_core.paths import REPO_DIR, runs_dir

PROFILES = ("smoke", "tutorial", "full")


def notebook_paths(pattern: str = "[0-9][0-9]_*.ipynb") -> list[Path]:
    """The numbered notebooks in ``notebooks/``, in order."""
    return sorted((REPO_DIR / "notebooks").glob(pattern))


# What the kernels inherit: figures captured as cell outputs (inline backend, also when the calling process
# uses Agg, as the tests do) and idle OpenMP threads that sleep instead of spinning (on a shared 2-core
# machine spinning threads made the tutorial notebooks 3-10x slower).
KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "OMP_WAIT_POLICY": "PASSIVE"}


@contextlib.contextmanager
def _kernel_environment() -> Iterator[None]:
    """Set :data:`KERNEL_ENV` in ``os.environ`` (inherited by the papermill kernel), restore it afterwards."""
    backup = {k: os.environ.get(k) for k in KERNEL_ENV}
    os.environ.update(KERNEL_ENV)
    try:
        yield
    finally:
        for key, value in backup.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


#: The runner sets this for each kernel (``make run`` may execute notebooks side by side, one thread each).
THREADS_ENV = "INTERNVIDEO_NUM_THREADS"


def setup(seed: int = 0) -> None:
    """The one setup call at the top of every notebook: torch's thread count (``INTERNVIDEO_NUM_THREADS`` when
    the runner set it, torch's default otherwise) and the global seed. Idle OpenMP threads are told to sleep by
    the runner's :data:`KERNEL_ENV` (it must be set before torch is imported, so it cannot be done here)."""
    import torch

    threads = os.environ.get(THREADS_ENV)
    if threads:
        torch.set_num_threads(max(1, int(threads)))
    torch.manual_seed(seed)


@dataclass
class NotebookRun:
    notebook: Path
    output: Path
    seconds: float
    error: str | None = None


def execute_notebook(path: Path, profile: str = "tutorial", seed: int = 0, *, kernel: str = "python3",
                     timeout_s: int = 1800, extra_parameters: dict | None = None) -> NotebookRun:
    """Run one notebook with papermill; raises ``papermill.PapermillExecutionError`` on a failing cell."""
    import papermill

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    out_dir = runs_dir() / "notebooks" / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / path.name
    params = {"PROFILE": profile, "SEED": seed, **(extra_parameters or {})}
    start = time.perf_counter()
    with _kernel_environment():
        papermill.execute_notebook(
            str(path), str(output), parameters=params, kernel_name=kernel, cwd=str(path.parent),
            progress_bar=False, execution_timeout=timeout_s,
        )
    return NotebookRun(path, output, time.perf_counter() - start)


def run_all(profile: str = "tutorial", seed: int = 0, only: list[str] | None = None,
            keep_going: bool = False) -> list[NotebookRun]:
    """Execute every numbered notebook (or those whose name starts with one of ``only``)."""
    runs: list[NotebookRun] = []
    for path in notebook_paths():
        if only and not any(path.name.startswith(o) for o in only):
            continue
        print(f"[{profile}] {path.name} ...", flush=True)
        try:
            run = execute_notebook(path, profile, seed)
        except Exception as exc:  # report and (optionally) continue with the next notebook
            if not keep_going:
                raise
            run = NotebookRun(path, Path(), float("nan"), error=f"{type(exc).__name__}: {exc}")
        runs.append(run)
        status = "FAILED " + run.error if run.error else f"ok in {run.seconds:.0f} s -> {run.output}"
        print(f"[{profile}] {path.name} {status}", flush=True)
    return runs
