"""``internvideo eval-tal`` on small files in the real ActivityNet formats equals the exact metric."""
from __future__ import annotations

import json

import pytest

from internvideo_core.cli import main
from internvideo_core.eval.localization import ANET_TIOU_THRESHOLDS, THUMOS_TIOU_THRESHOLDS, tal_map

GT = {"version": "VERSION 1.3", "taxonomy": [], "database": {
    "vidA": {"subset": "validation", "duration": 30.0, "url": "", "annotations": [
        {"segment": [2.0, 8.0], "label": "jump"}, {"segment": [15.0, 20.5], "label": "run"}]},
    "vidB": {"subset": "validation", "duration": 12.0, "url": "", "annotations": [
        {"segment": [1.0, 4.0], "label": "run"}]},
    "vidT": {"subset": "training", "duration": 10.0, "url": "", "annotations": [
        {"segment": [0.0, 9.0], "label": "swim"}]},
}}
RESULTS = {"version": "VERSION 1.3", "external_data": {}, "results": {
    "vidA": [{"label": "jump", "score": 0.9, "segment": [2.5, 8.0]},
             {"label": "run", "score": 0.8, "segment": [14.0, 18.0]},
             {"label": "run", "score": 0.3, "segment": [15.0, 20.0]}],
    "vidB": [{"label": "run", "score": 0.7, "segment": [1.2, 3.9]},
             {"label": "jump", "score": 0.6, "segment": [5.0, 9.0]}],
}}


@pytest.fixture()
def files(tmp_path):
    gt, pred = tmp_path / "gt.json", tmp_path / "results.json"
    gt.write_text(json.dumps(GT))
    pred.write_text(json.dumps(RESULTS))
    return gt, pred


def _rows():
    gt = [(v, s, e, a["label"]) for v, d in GT["database"].items() if d["subset"] == "validation"
          for a in d["annotations"] for s, e in [a["segment"]]]
    pred = [(v, d["segment"][0], d["segment"][1], d["label"], d["score"]) for v, ds in RESULTS["results"].items()
            for d in ds]
    return gt, pred


@pytest.mark.parametrize("name, thresholds", [("anet", ANET_TIOU_THRESHOLDS), ("thumos", THUMOS_TIOU_THRESHOLDS)])
def test_eval_tal_prints_and_writes_the_exact_map_of_the_validation_subset(files, tmp_path, capsys, name, thresholds):
    gt, pred = files
    out = tmp_path / f"{name}.json"
    assert main(["eval-tal", "--ground-truth", str(gt), "--predictions", str(pred), "--thresholds", name,
                 "--output", str(out)]) == 0
    want = tal_map(*_rows(), thresholds)
    got = json.loads(out.read_text())
    assert got["mAP_per_tiou"] == pytest.approx(want["mAP_per_tiou"])
    assert got["average_mAP"] == pytest.approx(want["average_mAP"])
    assert 0 < got["average_mAP"] < 1 and got["num_videos"] == 2 and got["num_ground_truth"] == 3
    assert "swim" not in got["ap_per_class"]                       # the training video is not evaluated
    assert f"average mAP  {100 * want['average_mAP']:6.2f}" in capsys.readouterr().out


def test_eval_tal_takes_a_threshold_list_and_a_subset_in_any_case(files, tmp_path):
    gt, pred = files
    out = tmp_path / "m.json"
    assert main(["eval-tal", "--ground-truth", str(gt), "--predictions", str(pred), "--thresholds", "0.5,0.7",
                 "--subset", "Validation", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["average_mAP"] == pytest.approx(tal_map(*_rows(), (0.5, 0.7))["average_mAP"])


def test_eval_tal_says_what_is_wrong_with_a_bad_file_or_subset(files, tmp_path, capsys):
    gt, pred = files
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"results": {"vidA": [{"label": "jump", "segment": [1]}]}}))
    assert main(["eval-tal", "--ground-truth", str(gt), "--predictions", str(bad)]) == 2
    assert "expected" in capsys.readouterr().err
    assert main(["eval-tal", "--ground-truth", str(gt), "--predictions", str(pred), "--subset", "testing"]) == 2
    assert "no video in subset 'testing'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval-tal", "--ground-truth", str(gt), "--predictions", str(pred), "--thresholds", "1.5"])
