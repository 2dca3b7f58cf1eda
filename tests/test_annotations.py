"""Parsers of the real annotation formats: hand-written samples of each format, malformed lines, and the
SynthMotion round trip (generated annotations read back through the same readers)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from internvideo_core.data import annotations as A
from internvideo_core.data import ava_annotations as AVA
from internvideo_core.data import synthmotion as sm
from internvideo_core.data import video_qa_formats as Q
from internvideo_core.data import video_text_formats as F
from internvideo_core.paths import labels_path

TINY = dict(classification=(1, 1, 1), ssv2=(1, 1), vl=(8, 2, 4), captions_per_video=3, zero_shot_combos=2,
            tal=(2, 1), tal_frames=(48, 56), ava=(2, 1), ava_segments=3, openset_per_class=1)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def expect_error(match: str, line: int | str | None = None):
    """``pytest.raises(AnnotationError)`` that also checks the reported line."""
    class _Ctx:
        def __enter__(self):
            self.ctx = pytest.raises(A.AnnotationError, match=match)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            out = self.ctx.__exit__(*exc)
            if line is not None:
                assert self.info.value.line == line, str(self.info.value)
            return out
    return _Ctx()


# ---------------------------------------------------------------------------------- hand-written samples
def test_video_list(tmp_path: Path) -> None:
    p = write(tmp_path, "train.csv", "abseiling/-3B32lodo2M_000059_000069.mp4 0\n\n"
                                     "air drumming/has space.mp4 1\n/abs/x.mp4 2\n")
    recs = A.read_video_list(p, root="/data/k400")
    assert [r.label for r in recs] == [0, 1, 2]
    assert recs[0].path == "/data/k400/abseiling/-3B32lodo2M_000059_000069.mp4"
    assert recs[1].path == "/data/k400/air drumming/has space.mp4" and recs[2].path == "/abs/x.mp4"
    assert recs[0].video_id == "-3B32lodo2M_000059_000069"
    bad = write(tmp_path, "bad.csv", "a.mp4 0\nb.mp4\n")
    with expect_error("expected '<video path> <label index>'", line=2) as e:
        A.read_video_list(bad)
    assert str(bad) in str(e.value)
    with expect_error("label 'x' is not an integer", line=1):
        A.read_video_list(write(tmp_path, "bad2.csv", "a.mp4 x\n"))
    with expect_error("out of range", line=1):
        A.read_video_list(write(tmp_path, "b3", "a.mp4 5\n"), num_classes=2)
    with pytest.raises(FileNotFoundError, match="not found"):
        A.read_video_list(tmp_path / "missing.csv")


def test_rawframe_list(tmp_path: Path) -> None:
    p = write(tmp_path, "sthv2_train_list_rawframes.txt", "74225 62 140\n116154 51 127\n")
    recs = A.read_rawframe_list(p, root="rawframes")
    assert recs[0] == A.VideoRecord("rawframes/74225", 140, num_frames=62, video_id="74225")
    with expect_error("number of frames", line=2):
        A.read_rawframe_list(write(tmp_path, "bad.txt", "1 10 3\n2 ten 3\n"))
    with expect_error("expected", line=1):
        A.read_rawframe_list(write(tmp_path, "bad2.txt", "1 10\n"))


def test_kinetics_csv(tmp_path: Path) -> None:
    text = ("label,youtube_id,time_start,time_end,split\n"
            "abseiling,-3B32lodo2M,59,69,train\n"
            '"passing American football (in game)",--33Lscn6sk,4,14,train\n'
            "air drumming,0bQ3V9-kEuI,12,22,train\n")
    p = write(tmp_path, "kinetics_train.csv", text)
    recs = A.read_kinetics_csv(p, video_dir="/k400/train")
    # default classes: sorted names in the file
    assert [r.label for r in recs] == [0, 2, 1]
    assert recs[0].path == "/k400/train/-3B32lodo2M_000059_000069.mp4" and recs[0].start == 59.0
    classes = ["abseiling", "air drumming", "passing American football (in game)", "zumba"]
    recs = A.read_kinetics_csv(p, classes, "/k", template="{split}/{label_underscore}/{youtube_id}.mp4")
    assert recs[1].path == "/k/train/passing_American_football_(in_game)/--33Lscn6sk.mp4" and recs[1].label == 2
    test = write(tmp_path, "kinetics_test.csv", "youtube_id,time_start,time_end,split\nabc,1,11,test\n")
    assert A.read_kinetics_csv(test)[0].label == -1
    with expect_error("unknown class 'juggling'", line=4):
        A.read_kinetics_csv(write(tmp_path, "k2.csv", text.replace("air drumming", "juggling")), classes)
    with expect_error("time_start", line=2):
        A.read_kinetics_csv(write(tmp_path, "k3.csv", text.replace(",59,", ",x,")))
    with expect_error("columns", line=1):
        A.read_kinetics_csv(write(tmp_path, "k4.csv", "a,b,c\n1,2,3\n"))


def test_ssv2_json(tmp_path: Path) -> None:
    labels = write(tmp_path, "labels.json", json.dumps({"Approaching something with your camera": "0",
                                                        "Holding something next to something": "35"}))
    train = write(tmp_path, "train.json", json.dumps([
        {"id": "78687", "label": "holding potato next to vicks vaporub bottle",
         "template": "Holding [something] next to [something]", "placeholders": ["potato", "vicks vaporub bottle"]},
        {"id": "42326", "label": "approaching a cup with your camera",
         "template": "Approaching [something] with your camera", "placeholders": ["a cup"]}]))
    recs = A.read_ssv2_json(train, labels, "/ssv2/videos")
    assert [(r.video_id, r.label, r.path) for r in recs] == [("78687", 35, "/ssv2/videos/78687.webm"),
                                                             ("42326", 0, "/ssv2/videos/42326.webm")]
    assert A.read_ssv2_labels(labels)["Holding something next to something"] == 35
    test = write(tmp_path, "test.json", json.dumps([{"id": "1420"}]))
    assert A.read_ssv2_json(test, labels)[0].label == -1
    bad = write(tmp_path, "bad.json", json.dumps([{"id": "1", "template": "Juggling [something]"}]))
    with expect_error("not in the labels JSON", line="entry 0"):
        A.read_ssv2_json(bad, labels)
    with expect_error("invalid JSON", line=2):
        A.read_ssv2_json(write(tmp_path, "broken.json", '[\n{"id": 1,,}]'), labels)


def test_msrvtt_caption_formats(tmp_path: Path) -> None:
    data = {"info": {}, "videos": [
        {"category": 9, "url": "https://www.youtube.com/watch?v=9lZi22qLlEo", "video_id": "video0",
         "start time": 137.72, "end time": 149.44, "split": "train", "id": 0},
        {"category": 16, "url": "", "video_id": "video6513", "start time": 0, "end time": 10, "split": "validate",
         "id": 6513},
        {"category": 9, "url": "", "video_id": "video7010", "start time": 0, "end time": 10, "split": "test",
         "id": 7010}],
        "sentences": [{"caption": "a car is shown", "video_id": "video0", "sen_id": 0},
                      {"caption": "a man drives a vehicle", "video_id": "video0", "sen_id": 1},
                      {"caption": "people talk", "video_id": "video7010", "sen_id": 2}]}
    p = write(tmp_path, "videodatainfo.json", json.dumps(data))
    recs = A.read_msrvtt_json(p)
    assert [r.video_id for r in recs] == ["video0", "video6513", "video7010"]
    assert recs[0].captions == ("a car is shown", "a man drives a vehicle") and recs[1].captions == ()
    assert [r.video_id for r in A.read_msrvtt_json(p, "val")] == ["video6513"]
    assert [r.video_id for r in A.read_msrvtt_json(p, "test")] == ["video7010"]
    csv_p = write(tmp_path, "MSRVTT_JSFUSION_test.csv",
                  "key,vid_key,video_id,sentence\nret0,msr7020,video7020,a family is having coversation\n")
    assert F.read_msrvtt_1ka(csv_p) == [A.CaptionRecord("video7020", "test", ("a family is having coversation",))]
    with expect_error("missing 'videos'"):
        A.read_msrvtt_json(write(tmp_path, "x.json", "{}"))
    data["sentences"].append({"video_id": "video0"})
    with expect_error("caption", line="sentences[3]"):
        A.read_msrvtt_json(write(tmp_path, "y.json", json.dumps(data)))


def test_msrvtt_qa(tmp_path: Path) -> None:
    p = write(tmp_path, "test_qa.json", json.dumps([
        {"answer": "clothes", "id": 0, "question": "what is a boy combing his hair with?", "video_id": 7010},
        {"answer": "left", "id": 1, "question": "which way?", "video_id": "video3", "type": "direction"}]))
    recs = Q.read_msrvtt_qa_json(p)
    assert recs[0] == A.QARecord(0, "video7010", "what is a boy combing his hair with?", "clothes", "")
    assert recs[1].video_id == "video3" and recs[1].type == "direction"
    with expect_error("answer", line="entry 0"):
        Q.read_msrvtt_qa_json(write(tmp_path, "bad.json", json.dumps([{"video_id": 1, "question": "q"}])))


def test_activitynet_json(tmp_path: Path) -> None:
    from internvideo_core.eval.localization import tal_map

    db = {"version": "VERSION 1.3", "taxonomy": [], "database": {
        "--1DO2V4K74": {"annotations": [{"label": "Rock climbing", "segment": [28.1, 82.9]}], "duration": 211.53,
                        "resolution": "1920x1080", "subset": "training", "url": "https://www.youtube.com/watch?v=x"},
        "v_abc": {"annotations": [{"label": "Mowing the lawn", "segment": [9.9, 46.6]},
                                  {"label": "Rock climbing", "segment": [50, 60]}],
                  "duration_second": 82.73, "subset": "validation"},
        "tst": {"annotations": [], "duration": 10, "subset": "testing"}}}
    p = write(tmp_path, "activity_net.v1-3.min.json", json.dumps(db))
    val = A.read_activitynet_json(p, "validation")
    assert val == [A.TemporalRecord("v_abc", "validation", 82.73, ((9.9, 46.6, "Mowing the lawn"),
                                                                   (50.0, 60.0, "Rock climbing")))]
    assert len(A.read_activitynet_json(p)) == 3
    rows = A.activitynet_rows(val)
    assert rows[0] == ("v_abc", 9.9, 46.6, "Mowing the lawn")
    perfect = tal_map(rows, [(*r, 1.0) for r in rows])
    assert perfect["average_mAP"] == pytest.approx(1.0)
    db["database"]["v_abc"]["annotations"][0]["segment"] = [46.6, 9.9]
    with expect_error("start <= end", line="database['v_abc'].annotations[0]"):
        A.read_activitynet_json(write(tmp_path, "bad.json", json.dumps(db)))
    with expect_error("no 'database'"):
        A.read_activitynet_json(write(tmp_path, "bad2.json", "[]"))


def test_ava_formats(tmp_path: Path) -> None:
    from internvideo_core.eval.detection import ava_frame_map

    gt = write(tmp_path, "ava_val_v2.2.csv", "-5KQ66BBWC4,0902,0.077,0.151,0.283,0.811,80,1\n"
                                             "-5KQ66BBWC4,0902,0.077,0.151,0.283,0.811,12,1\n"
                                             "-5KQ66BBWC4,0903,0.332,0.194,0.481,0.891,17,0\n")
    rows = AVA.read_ava_csv(gt)
    assert rows[0] == AVA.AVARow("-5KQ66BBWC4", 902, 0.077, 0.151, 0.283, 0.811, 80, 1)
    excluded = AVA.read_ava_excluded(write(tmp_path, "excl.csv", "-5KQ66BBWC4,0903\n"))
    assert excluded == {("-5KQ66BBWC4", 903)}
    dets = [AVA.AVADetection(*r[:7], 0.9) for r in rows]
    res = ava_frame_map(rows, dets, excluded=excluded)
    assert res["mAP"] == pytest.approx(1.0) and set(res["per_class"]) >= {12, 80}
    det_file = write(tmp_path, "det.csv", "-5KQ66BBWC4,0902,0.077,0.151,0.283,0.811,80,0.73\n")
    assert AVA.read_ava_csv(det_file, detections=True)[0].score == pytest.approx(0.73)
    with expect_error("x1 <= x2", line=1):
        AVA.read_ava_csv(write(tmp_path, "b.csv", "v,0902,0.5,0.1,0.2,0.8,80,1\n"))
    with expect_error("columns", line=2):
        AVA.read_ava_csv(write(tmp_path, "c.csv", "v,0902,0.1,0.1,0.2,0.8,80,1\nv,0902,0.1\n"))
    pbtxt = write(tmp_path, "ava_action_list_v2.2.pbtxt",
                  'item {\n  name: "bend/bow (at the waist)"\n  id: 1\n  label_type: PERSON_MOVEMENT\n}\n'
                  'item {\n  name: "crouch/kneel"\n  id: 3\n  label_type: PERSON_MOVEMENT\n}\n')
    assert AVA.read_ava_label_map(pbtxt) == {1: "bend/bow (at the waist)", 3: "crouch/kneel"}
    shipped = AVA.read_ava_label_map(labels_path("ava"))
    assert len(shipped) == 60 and shipped[1] == "bend/bow (at the waist)" and 80 in shipped
    with expect_error("'<id>: <name>'", line=2):
        AVA.read_ava_label_map(write(tmp_path, "l.txt", "1: walk\nrun\n"))


def test_class_names(tmp_path: Path) -> None:
    assert A.read_class_names(write(tmp_path, "c.txt", "a\n\nb c\n")) == ["a", "b c"]


# ----------------------------------------------------------------------------------- SynthMotion round trip
@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("synth_ann")
    return root, sm.generate_synthmotion(root, TINY, seed=5, parts=["classification", "ssv2", "qa", "tal", "ava"])


def test_roundtrip_kinetics_and_ssv2(synth: tuple[Path, dict]) -> None:
    root, m = synth
    classes = A.read_class_names(root / "classes.txt")
    assert tuple(classes) == sm.KNOWN_MOTIONS
    for split in ("train", "val", "test"):
        listed = A.read_video_list(root / f"kinetics/{split}.csv", root, num_classes=len(classes))
        official = A.read_kinetics_csv(root / f"kinetics/kinetics_{split}.csv", classes, root,
                                       template=m["files"]["classification"]["video_template"])
        assert [(r.path, r.label) for r in listed] == [(r.path, r.label) for r in official]
        assert len(listed) == 12 and all(Path(r.path).is_file() for r in listed)
    labels = A.read_ssv2_labels(root / "ssv2/something-something-v2-labels.json")
    assert len(labels) == len(sm.DIRECTION_MOTIONS)
    for split, name in (("train", "train"), ("val", "validation")):
        js = A.read_ssv2_json(root / f"ssv2/something-something-v2-{name}.json", labels, root / "ssv2/videos", ".mp4")
        lst = A.read_video_list(root / f"ssv2/{split}.csv", root)
        assert [(r.path, r.label) for r in js] == [(r.path, r.label) for r in lst]
        assert sorted(r.label for r in js) == list(range(10))


def test_roundtrip_captions_qa(synth: tuple[Path, dict]) -> None:
    root, _ = synth
    recs = A.read_msrvtt_json(root / "msrvtt/videodatainfo.json")
    sizes = [len(A.read_msrvtt_json(root / "msrvtt/videodatainfo.json", s)) for s in ("train", "val", "test")]
    assert sizes == [8, 2, 4]
    assert all(len(r.captions) == 3 for r in recs)
    assert all((root / f"msrvtt/videos/{r.video_id}.mp4").is_file() for r in recs)
    jsf = F.read_msrvtt_1ka(root / "msrvtt/msrvtt_jsfusion_test.csv")
    test = {r.video_id: r.captions for r in A.read_msrvtt_json(root / "msrvtt/videodatainfo.json", "test")}
    assert [r.video_id for r in jsf] == list(test) and all(r.captions[0] in test[r.video_id] for r in jsf)
    answers = json.loads((root / "msrvtt/qa/answers.json").read_text())
    ids = {r.video_id for r in recs}
    for split in ("train", "val", "test"):
        qa = Q.read_msrvtt_qa_json(root / f"msrvtt/qa/{split}_qa.json")
        assert qa and all(q.video_id in ids and q.answer in answers for q in qa)
        assert {q.type for q in qa} >= {"what", "colour", "shape", "count"}


def test_roundtrip_activitynet_and_ava(synth: tuple[Path, dict]) -> None:
    root, m = synth
    classes = A.read_class_names(root / "activitynet/classes.txt")
    train = A.read_activitynet_json(root / "activitynet/activity_net.v1-3.min.json", "training")
    val = A.read_activitynet_json(root / "activitynet/activity_net.v1-3.min.json", "validation")
    assert len(train) == 2 and len(val) == 1
    for r in train + val:
        assert (root / f"activitynet/videos/v_{r.video_id}.mp4").is_file()
        assert all(lab in classes and 0 <= s < e <= r.duration for s, e, lab in r.segments)
    assert A.activitynet_rows(train)
    label_map = AVA.read_ava_label_map(root / "ava/ava_action_list_v2.2.pbtxt")
    assert label_map == AVA.read_ava_label_map(root / "ava/ava_actions.txt")
    assert list(label_map.values()) == list(sm.AVA_CLASSES)
    for split in ("train", "val"):
        rows = AVA.read_ava_csv(root / f"ava/ava_{split}_v2.2.csv")
        excluded = AVA.read_ava_excluded(root / f"ava/ava_{split}_excluded_timestamps_v2.2.csv")
        assert rows and excluded
        assert all(r.action_id in label_map and (r.video_id, r.timestamp) not in excluded for r in rows)
        assert {r.timestamp for r in rows} == {1, 3, 5} and {t for _, t in excluded} == {2, 4}
        assert all((root / f"ava/videos/{r.video_id}.mp4").is_file() for r in rows)
    # every annotated object has exactly one translation action per keyframe
    rows = AVA.read_ava_csv(root / "ava/ava_train_v2.2.csv")
    per_box: dict[tuple, list[int]] = {}
    for r in rows:
        per_box.setdefault((r.video_id, r.timestamp, r.person_id), []).append(r.action_id)
    assert all(sum(a <= 5 for a in acts) == 1 for acts in per_box.values())


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.tuples(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1,
                                       max_size=20).filter(lambda s: s.strip() == s and not s.startswith("#")
                                                           and not re.search(r"\s[+-]?[0-9]+$", s)),
                               st.integers(0, 400)), min_size=1, max_size=8))
def test_video_list_round_trip(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, int]]) -> None:
    """Any path that does not end in a separate number (those are refused: see test_annotation_real_samples)."""
    path = tmp_path_factory.mktemp("lists") / "list.csv"
    path.write_text("".join(f"{p} {lab}\n" for p, lab in rows), encoding="utf-8")
    assert [(r.path, r.label) for r in A.read_video_list(path)] == rows
