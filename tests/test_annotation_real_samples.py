"""Readers fed small samples written in other projects' real layouts (mmaction2 rawframe lists with offsets and
multi-label lists, AVA files with a byte-order mark and CRLF, THUMOS14-style subsets): each line is either read
as its format means it or refused with the file, the line and the accepted formats, never misread."""
from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from internvideo_core.data import annotations as A
from internvideo_core.data import ava_annotations as AVA
from internvideo_core.data import datasets as D
from internvideo_core.data import video_text_formats as F
from internvideo_core.eval import detection


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# --------------------------------------------------------------------------------- lists with more columns
def test_rawframe_list_with_offset_is_read_with_its_offset(tmp_path: Path) -> None:
    p = write(tmp_path, "rawframe_dataset_with_offset.txt", "imgs 2 5 127\nk400/jf7RDuUTrsQ 12 300 2\n")
    recs = A.read_rawframe_list(p, root="/data", with_offset=True)
    assert recs[0] == A.VideoRecord("/data/imgs", 127, num_frames=5, video_id="imgs", offset=2)
    assert (recs[1].path, recs[1].offset, recs[1].num_frames, recs[1].label) == ("/data/k400/jf7RDuUTrsQ", 12, 300, 2)
    with pytest.raises(A.AnnotationError, match="with_offset=True") as e:  # read as a plain rawframe list
        A.read_rawframe_list(p)
    assert (e.value.path, e.value.line) == (str(p), 1) and "found 3 integer columns after 'imgs'" in str(e.value)
    with pytest.raises(A.AnnotationError, match="offset 'x' is not an integer"):
        A.read_rawframe_list(write(tmp_path, "b.txt", "imgs x 5 1\n"), with_offset=True)


def test_multi_label_lists_give_label_lists(tmp_path: Path) -> None:
    videos = write(tmp_path, "video_list_multi_label.txt", "test.mp4 0 2\ntest.mp4 1\nmy clip 3.mp4 4 7 9\n")
    recs = A.read_video_list(videos, multi_label=True, num_classes=10)
    assert [(r.path, r.label, r.labels) for r in recs] == [
        ("test.mp4", -1, (0, 2)), ("test.mp4", -1, (1,)), ("my clip 3.mp4", -1, (4, 7, 9))]
    with pytest.raises(A.AnnotationError, match="multi_label=True") as e:
        A.read_video_list(videos)
    assert e.value.line == 1 and str(videos) in str(e.value)
    with pytest.raises(A.AnnotationError, match="out of range"):
        A.read_video_list(videos, multi_label=True, num_classes=8)
    frames = write(tmp_path, "rawframe_multi_label.txt", "imgs 5 1\nimgs 5 3 5 7\n")
    recs = A.read_rawframe_list(frames, multi_label=True)
    assert [(r.num_frames, r.labels) for r in recs] == [(5, (1,)), (5, (3, 5, 7))]
    with pytest.raises(A.AnnotationError, match="found 4 integer columns.*multi_label=True") as e:
        A.read_rawframe_list(frames)
    assert e.value.line == 2


def test_a_rawframe_list_handed_to_the_kinetics_dataset_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, "kinetics400_train_list_rawframes.txt", "jf7RDuUTrsQ 300 2\nJTlatknwOrY 301 5\n")
    with pytest.raises(A.AnnotationError) as e:
        D.kinetics_dataset(p, root=tmp_path)
    msg = str(e.value)
    assert e.value.line == 1 and str(p) in msg and "'<frame_dir> <total_frames> <label>'" in msg
    assert "jf7RDuUTrsQ 300" not in msg.split("found", 1)[0]  # the error is about the line, not a path
    # read the way it is meant (a frame template says the list is of frame folders), it is a rawframe list
    ds = D.kinetics_dataset(p, root=tmp_path, frame_template="img_{:05d}.jpg")
    assert [(r.path, r.num_frames, r.label) for r in ds.records] == [(str(tmp_path / "jf7RDuUTrsQ"), 300, 2),
                                                                     (str(tmp_path / "JTlatknwOrY"), 301, 5)]


def test_no_path_ever_ends_in_a_space_and_a_number(tmp_path: Path) -> None:
    lines = ["a 1 2", "dir 10 40 3", "x.mp4 1 2 3 4", "name 300 2 9"]
    for i, line in enumerate(lines):
        p = write(tmp_path, f"l{i}.txt", line + "\n")
        for reader in (A.read_video_list, A.read_rawframe_list):
            try:
                recs = reader(p)
            except A.AnnotationError:
                continue
            assert not any(re.search(r"\s[0-9]+$", r.path) for r in recs), (reader, line, recs)
    # a numeric folder name (SSv2 rawframes) is still a path
    assert A.read_rawframe_list(write(tmp_path, "s.txt", "74225 62 140\n"))[0].path == "74225"
    assert A.read_video_list(write(tmp_path, "v.txt", "74225 140\n"))[0].path == "74225"


