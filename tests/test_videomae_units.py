"""The VideoMAE autoencoder's pieces on a tiny model: mask splitting and its refusals, the decoder input layout,
targets with and without per-tubelet normalisation, loss, reconstruction and the official init (fast; the
released-checkpoint parity is in tests/test_videomae_parity.py)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from internvideo_core.models.videomae import (
    IMAGENET_MEAN, IMAGENET_STD, VideoMAEPretrain, VideoMAEPretrainConfig, _init_xavier,
)

TINY = dict(img_size=32, patch_size=16, num_frames=4, tubelet_size=2, embed_dim=16, depth=1, num_heads=2,
            decoder_embed_dim=8, decoder_depth=1, decoder_num_heads=2)


def _model(**kw) -> VideoMAEPretrain:
    torch.manual_seed(0)
    return VideoMAEPretrain(VideoMAEPretrainConfig(**{**TINY, **kw})).eval()


def _clip(b: int = 2) -> torch.Tensor:
    return torch.randn(b, 3, 4, 32, 32, generator=torch.Generator().manual_seed(1))


def test_sizes_helpers_and_init():
    m = _model()
    c = m.config
    assert c.patch_dim == 3 * 2 * 16 * 16 and VideoMAEPretrainConfig(**{**TINY, "in_chans": 1}).patch_dim == 512
    assert m.num_patches == 8 and m.get_num_layers() == 1
    assert m.no_weight_decay() == {"pos_embed", "cls_token", "mask_token"}
    assert m.encoder_to_decoder.bias is None and m.decoder.head.out_features == c.patch_dim
    assert m.encoder.norm.eps == 1e-6 and m.decoder.norm.eps == 1e-6
    assert float(m.mask_token.detach().abs().max()) <= 0.02 and float(m.mask_token.detach().abs().max()) > 0
    assert torch.equal(m.encoder.blocks[0].attn.proj.bias, torch.zeros(16))
    assert torch.equal(m.decoder.head.bias, torch.zeros(c.patch_dim))
    assert "pos_embed" not in m.state_dict() and "encoder.pos_embed" not in m.state_dict()
    lin, ln = nn.Linear(100, 100), nn.LayerNorm(3)
    with torch.no_grad():
        ln.weight.fill_(2.0)
        ln.bias.fill_(1.0)
    _init_xavier(lin)
    _init_xavier(ln)
    bound = (6 / 200) ** 0.5
    assert torch.equal(lin.bias, torch.zeros(100)) and float(lin.weight.detach().abs().max()) <= bound
    assert float(lin.weight.detach().abs().max()) > 0.9 * bound  # uniform over the whole xavier range
    assert torch.equal(ln.weight, torch.ones(3)) and torch.equal(ln.bias, torch.zeros(3))
    _init_xavier(nn.Linear(2, 2, bias=False))
    eps = _model(layer_norm_eps=1e-3)
    assert eps.encoder.norm.eps == 1e-3 and eps.decoder.norm.eps == 1e-3


def test_split_indices_orders_and_refuses():
    m = _model()
    mask = torch.tensor([[1, 0, 1, 0, 0, 1, 0, 0], [0, 0, 0, 1, 1, 1, 0, 0]], dtype=torch.bool)
    vis, msk = m.split_indices(mask)
    assert vis.tolist() == [[1, 3, 4, 6, 7], [0, 1, 2, 6, 7]] and msk.tolist() == [[0, 2, 5], [3, 4, 5]]
    vis, msk = m.split_indices(torch.zeros(1, 8, dtype=torch.long))
    assert vis.tolist() == [list(range(8))] and msk.shape == (1, 0)
    vis, msk = m.split_indices(torch.zeros(0, 8, dtype=torch.bool))
    assert vis.shape == (0, 8) and msk.shape == (0, 0)
    with pytest.raises(ValueError, match=r"mask must be \[B, 8\] .* grid \(2, 2, 2\)\), got \[2, 7\]"):
        m.split_indices(torch.zeros(2, 7, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask must be"):
        m.split_indices(torch.zeros(8, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"same number of tokens, got counts \[1, 2\]"):
        m.split_indices(torch.tensor([[1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0]], dtype=torch.bool))


def test_forward_follows_the_official_decoder_layout():
    m = _model()
    x = _clip()
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[:, [1, 2, 6]] = True
    vis_idx, msk_idx = m.split_indices(mask)
    enc = m.encoder(x, vis_idx)
    tokens = m.encoder.patch_embed(x) + m.encoder.pos_embed
    ref_enc = m.encoder.norm(m.encoder.blocks[0](torch.gather(tokens, 1, vis_idx[..., None].expand(-1, -1, 16))))
    torch.testing.assert_close(enc, ref_enc)
    torch.testing.assert_close(m.forward_encoder(x, mask), enc)
    vis = m.encoder_to_decoder(enc)
    full = torch.cat([vis + m.pos_embed[vis_idx], m.mask_token + m.pos_embed[msk_idx]], dim=1)
    dec = m.decoder.blocks[0](full)
    ref = m.decoder.head(m.decoder.norm(dec[:, -3:]))
    out = m(x, mask)
    assert out.shape == (2, 3, m.config.patch_dim)
    torch.testing.assert_close(out, ref)
    # decoder with return_token_num 0 predicts every token
    assert m.decoder(full, 0).shape == (2, 8, m.config.patch_dim)
    none = m(x, torch.zeros(2, 8, dtype=torch.bool))
    assert none.shape == (2, 0, m.config.patch_dim)
    torch.testing.assert_close(m.loss(x, mask), F.mse_loss(out, m.targets(x, mask)))
    assert m.loss(x, mask).dtype == torch.float32


def test_targets_with_and_without_normalised_pixels():
    x = _clip(1)
    mean = torch.tensor(IMAGENET_MEAN)[None, :, None, None, None]
    std = torch.tensor(IMAGENET_STD)[None, :, None, None, None]
    pixels = x * std + mean
    raw = _model(norm_pix_loss=False)
    patches = rearrange(pixels, "b c (t p0) (h p1) (w p2) -> b (t h w) (p0 p1 p2) c", p0=2, p1=16, p2=16)
    torch.testing.assert_close(raw.patchify(pixels), patches)
    torch.testing.assert_close(raw.pixel_targets(x), patches)
    mask = torch.zeros(1, 8, dtype=torch.bool)
    mask[0, [0, 5]] = True
    torch.testing.assert_close(raw.targets(x, mask), rearrange(patches, "b n p c -> b n (p c)")[:, [0, 5]])
    normed = _model()
    m_, s_ = patches.mean(-2, keepdim=True), patches.var(-2, unbiased=True, keepdim=True).sqrt()
    torch.testing.assert_close(normed.pixel_targets(x), (patches - m_) / (s_ + 1e-6))
    assert normed.pixel_targets(x.to(torch.bfloat16)).dtype == torch.float32
    torch.testing.assert_close(normed.unpatchify(rearrange(patches, "b n p c -> b n (p c)")), pixels)


def test_reconstruct_uses_the_prediction_and_denormalises_only_with_norm_pix():
    x = _clip(1)
    mask = torch.zeros(1, 8, dtype=torch.bool)
    mask[0, [2, 3]] = True
    for norm in (False, True):
        m = _model(norm_pix_loss=norm)
        torch.testing.assert_close(m.reconstruct(x, mask), m.reconstruct(x, mask, pred=m(x, mask)))
        pred = torch.full((1, 2, m.config.patch_dim), 0.25)
        rec = m.reconstruct(x, mask, pred=pred)
        pixels = (x * torch.tensor(IMAGENET_STD)[None, :, None, None, None]
                  + torch.tensor(IMAGENET_MEAN)[None, :, None, None, None])
        patches = m.patchify(pixels)
        rec_p = m.patchify(rec)
        torch.testing.assert_close(rec_p[:, [0, 1, 4, 5, 6, 7]], patches[:, [0, 1, 4, 5, 6, 7]].clamp(0, 1))
        if norm:
            mean, std = m.patch_statistics(patches[:, [2, 3]])
            want = (0.25 * (std + 1e-6) + mean).expand(-1, -1, 512, -1)
        else:
            want = torch.full((1, 2, 512, 3), 0.25)
        torch.testing.assert_close(rec_p[:, [2, 3]], want.clamp(0, 1))


def test_split_indices_keeps_ascending_token_order_on_a_large_grid():
    """An unstable sort gives the same groups in another order from 64 tokens on (CPU); the decoder layout and
    the targets read the tokens in ascending order, as the official code."""
    m = _model(img_size=64, patch_size=8, num_frames=4)
    assert m.num_patches == 128
    g = torch.Generator().manual_seed(0)
    mask = torch.stack([torch.randperm(128, generator=g) < 115 for _ in range(3)])  # ratio 0.9
    vis, msk = m.split_indices(mask)
    for row in range(3):
        assert vis[row].tolist() == torch.nonzero(~mask[row]).flatten().tolist()
        assert msk[row].tolist() == torch.nonzero(mask[row]).flatten().tolist()


def test_split_indices_messages_and_the_given_masked_count():
    m = _model()
    with pytest.raises(ValueError, match=r"^mask must be \[B, 8\] \(True = masked, tokens in \(t, h, w\) order for "
                                         r"grid \(2, 2, 2\)\), got \[2, 7\]$"):
        m.split_indices(torch.zeros(2, 7, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"^every sample must mask the same number of tokens, got counts \[1, 2\]; "
                                         r"use internvideo_core\.masking\.tube_mask / random_mask$"):
        m.split_indices(torch.tensor([[1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0]]))
    mask = torch.tensor([[1, 0, 1, 0, 0, 1, 0, 0], [0, 0, 0, 1, 1, 1, 0, 0]], dtype=torch.bool)
    with pytest.raises(ValueError, match=r"^every sample must mask the same number of tokens \(2 given as "
                                         r"num_masked\), got counts \[3, 3\]; use internvideo_core"):
        m.split_indices(mask, num_masked=2)
    with pytest.raises(ValueError, match=r"\(3 given as num_masked\), got counts \[3, 2\]"):
        m.split_indices(torch.tensor([[1, 0, 1, 0, 0, 1, 0, 0], [0, 0, 0, 0, 1, 1, 0, 0]]), num_masked=3)
    given = m.split_indices(mask, num_masked=3)
    for a, b in zip(given, m.split_indices(mask)):
        assert torch.equal(a, b)


def test_a_given_masked_count_is_not_read_back_from_a_device_mask():
    """With ``num_masked`` the counts of a mask off the CPU are not checked (that would be a host sync): a meta
    tensor, which has no values to read, stands in for a CUDA mask."""
    m = _model()
    vis, msk = m.split_indices(torch.zeros(2, 8, dtype=torch.bool, device="meta"), num_masked=3)
    assert vis.shape == (2, 5) and msk.shape == (2, 3) and vis.device.type == "meta"


def test_the_tables_follow_the_input_device_and_the_autocast_dtype():
    """The sinusoid tables are built on the CPU even inside a ``torch.device`` context, so they join the tokens on
    the tokens' device; under bf16 autocast they take the tokens' dtype, so both residual streams stay bf16."""
    with torch.device("meta"):
        meta = VideoMAEPretrain(VideoMAEPretrainConfig(**TINY))
    assert meta.pos_embed.device.type == "cpu" and meta.encoder.pos_embed.device.type == "cpu"
    x = torch.empty(2, 3, 4, 32, 32, device="meta")
    mask = torch.zeros(2, 8, dtype=torch.bool, device="meta")
    assert meta(x, mask, num_masked=3).shape == (2, 3, 1536)
    m = _model()
    seen = {}
    for name, blk in (("encoder", m.encoder.blocks[-1]), ("decoder", m.decoder.blocks[-1])):
        blk.register_forward_hook(lambda mod, i, o, name=name: seen.__setitem__(name, (i[0].dtype, o.dtype)))
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[:, [1, 2, 6]] = True
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        m(_clip(), mask)
    assert seen == {"encoder": (torch.bfloat16, torch.bfloat16), "decoder": (torch.bfloat16, torch.bfloat16)}


def test_targets_and_loss_are_float32_whatever_the_default_or_model_dtype():
    m = _model()
    mask = torch.zeros(1, 8, dtype=torch.bool)
    mask[0, [0, 5]] = True
    x = _clip(1)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert m.pixel_targets(x).dtype == torch.float32 and m.targets(x, mask).dtype == torch.float32
    finally:
        torch.set_default_dtype(old)
    half = _model().to(torch.bfloat16)
    loss = half.loss(x.to(torch.bfloat16), mask)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, F.mse_loss(half(x.to(torch.bfloat16), mask).float(), half.targets(x, mask)))


def test_one_masked_token_gives_one_prediction():
    m = _model()
    x = _clip()
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[:, 5] = True
    out = m(x, mask)
    assert out.shape == (2, 1, m.config.patch_dim)
    vis, msk = m.split_indices(mask)
    full = torch.cat([m.encoder_to_decoder(m.encoder(x, vis)) + m.pos_embed[vis], m.mask_token + m.pos_embed[msk]], 1)
    assert m.decoder(full, 1).shape == (2, 1, m.config.patch_dim)
    torch.testing.assert_close(out, m.decoder.head(m.decoder.norm(m.decoder.blocks[0](full)[:, -1:])))


def test_a_given_masked_count_goes_through_the_whole_loss_without_a_read_back():
    """On a device mask (meta stands in for CUDA) forward, targets and loss with ``num_masked`` never read the mask
    back; a CPU mask with a device input is moved to the input's device first."""
    with torch.device("meta"):
        m = VideoMAEPretrain(VideoMAEPretrainConfig(**TINY))
    x = torch.empty(2, 3, 4, 32, 32, device="meta")
    mask = torch.zeros(2, 8, dtype=torch.bool, device="meta")
    assert m.forward_encoder(x, mask, num_masked=3).shape == (2, 5, 16)
    assert m.targets(x, mask, num_masked=3).shape == (2, 3, 1536)
    loss = m.loss(x, mask, num_masked=3)
    assert loss.device.type == "meta" and loss.shape == ()
    cpu_mask = torch.zeros(2, 8, dtype=torch.bool)
    cpu_mask[:, [1, 2, 6]] = True
    assert m(x, cpu_mask, num_masked=3).shape == (2, 3, 1536)
    assert m.forward_encoder(x, cpu_mask, num_masked=3).shape == (2, 5, 16)


