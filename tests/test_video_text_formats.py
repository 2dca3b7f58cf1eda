"""Readers of the video-text retrieval formats (MSR-VTT, MSVD, LSMDC, DiDeMo, ActivityNet, VATEX) on tiny files."""
from __future__ import annotations

import json
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from internvideo_core.data.annotations import AnnotationError, CaptionRecord
from internvideo_core.data import video_text_formats as F
from internvideo_core.eval.retrieval import retrieval_metrics


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


MSRVTT_DATA = {
    "videos": [
        {"video_id": "video0", "split": "train", "url": "u0"},
        {"video_id": "video7010", "split": "validate", "url": "u1"},
        {"video_id": "video9000", "split": "test", "url": "u2"},
        {"video_id": "video9001", "split": "test", "url": "u3"},
    ],
    "sentences": [
        {"video_id": "video9001", "caption": "b one", "sen_id": 0},
        {"video_id": "video0", "caption": "zero one", "sen_id": 1},
        {"video_id": "video9000", "caption": "a one", "sen_id": 2},
        {"video_id": "video7010", "caption": "val one", "sen_id": 3},
        {"video_id": "video9001", "caption": "b two", "sen_id": 4},
        {"video_id": "video0", "caption": "zero two", "sen_id": 5},
        {"video_id": "video9001", "caption": "b three", "sen_id": 6},
    ],
}


# ------------------------------------------------------------------------------------------------ MSR-VTT
def test_msrvtt_1ka_reader_feeds_retrieval_metrics_one_to_one(tmp_path):
    csv_path = _write(tmp_path / "MSRVTT_JSFUSION_test.csv",
                      "key,vid_key,video_id,sentence\n"
                      "ret0,msr7579,video7579,a girl wearing red top is putting a sweater on a dog\n"
                      'ret1,msr7725,video7725,"a man, on a stage, sings"\n'
                      "ret2,msr9258,video9258,a cartoon shows a tree\n")
    recs = F.read_msrvtt_1ka(csv_path)
    assert [r.video_id for r in recs] == ["video7579", "video7725", "video9258"]
    assert recs[1].captions == ("a man, on a stage, sings",) and recs[0].split == "test"
    index = F.retrieval_index(recs)
    assert index.text_to_video is None and index.video_ids == ["video7579", "video7725", "video9258"]
    assert index.texts[2] == "a cartoon shows a tree"
    sim = np.eye(len(index.texts))
    out = retrieval_metrics(sim, text_to_video=index.text_to_video)
    assert out["t2v"]["R1"] == 100.0 and out["v2t"]["R1"] == 100.0 and out["t2v"]["MdR"] == 1.0
    # a matrix that prefers the next video retrieves nothing at rank 1
    shifted = retrieval_metrics(np.roll(sim, 1, axis=1), text_to_video=index.text_to_video)
    assert shifted["t2v"]["R1"] == 0.0


def test_msrvtt_full_test_multi_caption_mapping_feeds_retrieval_metrics(tmp_path):
    data = _write(tmp_path / "MSRVTT_data.json", json.dumps(MSRVTT_DATA))
    recs = F.read_msrvtt_full(data, "test")
    assert [(r.video_id, r.captions[0]) for r in recs] == [
        ("video9000", "a one"), ("video9001", "b one"), ("video9001", "b two"), ("video9001", "b three")]
    index = F.retrieval_index(recs)
    assert index.video_ids == ["video9000", "video9001"] and index.text_to_video == [0, 1, 1, 1]
    t2v = np.asarray(index.text_to_video)
    sim = (t2v[:, None] == np.arange(2)[None, :]).astype(float)  # text t matches exactly its own video
    out = retrieval_metrics(sim, text_to_video=index.text_to_video)
    assert out["t2v"]["R1"] == 100.0 and out["v2t"]["R1"] == 100.0
    wrong = retrieval_metrics(1.0 - sim, text_to_video=index.text_to_video)
    assert wrong["t2v"]["R1"] == 0.0 and wrong["v2t"]["R1"] == 0.0
    with pytest.raises(ValueError, match="text_to_video"):
        retrieval_metrics(sim)  # 4 texts x 2 videos needs the mapping
    assert [r.video_id for r in F.read_msrvtt_full(data, "val")] == ["video7010"]


