"""Token masks for masked video modelling: tube masking (VideoMAE) and random masking.

Masks are ``bool [B, N]`` with ``True = masked`` and tokens in ``(t, h, w)`` order, ``N = t * h * w`` for
a token grid ``(t, h, w)``. Every function draws from an explicit :class:`torch.Generator` (never the
global RNG), is batched, and masks exactly the same number of tokens in every sample (the autoencoder
needs equal counts to batch the visible tokens):

- :func:`tube_mask`: the official ``TubeMaskingGenerator``: ``int(ratio * h * w)`` masked positions per
  time slot, the same spatial positions in every slot (a "tube" through time);
- :func:`random_mask`: ``int(ratio * N)`` masked tokens chosen independently over all ``N`` tokens.
"""
from __future__ import annotations

import torch
from einops import repeat

__all__ = ["tube_mask", "random_mask", "make_mask", "num_masked", "visible_statistics"]

Grid = tuple[int, int, int]


def _check(batch: int, grid: Grid, ratio: float, generator: torch.Generator) -> None:
    if not isinstance(generator, torch.Generator):
        raise TypeError("pass an explicit torch.Generator (e.g. torch.Generator().manual_seed(0)); "
                        "masks never draw from the global RNG")
    if batch < 0 or len(grid) != 3 or any(int(g) <= 0 for g in grid):
        raise ValueError(f"need batch >= 0 and a grid of three positive sizes (t, h, w), got {batch}, {grid}")
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must be in [0, 1), got {ratio}")


def _lowest_k(noise: torch.Tensor, k: int) -> torch.Tensor:
    """``bool`` mask of the ``k`` smallest entries of each row of ``noise [B, M]``."""
    ranks = noise.argsort(dim=1).argsort(dim=1)
    return ranks < k


def num_masked(kind: str, grid: Grid, ratio: float) -> int:
    """Number of masked tokens per sample for ``kind`` in ``{"tube", "random"}``."""
    t, h, w = grid
    if kind == "tube":
        return t * int(ratio * h * w)
    if kind == "random":
        return int(ratio * (t * h * w))  # ratio x N, as random_mask and the official generator (float order matters)
    raise ValueError(f"unknown mask kind {kind!r}; use 'tube' or 'random'")


def tube_mask(batch: int, grid: Grid, ratio: float, *, generator: torch.Generator,
              device: torch.device | str | None = None) -> torch.Tensor:
    """Tube masking: ``bool [batch, t*h*w]``, the same ``int(ratio*h*w)`` spatial positions masked in each slot.

    Args:
        batch: number of masks.
        grid: token grid ``(t, h, w)`` (e.g. ``(8, 14, 14)`` for 16 frames at 224 px).
        ratio: mask ratio in ``[0, 1)`` (0.9 in VideoMAE pretraining).
        generator: the random source (CPU generator; the result is moved to ``device``).
        device: where to put the mask.
    """
    _check(batch, grid, ratio, generator)
    t, h, w = (int(g) for g in grid)
    k = int(ratio * h * w)
    noise = torch.rand(batch, h * w, generator=generator, device=generator.device)
    spatial = _lowest_k(noise, k)
    return repeat(spatial, "b hw -> b (t hw)", t=t).to(device or spatial.device)


def random_mask(batch: int, grid: Grid, ratio: float, *, generator: torch.Generator,
                device: torch.device | str | None = None) -> torch.Tensor:
    """Random masking: ``bool [batch, N]`` with exactly ``int(ratio * N)`` masked tokens per sample."""
    _check(batch, grid, ratio, generator)
    n = int(grid[0]) * int(grid[1]) * int(grid[2])
    noise = torch.rand(batch, n, generator=generator, device=generator.device)
    mask = _lowest_k(noise, int(ratio * n))
    return mask.to(device or mask.device)


def make_mask(kind: str, batch: int, grid: Grid, ratio: float, *, generator: torch.Generator,
              device: torch.device | str | None = None) -> torch.Tensor:
    """Dispatch to :func:`tube_mask` (``kind="tube"``) or :func:`random_mask` (``kind="random"``)."""
    if kind == "tube":
        return tube_mask(batch, grid, ratio, generator=generator, device=device)
    if kind == "random":
        return random_mask(batch, grid, ratio, generator=generator, device=device)
    raise ValueError(f"unknown mask kind {kind!r}; use 'tube' or 'random'")


def visible_statistics(mean: torch.Tensor, std: torch.Tensor, mask: torch.Tensor,
                       grid: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Each token's pixel mean / std ``[B, N, C]`` estimated from the *visible* tokens only.

    With normalised-pixel targets the MAE decoder predicts a tubelet up to its mean and std; to show a
    reconstruction without the hidden pixels, every token gets the average of the visible tokens' ``mean`` /
    ``std`` ``[B, N, C]`` weighted by 1 / squared distance in (t, h, w) token units (distance 0 counts as 1).
    ``mask``: bool ``[B, N]``, True = hidden. Used by notebook 02 and the demo's reconstruction tab.
    """
    t, h, w = grid
    pos = torch.stack(torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w), indexing="ij"), -1)
    pos = pos.reshape(-1, 3).float()                                           # [N, 3]
    weight = 1.0 / torch.cdist(pos, pos).pow(2).clamp(min=1.0)                 # [N, N]
    weight = weight[None] * (~mask.bool())[:, None, :].float()                # [B, N, N]: visible sources only
    weight = weight / weight.sum(-1, keepdim=True).clamp(min=1e-12)
    return weight @ mean, weight @ std
