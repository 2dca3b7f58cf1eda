r"""``internvideo evaluate``: multi-view testing of a video classifier (official protocol: softmax per view,
mean over clips x crops, top-1 / top-5).

    internvideo evaluate --data data/synth --checkpoint runs/finetune/model.safetensors
    # Kinetics-400 with a released checkpoint, 5 clips x 3 crops, 8 GPUs:
    torchrun --nproc_per_node 8 -m internvideo_core.commands.evaluate --data k400/test.csv \
        --data-root /data/k400 --model videomae_vit_base_patch16_224 --checkpoint vit_b_k400_ft.pth \
        --num-clips 5 --num-crops 3 --sampling-rate 4 --short-side 224

``--checkpoint`` takes this kit's ``checkpoint.pth`` (``--ema`` for its EMA weights) / ``model.safetensors``,
released ``{"module": ...}`` files and Hugging Face VideoMAE classifiers.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from internvideo_core.commands import _training as T


def _load(args: argparse.Namespace, overrides: dict):
    import torch

    from internvideo_core.registry import create_model

    if not args.ema:
        return create_model(args.model, checkpoint_path=args.checkpoint, **overrides)
    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    ema = ckpt.get("ema") if isinstance(ckpt, dict) else None
    if ema is None:
        raise SystemExit(f"{args.checkpoint} holds no EMA weights (train with --model-ema)")
    model = create_model(args.model, **overrides)
    model.load_state_dict({k.removeprefix("module."): v for k, v in ema.items()}, strict=True)
    return model.eval()


def _check_head(model, args: argparse.Namespace) -> None:
    """Refuse a checkpoint without a classification head (its scores would be chance), unless
    ``--allow-random-head``; the load report is printed either way when it lists new weights."""
    from internvideo_core.checkpoint import CheckpointError, refuse_new_head

    report = getattr(model, "load_report", None)
    try:
        new = refuse_new_head(report, args.checkpoint, allow=args.allow_random_head)
    except CheckpointError as err:
        raise SystemExit(f"error: {err}\n{report.summary()}") from None
    if new:
        print(f"warning: scoring a randomly initialised head ({', '.join(new)}): --allow-random-head\n"
              f"{report.summary()}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.data.datasets import kinetics_dataset
    from internvideo_core.train.distributed import cleanup_distributed, init_distributed
    from internvideo_core.train.evaluate import evaluate

    info = init_distributed(None if args.device == "auto" else args.device)
    try:
        data = T.resolve_classification_data(args.data, args.split, args.data_root, args.classes)
        overrides = T.model_overrides(args.model_args)
        if data.classes is not None:
            overrides.setdefault("num_classes", len(data.classes))
        model = _load(args, overrides).to(info.device)
        _check_head(model, args)
        mc = model.config
        ds = kinetics_dataset(data.annotation, root=data.root, classes=data.classes, mode="test",
                              size=args.img_size or mc.img_size, num_frames=args.num_frames or mc.num_frames,
                              rate=args.sampling_rate or (1 if data.synth else 4), num_clips=args.num_clips,
                              num_crops=args.num_crops, short_side=args.short_side,
                              num_classes=model.num_classes or None)  # labels checked against the head when read
        T.require_samples(ds, data.annotation)
        loader = T.make_loader(T.WithIndex(ds), args.batch_size, train=False, num_workers=args.num_workers)
        res = evaluate(model, loader, device=info.device, precision=args.precision)
        if info.is_main:
            print(f"{data.annotation}: top1 {res['top1']:.2f}  top5 {res['top5']:.2f}  "
                  f"({res['num_videos']} videos x {res['num_views']} views)")
            if args.output:
                Path(args.output).parent.mkdir(parents=True, exist_ok=True)
                Path(args.output).write_text(json.dumps({"checkpoint": str(args.checkpoint), "model": args.model,
                                                         "data": str(data.annotation), **res}, indent=1),
                                             encoding="utf-8")
    finally:
        cleanup_distributed()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="multi-view top-1/top-5 of a classifier (torchrun-ready)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    T.add_model_args(p, "videomae_vit_tiny_synth")
    p.add_argument("--checkpoint", required=True, help="weights to evaluate")
    p.add_argument("--ema", action="store_true", help="use the EMA weights of a kit training checkpoint")
    p.add_argument("--allow-random-head", action="store_true",
                   help="evaluate even when the checkpoint has no classification head (new, random weights: "
                        "chance accuracy); refused by default")
    T.add_data_args(p)
    p.add_argument("--split", default="test", help="SynthMotion split (train, val, test; default test)")
    p.add_argument("--num-clips", type=int, default=5, help="temporal views (K400: 5)")
    p.add_argument("--num-crops", type=int, default=3, help="spatial crops (K400: 3)")
    p.add_argument("--short-side", type=int, default=None, help="resize the short side before cropping "
                   "(default: the crop size)")
    p.add_argument("--batch-size", type=T.positive_int, default=4, help="videos per process and batch")
    p.add_argument("--precision", default="auto", help="auto (bf16 on CUDA, fp32 on CPU), fp32, bf16, fp16")
    p.add_argument("--device", default="auto")
    p.add_argument("--output", default=None, help="write the metrics as JSON here")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    sys.exit(T.run_main(register, "evaluate"))