def test_grad_checkpointing_switch_reaches_encoder_and_decoder_blocks(checkpoint_calls):
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[:, [1, 2, 6]] = True
    _model().train().loss(_clip(), mask).backward()
    assert checkpoint_calls == []
    m = _model(grad_checkpointing=True).train()
    m.loss(_clip(), mask).backward()
    assert [fn for fn, _ in checkpoint_calls] == [*m.encoder.blocks, *m.decoder.blocks]


def test_mask_token_is_drawn_from_a_normal_truncated_at_one_std():
    """The official ``trunc_normal_(mask_token, std=.02)`` truncates at +-std (its helper passes ``a=-std,
    b=std``): values within +-0.02 with the std of N(0, .02) cut at 1 sigma (0.5396 * 0.02 = 0.0108), not the
    0.0115 of a uniform draw over the same range. A wide decoder without blocks gives 16384 draws."""
    torch.manual_seed(0)
    m = VideoMAEPretrain(VideoMAEPretrainConfig(img_size=8, patch_size=4, num_frames=2, embed_dim=8, depth=0,
                                                num_heads=2, decoder_embed_dim=16384, decoder_depth=0,
                                                decoder_num_heads=2))
    v = m.mask_token.detach().flatten()
    assert v.numel() == 16384 and float(v.abs().max()) <= 0.02
    assert abs(float(v.mean())) < 3e-4 and 0.0104 < float(v.std()) < 0.0112
