"""The torchcodec backend (where it imports: it needs FFmpeg shared libraries) delivers the same frames as PyAV
and decord on every bundled clip, for seek-heavy and sequential reads, and ``auto`` prefers it only for files
whose frames can be found by timestamp."""
from __future__ import annotations

import numpy as np
import pytest

from internvideo_core.data.io import BackendUnavailableError, open_video, read_video
from internvideo_core.data.sampling import dense_views, union_indices
from internvideo_core.data.video_backends import _have_torchcodec, available_backends

needs_torchcodec = pytest.mark.skipif(not _have_torchcodec(), reason="torchcodec does not import here (no FFmpeg "
                                      "shared libraries); benchmarks/bench_pipeline.py says why")

MP4 = ["arm_wrestling_demo.mp4", "test.mp4", "demo_spatiotemporal_det.mp4"]


@needs_torchcodec
@pytest.mark.parametrize("name", MP4)
def test_torchcodec_frames_equal_pyav_and_decord(videos_dir, name):
    path = videos_dir / name
    n = open_video(path, backend="pyav").info.num_frames
    seek = union_indices(dense_views(n, 16, 4, 5))[0]
    for idx in (seek, np.arange(n), np.array([n - 1, 0, 5, 5])):
        ref = read_video(path, idx, backend="pyav")
        got = read_video(path, idx, backend="torchcodec")
        assert got.shape == ref.shape and bool((got == ref).all()), (name, idx[:5])
        assert bool((read_video(path, idx, backend="decord") == got).all())


@needs_torchcodec
def test_auto_prefers_torchcodec_for_mp4_and_pyav_for_avi(videos_dir):
    assert available_backends()[0] == "torchcodec"
    assert open_video(videos_dir / "test.mp4").backend == "torchcodec"
    assert open_video(videos_dir / "test.avi").backend == "pyav"  # AVI timestamps are unreliable


@needs_torchcodec
def test_torchcodec_metadata_matches_pyav(videos_dir):
    for name in MP4:
        a, b = open_video(videos_dir / name, backend="torchcodec").info, open_video(videos_dir / name, backend="pyav").info
        assert (a.num_frames, a.width, a.height) == (b.num_frames, b.width, b.height)
        assert a.fps == pytest.approx(b.fps, rel=1e-3)


@pytest.mark.skipif(_have_torchcodec(), reason="torchcodec imports here")
def test_forcing_torchcodec_without_it_says_what_to_install(videos_dir):
    with pytest.raises(BackendUnavailableError, match="torchcodec"):
        open_video(videos_dir / "test.mp4", backend="torchcodec")
