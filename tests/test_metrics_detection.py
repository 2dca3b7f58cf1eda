"""AVA frame-mAP@0.5: official PASCAL-evaluator vectors, matching rule, exclusions, CSV helper."""
from __future__ import annotations

import json
import math
import warnings

import pytest

from internvideo_core.eval.detection import ava_frame_map, read_ava_csv_rows, read_ava_excluded


@pytest.fixture(scope="module")
def ava(official_dir):
    return json.loads((official_dir / "ava_metric_vectors.json").read_text())


def _expected(ava):
    m = ava["metrics"]
    per = {c: m[f"PascalBoxes_PerformanceByCategory/AP@0.5IOU/action{c}"] for c in ava["classes"]}
    return m["PascalBoxes_Precision/mAP@0.5IOU"], per


def test_matches_official_vectors(ava):
    exp_map, exp_per = _expected(ava)
    got = ava_frame_map(ava["ground_truth"], ava["detections"], excluded=ava["excluded"], classes=ava["classes"])
    assert got["mAP"] == pytest.approx(exp_map, rel=1e-6)
    assert set(got["per_class"]) == set(exp_per)
    for c, ap in exp_per.items():
        assert got["per_class"][c] == pytest.approx(ap, rel=1e-6, abs=1e-12), c
    # default classes = actions present in the ground truth (the same five here)
    assert ava_frame_map(ava["ground_truth"], ava["detections"], excluded=ava["excluded"])["mAP"] == \
        pytest.approx(exp_map, rel=1e-6)


def test_only_highest_iou_box_is_considered():
    # two boxes of action 1 in one frame; det2's best box A is already taken by det1 -> false positive,
    # even though its second-best box B has IoU 0.89 (the ActivityNet TAL rule would accept it)
    gt = [("v", 902, 0.0, 0.0, 1.0, 1.0, 1), ("v", 902, 0.1, 0.0, 1.1, 1.0, 1)]
    det = [("v", 902, 0.0, 0.0, 1.0, 1.0, 1, 0.9), ("v", 902, 0.04, 0.0, 1.04, 1.0, 1, 0.8)]
    r = ava_frame_map(gt, det)
    assert r["per_class"][1] == pytest.approx(0.5)


def test_excluded_frames_dropped_on_both_sides():
    gt = [("v", 902, 0.1, 0.1, 0.5, 0.5, 3), ("v", 903, 0.1, 0.1, 0.5, 0.5, 3)]
    det = [("v", 902, 0.1, 0.1, 0.5, 0.5, 3, 0.5), ("v", 903, 0.6, 0.6, 0.9, 0.9, 3, 0.9)]
    # frame 903: a high-scoring false positive and a missed box
    assert ava_frame_map(gt, det)["mAP"] == pytest.approx(0.25)
    assert ava_frame_map(gt, det, excluded=[("v", "0903")])["mAP"] == pytest.approx(1.0)


def test_detections_without_ground_truth_frame_are_false_positives():
    gt = [("v", 902, 0.1, 0.1, 0.5, 0.5, 3)]
    det = [("v", 902, 0.1, 0.1, 0.5, 0.5, 3, 0.5), ("w", 902, 0.1, 0.1, 0.5, 0.5, 3, 0.9)]
    assert ava_frame_map(gt, det)["mAP"] == pytest.approx(0.5)


def test_class_without_ground_truth_is_nan_and_skipped():
    gt = [("v", 902, 0.1, 0.1, 0.5, 0.5, 3)]
    det = [("v", 902, 0.1, 0.1, 0.5, 0.5, 3, 0.5), ("v", 902, 0.1, 0.1, 0.5, 0.5, 7, 0.9)]
    r = ava_frame_map(gt, det, classes=[3, 7])
    assert math.isnan(r["per_class"][7])
    assert r["mAP"] == pytest.approx(1.0)
    # without an explicit class list, action 7 is not evaluated at all
    assert set(ava_frame_map(gt, det)["per_class"]) == {3}


def test_class_without_detections_is_zero():
    gt = [("v", 902, 0.1, 0.1, 0.5, 0.5, 3), ("v", 902, 0.1, 0.1, 0.5, 0.5, 4)]
    det = [("v", 902, 0.1, 0.1, 0.5, 0.5, 3, 0.5)]
    r = ava_frame_map(gt, det)
    assert r["per_class"] == {3: 1.0, 4: 0.0} and r["mAP"] == pytest.approx(0.5)


def test_csv_reader_round_trip(ava, tmp_path):
    def fmt(row):
        return ",".join([row[0], "%04d" % int(row[1])] + [repr(float(x)) for x in row[2:6]] + [str(row[6])]
                        + ([repr(float(row[7]))] if len(row) == 8 else []))

    gt_file = tmp_path / "gt.csv"
    gt_file.write_text("\n".join(fmt(r) for r in ava["ground_truth"]) + "\n")
    det_lines = [fmt(r) for r in ava["detections"]]
    gt_rows = read_ava_csv_rows(gt_file)
    det_rows = read_ava_csv_rows(det_lines)
    assert len(gt_rows) == len(ava["ground_truth"]) and len(det_rows[0]) == 8
    excluded = read_ava_excluded([f"{v},{int(t):04d}" for v, t in ava["excluded"]])
    exp_map, _ = _expected(ava)
    assert ava_frame_map(gt_rows, det_rows, excluded=excluded)["mAP"] == pytest.approx(exp_map, rel=1e-6)
    with pytest.raises(ValueError, match="7 or 8 columns"):
        read_ava_csv_rows(["v,902,0,0,1"])
    with pytest.raises(FileNotFoundError):
        read_ava_csv_rows(tmp_path / "missing.csv")


