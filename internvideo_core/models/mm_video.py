"""Building blocks of InternVideo-MM and its video tower (CLIP ViT + UniFormerV2-style temporal modules).

Parameter names follow the official release (``attn.in_proj_weight``, ``attn.out_proj``, ``mlp.c_fc``,
``ln_1`` ...), so converting an official checkpoint is a rename of nothing; the computation uses
``F.scaled_dot_product_attention`` on batch-first tensors ``[B, L, C]``.

Video tower, for a clip ``x [B, 3, T, H, W]`` (CLIP mean/std applied), with ``g = H / patch``:

1. ``conv1`` (kernel/stride ``1 x p x p``, no bias) -> per-frame patch tokens ``[B*T, g*g, W]``;
   prepend the class embedding, add the learned 2-D positions (shared by all frames), ``ln_pre``.
2. ``transformer.resblocks``: CLIP pre-norm blocks (QuickGELU MLP), each frame attending only to itself.
3. After each block listed in ``temporal_layers`` (the k-th such block uses module k):
   ``dpe[k]``, a depthwise 3x3x3 Conv3d over the patch tokens laid out as ``[B, W, T, g, g]``, added to
   them (residual; the class tokens pass unchanged) -- this copy only feeds the extractor, the backbone
   stream ``x`` is not modified; then ``dec[k]``, a one-query cross-attention block: the query
   (starting from ``temporal_cls_token``) attends to all ``T * (1 + g*g)`` tokens of the clip
   (``ln_1`` on the query, ``ln_3`` on the keys/values), followed by an MLP (``ln_2``).
4. Output ``(1 - s) * query + s * mean_t(class token of frame t)`` with ``s = sigmoid(balance)``.

The dual encoder then applies ``visual_ln_post`` and ``visual_proj`` (see :mod:`.mm`).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = ["QuickGELU", "Attention", "ResidualAttentionBlock", "Extractor", "VideoTransformer", "VideoTower"]


class QuickGELU(nn.Module):
    """CLIP's GELU approximation ``x * sigmoid(1.702 x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    """Multi-head attention with ``nn.MultiheadAttention``'s parameter names, computed with SDPA.

    ``in_proj_weight [3C, C]`` / ``in_proj_bias [3C]`` hold the q, k, v projections stacked (in that
    order), ``out_proj`` is a Linear ``C -> C``. Inputs are batch-first ``[B, L, C]``.
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"attention width {dim} is not divisible by the number of heads {num_heads}")
        self.num_heads = num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, *, causal: bool = False) -> torch.Tensor:
        """Self-attention over ``x [B, L, C]``, or cross-attention from ``x`` to ``context [B, S, C]``.

        ``causal=True`` lets position i attend to positions <= i only (text tower). Returns ``[B, L, C]``.
        """
        if context is None:
            q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        else:
            dim = x.shape[-1]
            q = F.linear(x, self.in_proj_weight[:dim], self.in_proj_bias[:dim])
            k, v = F.linear(context, self.in_proj_weight[dim:], self.in_proj_bias[dim:]).chunk(2, dim=-1)
        q, k, v = (rearrange(t, "b l (h d) -> b h l d", h=self.num_heads) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.out_proj(rearrange(out, "b h l d -> b l (h d)"))


def _drop_path(rate: float) -> nn.Module:
    """timm's DropPath (stochastic depth) when ``rate > 0``; imported lazily since timm is slow to import."""
    if rate <= 0:
        return nn.Identity()
    from timm.layers import DropPath

    return DropPath(rate)


def _mlp(dim: int, hidden: int, dropout: float = 0.0) -> nn.Sequential:
    layers: list[tuple[str, nn.Module]] = [("c_fc", nn.Linear(dim, hidden)), ("gelu", QuickGELU())]
    if dropout > 0:
        layers.append(("dropout", nn.Dropout(dropout)))
    layers.append(("c_proj", nn.Linear(hidden, dim)))
    return nn.Sequential(OrderedDict(layers))


class ResidualAttentionBlock(nn.Module):
    """CLIP transformer block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))`` (QuickGELU, 4x width)."""

    def __init__(self, dim: int, num_heads: int, drop_path: float = 0.0) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = _mlp(dim, 4 * dim)
        self.drop_path = _drop_path(drop_path)

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        """``x [B, L, C] -> [B, L, C]``."""
        x = x + self.drop_path(self.attn(self.ln_1(x), causal=causal))
        return x + self.drop_path(self.mlp(self.ln_2(x)))


class Extractor(nn.Module):
    """Query-to-clip cross-attention block of the temporal module.

    ``q + attn(ln_1(q), ln_3(tokens))`` then ``+ mlp(ln_2(.))``. ``out_proj`` and ``mlp.c_proj`` start at
    zero (official init), so a fresh extractor returns its query unchanged.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0,
                 drop_path: float = 0.0) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.ln_3 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = _mlp(dim, round(mlp_ratio * dim), dropout)
        self.drop_path = _drop_path(drop_path)
        self.reset_temporal_parameters()

    def reset_temporal_parameters(self) -> None:
        """The official zero-output init: xavier q/k/v and c_fc, zero out_proj and c_proj."""
        nn.init.xavier_uniform_(self.attn.in_proj_weight)
        nn.init.zeros_(self.attn.in_proj_bias)
        nn.init.zeros_(self.attn.out_proj.weight)
        nn.init.zeros_(self.attn.out_proj.bias)
        nn.init.xavier_uniform_(self.mlp.c_fc.weight)
        nn.init.zeros_(self.mlp.c_proj.weight)
        nn.init.zeros_(self.mlp.c_proj.bias)

    def forward(self, query: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """``query [B, 1, C]``, ``tokens [B, S, C]`` -> ``[B, 1, C]``."""
        query = query + self.drop_path(self.attn(self.ln_1(query), self.ln_3(tokens)))
        return query + self.drop_path(self.mlp(self.ln_2(query)))


def _resolve_temporal_layers(temporal_layers: int | Sequence[int], layers: int) -> list[int]:
    """Block indices (0-based, sorted) after which a temporal module runs; an int n means the last n blocks."""
    if isinstance(temporal_layers, int):
        if not 0 <= temporal_layers <= layers:
            raise ValueError(f"temporal_layers={temporal_layers}: must be between 0 and vision_layers={layers}")
        return list(range(layers - temporal_layers, layers))
    idx = sorted(int(i) for i in temporal_layers)
    if len(set(idx)) != len(idx) or any(not 0 <= i < layers for i in idx):
        raise ValueError(f"temporal_layers={list(temporal_layers)}: expected distinct block indices in "
                         f"[0, {layers - 1}] (vision_layers={layers})")
    return idx


class VideoTransformer(nn.Module):
    """Per-frame CLIP blocks plus the temporal modules (``dpe``, ``dec``, ``temporal_cls_token``, ``balance``)."""

    def __init__(self, width: int, layers: int, heads: int, temporal_layers: int | Sequence[int],
                 temporal_heads: int, temporal_mlp_ratio: float = 4.0, temporal_mlp_dropout: float = 0.0,
                 drop_path_rate: float = 0.0, grad_checkpointing: bool = False) -> None:
        super().__init__()
        self.temporal_layers = _resolve_temporal_layers(temporal_layers, layers)
        self.grad_checkpointing = grad_checkpointing
        n_t = len(self.temporal_layers)
        dpr = [drop_path_rate * i / max(layers - 1, 1) for i in range(layers)]
        self.resblocks = nn.ModuleList(ResidualAttentionBlock(width, heads, dpr[i]) for i in range(layers))
        self.temporal_cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.dpe = nn.ModuleList(nn.Conv3d(width, width, kernel_size=3, padding=1, groups=width) for _ in range(n_t))
        tdpr = [drop_path_rate * i / max(n_t - 1, 1) for i in range(n_t)]
        self.dec = nn.ModuleList(Extractor(width, temporal_heads, temporal_mlp_ratio, temporal_mlp_dropout, tdpr[i])
                                 for i in range(n_t))
        self.balance = nn.Parameter(torch.zeros(width))
        self.reset_temporal_parameters()

    def reset_temporal_parameters(self) -> None:
        """Official init of the temporal modules: zero query token, zero balance (s = 0.5), zero dpe bias,
        zero-output extractors. The video tower then returns ``0.5 * mean_t(class token)``."""
        nn.init.zeros_(self.temporal_cls_token)
        nn.init.zeros_(self.balance)
        for conv in self.dpe:
            conv.reset_parameters()
            nn.init.zeros_(conv.bias)
        for dec in self.dec:
            dec.reset_temporal_parameters()

    def forward(self, x: torch.Tensor, num_frames: int, grid: tuple[int, int]) -> torch.Tensor:
        """``x [B*T, 1 + gh*gw, C]`` (frame-major within each clip) -> clip feature ``[B, C]``."""
        gh, gw = grid
        query = self.temporal_cls_token.expand(x.shape[0] // num_frames, -1, -1)
        k = 0
        for i, block in enumerate(self.resblocks):
            if self.grad_checkpointing and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
            if k < len(self.temporal_layers) and i == self.temporal_layers[k]:
                patches = rearrange(x[:, 1:], "(b t) (h w) c -> b c t h w", t=num_frames, h=gh, w=gw)
                patches = x[:, 1:] + rearrange(self.dpe[k](patches), "b c t h w -> (b t) (h w) c")
                tokens = torch.cat([x[:, :1], patches], dim=1)
                tokens = rearrange(tokens, "(b t) l c -> b (t l) c", t=num_frames)
                query = self.dec[k](query, tokens)
                k += 1
        s = torch.sigmoid(self.balance)
        frame_cls = rearrange(x[:, 0], "(b t) c -> b t c", t=num_frames).mean(1)
        return (1 - s) * query[:, 0] + s * frame_cls


class VideoTower(nn.Module):
    """``visual`` of InternVideo-MM: Conv3d stem (1 x p x p), class token, 2-D positions, ``ln_pre``,
    :class:`VideoTransformer`. ``forward(x [B, 3, T, H, W]) -> [B, width]`` (before ``visual_ln_post``)."""

    def __init__(self, input_resolution: int, patch_size: int, width: int, layers: int, heads: int,
                 temporal_layers: int | Sequence[int], temporal_heads: int, temporal_mlp_ratio: float = 4.0,
                 temporal_mlp_dropout: float = 0.0, drop_path_rate: float = 0.0,
                 grad_checkpointing: bool = False) -> None:
        super().__init__()
        if input_resolution % patch_size:
            raise ValueError(f"input_resolution {input_resolution} is not a multiple of the patch size {patch_size}")
        self.patch_size = patch_size
        self.grid = input_resolution // patch_size
        self.conv1 = nn.Conv3d(3, width, (1, patch_size, patch_size), (1, patch_size, patch_size), bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(self.grid ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = VideoTransformer(width, layers, heads, temporal_layers, temporal_heads,
                                            temporal_mlp_ratio, temporal_mlp_dropout, drop_path_rate,
                                            grad_checkpointing)

    def _positions(self, gh: int, gw: int) -> torch.Tensor:
        """Positional table ``[1 + gh*gw, C]``; bicubic-resized from the trained grid when it differs."""
        pos = self.positional_embedding
        if (gh, gw) == (self.grid, self.grid):
            return pos
        grid = rearrange(pos[1:], "(h w) c -> 1 c h w", h=self.grid)
        grid = F.interpolate(grid.float(), size=(gh, gw), mode="bicubic", align_corners=False).to(pos.dtype)
        return torch.cat([pos[:1], rearrange(grid, "1 c h w -> (h w) c")], dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, 3, T, H, W]`` -> ``[B, width]``; H and W must be multiples of the patch size, any T >= 1."""
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(f"expected a video batch [B, 3, T, H, W], got shape {tuple(x.shape)}")
        if x.shape[-1] % self.patch_size or x.shape[-2] % self.patch_size:
            raise ValueError(f"frame size {tuple(x.shape[-2:])} is not a multiple of the patch size {self.patch_size}")
        x = self.conv1(x)
        num_frames, gh, gw = x.shape[2:]
        x = rearrange(x, "b c t h w -> (b t) (h w) c")
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self._positions(gh, gw).to(x.dtype)
        x = self.ln_pre(x)
        return self.transformer(x, num_frames, (gh, gw))

