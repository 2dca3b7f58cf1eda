"""One small upload must not exhaust the demo server's memory: an 8K clip (7680 x 4320, 24 frames, a few
hundred KB) is decoded to the demo's pixel budget, and the clip cache is bounded by bytes.

Measured in a fresh subprocess (peak RSS from the process's own ``VmHWM``, current RSS from psutil) so that the
numbers are this workload's alone. Before the fix one such upload cost ~1.2 GB per clip in the cache
(100 MB per decoded 8K frame) and 6 GB at the peak.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
#: Allowed growth of the demo process over its size after start-up, for any number of 8K uploads.
CEILING_MB = 600


def _write_8k_clip(path: Path, frames: int = 24) -> None:
    """A 7680 x 4320 H.264 clip of ``frames`` frames at a very low bitrate (flat frames, x264 ultrafast)."""
    import av

    width, height = 7680, 4320
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24, options={"preset": "ultrafast", "crf": "51"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        yuv = np.full((height * 3 // 2, width), 128, np.uint8)
        for i in range(frames):
            yuv[:height] = 16 + i
            for packet in stream.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


_SCRIPT = textwrap.dedent("""
    import json, shutil, sys
    from pathlib import Path
    import numpy as np, psutil, torch
    torch.set_num_threads(1)
    from internvideo_core.demo.service import DemoService

    src, folder, uploads, ceiling = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    service = DemoService(profile="smoke", synth_examples=0, example_dir=folder / "examples", device="cpu")
    proc = psutil.Process()

    def status_bytes(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def file_backed() -> int:  # library pages mapped from disk: they count in RSS when first touched, not allocations
        return status_bytes("RssFile")

    # The peak is this process's own high-water mark (VmHWM). ru_maxrss would not do: Linux carries the parent's
    # high-water mark across fork + exec, so a child of a large pytest process "peaks" at the parent's size.

    base, base_file = proc.memory_info().rss, file_backed()
    report = {"base_mb": base / 2**20, "uploads": 0}
    for i in range(uploads):
        path = folder / f"upload_{i}.mp4"  # every upload is a new file, as Gradio stores them
        shutil.copy(src, path)
        info, frames = service.preview(path)
        clip = service.clip(path)
        service._frames(clip, np.arange(clip.num_frames))  # a model reading every frame of it
        report["uploads"] = i + 1
        report["info"] = info
        report["frame_shape"] = list(frames[0][0].shape)
        paged_in = max(0, file_backed() - base_file)  # on a loaded machine, library pages evicted before `base`
        report["peak_mb"] = (status_bytes("VmHWM") - base - paged_in) / 2**20
        report["now_mb"] = (proc.memory_info().rss - base - paged_in) / 2**20
        report["cache_mb"] = service.cached_bytes() / 2**20
        if report["peak_mb"] > ceiling:  # stop early: do not push a shared machine into swapping
            break
    print(json.dumps(report))
""")


@pytest.mark.slow
def test_repeated_8k_uploads_keep_the_demo_under_a_memory_ceiling(tmp_path):
    clip = tmp_path / "8k.mp4"
    _write_8k_clip(clip)
    assert clip.stat().st_size < 2_000_000  # a small upload
    out = subprocess.run([sys.executable, "-c", _SCRIPT, str(clip), str(tmp_path), "6", str(CEILING_MB)],
                         capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["uploads"] == 6, report
    assert report["peak_mb"] < CEILING_MB and report["now_mb"] < CEILING_MB, report
    assert "7680x4320" in report["info"] and "decoded at" in report["info"], report["info"]
    h, w, _ = report["frame_shape"]
    assert h * w <= 640 * 480, report
    assert report["cache_mb"] <= 256, report
