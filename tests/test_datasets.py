"""Torch datasets over the real formats: sampling, transforms, targets, official test views, rawframes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from internvideo_core.data import annotations as A
from internvideo_core.data import ava_annotations as AVA
from internvideo_core.data import datasets as D
from internvideo_core.data import synthmotion as sm
from internvideo_core.data.io import VideoReadError, read_video
from internvideo_core.data.pipelines import load_videomae_segment_views, load_videomae_views
from internvideo_core.data.transforms import IMAGENET_MEAN, IMAGENET_STD, RandomHorizontalFlip, denormalize
from internvideo_core.paths import sample_video

TINY = dict(classification=(1, 1, 1), ssv2=(1, 1), vl=(4, 2, 4), captions_per_video=3, zero_shot_combos=2,
            tal=(1, 2), tal_frames=(48, 56), ava=(1, 2), ava_segments=3, openset_per_class=1)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth_ds")
    sm.generate_synthmotion(root, TINY, seed=9, parts=["classification", "ssv2", "qa", "tal", "ava"])
    return root


def _flip(ds: D.ClipDataset) -> RandomHorizontalFlip:
    return next(t for t in ds.transform.transforms if isinstance(t, RandomHorizontalFlip))


def test_kinetics_list_train_val(synth: Path) -> None:
    ds = D.kinetics_dataset(synth / "kinetics/train.csv", root=synth, num_frames=8, rate=2, size=48,
                            crop_scale=(0.4, 1.0), seed=1)
    assert len(ds) == 12 and not _flip(ds).enabled  # flip off by default (direction classes)
    x, y = ds[3]
    assert x.shape == (3, 8, 48, 48) and x.dtype == torch.float32 and y == 3
    again, _ = ds[3]
    assert torch.equal(x, again)  # (seed, epoch, index) -> same clip
    ds.set_epoch(1)
    assert not torch.equal(ds[3][0], x)
    assert _flip(D.kinetics_dataset(synth / "kinetics/train.csv", root=synth, flip=True)).enabled
    val = D.kinetics_dataset(synth / "kinetics/val.csv", root=synth, mode="val", num_frames=16, rate=1, size=64)
    x, y = val[5]
    frames = read_video(val.records[5].path)  # 16 frames -> the whole video, no resize at 64
    want = (frames.permute(3, 0, 1, 2).float() / 255 - torch.tensor(IMAGENET_MEAN).view(3, 1, 1, 1)) \
        / torch.tensor(IMAGENET_STD).view(3, 1, 1, 1)
    assert torch.allclose(x, want, atol=1e-5) and y == 5


def test_kinetics_official_csv(synth: Path) -> None:
    classes = A.read_class_names(synth / "classes.txt")
    template = "kinetics/videos/{split}/{youtube_id}_{time_start:06d}_{time_end:06d}.mp4"
    ds = D.kinetics_dataset(synth / "kinetics/kinetics_test.csv", root=synth, classes=classes, template=template,
                            mode="test", num_frames=8, rate=1, num_clips=2, num_crops=3, size=64)
    views, label = ds[7]
    assert views.shape == (6, 3, 8, 64, 64) and label == 7


@pytest.mark.parametrize("sampling", ["dense", "segment"])
def test_test_views_match_official_pipelines(videos_dir: Path, sampling: str) -> None:
    """Test mode = the official multi-view protocol, as implemented by the kit's reference loaders."""
    path = videos_dir / "test.mp4"
    ds = D.ClipDataset([A.VideoRecord(str(path), 4)], sampling=sampling, mode="test", num_frames=8, rate=4,
                       num_clips=2, num_views=2, num_crops=3, size=64)
    views, label = ds[0]
    if sampling == "dense":
        ref = load_videomae_views(path, num_frames=8, rate=4, num_clips=2, num_crops=3, size=64)
    else:
        ref = load_videomae_segment_views(path, num_segments=8, num_views=2, num_crops=3, size=64)
    assert views.shape == ref.shape == (6, 3, 8, 64, 64) and label == 4
    assert torch.allclose(views, ref, atol=1e-6)


def test_ssv2_json_and_segments(synth: Path) -> None:
    ds = D.ssv2_dataset(synth / "ssv2/something-something-v2-validation.json",
                        labels=synth / "ssv2/something-something-v2-labels.json", video_dir=synth / "ssv2/videos",
                        ext=".mp4", mode="test", num_frames=8, size=64)
    assert ds.sampling == "segment" and not _flip(D.ssv2_dataset(synth / "ssv2/train.csv", root=synth)).enabled
    views, label = ds[2]
    assert views.shape == (6, 3, 8, 64, 64) and label == 2
    train = D.ssv2_dataset(synth / "ssv2/train.csv", root=synth, num_frames=8, size=32, seed=3)
    assert train[0][0].shape == (3, 8, 32, 32)


