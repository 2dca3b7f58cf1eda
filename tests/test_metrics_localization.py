"""Temporal action localization: official ActivityNet-evaluator vectors, matching rule, tIoU, NMS."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from internvideo_core.eval.localization import (
    ANET_TIOU_THRESHOLDS, THUMOS_TIOU_THRESHOLDS, segment_nms, segment_soft_nms, tal_map, temporal_iou,
)


@pytest.fixture(scope="module")
def tal_fixture(official_dir):
    return json.loads((official_dir / "tal_metric_vectors.json").read_text())


@pytest.mark.parametrize("which", ["anet", "thumos"])
def test_matches_official_vectors(tal_fixture, which):
    exp = tal_fixture["results"][which]
    got = tal_map(tal_fixture["ground_truth"], tal_fixture["predictions"], exp["tiou_thresholds"])
    np.testing.assert_allclose(got["mAP_per_tiou"], exp["mAP_per_tiou"], rtol=1e-6, atol=1e-12)
    assert got["average_mAP"] == pytest.approx(exp["average_mAP"], rel=1e-6)
    assert len(got["ap_per_class"]) == 4


def test_threshold_constants_match_official(tal_fixture):
    assert list(ANET_TIOU_THRESHOLDS) == tal_fixture["results"]["anet"]["tiou_thresholds"]
    assert list(THUMOS_TIOU_THRESHOLDS) == tal_fixture["results"]["thumos"]["tiou_thresholds"]
    got = tal_map(tal_fixture["ground_truth"], tal_fixture["predictions"])  # default = ActivityNet thresholds
    assert got["average_mAP"] == pytest.approx(tal_fixture["results"]["anet"]["average_mAP"], rel=1e-6)


def test_temporal_iou_values():
    iou = temporal_iou([[0, 10], [20, 30]], [[5, 15], [0, 10], [30, 40]])
    assert iou.shape == (2, 3)
    np.testing.assert_allclose(iou[0], [5 / 15, 1.0, 0.0])
    np.testing.assert_allclose(iou[1], [0.0, 0.0, 0.0])  # touching segments do not overlap
    assert temporal_iou([2, 4], [3, 5])[0, 0] == pytest.approx(1 / 3)


def test_greedy_falls_back_to_next_best_unmatched_gt():
    # p2's best ground truth (A, tIoU 0.905) is taken by p1, its second best (B, 0.739) is free:
    # matched at tIoU 0.5, a false positive at 0.8
    gt = [("v", 0.0, 10.0, 0), ("v", 2.0, 12.0, 0)]
    preds = [("v", 0.0, 10.0, 0, 0.9), ("v", 0.5, 10.5, 0, 0.8)]
    r = tal_map(gt, preds, [0.5, 0.8])
    np.testing.assert_allclose(r["mAP_per_tiou"], [1.0, 0.5])
    assert r["average_mAP"] == pytest.approx(0.75)


def test_ap_interpolation_hand_case():
    # 3 ground truths; ranked predictions TP, FP (other video), TP -> precision 1, 1/2, 2/3 at recall 1/3, 1/3, 2/3
    gt = [("a", 0, 10, 1), ("a", 20, 30, 1), ("b", 0, 10, 1)]
    preds = [("a", 0, 10, 1, 0.9), ("c", 0, 10, 1, 0.8), ("a", 20, 30, 1, 0.7)]
    r = tal_map(gt, preds, [0.5])
    assert r["mAP_per_tiou"][0] == pytest.approx(1 / 3 * 1.0 + 1 / 3 * 2 / 3)


def test_classes_without_predictions_count_as_zero_and_unknown_labels_ignored():
    gt = [("v", 0, 10, "jump"), ("v", 20, 30, "run")]
    preds = [("v", 0, 10, "jump", 0.5), ("v", 20, 30, "swim", 0.9)]
    r = tal_map(gt, preds, [0.5])
    assert r["ap_per_class"] == {"jump": [1.0], "run": [0.0]}
    assert r["average_mAP"] == pytest.approx(0.5)
    # an explicit class list can include labels absent from the ground truth (AP 0)
    r2 = tal_map(gt, preds, [0.5], classes=["jump", "run", "swim"])
    assert r2["average_mAP"] == pytest.approx(1 / 3)


def test_duplicate_detection_is_false_positive():
    gt = [("v", 0, 10, 0)]
    preds = [("v", 0, 10, 0, 0.9), ("v", 0, 10, 0, 0.8)]
    assert tal_map(gt, preds, [0.5])["average_mAP"] == pytest.approx(1.0)  # FP after full recall costs nothing
    preds = [("v", 0, 10, 0, 0.7), ("v", 1, 10, 0, 0.8)]  # the duplicate ranks first now
    assert tal_map(gt, preds, [0.95])["average_mAP"] == pytest.approx(0.5)


def test_bad_rows_raise():
    with pytest.raises(ValueError, match="video, start, end, label, score"):
        tal_map([("v", 0, 1, 0)], [("v", 0, 1, 0)], [0.5])


def test_segment_nms():
    segs = np.array([[0, 10], [1, 11], [20, 30], [0.5, 9.5]])
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    keep = segment_nms(segs, scores, iou_threshold=0.5)
    np.testing.assert_array_equal(keep, [3, 2])
    assert len(segment_nms(np.zeros((0, 2)), np.zeros(0), 0.5)) == 0


def test_segment_soft_nms_gaussian_and_linear():
    segs = np.array([[0, 10], [5, 15], [40, 50]])
    scores = np.array([0.9, 0.8, 0.3])
    out_s, out_sc = segment_soft_nms(segs, scores, sigma=0.5)
    iou = 5 / 15
    np.testing.assert_allclose(out_s, [[0, 10], [5, 15], [40, 50]])
    np.testing.assert_allclose(out_sc, [0.9, 0.8 * math.exp(-iou ** 2 / 0.5), 0.3])
    _, lin = segment_soft_nms(segs, scores, method="linear", iou_threshold=0.3)
    np.testing.assert_allclose(lin, [0.9, 0.8 * (1 - iou), 0.3])
    _, capped = segment_soft_nms(segs, scores, max_segments=2, score_threshold=0.0)
    assert len(capped) == 2


def test_ground_truth_rows_are_checked_and_empty_inputs_give_zeros():
    from internvideo_core.eval.localization import average_precision_detection

    with pytest.raises(ValueError, match="video, start, end, label\\)"):
        tal_map([("v", 0, 1)], [], [0.5])
    assert average_precision_detection([], [("v", 0, 1, 0.5)], [0.5, 0.7]).tolist() == [0.0, 0.0]
    assert average_precision_detection([("v", 0, 1)], [], [0.5]).tolist() == [0.0]
    r = tal_map([], [("v", 0, 1, 0, 0.9)], [0.5, 0.7])
    assert r == {"mAP_per_tiou": [0.0, 0.0], "average_mAP": 0.0, "tiou_thresholds": [0.5, 0.7], "ap_per_class": {}}
    assert tal_map([("v", 0, 1, 0)], [("v", 0, 1, 0, 0.9)], [])["average_mAP"] == 0.0
    # labels of mixed types are ordered by type name, then value
    r = tal_map([("v", 0, 1, "b"), ("v", 0, 1, 2), ("v", 0, 1, "a"), ("v", 0, 1, 1)], [], [0.5])
    assert list(r["ap_per_class"]) == [1, 2, "a", "b"]


def test_prediction_takes_the_best_free_ground_truth_and_stops_below_threshold():
    # p2 overlaps A (0.9) and B (0.5): A is taken by p1; B is exactly on the threshold -> matched
    gt = [("v", 0.0, 10.0, 0), ("v", 10.0, 20.0, 0)]
    preds = [("v", 0.0, 10.0, 0, 0.9), ("v", 1.0, 10.0, 0, 0.8), ("v", 5.0, 15.0, 0, 0.7)]
    ap = tal_map(gt, preds, [1 / 3, 0.9])["ap_per_class"][0]
    assert ap[0] == pytest.approx(1.0 * 0.5 + 2 / 3 * 0.5)  # TP, FP (A taken, B below 1/3: tIoU 0), TP on B
    assert ap[1] == pytest.approx(0.5)
    # a later prediction whose only candidate is taken is a false positive at every threshold
    r = tal_map([("v", 0.0, 10.0, 0)], [("v", 0.0, 10.0, 0, 0.9), ("v", 0.0, 10.0, 0, 0.8),
                                         ("w", 0.0, 10.0, 0, 0.1)], [0.1])
    assert r["average_mAP"] == 1.0


def test_temporal_iou_of_empty_segments_is_zero_not_nan():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0 / 0 is expected here and must not warn
        assert temporal_iou([3, 3], [3, 3]).tolist() == [[0.0]]
    assert temporal_iou(np.array([[0, 4]]), np.array([[2, 6]]))[0, 0] == pytest.approx(1 / 3)


def test_segment_nms_keeps_an_overlap_exactly_on_the_threshold():
    segs = np.array([[0.0, 10.0], [5.0, 15.0], [0.0, 9.0]])
    keep = segment_nms(segs, np.array([0.9, 0.8, 0.7]), iou_threshold=1 / 3)
    assert keep.tolist() == [0, 1]  # [5, 15] has tIoU exactly 1/3 with [0, 10]: kept; [0, 9] (0.9) dropped
    assert segment_nms(segs, [0.9, 0.8, 0.7], iou_threshold=0.95).tolist() == [0, 1, 2]


def test_soft_nms_thresholds_limits_and_errors():
    segs = np.array([[0.0, 10.0], [5.0, 15.0], [40.0, 50.0]])
    with pytest.raises(ValueError, match="gaussian' or 'linear"):
        segment_soft_nms(segs, [0.9, 0.8, 0.3], method="hard")
    # a score exactly at score_threshold stops the selection
    s, sc = segment_soft_nms(segs, [0.9, 0.8, 0.3], score_threshold=0.3, method="linear", iou_threshold=0.5)
    assert sc.tolist() == [0.9, 0.8] and s.tolist() == [[0.0, 10.0], [5.0, 15.0]]
    # linear decay only above iou_threshold: tIoU 1/3 is not above 1/3
    _, sc = segment_soft_nms(segs, [0.9, 0.8, 0.3], method="linear", iou_threshold=1 / 3)
    assert sc.tolist() == [0.9, 0.8, 0.3]
    _, sc = segment_soft_nms(segs, [0.9, 0.8, 0.3], sigma=2.0)
    np.testing.assert_allclose(sc, [0.9, 0.8 * math.exp(-(1 / 3) ** 2 / 2.0), 0.3])
    assert segment_soft_nms(segs, [0.9, 0.8, 0.3], max_segments=0)[0].shape == (0, 2)
    s, sc = segment_soft_nms([[1.0, 2.0]], [0.5])
    assert s.tolist() == [[1.0, 2.0]] and sc.tolist() == [0.5]
    # the decay works on the remaining scores: the third pick is the decayed [5, 15], not the raw order
    _, sc = segment_soft_nms(np.array([[0.0, 10.0], [0.0, 10.0], [5.0, 15.0]]), [0.9, 0.85, 0.4],
                             method="linear", iou_threshold=0.2)
    np.testing.assert_allclose(sc, [0.9, 0.4 * (2 / 3)])  # the duplicate decays to 0 and is never taken


def test_soft_nms_default_sigma_and_linear_threshold():
    segs = np.array([[0.0, 10.0], [5.0, 15.0], [40.0, 50.0]])
    iou = 5 / 15
    _, sc = segment_soft_nms(segs, [0.9, 0.8, 0.3])
    np.testing.assert_allclose(sc, [0.9, 0.8 * math.exp(-iou ** 2 / 0.5), 0.3])  # sigma defaults to 0.5
    _, sc = segment_soft_nms(segs, [0.9, 0.8, 0.3], method="linear")
    np.testing.assert_allclose(sc, [0.9, 0.8 * (1 - iou), 0.3])  # iou_threshold defaults to 0.3 < 1/3


def test_segment_nms_single_segment_float32_scores_and_int64_output():
    import torch

    assert segment_nms([[0.0, 1.0]], [0.5], 0.5).tolist() == [0]
    empty = segment_nms(np.zeros((0, 2)), np.zeros(0), 0.5)
    assert empty.dtype == np.int64 and empty.shape == (0,)
    keep = segment_nms(torch.tensor([[0.0, 10.0], [1.0, 10.0]]), torch.tensor([0.2, 0.9]), 0.5)
    assert keep.dtype == np.int64 and keep.tolist() == [1]  # float32 tensors in, float64 boxes and scores inside
