#!/usr/bin/env python
"""The kit's video input pipeline against the decoder's limit, in ONE process (CPU).

Three input paths, each the real code the commands run:
  ``test``   the VideoMAE Kinetics test protocol, 5 clips x 3 crops: ``ClipDataset(mode="test")`` ->
             float ``[15, 3, 16, 224, 224]`` per video (``internvideo evaluate``);
  ``train``  the fine-tuning sampler: ``ClipDataset(mode="train")`` (dense 16 x 4 window, random resized crop,
             normalisation) -> ``[3, 16, 224, 224]`` (``internvideo finetune`` / ``pretrain``);
  ``mm``     the InternVideo-MM 8-frame path: ``load_mm_clip`` -> ``[3, 8, 224, 224]`` (zero-shot, retrieval,
             the demo);
each through a ``DataLoader`` (default collate) with 0, 1 and 2 workers (``--workers``), on the bundled real
clips (``internvideo_core/assets/videos``) and on longer SynthMotion mp4 files (rendered and written by the
kit's SynthMotion code into ``--synth-dir``, or taken from a folder ``internvideo synth`` wrote).

The limit: the SAME frames (the union the kit decodes for that item) decoded by decord alone -
``decord.VideoReader(path, num_threads=...).get_batch(frames).asnumpy()``, no kit code - through the same
DataLoader and worker count, with the decoder thread count the kit uses there (all cores in the main process,
1 in a worker). ``kit / limit`` = the kit's clips/s over the limit's; the target is >= 0.8. Rates are the best
of ``--repeats`` alternating runs (limit, kit, limit, kit ...) so background load hits both alike; ``per CPU-s``
divides clips by the CPU seconds of the main process and its workers (``per core``), ``per worker`` the
clips/s by the number of processes doing the work.

Decoders (``--decoders``): decord, PyAV (the kit's frame-exact reader) and torchcodec (when it imports), on a
seek-heavy read (the test protocol's frames) and a sequential read (every frame), one decoder thread each:
milliseconds of CPU per read and whether the frames equal the kit's reference (PyAV decode order).

extract-features: snippets/s of ``extract_video_features`` over the longest video, with decode, preprocess and
model seconds separated (``--extract-model``, default the tiny SynthMotion ViT).

    python benchmarks/bench_pipeline.py                       # the full CPU table (a few minutes)
    python benchmarks/bench_pipeline.py --quick --out /tmp/p.json   # seconds (tests)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from internvideo_core import paths  # noqa: E402
from internvideo_core.data.annotations import VideoRecord  # noqa: E402
from internvideo_core.data.datasets import ClipDataset  # noqa: E402
from internvideo_core.data.pipelines import load_mm_clip  # noqa: E402
from internvideo_core.data.sampling import dense_views, union_indices, uniform_indices  # noqa: E402

PROTOCOLS = ("test", "train", "mm")
REAL = ("arm_wrestling_demo.mp4", "test.mp4")


# ---------------------------------------------------------------------------------------------- videos
def synth_videos(folder: Path, count: int, num_frames: int, size: int) -> list[Path]:
    """``count`` SynthMotion mp4 files of ``num_frames`` frames at ``size`` x ``size`` in ``folder``: an
    ``internvideo synth`` output (its ``*.mp4`` files, longest first) or rendered here with the kit's code."""
    found = sorted(folder.rglob("*.mp4")) if folder.is_dir() else []
    if len(found) >= count:
        return found[:count]
    from internvideo_core.data.synthmotion_render import KNOWN_MOTIONS, SynthConfig, render_clip
    from internvideo_core.data.synthmotion_writers import write_mp4

    folder.mkdir(parents=True, exist_ok=True)
    cfg = SynthConfig(size=size, num_frames=num_frames, fps=30.0, clutter=2)
    out = []
    for i in range(count):
        path = folder / f"synth_{num_frames}f_{size}px_{i}.mp4"
        if not path.exists():
            frames, _ = render_clip(KNOWN_MOTIONS[i % len(KNOWN_MOTIONS)], i, cfg)
            write_mp4(path, frames, cfg.fps)
        out.append(path)
    return out