def test_msrvtt_train_split_expands_sentences_in_json_order(tmp_path):
    data = _write(tmp_path / "MSRVTT_data.json", json.dumps(MSRVTT_DATA))
    train = _write(tmp_path / "MSRVTT_train.7k.csv", "video_id\nvideo0\nvideo7010\n")
    recs = F.read_msrvtt_train(train, data)
    assert [(r.video_id, r.captions) for r in recs] == [
        ("video0", ("zero one",)), ("video7010", ("val one",)), ("video0", ("zero two",))]
    grouped = F.group_by_video(recs)
    assert grouped == [CaptionRecord("video0", "train", ("zero one", "zero two")),
                       CaptionRecord("video7010", "train", ("val one",))]
    bad = _write(tmp_path / "MSRVTT_train.9k.csv", "video_id\nvideo0\nvideo123\n")
    with pytest.raises(AnnotationError, match="video123"):
        F.read_msrvtt_train(bad, data)


def test_msrvtt_malformed(tmp_path):
    no_header = _write(tmp_path / "a.csv", "ret0,msr1,video1,a sentence\n")
    with pytest.raises(AnnotationError, match=r"a\.csv:1: header"):
        F.read_msrvtt_1ka(no_header)
    short = _write(tmp_path / "b.csv", "key,vid_key,video_id,sentence\nret0,msr1,video1,ok\nret1,msr2,video2\n")
    with pytest.raises(AnnotationError, match=r"b\.csv:3: 3 columns") as err:
        F.read_msrvtt_1ka(short)
    assert err.value.line == 3 and "4 columns" in err.value.expected
    data = dict(MSRVTT_DATA, sentences=[{"video_id": "video0"}])
    path = _write(tmp_path / "d.json", json.dumps(data))
    with pytest.raises(AnnotationError, match=r"sentences\[0\]"):
        F.read_msrvtt_full(path)
    nosplit = _write(tmp_path / "e.json", json.dumps({"videos": [{"video_id": "video0"}], "sentences": []}))
    with pytest.raises(AnnotationError, match="split"):
        F.read_msrvtt_full(nosplit)


# --------------------------------------------------------------------------------------------------- MSVD
_CALLS: list = []


def _record_call(x):  # a pickle must never be able to call this
    _CALLS.append(x)
    return x


class _Evil:
    def __reduce__(self):
        return (_record_call, ("pwned",))


def test_msvd_reader_and_multi_caption_index(tmp_path):
    caps = {"vidA_1_5": [["a", "man", "sings"], ["someone", "sings"]], "vidB_0_3": [["a", "cat"]],
            "vidC_2_9": [["unused"]]}
    pkl = tmp_path / "raw-captions.pkl"
    pkl.write_bytes(pickle.dumps(caps))
    test_list = _write(tmp_path / "test_list.txt", "vidB_0_3\nvidA_1_5\n\n")
    recs = F.read_msvd(pkl, test_list)
    assert [(r.video_id, r.captions[0], r.split) for r in recs] == [
        ("vidB_0_3", "a cat", "test"), ("vidA_1_5", "a man sings", "test"), ("vidA_1_5", "someone sings", "test")]
    index = F.retrieval_index(recs)
    assert index.text_to_video == [0, 1, 1] and index.video_ids == ["vidB_0_3", "vidA_1_5"]
    # protocol-2 pickle of an OrderedDict (collections.OrderedDict is allowed) also loads
    pkl2 = tmp_path / "od.pkl"
    pkl2.write_bytes(pickle.dumps(OrderedDict(caps), protocol=2))
    assert F.read_raw_captions_pkl(pkl2)["vidA_1_5"] == ["a man sings", "someone sings"]


