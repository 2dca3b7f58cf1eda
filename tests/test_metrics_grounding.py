"""Ego4D episodic-memory metrics: NLQ recall / mIoU and MQ mAP / recall, hand-made cases decided as the official code."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from internvideo_core.eval.grounding import (
    MQ_TIOU_THRESHOLDS, mq_clip_annotations, mq_detection_map, mq_metrics, nlq_metrics, window_iou,
)


# ----------------------------------------------------------------------------------------------------------- NLQ
def _nlq_gt() -> dict:
    def q(s, e):
        return {"clip_start_sec": s, "clip_end_sec": e, "query": "when?", "template": "t"}

    return {"version": "v1", "videos": [
        {"video_uid": "v1", "split": "val", "clips": [
            {"clip_uid": "c1", "annotations": [{"annotation_uid": "a1", "language_queries": [q(0.0, 10.0), q(20, 30)]}]},
            {"clip_uid": "c2", "annotations": [{"annotation_uid": "a2", "language_queries": [q(5.0, 15.0)]}]},
        ]}]}


def _pred(clip, ann, idx, windows):
    return {"clip_uid": clip, "annotation_uid": ann, "query_idx": idx, "predicted_times": windows}


def _nlq_preds() -> list[dict]:
    return [
        # IoUs 0.3 (exactly), 0.5 (exactly), 0, 1, 0.1
        _pred("c1", "a1", 0, [[0.0, 3.0], [0.0, 5.0], [50.0, 60.0], [0.0, 10.0], [1.0, 2.0]]),
        _pred("c1", "a1", 1, [[20.0, 30.0]]),
        _pred("c2", "a2", 0, [[0.0, 10.0]]),  # IoU 5 / 15
    ]


def test_nlq_window_on_the_threshold_is_not_a_hit_and_later_windows_count_only_within_k():
    r = nlq_metrics(_nlq_gt(), _nlq_preds())
    assert set(r) == {"R@1,IoU=0.3", "R@1,IoU=0.5", "R@5,IoU=0.3", "R@5,IoU=0.5", "mIoU", "num_evaluated",
                      "num_queries"}
    assert r["R@1,IoU=0.3"] == pytest.approx(2 / 3)   # IoU exactly 0.3 is not > 0.3
    assert r["R@1,IoU=0.5"] == pytest.approx(1 / 3)   # 1/3 < 0.5 for c2
    assert r["R@5,IoU=0.3"] == pytest.approx(1.0)
    assert r["R@5,IoU=0.5"] == pytest.approx(2 / 3)   # the exact-0.5 window is not > 0.5, the IoU-1 one is 4th
    assert r["mIoU"] == pytest.approx((0.3 + 1.0 + 1 / 3) / 3)  # the first window's IoU only
    assert r["num_evaluated"] == 3 and r["num_queries"] == 3


def test_nlq_rank_is_the_submission_order_and_k_limits_it():
    preds = _nlq_preds()
    r = nlq_metrics(_nlq_gt(), preds, thresholds=(0.5,), top_k=(3, 4))
    assert r["R@3,IoU=0.5"] == pytest.approx(1 / 3)   # the IoU-1 window of c1 is 4th
    assert r["R@4,IoU=0.5"] == pytest.approx(2 / 3)
    preds[0]["predicted_times"] = preds[0]["predicted_times"][::-1]  # IoU 0.1 first, then 1.0
    r = nlq_metrics(_nlq_gt(), preds, thresholds=(0.5,), top_k=(1, 2))
    assert r["R@1,IoU=0.5"] == pytest.approx(1 / 3) and r["R@2,IoU=0.5"] == pytest.approx(2 / 3)
    assert r["mIoU"] == pytest.approx((0.1 + 1.0 + 1 / 3) / 3)


def test_nlq_means_run_over_submitted_predictions_not_over_the_ground_truth_queries():
    preds = _nlq_preds()
    r = nlq_metrics(_nlq_gt(), preds[1:])                  # c1 query 0 left out: not counted as a miss
    assert r["num_evaluated"] == 2 and r["num_queries"] == 3
    assert r["R@1,IoU=0.3"] == pytest.approx(1.0)
    r = nlq_metrics(_nlq_gt(), preds + [preds[1]])        # a duplicate counts twice
    assert r["num_evaluated"] == 4 and r["R@1,IoU=0.3"] == pytest.approx(3 / 4)


def test_nlq_unknown_instance_and_malformed_windows_raise():
    with pytest.raises(ValueError, match="Instance not present"):
        nlq_metrics(_nlq_gt(), [_pred("c1", "zz", 0, [[0, 1]])])
    with pytest.raises(ValueError, match="predicted_times"):
        nlq_metrics(_nlq_gt(), [_pred("c1", "a1", 0, [0, 1])])
    with pytest.raises(ValueError, match="empty"):
        nlq_metrics(_nlq_gt(), [])


def test_window_iou_is_intersection_over_hull():
    iou = window_iou([[0, 10], [20, 30], [2, 4, 0.9]], [[5, 15], [0, 10]])
    np.testing.assert_allclose(iou, [[5 / 15, 1.0], [0.0, 0.0], [0.0, 0.2]])
    assert math.isnan(window_iou([[3, 3]], [[3, 3]])[0, 0])   # 0/0 as in the official scripts


# ------------------------------------------------------------------------------------------------------------ MQ
def _lab(label, s, e, primary=True):
    return {"label": label, "start_time": s, "end_time": e, "video_start_time": s, "video_end_time": e,
            "primary": primary}


def _mq_gt() -> dict:
    return {"version": "v1", "videos": [
        {"video_uid": "v1", "split": "val", "clips": [
            {"clip_uid": "c1", "video_start_sec": 0.0, "video_end_sec": 480.0, "annotations": [
                {"annotator_uid": "x", "labels": [_lab("A", 0.0, 10.0), _lab("B", 20.0, 30.0),
                                                  _lab("A", 12.0, 14.0, primary=False)]}]},
            {"clip_uid": "c2", "video_start_sec": 0.0, "video_end_sec": 480.0, "annotations": [
                {"annotator_uid": "x", "labels": [_lab("A", 5.0, 15.0)]}]},
        ]},
        {"video_uid": "v2", "split": "train", "clips": [
            {"clip_uid": "c3", "annotations": [{"annotator_uid": "x", "labels": [_lab("C", 0.0, 5.0)]}]}]},
    ]}


def _seg(label, s, e, score):
    return {"label": label, "segment": [s, e], "score": score}


def _mq_results() -> dict:
    return {"c1": [_seg("A", 0.0, 3.0, 0.9), _seg("B", 20.0, 30.0, 0.8), _seg("A", 0.0, 10.0, 0.5)],
            "c2": [_seg("A", 5.0, 15.0, 0.7)],
            "c9": [_seg("A", 0.0, 1.0, 0.95)]}  # a clip without ground truth: a false positive


def test_mq_conversion_keeps_primary_labels_and_the_split():
    clips = mq_clip_annotations(_mq_gt())
    assert set(clips) == {"c1", "c2", "c3"}
    assert [a["label"] for a in clips["c1"]["annotations"]] == ["A", "B"]
    assert clips["c1"]["subset"] == "val" and clips["c3"]["subset"] == "train"
    assert mq_clip_annotations(clips) == clips   # already converted: as is


def test_mq_map_matches_at_exactly_the_threshold_and_subset_is_a_substring_test():
    r = mq_metrics(_mq_gt(), {"version": "1.0", "results": _mq_results()}, subset="validation")
    # class A (2 truths): ranked FP (c9), [0,3] (tIoU exactly 0.3), c2 TP, [0,10]: AP 2/3 at t <= 0.3, 1/2 above;
    # class B: AP 1; class C is train-only and not averaged
    np.testing.assert_allclose(r["mAP_per_tiou"], [5 / 6, 5 / 6, 5 / 6, 0.75, 0.75])
    assert r["average_mAP"] == pytest.approx(0.8)
    assert sorted(r["ap_per_class"]) == ["A", "B"]
    assert r["tiou_thresholds"] == list(MQ_TIOU_THRESHOLDS) == [0.1, 0.2, 0.3, 0.4, 0.5]
    # recall: c1's A is found at rank 1 only by a prediction with IoU exactly 0.3, which is not > 0.3
    np.testing.assert_allclose(r["recall"], [[2 / 3, 1, 1, 1, 1]] * 3)
    train = mq_metrics(_mq_gt(), {"results": {"c3": [_seg("C", 0.0, 5.0, 1.0)]}}, subset="train")
    assert train["average_mAP"] == pytest.approx(1.0) and train["recall"][2][0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="subset"):
        mq_metrics(_mq_gt(), {"results": _mq_results()}, subset="nothing")


def test_mq_recall_uses_the_submission_order_not_the_scores_and_detect_and_retrieve_parts():
    res = _mq_results()
    swapped = dict(res, c1=[res["c1"][2], res["c1"][1], res["c1"][0]])  # [0,10] (score 0.5) listed first
    r = mq_metrics(_mq_gt(), {"detect_results": res, "retrieve_results": swapped})
    np.testing.assert_allclose(r["recall"], [[1.0] * 5] * 3)
    np.testing.assert_allclose(r["mAP_per_tiou"], [5 / 6, 5 / 6, 5 / 6, 0.75, 0.75])  # mAP sorts by score


def test_mq_recall_rank_is_times_the_number_of_truths_and_one_prediction_can_retrieve_several():
    gt = {"c": {"subset": "val", "annotations": [_lab("A", 0.0, 10.0), _lab("A", 1.0, 10.0), _lab("A", 40.0, 50.0)]}}
    res = {"c": [_seg("A", 0.0, 10.0, 0.9), _seg("A", 100.0, 110.0, 0.8), _seg("A", 100.0, 110.0, 0.7),
                 _seg("A", 40.0, 50.0, 0.6)]}
    r = mq_metrics(gt, {"results": res})
    # rank 1 looks at the first 1 x 3 predictions: the first retrieves both [0,10] and [1,10] (IoU 1 and 0.9)
    assert r["recall"][0][0] == pytest.approx(2 / 3) and r["recall"][0][1] == pytest.approx(1.0)
    assert r["recall"][2][0] == pytest.approx(2 / 3)   # 0.9 > 0.7
    missing = {"c": [_seg("B", 0.0, 10.0, 0.9)]}      # no prediction of the class: misses
    assert mq_metrics(gt, {"results": missing})["recall"][0] == [0.0] * 5
    with pytest.raises(ValueError, match="no predictions for clip"):
        mq_metrics(gt, {"results": {"other": []}})
    with pytest.raises(ValueError, match="detect_results"):
        mq_metrics(gt, {"version": "1.0"})


def _official_style_ap(gt_rows, pred_rows, thresholds):
    """The loop of eval_detection.compute_average_precision_detection, written out for one class (reference)."""
    ap = np.zeros(len(thresholds))
    if not pred_rows:
        return ap
    order = np.argsort(np.array([p[3] for p in pred_rows]), kind="stable")[::-1]
    preds = [pred_rows[i] for i in order]
    lock = -np.ones((len(thresholds), len(gt_rows)))
    tp = np.zeros((len(thresholds), len(preds)))
    fp = np.zeros_like(tp)
    for idx, (vid, s, e, _) in enumerate(preds):
        ids = [i for i, g in enumerate(gt_rows) if g[0] == vid]
        if not ids:
            fp[:, idx] = 1
            continue
        segs = np.array([[gt_rows[i][1], gt_rows[i][2]] for i in ids])
        inter = (np.minimum(e, segs[:, 1]) - np.maximum(s, segs[:, 0])).clip(0)
        tiou = inter / ((segs[:, 1] - segs[:, 0]) + (e - s) - inter)
        for t, thr in enumerate(thresholds):
            for j in np.argsort(tiou, kind="stable")[::-1]:
                if tiou[j] < thr:
                    fp[t, idx] = 1
                    break
                if lock[t, ids[j]] >= 0:
                    continue
                tp[t, idx] = 1
                lock[t, ids[j]] = idx
                break
            if fp[t, idx] == 0 and tp[t, idx] == 0:
                fp[t, idx] = 1
    tpc, fpc = np.cumsum(tp, axis=1), np.cumsum(fp, axis=1)
    rec, prec = tpc / len(gt_rows), tpc / (tpc + fpc)
    for t in range(len(thresholds)):
        mprec = np.hstack([[0], prec[t], [0]])
        mrec = np.hstack([[0], rec[t], [1]])
        for i in range(len(mprec) - 1)[::-1]:
            mprec[i] = max(mprec[i], mprec[i + 1])
        k = np.where(mrec[1:] != mrec[:-1])[0] + 1
        ap[t] = np.sum((mrec[k] - mrec[k - 1]) * mprec[k])
    return ap


def test_mq_map_reuses_tal_map_and_equals_the_official_loop_on_random_data():
    rng = np.random.default_rng(0)
    labels = ["a", "b", "c"]
    clips, results = {}, {}
    for v in range(6):
        anns = []
        for _ in range(rng.integers(1, 5)):
            s = float(rng.uniform(0, 100))
            anns.append(_lab(str(rng.choice(labels[:2] if v < 3 else labels)), s, s + float(rng.uniform(1, 20))))
        clips[f"v{v}"] = {"subset": "val", "annotations": anns}
        preds = []
        for _ in range(rng.integers(0, 8)):
            s = float(rng.uniform(0, 100))
            preds.append(_seg(str(rng.choice(labels + ["zz"])), s, s + float(rng.uniform(1, 20)),
                              float(rng.random())))
        results[f"v{v}"] = preds
    got = mq_detection_map(clips, results)
    classes = list(dict.fromkeys(a["label"] for c in clips.values() for a in c["annotations"]))
    ref = []
    for lab in classes:
        gt_rows = [(u, a["start_time"], a["end_time"]) for u, c in clips.items() for a in c["annotations"]
                   if a["label"] == lab]
        pred_rows = [(u, p["segment"][0], p["segment"][1], p["score"]) for u, ps in results.items() for p in ps
                     if p["label"] == lab]
        ref.append(_official_style_ap(gt_rows, pred_rows, MQ_TIOU_THRESHOLDS))
    np.testing.assert_allclose(got["mAP_per_tiou"], np.mean(ref, axis=0), rtol=0, atol=1e-12)


def test_mq_map_equals_the_official_activitynet_vectors(official_dir):
    """MQ's compute_average_precision_detection is ActivityNet's: the official THUMOS-threshold vectors hold."""
    fx = json.loads((official_dir / "tal_metric_vectors.json").read_text())
    clips: dict = {}
    for vid, s, e, lab in fx["ground_truth"]:
        clips.setdefault(vid, {"subset": "val", "annotations": []})["annotations"].append(_lab(lab, s, e))
    results: dict = {}
    for vid, s, e, lab, sc in fx["predictions"]:
        results.setdefault(vid, []).append(_seg(lab, s, e, sc))
    exp = fx["results"]["thumos"]
    got = mq_detection_map(clips, results, exp["tiou_thresholds"])
    np.testing.assert_allclose(got["mAP_per_tiou"], exp["mAP_per_tiou"], rtol=1e-6, atol=1e-12)


# ------------------------------------------------------------------------------------ exact edges (mutation tests)
def test_window_iou_of_zero_length_windows_is_nan_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iou = window_iou([[3, 3], [0, 1]], [[3, 3]])
    assert math.isnan(iou[0, 0]) and iou[1, 0] == 0.0


def test_nlq_error_messages_name_the_prediction_clip_and_annotation():
    with pytest.raises(ValueError, match=r"^nlq_metrics: the submission's 'results' list is empty; expected one entry "
                                         r"per query \(\{'clip_uid', 'annotation_uid', 'query_idx', "
                                         r"'predicted_times'\}\)$"):
        nlq_metrics(_nlq_gt(), [])
    with pytest.raises(ValueError, match=r"^nlq_metrics: prediction 1 is for clip 'c2', annotation 'a1', which the "
                                         r"ground truth does not have \(the official script stops: 'Instance not "
                                         r"present!'\)$"):
        nlq_metrics(_nlq_gt(), [_nlq_preds()[0], _pred("c2", "a1", 0, [[0, 1]])])
    with pytest.raises(ValueError, match=r"^nlq_metrics: prediction 0 \(\('c1', 'a1'\)\) must have 'predicted_times' "
                                         r"as a non-empty list of \[start, end\] windows, got \[\]$"):
        nlq_metrics(_nlq_gt(), [_pred("c1", "a1", 0, [])])


def test_mq_conversion_writes_the_official_clip_entry():
    clips = mq_clip_annotations(_mq_gt())
    assert {k: v for k, v in clips["c1"].items() if k != "annotations"} == {
        "video_id": "v1", "clip_id": "c1", "parent_start_sec": 0.0, "parent_end_sec": 480.0, "subset": "val"}
    assert clips["c3"]["parent_start_sec"] is None and clips["c3"]["parent_end_sec"] is None   # not in the file


def test_mq_conversion_keeps_test_clips_without_labels_and_drops_unlabelled_others():
    gt = {"videos": [
        {"video_uid": "t", "split": "test", "clips": [
            {"clip_uid": "t1", "annotations": [{"labels": [_lab("A", 0.0, 1.0)]}]},      # labels of a test clip
            {"clip_uid": "t2"}]},
        {"video_uid": "v", "split": "val", "clips": [
            {"clip_uid": "v1"},                                                           # no annotations key
            {"clip_uid": "v2", "annotations": [{"labels": [_lab("A", 0.0, 1.0, primary=False)]}]},
            {"clip_uid": "v3", "annotations": [{"labels": [_lab("A", 0.0, 1.0)]}]}]},
    ]}
    clips = mq_clip_annotations(gt)
    assert sorted(clips) == ["t1", "t2", "v3"]
    assert clips["t1"]["annotations"] == [] and clips["t2"]["subset"] == "test"


@pytest.mark.parametrize("gt, entry", [({"version": 2}, "'version'"),
                                       ({"c1": {"subset": "val"}}, "'c1'"),
                                       ({"c1": {"annotations": []}}, "'c1'")])
def test_mq_ground_truth_of_neither_layout_is_refused_naming_the_entry(gt, entry):
    with pytest.raises(ValueError, match=r"^MQ ground truth: expected moments_\{split\}.json \(a dict with 'videos'\) "
                                         r"or clip annotations \{clip_uid: \{'subset', 'annotations'\}\}; entry "
                                         + entry + " is neither$"):
        mq_clip_annotations(gt)


def test_mq_submission_without_a_known_part_lists_its_first_eight_keys():
    with pytest.raises(ValueError) as err:
        mq_metrics(_mq_gt(), {f"k{i}": {} for i in range(10)})
    assert str(err.value) == ("MQ submission: expected 'detect_results' (the challenge file) or 'results' "
                              "(ActivityNet style) with {clip_uid: [{'label', 'segment', 'score'}]}; got keys "
                              "['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']")


def test_mq_map_averages_the_classes_in_ground_truth_order_as_the_official_activity_index():
    """eval_detection.py numbers classes by first appearance in the ground truth and averages ``ap`` in that order;
    with APs 1, 1/2, 1/6 the float sum depends on the order (sorted labels would give ...555, not ...556)."""
    clips = {"x": {"subset": "val", "annotations": [_lab("c", 0.0, 10.0), _lab("b", 0.0, 10.0), _lab("a", 0.0, 10.0)]}}
    preds = [_seg("c", 0.0, 10.0, 0.9), _seg("b", 50.0, 60.0, 0.95), _seg("b", 0.0, 10.0, 0.5)]
    preds += [_seg("a", 50.0, 60.0, 0.99 - i / 100) for i in range(5)] + [_seg("a", 0.0, 10.0, 0.1)]
    r = mq_detection_map(clips, {"x": preds})
    assert list(r["ap_per_class"]) == ["c", "b", "a"]
    assert r["ap_per_class"]["a"] == pytest.approx([1 / 6] * 5)
    official = float(np.mean(np.array([1.0, 0.5, 1 / 6])))
    assert official != float(np.mean(np.array([1 / 6, 0.5, 1.0])))
    assert r["mAP_per_tiou"] == [official] * 5


def test_mq_recall_goes_on_after_a_class_without_predictions():
    gt = {"c": {"subset": "val", "annotations": [_lab("A", 0.0, 10.0), _lab("B", 20.0, 30.0)]}}
    r = mq_metrics(gt, {"results": {"c": [_seg("B", 20.0, 30.0, 0.9)]}})
    assert r["recall"] == [[0.5] * 5] * 3


def test_mq_recall_without_ground_truth_moments_is_nan_without_a_warning():
    import warnings

    from internvideo_core.eval.grounding import mq_recall

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = mq_recall({"t": {"subset": "test", "annotations": []}}, {"t": []})
    assert len(table) == 3 and all(len(row) == 5 and all(math.isnan(x) for x in row) for row in table)


def test_mq_metrics_reports_its_thresholds_and_ranks():
    r = mq_metrics(_mq_gt(), {"results": _mq_results()})
    assert set(r) == {"mAP_per_tiou", "average_mAP", "recall", "tiou_thresholds", "recall_tious", "recall_ranks",
                      "ap_per_class"}
    assert r["recall_tious"] == [0.3, 0.5, 0.7] and r["recall_ranks"] == [1, 2, 3, 4, 5]