# ---------------------------------------------------------------------------------------------- datasets
def _decoder_threads() -> int:
    return 1 if torch.utils.data.get_worker_info() is not None else 0  # what the kit's open_video does


class KitInput(Dataset):
    """Item ``i`` of the kit's input path ``protocol`` on ``videos[i % len(videos)]``."""

    def __init__(self, protocol: str, videos: list[Path], items: int) -> None:
        self.protocol, self.videos, self.items = protocol, videos, items
        recs = [VideoRecord(str(v), 0) for v in videos]
        mode = {"test": "test", "train": "train"}.get(protocol)
        self.ds = ClipDataset(recs, mode=mode, num_frames=16, rate=4, size=224) if mode else None

    def __len__(self) -> int:
        return self.items

    def __getitem__(self, i: int) -> torch.Tensor:
        if self.ds is None:
            return load_mm_clip(self.videos[i % len(self.videos)])
        return self.ds[i % len(self.videos)][0]

    def frames(self, i: int, num_frames: int) -> np.ndarray:
        """The distinct frames item ``i`` decodes (the kit's samplers, same seeds)."""
        if self.protocol == "mm":
            return np.unique(uniform_indices(num_frames, 8))
        if self.protocol == "test":
            return union_indices(dense_views(num_frames, 16, 4, 5))[0]
        j = i % len(self.videos)
        return np.unique(self.ds.indices(num_frames, self.ds._rngs(j)[0]))


class DecoderLimit(Dataset):
    """The same frames as :class:`KitInput`, decoded by decord alone -> uint8 ``[U, H, W, 3]``."""

    def __init__(self, kit: KitInput) -> None:
        import decord

        self.videos = kit.videos
        self.frames = [kit.frames(i, len(decord.VideoReader(str(kit.videos[i % len(kit.videos)]))))
                       for i in range(len(kit))]

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> torch.Tensor:
        import decord

        vr = decord.VideoReader(str(self.videos[i % len(self.videos)]), ctx=decord.cpu(0),
                                num_threads=_decoder_threads())
        return torch.from_numpy(vr.get_batch(self.frames[i].tolist()).asnumpy())


def _as_list(batch: list) -> list:
    return batch


def _cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_loader(ds: Dataset, workers: int, batch: int, stack: bool) -> tuple[float, float]:
    """``(wall s, CPU s)`` of one full pass of a DataLoader over ``ds`` (workers started and joined inside)."""
    loader = DataLoader(ds, batch_size=batch, num_workers=workers, collate_fn=None if stack else _as_list)
    c0, t0 = _cpu_seconds(), time.perf_counter()
    for _ in loader:
        pass
    del loader
    return time.perf_counter() - t0, _cpu_seconds() - c0


def pipeline_cell(protocol: str, videos: list[Path], workers: int, items: int, repeats: int) -> dict[str, Any]:
    kit = KitInput(protocol, videos, items)
    limit = DecoderLimit(kit)
    batch = 1 if protocol == "test" else 4
    runs: dict[str, list[tuple[float, float]]] = {"limit": [], "kit": []}
    for _ in range(repeats):
        runs["limit"].append(run_loader(limit, workers, batch, stack=False))
        runs["kit"].append(run_loader(kit, workers, batch, stack=True))
    out: dict[str, Any] = {"protocol": protocol, "workers": workers, "items": items, "batch": batch,
                           "videos": [v.name for v in videos]}
    procs = max(workers, 1)
    for name, rs in runs.items():
        wall, cpu = min(r[0] for r in rs), min(r[1] for r in rs)
        out[name] = {"clips_per_s": items / wall, "clips_per_s_per_worker": items / wall / procs,
                     "clips_per_cpu_s": items / max(cpu, 1e-9), "wall_s": [r[0] for r in rs],
                     "cpu_s": [r[1] for r in rs]}
    out["ratio"] = out["kit"]["clips_per_s"] / out["limit"]["clips_per_s"]
    out["ratio_cpu"] = out["kit"]["clips_per_cpu_s"] / out["limit"]["clips_per_cpu_s"]
    return out


