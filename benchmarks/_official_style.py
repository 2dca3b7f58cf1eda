"""Explicit-attention VideoMAE models in the style of the original release, for the "official" benchmark column.

Written for the kit's benchmark (not copied): it reproduces what the released ``modeling_finetune`` /
``modeling_pretrain`` classes compute and how they compute it, with the same parameter names and shapes,
so a kit state dict (``to_official_state_dict``) loads strictly:

- attention as three explicit steps: ``q * scale @ k^T -> softmax -> @ v`` (the full ``[B, h, N, N]`` matrix
  is materialised, which is what makes the released code slow and memory-hungry at 1568 tokens);
- one fused ``qkv`` Linear whose bias is ``cat(q_bias, zeros, v_bias)`` (VideoMAE has no key bias);
- patch embedding ``Conv3d -> flatten(2).transpose(1, 2)`` (a transposed, non-contiguous token tensor, as
  released), the positional table added with ``expand(B, -1, -1).type_as(x)`` on every call;
- pretraining: visible tokens selected by boolean indexing ``x[~mask].reshape(B, -1, C)``, decoder input
  ``[visible + pos, mask_token + pos]``, targets built as the official ``engine_for_pretraining``.

Dropout, drop path and layer scale are left out (the benchmark runs the released models with all three at
zero/absent, the same for every contender). Shapes: videos ``[B, 3, T, H, W]``, masks ``bool [B, N]``
(True = masked, tokens in ``(t, h, w)`` order).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["OfficialStyleClassifier", "OfficialStylePretrain", "official_style_pretrain_loss", "sinusoid_table"]

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def sinusoid_table(n_position: int, dim: int) -> torch.Tensor:
    """1-D sinusoid table ``[1, n_position, dim]`` float32 (angles in float64 like the official numpy code)."""
    pos = torch.arange(n_position, dtype=torch.float64).unsqueeze(1)
    exponent = (torch.arange(dim, dtype=torch.float64) // 2) * 2 / dim
    angles = pos / torch.pow(10000.0, exponent).unsqueeze(0)
    table = angles.clone()
    table[:, 0::2] = angles[:, 0::2].sin()
    table[:, 1::2] = angles[:, 1::2].cos()
    return table.float().unsqueeze(0)


class _Attention(nn.Module):
    """Explicit attention: ``[B, N, D] -> [B, N, D]`` via a materialised ``[B, heads, N, N]`` matrix."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.v_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        bias = None
        if self.q_bias is not None:
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.num_heads, d // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [B, h, N, d_h]
        attn = (q * self.scale) @ k.transpose(-2, -1)  # [B, h, N, N]
        attn = attn.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(out)


class _Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class _Block(nn.Module):
    """Pre-norm block ``x + attn(norm1(x))``, ``x + mlp(norm2(x))``; ``[B, N, D] -> [B, N, D]``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, eps: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = _Attention(dim, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = _Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _PatchEmbed(nn.Module):
    """``[B, C, T, H, W] -> [B, N, D]`` (``flatten(2).transpose(1, 2)``, left non-contiguous as released)."""

    def __init__(self, in_chans: int, dim: int, tubelet: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv3d(in_chans, dim, kernel_size=(tubelet, patch, patch), stride=(tubelet, patch, patch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


def _num_tokens(c) -> int:
    return (c.num_frames // c.tubelet_size) * (c.img_size // c.patch_size) ** 2


class OfficialStyleClassifier(nn.Module):
    """Video ViT classifier ``[B, 3, T, H, W] -> logits [B, num_classes]`` (mean pooling + ``fc_norm``).

    ``config``: a kit ``VideoViTConfig`` (only the architecture fields are read). The positional table is
    built for the model's own grid (the kit model must use ``pos_ref_img_size=None`` to compare).
    """

    def __init__(self, config) -> None:
        super().__init__()
        c = config
        self.patch_embed = _PatchEmbed(c.in_chans, c.embed_dim, c.tubelet_size, c.patch_size)
        self.register_buffer("pos_embed", sinusoid_table(_num_tokens(c), c.embed_dim), persistent=False)
        self.blocks = nn.ModuleList(
            [_Block(c.embed_dim, c.num_heads, c.mlp_ratio, c.qkv_bias, c.layer_norm_eps) for _ in range(c.depth)])
        self.norm = nn.Identity()
        self.fc_norm = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)
        self.head = nn.Linear(c.embed_dim, c.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        x = x + self.pos_embed.expand(x.shape[0], -1, -1).type_as(x).to(x.device).clone().detach()
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.fc_norm(self.norm(x).mean(1)))


class _Encoder(nn.Module):
    def __init__(self, c) -> None:
        super().__init__()
        self.patch_embed = _PatchEmbed(c.in_chans, c.embed_dim, c.tubelet_size, c.patch_size)
        self.register_buffer("pos_embed", sinusoid_table(_num_tokens(c), c.embed_dim), persistent=False)
        self.blocks = nn.ModuleList(
            [_Block(c.embed_dim, c.num_heads, c.mlp_ratio, c.qkv_bias, c.layer_norm_eps) for _ in range(c.depth)])
        self.norm = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W]``, ``mask [B, N]`` -> visible tokens ``[B, N_vis, D]``."""
        x = self.patch_embed(x)
        x = x + self.pos_embed.type_as(x).to(x.device).clone().detach()
        b, _, d = x.shape
        x = x[~mask].reshape(b, -1, d)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)


