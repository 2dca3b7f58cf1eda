"""Building blocks of the VideoMAE video ViT, with the official parameter names.

- :class:`PatchEmbed`: Conv3d tubelet embedding ``[B, C, T, H, W] -> [B, N, D]`` with tokens in
  ``(t, h, w)`` order (``patch_embed.proj.*``).
- :class:`Attention`: ONE fused ``qkv`` Linear without bias plus separate ``q_bias`` / ``v_bias`` parameters
  (the key bias is zero), computed with :func:`torch.nn.functional.scaled_dot_product_attention`.
- :class:`Mlp`: ``fc1 -> GELU -> fc2 -> dropout`` (the official code has no dropout after the activation).
- :class:`Block`: pre-norm transformer block with timm ``DropPath`` and optional layer scale
  (``gamma_1`` / ``gamma_2``, only when ``init_values > 0`` as in the official code).
- :class:`ViTEncoderConfig`: the fields every video ViT of the kit shares (classifier and masked
  autoencoder configs derive from it); :func:`tubelet_embed` and :func:`make_blocks` build from it.

Nothing here hard-codes a dtype, so the blocks run under ``torch.autocast`` (bf16 on CUDA).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from einops import rearrange
from timm.layers import DropPath
from torch import nn

__all__ = ["PatchEmbed", "Attention", "Mlp", "Block", "run_blocks", "ViTEncoderConfig", "tubelet_embed", "make_blocks"]


class PatchEmbed(nn.Module):
    """Tubelet embedding: a Conv3d of kernel = stride = ``(tubelet_size, patch_size, patch_size)``.

    Args:
        img_size: input height = width in pixels.
        patch_size: spatial patch size.
        in_chans: input channels.
        embed_dim: output width ``D``.
        num_frames: input frames ``T``.
        tubelet_size: frames per token.

    Shapes: ``[B, C, T, H, W] -> [B, N, D]`` with ``N = T/tubelet * H/p * W/p`` in ``(t, h, w)`` order.
    """

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_chans: int = 3, embed_dim: int = 768,
                 num_frames: int = 16, tubelet_size: int = 2) -> None:
        super().__init__()
        if img_size % patch_size:
            raise ValueError(f"img_size {img_size} is not a multiple of patch_size {patch_size}")
        if num_frames % tubelet_size:
            raise ValueError(f"num_frames {num_frames} is not a multiple of tubelet_size {tubelet_size}")
        self.img_size = img_size
        self.patch_size = patch_size
        self.num_frames = num_frames
        self.tubelet_size = tubelet_size
        self.in_chans = in_chans
        self.grid = (num_frames // tubelet_size, img_size // patch_size, img_size // patch_size)
        self.num_patches = self.grid[0] * self.grid[1] * self.grid[2]
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=kernel, stride=kernel)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a clear error when ``x`` is not ``[B, in_chans, num_frames, img_size, img_size]``."""
        expected = (self.in_chans, self.num_frames, self.img_size, self.img_size)
        if x.ndim != 5 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"expected a video batch [B, C, T, H, W] = [B, {expected[0]}, {expected[1]}, {expected[2]}, "
                f"{expected[3]}], got {list(x.shape)}. Resize/crop the clip, or build the model with matching "
                f"overrides (img_size=..., num_frames=...)."
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T, H, W] -> [B, N, D]``."""
        self.check_input(x)
        # contiguous: a transposed residual stream would make every LayerNorm / Linear copy it (~25 % slower on CPU)
        return rearrange(self.proj(x), "b d t h w -> b (t h w) d").contiguous()


class Attention(nn.Module):
    """Multi-head self-attention with the official VideoMAE layout.

    Parameters: ``qkv.weight [3D, D]`` (no bias), ``q_bias [D]``, ``v_bias [D]`` (key bias fixed at zero),
    ``proj.weight [D, D]``, ``proj.bias [D]``. ``qkv_bias=False`` drops ``q_bias``/``v_bias``.

    Shapes: ``[B, N, D] -> [B, N, D]``.
    """

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"width {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
        else:
            self.register_parameter("q_bias", None)
            self.register_parameter("v_bias", None)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def qkv_bias(self) -> torch.Tensor | None:
        """``cat(q_bias, 0, v_bias)`` ``[3D]`` or ``None``."""
        if self.q_bias is None:
            return None
        return torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = F.linear(x, self.qkv.weight, self.qkv_bias())
        q, k, v = rearrange(qkv, "b n (three h d) -> three b h n d", three=3, h=self.num_heads).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.0)
        return self.proj_drop(self.proj(rearrange(out, "b h n d -> b n (h d)")))


class Mlp(nn.Module):
    """``fc1 -> GELU -> fc2 -> Dropout`` (official VideoMAE order). Shapes: ``[..., D] -> [..., D]``."""

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.act(self.fc1(x))))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + DropPath(attn(norm1(x)))``, ``x + DropPath(mlp(norm2(x)))``.

    Args:
        dim, num_heads, mlp_ratio: width, heads and MLP expansion (hidden = ``int(dim * mlp_ratio)``).
        qkv_bias: learn ``q_bias`` / ``v_bias``.
        drop: dropout after the attention projection and the MLP.
        attn_drop: dropout on the attention weights (SDPA ``dropout_p``).
        drop_path: stochastic depth rate (timm ``DropPath``).
        init_values: > 0 adds layer-scale ``gamma_1`` / ``gamma_2`` (official names); 0 = none (released models).
        eps: LayerNorm epsilon (1e-6 in VideoMAE).

    Shapes: ``[B, N, D] -> [B, N, D]``.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 drop: float = 0.0, attn_drop: float = 0.0, drop_path: float = 0.0, init_values: float = 0.0,
                 eps: float = 1e-6) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)
        if init_values and init_values > 0:
            self.gamma_1 = nn.Parameter(init_values * torch.ones(dim))
            self.gamma_2 = nn.Parameter(init_values * torch.ones(dim))
        else:
            self.gamma_1 = self.gamma_2 = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gamma_1 is None:
            x = x + self.drop_path(self.attn(self.norm1(x)))
            return x + self.drop_path(self.mlp(self.norm2(x)))
        x = x + self.drop_path(self.gamma_1 * self.attn(self.norm1(x)))
        return x + self.drop_path(self.gamma_2 * self.mlp(self.norm2(x)))


def run_blocks(blocks: nn.ModuleList, x: torch.Tensor, checkpointing: bool = False) -> torch.Tensor:
    """Apply ``blocks`` in order; with ``checkpointing`` (and grad enabled) recompute activations in backward."""
    use_cp = checkpointing and torch.is_grad_enabled()
    for blk in blocks:
        if use_cp:
            x = torch.utils.checkpoint.checkpoint(blk, x, use_reentrant=False)
        else:
            x = blk(x)
    return x


@dataclass(frozen=True)
class ViTEncoderConfig:
    """Fields shared by the video ViT configs (``VideoViTConfig``, ``VideoMAEPretrainConfig``), frozen.

    Input ``img_size`` px x ``num_frames`` frames cut into ``tubelet_size x patch_size x patch_size`` tubelets;
    encoder width ``embed_dim``, ``depth`` blocks of ``num_heads`` heads and MLP ``mlp_ratio``; ``drop_rate``
    (after attention projection / MLP), ``attn_drop_rate``, ``drop_path_rate`` (stochastic depth, linear over
    the blocks), ``init_values`` (layer scale, 0 = none), ``layer_norm_eps``; ``grad_checkpointing``
    recomputes block activations in backward. Defaults: ViT-B/16, 16 x 224 x 224.
    """

    img_size: int = 224
    patch_size: int = 16
    num_frames: int = 16
    tubelet_size: int = 2
    in_chans: int = 3
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    drop_rate: float = 0.0
    attn_drop_rate: float = 0.0
    drop_path_rate: float = 0.0
    init_values: float = 0.0
    layer_norm_eps: float = 1e-6
    grad_checkpointing: bool = False

    @property
    def grid(self) -> tuple[int, int, int]:
        """Token grid ``(T', H', W')``."""
        s = self.img_size // self.patch_size
        return (self.num_frames // self.tubelet_size, s, s)


def tubelet_embed(c: ViTEncoderConfig) -> PatchEmbed:
    """The :class:`PatchEmbed` of a config: ``[B, in_chans, num_frames, H, W] -> [B, N, embed_dim]``."""
    return PatchEmbed(c.img_size, c.patch_size, c.in_chans, c.embed_dim, c.num_frames, c.tubelet_size)


def make_blocks(c: ViTEncoderConfig, dim: int, depth: int, num_heads: int) -> nn.ModuleList:
    """``depth`` :class:`Block` of width ``dim`` with the config's MLP ratio, biases, dropouts, layer scale and
    eps; drop path rises linearly from 0 to ``c.drop_path_rate`` over the blocks (official schedule)."""
    dpr = [x.item() for x in torch.linspace(0, c.drop_path_rate, depth, device="cpu")]
    return nn.ModuleList([
        Block(dim, num_heads, c.mlp_ratio, c.qkv_bias, c.drop_rate, c.attn_drop_rate, dpr[i], c.init_values,
              c.layer_norm_eps)
        for i in range(depth)
    ])