def test_msvd_malformed_and_unsafe_pickles(tmp_path):
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"vid1": [_Evil()]}))
    with pytest.raises(AnnotationError, match="not allowed"):
        F.read_raw_captions_pkl(evil)
    assert _CALLS == []  # nothing was executed
    wrong = tmp_path / "wrong.pkl"
    wrong.write_bytes(pickle.dumps({"vid1": ["ok", 3]}))
    with pytest.raises(AnnotationError, match=r"\['vid1'\]\[1\]"):
        F.read_raw_captions_pkl(wrong)
    good = tmp_path / "raw-captions.pkl"
    good.write_bytes(pickle.dumps({"vid1": [["a"]]}))
    missing = _write(tmp_path / "val_list.txt", "vid1\nvid2\n")
    with pytest.raises(AnnotationError, match="'vid2' has no captions"):
        F.read_msvd(good, missing)
    dup = _write(tmp_path / "train_list.txt", "vid1\nvid1\n")
    with pytest.raises(AnnotationError, match=r"train_list\.txt:2: video id 'vid1' repeats line 1"):
        F.read_id_list(dup)


# -------------------------------------------------------------------------------------------------- LSMDC
def test_lsmdc_reader(tmp_path):
    rows = ["1001_Movie_00.00.01.000-00.00.03.000\t00.00.01.000\t00.00.03.000\t00.00.00.900\t00.00.02.900\tSomeone runs.",
            "1001_Movie_00.00.01.000-00.00.03.000\t00.00.01.000\t00.00.03.000\t00.00.00.900\t00.00.02.900\tSomeone stops.",
            "1002_Other_00.01.00.000-00.01.04.000\t00.01.00.000\t00.01.04.000\t00.00.59.000\t00.01.03.000\tShe smiles."]
    path = _write(tmp_path / "LSMDC16_annos_training.csv", "\n".join(rows) + "\n")
    recs = F.read_lsmdc(path)
    assert [r.captions[0] for r in recs] == ["Someone runs.", "Someone stops.", "She smiles."]
    assert recs[0].video_id == "1001_Movie_00.00.01.000-00.00.03.000" and recs[0].split == "train"
    assert F.retrieval_index(recs).text_to_video == [0, 0, 1]
    test = _write(tmp_path / "LSMDC16_challenge_1000_publictect.csv", rows[0] + "\n" + rows[2] + "\n")
    recs = F.read_lsmdc(test)
    assert recs[0].split == "test" and F.retrieval_index(recs).text_to_video is None
    bad = _write(tmp_path / "LSMDC16_annos_val.csv", rows[0] + "\n" + "clip\t1\t2\t3\tno fifth time\n")
    with pytest.raises(AnnotationError, match=r"LSMDC16_annos_val\.csv:2: 5 tab-separated fields"):
        F.read_lsmdc(bad)


# ------------------------------------------------------------------------------------------------- DiDeMo
def test_didemo_paragraphs(tmp_path):
    data = [{"video": "v1.mov", "description": "a dog runs.", "times": [[0, 1], [0, 0]]},
            {"video": "v2.mp4", "description": "a car.", "times": [[2, 2]]},
            {"video": "v1.mov", "description": "it jumps.", "times": [[3, 4]]},
            {"video": "v3.avi", "description": "not listed.", "times": [[1, 1]]}]
    path = _write(tmp_path / "test_data.json", json.dumps(data))
    lst = _write(tmp_path / "test_list.txt", "v2.mp4\nv1.mov\n")
    recs = F.read_didemo(path, lst)
    assert recs == [CaptionRecord("v1.mov", "test", ("a dog runs. it jumps.",)),
                    CaptionRecord("v2.mp4", "test", ("a car.",))]
    assert F.retrieval_index(recs).text_to_video is None
    assert len(F.read_didemo(path)) == 3
    bad = _write(tmp_path / "train_data.json", json.dumps([data[0], {"video": "v9", "times": []}]))
    with pytest.raises(AnnotationError, match=r"train_data\.json:entry 1: .*\"description\""):
        F.read_didemo(bad)


