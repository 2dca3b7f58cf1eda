"""An ActionFormer-style temporal localization head over snippet features (anchor-free, one point per snippet).

    head = TALHead(TALHeadConfig(in_dim=96, num_classes=9))
    cls_logits, offsets, masks = head(feats, mask)    # feats [B, D, T], mask bool [B, T]

Design (Zhang et al. 2022, ActionFormer; the head InternVideo used for its TAL numbers), with the conv backbone
of ActionFormer's ``conv`` variant instead of local self-attention (on snippet features of a few hundred steps a
conv pyramid is the cheaper, equally anchor-free choice; this is a design choice of the kit):

- embedding: two masked 1-D convs (kernel 3) + channel LayerNorm + ReLU, ``in_dim -> embed_dim``;
- pyramid: level 0 at the snippet rate, each further level max-pooled by 2 followed by a residual conv block:
  ``num_levels`` levels of strides ``1, 2, 4, ...`` (in snippets);
- heads shared over levels: classification ``[B, T_l, C]`` (logits; bias initialised to the focal-loss prior
  ``-log((1 - p) / p)``) and regression of the distances to the start and the end ``[B, T_l, 2]``, ``ReLU``
  after a learnable per-level scale, in units of the level's stride.

Targets, losses and decoding live in :mod:`internvideo_core.tal`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TALHeadConfig", "TALHead"]


@dataclass(frozen=True)
class TALHeadConfig:
    """``in_dim``: feature size; ``num_classes``; ``embed_dim``: width; ``num_levels``: pyramid levels (strides
    ``2**l``); ``head_layers``: convs per head (the last one outputs); ``prior_prob``: initial foreground
    probability of the classifier; ``dropout``: on the embedded features in training."""

    in_dim: int
    num_classes: int
    embed_dim: int = 128
    num_levels: int = 4
    head_layers: int = 2
    kernel_size: int = 3
    prior_prob: float = 0.01
    dropout: float = 0.1

    @property
    def strides(self) -> tuple[int, ...]:
        return tuple(2 ** level for level in range(self.num_levels))


class _ChannelNorm(nn.Module):
    """LayerNorm over channels of ``[B, C, T]`` (each time step on its own), as ActionFormer's ``LayerNorm``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class _ConvNormAct(nn.Module):
    """Masked conv1d (outputs at padded steps set to 0) + channel norm + ReLU: ``[B, C, T] -> [B, C', T]``."""

    def __init__(self, cin: int, cout: int, k: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, k, padding=k // 2)
        self.norm = _ChannelNorm(cout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x) * mask[:, None]))


class _Head(nn.Module):
    """``head_layers - 1`` conv-norm-ReLU blocks and an output conv, shared by all levels."""

    def __init__(self, dim: int, out: int, layers: int, k: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([_ConvNormAct(dim, dim, k) for _ in range(layers - 1)])
        self.out = nn.Conv1d(dim, out, k, padding=k // 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return self.out(x) * mask[:, None]


class TALHead(nn.Module):
    """Temporal feature pyramid + shared classification / regression heads (see the module docstring)."""

    def __init__(self, config: TALHeadConfig) -> None:
        super().__init__()
        c = self.config = config
        self.embed = nn.ModuleList([_ConvNormAct(c.in_dim, c.embed_dim, c.kernel_size),
                                    _ConvNormAct(c.embed_dim, c.embed_dim, c.kernel_size)])
        self.drop = nn.Dropout(c.dropout)
        self.levels = nn.ModuleList([_ConvNormAct(c.embed_dim, c.embed_dim, c.kernel_size)
                                     for _ in range(c.num_levels)])
        self.cls_head = _Head(c.embed_dim, c.num_classes, c.head_layers, c.kernel_size)
        self.reg_head = _Head(c.embed_dim, 2, c.head_layers, c.kernel_size)
        self.scales = nn.Parameter(torch.ones(c.num_levels))
        nn.init.constant_(self.cls_head.out.bias, -math.log((1 - c.prior_prob) / c.prior_prob))

    def forward(self, feats: torch.Tensor, mask: torch.Tensor
                ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """``feats [B, D, T]`` (``T`` a multiple of ``2**(num_levels-1)``), ``mask bool [B, T]`` (True = real step)
        -> per level ``l``: class logits ``[B, T_l, C]``, offsets ``[B, T_l, 2]`` (start / end distances in units
        of the level stride, >= 0) and masks ``[B, T_l]``, with ``T_l = T / 2**l``."""
        top = 2 ** (self.config.num_levels - 1)
        if feats.shape[-1] % top:
            raise ValueError(f"the sequence length {feats.shape[-1]} must be a multiple of {top} "
                             f"({self.config.num_levels} pyramid levels); pad it (internvideo_core.tal.collate)")
        m = mask.to(feats.dtype)
        x = feats
        for block in self.embed:
            x = block(x, m)
        x = self.drop(x)
        cls_out, reg_out, masks = [], [], []
        for level, block in enumerate(self.levels):
            if level > 0:
                x = F.max_pool1d(x, 2)
                m = m[:, ::2]
            x = x + block(x, m)
            cls_out.append(self.cls_head(x, m).transpose(1, 2))
            reg_out.append(F.relu(self.scales[level] * self.reg_head(x, m)).transpose(1, 2))
            masks.append(m.bool())
        return cls_out, reg_out, masks
