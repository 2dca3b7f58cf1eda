"""SynthMotion: rendering semantics, speed, determinism, mp4 files and annotation content."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from internvideo_core.data import synthmotion as sm
from internvideo_core.data.io import open_video, read_video
from internvideo_core.data.synthmotion_render import SynthConfig, motion_track, render_clip
from internvideo_core.data.synthmotion_scenes import AVA_CLASSES, TAL_CLASSES, render_multi_object, render_untrimmed

TINY = dict(classification=(1, 1, 1), ssv2=(1, 1), vl=(8, 2, 4), captions_per_video=3, zero_shot_combos=2,
            tal=(2, 1), tal_frames=(48, 56), ava=(1, 1), ava_segments=3, openset_per_class=1)
CLEAN = SynthConfig(noise=0.0, textured=False)


def _centres(boxes: np.ndarray) -> np.ndarray:
    return np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("synth_a")
    return root, sm.generate_synthmotion(root, TINY, seed=3)


# ------------------------------------------------------------------------------------------- classes
def test_class_lists() -> None:
    assert len(sm.MOTION_CLASSES) >= 12 and len(sm.KNOWN_MOTIONS) >= 12
    assert len(set(sm.MOTION_CLASSES)) == len(sm.MOTION_CLASSES)
    for a, b in [("move left", "move right"), ("move up", "move down"), ("grow", "shrink"), ("fade in", "fade out"),
                 ("rotate clockwise", "rotate counterclockwise")]:
        assert (a, b) in sm.DIRECTION_PAIRS
    assert {"bounce", "stay"} <= set(sm.KNOWN_MOTIONS)
    assert not set(sm.HELDOUT_MOTIONS) & set(sm.KNOWN_MOTIONS)
    assert len(sm.SHAPES) >= 4 and len(sm.COLOURS) >= 4


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="even"):
        SynthConfig(size=63)
    with pytest.raises(ValueError, match="unknown motion"):
        render_clip("teleport", 0)
    with pytest.raises(ValueError, match="unknown shape"):
        render_clip("stay", 0, shape="blob")


# ---------------------------------------------------------------------------------------- rendering
def test_render_clip_shape_and_seed() -> None:
    a, meta = render_clip("move left", 7)
    b, _ = render_clip("move left", np.random.default_rng(7))
    c, _ = render_clip("move left", 8)
    assert a.dtype == np.uint8 and a.shape == (16, 64, 64, 3)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert meta["motion"] == "move left" and meta["shape"] in sm.SHAPES and meta["colour"] in sm.COLOURS
    assert meta["boxes"].shape == (16, 4)
    big, _ = render_clip("stay", 0, SynthConfig(size=96, num_frames=8))
    assert big.shape == (8, 96, 96, 3)


@pytest.mark.parametrize("pair", sm.DIRECTION_PAIRS)
def test_direction_pairs_are_exact_time_reversals(pair: tuple[str, str]) -> None:
    """Only temporal order separates a pair: the same seed renders one clip as the other reversed."""
    cfg = SynthConfig(noise=0.0, clutter=2)
    for seed in range(3):
        a, _ = render_clip(pair[0], seed, cfg)
        b, _ = render_clip(pair[1], seed, cfg)
        assert np.array_equal(a[::-1], b)
        assert not np.array_equal(a, b)


@pytest.mark.parametrize("motion,axis,sign", [("move left", 0, -1), ("move right", 0, 1), ("move up", 1, -1),
                                              ("move down", 1, 1)])
def test_translation_seen_in_pixels(motion: str, axis: int, sign: int) -> None:
    _, meta = render_clip(motion, 1, CLEAN)
    c = _centres(meta["boxes"] * 64)[:, axis]
    assert sign * (c[-1] - c[0]) > 8  # pixels
    assert np.all(sign * np.diff(c) >= -1.0)


def test_grow_shrink_and_fade_seen_in_pixels() -> None:
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    _, grow = render_clip("grow", 2, CLEAN)
    _, shrink = render_clip("shrink", 2, CLEAN)
    assert area(grow["boxes"])[-1] > 1.5 * area(grow["boxes"])[0]
    assert area(shrink["boxes"])[0] > 1.5 * area(shrink["boxes"])[-1]
    frames, meta = render_clip("fade in", 4, CLEAN, colour="yellow")
    bg = frames[:, :2, :2].astype(float).mean(axis=(1, 2, 3))
    contrast = np.abs(frames.astype(float).mean(axis=(1, 2, 3)) - bg)
    assert contrast[-1] > contrast[0] + 2 and meta["alpha"][0] < 0.2 < 0.9 < meta["alpha"][-1]


def test_rotation_visible_through_marker() -> None:
    """A circle is rotationally symmetric, yet cw/ccw are visible: the marker turns clockwise on screen."""
    for motion, sign in (("rotate clockwise", 1), ("rotate counterclockwise", -1)):
        frames, meta = render_clip(motion, 5, CLEAN, shape="circle", colour="red")
        centre = _centres(meta["boxes"] * 64)
        angles = []
        for f, (cx, cy) in zip(frames, centre):
            ys, xs = np.nonzero(f.min(axis=-1) > 200)  # the white marker on the red circle
            angles.append(np.arctan2(ys.mean() + 0.5 - cy, xs.mean() + 0.5 - cx))
        turn = np.diff(np.unwrap(angles))
        assert np.all(sign * turn > 0), (motion, np.degrees(turn))


def test_motion_track_in_frame_for_all_motions() -> None:
    cfg = SynthConfig(speed=2.5)
    for motion in sm.MOTION_CLASSES:
        for seed in range(4):
            tr = motion_track(motion, np.random.default_rng(seed), cfg, radius=10.0)
            assert np.all(tr.x - tr.r >= 0) and np.all(tr.x + tr.r <= 64), motion
            assert np.all(tr.y - tr.r >= 0) and np.all(tr.y + tr.r <= 64), motion


def test_untrimmed_segments_follow_their_labels() -> None:
    cfg = SynthConfig(noise=0.0)
    frames, meta = render_untrimmed(np.random.default_rng(11), cfg, 160)
    assert frames.shape == (160, 64, 64, 3) and meta["segments"]
    prev_end = 0
    for s, e, lab in meta["segments"]:
        assert lab in TAL_CLASSES and prev_end <= s < e <= 160
        prev_end = e
        c = _centres(meta["boxes"][s - 1:e] * 64)
        if lab in ("move left", "move right"):
            assert (c[-1, 0] - c[0, 0]) * (1 if lab == "move right" else -1) > 4
    # between segments the object stays put
    s0 = meta["segments"][0][0]
    assert np.allclose(meta["boxes"][0], meta["boxes"][s0 - 1])


def test_multi_object_actions_match_boxes() -> None:
    frames, meta = render_multi_object(np.random.default_rng(2), SynthConfig(noise=0.0), 3, 16, 3)
    assert frames.shape == (48, 64, 64, 3) and len(meta["objects"]) == 3
    checked = 0
    for obj in meta["objects"]:
        for k, labels in enumerate(obj["actions"]):
            assert labels[0] in AVA_CLASSES and set(labels[1:]) <= {"rotate clockwise", "rotate counterclockwise"}
            c = _centres(obj["boxes"][k * 16:(k + 1) * 16] * 64)
            dx, dy = c[-1] - c[0]
            want = {"move left": -dx, "move right": dx, "move up": -dy, "move down": dy}
            if labels[0] in want:
                assert want[labels[0]] > 6, (labels, dx, dy)
                checked += 1
    assert checked > 0


def test_rendering_rate() -> None:
    """>= 100 clips/s of 16 x 64 x 64 (CPU time of this process, so other processes' load does not count;
    measured ~300-360 clips/s on the 2-core dev machine)."""
    cfg = SynthConfig()
    render_clip("stay", 0, cfg)
    t0, w0 = time.process_time(), time.perf_counter()
    n = 64
    for i in range(n):
        render_clip(sm.KNOWN_MOTIONS[i % 12], i, cfg)
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    print(f"render: {n / cpu:.0f} clips/s CPU, {n / wall:.0f} clips/s wall")
    assert n / cpu >= 100


# --------------------------------------------------------------------------------------- in memory
def test_in_memory_clips_match_files(generated: tuple[Path, dict]) -> None:
    root, _ = generated
    mem = sm.synthmotion_clips("classification", "val", TINY, seed=3)
    assert mem.videos.shape == (12, 16, 64, 64, 3) and mem.labels.tolist() == list(range(12))
    rows = (root / "kinetics/val.csv").read_text().split("\n")
    for i in (0, 5):
        path, label = rows[i].split()
        assert int(label) == int(mem.labels[i])
        decoded = read_video(root / path).numpy().astype(float)
        err = np.abs(decoded - mem.videos[i].numpy()).mean()
        assert err < 6.0, err  # H.264 at crf 18 on 64 x 64: only compression noise


def test_in_memory_parts() -> None:
    caps = sm.synthmotion_clips("captions", "train", TINY, seed=0, limit=3)
    assert len(caps) == 3 and all(len(m["captions"]) == 3 for m in caps.metas)
    ss = sm.synthmotion_clips("ssv2", "val", TINY, seed=0)
    assert set(ss.labels.tolist()) == set(range(10)) and ss.classes == sm.DIRECTION_MOTIONS
    op = sm.synthmotion_clips("openset", "test", TINY, seed=0)
    assert all(lab >= 12 for lab in op.labels.tolist())
    mk = sm.make_clips(["grow", "shrink"], 2, seed=1)
    assert mk.videos.shape[0] == 4 and mk.labels.tolist() == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="splits"):
        sm.synthmotion_clips("openset", "train", TINY)
    assert len(sm.synthmotion_clips("ssv2", "test", TINY)) == 0  # a 2-tuple ssv2 size has no test videos
    st3 = sm.synthmotion_clips("ssv2", "test", dict(TINY, ssv2=(1, 1, 1)), seed=0)
    assert st3.ids == [str(21 + i) for i in range(10)]  # SSv2 ids continue after train and validation


# ---------------------------------------------------------------------------------- files on disk
def test_generation_is_deterministic(generated: tuple[Path, dict], tmp_path: Path) -> None:
    root_a, manifest = generated
    root_b = tmp_path / "b"
    sm.generate_synthmotion(root_b, TINY, seed=3)
    files_a = sorted(p.relative_to(root_a) for p in root_a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(root_b) for p in root_b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 100
    videos = [p for p in files_a if p.suffix == ".mp4"]
    assert len(videos) == sum(manifest["counts"].values())
    for rel in files_a:  # annotations, manifest and the mp4 bytes themselves
        assert (root_a / rel).read_bytes() == (root_b / rel).read_bytes(), rel
    for rel in videos[::5]:
        assert read_video(root_a / rel).numpy().tobytes() == read_video(root_b / rel).numpy().tobytes(), rel
    other = tmp_path / "c"
    sm.generate_synthmotion(other, TINY, seed=4, parts=["classification"])
    assert (other / "kinetics/train.csv").read_text() == (root_a / "kinetics/train.csv").read_text()  # same layout
    a = read_video(root_a / "kinetics/videos/train/k0000000000_000000_000002.mp4")
    c = read_video(other / "kinetics/videos/train/k0000000000_000000_000002.mp4")
    assert not np.array_equal(a.numpy(), c.numpy())


def test_mp4_files_are_h264_yuv420p(generated: tuple[Path, dict]) -> None:
    import av

    root, _ = generated
    path = root / "kinetics/videos/test/k0000000027_000000_000002.mp4"
    with open_video(path) as v:
        assert (v.info.num_frames, v.info.width, v.info.height) == (16, 64, 64)
        assert v.info.fps == pytest.approx(8.0)
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.codec_context.pix_fmt == "yuv420p"


def test_manifest_and_annotation_content(generated: tuple[Path, dict]) -> None:
    root, manifest = generated
    assert sm.load_manifest(root)["files"] == json.loads(json.dumps(manifest["files"]))
    assert manifest["timing"]["clips_per_s"] > 0 and "timing" not in sm.load_manifest(root)
    for part, files in manifest["files"].items():
        for key, rel in files.items():
            if isinstance(rel, str) and "{" not in rel and key not in ("video_dir",):
                assert (root / rel).exists(), (part, key, rel)
    meta = json.loads((root / "msrvtt/video_meta.json").read_text())
    info = json.loads((root / "msrvtt/videodatainfo.json").read_text())
    for s in info["sentences"]:
        m = meta[s["video_id"]]
        assert m["colour"] in s["caption"] and m["shape"] in s["caption"]
    caps_per_video = {}
    for s in info["sentences"]:
        caps_per_video.setdefault(s["video_id"], set()).add(s["caption"])
    assert all(len(c) == 3 for c in caps_per_video.values())  # distinct paraphrases
    zs = json.loads((root / "msrvtt/zero_shot.json").read_text())
    held = {(c["shape"], c["motion"]) for c in zs["heldout_combinations"]}
    split = {v["video_id"]: v["split"] for v in info["videos"]}
    assert zs["test_video_ids"] and all(split[v] == "test" for v in zs["test_video_ids"])
    for vid, m in meta.items():
        if split[vid] != "test":
            assert (m["shape"], m["motion"]) not in held
    for q in json.loads((root / "msrvtt/qa/train_qa.json").read_text()):
        m = meta[f"video{q['video_id']}"]
        if q["type"] == "colour":
            assert q["answer"] == m["colour"]
        if q["type"] == "shape":
            assert q["answer"] == m["shape"]
        if q["type"] == "direction" and m["motion"].startswith("move"):
            assert q["answer"] == m["motion"].split()[1]
    from internvideo_core.data.video_text_formats import read_msrvtt_mc

    for item in read_msrvtt_mc(root / "msrvtt/msrvtt_mc_test.jsonl"):
        assert len(item.options) == 5 and meta[item.video_id]["shape"] in item.options[item.answer]
    excluded = (root / "ava/ava_train_excluded_timestamps_v2.2.csv").read_text().split()
    assert excluded and all(int(line.split(",")[1]) % 2 == 0 for line in excluded)
    anet = json.loads((root / "activitynet/activity_net.v1-3.min.json").read_text())["database"]
    for entry in anet.values():
        for ann in entry["annotations"]:
            assert 0 <= ann["segment"][0] < ann["segment"][1] <= entry["duration"]


def test_parts_selection(tmp_path: Path) -> None:
    m = sm.generate_synthmotion(tmp_path, TINY, seed=0, parts=["openset", "qa"])
    assert set(m["parts"]) == {"classification", "openset", "captions", "qa"}  # openset needs known test clips
    assert (tmp_path / "msrvtt/qa/test_qa.json").exists() and not (tmp_path / "ssv2").exists()
    known = len((tmp_path / "kinetics/test.csv").read_text().split("\n")) - 1
    rows = (tmp_path / "openset/test.csv").read_text().split("\n")[:-1]
    assert len(rows) == known + 2 and sum(int(r.split()[1]) >= 12 for r in rows) == 2
    with pytest.raises(ValueError, match="profile"):
        sm.generate_synthmotion(tmp_path, "huge")
    with pytest.raises(ValueError, match="parts"):
        sm.generate_synthmotion(tmp_path, TINY, parts=["nope"])


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from internvideo_core.cli import main

    argv = ["synth", "--out", str(tmp_path), "--profile", "smoke", "--seed", "2", "--parts", "tal", "--quiet"]
    assert main(argv) == 0
    m = sm.load_manifest(tmp_path)
    assert m["parts"] == ["tal"] and m["seed"] == 2 and m["counts"] == {"tal": 5}
    assert "clips/s" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["synth", "--out", str(tmp_path), "--parts", "nope"])


def test_workers_give_the_same_files(tmp_path: Path) -> None:
    sizes = dict(TINY, ssv2=(1, 0))
    sm.generate_synthmotion(tmp_path / "a", sizes, seed=1, parts=["ssv2"])
    sm.generate_synthmotion(tmp_path / "b", sizes, seed=1, parts=["ssv2"], workers=2)
    for p in sorted((tmp_path / "a").rglob("*.*")):
        rel = p.relative_to(tmp_path / "a")
        if rel.name != "manifest.json":
            assert p.read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_generation_rate_with_mp4(tmp_path: Path) -> None:
    """Rendering + H.264 writing in one process (CPU time): ~100 clips/s on the dev machine; assert a
    margin that tolerates load."""
    t0 = time.process_time()
    m = sm.generate_synthmotion(tmp_path, dict(TINY, classification=(4, 0, 0)), seed=0, parts=["classification"])
    cpu = time.process_time() - t0
    n = m["counts"]["classification"]
    print(f"render + mp4: {n / cpu:.0f} clips/s CPU, {m['timing']['clips_per_s']} clips/s wall")
    assert n == 48 and n / cpu >= 30


def test_ensure_synthmotion_reuses_and_regenerates(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    sizes = dict(TINY, ssv2=(1, 0))
    assert sm.ensure_synthmotion(sizes, seed=1, root=root, parts=["ssv2"]) == root
    stamp = (root / "manifest.json").stat().st_mtime_ns
    sm.ensure_synthmotion(sizes, seed=1, root=root, parts=["ssv2"])
    assert (root / "manifest.json").stat().st_mtime_ns == stamp  # reused
    sm.ensure_synthmotion(sizes, seed=2, root=root, parts=["ssv2"])
    assert sm.load_manifest(root)["seed"] == 2 and not (tmp_path / "ds.partial").exists()


@settings(max_examples=25, deadline=None)
@given(motion=st.sampled_from(sm.MOTION_CLASSES), seed=st.integers(0, 2**32 - 1), half=st.integers(12, 48),
       frames=st.integers(2, 24), speed=st.floats(0.2, 3.0), clutter=st.integers(0, 4), noise=st.floats(0, 0.1))
def test_render_clip_any_config(motion: str, seed: int, half: int, frames: int, speed: float, clutter: int,
                                noise: float) -> None:
    cfg = SynthConfig(size=2 * half, num_frames=frames, speed=speed, clutter=clutter, clutter_moving=0.5, noise=noise)
    clip, meta = render_clip(motion, seed, cfg)
    assert clip.shape == (frames, 2 * half, 2 * half, 3) and clip.dtype == np.uint8
    boxes = meta["boxes"]
    assert boxes.shape == (frames, 4) and np.all((boxes >= 0) & (boxes <= 1))
    visible = boxes[:, 2] > boxes[:, 0]
    assert visible.sum() >= (1 if motion.startswith("fade") else frames)
    assert meta["num_objects"] == clutter + 1
