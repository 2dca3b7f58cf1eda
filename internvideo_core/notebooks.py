"""Execute the numbered notebooks headlessly with papermill (the kit's main job, ``make run``).

Each notebook's first cell is tagged ``parameters`` and accepts ``PROFILE`` (``smoke`` / ``tutorial`` /
``full``) and ``SEED``; executed copies go to ``runs/notebooks/<profile>/`` and each notebook writes its
headline numbers with :func:`internvideo_core.results.save_results`.

:func:`run_all` (``internvideo notebooks run``, ``make run``) executes them side by side (``--jobs N``, default one
per core), each in its own process with a share of the cores (``INTERNVIDEO_NUM_THREADS``, read by :func:`setup`),
in the dependency order of :mod:`internvideo_core.notebook_schedule`, printing progress; the command then writes
the reproduction report (:mod:`internvideo_core.reproduction`).
"""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
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
    start: float = 0.0       # seconds since the start of the run (``run_all``)
    log: Path | None = None  # the worker's stdout / stderr (side-by-side runs)


#: Parameters a notebook may declare in its ``parameters`` cell that headless runs set: ``INTERACTIVE = True``
#: shows ipywidgets explorers in a live notebook; papermill (``make run``, CI) gets their static figure instead.
HEADLESS_PARAMETERS = {"INTERACTIVE": False}


def headless_parameters(path: Path) -> dict:
    """The :data:`HEADLESS_PARAMETERS` that ``path``'s parameters cell declares (only those: papermill warns about
    unknown parameters)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cell = next((c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        return {}
    return {k: v for k, v in HEADLESS_PARAMETERS.items() if re.search(rf"^{k}\s*=", cell.source, re.M)}


def execute_notebook(path: Path, profile: str = "tutorial", seed: int = 0, *, kernel: str = "python3",
                     timeout_s: int = 1800, extra_parameters: dict | None = None) -> NotebookRun:
    """Run one notebook with papermill; raises ``papermill.PapermillExecutionError`` on a failing cell."""
    import papermill

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    out_dir = runs_dir() / "notebooks" / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / path.name
    params = {"PROFILE": profile, "SEED": seed, **headless_parameters(path), **(extra_parameters or {})}
    start = time.perf_counter()
    with _kernel_environment():
        papermill.execute_notebook(
            str(path), str(output), parameters=params, kernel_name=kernel, cwd=str(path.parent),
            progress_bar=False, execution_timeout=timeout_s,
        )
    return NotebookRun(path, output, time.perf_counter() - start)


def default_jobs() -> int:
    """Notebooks side by side by default: one per CPU core, at most 4. On the 2-core build machine a tiny-ViT
    training step ran 1.43x more steps/s as two 1-thread processes than as one 2-thread process, and two 2-thread
    notebooks side by side ran about as fast as two 1-thread ones. Each notebook runs with its fixed thread count
    (:data:`internvideo_core.notebook_schedule.THREADS`), so its numbers do not depend on the machine."""
    return max(1, min(4, os.cpu_count() or 1))


def _worker_command(path: Path, profile: str, seed: int, timeout_s: int) -> list[str]:
    return [sys.executable, "-m", "internvideo_core.notebooks", str(path), "--profile", profile, "--seed",
            str(seed), "--timeout", str(timeout_s)]


def run_in_subprocess(path: Path, profile: str, seed: int, threads: int, log: Path,
                      timeout_s: int = 1800) -> NotebookRun:
    """Execute one notebook in a fresh Python process (``python -m internvideo_core.notebooks``) whose kernel
    uses ``threads`` torch threads (:data:`THREADS_ENV`); its output goes to ``log``. Never raises for a failing
    notebook: the error is in the returned run."""
    # numpy's BLAS and OpenMP pools get the same share as torch, unless the user set them
    pools = {k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
             if k not in os.environ}
    env = {**os.environ, **pools, THREADS_ENV: str(threads),
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_DIR), os.environ.get("PYTHONPATH", "")) if p)}
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        rc = subprocess.run(_worker_command(path, profile, seed, timeout_s), stdout=fh, stderr=subprocess.STDOUT,
                            env=env).returncode
    seconds = time.perf_counter() - start
    output = runs_dir() / "notebooks" / profile / path.name
    if rc == 0:
        return NotebookRun(path, output, seconds, log=log)
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    err = next((ln[len("ERROR: "):] for ln in reversed(lines) if ln.startswith("ERROR: ")), None)
    return NotebookRun(path, output, seconds, error=(err or f"exit status {rc}") + f" (log: {log})", log=log)


def select(only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks, or those whose name starts with one of ``only``."""
    return [p for p in notebook_paths() if not only or any(p.name.startswith(o) for o in only)]


