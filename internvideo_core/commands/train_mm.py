r"""``internvideo train-mm``: video-text contrastive training of the InternVideo-MM dual encoder
(symmetric InfoNCE, learnable temperature clamped at 100, features gathered across GPUs, a random
paraphrase per video each step).

    internvideo synth --out data/synth --profile tutorial --parts captions
    internvideo train-mm --data data/synth --epochs 10 --base-lr 1e-4 --output-dir runs/train_mm
    # GPUs, MSR-VTT style data:
    torchrun --nproc_per_node 8 -m internvideo_core.commands.train_mm --data msrvtt/videodatainfo.json \
        --video-dir /data/msrvtt/videos --model internvideo_mm_b16 --init InternVideo-MM-B-16.ckpt \
        --batch-size 32 --epochs 5 --base-lr 1e-5

``--data``: a SynthMotion folder (its ``msrvtt/`` part) or an MSR-VTT ``videodatainfo.json``.
Writes ``checkpoint.pth`` (``--resume``), ``log.txt`` and ``model.safetensors``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from internvideo_core.commands import _training as T


class _AllCaptions:
    """``(clip, [every caption of the video])`` so the loop can draw a paraphrase each step."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        return self.dataset.load_clip(self.dataset.records[i].video_id), list(self.dataset.records[i].captions)


def _resolve(args: argparse.Namespace) -> tuple[Path, Path]:
    path = Path(args.data)
    if path.is_dir():
        manifest = path / "manifest.json"
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"] if manifest.is_file() else {}
        if "captions" not in files:
            raise SystemExit(f"{path} is not a SynthMotion folder with captions: generate it with "
                             f"`internvideo synth --out {path} --parts captions`")
        return path / files["captions"]["captions"], Path(args.video_dir) if args.video_dir else \
            path / Path(files["captions"]["video_template"]).parent
    if not path.is_file():
        raise SystemExit(f"annotation file {path} not found")
    if not args.video_dir:
        raise SystemExit("--video-dir is required with an annotation file")
    return path, Path(args.video_dir)


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.model_config import resolve_weights, save_model
    from internvideo_core.data.datasets import CaptionDataset
    from internvideo_core.registry import create_model
    from internvideo_core.train.contrastive import ContrastiveConfig, collate_video_text, train_contrastive
    from internvideo_core.train.distributed import cleanup_distributed, init_distributed

    cfg = T.config_from_args(args, ContrastiveConfig)
    info = init_distributed(None if cfg.device == "auto" else cfg.device)
    try:
        T.prepare_run(cfg, info.rank)  # output folder writable, seeded before the model is built
        overrides = T.model_overrides(args.model_args)
        init = resolve_weights(args.init, "--init") if args.init else None  # a path or a released name
        model = create_model(args.model, checkpoint_path=init, **overrides)
        model.train()
        annotation, video_dir = _resolve(args)
        mc = model.config
        nf, size = args.num_frames or mc.num_frames, args.img_size or mc.input_resolution
        ds = CaptionDataset(annotation, video_dir, split=args.split, mode="val", num_frames=nf, size=size,
                            seed=cfg.seed)
        cfg = dataclasses.replace(cfg, batch_size=cfg.batch_size or 8, device=str(info.device))
        T.require_samples(ds, annotation, cfg.batch_size, info.world_size)
        loader = T.make_loader(_AllCaptions(ds), cfg.batch_size, train=True, seed=cfg.seed,
                               num_workers=args.num_workers, collate_fn=collate_video_text)
        cfg = T.fit_schedule_to_run(cfg, cfg.steps_per_epoch or len(loader))
        if info.is_main:
            print(T.run_summary("train-mm", cfg, model=args.model, clips=len(ds), classes=None,
                                steps_per_epoch=cfg.steps_per_epoch or len(loader), world_size=info.world_size,
                                device=info.device, resume=args.resume), flush=True)
        result = train_contrastive(model, loader, cfg, resume=args.resume)
        if info.is_main and cfg.output_dir:
            out = Path(cfg.output_dir)
            save_model(model, out / "model.safetensors", arch=args.model, overrides=overrides,
                       command=getattr(args, "command_line", None),
                       input={"num_frames": nf, "img_size": size, "sampling": "uniform"})
            (out / "summary.json").write_text(json.dumps({"model": args.model, "steps": result.step,
                                                          "epochs": result.epochs}, indent=1), encoding="utf-8")
            print(f"contrastive training done: {result.step} steps, weights in {out / 'model.safetensors'}")
    finally:  # a barrier first on success only: after an error the other ranks may never arrive
        cleanup_distributed(synchronize=sys.exc_info()[0] is None)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from internvideo_core.paths import runs_dir
    from internvideo_core.train.config import ContrastiveConfig

    p = sub.add_parser("train-mm", help="video-text contrastive training of the dual encoder (torchrun-ready)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    T.add_model_args(p, "internvideo_mm_tiny_synth")
    p.add_argument("--init", default=None, help="weights to start from (e.g. a released InternVideo-MM .ckpt)")
    g = p.add_argument_group("data")
    g.add_argument("--data", required=True, help="SynthMotion folder or MSR-VTT videodatainfo.json")
    g.add_argument("--video-dir", default=None, help="folder of the videos (default: SynthMotion's)")
    g.add_argument("--split", default="train", help="split of videodatainfo.json (train, validate, test)")
    g.add_argument("--num-frames", type=int, default=None, help="frames per clip (default: the model's, 8)")
    g.add_argument("--img-size", type=int, default=None, help="crop size (default: the model's)")
    g.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes (0: decode in the main process)")
    T.add_config_args(p, ContrastiveConfig)
    p.set_defaults(output_dir=str(runs_dir() / "train_mm"))
    p.add_argument("--resume", default=None, help="continue from output_dir/checkpoint.pth of an interrupted run")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    sys.exit(T.run_main(register, "train-mm"))
