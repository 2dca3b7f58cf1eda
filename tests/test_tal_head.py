"""The localization head's points, target assignment, losses, decoding and detections on hand-made cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from internvideo_core.models.tal_head import TALHead, TALHeadConfig
from internvideo_core.tal import (TALTrainConfig, TALVideo, assign_targets, decode_offsets, grid_to_seconds,
                                  make_points, predict_segments, regression_ranges, seconds_to_grid, tal_losses,
                                  train_tal_head)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_levels_regress_doubling_ranges_and_points_sit_every_stride():
    assert regression_ranges(3) == [(0.0, 4.0), (4.0, 8.0), (8.0, math.inf)]
    pts = make_points(8, 2)
    assert pts[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 0, 2, 4, 6]
    assert pts[:, 3].tolist() == [1] * 8 + [2] * 4


def test_a_short_segment_is_learnt_by_the_points_near_its_centre_on_the_fine_level():
    pts = make_points(8, 2)
    cls, reg = assign_targets(pts, torch.tensor([[2.0, 5.0]]), torch.tensor([1]), num_classes=2)
    positives = cls[:, 1].nonzero()[:, 0].tolist()
    assert positives == [2, 3, 4, 5]                    # level 0, centre 3.5 +- 1.5, inside the segment
    assert cls[:, 0].sum() == 0
    assert reg[3].tolist() == [1.0, 2.0]                # distances to start / end of the point t = 3


def test_a_long_segment_goes_to_the_coarse_level_and_overlaps_go_to_the_shortest_segment():
    pts = make_points(8, 2)
    segs, labels = torch.tensor([[2.0, 5.0], [0.0, 7.0]]), torch.tensor([1, 0])
    cls, reg = assign_targets(pts, segs, labels, num_classes=2)
    assert cls[:8, 0].sum() == 0                        # on level 0 the long one loses to the short one
    assert cls[8:, 0].nonzero()[:, 0].tolist() == [1, 2, 3]    # level 1 points t = 2, 4, 6
    assert reg[10].tolist() == [2.0, 1.5]               # t = 4: (4 - 0) / 2, (7 - 4) / 2
    back = decode_offsets(pts, reg)
    assert back[10].tolist() == [0.0, 7.0] and back[3].tolist() == [2.0, 5.0]


def test_equally_short_segments_make_a_point_multi_label_and_empty_videos_are_all_background():
    pts = make_points(8, 1)
    cls, _ = assign_targets(pts, torch.tensor([[2.0, 5.0], [2.0, 5.0]]), torch.tensor([0, 2]), num_classes=3)
    assert cls[3].tolist() == [1.0, 0.0, 1.0]
    cls, reg = assign_targets(pts, torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), num_classes=3)
    assert cls.sum() == 0 and reg.shape == (8, 2)


def test_the_losses_are_small_for_the_right_answer_and_the_giou_term_is_the_1d_giou():
    cls_t = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    reg_t = torch.tensor([[[1.0, 2.0], [0.0, 0.0]]])
    valid = torch.ones(1, 2, dtype=torch.bool)
    good = tal_losses(torch.tensor([[[6.0, -6.0], [-6.0, -6.0]]]), reg_t.clone(), valid, cls_t, reg_t)
    bad = tal_losses(torch.tensor([[[-6.0, 6.0], [6.0, 6.0]]]), torch.tensor([[[3.0, 0.5], [0.0, 0.0]]]), valid,
                     cls_t, reg_t)
    assert good["reg"] < 1e-6 and good["cls"] < 1e-3 and bad["loss"] > 1.0
    # prediction [-3, 0.5] vs target [-1, 2]: intersection 1.5, union 5, hull 5 -> 1 - gIoU = 1 - 0.3
    assert bad["reg"].item() == pytest.approx(0.7)


def test_seconds_and_the_snippet_grid_convert_as_actionformer_does():
    v = TALVideo("x", np.zeros((10, 4), np.float32), fps=8.0, feat_stride=2, num_frames=15, duration=3.0,
                 segments=np.zeros((0, 2)), labels=np.zeros(0, np.int64))
    assert v.feat_offset == 3.75
    # snippet i is centred at (2 i + 7.5) / 8 seconds
    assert grid_to_seconds(np.array([0.0, 4.0]), v).tolist() == [7.5 / 8, 15.5 / 8]
    assert seconds_to_grid(np.array([15.5 / 8]), v).tolist() == [4.0]


def test_the_head_learns_to_localise_a_bump_in_toy_features_and_writes_anet_results():
    rng = np.random.default_rng(0)
    videos = []
    for i in range(12):                                    # class 0 where feature 0 is on, class 1 for feature 1
        n = 48
        feats = rng.normal(0, 0.1, (n, 4)).astype(np.float32)
        s = int(rng.integers(4, 30))
        e = s + int(rng.integers(6, 14))
        c = i % 2
        feats[s:e, c] += 2.0
        v = TALVideo(f"v{i}", feats, fps=4.0, feat_stride=1, num_frames=1, duration=n / 4.0, segments=np.zeros((1, 2)),
                     labels=np.array([c]))
        v.segments = grid_to_seconds(np.array([[s - 0.5, e - 0.5]]), v)   # the snippets s .. e-1, edge to edge
        videos.append(v)
    torch.manual_seed(0)
    head = TALHead(TALHeadConfig(in_dim=4, num_classes=2, embed_dim=32, num_levels=3, dropout=0.0))
    hist = train_tal_head(head, videos[:10], TALTrainConfig(epochs=60, batch_size=4, lr=3e-3, warmup_epochs=2))
    assert hist["epoch_loss"][-1] < 0.5 * hist["epoch_loss"][0]
    res = predict_segments(head, videos[10:], ["a", "b"])
    for v in videos[10:]:
        top = res[v.video_id][0]
        assert top["label"] == "ab"[int(v.labels[0])]
        from internvideo_core.eval.localization import temporal_iou

        assert temporal_iou(top["segment"], v.segments[0])[0, 0] > 0.6
