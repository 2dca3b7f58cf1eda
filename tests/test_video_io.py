"""Video reading: metadata, both backends, frame agreement, and every failure mode as a typed error."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from internvideo_core.data import io as vio
from internvideo_core.data.io import (
    CorruptVideoError,
    EmptyVideoFileError,
    FrameIndexError,
    NotAVideoError,
    NoVideoFramesError,
    VideoInfo,
    VideoNotFoundError,
    VideoReadError,
    open_video,
    read_video,
    video_info,
)

from internvideo_core.data.video_backends import _have_torchcodec  # noqa: E402

BACKENDS = ["decord", "pyav"]


@pytest.fixture(scope="module")
def test_mp4(videos_dir):
    return videos_dir / "test.mp4"


# ----------------------------------------------------------------------------------------- metadata
@pytest.mark.parametrize("backend", BACKENDS + ["auto"])
def test_metadata_test_mp4(test_mp4, backend):
    info = video_info(test_mp4, backend=backend)
    assert isinstance(info, VideoInfo)
    assert info.num_frames == 300
    assert info.fps == pytest.approx(30.0)
    assert info.duration == pytest.approx(10.0)
    # stored 340x256 with a 1024:765 pixel aspect ratio -> displayed 455x256
    assert (info.display_width, info.display_height) == (455, 256)
    assert (info.width, info.height) == (340, 256)
    auto = "torchcodec" if _have_torchcodec() else "decord"  # the fastest exact decoder that imports
    assert info.backend == (auto if backend == "auto" else backend)
    assert info.codec == "h264"


@pytest.mark.parametrize("name,frames,fps,size", [
    ("arm_wrestling_demo.mp4", 280, 28.0, (340, 256)),
    ("test.avi", 164, 25.0, (320, 240)),
    ("demo_spatiotemporal_det.mp4", 57, 6.0, (340, 256)),
])
@pytest.mark.parametrize("backend", BACKENDS)
def test_metadata_other_videos(videos_dir, name, frames, fps, size, backend):
    info = video_info(videos_dir / name, backend=backend)
    assert (info.num_frames, info.fps, (info.width, info.height)) == (frames, pytest.approx(fps), size)


# ---------------------------------------------------------------------------------------- reading
@pytest.mark.parametrize("name", ["test.mp4", "test.avi"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_read_mp4_and_avi(videos_dir, name, backend):
    info = video_info(videos_dir / name, backend=backend)
    frames = read_video(videos_dir / name, [0, info.num_frames - 1], backend=backend)
    assert frames.dtype == torch.uint8
    assert frames.shape == (2, info.height, info.width, 3)
    assert frames.float().std() > 10  # real picture content, not a blank buffer


@pytest.mark.parametrize("backend", BACKENDS)
def test_requested_order_and_repeats(test_mp4, backend):
    idx = [40, 3, 3, 0, 59, 3]
    frames = read_video(test_mp4, idx, backend=backend)
    ordered = read_video(test_mp4, list(range(60)), backend=backend)  # every frame, in file order
    assert torch.equal(frames, ordered[idx])
    assert not torch.equal(frames[0], frames[1])  # consecutive requests are really different frames


def test_accepts_numpy_and_tensor_indices(test_mp4):
    a = read_video(test_mp4, np.array([5, 1]), backend="pyav")
    b = read_video(test_mp4, torch.tensor([5, 1]), backend="pyav")
    c = read_video(test_mp4, range(5, 0, -4), backend="pyav")
    assert torch.equal(a, b) and torch.equal(a, c)


def test_empty_index_list(test_mp4):
    frames = read_video(test_mp4, [], backend="pyav")
    assert frames.shape == (0, 256, 340, 3)


def test_open_video_reuses_one_reader(test_mp4):
    with open_video(test_mp4) as video:
        assert len(video) == 300
        clip = video.read([10, 20])
        again = video.read([20])
    assert torch.equal(clip[1], again[0])


@pytest.mark.parametrize("name", ["test.mp4", "arm_wrestling_demo.mp4", "test.avi"])
def test_decord_and_pyav_agree(videos_dir, name):
    """Same frame numbering and pixels: measured mean abs diff 0.0 (bit-identical) on these files."""
    path = videos_dir / name
    n = video_info(path, backend="pyav").num_frames
    assert video_info(path, backend="decord").num_frames == n
    idx = np.linspace(0, n - 1, 12).astype(int).tolist() + [1, 2, n - 2]
    a = read_video(path, idx, backend="decord").float()
    b = read_video(path, idx, backend="pyav").float()
    mad = (a - b).abs().mean().item()
    assert mad < 0.05, f"decord vs PyAV mean abs diff {mad}"
    # the bound is meaningful: neighbouring frames differ far more than that
    shifted = read_video(path, [i + 1 if i + 1 < n else i - 1 for i in idx], backend="pyav").float()
    assert (a - shifted).abs().mean().item() > 0.5


# ---------------------------------------------------------------------------------------- failures
def test_missing_file(tmp_path):
    with pytest.raises(VideoNotFoundError) as err:
        read_video(tmp_path / "nope.mp4")
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, VideoReadError)
    assert "nope.mp4" in str(err.value) and "no such file" in str(err.value)


def test_directory_is_not_a_video(tmp_path):
    with pytest.raises(VideoNotFoundError, match="not a regular file"):
        video_info(tmp_path)


@pytest.mark.parametrize("backend", ["auto", "decord", "pyav"])
def test_empty_file(tmp_path, backend):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(EmptyVideoFileError, match=r"empty\.mp4: the file is empty"):
        read_video(path, backend=backend)


@pytest.mark.parametrize("backend", ["auto", "decord", "pyav"])
def test_truncated_copy(tmp_path, test_mp4, backend):
    data = test_mp4.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptVideoError, match=r"cut\.mp4: MP4 file is truncated"):
        read_video(path, [0], backend=backend)


def _faststart_copy(src, dst) -> None:
    """Remux ``src`` with the index (moov) first, so a truncated copy still opens."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "faststart"}) as out:
        stream = inp.streams.video[0]
        ostream = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is None:
                continue
            packet.stream = ostream
            out.mux(packet)


