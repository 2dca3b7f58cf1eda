"""Fixed 1-D sinusoid positional tables of VideoMAE and the official resizing rule.

The table is a 1-D sinusoid over the flattened token index in ``(t, h, w)`` order (not a factorised 3-D
code): row ``i``, column ``j`` is ``sin(i / 10000^(2*(j//2)/D))`` for even ``j`` and ``cos(...)`` for odd
``j``, computed in float64 and stored in float32 like the official numpy code.

The fine-tuning code builds the table for the pretraining grid (224 px, 16 frames: ``8 x 14 x 14`` for
patch 16 / tubelet 2) and, for any other input size, resizes it: bicubic over each time slot's ``h x w``
map, then linear over the time slots (both ``align_corners=False``), in that order. The pretraining model
instead builds its table for its own grid. Hugging Face ``transformers`` always builds the table for the
actual grid (no resizing); see :func:`video_pos_table`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange

__all__ = ["sinusoid_table", "resize_pos_table", "video_pos_table"]

Grid = tuple[int, int, int]


def sinusoid_table(n_position: int, dim: int) -> torch.Tensor:
    """The official 1-D sinusoid table ``[n_position, dim]`` float32 (computed in float64, on the CPU)."""
    pos = torch.arange(n_position, dtype=torch.float64, device="cpu")[:, None]
    j = torch.arange(dim, dtype=torch.float64, device="cpu")
    denom = torch.pow(torch.tensor(10000.0, dtype=torch.float64, device="cpu"), 2 * torch.div(j, 2, rounding_mode="floor") / dim)
    angles = pos / denom
    table = torch.empty_like(angles)
    table[:, 0::2] = torch.sin(angles[:, 0::2])
    table[:, 1::2] = torch.cos(angles[:, 1::2])
    return table.to(torch.float32)


def resize_pos_table(table: torch.Tensor, src_grid: Grid, dst_grid: Grid) -> torch.Tensor:
    """Resize a ``[t*h*w, D]`` table from ``src_grid`` to ``dst_grid`` as the official fine-tuning code.

    Space first (bicubic over ``h x w`` per source time slot), then time (linear over the time slots), both
    with ``align_corners=False``; each step is skipped when that size already matches.
    Returns ``[T*H*W, D]`` in ``(t, h, w)`` order.
    """
    t, h, w = src_grid
    nt, nh, nw = dst_grid
    if table.shape[0] != t * h * w:
        raise ValueError(f"table has {table.shape[0]} rows, grid {src_grid} needs {t * h * w}")
    x = table.float()
    if (h, w) != (nh, nw):
        maps = rearrange(x, "(t h w) d -> t d h w", t=t, h=h, w=w)
        maps = F.interpolate(maps, size=(nh, nw), mode="bicubic", align_corners=False)
        x = rearrange(maps, "t d h w -> (t h w) d")
    if t != nt:
        seq = rearrange(x, "(t h w) d -> (h w) d t", t=t, h=nh, w=nw)
        seq = F.interpolate(seq, size=nt, mode="linear", align_corners=False)
        x = rearrange(seq, "(h w) d t -> (t h w) d", h=nh, w=nw)
    return x.contiguous()


def video_pos_table(grid: Grid, dim: int, ref_grid: Grid | None = None) -> torch.Tensor:
    """Positional table ``[T*H*W, dim]`` for a token grid ``(T, H, W)``.

    ``ref_grid=None`` (pretraining model, Hugging Face): the sinusoid for the grid's own token count.
    ``ref_grid`` given (official classifier: the 224 px / 16-frame grid): the sinusoid of ``ref_grid``,
    resized to ``grid`` with :func:`resize_pos_table` when they differ.
    """
    if ref_grid is None or tuple(ref_grid) == tuple(grid):
        return sinusoid_table(grid[0] * grid[1] * grid[2], dim)
    ref = sinusoid_table(ref_grid[0] * ref_grid[1] * ref_grid[2], dim)
    return resize_pos_table(ref, tuple(ref_grid), tuple(grid))
