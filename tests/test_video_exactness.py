"""The reader never returns a wrong frame: exact indices on AVI (where decord's seeking once returned frame 82
in place of frame 163 without an error), many times, in several processes and under CPU load, compared with
PyAV decoding every picture in order; one reference path for 10-bit video; decoding to a pixel budget."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from internvideo_core.paths import sample_video
from internvideo_core.data.io import open_video, read_video

REPO = Path(__file__).resolve().parents[1]
AVI = sample_video("test.avi")
INDICES = [0, 5, 82, 163]


def _sequential_pyav(path: Path, indices: list[int]) -> np.ndarray:
    """The reference: decode every picture in order with PyAV and keep the ``i``-th ones."""
    import av

    want, out = set(indices), {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(container.streams.video[0])):
            if i in want:
                out[i] = frame.to_ndarray(format="rgb24")
            if i >= max(indices):
                break
    return np.stack([out[i] for i in indices])


def test_auto_backend_reads_avi_with_the_exact_decoder():
    with open_video(AVI) as video:
        assert video.backend == "pyav"  # AVI timestamps cannot locate frames: decoded pictures are counted
    assert np.array_equal(read_video(AVI, INDICES).numpy(), _sequential_pyav(AVI, INDICES))


_WORKER = textwrap.dedent("""
    import hashlib, json, sys
    from internvideo_core.data.io import read_video
    path, reps, indices = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    digests = []
    for _ in range(reps):
        frames = read_video(path, indices).numpy()
        digests.append([hashlib.sha256(f.tobytes()).hexdigest() for f in frames])
    print(json.dumps(digests))
""")

_BURNER = "import time\nend = time.time() + 60\nwhile time.time() < end:\n    sum(i * i for i in range(10000))\n"


def test_avi_indices_0_5_82_163_are_exact_every_time_in_several_processes_under_load():
    import hashlib

    want = [hashlib.sha256(f.tobytes()).hexdigest() for f in _sequential_pyav(AVI, INDICES)]
    burner = subprocess.Popen([sys.executable, "-c", _BURNER])  # CPU load next to the readers
    try:
        workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(AVI), "10", json.dumps(INDICES)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
                   for _ in range(3)]
        results = []
        for w in workers:
            out, err = w.communicate(timeout=120)
            assert w.returncode == 0, err
            results.append(json.loads(out))
    finally:
        burner.kill()
        burner.wait()
    # and in this process, repeatedly
    results.append([[hashlib.sha256(f.tobytes()).hexdigest() for f in read_video(AVI, INDICES).numpy()]
                    for _ in range(12)])
    wrong = [(p, r, INDICES[k]) for p, reads in enumerate(results) for r, got in enumerate(reads)
             for k in range(len(INDICES)) if got[k] != want[k]]
    assert not wrong, f"wrong frames (process, read, index): {wrong[:10]} of {sum(map(len, results))} reads"


def _write_10bit_h264(path: Path, frames: int = 8) -> None:
    import av

    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p10le"
        for _ in range(frames):
            picture = av.VideoFrame.from_ndarray((rng.random((48, 64, 3)) * 255).astype(np.uint8), format="rgb24")
            for packet in stream.encode(picture.reformat(format="yuv420p10le")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_10bit_h264_has_one_reference_path_pyav(tmp_path):
    path = tmp_path / "ten_bit.mp4"
    try:
        _write_10bit_h264(path)
    except Exception as err:  # pragma: no cover - an FFmpeg build without 10-bit x264
        pytest.skip(f"this FFmpeg cannot encode 10-bit H.264: {err}")
    with open_video(path) as video:
        assert video.backend == "pyav"
    got = read_video(path, [0, 3, 7]).numpy()
    assert np.array_equal(got, _sequential_pyav(path, [0, 3, 7]))
    assert np.array_equal(got, read_video(path, [0, 3, 7], backend="pyav").numpy())


def test_pixel_budget_scales_at_decode_time_keeping_the_aspect():
    mp4 = sample_video("test.mp4")  # 340 x 256
    with open_video(mp4, max_pixels=20_000) as video:
        w, h = video.output_size
        frames = video.read([0, 7])
    assert w * h <= 20_000 and w % 2 == 0 and h % 2 == 0 and abs(w / h - 340 / 256) < 0.05
    assert tuple(frames.shape) == (2, h, w, 3) and frames.dtype == torch.uint8
    full = read_video(mp4, [0]).float().permute(0, 3, 1, 2)
    small = torch.nn.functional.interpolate(full, size=(h, w), mode="area")
    assert (small[0].permute(1, 2, 0) - frames[0].float()).abs().mean() < 4  # the same picture, smaller
    with open_video(mp4, max_pixels=10**7) as video:  # within the budget: untouched
        assert video.output_size == (340, 256)
