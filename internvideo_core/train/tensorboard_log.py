"""Optional TensorBoard logging of a training run (``--tensorboard``), beside the JSON lines of ``log.txt``.

Rank 0 writes ``output_dir/tensorboard/events.out.tfevents.*``: per optimizer step ``train/loss``,
``train/lr`` and ``train/grad_norm``; per epoch every value of the epoch log under ``epoch/<name>`` (means over
the epoch and the validation metrics), with the global step as the x axis. ``tensorboard --logdir runs/`` then
shows every run under it.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

__all__ = ["TensorBoardUnavailableError", "TensorBoardLog", "check_tensorboard", "open_tensorboard"]


class TensorBoardUnavailableError(ImportError):
    """``--tensorboard`` was asked for but the ``tensorboard`` package is not installed."""


class TensorBoardLog:
    """A thin wrapper of ``torch.utils.tensorboard.SummaryWriter`` that skips non-finite values."""

    def __init__(self, log_dir: str | Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(log_dir)
        self._writer = SummaryWriter(log_dir=str(self.log_dir))

    def _scalar(self, tag: str, value: float, step: int) -> None:
        value = float(value)
        if math.isfinite(value):
            self._writer.add_scalar(tag, value, step)

    def step(self, step: int, loss: float, lr: float, grad_norm: float | None = None) -> None:
        self._scalar("train/loss", loss, step)
        self._scalar("train/lr", lr, step)
        if grad_norm is not None:
            self._scalar("train/grad_norm", grad_norm, step)

    def epoch(self, step: int, summary: Mapping[str, float]) -> None:
        for key, value in summary.items():
            if key not in ("epoch", "step"):
                self._scalar(f"epoch/{key}", value, step)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def check_tensorboard(output_dir: str | Path | None) -> None:
    """Raise now what :func:`open_tensorboard` would raise later (the commands call it before building).

    Raises:
        ValueError: no ``output_dir`` (the event files need a folder).
        TensorBoardUnavailableError: the ``tensorboard`` package is missing (the message says how to install it).
    """
    if output_dir is None:
        raise ValueError("--tensorboard needs --output-dir (the event files go to OUTPUT_DIR/tensorboard)")
    try:
        import tensorboard  # noqa: F401 - torch.utils.tensorboard needs it
    except ImportError:
        raise TensorBoardUnavailableError(
            "--tensorboard needs the tensorboard package: pip install 'internvideo-core[train]' "
            "(or pip install tensorboard), or drop --tensorboard (log.txt has the same numbers)") from None


def open_tensorboard(output_dir: str | Path | None) -> TensorBoardLog:
    """A :class:`TensorBoardLog` in ``output_dir/tensorboard`` (errors as :func:`check_tensorboard`)."""
    check_tensorboard(output_dir)
    return TensorBoardLog(Path(output_dir) / "tensorboard")
