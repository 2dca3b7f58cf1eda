"""Failure handling for the benchmark scripts: error records, per-cell time limits, a run deadline, SIGTERM.

A benchmark "cell" (one contender x workload, or one part of the training smoke) runs under
:func:`time_limit`; whatever it raises is turned into a JSON-friendly :func:`error_record` and the run goes
on. :class:`Terminated` (raised from a SIGTERM handler, see :func:`install_sigterm`) derives from
``BaseException`` so the per-cell ``except Exception`` handlers let it through to the top, where the
partial report is written.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import signal
import threading
import time
import traceback

__all__ = ["CellTimeout", "CheckFailed", "Terminated", "error_record", "short_error", "remaining_s",
           "time_limit", "threading_is_main", "cell_seconds", "install_sigterm"]

_START = time.monotonic()  # deadlines count from here (the scripts import this module first)


class CellTimeout(Exception):
    """A cell ran past ``--cell-timeout`` (or the rest of ``--deadline-s``)."""


class CheckFailed(Exception):
    """A contender's outputs differ from the kit's (or the compiled kit's from the eager kit's)."""


class Terminated(BaseException):
    """SIGTERM arrived (e.g. from ``timeout``): unwinds past the per-cell handlers, the report is written."""


def error_record(exc: BaseException, stage: str) -> dict[str, str]:
    """``{"error": "Type: message", "stage": ..., "traceback": full text}`` for the JSON report."""
    msg = f"{type(exc).__name__}: {exc}".strip()
    return {"error": msg[:2000], "stage": stage,
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-20000:]}


def short_error(err: str) -> str:
    """A table-sized reason: ``OOM``, ``timeout``, ``check failed`` or the exception type (also when wrapped,
    e.g. a time limit hit inside inductor arrives as ``InductorError: CellTimeout: ...``)."""
    if "OutOfMemoryError" in err or "out of memory" in err:
        return "OOM"
    if "CellTimeout" in err:
        return "timeout"
    if "CheckFailed" in err:
        return "check failed"
    if err.startswith("skipped"):
        return "skipped"
    return err.split(":", 1)[0][:40]


def remaining_s(args: argparse.Namespace) -> float:
    """Seconds left of ``args.deadline_s`` (counted from when this module was imported); ``inf`` without one."""
    if not getattr(args, "deadline_s", None):
        return math.inf
    return args.deadline_s - (time.monotonic() - _START)


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise :class:`CellTimeout` in the main thread after ``seconds`` (SIGALRM; a no-op where unavailable).

    An alarm already set by someone else (e.g. pytest-timeout) is put back afterwards with the time it has
    left, and its handler restored.
    """
    usable = (seconds is not None and math.isfinite(seconds) and hasattr(signal, "setitimer")
              and threading_is_main())
    if not usable:
        yield
        return

    def _alarm(signum, frame):
        raise CellTimeout(f"no result after {seconds:.3g} s (--cell-timeout / --deadline-s)")

    old_handler = signal.signal(signal.SIGALRM, _alarm)
    start = time.monotonic()
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, max(float(seconds), 0.01))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if outer_delay > 0:
            left = outer_delay - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), outer_interval)


def threading_is_main() -> bool:
    return threading.current_thread() is threading.main_thread()


def cell_seconds(args: argparse.Namespace) -> float | None:
    """The time limit of the next cell: ``args.cell_timeout``, shortened to what ``args.deadline_s`` leaves."""
    limit = min(getattr(args, "cell_timeout", None) or math.inf, remaining_s(args) - 2.0)
    return None if math.isinf(limit) else limit


def _raise_terminated(signum, frame) -> None:
    raise Terminated("SIGTERM")


def install_sigterm() -> None:
    """Turn SIGTERM (``timeout``, a scheduler) into :class:`Terminated` in the main thread."""
    if threading_is_main():
        signal.signal(signal.SIGTERM, _raise_terminated)
