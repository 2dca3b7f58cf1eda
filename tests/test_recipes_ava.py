"""The AVA-on-SynthMotion recipe (notebook 09): its samples are the AVA files SynthMotion writes, its loader
batches them for the RoI head, its baseline is the training prior, and a smoke run goes end to end."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from internvideo_core.recipes import ava_synth

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def smoke():
    r = ava_synth.get_recipe("smoke")
    return r, ava_synth.load_ava_split(r, 0, "train"), ava_synth.load_ava_split(r, 0, "val")


def test_samples_are_the_rows_of_the_written_ava_csv(tmp_path, smoke):
    from internvideo_core.data.ava_annotations import read_ava_csv, read_ava_excluded
    from internvideo_core.data.synthmotion import SynthConfig, generate_synthmotion
    from internvideo_core.data.synthmotion_plan import resolve_sizes

    r, train, val = smoke
    sizes = dataclasses.replace(resolve_sizes(r.encoder_profile)[1], ava=tuple(r.ava_videos))
    generate_synthmotion(tmp_path, sizes, seed=0, parts=("ava",), cfg=SynthConfig(size=r.render_size, **dict(r.synth)))
    for split, data in (("train", train), ("val", val)):
        written = [tuple(row) for row in read_ava_csv(tmp_path / f"ava/ava_{split}_v2.2.csv")]
        assert written == [tuple(row) for row in data.ground_truth]
        assert read_ava_excluded(tmp_path / f"ava/ava_{split}_excluded_timestamps_v2.2.csv") == set(data.excluded)
    # one sample per annotated key frame, every box labelled with one translation (and maybe a rotation)
    assert len(train) == 3 * r.ava_videos[0]
    assert train.videos.shape[1:] == (r.clip_frames, r.render_size, r.render_size, 3)
    for y in train.labels:
        assert torch.all(y[:, :5].sum(1) == 1) and torch.all(y[:, 5:].sum(1) <= 1)


def test_keyframe_loader_gives_pixel_rois_with_clip_indices(smoke):
    r, train, _ = smoke
    test_batch = next(iter(ava_synth.KeyFrameLoader(train, r, batch_size=2, train=False)))
    k0, k1 = len(train.boxes[0]), len(train.boxes[1])
    assert test_batch["video"].shape == (2, 3, r.clip_frames // r.frame_stride, r.render_size, r.render_size)
    assert test_batch["boxes"].shape == (k0 + k1, 5) and test_batch["labels"].shape == (k0 + k1, len(train.classes))
    assert test_batch["boxes"][:, 0].tolist() == [0.0] * k0 + [1.0] * k1
    loader = ava_synth.KeyFrameLoader(train, r, batch_size=2, train=True)
    # training boxes are the ground truth in pixels; test boxes are grown by the official (0.1, 0.05)
    px = train.boxes[0] * r.render_size
    torch.testing.assert_close(loader.pixel_boxes(0), px)
    grown = test_batch["boxes"][:k0, 1:]
    assert torch.all(grown[:, :2] <= px[:, :2] + 1e-6) and torch.all(grown[:, 2:] >= torch.minimum(
        px[:, 2:], torch.tensor(float(r.render_size - 1))) - 1e-6)
    assert len(loader) == len(train) // 2


def test_prior_baseline_scores_every_box_with_the_training_frequencies(smoke):
    _, train, val = smoke
    scores = ava_synth.prior_scores(train, val)
    freq = torch.cat(train.labels).mean(0)
    assert all(torch.equal(s, freq.expand_as(s)) for s in scores)
    rows = ava_synth.detection_rows(val, scores)
    assert len(rows) == sum(len(b) for b in val.boxes) * len(val.classes)
    perfect = ava_synth.detection_rows(val, [y.clone() for y in val.labels])
    assert ava_synth.frame_map(val, perfect)["mAP"] == pytest.approx(1.0)


def test_smoke_detector_trains_and_scores_from_a_classifier_checkpoint(tmp_path, monkeypatch, smoke):
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path))
    r, train, val = smoke
    path, info = ava_synth.encoder_checkpoint(r, kind="classifier")
    assert path.exists() and len(info["made_now"]) == 2
    assert ava_synth.encoder_checkpoint(r, kind="classifier")[1]["made_now"] == []  # reused the second time
    model, hist = ava_synth.train_detector(r, 0, train, path)
    assert len(hist["epoch_loss"]) == r.epochs
    res = ava_synth.frame_map(val, ava_synth.detection_rows(val, ava_synth.predict_scores(r, model, val)))
    assert 0.0 < res["mAP"] <= 1.0 and set(res["per_class_name"]) == set(val.classes)
    with pytest.raises(ValueError, match="kind"):
        ava_synth.encoder_checkpoint(r, kind="mae")


def test_saved_detector_loads_back_with_the_same_outputs(tmp_path, smoke):
    r, train, _ = smoke
    torch.manual_seed(0)
    model = ava_synth.build_detector(r, len(train.classes)).eval()
    path = ava_synth.save_detector(r, model, train.classes, train.action_ids, tmp_path / "det.safetensors")
    back, recipe, classes, ids = ava_synth.load_detector(path)
    assert recipe == r and classes == list(train.classes) and ids == list(train.action_ids)
    batch = next(iter(ava_synth.KeyFrameLoader(train, r, batch_size=2, train=False)))
    with torch.no_grad():
        torch.testing.assert_close(back(batch["video"], batch["boxes"]), model(batch["video"], batch["boxes"]))
    with pytest.raises(FileNotFoundError, match="notebook 09"):
        ava_synth.load_detector(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="outputs"):
        ava_synth.save_detector(r, model, train.classes[:3], train.action_ids, tmp_path / "x.safetensors")
