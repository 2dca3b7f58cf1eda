"""Ego4D NLQ / MQ annotation files: the reader, the SynthMotion writer, the submission helpers."""
from __future__ import annotations

import json

import numpy as np
import pytest

from internvideo_core.data.ego4d_formats import (
    Ego4DFormatError, nlq_prediction, nlq_submission, mq_submission, read_moments, read_nlq,
)
from internvideo_core.data.synthmotion_ego4d import (
    EGO_MOTIONS, EgoSizes, ego4d_episodes, moments_json, nlq_json, render_episode, write_ego4d_synthmotion,
)
from internvideo_core.eval.grounding import mq_metrics, nlq_metrics

TINY = EgoSizes(train_videos=2, val_videos=2, num_frames=64, event_len=(12, 20), gap_len=(4, 10))


def _official_nlq() -> dict:
    """A hand-written file in the layout of the released nlq_val.json (fields abridged)."""
    return {"version": "v1", "date": "220216", "description": "NLQ val", "manifest": "s3://...",
            "videos": [{"video_uid": "vid-1", "split": "val", "clips": [{
                "clip_uid": "clip-1", "video_start_sec": 100.0, "video_end_sec": 580.0, "video_start_frame": 3000,
                "video_end_frame": 17400, "clip_start_sec": 0.0, "clip_end_sec": 480.0,
                "annotations": [{"annotation_uid": "ann-1", "language_queries": [
                    {"clip_start_sec": 10.5, "clip_end_sec": 14.0, "video_start_sec": 110.5, "video_end_sec": 114.0,
                     "template": "Objects: Where is object X?", "query": "Where is the knife?", "slot_x": "knife"},
                    {"clip_start_sec": 30.0, "clip_end_sec": 31.0, "template": "Objects: Where is object X?"},
                    {"clip_start_sec": 50.0, "clip_end_sec": 60.0, "query": "What did I pour?"}]}]}]}]}


def test_read_nlq_reads_the_official_layout_and_keeps_query_indices():
    rows = read_nlq(_official_nlq())
    assert [r.query_idx for r in rows] == [0, 2]          # the query without text is skipped, indices kept
    r = rows[0]
    assert (r.video_uid, r.clip_uid, r.annotation_uid, r.split) == ("vid-1", "clip-1", "ann-1", "val")
    assert (r.clip_start_sec, r.clip_end_sec, r.clip_duration) == (10.5, 14.0, 480.0)
    assert len(read_nlq(_official_nlq(), skip_empty=False)) == 3


def test_read_nlq_errors_name_the_file_and_entry(tmp_path):
    bad = _official_nlq()
    del bad["videos"][0]["clips"][0]["annotations"][0]["annotation_uid"]
    path = tmp_path / "nlq_val.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(Ego4DFormatError, match=r"nlq_val.json: videos\[0\].clips\[0\].annotations\[0\]: missing"):
        read_nlq(path)
    with pytest.raises(Ego4DFormatError, match="official layout"):
        read_nlq({"clips": []})
    with pytest.raises(FileNotFoundError, match="nlq_val.json"):
        read_nlq(tmp_path / "missing" / "nlq_val.json")


def test_read_moments_keeps_primary_labels():
    data = {"videos": [{"video_uid": "v", "split": "val", "clips": [{"clip_uid": "c", "video_start_sec": 0.0,
            "video_end_sec": 480.0, "annotations": [{"annotator_uid": "a", "labels": [
                {"label": "cut", "start_time": 1.0, "end_time": 2.0, "primary": True},
                {"label": "wash", "start_time": 3.0, "end_time": 4.0, "primary": False}]}]}]}]}
    assert [m.label for m in read_moments(data)] == ["cut"]
    assert [m.label for m in read_moments(data, primary_only=False)] == ["cut", "wash"]


def test_synth_episodes_are_deterministic_with_sequential_events_and_first_last_queries():
    a, b = render_episode(3, "train", 1, TINY), render_episode(3, "train", 1, TINY)
    np.testing.assert_array_equal(a.frames, b.frames)
    assert a.events == b.events and a.queries == b.queries
    assert a.frames.shape == (64, 48, 48, 3) and len({c for _, c in a.objects}) == len(a.objects)
    for e0, e1 in zip(a.events, a.events[1:]):
        assert e0.end <= e1.start and e0.motion in EGO_MOTIONS      # one event at a time
    eps = ego4d_episodes("train", TINY.__class__(**{**TINY.__dict__, "train_videos": 6, "num_frames": 320}))
    qs = [q for ep in eps for q in ep.queries]
    for ep in eps:
        for q in ep.queries:
            same = [e for e in ep.events if (e.obj, e.motion) == (q.obj, q.motion)]
            target = {"": same[0], "first": same[0], "last": same[-1]}[q.which]
            assert (q.start, q.end) == (target.start, target.end)
            assert (q.which == "") == (len(same) == 1)
    assert {"", "first", "last"} <= {q.which for q in qs}
    assert "when did the" in qs[0].text and qs[0].text.endswith("?")


def test_written_files_read_back_and_score_perfectly_with_the_truth(tmp_path):
    paths = write_ego4d_synthmotion(tmp_path, TINY, seed=1, videos=True)
    assert sorted(paths) == ["moments_train", "moments_val", "nlq_train", "nlq_val"]
    assert len(list((tmp_path / "v1" / "clips").glob("*.mp4"))) == 4
    gt = json.loads(paths["nlq_val"].read_text())
    rows = read_nlq(paths["nlq_val"])
    assert rows and all(r.split == "val" for r in rows)
    results = [nlq_prediction(r, [[r.clip_start_sec, r.clip_end_sec], [0.0, 1.0]]) for r in rows]
    sub = nlq_submission(results)
    assert sub["challenge"] == "ego4d_nlq_challenge" and sub["version"] == "1.0"
    m = nlq_metrics(gt, sub["results"])
    assert m["R@1,IoU=0.5"] == 1.0 and m["mIoU"] == pytest.approx(1.0)
    moments = read_moments(paths["moments_val"])
    det: dict = {}
    for mo in moments:
        det.setdefault(mo.clip_uid, []).append({"label": mo.label, "segment": [mo.start_time, mo.end_time],
                                                "score": 1.0})
    r = mq_metrics(json.loads(paths["moments_val"].read_text()), mq_submission(det), subset="validation")
    assert r["average_mAP"] == pytest.approx(1.0) and r["recall"][2][0] == pytest.approx(1.0)


def test_nlq_and_moments_json_carry_the_same_events():
    eps = ego4d_episodes("val", TINY, seed=2)
    nlq, mom = nlq_json(eps, "val"), moments_json(eps, "val")
    assert [v["video_uid"] for v in nlq["videos"]] == [v["video_uid"] for v in mom["videos"]]
    n_events = sum(len(ep.events) for ep in eps)
    assert len(read_moments(mom)) == n_events
    assert len(read_nlq(nlq)) == sum(len(ep.queries) for ep in eps)
