"""Per-iteration linear warmup + cosine schedules (lr and weight decay), as in the official code.

The official VideoMAE ``utils.cosine_scheduler(base, final, epochs, niter_per_ep, warmup_epochs,
start_warmup_value, warmup_steps)`` builds a numpy array with one value per iteration:

- warmup: ``np.linspace(start_warmup_value, base, warmup_iters)`` (the last warmup step reaches ``base``);
- then ``final + 0.5 * (base - final) * (1 + cos(pi * i / n))`` for ``i = 0 .. n - 1``,
  ``n = total_iters - warmup_iters``.

:class:`WarmupCosine` computes the same values in closed form for any step (no array, steps past the end
stay at ``final``), and :func:`apply_schedule` writes ``lr * lr_scale`` into every param group and the
weight-decay schedule into the groups that decay (``weight_decay > 0``), like the official training loop.
The schedule is a pure function of the step, so resuming needs only the step (kept in the checkpoint).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["WarmupCosine", "cosine_scheduler", "apply_schedule"]


@dataclass(frozen=True)
class WarmupCosine:
    """Linear warmup from ``start_warmup_value`` to ``base`` over ``warmup_steps``, then cosine to ``final``.

    Args:
        base: peak value (already scaled by batch / 256 for the lr).
        final: value at the last step (``min_lr``).
        total_steps: epochs x iterations per epoch.
        warmup_steps: iterations of linear warmup (official: warmup_epochs x iterations per epoch).
        start_warmup_value: value at step 0 of the warmup (official ``warmup_lr``).
    """

    base: float
    final: float
    total_steps: int
    warmup_steps: int = 0
    start_warmup_value: float = 0.0

    def __post_init__(self) -> None:
        if self.total_steps <= 0:
            raise ValueError(f"total_steps must be positive, got {self.total_steps}")
        if not 0 <= self.warmup_steps <= self.total_steps:
            raise ValueError(f"warmup_steps={self.warmup_steps} must lie in [0, total_steps={self.total_steps}]")

    def __call__(self, step: int) -> float:
        """The value at iteration ``step`` (0-based)."""
        w = self.warmup_steps
        if step < w:
            if w == 1:
                return float(self.start_warmup_value)
            return float(self.start_warmup_value + (self.base - self.start_warmup_value) * step / (w - 1))
        n = self.total_steps - w
        if n <= 0:
            return float(self.base)
        i = min(step - w, n - 1)
        return float(self.final + 0.5 * (self.base - self.final) * (1 + math.cos(math.pi * i / n)))

    @classmethod
    def from_epochs(cls, base: float, final: float, epochs: int, iters_per_epoch: int, warmup_epochs: float = 0,
                    start_warmup_value: float = 0.0, warmup_steps: int = -1) -> "WarmupCosine":
        """The official argument order; ``warmup_steps > 0`` wins over ``warmup_epochs``."""
        total = int(epochs * iters_per_epoch)
        w = warmup_steps if warmup_steps > 0 else int(warmup_epochs * iters_per_epoch)
        return cls(base, final, total, min(w, total), start_warmup_value)

    def as_array(self) -> np.ndarray:
        """All values, ``[total_steps]`` (what the official ``cosine_scheduler`` returns)."""
        return np.array([self(s) for s in range(self.total_steps)])


def cosine_scheduler(base_value: float, final_value: float, epochs: int, niter_per_ep: int,
                     warmup_epochs: float = 0, start_warmup_value: float = 0.0, warmup_steps: int = -1) -> np.ndarray:
    """Same signature and values as the official ``utils.cosine_scheduler``: ``[epochs * niter_per_ep]``."""
    return WarmupCosine.from_epochs(base_value, final_value, epochs, niter_per_ep, warmup_epochs,
                                    start_warmup_value, warmup_steps).as_array()


def apply_schedule(optimizer: torch.optim.Optimizer, step: int, lr_schedule: WarmupCosine | None,
                   wd_schedule: WarmupCosine | None = None) -> float:
    """Set each group's ``lr = lr_schedule(step) * lr_scale`` and, for groups with ``weight_decay > 0``,
    ``weight_decay = wd_schedule(step)``. Returns the unscaled lr (for logging)."""
    lr = lr_schedule(step) if lr_schedule is not None else optimizer.param_groups[0]["lr"]
    wd = wd_schedule(step) if wd_schedule is not None else None
    for group in optimizer.param_groups:
        if lr_schedule is not None:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        if wd is not None and group["weight_decay"] > 0:
            group["weight_decay"] = wd
    return float(lr)