class _Decoder(nn.Module):
    def __init__(self, c) -> None:
        super().__init__()
        dim = c.decoder_embed_dim
        self.blocks = nn.ModuleList(
            [_Block(dim, c.decoder_num_heads, c.mlp_ratio, c.qkv_bias, c.layer_norm_eps)
             for _ in range(c.decoder_depth)])
        self.norm = nn.LayerNorm(dim, eps=c.layer_norm_eps)
        self.head = nn.Linear(dim, c.in_chans * c.tubelet_size * c.patch_size ** 2)

    def forward(self, x: torch.Tensor, return_token_num: int) -> torch.Tensor:
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x[:, -return_token_num:]))


class OfficialStylePretrain(nn.Module):
    """Masked autoencoder ``forward(x [B, 3, T, H, W], mask [B, N]) -> [B, N_masked, 3 * tubelet * p * p]``.

    ``config``: a kit ``VideoMAEPretrainConfig`` (architecture fields only).
    """

    def __init__(self, config) -> None:
        super().__init__()
        c = config
        self.config = c
        self.encoder = _Encoder(c)
        self.encoder_to_decoder = nn.Linear(c.embed_dim, c.decoder_embed_dim, bias=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, c.decoder_embed_dim))
        self.register_buffer("pos_embed", sinusoid_table(_num_tokens(c), c.decoder_embed_dim), persistent=False)
        self.decoder = _Decoder(c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        vis = self.encoder_to_decoder(self.encoder(x, mask))
        b, _, d = vis.shape
        pos = self.pos_embed.expand(b, -1, -1).type_as(x).to(x.device).clone().detach()
        pos_vis = pos[~mask].reshape(b, -1, d)
        pos_mask = pos[mask].reshape(b, -1, d)
        full = torch.cat([vis + pos_vis, self.mask_token + pos_mask], dim=1)
        return self.decoder(full, pos_mask.shape[1])


def official_style_pretrain_loss(model: OfficialStylePretrain, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE against the (per-tubelet normalised when ``norm_pix_loss``) pixels of the masked tokens, as the
    official pretraining engine.

    ``x [B, 3, T, H, W]`` ImageNet-normalised, ``mask bool [B, N]``. Returns a float32 scalar.
    """
    c = model.config
    with torch.no_grad():
        mean = torch.as_tensor(_MEAN, device=x.device, dtype=torch.float32)[None, :, None, None, None]
        std = torch.as_tensor(_STD, device=x.device, dtype=torch.float32)[None, :, None, None, None]
        videos = x.float() * std + mean
        b, ch, t, h, w = videos.shape
        tub, p = c.tubelet_size, c.patch_size
        # b c (t p0) (h p1) (w p2) -> b (t h w) (p0 p1 p2) c
        patches = videos.reshape(b, ch, t // tub, tub, h // p, p, w // p, p)
        patches = patches.permute(0, 2, 4, 6, 3, 5, 7, 1).reshape(b, -1, tub * p * p, ch)
        if c.norm_pix_loss:
            patches = (patches - patches.mean(dim=-2, keepdim=True)) / (
                patches.var(dim=-2, unbiased=True, keepdim=True).sqrt() + 1e-6)
        patches = patches.reshape(b, patches.shape[1], -1)
        labels = patches[mask].reshape(b, -1, patches.shape[-1])
    pred = model(x, mask)
    return F.mse_loss(pred.float(), labels)