# ------------------------------------------------------------------------------------------- ActivityNet
def test_activitynet_paragraphs(tmp_path):
    caps = {"v_aaa": {"duration": 10.0, "timestamps": [[0, 4], [4, 10]], "sentences": ["A man runs.", " He stops."]},
            "v_bbb": {"duration": 5, "timestamps": [[0, 5]], "sentences": ["A cat."]}}
    path = _write(tmp_path / "val_1.json", json.dumps(caps))
    ids = _write(tmp_path / "val_ids.json", json.dumps(["v_bbb", "v_zzz", "v_aaa", "v_bbb"]))
    recs = F.read_activitynet_paragraphs(path, ids)
    assert recs == [CaptionRecord("v_bbb", "val", ("A cat.",)), CaptionRecord("v_aaa", "val", ("A man runs.  He stops.",))]
    assert [r.video_id for r in F.read_activitynet_paragraphs(path)] == ["v_aaa", "v_bbb"]
    bad = _write(tmp_path / "train.json", json.dumps({"v_ccc": {"duration": 3, "sentences": "not a list"}}))
    with pytest.raises(AnnotationError, match=r"train\.json:\['v_ccc'\]"):
        F.read_activitynet_paragraphs(bad)
    neg = _write(tmp_path / "train2.json", json.dumps({"v_ccc": {"duration": -1, "sentences": ["x"]}}))
    with pytest.raises(AnnotationError, match="duration -1"):
        F.read_activitynet_paragraphs(neg)
    bad_ids = _write(tmp_path / "train_ids.json", json.dumps({"v_aaa": 1}))
    with pytest.raises(AnnotationError, match="list of video ids"):
        F.read_activitynet_paragraphs(path, bad_ids)


# -------------------------------------------------------------------------------------------------- VATEX
def test_vatex_reader(tmp_path):
    data = [{"videoID": "abc_000010_000020", "enCap": ["e1", "e2"], "chCap": ["c1", "c2"]},
            {"videoID": "def_000000_000010", "enCap": ["f1"], "chCap": ["g1"]}]
    path = _write(tmp_path / "vatex_validation_v1.0.json", json.dumps(data))
    lst = _write(tmp_path / "test_list.txt", "def_000000_000010\ngone_000000_000010\nabc_000010_000020\n")
    recs = F.read_vatex(path, lst)
    assert [(r.video_id, r.captions[0]) for r in recs] == [
        ("def_000000_000010", "f1"), ("abc_000010_000020", "e1"), ("abc_000010_000020", "e2")]
    assert recs[0].split == "val" and F.retrieval_index(recs).text_to_video == [0, 1, 1]
    assert [r.captions[0] for r in F.read_vatex(path, language="zh")] == ["c1", "c2", "g1"]
    bad = _write(tmp_path / "vatex_training_v1.0.json", json.dumps([{"videoID": "x", "chCap": ["c"]}]))
    with pytest.raises(AnnotationError, match=r"entry 0: .*\"enCap\""):
        F.read_vatex(bad)


# --------------------------------------------------------------------------------------- retrieval index
def test_retrieval_index_modes():
    one = [CaptionRecord("a", "test", ("x",)), CaptionRecord("b", "test", ("y",))]
    assert F.retrieval_index(one, multi_caption=True).text_to_video == [0, 1]
    multi = [CaptionRecord("a", "test", ("x", "x2")), CaptionRecord("b", "test", ("y",))]
    index = F.retrieval_index(multi)
    assert index.texts == ["x", "x2", "y"] and index.text_to_video == [0, 0, 1]
    with pytest.raises(ValueError, match="not 1:1"):
        F.retrieval_index(multi, multi_caption=False)
