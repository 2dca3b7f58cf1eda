"""``internvideo eval-nlq`` / ``eval-mq`` on small hand-written official files."""
from __future__ import annotations

import json

import pytest

from internvideo_core.cli import main


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return str(path)


def _nlq_files(tmp_path, challenge="ego4d_nlq_challenge"):
    gt = {"videos": [{"video_uid": "v", "split": "val", "clips": [{"clip_uid": "c", "annotations": [
        {"annotation_uid": "a", "language_queries": [{"clip_start_sec": 0.0, "clip_end_sec": 10.0, "query": "q?"},
                                                    {"clip_start_sec": 20.0, "clip_end_sec": 30.0, "query": "r?"}]}]}]}]}
    sub = {"version": "1.0", "challenge": challenge, "results": [
        {"clip_uid": "c", "annotation_uid": "a", "query_idx": 0, "predicted_times": [[0.0, 3.0], [0.0, 10.0]]},
        {"clip_uid": "c", "annotation_uid": "a", "query_idx": 1, "predicted_times": [[20.0, 30.0]]}]}
    return _write(tmp_path / "nlq_val.json", gt), _write(tmp_path / "sub.json", sub)


def test_eval_nlq_prints_the_table_and_writes_fractions(tmp_path, capsys):
    gt, sub = _nlq_files(tmp_path)
    out = tmp_path / "m.json"
    assert main(["eval-nlq", "--ground-truth", gt, "--predictions", sub, "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Evaluated: 2 / 2 instances" in text and "R@1,IoU=0.3" in text and "50.00" in text
    m = json.loads(out.read_text())
    assert m["R@1,IoU=0.3"] == pytest.approx(0.5) and m["R@5,IoU=0.3"] == pytest.approx(1.0)  # 0.3 is not > 0.3
    assert m["mIoU"] == pytest.approx(0.65)


def test_eval_nlq_refuses_another_challenge_like_the_official_script(tmp_path, capsys):
    gt, sub = _nlq_files(tmp_path, challenge="ego4d_vq2d_challenge")
    assert main(["eval-nlq", "--ground-truth", gt, "--predictions", sub]) == 2
    assert "ego4d_nlq_challenge" in capsys.readouterr().err
    assert main(["eval-nlq", "--ground-truth", gt, "--predictions", sub, "--no-header-check"]) == 0


def test_eval_mq_reads_moments_json_and_a_challenge_submission(tmp_path, capsys):
    gt = {"videos": [{"video_uid": "v", "split": "val", "clips": [{"clip_uid": "c", "annotations": [
        {"annotator_uid": "x", "labels": [{"label": "cut", "start_time": 0.0, "end_time": 10.0, "primary": True}]}]}]}]}
    seg = [{"label": "cut", "segment": [0.0, 10.0], "score": 0.9}]
    sub = {"version": "1.0", "challenge": "ego4d_moment_queries", "detect_results": {"c": seg},
           "retrieve_results": {"c": seg}}
    out = tmp_path / "m.json"
    assert main(["eval-mq", "--ground-truth", _write(tmp_path / "moments_val.json", gt),
                 "--predictions", _write(tmp_path / "sub.json", sub), "--output", str(out)]) == 0
    assert "average mAP: 100.00" in capsys.readouterr().out
    m = json.loads(out.read_text())
    assert m["mAP_per_tiou"] == [1.0] * 5 and m["recall"] == [[1.0] * 5] * 3
    assert main(["eval-mq", "--ground-truth", str(tmp_path / "moments_val.json"), "--predictions",
                 _write(tmp_path / "bad.json", {"version": "1.0"})]) == 2


@pytest.mark.parametrize("command", ["eval-nlq", "eval-mq"])
def test_a_missing_or_broken_file_is_one_line_naming_it(command, tmp_path, capsys):
    missing = tmp_path / "nope.json"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main([command, "--ground-truth", str(missing), "--predictions", str(broken)]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main([command, "--ground-truth", str(broken), "--predictions", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "broken.json" in err and "invalid JSON" in err and "Traceback" not in err