@pytest.mark.parametrize("backend", ["auto", "decord", "pyav"])
def test_truncated_faststart_copy(tmp_path, test_mp4, backend):
    full = tmp_path / "fast.mp4"
    _faststart_copy(test_mp4, full)
    assert video_info(full, backend=backend).num_frames == 300
    data = full.read_bytes()
    cut = tmp_path / "fast_cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptVideoError, match="truncated"):
        read_video(cut, [0], backend=backend)


@pytest.mark.parametrize("backend", ["auto", "decord", "pyav"])
def test_text_renamed_mp4(tmp_path, backend):
    path = tmp_path / "page.mp4"
    path.write_text("<html><body>404 Not Found</body></html>\n")
    with pytest.raises(NotAVideoError, match=r"page\.mp4: a text file, not a video"):
        read_video(path, backend=backend)


def test_random_bytes_not_a_video(tmp_path):
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(NotAVideoError, match="not in any known video container"):
        video_info(path)


def _zero_frame_avi(path) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        out.start_encoding()
        for packet in stream.encode():
            out.mux(packet)


@pytest.mark.parametrize("backend", ["auto", "decord", "pyav"])
def test_valid_container_without_frames(tmp_path, backend):
    import av

    path = tmp_path / "zero.avi"
    _zero_frame_avi(path)
    with av.open(str(path)) as c:  # the container itself is valid and has a video stream
        assert len(c.streams.video) == 1
    with pytest.raises(NoVideoFramesError, match=r"zero\.avi: the video stream holds no frames"):
        read_video(path, backend=backend)


def test_audio_only_file(tmp_path):
    import av

    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        for i in range(4):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(NoVideoFramesError, match="no video stream"):
        video_info(path)


@pytest.mark.parametrize("backend", ["auto", "decord", "pyav"])
def test_damaged_packets_in_the_middle(tmp_path, test_mp4, backend):
    data = bytearray(test_mp4.read_bytes())
    data[600_000:620_000] = np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    path = tmp_path / "damaged.mp4"
    path.write_bytes(bytes(data))
    # frames before the damage, and after the next keyframe (235), still read
    assert read_video(path, [0, 50, 290], backend=backend).shape == (3, 256, 340, 3)
    with pytest.raises(CorruptVideoError, match=r"damaged\.mp4: (decoding failed|decord failed)"):
        read_video(path, [0, 150], backend=backend)


@pytest.mark.parametrize("backend", ["auto", "pyav"])
def test_zero_decodable_frames(tmp_path, test_mp4, backend):
    data = bytearray(test_mp4.read_bytes())
    data[48:1_348_000] = bytes(1_348_000 - 48)  # every coded picture wiped, container index intact
    path = tmp_path / "blank.mp4"
    path.write_bytes(bytes(data))
    assert video_info(path, backend="pyav").num_frames == 300  # the index still promises 300 frames
    with pytest.raises(NoVideoFramesError, match=r"blank\.mp4: no frame of the video stream could be decoded"):
        read_video(path, [0], backend=backend)