def test_clip_dataset_reads_frames_from_the_offset(tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "clip"
    folder.mkdir()
    for k in range(1, 7):  # img_00001.png .. img_00006.png, grey level 10 * k
        Image.fromarray(np.full((4, 4, 3), 10 * k, np.uint8)).save(folder / f"img_{k:05d}.png")
    lst = write(tmp_path, "list.txt", "clip 2 3 0\n")
    ds = D.ClipDataset(A.read_rawframe_list(lst, tmp_path, with_offset=True), sampling="uniform", num_frames=3,
                       mode="val", frame_template="img_{:05d}.png", transform=lambda x, generator=None: x)
    x, label = ds[0]
    assert label == 0 and torch.allclose(x[0, :, 0, 0] * 255, torch.tensor([30.0, 40.0, 50.0]))


# ----------------------------------------------------------------------------------------------- AVA
GT = ("vid_a,0902,0.077,0.151,0.283,0.811,80,1\n"
      "vid_a,0902,0.332,0.194,0.481,0.891,12,0\n"
      "vid_b,0903,0.100,0.100,0.500,0.500,12,0\n")
DET = ("vid_a,0902,0.077,0.151,0.283,0.811,80,0.9\n"
       "vid_a,0902,0.332,0.194,0.481,0.891,12,0.8\n"
       "vid_b,0903,0.100,0.100,0.500,0.500,12,0.7\n")


def test_one_ava_reader_tolerates_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    gt = write(tmp_path, "ava_val_v2.2.csv", bom + GT.replace("\n", "\r\n").encode())
    det = write(tmp_path, "det.csv", DET)
    excl = write(tmp_path, "ava_val_excluded_timestamps_v2.2.csv", bom + b"vid_b,0903\r\n")
    rows = AVA.read_ava_csv(gt)
    assert rows[0].video_id == "vid_a" and rows[-1] == AVA.AVARow("vid_b", 903, 0.1, 0.1, 0.5, 0.5, 12, 0)
    assert AVA.read_ava_excluded(excl) == {("vid_b", 903)}
    # the metric helpers use the same reader: the first video id keeps no BOM, so mAP is exact
    gt_rows, det_rows = detection.read_ava_csv_rows(gt), detection.read_ava_csv_rows(det)
    assert gt_rows == AVA.read_ava_rows(gt) and gt_rows[0][0] == "vid_a" and len(det_rows[0]) == 8
    assert detection.ava_frame_map(gt_rows, det_rows)["mAP"] == pytest.approx(1.0)
    assert detection.read_ava_excluded(excl) == [("vid_b", 903)]
    assert detection.ava_frame_map(gt_rows, det_rows, excluded=detection.read_ava_excluded(excl))["mAP"] == 1.0
    lines = (bom.decode() + GT).splitlines(keepends=True)  # lines from an already opened file
    assert detection.read_ava_csv_rows(lines) == gt_rows
    assert "csv.reader" not in inspect.getsource(detection)  # no second parser in the metric module


def test_ava_label_map_with_byte_order_mark(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    pbtxt = write(tmp_path, "ava_action_list_v2.2.pbtxt",
                  bom + b'item {\r\n  name: "bend/bow (at the waist)"\r\n  id: 1\r\n}\r\n')
    assert AVA.read_ava_label_map(pbtxt) == {1: "bend/bow (at the waist)"}
    plain = write(tmp_path, "ava_actions.txt", bom + b"1: bend/bow (at the waist)\r\n3: crouch/kneel\r\n")
    assert AVA.read_ava_label_map(plain) == {1: "bend/bow (at the waist)", 3: "crouch/kneel"}


# -------------------------------------------------------------------------------------- subset filters
def test_subset_filters_match_case_insensitively_and_refuse_no_match(tmp_path: Path) -> None:
    thumos = {"database": {  # THUMOS14 converted to the ActivityNet layout (ActionFormer's thumos14.json)
        "video_validation_0000051": {"subset": "Validation", "duration": 169.79, "fps": 30.0,
                                     "annotations": [{"label": "Billiards", "segment": [2.2, 4.4], "label_id": 2}]},
        "video_test_0000004": {"subset": "Test", "duration": 33.4, "fps": 30.0,
                               "annotations": [{"label": "CricketBowling", "segment": [0.2, 1.1], "label_id": 5}]}}}
    p = write(tmp_path, "thumos14.json", json.dumps(thumos))
    for name in ("validation", "Validation", "VALIDATION", "val"):
        assert [r.video_id for r in A.read_activitynet_json(p, name)] == ["video_validation_0000051"]
    assert [r.subset for r in A.read_activitynet_json(p, "test")] == ["Test"]
    with pytest.raises(A.AnnotationError, match="training") as e:
        A.read_activitynet_json(p, "training")
    assert "'Test', 'Validation'" in str(e.value) and str(p) in str(e.value)

    data = {"videos": [{"video_id": "video0", "split": "train"}, {"video_id": "video7010", "split": "test"}],
            "sentences": [{"video_id": "video0", "caption": "a"}, {"video_id": "video7010", "caption": "b"}]}
    m = write(tmp_path, "videodatainfo.json", json.dumps(data))
    assert [r.video_id for r in A.read_msrvtt_json(m, "Test")] == ["video7010"]
    assert [r.video_id for r in F.read_msrvtt_full(m, "TEST")] == ["video7010"]
    with pytest.raises(A.AnnotationError, match="'test', 'train'"):
        A.read_msrvtt_json(m, "val")  # no validate videos in this file: say so
    with pytest.raises(A.AnnotationError, match="'test', 'train'"):
        F.read_msrvtt_full(m, "validate")
