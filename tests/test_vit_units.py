"""The video ViT classifier's switches, pinned on a tiny model: positional reference grid, head init scale,
pooling modes, head reset, TSN-style segment averaging, layer ids and the official init (fast; the output parity
with the released checkpoints is in tests/test_videomae_parity.py)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from internvideo_core.models.pos_embed import video_pos_table
from internvideo_core.models.vit import VideoViT, VideoViTConfig, init_vit_weights, official_layer_id

TINY = dict(img_size=32, patch_size=16, num_frames=4, tubelet_size=2, embed_dim=16, depth=2, num_heads=2,
            num_classes=5)


def _model(**kw) -> VideoViT:
    torch.manual_seed(0)
    return VideoViT(VideoViTConfig(**{**TINY, **kw})).eval()


def test_positional_reference_grid():
    c = VideoViTConfig(**TINY)
    assert c.pos_ref_grid == (8, 14, 14) and c.grid == (2, 2, 2)
    assert VideoViTConfig(**{**TINY, "patch_size": 8}, pos_ref_img_size=64, pos_ref_num_frames=8).pos_ref_grid == (4, 8, 8)
    assert VideoViTConfig(**{**TINY, "tubelet_size": 1}, pos_ref_num_frames=6).pos_ref_grid == (6, 14, 14)
    assert VideoViTConfig(**TINY, pos_ref_img_size=None).pos_ref_grid is None
    m = _model()
    assert torch.equal(m.pos_embed, video_pos_table((2, 2, 2), 16, (8, 14, 14)))
    assert "pos_embed" not in m.state_dict()  # non-persistent buffer
    own = _model(pos_ref_img_size=None)
    assert torch.equal(own.pos_embed, video_pos_table((2, 2, 2), 16))


def test_head_init_scale_and_headless_model():
    m = _model(init_scale=0.5)
    ref = _model(init_scale=1.0)
    torch.testing.assert_close(m.head.weight, ref.head.weight * 0.5)
    assert torch.equal(m.head.bias, torch.zeros(5))
    assert 0.005 < float(ref.head.weight.detach().std()) < 0.04  # trunc_normal(std=.02)
    headless = _model(num_classes=0)
    assert isinstance(headless.head, nn.Identity) and headless.num_classes == 0
    assert headless(torch.zeros(1, 3, 4, 32, 32)).shape == (1, 16)
    assert m.get_classifier() is m.head and m.num_features == m.embed_dim == 16


def test_pooling_modes():
    x = torch.randn(2, 3, 4, 32, 32, generator=torch.Generator().manual_seed(1))
    mean = _model()
    assert isinstance(mean.norm, nn.Identity) and mean.fc_norm.eps == 1e-6
    torch.testing.assert_close(mean.forward_features(x), mean.fc_norm(mean.forward_tokens(x).mean(1)))
    first = _model(use_mean_pooling=False, layer_norm_eps=1e-3)  # not PyTorch's default 1e-5
    assert first.fc_norm is None and isinstance(first.norm, nn.LayerNorm) and first.norm.eps == 1e-3
    tokens = first.forward_tokens(x)
    torch.testing.assert_close(first.forward_features(x), tokens[:, 0])
    torch.testing.assert_close(first(x), first.head(tokens[:, 0]))


def test_reset_classifier_uses_the_official_init():
    m = _model(init_scale=0.25)
    torch.manual_seed(3)
    m.reset_classifier(7)
    torch.manual_seed(3)
    fresh = nn.Linear(16, 7)
    init_vit_weights(fresh)
    assert m.num_classes == 7 and m.head.out_features == 7
    torch.testing.assert_close(m.head.weight, fresh.weight * 0.25)
    assert torch.equal(m.head.bias, torch.zeros(7))
    m.reset_classifier(0)
    assert isinstance(m.head, nn.Identity) and m.num_classes == 0


def test_segment_averaging_only_in_training():
    m = _model(num_segment=2)
    x = torch.randn(4, 3, 4, 32, 32, generator=torch.Generator().manual_seed(2))
    per_clip = m.forward_head(m.forward_features(x))
    torch.testing.assert_close(m(x), per_clip)  # eval: one row per clip
    m.train()
    torch.testing.assert_close(m(x), per_clip.view(2, 2, 5).mean(1))
    single = _model().train()
    assert single(x).shape == (4, 5)


def test_layer_ids_and_no_weight_decay():
    m = _model()
    assert m.get_num_layers() == 2
    assert [m.get_layer_id(n) for n in ("patch_embed.proj.weight", "blocks.0.attn.qkv.weight",
                                        "blocks.1.mlp.fc2.bias", "fc_norm.weight", "head.weight")] == [0, 1, 2, 3, 3]
    assert m.no_weight_decay() == {"pos_embed", "cls_token"}
    assert official_layer_id("encoder.mask_token", 4) == 0
    assert official_layer_id("encoder.pos_embed", 4) == 0
    assert official_layer_id("cls_token", 4) == 0
    assert official_layer_id("encoder.blocks.3.norm1.weight", 4) == 4
    assert official_layer_id("blocks_extra.weight", 4) == 5  # only "blocks." counts as a block
    assert official_layer_id("encoder.norm.weight", 4) == 5
    assert official_layer_id("decoder.blocks.0.norm1.weight", 4) == 5


def test_official_init_of_linear_and_layernorm():
    torch.manual_seed(0)
    lin = nn.Linear(200, 200)
    init_vit_weights(lin)
    assert torch.equal(lin.bias, torch.zeros(200)) and 0.018 < float(lin.weight.detach().std()) < 0.022
    assert float(lin.weight.detach().abs().max()) <= 2.0  # truncated at +-2 (timm's absolute bounds)
    no_bias = nn.Linear(3, 3, bias=False)
    init_vit_weights(no_bias)
    ln = nn.LayerNorm(4)
    with torch.no_grad():
        ln.weight.fill_(3.0)
        ln.bias.fill_(2.0)
    init_vit_weights(ln)
    assert torch.equal(ln.weight, torch.ones(4)) and torch.equal(ln.bias, torch.zeros(4))
    conv = nn.Conv1d(2, 2, 1)
    before = conv.weight.clone()
    init_vit_weights(conv)
    assert torch.equal(conv.weight, before)  # other modules are left alone


def test_dropout_rates_reach_their_modules():
    m = _model(drop_rate=0.3, head_drop_rate=0.2)
    assert m.pos_drop.p == 0.3 and m.head_dropout.p == 0.2
    m.train()
    x = torch.ones(1, 16)
    torch.manual_seed(0)
    out = m.forward_head(x)
    torch.manual_seed(0)
    assert torch.equal(out, m.head(nn.functional.dropout(x, 0.2, True)))


def test_a_one_class_head_is_a_linear_layer_when_built_and_when_reset():
    m = _model(num_classes=1)
    assert isinstance(m.head, nn.Linear) and m.head.out_features == 1
    m.reset_classifier(1)
    assert isinstance(m.head, nn.Linear) and m.head.out_features == 1 and m.num_classes == 1
    assert m(torch.zeros(2, 3, 4, 32, 32)).shape == (2, 1)


def test_reset_classifier_puts_the_head_where_the_weights_are():
    """The sinusoid table is built on the CPU even inside a ``torch.device`` context, so the head must follow
    the weights (meta here, cuda in a real run), and their dtype (a bf16 model gets a bf16 head)."""
    with torch.device("meta"):
        m = VideoViT(VideoViTConfig(**TINY))
    m.reset_classifier(3)
    assert m.head.weight.device.type == "meta" and m.head.bias.device.type == "meta"
    half = _model().to(torch.bfloat16)
    half.reset_classifier(3)
    assert half.head.weight.dtype == torch.bfloat16
    assert half(torch.zeros(1, 3, 4, 32, 32, dtype=torch.bfloat16)).dtype == torch.bfloat16


def test_positional_table_follows_the_input_device_and_the_autocast_dtype():
    """The table joins the tokens on their device (a model built in a ``torch.device`` context keeps it on the
    CPU) and in their dtype: under bf16 autocast the residual stream stays bf16 instead of being promoted."""
    with torch.device("meta"):
        m = VideoViT(VideoViTConfig(**TINY))
    assert m.pos_embed.device.type == "cpu"
    assert m.forward_tokens(torch.empty(2, 3, 4, 32, 32, device="meta")).shape == (2, 8, 16)
    x = torch.randn(1, 3, 4, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert _model().forward_tokens(x).dtype == torch.bfloat16


def test_grad_checkpointing_switch_reaches_the_blocks(checkpoint_calls):
    x = torch.randn(1, 3, 4, 32, 32, generator=torch.Generator().manual_seed(6))
    _model().train()(x).sum().backward()
    assert checkpoint_calls == []
    m = _model(grad_checkpointing=True).train()
    m(x).sum().backward()
    assert [fn for fn, _ in checkpoint_calls] == list(m.blocks)