def run_all(profile: str = "tutorial", seed: int = 0, only: list[str] | None = None,
            keep_going: bool = False, jobs: int | None = None, *, tick_s: float = 30.0,
            timeout_s: int = 1800) -> list[NotebookRun]:
    """Execute every numbered notebook (or those whose name starts with one of ``only``), ``jobs`` side by side
    (default :func:`default_jobs`) each with its fixed thread count (:data:`~internvideo_core.notebook_schedule.THREADS`), in the order of
    :mod:`internvideo_core.notebook_schedule` (dependencies first, then longest-first); print progress.

    Without ``keep_going`` a failure stops new notebooks from starting (running ones finish). Each notebook's
    time goes to ``runs/<profile>/times.json`` (the next run's estimates). Returns the runs in notebook order.
    """
    from internvideo_core.notebook_schedule import TUTORIAL_SECONDS, run_scheduled, simulate
    from internvideo_core.reproduction.report import previous_seconds, write_times

    from internvideo_core.notebook_schedule import threads_of

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    jobs = jobs or default_jobs()
    paths = {p.stem: p for p in select(only)}
    known = previous_seconds(profile)
    # shown estimates: this profile's last run (the tutorial's published times before the first run); the
    # start order uses the tutorial's times where this profile has none (the relative lengths are alike)
    estimates = {**(TUTORIAL_SECONDS if profile == "tutorial" else {}), **known}
    order = {**TUTORIAL_SECONDS, **known}
    total, _ = simulate(paths, estimates, jobs)
    counts = sorted({threads_of(s) for s in paths})
    threads = counts[0] if len(counts) == 1 else "/".join(map(str, counts))   # as recorded in times.json
    print(f"[{profile}] {len(paths)} notebooks, {jobs} side by side (fixed torch threads per notebook: "
          f"{', '.join(map(str, counts))})"
          + (f"; about {_clock(total)} by the previous run's times" if estimates else ""), flush=True)
    logs = runs_dir() / profile / "logs"

    t0 = time.perf_counter()

    def run_one(stem: str) -> NotebookRun:
        start = time.perf_counter() - t0
        run = run_in_subprocess(paths[stem], profile, seed, threads_of(stem), logs / f"{stem}.log", timeout_s)
        run.start = start
        return run

    counter = {"done": 0}

    def progress(ev) -> None:
        clock = f"[{profile} {_clock(ev.elapsed)}]"
        if ev.kind == "start":
            est = estimates.get(ev.name[:2])
            print(f"{clock} start {ev.name}" + (f" (previous run {est:.0f} s)" if est else ""), flush=True)
        elif ev.kind == "tick":
            parts = [f"{n[:2]} {s:.0f} s" + (f" of ~{estimates[n[:2]]:.0f}" if n[:2] in estimates else "")
                     for n, s in sorted(ev.running.items())]
            print(f"{clock} running {', '.join(parts)} | {counter['done']} of {len(paths)} done", flush=True)
        else:
            counter["done"] += 1
            r: NotebookRun = ev.result
            state = f"FAILED {r.error}" if r.error else f"ok in {r.seconds:.0f} s"
            print(f"{clock} {ev.name} {state} | {counter['done']} of {len(paths)} done", flush=True)

    results = run_scheduled(list(paths), run_one, jobs=jobs, estimates=order, on_event=progress, tick_s=tick_s,
                            stop_on_error=None if keep_going else (lambda r: r.error is not None))
    wall = time.perf_counter() - t0
    runs = [results[s] for s in paths if s in results]
    write_times(profile, [(r.notebook.stem, r.start, r.start + r.seconds, r.error is None) for r in runs],
                jobs=jobs, threads=threads, wall_seconds=wall)
    skipped = [s for s in paths if s not in results]
    if skipped:
        print(f"[{profile}] not started after a failure: {', '.join(skipped)} (--keep-going runs them)", flush=True)
    return runs


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def main(argv: list[str] | None = None) -> int:
    """``python -m internvideo_core.notebooks NOTEBOOK --profile P --seed S``: the worker of :func:`run_all`."""
    import argparse
    import traceback

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("notebook", type=Path)
    ap.add_argument("--profile", default="tutorial", choices=PROFILES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=int, default=1800)
    a = ap.parse_args(argv)
    try:
        run = execute_notebook(a.notebook, a.profile, a.seed, timeout_s=a.timeout)
    except Exception as exc:  # one line the runner shows, the traceback stays in the log
        traceback.print_exc()
        lines = [ln for ln in re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines() if ln.strip()]
        print(f"ERROR: {type(exc).__name__}: {lines[-1].strip() if lines else ''}"[:400], flush=True)
        return 1
    print(f"ok in {run.seconds:.1f} s -> {run.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
