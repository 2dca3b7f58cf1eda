"""Timing primitives of ``bench_videomae.py``: synchronised timing windows (wall and process-CPU seconds),
freeing device memory, and the matmul peak that MFU is measured against."""
from __future__ import annotations

import gc
import time
from typing import Callable

import torch

__all__ = ["time_window", "MatmulPeak"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_window(step: Callable[[], None], iters: int, device: torch.device) -> tuple[float, float]:
    """``(wall seconds, process CPU seconds)`` for ``iters`` steps (synchronised before and after).

    The CPU seconds (all threads of this process) are less sensitive than wall time to other processes
    sharing the cores (most telling with ``--threads 1``); on CUDA they only measure the host side.
    """
    _sync(device)
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(iters):
        step()
    _sync(device)
    return time.perf_counter() - t0, time.process_time() - c0


def _free(device: torch.device) -> None:
    """Give the device memory of dropped models back (CUDA; on the CPU a full ``gc.collect`` only costs time)."""
    if device.type == "cuda":
        gc.collect()
        torch.cuda.empty_cache()



class MatmulPeak:
    """Achieved TFLOP/s of ``[n, n] @ [n, n]`` in ``dtype`` on ``device``: the MFU denominator.

    :meth:`sample` times one window of ``iters`` matmuls; :attr:`best` is the fastest window seen. The run
    samples at the start, once per interleaved repeat round (so on a shared CPU the peak is measured under
    the same load as the contenders) and at the end.
    """

    def __init__(self, device: torch.device, dtype: torch.dtype, n: int, iters: int = 10) -> None:
        g = torch.Generator().manual_seed(0)
        self.a = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
        self.b = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
        self.device, self.n, self.iters = device, n, iters
        self.samples: list[float] = []
        for _ in range(2):
            self.a @ self.b

    def sample(self, windows: int = 1) -> float:
        """Time ``windows`` windows, record their TFLOP/s and return the best so far."""
        for _ in range(windows):
            wall = time_window(lambda: self.a @ self.b, self.iters, self.device)[0]
            self.samples.append(2 * self.n ** 3 * self.iters / wall / 1e12)
        return self.best

    @property
    def best(self) -> float:
        return max(self.samples)