def test_decord_refuses_undecodable_file(tmp_path, test_mp4):
    data = bytearray(test_mp4.read_bytes())
    data[48:1_348_000] = bytes(1_348_000 - 48)
    path = tmp_path / "blank.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(VideoReadError):
        read_video(path, [0], backend="decord")


def test_closed_reader(test_mp4):
    video = open_video(test_mp4, backend="pyav")
    video.close()
    with pytest.raises(VideoReadError, match="closed"):
        video.read([0])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [[300], [0, 5, 1000], [-1], [3, -2]])
def test_indices_out_of_range(test_mp4, backend, bad):
    with pytest.raises(FrameIndexError) as err:
        read_video(test_mp4, bad, backend=backend)
    assert isinstance(err.value, IndexError)
    assert "test.mp4" in str(err.value) and "300 frames" in str(err.value)


def test_non_integer_indices(test_mp4):
    with pytest.raises(FrameIndexError, match="integers"):
        read_video(test_mp4, [0.5, 1.0], backend="pyav")


def test_unknown_backend(test_mp4):
    with pytest.raises(ValueError, match="backend must be one of"):
        read_video(test_mp4, [0], backend="opencv")


def test_auto_falls_back_to_pyav_when_decord_fails(test_mp4, monkeypatch):
    def broken(self, path, num_threads=0, size=None):
        raise CorruptVideoError(path, "decord cannot open the file: simulated")

    monkeypatch.setattr(vio._DecordBackend, "__init__", broken)
    monkeypatch.setattr(vio, "_have_torchcodec", lambda: False)  # auto would take torchcodec first where it works
    info = video_info(test_mp4, backend="auto")
    assert info.backend == "pyav" and info.num_frames == 300
    with pytest.raises(CorruptVideoError, match="simulated"):
        video_info(test_mp4, backend="decord")


def test_auto_falls_back_when_decord_fails_while_decoding(test_mp4, monkeypatch):
    def broken_read(self, targets):
        raise CorruptVideoError(self.path, "decord failed to decode frames: simulated")

    monkeypatch.setattr(vio._DecordBackend, "read", broken_read)
    monkeypatch.setattr(vio, "_have_torchcodec", lambda: False)
    reference = read_video(test_mp4, [7], backend="pyav")
    with open_video(test_mp4, backend="auto") as video:
        assert video.backend == "decord"
        frames = video.read([7])
        assert video.backend == "pyav"
    assert torch.equal(frames, reference)


# ------------------------------------------------------------------------------- keyframe seeking
def _encode(path, n: int = 100, gop: int = 10, codec: str = "libx264", size=(48, 64)) -> None:
    """A synthetic video whose frames all differ, with a keyframe every ``gop`` frames (B-frames on)."""
    import av

    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.height, stream.width, stream.pix_fmt = h, w, "yuv420p"
        stream.codec_context.gop_size = gop
        options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
        if codec == "libx264":
            options.update({"bf": "3", "crf": "18"})
        stream.options = options
        for i in range(n):
            img = np.stack([(xx * 4 + i * 7) % 256, (yy * 5 + i * 3) % 256, np.full_like(xx, i * 11 % 256)], -1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.mark.parametrize("ext,codec", [("mp4", "libx264"), ("mkv", "libx264"), ("mkv", "mpeg4")])
def test_pyav_keyframe_seeking_is_frame_exact(tmp_path, monkeypatch, ext, codec):
    path = tmp_path / f"gop.{ext}"
    _encode(path, codec=codec)
    idx = [97, 3, 41, 40, 77, 99, 41]
    sequential = read_video(path, idx, backend="pyav")
    reference = read_video(path, idx, backend="decord")
    assert torch.equal(sequential, reference)
    assert len({tuple(f.flatten()[:64].tolist()) for f in sequential}) == 6  # 6 distinct frames

    def no_sequential(self, targets):
        raise AssertionError("the seek path should have served this read")

    monkeypatch.setattr(vio._PyAVBackend, "_read_sequential", no_sequential)
    seeking = read_video(path, idx, backend="pyav")
    assert torch.equal(seeking, reference)


def test_avi_timestamps_use_sequential_decoding(tmp_path, monkeypatch):
    """AVI pts are unreliable (packed B-frames): PyAV must count pictures, never seek by pts."""
    path = tmp_path / "gop.avi"
    _encode(path, codec="mpeg4")
    reference = read_video(path, [5, 60, 99], backend="decord")

    def no_seeking(self, targets):
        raise AssertionError("AVI must not use pts seeking")

    monkeypatch.setattr(vio._PyAVBackend, "_read_seeking", no_seeking)
    assert torch.equal(read_video(path, [5, 60, 99], backend="pyav"), reference)
