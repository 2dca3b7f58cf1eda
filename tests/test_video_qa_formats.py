"""Readers of the open-ended video QA formats (MSRVTT-QA, MSVD-QA, TGIF-QA FrameQA) on tiny files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from internvideo_core.data.annotations import AnnotationError, QARecord
from internvideo_core.data import video_qa_formats as Q


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_msrvtt_qa_json_list(tmp_path):
    data = [{"answer": "dog", "category_id": 3, "id": 10, "question": "what is running?", "video_id": 7010},
            {"answer": "man", "id": 11, "question": "who sings?", "video_id": "video7011"}]
    recs = Q.read_msrvtt_qa_json(_write(tmp_path / "test_qa.json", json.dumps(data)))
    assert recs == [QARecord(10, "video7010", "what is running?", "dog", ""),
                    QARecord(11, "video7011", "who sings?", "man", "")]
    bad = _write(tmp_path / "val_qa.json", json.dumps([data[0], {"id": 1, "question": "q?", "video_id": 3}]))
    with pytest.raises(AnnotationError, match=r"val_qa\.json:entry 1: .*\"answer\""):
        Q.read_msrvtt_qa_json(bad)
    nojson = _write(tmp_path / "train_qa.json", '[{"question": "q"')
    with pytest.raises(AnnotationError, match="invalid JSON"):
        Q.read_msrvtt_qa_json(nojson)


def test_videoqa_json_lines_with_video_file_names(tmp_path):
    lines = [json.dumps({"video": "video7010.mp4", "question": "what is it?", "answer": "cat", "type": "what"}),
             "",
             json.dumps({"video": "clips/video7012.mp4", "question": "who?", "answer": "man"})]
    recs = Q.read_videoqa_json(_write(tmp_path / "msrvtt_qa_test.jsonl", "\n".join(lines) + "\n"))
    assert recs == [QARecord(0, "video7010", "what is it?", "cat", "what"), QARecord(1, "video7012", "who?", "man", "")]
    bad = _write(tmp_path / "b.jsonl", lines[0] + "\n{not json}\n")
    with pytest.raises(AnnotationError, match=r"b\.jsonl:2: invalid JSON line"):
        Q.read_videoqa_json(bad)


def test_msvd_qa_with_youtube_mapping(tmp_path):
    mapping = _write(tmp_path / "youtube_mapping.txt", "-4wsuPCjDBc_5_15 vid1\n-7KMZQEsJW4_205_208 vid2\n\n")
    assert Q.read_youtube_mapping(mapping) == {"vid1": "-4wsuPCjDBc_5_15", "vid2": "-7KMZQEsJW4_205_208"}
    data = [{"answer": "cat", "id": 0, "question": "what is played?", "video_id": 2},
            {"answer": "man", "id": 1, "question": "who runs?", "video_id": 1}]
    qa = _write(tmp_path / "test_qa.json", json.dumps(data))
    assert [r.video_id for r in Q.read_msvd_qa(qa)] == ["vid2", "vid1"]
    assert [r.video_id for r in Q.read_msvd_qa(qa, mapping)] == ["-7KMZQEsJW4_205_208", "-4wsuPCjDBc_5_15"]
    unknown = _write(tmp_path / "val_qa.json", json.dumps([dict(data[0], video_id=9)]))
    with pytest.raises(AnnotationError, match="'vid9' is not in the video-name mapping"):
        Q.read_msvd_qa(unknown, mapping)
    bad_map = _write(tmp_path / "m.txt", "-4wsuPCjDBc_5_15 vid1\nonly_one_field\n")
    with pytest.raises(AnnotationError, match=r"m\.txt:2: found 'only_one_field'"):
        Q.read_youtube_mapping(bad_map)


def test_tgif_frameqa_released_and_other_column_order(tmp_path):
    released = ("gif_name\tquestion\tanswer\ttype\tvid_id\tkey\tdescription\n"
                "tumblr_a\twhat is being placed ?\tcookie\t0\tFRAMEQA1159\t27138\ta cookie is placed .\n"
                "tumblr_b\thow many people are sitting ?\ttwo\t1\tFRAMEQA26835\t61016\ttwo people sit .\n"
                "tumblr_c\twhat is the color of the shirt ?\tblack\t2\tFRAMEQA4460\t87751\ta black shirt .\n"
                "tumblr_d\twhere is the guy ?\tmachine\t3\tFRAMEQA9405\t2853\tin a machine .\n")
    recs = Q.read_tgif_frameqa(_write(tmp_path / "Test_frameqa_question.csv", released))
    assert [r.type for r in recs] == ["object", "number", "color", "location"]
    assert recs[1] == QARecord(1, "tumblr_b", "how many people are sitting ?", "two", "number")
    other = ("gif_name\tquestion\tanswer\tvid_id\tkey\ttype\n"
             "tumblr_e\twhat is it ?\tdog\tFRAMEQA1\t5\t0\n")
    assert Q.read_tgif_frameqa(_write(tmp_path / "o.csv", other)) == [QARecord(0, "tumblr_e", "what is it ?", "dog", "object")]
    bad_type = released.replace("\tmachine\t3\t", "\tmachine\t7\t")
    with pytest.raises(AnnotationError, match=r"Train_frameqa_question\.csv:5: type '7'"):
        Q.read_tgif_frameqa(_write(tmp_path / "Train_frameqa_question.csv", bad_type))
    short = released + "tumblr_f\tonly a question\n"
    with pytest.raises(AnnotationError, match=r"s\.csv:6: 2 tab-separated fields"):
        Q.read_tgif_frameqa(_write(tmp_path / "s.csv", short))
    no_header = _write(tmp_path / "h.csv", "tumblr_a\tq ?\ta\t0\n")
    with pytest.raises(AnnotationError, match=r"h\.csv:1: header"):
        Q.read_tgif_frameqa(no_header)