# ---------------------------------------------------------------------------------------------- decoders
def torchcodec_status() -> str:
    """``"ok"`` or why torchcodec cannot decode here."""
    import contextlib
    import io

    from internvideo_core.data.video_backends import _have_torchcodec

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # its loader prints one traceback per FFmpeg version
            import torchcodec.decoders  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure is a status
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    return "ok" if _have_torchcodec() else "imports, but finds no FFmpeg 4-8 shared libraries (conda install ffmpeg)"


def decoders() -> dict[str, Callable[[Path, np.ndarray], np.ndarray]]:
    """Name -> ``read(path, sorted unique frames) -> uint8 [U, H, W, 3]`` with one decoder thread."""
    from internvideo_core.data.io import open_video

    def decord_read(path: Path, idx: np.ndarray) -> np.ndarray:
        import decord

        return decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1).get_batch(idx.tolist()).asnumpy()

    def pyav_read(path: Path, idx: np.ndarray) -> np.ndarray:
        return open_video(path, backend="pyav", num_threads=1).read(idx).numpy()

    out = {"decord": decord_read, "pyav": pyav_read}
    if torchcodec_status() == "ok":
        def torchcodec_read(path: Path, idx: np.ndarray) -> np.ndarray:
            from torchcodec.decoders import VideoDecoder

            dec = VideoDecoder(str(path), dimension_order="NHWC", num_ffmpeg_threads=1, seek_mode="exact")
            return dec.get_frames_at(indices=idx.tolist()).data.numpy()

        out["torchcodec"] = torchcodec_read
    return out


def decoder_cells(videos: list[Path], repeats: int) -> list[dict[str, Any]]:
    from internvideo_core.data.io import open_video

    rows = []
    readers = decoders()
    for path in videos:
        n = open_video(path).info.num_frames
        for pattern, idx in (("seek", union_indices(dense_views(n, 16, 4, 5))[0]), ("sequential", np.arange(n))):
            ref = readers["pyav"](path, idx)
            for name, read in readers.items():
                times = []
                for _ in range(repeats):
                    c0 = time.process_time()
                    got = read(path, idx)
                    times.append(time.process_time() - c0)
                exact = got.shape == ref.shape and bool(np.array_equal(got, ref))
                rows.append({"video": path.name, "pattern": pattern, "frames": int(len(idx)), "decoder": name,
                             "cpu_ms": 1e3 * min(times), "frames_per_cpu_s": len(idx) / max(min(times), 1e-9),
                             "exact": exact})
    return rows


# ---------------------------------------------------------------------------------------------- extract-features
def extract_cell(video: Path, model_name: str) -> dict[str, Any]:
    from internvideo_core.features.snippets import extract_video_features
    from internvideo_core.registry import create_model

    model = create_model(model_name).eval()
    res = extract_video_features(model, video, batch_size=16)
    t = res.timings
    return {"video": video.name, "model": model_name, "snippets": len(res.features),
            "snippets_per_s": len(res.features) / t["total"], **{f"{k}_s": v for k, v in t.items()}}