def test_rows_are_validated_and_ground_truth_may_carry_an_eighth_column():
    gt = [("v", 902, 0.0, 0.0, 1.0, 1.0, 1)]
    with pytest.raises(ValueError, match="detection rows must be"):
        ava_frame_map(gt, [("v", 902, 0.0, 0.0, 1.0, 1.0, 1)])
    with pytest.raises(ValueError, match="ground-truth rows must be"):
        ava_frame_map([("v", 902, 0.0, 0.0, 1.0, 1.0)], [], classes=[1])
    with pytest.raises(ValueError, match="ground-truth rows must be"):
        ava_frame_map([("v", 902, 0.0, 0.0, 1.0, 1.0, 1, 0.5, 9)], [])
    r = ava_frame_map([("v", 902, 0.0, 0.0, 1.0, 1.0, 1, 7)], [("v", 902, 0.0, 0.0, 1.0, 1.0, 1, 0.3)])
    assert r == {"mAP": 1.0, "per_class": {1: 1.0}}


def test_frame_keys_use_the_integer_timestamp():
    from internvideo_core.eval.detection import frame_key
    assert frame_key("v", "0902.7") == ("v", 902) and frame_key(5, 3.0) == ("5", 3)
    gt = [("v", "0902", 0.0, 0.0, 1.0, 1.0, 1)]
    assert ava_frame_map(gt, [("v", 902.4, 0.0, 0.0, 1.0, 1.0, 1, 0.3)])["mAP"] == 1.0


def test_iou_threshold_argument_and_all_nan_mean():
    gt = [("v", 902, 0.0, 0.0, 1.0, 1.0, 1)]
    det = [("v", 902, 0.0, 0.0, 0.6, 1.0, 1, 0.9)]  # IoU 0.6
    assert ava_frame_map(gt, det)["mAP"] == 1.0
    assert ava_frame_map(gt, det, iou_threshold=0.7)["mAP"] == 0.0
    r = ava_frame_map(gt, det, classes=[5])
    assert math.isnan(r["mAP"]) and math.isnan(r["per_class"][5]) and list(r["per_class"]) == [5]


def test_higher_score_detection_claims_the_box_first():
    """Two detections on the same box: the higher-scoring one is the true positive whatever the row order,
    and a detection of another action on that box is a false positive for its own action."""
    gt = [("v", 902, 0.0, 0.0, 1.0, 1.0, 1), ("v", 902, 0.0, 0.0, 1.0, 1.0, 2)]
    det = [("v", 902, 0.0, 0.0, 1.0, 1.0, 1, 0.2), ("v", 902, 0.0, 0.0, 1.0, 1.0, 1, 0.9),
           ("v", 902, 0.5, 0.5, 1.0, 1.0, 2, 0.7)]
    r = ava_frame_map(gt, det)
    assert r["per_class"][1] == 1.0 and r["per_class"][2] == 0.0 and r["mAP"] == 0.5
    # a frame with ground truth of another action only: the detection is a false positive
    r = ava_frame_map([("v", 902, 0.0, 0.0, 1.0, 1.0, 1), ("w", 1, 0.0, 0.0, 1.0, 1.0, 2)],
                      [("w", 1, 0.0, 0.0, 1.0, 1.0, 1, 0.9), ("v", 902, 0.0, 0.0, 1.0, 1.0, 1, 0.5)])
    assert r["per_class"][1] == 0.5


def test_rows_after_an_ignored_or_excluded_row_still_count():
    gt = [("v", 1, 0.0, 0.0, 1.0, 1.0, 9), ("v", 2, 0.0, 0.0, 1.0, 1.0, 5), ("v", 3, 0.0, 0.0, 1.0, 1.0, 1)]
    det = [("v", 1, 0.0, 0.0, 1.0, 1.0, 9, 0.9), ("v", 2, 0.0, 0.0, 1.0, 1.0, 5, 0.9),
           ("v", 3, 0.0, 0.0, 1.0, 1.0, 1, 0.8)]
    # action 9 is not evaluated and frame 2 is excluded: the later rows of action 1 are still read
    r = ava_frame_map(gt, det, excluded=[("v", 2)], classes=[5, 1])  # the NaN class first: 1 is still scored
    assert r["per_class"][1] == 1.0 and math.isnan(r["per_class"][5]) and r["mAP"] == 1.0


def test_boxes_are_compared_in_float64():
    """IoU exactly 0.5 in float64 (the official numpy evaluator) but just under it when either box is rounded to
    float32: both detections are true positives."""
    gt = [("v", 1, 0.0, 0.0, 0.14, 1.0, 1), ("v", 2, 0.0, 0.0, 0.06, 1.0, 1)]
    det = [("v", 1, 0.0, 0.0, 0.07, 1.0, 1, 0.9), ("v", 2, 0.0, 0.0, 0.03, 1.0, 1, 0.8)]
    assert ava_frame_map(gt, det)["per_class"][1] == 1.0


def test_classes_without_ground_truth_or_detections_give_their_values_without_runtime_warnings():
    """No "Mean of empty slice" / division warnings: an all-NaN mean is NaN by the rule, a class without
    detections is AP 0 (the empty precision/recall arrays)."""
    gt = [("v", 902, 0.0, 0.0, 1.0, 1.0, 1)]
    det = [("v", 902, 0.0, 0.0, 1.0, 1.0, 1, 0.9)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        all_nan = ava_frame_map(gt, det, classes=[5, 7])
        no_det = ava_frame_map(gt + [("v", 902, 0.0, 0.0, 1.0, 1.0, 2)], det)
    assert math.isnan(all_nan["mAP"]) and all(math.isnan(v) for v in all_nan["per_class"].values())
    assert no_det == {"mAP": 0.5, "per_class": {1: 1.0, 2: 0.0}}
