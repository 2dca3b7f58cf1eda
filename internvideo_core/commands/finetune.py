r"""``internvideo finetune``: supervised fine-tuning of a video classifier (official VideoMAE recipe:
layer decay 0.75, mixup 0.8 / cutmix 1.0 with one box for all frames, label smoothing 0.1, drop path).

On a CPU with SynthMotion, starting from ``internvideo pretrain``::

    internvideo finetune --data data/synth --init runs/pretrain/model.safetensors --epochs 20 \
        --warmup-epochs 2 --output-dir runs/finetune

On GPUs (one process per GPU; ``--batch-size`` per GPU; lr scaled by total batch / 256)::

    torchrun --nproc_per_node 8 -m internvideo_core.commands.finetune --data k400/train.csv \
        --val-data k400/val.csv --data-root /data/k400 --model videomae_vit_base_patch16_224 \
        --init checkpoints/videomae_b_pt.pth --batch-size 8 --epochs 75 --warmup-epochs 5 --base-lr 5e-4

``--init`` takes this kit's pretraining ``checkpoint.pth`` / ``model.safetensors``, an official pretraining
``{"model": ...}`` file or a Hugging Face VideoMAE file (fc_norm and head start fresh). Writes
``checkpoint.pth`` (``--resume``), ``log.txt`` and ``model.safetensors``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from internvideo_core.commands import _training as T


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.model_config import resolve_weights, save_model
    from internvideo_core.data.datasets import kinetics_dataset
    from internvideo_core.registry import create_model
    from internvideo_core.train.distributed import cleanup_distributed, init_distributed
    from internvideo_core.train.finetune import FinetuneConfig, finetune, load_encoder_weights

    cfg = T.config_from_args(args, FinetuneConfig)
    info = init_distributed(None if cfg.device == "auto" else cfg.device)
    try:
        T.prepare_run(cfg, info.rank)  # output folder writable, seeded before the model is built
        data = T.resolve_classification_data(args.data, "train", args.data_root, args.classes)
        overrides = T.model_overrides(args.model_args)
        listed = kinetics_dataset(data.annotation, root=data.root, classes=data.classes).records  # nothing opened
        T.check_listed_files(listed, data.annotation, data.root)  # a fast stat of every video, before building
        num_classes = T.head_classes(data, listed, cfg.num_classes, overrides.get("num_classes"))
        overrides["num_classes"] = num_classes  # the head is sized by the data (T.head_classes)
        cfg = dataclasses.replace(cfg, num_classes=num_classes)
        if args.drop_path is not None:
            overrides.setdefault("drop_path_rate", args.drop_path)
        model = create_model(args.model, **overrides)
        if args.init:
            args.init = resolve_weights(args.init, "--init")  # a path or a released name
            report = load_encoder_weights(model, args.init)
            if info.is_main:
                print(f"initialised from {args.init}: {report.converted} tensors, "
                      f"new: {sorted(report.initialized)}")
        mc = model.config
        size, nf = args.img_size or mc.img_size, args.num_frames or mc.num_frames
        rate = args.sampling_rate or (1 if data.synth else 4)
        common = dict(root=data.root, classes=data.classes, size=size, num_frames=nf, rate=rate, seed=cfg.seed,
                      num_classes=model.num_classes or None)  # labels checked against the head when read
        train_ds = kinetics_dataset(data.annotation, mode="train", **common)
        cfg = dataclasses.replace(cfg, batch_size=cfg.batch_size or 8, device=str(info.device))
        T.require_samples(train_ds, data.annotation, cfg.batch_size, info.world_size)
        loader = T.make_loader(train_ds, cfg.batch_size, train=True, seed=cfg.seed, num_workers=args.num_workers)
        val_loader = None
        val_path = args.val_data
        if val_path is None and data.synth:
            val_path = str(T.resolve_classification_data(args.data, "val", args.data_root, args.classes).annotation)
        if val_path and val_path.lower() != "none":
            val_ds = T.WithIndex(kinetics_dataset(val_path, mode="val", **common))
            T.require_samples(val_ds, val_path)
            val_loader = T.make_loader(val_ds, cfg.batch_size, train=False, num_workers=args.num_workers)
        cfg = T.fit_schedule_to_run(cfg, cfg.steps_per_epoch or len(loader))
        if info.is_main:
            print(T.run_summary("finetune", cfg, model=args.model, clips=len(train_ds), classes=num_classes,
                                steps_per_epoch=cfg.steps_per_epoch or len(loader), world_size=info.world_size,
                                device=info.device, resume=args.resume), flush=True)
        result = finetune(model, loader, cfg, val_loader=val_loader, resume=args.resume)
        if info.is_main and cfg.output_dir:
            out = Path(cfg.output_dir)
            save_model(model, out / "model.safetensors", arch=args.model, overrides=overrides,
                       class_names=data.classes, command=getattr(args, "command_line", None),
                       input={"num_frames": nf, "img_size": size, "sampling_rate": rate, "sampling": "dense"})
            summary = {"model": args.model, "overrides": {k: str(v) for k, v in overrides.items()},
                       "steps": result.step, "epochs": result.epochs}
            (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
            last = result.epochs[-1] if result.epochs else {}
            acc = f", val top1 {last['top1']:.2f}" if "top1" in last else ""
            print(f"fine-tuning done: {result.step} steps{acc}, weights in {out / 'model.safetensors'}")
    finally:  # a barrier first on success only: after an error the other ranks may never arrive
        cleanup_distributed(synchronize=sys.exc_info()[0] is None)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from internvideo_core.paths import runs_dir
    from internvideo_core.train.config import FinetuneConfig

    p = sub.add_parser("finetune", help="fine-tune a video classifier (torchrun-ready)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    T.add_model_args(p, "videomae_vit_tiny_synth")
    p.add_argument("--init", default=None, help="pretrained weights to start from (see above)")
    p.add_argument("--drop-path", type=float, default=None, help="stochastic depth rate (model config "
                   "drop_path_rate; default: the model's)")
    T.add_data_args(p, val=True)
    T.add_config_args(p, FinetuneConfig)
    p.set_defaults(output_dir=str(runs_dir() / "finetune"))
    p.add_argument("--resume", default=None, help="continue from output_dir/checkpoint.pth of an interrupted run")
    T.add_speed_args(p, compile=False)
    p.set_defaults(func=T.with_speed_options(_run))


if __name__ == "__main__":
    sys.exit(T.run_main(register, "finetune"))
