"""The temporal localization head (models/tal_head.py) against a reference written from its docstring: masked
convs, channel LayerNorm, the max-pooled pyramid, the shared heads with their focal-prior bias and per-level scales;
padded steps, its defaults and its error message."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from internvideo_core.models.tal_head import TALHead, TALHeadConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def _conv_norm_act(block, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """conv1d ('same' padding) -> zero at padded steps -> LayerNorm over the channels of each step -> ReLU."""
    k = block.conv.kernel_size[0]
    y = F.conv1d(x, block.conv.weight, block.conv.bias, padding=(k - 1) // 2) * m[:, None]
    y = F.layer_norm(y.transpose(1, 2), (y.shape[1],), block.norm.norm.weight, block.norm.norm.bias,
                     block.norm.norm.eps).transpose(1, 2)
    return y.clamp(min=0)


def _head(head, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    for block in head.blocks:
        x = _conv_norm_act(block, x, m)
    k = head.out.kernel_size[0]
    return F.conv1d(x, head.out.weight, head.out.bias, padding=(k - 1) // 2) * m[:, None]


def _reference(model: TALHead, feats: torch.Tensor, mask: torch.Tensor):
    m = mask.float()
    x = feats
    for block in model.embed:
        x = _conv_norm_act(block, x, m)
    cls, reg, masks = [], [], []
    for level, block in enumerate(model.levels):
        if level:
            x = torch.stack([x[..., 0::2], x[..., 1::2]]).amax(0)            # max-pool by 2
            m = m[:, 0::2]
        x = x + _conv_norm_act(block, x, m)
        cls.append(_head(model.cls_head, x, m).transpose(1, 2))
        reg.append((model.scales[level] * _head(model.reg_head, x, m)).clamp(min=0).transpose(1, 2))
        masks.append(m > 0)
    return cls, reg, masks


def _model(**kw) -> TALHead:
    torch.manual_seed(0)
    cfg = TALHeadConfig(**({"in_dim": 5, "num_classes": 3, "embed_dim": 8, "num_levels": 3, "dropout": 0.0} | kw))
    model = TALHead(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model.eval()


@pytest.mark.parametrize("kw", [{}, {"head_layers": 3, "kernel_size": 5}, {"head_layers": 1, "num_levels": 1}])
def test_the_head_equals_the_reference_with_a_padded_video(kw):
    model = _model(**kw)
    feats = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(1))
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[1, 5:] = False                                                     # the second video has 5 real steps
    with torch.no_grad():
        out, ref = model(feats, mask), _reference(model, feats, mask)
    for got, want in zip(out, ref):
        assert len(got) == model.config.num_levels
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            torch.testing.assert_close(g, w, atol=1e-5, rtol=1e-5)
    cls, reg, masks = out
    assert [c.shape for c in cls] == [(2, 8 // s, 3) for s in model.config.strides]
    assert [r.shape[-1] for r in reg] == [2] * model.config.num_levels and all((r >= 0).all() for r in reg)
    assert masks[0][1].tolist() == [True] * 5 + [False] * 3
    assert torch.count_nonzero(cls[0][1, 5:]) == 0                       # padded steps output exactly 0


def test_the_classifier_starts_at_the_prior_and_the_scales_at_one():
    torch.manual_seed(0)
    head = TALHead(TALHeadConfig(in_dim=4, num_classes=3, prior_prob=0.2, num_levels=2))
    assert torch.allclose(head.cls_head.out.bias, torch.full((3,), -math.log(0.8 / 0.2)))
    assert head.scales.tolist() == [1.0, 1.0]
    with torch.no_grad():
        head.cls_head.out.weight.zero_()
        cls, _, _ = head.eval()(torch.randn(1, 4, 4), torch.ones(1, 4, dtype=torch.bool))
    torch.testing.assert_close(torch.sigmoid(cls[0]), torch.full((1, 4, 3), 0.2))


def test_the_defaults_are_actionformers():
    c = TALHeadConfig(in_dim=4, num_classes=2)
    assert (c.embed_dim, c.num_levels, c.head_layers, c.kernel_size, c.prior_prob, c.dropout) \
        == (128, 4, 2, 3, 0.01, 0.1)
    assert c.strides == (1, 2, 4, 8)
    head = TALHead(c)
    assert head.drop.p == 0.1 and len(head.cls_head.blocks) == 1 and head.cls_head.out.kernel_size == (3,)
    assert head.embed[0].conv.in_channels == 4 and head.embed[1].conv.out_channels == 128
    assert head.reg_head.out.out_channels == 2 and head.cls_head.out.out_channels == 2


def test_dropout_acts_on_the_embedded_features_in_training_only():
    model = _model(dropout=0.5)
    feats, mask = torch.randn(1, 5, 8), torch.ones(1, 8, dtype=torch.bool)
    model.train()
    a, b = model(feats, mask)[0][0], model(feats, mask)[0][0]
    assert not torch.equal(a, b)
    model.eval()
    torch.testing.assert_close(model(feats, mask)[0][0], _reference(model, feats, mask)[0][0], atol=1e-5, rtol=1e-5)


def test_a_length_that_is_not_a_multiple_of_the_coarsest_stride_is_refused():
    model = _model(num_levels=3)
    model(torch.randn(1, 5, 4), torch.ones(1, 4, dtype=torch.bool))     # 4 = 2 ** (3 - 1): accepted
    with pytest.raises(ValueError, match=r"the sequence length 6 must be a multiple of 4 \(3 pyramid levels\); "
                                         r"pad it \(internvideo_core.tal.collate\)"):
        model(torch.randn(1, 5, 6), torch.ones(1, 6, dtype=torch.bool))
