"""SynthMotion written by `internvideo synth` in the layouts the official tools read, read back with the kit's
readers: unique Kinetics ids across splits, the four SSv2 files, the MSR-VTT training CSV, the multiple-choice
JSON lines, and AVA dense proposals as a pickle of float32 arrays."""
from __future__ import annotations

import csv
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from internvideo_core.data import annotations as A
from internvideo_core.data import ava_annotations as AVA
from internvideo_core.data import synthmotion as sm
from internvideo_core.data import video_text_formats as F
from internvideo_core.data.safe_pickle import dump_numpy_pickle, restricted_load


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The smallest dataset the command makes: smoke profile, 32 px, 8 frames (about 2 s)."""
    from internvideo_core.cli import main

    root = tmp_path_factory.mktemp("synth_real")
    assert main(["synth", "--out", str(root), "--profile", "smoke", "--size", "32", "--num-frames", "8",
                 "--seed", "1", "--quiet"]) == 0
    return root, sm.load_manifest(root)


def test_kinetics_youtube_ids_are_unique_across_splits_and_name_distinct_files(synth):
    root, m = synth
    files = m["files"]["classification"]
    classes = A.read_class_names(root / "classes.txt")
    ids, paths = [], []
    for split in ("train", "val", "test"):
        recs = A.read_kinetics_csv(root / files[f"official_{split}"], classes, root, template=files["video_template"])
        listed = A.read_video_list(root / files[split], root, num_classes=len(classes))
        assert [(r.path, r.label) for r in recs] == [(r.path, r.label) for r in listed]
        assert all(len(r.video_id) == 11 for r in recs)  # YouTube ids have 11 characters
        ids += [r.video_id for r in recs]
        paths += [r.path for r in recs]
        rows = list(csv.DictReader(io.StringIO((root / files[f"official_{split}"]).read_text())))
        assert {r["split"] for r in rows} == {split}
    assert len(ids) == len(set(ids)) == sum(m["sizes"]["classification"]) * len(classes)
    # a tool naming files "<youtube_id>_<start>_<end>.mp4" in one folder writes every video to its own path
    flat = {f"{r}_{0:06d}_{1:06d}.mp4" for r in ids}
    assert len(flat) == len(ids) and len(set(paths)) == len(paths) and all(Path(p).is_file() for p in paths)


def test_class_ids_follow_classes_txt_not_the_alphabet(synth):
    """The kit's lists number classes in classes.txt order; an alphabetical numbering (mmaction2's Kinetics
    converter, read_kinetics_csv without classes) gives other ids for the same videos."""
    root, m = synth
    files = m["files"]["classification"]
    classes = A.read_class_names(root / "classes.txt")
    assert classes != sorted(classes)
    listed = A.read_video_list(root / files["train"], root)
    alphabetical = A.read_kinetics_csv(root / files["official_train"], video_dir=root, template=files["video_template"])
    assert [classes[r.label] for r in listed] == [sorted(classes)[r.label] for r in alphabetical]
    assert [r.label for r in listed] != [r.label for r in alphabetical]
    assert "alphabetically" in (sm.W.__doc__ or "") and "classes.txt" in (sm.W.__doc__ or "")


def test_ssv2_has_all_four_files_and_the_test_json_lists_ids_only(synth):
    root, m = synth
    files = m["files"]["ssv2"]
    names = ("labels", "train", "validation", "test")
    for name in names:
        key = "labels" if name == "labels" else f"{name}_json"
        assert (root / files[key]).is_file() and files[key] == f"ssv2/something-something-v2-{name}.json"
    labels = A.read_ssv2_labels(root / files["labels"])
    test_raw = json.loads((root / files["test_json"]).read_text())
    assert test_raw and all(set(e) == {"id"} and isinstance(e["id"], str) for e in test_raw)
    seen: list[str] = []
    for name, n_per_class in zip(names[1:], m["sizes"]["ssv2"]):
        recs = A.read_ssv2_json(root / files[f"{name}_json"], labels, root / files["video_dir"], ".mp4")
        assert len(recs) == n_per_class * len(labels) and all(Path(r.path).is_file() for r in recs)
        assert all(r.label == -1 for r in recs) if name == "test" else sorted({r.label for r in recs}) == list(range(10))
        seen += [r.video_id for r in recs]
    assert len(seen) == len(set(seen))


def test_msrvtt_training_csv_beside_the_jsfusion_test(synth):
    root, m = synth
    files = m["files"]["captions"]
    assert (root / files["train_csv"]).read_text().splitlines()[0] == "video_id"
    train = F.read_msrvtt_train(root / files["train_csv"], root / files["captions"])
    test = F.read_msrvtt_1ka(root / files["jsfusion_test"])
    all_videos = A.read_msrvtt_json(root / files["captions"])
    train_ids = {r.video_id for r in train}
    assert train_ids == {r.video_id for r in all_videos if r.split in ("train", "validate")}
    assert not train_ids & {r.video_id for r in test}
    assert len(train) == len(train_ids) * m["sizes"]["captions_per_video"]  # every caption, expanded


def test_multiple_choice_is_the_official_json_lines(synth):
    root, m = synth
    path = root / m["files"]["captions"]["multiple_choice_test"]
    assert path.name == "msrvtt_mc_test.jsonl"
    raw = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(set(e) == {"qid", "clip_name", "options", "answer"} and isinstance(e["answer"], int) for e in raw)
    items = F.read_msrvtt_mc(path)
    captions = {r.video_id: r.captions for r in A.read_msrvtt_json(root / m["files"]["captions"]["captions"], "test")}
    assert [it.video_id for it in items] == list(captions)
    assert len({it.qid for it in items}) == len(items)
    for it in items:
        assert len(it.options) == 5 and len(set(it.options)) == 5
        assert it.options[it.answer] == captions[it.video_id][0]
        assert not any(o in captions[it.video_id] for j, o in enumerate(it.options) if j != it.answer)


def test_ava_dense_proposals_are_a_pickle_of_float32_arrays(synth):
    root, m = synth
    files, fps = m["files"]["ava"], m["files"]["ava"]["fps"]
    boxes = json.loads((root / files["boxes_per_frame"]).read_text())
    for split in ("train", "val"):
        path = root / files[f"{split}_proposals"]
        assert path.suffix == ".pkl"
        props = AVA.read_ava_proposals(path)
        with path.open("rb") as f:  # what mmaction2 does (a plain pickle.load) gives the same arrays
            plain = pickle.load(f)
        # arrays are rebuilt by numpy 1's name for _reconstruct (numpy 1.x has no numpy._core; 2.x maps it)
        raw = path.read_bytes()
        assert b"numpy.core.multiarray" in raw and b"numpy._core" not in raw
        assert props.keys() == plain.keys() and all(np.array_equal(props[k], plain[k]) for k in props)
        rows = AVA.read_ava_csv(root / files[split])
        excluded = AVA.read_ava_excluded(root / files[f"{split}_excluded"])
        assert {f"{r.video_id},{r.timestamp:04d}" for r in rows} | {f"{v},{t:04d}" for v, t in excluded} == set(props)
        for key, arr in props.items():
            vid, ts = key.split(",")
            assert arr.dtype == np.float32 and arr.ndim == 2 and arr.shape == (len(boxes[vid]["objects"]), 5)
            assert np.all(arr[:, 4] == 1.0) and np.all(arr[:, 2] >= arr[:, 0]) and np.all(arr[:, 3] >= arr[:, 1])
            frame = int(round(int(ts) * fps))
            want = [o["boxes"][frame] for o in boxes[vid]["objects"]]
            np.testing.assert_allclose(arr[:, :4], np.array(want, dtype=np.float32), atol=1e-6)
        for r in rows:  # every ground-truth box is one of the proposals of its keyframe
            arr = props[f"{r.video_id},{r.timestamp:04d}"]
            assert np.abs(arr[:, :4] - np.array([r.x1, r.y1, r.x2, r.y2])).max(axis=1).min() < 1e-3


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_restricted_unpickler_allows_numeric_arrays_only(tmp_path):
    good = {"v,0902": np.arange(10, dtype=np.float32).reshape(2, 5), "v,0903": np.zeros((0, 5), np.float32)}
    written = []
    for proto in (2, 3, 4):
        buf = io.BytesIO()
        dump_numpy_pickle(good, buf, protocol=proto)
        written.append(buf.getvalue())
    for raw in [pickle.dumps(good, protocol=p) for p in (2, 4, 5)] + written:
        back = restricted_load(io.BytesIO(raw), numpy=True)
        assert all(np.array_equal(back[k], good[k]) and back[k].dtype == np.float32 for k in good)
    with pytest.raises(ValueError, match="protocol"):
        dump_numpy_pickle(good, io.BytesIO(), protocol=5)
    with pytest.raises(pickle.UnpicklingError, match="numpy"):  # arrays are refused without numpy=True
        restricted_load(io.BytesIO(pickle.dumps(good)))
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        restricted_load(io.BytesIO(pickle.dumps({"v,0902": _Evil()})), numpy=True)
    with pytest.raises(pickle.UnpicklingError, match="Python objects"):
        restricted_load(io.BytesIO(pickle.dumps(np.array([{"a": 1}], dtype=object))), numpy=True)
    bad = tmp_path / "p.pkl"
    bad.write_bytes(pickle.dumps({"v,0902": _Evil()}))
    with pytest.raises(A.AnnotationError, match="cannot unpickle safely"):
        AVA.read_ava_proposals(bad)
    bad.write_bytes(pickle.dumps({"v,0902": np.zeros((2, 3), np.float32)}))
    with pytest.raises(A.AnnotationError, match=r"\[N, 4\] or \[N, 5\]"):
        AVA.read_ava_proposals(bad)
    bad.write_bytes(pickle.dumps({"v0902": np.zeros((2, 5), np.float32)}))
    with pytest.raises(A.AnnotationError, match="video_id,timestamp"):
        AVA.read_ava_proposals(bad)


def test_a_cached_dataset_of_the_old_layout_is_regenerated(tmp_path):
    root = tmp_path / "ds"
    sizes = dict(classification=(1, 0, 0), ssv2=(1, 0, 0))
    sm.ensure_synthmotion(sizes, seed=1, root=root, parts=["ssv2"])
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["format"] == sm.FORMAT
    manifest["format"] = "synthmotion-1"
    (root / "manifest.json").write_text(json.dumps(manifest))
    sm.ensure_synthmotion(sizes, seed=1, root=root, parts=["ssv2"])
    assert sm.load_manifest(root)["format"] == sm.FORMAT
