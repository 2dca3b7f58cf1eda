"""Text transformer of InternVideo-MM: the CLIP text tower's blocks (causal self-attention, QuickGELU).

The embeddings, ``ln_final`` and ``text_projection`` sit on the dual encoder itself (official key names
``token_embedding``, ``positional_embedding``, ``ln_final``, ``text_projection``); this module holds
``transformer.resblocks``.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .mm_video import ResidualAttentionBlock

__all__ = ["TextTransformer"]


class TextTransformer(nn.Module):
    """``layers`` CLIP blocks with a causal mask; ``forward(x [B, L, C]) -> [B, L, C]``.

    Initialised as CLIP / the official ``VideoIntern.initialize_parameters``: q/k/v ``N(0, C^-0.5)``,
    output projections ``N(0, C^-0.5 (2 layers)^-0.5)``, ``c_fc`` ``N(0, (2C)^-0.5)``.
    """

    def __init__(self, width: int, layers: int, heads: int, grad_checkpointing: bool = False) -> None:
        super().__init__()
        self.width = width
        self.grad_checkpointing = grad_checkpointing
        self.resblocks = nn.ModuleList(ResidualAttentionBlock(width, heads) for _ in range(layers))
        attn_std = width ** -0.5
        proj_std = attn_std * (2 * max(layers, 1)) ** -0.5
        fc_std = (2 * width) ** -0.5
        for block in self.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            if self.grad_checkpointing and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, True, use_reentrant=False)
            else:
                x = block(x, causal=True)
        return x
