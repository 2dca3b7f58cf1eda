r"""``internvideo pretrain``: VideoMAE masked-autoencoder pretraining (tube masking, 90 % by default).

On a CPU with SynthMotion (minutes)::

    internvideo synth --out data/synth --profile tutorial --parts classification
    internvideo pretrain --data data/synth --epochs 20 --warmup-epochs 2 --output-dir runs/pretrain

On GPUs with real data, one process per GPU (NCCL; ``--batch-size`` is per GPU, the lr is scaled by the total
batch / 256; bf16 autocast by default)::

    torchrun --nproc_per_node 8 -m internvideo_core.commands.pretrain \
        --data k400/train.csv --data-root /data/k400 --model videomae_pretrain_base_patch16_224 \
        --batch-size 32 --epochs 800 --warmup-epochs 40 --sampling-rate 4 --output-dir runs/pt_b16
    # several nodes: torchrun --nnodes 2 --node_rank R --master_addr HOST --master_port 29500 --nproc_per_node 8 ...

Writes ``output_dir/checkpoint.pth`` (resume with ``--resume``), ``log.txt`` and, at the end,
``model.safetensors`` (load into a classifier with ``internvideo finetune --init``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from internvideo_core.commands import _training as T


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.model_config import save_model
    from internvideo_core.data.datasets import kinetics_dataset
    from internvideo_core.registry import create_model
    from internvideo_core.train.distributed import cleanup_distributed, init_distributed
    from internvideo_core.train.pretrain import PretrainConfig, pretrain

    cfg = T.config_from_args(args, PretrainConfig)
    info = init_distributed(None if cfg.device == "auto" else cfg.device)
    try:
        T.prepare_run(cfg, info.rank)  # output folder writable, seeded before the model is built
        data = T.resolve_classification_data(args.data, "train", args.data_root, args.classes)
        listed = kinetics_dataset(data.annotation, root=data.root, classes=data.classes).records  # nothing opened
        T.check_listed_files(listed, data.annotation, data.root)  # a fast stat of every video, before building
        overrides = T.model_overrides(args.model_args)
        model = create_model(args.model, **overrides)
        mc = model.config
        rate = args.sampling_rate or (1 if data.synth else 4)
        size, nf = args.img_size or mc.img_size, args.num_frames or mc.num_frames
        ds = kinetics_dataset(data.annotation, root=data.root, classes=data.classes, mode="train",
                              size=size, num_frames=nf, rate=rate, seed=cfg.seed)
        cfg = dataclasses.replace(cfg, batch_size=cfg.batch_size or 8, device=str(info.device))
        T.require_samples(ds, data.annotation, cfg.batch_size, info.world_size)
        loader = T.make_loader(ds, cfg.batch_size, train=True, seed=cfg.seed, num_workers=args.num_workers)
        cfg = T.fit_schedule_to_run(cfg, cfg.steps_per_epoch or len(loader))
        if info.is_main:
            print(T.run_summary("pretrain", cfg, model=args.model, clips=len(ds), classes=None,
                                steps_per_epoch=cfg.steps_per_epoch or len(loader), world_size=info.world_size,
                                device=info.device, resume=args.resume), flush=True)
        result = pretrain(model, loader, cfg, resume=args.resume)
        if info.is_main and cfg.output_dir:
            out = Path(cfg.output_dir)
            save_model(model, out / "model.safetensors", arch=args.model, overrides=overrides,
                       command=getattr(args, "command_line", None),
                       input={"num_frames": nf, "img_size": size, "sampling_rate": rate, "sampling": "dense"})
            summary = {"model": args.model, "steps": result.step, "final_loss": result.losses[-1] if result.losses
                       else None, "epochs": result.epochs}
            (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
            print(f"pretraining done: {result.step} steps, weights in {out / 'model.safetensors'}")
    finally:  # a barrier first on success only: after an error the other ranks may never arrive
        cleanup_distributed(synchronize=sys.exc_info()[0] is None)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from internvideo_core.paths import runs_dir
    from internvideo_core.train.config import PretrainConfig

    p = sub.add_parser("pretrain", help="VideoMAE masked-autoencoder pretraining (torchrun-ready)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    T.add_model_args(p, "videomae_pretrain_tiny_synth")
    T.add_data_args(p)
    T.add_config_args(p, PretrainConfig)
    p.set_defaults(output_dir=str(runs_dir() / "pretrain"))
    p.add_argument("--resume", default=None, help="continue from output_dir/checkpoint.pth of an interrupted run")
    T.add_speed_args(p, compile=False)
    p.set_defaults(func=T.with_speed_options(_run))


if __name__ == "__main__":
    sys.exit(T.run_main(register, "pretrain"))
