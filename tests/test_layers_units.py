"""The ViT building blocks against hand-written references on tiny inputs: tubelet embedding, attention with
the official q/v bias layout, MLP, pre-norm block with layer scale and drop path, block runner with gradient
checkpointing (fast; the released-checkpoint parity is in tests/test_videomae_parity.py)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from timm.layers import DropPath
from torch import nn

from internvideo_core.models.layers import (
    Attention, Block, Mlp, PatchEmbed, ViTEncoderConfig, make_blocks, run_blocks, tubelet_embed,
)


def test_patch_embed_checks_and_token_order(randomise):
    with pytest.raises(ValueError, match="img_size 30 is not a multiple of patch_size 16"):
        PatchEmbed(30, 16)
    with pytest.raises(ValueError, match="num_frames 5 is not a multiple of tubelet_size 2"):
        PatchEmbed(32, 16, num_frames=5)
    pe = randomise(PatchEmbed(img_size=8, patch_size=4, in_chans=2, embed_dim=3, num_frames=4, tubelet_size=2))
    assert pe.grid == (2, 2, 2) and pe.num_patches == 8 and pe.in_chans == 2
    assert (pe.img_size, pe.patch_size, pe.num_frames, pe.tubelet_size) == (8, 4, 4, 2)
    assert pe.proj.kernel_size == (2, 4, 4) and pe.proj.stride == (2, 4, 4)
    x = torch.randn(1, 2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    out = pe(x)
    ref = pe.proj(x).flatten(2).transpose(1, 2)  # (t, h, w) order
    assert out.is_contiguous() and torch.equal(out, ref)
    with pytest.raises(ValueError, match=r"\[B, 2, 4, 8, 8\], got \[1, 2, 4, 8, 7\]"):
        pe(torch.zeros(1, 2, 4, 8, 7))
    with pytest.raises(ValueError, match="expected a video batch"):
        pe(torch.zeros(2, 4, 8, 8))


def _reference_attention(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    b, n, d = x.shape
    h = attn.num_heads
    bias = None if attn.q_bias is None else torch.cat([attn.q_bias, torch.zeros(d), attn.v_bias])
    qkv = F.linear(x, attn.qkv.weight, bias).reshape(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    w = (q @ k.transpose(-2, -1) / math.sqrt(d // h)).softmax(-1)
    return attn.proj((w @ v).transpose(1, 2).reshape(b, n, d))


def test_attention_matches_the_official_formula(randomise):
    with pytest.raises(ValueError, match="width 6 is not divisible by num_heads 4"):
        Attention(6, 4)
    attn = randomise(Attention(8, num_heads=2, attn_drop=0.5, proj_drop=0.0)).eval()
    assert attn.head_dim == 4 and type(attn.head_dim) is int  # a width, usable in view / reshape
    assert attn.qkv.bias is None and attn.attn_drop == 0.5
    bias = attn.qkv_bias()
    assert torch.equal(bias[8:16], torch.zeros(8)) and torch.equal(bias[:8], attn.q_bias)
    assert torch.equal(bias[16:], attn.v_bias)
    x = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(attn(x), _reference_attention(attn, x), atol=1e-5, rtol=1e-5)  # no dropout in eval
    attn.train()
    torch.manual_seed(0)
    a = attn(x)
    assert not torch.allclose(a, _reference_attention(attn, x), atol=1e-3)  # attention dropout in training
    plain = randomise(Attention(8, num_heads=4, qkv_bias=False)).eval()
    assert plain.q_bias is None and plain.v_bias is None and plain.qkv_bias() is None
    assert "q_bias" not in dict(plain.named_parameters())
    torch.testing.assert_close(plain(x), _reference_attention(plain, x), atol=1e-5, rtol=1e-5)
    dropped = Attention(8, 2, proj_drop=0.3)
    assert dropped.proj_drop.p == 0.3 and Attention(8).num_heads == 8


def test_mlp_order_and_width(randomise):
    mlp = randomise(Mlp(4, 6, drop=0.25)).eval()
    assert mlp.fc1.out_features == 6 and mlp.fc2.out_features == 4 and mlp.drop.p == 0.25
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(mlp(x), mlp.fc2(F.gelu(mlp.fc1(x))))  # exact (erf) GELU, no dropout in between


def test_block_with_and_without_layer_scale(randomise):
    x = torch.randn(2, 3, 6, generator=torch.Generator().manual_seed(4))
    blk = randomise(Block(6, 2, mlp_ratio=2.5, eps=1e-3)).eval()
    assert blk.mlp.fc1.out_features == 15 and blk.norm1.eps == 1e-3 and blk.norm2.eps == 1e-3
    assert blk.gamma_1 is None and blk.gamma_2 is None and isinstance(blk.drop_path, nn.Identity)
    mid = x + blk.attn(blk.norm1(x))
    torch.testing.assert_close(blk(x), mid + blk.mlp(blk.norm2(mid)))
    ls = Block(6, 2, init_values=0.1)
    assert torch.equal(ls.gamma_1, torch.full((6,), 0.1)) and torch.equal(ls.gamma_2, torch.full((6,), 0.1))
    ls = randomise(ls, 5).eval()
    mid = x + ls.gamma_1 * ls.attn(ls.norm1(x))
    torch.testing.assert_close(ls(x), mid + ls.gamma_2 * ls.mlp(ls.norm2(mid)))
    dp = Block(6, 2, drop_path=0.3, drop=0.2, attn_drop=0.1, qkv_bias=False)
    assert isinstance(dp.drop_path, DropPath) and dp.drop_path.drop_prob == 0.3
    assert dp.mlp.drop.p == 0.2 and dp.attn.proj_drop.p == 0.2 and dp.attn.attn_drop == 0.1 and dp.attn.q_bias is None
    assert Block(6, 2, init_values=0.0).gamma_1 is None and Block(6, 2).norm1.eps == 1e-6
    assert Block(6, 2).mlp.fc1.out_features == 24


def test_make_blocks_and_tubelet_embed_follow_the_config():
    c = ViTEncoderConfig(img_size=32, patch_size=16, num_frames=4, embed_dim=8, depth=3, num_heads=2, mlp_ratio=2.0,
                         qkv_bias=False, drop_rate=0.1, attn_drop_rate=0.2, drop_path_rate=0.4, init_values=0.5,
                         layer_norm_eps=1e-4, in_chans=1, tubelet_size=1)
    assert c.grid == (4, 2, 2)
    blocks = make_blocks(c, 8, 3, 2)
    assert len(blocks) == 3 and isinstance(blocks[0].drop_path, nn.Identity)
    assert [b.drop_path.drop_prob for b in blocks[1:]] == pytest.approx([0.2, 0.4])
    b = blocks[2]
    assert b.mlp.fc1.out_features == 16 and b.attn.q_bias is None and b.mlp.drop.p == 0.1
    assert b.attn.attn_drop == 0.2 and b.norm1.eps == 1e-4 and torch.equal(b.gamma_1, torch.full((8,), 0.5))
    assert b.attn.num_heads == 2
    pe = tubelet_embed(c)
    assert (pe.img_size, pe.patch_size, pe.in_chans, pe.num_frames, pe.tubelet_size) == (32, 16, 1, 4, 1)
    assert pe.proj.out_channels == 8


def test_run_blocks_checkpointing_same_result_only_with_grad(checkpoint_calls, randomise):
    blocks = nn.ModuleList([randomise(Block(6, 2), s) for s in range(2)])
    x = torch.randn(1, 3, 6, generator=torch.Generator().manual_seed(6), requires_grad=True)
    plain = run_blocks(blocks, x)
    torch.testing.assert_close(plain, blocks[1](blocks[0](x)))
    ckpt = run_blocks(blocks, x, checkpointing=True)
    assert [kw.get("use_reentrant") for _, kw in checkpoint_calls] == [False, False]
    torch.testing.assert_close(ckpt, plain)
    g1 = torch.autograd.grad(plain.sum(), x)[0]
    g2 = torch.autograd.grad(ckpt.sum(), x)[0]
    torch.testing.assert_close(g1, g2)
    with torch.no_grad():
        run_blocks(blocks, x, checkpointing=True)
    run_blocks(blocks, x, checkpointing=False)
    run_blocks(blocks, x)
    assert len(checkpoint_calls) == 2  # no recomputation without grad, when switched off, or by default


def test_default_arguments_build_the_released_vit_b_pieces():
    """The defaults are ViT-B/16 on 16 x 224 x 224 clips without dropout, biases on, no layer scale."""
    pe = PatchEmbed()
    assert (pe.img_size, pe.patch_size, pe.in_chans, pe.num_frames, pe.tubelet_size) == (224, 16, 3, 16, 2)
    assert pe.grid == (8, 14, 14) and pe.num_patches == 1568 and pe.proj.out_channels == 768
    attn = Attention(16)
    assert attn.num_heads == 8 and attn.attn_drop == 0.0 and attn.proj_drop.p == 0.0 and attn.q_bias is not None
    assert Mlp(4, 6).drop.p == 0.0
    blk = Block(8, 2)
    assert blk.attn.q_bias is not None and blk.attn.attn_drop == 0.0 and blk.attn.proj_drop.p == 0.0
    assert blk.mlp.drop.p == 0.0 and blk.gamma_1 is None


def test_layer_scale_only_for_positive_init_values():
    """As the official ``if init_values > 0``: zero, negative or ``None`` (some official configs) mean no layer
    scale, and a positive value fills both gains."""
    for off in (0.0, -0.1, None):
        blk = Block(6, 2, init_values=off)
        assert blk.gamma_1 is None and blk.gamma_2 is None, off
        assert "gamma_1" not in dict(blk.named_parameters())
    on = Block(6, 2, init_values=1e-5)
    assert torch.equal(on.gamma_1, torch.full((6,), 1e-5)) and torch.equal(on.gamma_2, torch.full((6,), 1e-5))
