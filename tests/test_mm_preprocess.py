"""Clip loaders: InternVideo-MM preprocessing vs the official output, and the VideoMAE multi-view test views."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from internvideo_core.data import io as vio
from internvideo_core.data.io import read_video, video_info
from internvideo_core.data.pipelines import (
    load_mm_clip,
    load_videomae_segment_views,
    load_videomae_views,
    mm_clip_from_frames,
)
from internvideo_core.data.sampling import dense_views, segment_views, uniform_indices
from internvideo_core.data.transforms import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    frames_to_tensor,
    normalize,
    resize_short_side,
    three_crop,
)


@pytest.fixture(scope="module")
def mm_reference(official_dir):
    ref = load_file(str(official_dir / "internvideo_mm_preprocess_io.safetensors"))
    assert set(ref) == {"frame_indices", "clip"}
    return ref


@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_mm_clip_matches_official(videos_dir, mm_reference, backend):
    path = videos_dir / "arm_wrestling_demo.mp4"
    n = video_info(path, backend=backend).num_frames
    assert n == 280
    assert uniform_indices(n, 8).tolist() == mm_reference["frame_indices"].tolist()
    clip = load_mm_clip(path, backend=backend)
    expected = mm_reference["clip"].float()
    assert clip.shape == expected.shape == (3, 8, 224, 224) and clip.dtype == torch.float32
    mad = (clip - expected).abs().mean().item()
    assert mad < 0.03, f"mean abs diff vs official {mad:.5f}"  # measured 0.00016 (float16 storage)
    # the comparison can fail: a one-pixel shift of the crop is far off
    shifted = torch.roll(clip, shifts=4, dims=-1)
    assert (shifted - expected).abs().mean().item() > 0.03


def test_mm_clip_from_given_frames(videos_dir):
    path = videos_dir / "arm_wrestling_demo.mp4"
    frames = read_video(path)
    assert torch.equal(load_mm_clip(frames=frames), load_mm_clip(path))


def test_mm_resize_close_to_pil_bilinear(videos_dir):
    """Resampling filters differ between libraries: ours (bilinear) vs PIL bilinear stays below 0.03 MAD."""
    from PIL import Image

    frames = read_video(videos_dir / "test.mp4", [0, 150])  # 340x256 -> short side 224
    ours = mm_clip_from_frames(frames, size=224, short_side=224)
    pil = []
    for f in frames.numpy():
        img = Image.fromarray(f).resize((297, 224), Image.BILINEAR)
        pil.append(torch.from_numpy(np.array(img)))
    left = int(round((297 - 224) / 2))  # centre crop offset (Python rounding, as torchvision): 36
    ref = frames_to_tensor(torch.stack(pil))[..., :, left : left + 224]
    ref = normalize(ref, CLIP_MEAN, CLIP_STD)
    mad = (ours - ref).abs().mean().item()
    assert mad < 0.03, mad


def test_videomae_views_official_protocol(videos_dir):
    path = videos_dir / "test.mp4"
    views = load_videomae_views(path, num_frames=4, rate=4, num_clips=5, num_crops=3, size=112)
    assert views.shape == (15, 3, 4, 112, 112)
    # rebuild view (clip 3, crop 2) by hand: strided clip 3, short side 112, right-most crop
    idx = dense_views(300, 4, 4, 5)[3]
    clip = resize_short_side(frames_to_tensor(read_video(path, idx)), 112)
    expected = normalize(three_crop(clip, 112)[2], IMAGENET_MEAN, IMAGENET_STD)
    assert torch.allclose(views[3 * 3 + 2], expected, atol=1e-5)
    assert not torch.allclose(views[3 * 3 + 1], expected, atol=1e-2)


def test_videomae_views_decode_once(videos_dir, monkeypatch):
    calls = []
    original = vio.VideoReader.read

    def counting(self, indices=None):
        calls.append(np.asarray(indices).copy())
        return original(self, indices)

    monkeypatch.setattr(vio.VideoReader, "read", counting)
    load_videomae_views(videos_dir / "test.mp4", num_frames=16, rate=4, num_clips=5, num_crops=1, size=64)
    assert len(calls) == 1
    wanted = np.unique(dense_views(300, 16, 4, 5))
    assert np.array_equal(calls[0], wanted) and len(wanted) < 5 * 16


def test_videomae_segment_views(videos_dir):
    path = videos_dir / "test.avi"
    views = load_videomae_segment_views(path, num_segments=8, num_views=2, num_crops=3, size=96)
    assert views.shape == (6, 3, 8, 96, 96)
    idx = segment_views(164, 8, 2)[1]  # view 1 = segment centres
    clip = resize_short_side(frames_to_tensor(read_video(path, idx)), 96)
    expected = normalize(three_crop(clip, 96)[0], IMAGENET_MEAN, IMAGENET_STD)
    assert torch.allclose(views[1 * 3 + 0], expected, atol=1e-5)


def test_loaders_validate_frames_argument():
    with pytest.raises(ValueError, match=r"\[N, H, W, 3\]"):
        load_mm_clip(frames=torch.zeros(3, 8, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="path or decoded frames"):
        load_videomae_views()