# ---------------------------------------------------------------------------------------------- report
def markdown(report: dict[str, Any]) -> str:
    lines = [f"Pipeline vs decoder limit ({report['meta']['cpu']}, {report['meta']['cores']} cores, load "
             f"{report['meta']['load_before']}); best of {report['meta']['repeats']} alternating runs", "",
             "| input | videos | workers | kit clips/s | limit clips/s | kit / limit | kit clips/CPU-s | "
             "limit clips/CPU-s | kit / limit (CPU) | kit clips/s/worker |", "|" + "---|" * 10]
    for r in report["pipeline"]:
        lines.append(f"| {r['protocol']} | {r['set']} | {r['workers']} | {r['kit']['clips_per_s']:.2f} | "
                     f"{r['limit']['clips_per_s']:.2f} | **{r['ratio']:.2f}** | {r['kit']['clips_per_cpu_s']:.2f} | "
                     f"{r['limit']['clips_per_cpu_s']:.2f} | {r['ratio_cpu']:.2f} | "
                     f"{r['kit']['clips_per_s_per_worker']:.2f} |")
    lines += ["", f"Decoders, one thread (torchcodec: {report['meta']['torchcodec']})", "",
              "| video | read | frames | decoder | CPU ms | frames/CPU-s | exact |", "|" + "---|" * 7]
    for r in report["decoders"]:
        lines.append(f"| {r['video']} | {r['pattern']} | {r['frames']} | {r['decoder']} | {r['cpu_ms']:.1f} | "
                     f"{r['frames_per_cpu_s']:.0f} | {'yes' if r['exact'] else 'NO'} |")
    e = report.get("extract")
    if e:
        lines += ["", f"extract-features on {e['video']} ({e['model']}): {e['snippets']} snippets, "
                  f"{e['snippets_per_s']:.1f} snippets/s end to end; decode {e['decode_s']:.2f} s, preprocess "
                  f"{e['preprocess_s']:.2f} s, model {e['model_s']:.2f} s of {e['total_s']:.2f} s"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny run for tests (1 real clip, short synth, 0/1 worker)")
    p.add_argument("--protocols", default=",".join(PROTOCOLS))
    p.add_argument("--workers", default="0,1,2")
    p.add_argument("--items", type=int, default=8, help="clips per DataLoader pass")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--synth-dir", default=None, help="SynthMotion mp4 folder (default: rendered into a temp folder)")
    p.add_argument("--synth-frames", type=int, default=300)
    p.add_argument("--synth-size", type=int, default=256)
    p.add_argument("--sets", default="real,synth")
    p.add_argument("--extract-model", default="videomae_vit_tiny_synth", help="'' skips extract-features")
    p.add_argument("--threads", type=int, default=1, help="torch threads of the main process")
    p.add_argument("--out", default=None)
    p.add_argument("--markdown", default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.workers, args.items, args.repeats = "0,1", 2, 1
        args.synth_frames, args.synth_size = 72, 64
    torch.set_num_threads(args.threads)
    synth_dir = Path(args.synth_dir or Path(os.environ.get("TMPDIR", "/tmp")) / "internvideo_bench_synth")
    sets = {"real": [paths.sample_video(n) for n in (REAL[:1] if args.quick else REAL)],
            "synth": synth_videos(synth_dir, 1 if args.quick else 2, args.synth_frames, args.synth_size)}
    sets = {k: v for k, v in sets.items() if k in args.sets.split(",")}
    report: dict[str, Any] = {"meta": {
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "torch": torch.__version__,
        "load_before": " ".join(f"{x:.1f}" for x in os.getloadavg()), "repeats": args.repeats,
        "torchcodec": torchcodec_status(), "argv": sys.argv[1:] if argv is None else argv},
        "pipeline": [], "decoders": []}
    for set_name, videos in sets.items():
        for protocol in args.protocols.split(","):
            for w in (int(x) for x in args.workers.split(",")):
                cell = pipeline_cell(protocol, videos, w, args.items, args.repeats)
                report["pipeline"].append({"set": set_name, **cell})
                print(f"{protocol:5s} {set_name:5s} workers {w}: kit {cell['kit']['clips_per_s']:.2f} clips/s, "
                      f"limit {cell['limit']['clips_per_s']:.2f}, ratio {cell['ratio']:.2f} "
                      f"(CPU {cell['ratio_cpu']:.2f})", flush=True)
    report["decoders"] = decoder_cells([v for vs in sets.values() for v in vs], max(args.repeats, 1))
    if args.extract_model:
        longest = max((v for vs in sets.values() for v in vs), key=lambda v: v.stat().st_size)
        report["extract"] = extract_cell(longest, args.extract_model)
    report["meta"]["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    text = markdown(report)
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
