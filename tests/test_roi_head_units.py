"""The AVA detector head (models/roi_head.py) as the official detector sets it up: legacy RoIAlign (7 x 7,
1 / patch, adaptive sampling, ``aligned=False``) then max pooling; the token LayerNorm taken from the encoder;
its defaults, its initialisation and its error message."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.ops import roi_align

from internvideo_core.models.roi_head import ActionDetector, RoIActionHead, ava_bce_loss, time_pooled_map

pytestmark = pytest.mark.usefixtures("one_thread")


def _encoder(**kw):
    from internvideo_core.registry import create_model

    torch.manual_seed(0)
    enc = create_model("videomae_vit_tiny_synth", **({"img_size": 32, "patch_size": 8, "num_frames": 4,
                                                       "tubelet_size": 2, "embed_dim": 16, "depth": 2, "num_heads": 2,
                                                       "num_classes": 0} | kw))
    return enc.eval()


FMAP = torch.randn(2, 4, 14, 14, generator=torch.Generator().manual_seed(0))
# fractional boxes (pixels of a 224-px input), where half-pixel alignment and the sampling grid both matter
ROIS = torch.tensor([[0, 13.3, 21.7, 97.1, 150.2], [1, 5.0, 40.6, 60.9, 61.3], [1, 100.2, 3.1, 223.0, 210.4]])


def test_the_default_head_is_legacy_roi_align_7x7_at_one_sixteenth_with_adaptive_sampling_then_max():
    head = RoIActionHead(4, 3)
    official = roi_align(FMAP, ROIS, output_size=7, spatial_scale=1 / 16, sampling_ratio=0, aligned=False)
    torch.testing.assert_close(head.roi_features(FMAP, ROIS), official.amax(dim=(2, 3)))
    torch.testing.assert_close(head(FMAP, ROIS), head.fc(official.amax(dim=(2, 3))))
    # the alternatives would give other numbers on these boxes
    for other in (dict(output_size=7, spatial_scale=1 / 16, sampling_ratio=0, aligned=True),
                  dict(output_size=7, spatial_scale=1 / 16, sampling_ratio=2, aligned=False),
                  dict(output_size=6, spatial_scale=1 / 16, sampling_ratio=0, aligned=False)):
        assert not torch.allclose(roi_align(FMAP, ROIS, **other).amax(dim=(2, 3)), official.amax(dim=(2, 3)))
    avg = RoIActionHead(4, 3, resolution=5, spatial_scale=1 / 8, sampling_ratio=2, pool="avg")
    expected = roi_align(FMAP, ROIS, output_size=5, spatial_scale=1 / 8, sampling_ratio=2, aligned=False).mean((2, 3))
    torch.testing.assert_close(avg.roi_features(FMAP, ROIS), expected)
    # a list of per-clip boxes is the same as the [K, 5] tensor, in any float dtype
    boxes = [ROIS[:1, 1:].double(), ROIS[1:, 1:].half().float()]
    torch.testing.assert_close(head.roi_features(FMAP, boxes), head.roi_features(FMAP, torch.cat(
        [ROIS[:, :1], torch.cat(boxes)], 1)))
    assert head.roi_features(FMAP, ROIS.double()).dtype == torch.float32


def test_the_head_has_no_dropout_by_default_and_uses_the_given_one():
    head = RoIActionHead(4, 3).train()
    assert torch.equal(head(FMAP, ROIS), head(FMAP, ROIS))
    assert RoIActionHead(4, 3, dropout=0.3).dropout.p == 0.3
    with pytest.raises(ValueError, match="pool must be 'max' or 'avg', got 'sum'"):
        RoIActionHead(4, 3, pool="sum")


def test_the_classifier_starts_from_a_truncated_normal_of_std_0_02_and_zero_bias():
    torch.manual_seed(0)
    head = RoIActionHead(256, 400)
    w = head.fc.weight
    assert w.std().item() == pytest.approx(0.02, rel=0.05) and w.abs().max().item() <= 2.0
    assert torch.count_nonzero(head.fc.bias) == 0


def test_the_detector_norms_the_tokens_with_a_copy_of_the_encoders_fc_norm():
    enc = _encoder()
    with torch.no_grad():
        enc.fc_norm.weight.uniform_(0.5, 1.5)
        enc.fc_norm.bias.uniform_(-1, 1)
    det = ActionDetector(enc, num_classes=3)
    assert isinstance(det.norm, nn.LayerNorm) and det.norm is not enc.fc_norm
    assert torch.equal(det.norm.weight, enc.fc_norm.weight) and det.norm.eps == enc.fc_norm.eps
    assert det.head.spatial_scale == 1 / 8 and det.head.resolution == 7 and det.head.sampling_ratio == 0
    assert det.head.pool == "max" and det.num_classes == 3 and det.head.fc.out_features == 3
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        tokens = enc.forward_tokens(x)
        expected = time_pooled_map(torch.nn.functional.layer_norm(tokens, (16,), enc.fc_norm.weight, enc.fc_norm.bias,
                                                                  enc.fc_norm.eps), (2, 4, 4))
        torch.testing.assert_close(det.feature_map(x), expected)
        det.norm.weight.add_(1.0)                               # a copy: the encoder's own fc_norm is untouched
    assert not torch.equal(det.norm.weight, enc.fc_norm.weight)
    assert det.get_num_layers() == 2
    assert det.no_weight_decay() == {"encoder.pos_embed", "encoder.cls_token"}
    assert ActionDetector(enc, 2, spatial_scale=0.25).head.spatial_scale == 0.25


def test_an_encoder_ending_with_the_official_norm_gets_no_second_one_and_one_without_any_gets_a_fresh_norm():
    enc = _encoder(use_mean_pooling=False)
    assert isinstance(ActionDetector(enc, 2).norm, nn.Identity)

    class Bare(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = enc.config

        def forward_tokens(self, x):
            return enc.forward_tokens(x)

    det = ActionDetector(Bare(), 2)
    assert isinstance(det.norm, nn.LayerNorm) and det.norm.eps == 1e-6 and det.norm.normalized_shape == (16,)
    assert det.no_weight_decay() == set()


def test_time_pooled_map_refuses_tokens_of_another_grid_or_rank():
    with pytest.raises(ValueError, match=r"expected tokens \[B, 40, C\] for grid \(2, 4, 5\), got shape \(2, 60, 7\)"):
        time_pooled_map(torch.randn(2, 60, 7), (2, 4, 5))
    with pytest.raises(ValueError, match=r"got shape \(40, 7\)"):
        time_pooled_map(torch.randn(40, 7), (2, 4, 5))


def test_ava_bce_loss_accepts_integer_targets():
    logits = torch.tensor([[0.0, 2.0], [-1.0, 0.5]])
    y = torch.tensor([[1, 0], [0, 1]])
    torch.testing.assert_close(ava_bce_loss(logits, y), ava_bce_loss(logits, y.float()))
