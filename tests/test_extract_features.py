"""Snippet features of untrimmed videos: the plan, the minimal decoding, the folder layout, resume and errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from internvideo_core.features import (encoder_fn, extract_features_to_folder, extract_video_features, list_videos,
                                       load_features, snippet_plan)
from internvideo_core.registry import create_model

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(img_size=32, patch_size=16, num_frames=4, tubelet_size=2, embed_dim=32, depth=1, num_heads=2)


def _write_video(path, num_frames: int, fps: float = 8.0, size: int = 32) -> None:
    """A SynthMotion-style clip: a bright square moving right on a grey background."""
    from internvideo_core.data.synthmotion_writers import write_mp4

    frames = np.full((num_frames, size, size, 3), 90, dtype=np.uint8)
    for t in range(num_frames):
        x = (t * 2) % (size - 8)
        frames[t, 12:20, x:x + 8] = (230, 40, 40)
    write_mp4(path, frames, fps)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return create_model("videomae_vit_tiny_synth", num_classes=3, **TINY).eval()


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("untrimmed")
    _write_video(d / "v_a.mp4", 40)
    _write_video(d / "v_b.mp4", 23)
    (d / "v_broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"garbage" * 50)
    return d


def test_the_plan_puts_snippets_every_stride_frames_and_centres_them_on_their_span():
    plan = snippet_plan(40, fps=8.0, clip_len=4, frame_interval=2, stride=8)
    assert plan.span == 7
    assert plan.starts.tolist() == [0, 8, 16, 24, 32]           # (40 - 7) // 8 + 1 = 5
    assert plan.indices[1].tolist() == [8, 10, 12, 14]
    np.testing.assert_allclose(plan.centre_times, (np.array([0, 8, 16, 24, 32]) + 3.5) / 8.0)
    assert snippet_plan(40, 8.0, 4, 2, stride_seconds=0.5).stride == 4
    assert snippet_plan(16, 8.0, 16).stride == 4                  # default: a quarter of the span


def test_a_video_shorter_than_one_snippet_gives_one_snippet_clamped_to_its_last_frame():
    plan = snippet_plan(5, fps=10.0, clip_len=4, frame_interval=2)
    assert len(plan) == 1
    assert plan.indices[0].tolist() == [0, 2, 4, 4]


def test_only_the_frames_the_snippets_need_are_decoded_each_once_in_chunks(model, videos, monkeypatch):
    from internvideo_core.data import io

    calls: list[list[int]] = []
    original = io.VideoReader.read

    def spy(self, indices=None):
        calls.append(list(np.asarray(indices).tolist()))
        return original(self, indices)

    monkeypatch.setattr(io.VideoReader, "read", spy)
    res = extract_video_features(model, videos / "v_a.mp4", frame_interval=2, stride=8, chunk_snippets=2)
    decoded = [i for call in calls for i in call]
    assert len(calls) == 3                                         # 5 snippets in chunks of 2
    assert sorted(decoded) == list(range(0, 39, 2))               # the even frames 0..38, each exactly once
    assert res.features.shape == (5, 32)


def test_snippet_features_equal_the_encoder_on_the_snippet_frames(model, videos):
    from internvideo_core.data.io import read_video
    from internvideo_core.data.transforms import IMAGENET_MEAN, IMAGENET_STD, frames_to_tensor, normalize

    res = extract_video_features(model, videos / "v_a.mp4", frame_interval=2, stride=8, batch_size=2)
    clip = normalize(frames_to_tensor(read_video(videos / "v_a.mp4", [16, 18, 20, 22])), IMAGENET_MEAN, IMAGENET_STD)
    with torch.no_grad():
        want = model.forward_features(clip[None])[0].numpy()
    np.testing.assert_allclose(res.features[2], want, rtol=1e-4, atol=1e-5)


def test_every_kit_encoder_family_gives_one_vector_per_clip():
    torch.manual_seed(0)
    mae = create_model("videomae_pretrain_tiny_synth", decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2,
                       **TINY).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        assert torch.allclose(encoder_fn(mae)(x), mae.encoder(x, None).mean(1))
    mm = create_model("internvideo_mm_tiny_synth", vision_width=32, vision_layers=2, vision_heads=2,
                      input_resolution=32, vision_patch_size=8, num_frames=2, temporal_layers=(1,), temporal_heads=2, text_width=32,
                      text_layers=1, text_heads=2, context_length=16, embed_dim=16).eval()
    with torch.no_grad():
        assert encoder_fn(mm)(torch.randn(2, 3, 2, 32, 32)).shape == (2, 16)
    with pytest.raises(TypeError, match="not a kit video encoder"):
        encoder_fn(torch.nn.Linear(2, 2))


def test_the_folder_run_writes_the_actionformer_layout_resumes_and_reports_a_broken_file(model, videos, tmp_path):
    out = tmp_path / "feats"
    paths = list_videos(videos)
    assert [p.name for p in paths] == ["v_a.mp4", "v_b.mp4", "v_broken.mp4"]
    rep = extract_features_to_folder(model, paths, out, progress=False, frame_interval=2, stride=4)
    assert sorted(rep.done) == ["v_a", "v_b"] and list(rep.failed) == ["v_broken"]
    assert "v_broken.mp4" in rep.failed["v_broken"]
    feats, rec = load_features(out, "v_b")
    assert feats.shape == ((23 - 7) // 4 + 1, 32) and feats.dtype == np.float32
    assert rec["fps"] == 8.0 and rec["feat_stride"] == 4 and rec["num_frames"] == 7
    np.testing.assert_allclose(rec["centre_times"], (np.arange(5) * 4 + 3.5) / 8.0)
    index = json.loads((out / "index.json").read_text())
    assert sorted(index["videos"]) == ["v_a", "v_b"] and index["feat_stride"] == 4
    assert not list(out.glob(".*tmp*"))                           # no temporary files left behind
    again = extract_features_to_folder(model, paths, out, progress=False, frame_interval=2, stride=4)
    assert again.done == [] and sorted(again.skipped) == ["v_a", "v_b"] and list(again.failed) == ["v_broken"]
    (out / "v_b.json").unlink()                                    # an interrupted video is done again
    third = extract_features_to_folder(model, paths, out, progress=False, limit=2, frame_interval=2, stride=4)
    assert third.done == ["v_b"] and third.skipped == ["v_a"] and not third.failed


def test_the_command_extracts_a_list_and_exits_non_zero_when_a_video_failed(videos, tmp_path, capsys):
    from internvideo_core.cli import main

    listing = tmp_path / "videos.txt"
    listing.write_text("v_a.mp4\nv_broken.mp4\n")
    args = ["extract-features", "--videos", str(listing), "--data-root", str(videos), "--output", str(tmp_path / "f"),
            "--model-args", "num_classes=3", *[f"{k}={v}" for k, v in TINY.items()], "--stride", "2", "--pool", "time", "--quiet"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "1 extracted" in captured.out and "FAILED v_broken" in captured.err
    assert np.load(tmp_path / "f" / "v_a.npy").shape == ((40 - 4) // 2 + 1, 2 * 32)   # 2 time steps x dim