def test_rawframes_equal_video(synth: Path, tmp_path: Path) -> None:
    from PIL import Image

    rec = A.read_video_list(synth / "ssv2/val.csv", synth)[4]
    frames = read_video(rec.path).numpy()
    folder = tmp_path / "rawframes" / rec.video_id
    folder.mkdir(parents=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"img_{i + 1:05d}.png")
    lst = tmp_path / "val_rawframes.txt"
    lst.write_text(f"{rec.video_id} {len(frames)} {rec.label}\n")
    raw = D.ssv2_dataset(lst, root=tmp_path / "rawframes", frame_template="img_{:05d}.png", mode="val",
                         num_frames=8, size=64)
    vid = D.ClipDataset([rec], sampling="segment", mode="val", num_frames=8, size=64)
    assert torch.equal(raw[0][0], vid[0][0]) and raw[0][1] == rec.label == 4
    (folder / "img_00016.png").unlink()
    lst.write_text(f"{rec.video_id} 16 4\n")
    with pytest.raises(FileNotFoundError, match="img_00016.png"):
        D.ssv2_dataset(lst, root=tmp_path / "rawframes", frame_template="img_{:05d}.png", mode="test",
                       num_frames=16, size=64)[0]


def test_caption_and_qa(synth: Path) -> None:
    ds = D.CaptionDataset(synth / "msrvtt/videodatainfo.json", synth / "msrvtt/videos", split="test", mode="test",
                          size=32, num_frames=4)
    assert len(ds) == 4 and len(ds.texts) == 12 and ds.text_to_video == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    clip, caption, i = ds[1]
    assert clip.shape == (3, 4, 32, 32) and caption == ds.records[1].captions[0] and i == 1
    train = D.CaptionDataset(synth / "msrvtt/videodatainfo.json", synth / "msrvtt/videos", split="train", size=32)
    picks = set()
    for epoch in range(8):
        train.set_epoch(epoch)
        picks.add(train[0][1])
    assert picks <= set(train.records[0].captions) and len(picks) > 1
    answers = json.loads((synth / "msrvtt/qa/answers.json").read_text())
    qa = D.QADataset(synth / "msrvtt/qa/val_qa.json", synth / "msrvtt/videos", answers, size=32, num_frames=4)
    clip, question, a = qa[0]
    assert clip.shape == (3, 4, 32, 32) and answers[a] == qa.records[0].answer and question.endswith("?")


def test_temporal_dataset(synth: Path) -> None:
    classes = A.read_class_names(synth / "activitynet/classes.txt")
    ds = D.TemporalDataset(synth / "activitynet/activity_net.v1-3.min.json", synth / "activitynet/videos", classes,
                           subset="validation", num_frames=12, size=32)
    assert len(ds) == 2
    clip, target = ds[1]
    rec = ds.records[1]
    assert clip.shape == (3, 12, 32, 32)
    assert torch.allclose(target["segments"], torch.tensor([[s, e] for s, e, _ in rec.segments]).reshape(-1, 2))
    assert [classes[i] for i in target["labels"]] == [lab for _, _, lab in rec.segments]
    assert 0 == target["frame_times"][0] and target["frame_times"][-1] <= rec.duration
    with pytest.raises(A.AnnotationError, match="not in classes"):
        D.TemporalDataset(synth / "activitynet/activity_net.v1-3.min.json", synth / "activitynet/videos", ["x"])


def test_ava_dataset_and_collate(synth: Path) -> None:
    ds = D.AVADataset(synth / "ava/ava_val_v2.2.csv", synth / "ava/videos", synth / "ava/ava_action_list_v2.2.pbtxt",
                      synth / "ava/ava_val_excluded_timestamps_v2.2.csv", clip_len=8, rate=2, size=32)
    rows = AVA.read_ava_csv(synth / "ava/ava_val_v2.2.csv")
    assert len(ds) == len({(r.video_id, r.timestamp) for r in rows}) == 6
    clip, target = ds[0]
    assert clip.shape == (3, 8, 32, 32)
    mine = [r for r in rows if (r.video_id, r.timestamp) == (target["video_id"], target["timestamp"])]
    assert len(target["boxes"]) == len({r.person_id for r in mine})
    for r in mine:
        k = target["person_ids"].tolist().index(r.person_id)
        assert target["boxes"][k].tolist() == pytest.approx([r.x1, r.y1, r.x2, r.y2], abs=1e-6)
        assert target["labels"][k, ds.action_ids.index(r.action_id)] == 1
    assert int(target["labels"].sum()) == len(mine)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=D.collate_with_targets)
    clips, targets = next(iter(loader))
    assert clips.shape == (2, 3, 8, 32, 32) and len(targets) == 2


def test_tensor_dataset_from_synthmotion() -> None:
    clips = sm.synthmotion_clips("ssv2", "val", TINY, seed=0)
    ds = D.TensorClipDataset(clips.videos, clips.labels)
    x, y = ds[3]
    assert x.shape == (3, 16, 64, 64) and y == 3
    back = denormalize(x, IMAGENET_MEAN, IMAGENET_STD)
    assert torch.allclose(back, clips.videos[3].permute(3, 0, 1, 2).float() / 255, atol=1e-5)
    with pytest.raises(ValueError, match="labels"):
        D.TensorClipDataset(clips.videos, clips.labels[:2])


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode"):
        D.ClipDataset([], mode="eval")
    with pytest.raises(ValueError, match="sampling"):
        D.ClipDataset([], sampling="random")
    ds = D.ClipDataset([A.VideoRecord(str(tmp_path / "nope.mp4"), 0)], mode="val")
    with pytest.raises(VideoReadError, match="nope.mp4"):
        ds[0]
    assert np.array_equal(D.read_frames(sample_video("test.mp4"), np.array([2, 0])).shape,
                          (2, 256, 340, 3))
