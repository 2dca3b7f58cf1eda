r"""``internvideo evaluate``: multi-view testing of a video classifier (official protocol: softmax per view,
mean over clips x crops, top-1 / top-5).

    internvideo evaluate --data data/synth --checkpoint runs/finetune/model.safetensors
    # Kinetics-400 with a released checkpoint, 5 clips x 3 crops, 8 GPUs:
    torchrun --nproc_per_node 8 -m internvideo_core.commands.evaluate --data k400/test.csv \
        --data-root /data/k400 --model videomae_vit_base_patch16_224 --checkpoint vit_b_k400_ft.pth \
        --num-clips 5 --num-crops 3 --sampling-rate 4 --short-side 224

    # a released checkpoint by name: model, label count and the official test protocol from the zoo entry
    internvideo evaluate --pretrained videomae_vit_base_k400 --data k400/test.csv --data-root /data/k400

``--checkpoint`` takes this kit's ``checkpoint.pth`` (``--ema`` for its EMA weights) / ``model.safetensors``,
released ``{"module": ...}`` files and Hugging Face VideoMAE classifiers. ``--pretrained NAME`` loads a zoo entry
through :func:`internvideo_core.pretrained.load_pretrained` (from the cache, or ``--checkpoint`` as its file)
and takes the sampling, frames, rate, short side, crop, mean/std and clips x crops of the entry's input
protocol; each flag given overrides it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from internvideo_core.commands import _training as T


_DEFAULT_MODEL = "videomae_vit_tiny_synth"


def _describe_from_saved(args: argparse.Namespace, is_main: bool) -> dict | None:
    """Take the model from ``config.json`` beside ``--checkpoint`` when ``--model`` is not given (a released name
    as ``--checkpoint`` becomes ``--pretrained``); returns the description (``None``: none used)."""
    from internvideo_core.model_config import read_model_config
    from internvideo_core.registry import list_pretrained

    if args.checkpoint and not args.pretrained and not Path(args.checkpoint).exists() \
            and args.checkpoint in list_pretrained():
        args.pretrained, args.checkpoint = args.checkpoint, None
    saved = None if args.pretrained else read_model_config(args.checkpoint)
    if args.model is None:
        args.model = saved["architecture"] if saved else _DEFAULT_MODEL
        if saved is None and not args.pretrained and is_main and Path(args.checkpoint or "").is_file():
            print(f"note: no config.json beside {args.checkpoint}: assuming --model {_DEFAULT_MODEL} (give --model "
                  "and --model-args for other architectures)", file=sys.stderr)
    if saved is not None and saved["architecture"] != args.model:
        saved = None  # --model given for another architecture: the description does not apply
    return saved


def _load_pretrained(args: argparse.Namespace, overrides: dict):
    """``(model, InputSpec)`` of the zoo entry ``--pretrained`` (``--checkpoint`` as its file when given)."""
    from internvideo_core.pretrained import load_pretrained

    model, pre, _ = load_pretrained(args.pretrained, checkpoint_path=args.checkpoint, head_subset=args.head_subset,
                                    **overrides)
    return model, pre.spec


def _dataset_protocol(args: argparse.Namespace, model, spec, synth: bool, saved: dict | None = None) -> dict:
    """Sampling arguments of the test dataset: the flags given, else the entry's protocol (``spec``), else the
    input of the saved model's ``config.json`` (``saved``), else the model's size and the K400 protocol (16 x 4
    for real data, rate 1 for SynthMotion, 5 x 3 views)."""
    mc = model.config
    if spec is not None:
        proto = dict(sampling=spec.sampling, size=spec.crop_size, num_frames=spec.num_frames,
                     rate=spec.frame_interval, num_clips=spec.test_clips, num_views=spec.test_clips,
                     num_crops=spec.test_crops, short_side=spec.short_side, mean=spec.mean, std=spec.std)
    else:
        proto = dict(sampling="dense", size=mc.img_size, num_frames=mc.num_frames, rate=1 if synth else 4,
                     num_clips=5, num_views=2, num_crops=3, short_side=None)
        inp = (saved or {}).get("input") or {}
        proto.update({k: inp[src] for k, src in (("size", "img_size"), ("num_frames", "num_frames"),
                                                 ("rate", "sampling_rate")) if inp.get(src)})
    given = dict(size=args.img_size, num_frames=args.num_frames, rate=args.sampling_rate, num_clips=args.num_clips,
                 num_views=args.num_clips, num_crops=args.num_crops, short_side=args.short_side)
    proto.update({k: v for k, v in given.items() if v is not None})
    return proto


def _load(args: argparse.Namespace, overrides: dict):
    import torch

    from internvideo_core.registry import create_model

    if not args.ema:
        return create_model(args.model, checkpoint_path=args.checkpoint, head_subset=args.head_subset, **overrides)
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

    if not args.checkpoint and not args.pretrained:
        raise SystemExit("internvideo evaluate: give --checkpoint FILE, or --pretrained NAME (`internvideo zoo list`)")
    info = init_distributed(None if args.device == "auto" else args.device)
    try:
        from internvideo_core.model_config import model_kwargs

        saved = _describe_from_saved(args, info.is_main)
        data = T.resolve_classification_data(args.data, args.split, args.data_root, args.classes)
        T.check_listed_files(kinetics_dataset(data.annotation, root=data.root, classes=data.classes).records,
                             data.annotation, data.root)  # a fast stat of every video, before building
        overrides = {**(model_kwargs(saved) if saved else {}), **T.model_overrides(args.model_args)}
        named = (saved or {}).get("class_names")
        if named and data.classes is not None and list(named) != list(data.classes):
            diff = next(i for i, (a, b) in enumerate(zip([*named, None], [*data.classes, None])) if a != b)
            raise ValueError(f"the classes of {args.checkpoint} (config.json: {len(named)}) differ from those of the "
                             f"data ({len(data.classes)}; first difference at index {diff}): scores would compare "
                             "different labels. Evaluate on data with the same class list (--classes FILE)")
        if data.classes is not None:
            overrides.setdefault("num_classes", len(data.classes))
        spec = None
        if args.pretrained:
            model, spec = _load_pretrained(args, overrides)
        else:
            model = _load(args, overrides)
        model = model.to(info.device)
        report = getattr(model, "load_report", None)
        if info.is_main and report is not None:  # what was loaded: one line always, everything on request
            print(report.summary() if args.show_load_report else report.brief())
        _check_head(model, args)
        ds = kinetics_dataset(data.annotation, root=data.root, classes=data.classes, mode="test",
                              num_classes=model.num_classes or None,  # labels checked against the head when read
                              **_dataset_protocol(args, model, spec, data.synth, saved))
        T.require_samples(ds, data.annotation)
        loader = T.make_loader(T.WithIndex(ds), args.batch_size, train=False, num_workers=args.num_workers)
        from internvideo_core.train.compile import maybe_compile

        res = evaluate(maybe_compile(model, args), loader, device=info.device, precision=args.precision)
        if info.is_main:
            print(f"{data.annotation}: top1 {res['top1']:.2f}  top5 {res['top5']:.2f}  "
                  f"({res['num_videos']} videos x {res['num_views']} views)")
            if args.output:
                Path(args.output).parent.mkdir(parents=True, exist_ok=True)
                Path(args.output).write_text(json.dumps({"checkpoint": str(args.checkpoint),
                                                         "model": args.pretrained or args.model,
                                                         "data": str(data.annotation), **res}, indent=1),
                                             encoding="utf-8")
    finally:  # a barrier first on success only: after an error the other ranks may never arrive
        cleanup_distributed(synchronize=sys.exc_info()[0] is None)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="multi-view top-1/top-5 of a classifier (torchrun-ready)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    T.add_model_args(p, None, help=f"architecture name (default: the one in config.json beside --checkpoint, "
                                   f"which the training commands write; else {_DEFAULT_MODEL})")
    p.add_argument("--checkpoint", default=None, help="weights to evaluate: a file, or a released name (`internvideo "
                   "zoo list`, same as --pretrained NAME); required without --pretrained")
    p.add_argument("--pretrained", default=None, metavar="NAME",
                   help="a released checkpoint (`internvideo zoo list`): its model, classes and test protocol")
    p.add_argument("--ema", action="store_true", help="use the EMA weights of a kit training checkpoint")
    p.add_argument("--allow-random-head", action="store_true",
                   help="evaluate even when the checkpoint has no classification head (new, random weights: "
                        "chance accuracy); refused by default")
    p.add_argument("--head-subset", default=None, choices=["k400", "first"],
                   help="keep the first classes of a checkpoint head with more classes than the model: k400 = "
                        "the official K710 -> K400 cut (400 outputs), first = the first num_classes rows. Without "
                        "it a class-count mismatch is an error naming both counts")
    p.add_argument("--show-load-report", action="store_true",
                   help="print the full load report (ignored, newly initialised and resized tensors); its "
                        "one-line summary is always printed")
    T.add_data_args(p)
    p.add_argument("--split", default="test", help="SynthMotion split (train, val, test; default test)")
    p.add_argument("--num-clips", type=int, default=None, help="temporal views (default: the --pretrained "
                   "entry's, else 5 as K400)")
    p.add_argument("--num-crops", type=int, default=None, help="spatial crops (default: the --pretrained entry's, "
                   "else 3 as K400)")
    p.add_argument("--short-side", type=int, default=None, help="resize the short side before cropping "
                   "(default: the --pretrained entry's, else the crop size)")
    p.add_argument("--batch-size", type=T.positive_int, default=4, help="videos per process and batch")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                   help="auto: bf16 autocast on CUDA, fp32 on CPU; fp32, bf16 or fp16: that precision everywhere")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    p.add_argument("--output", default=None, help="write the metrics as JSON here")
    T.add_speed_args(p)
    p.set_defaults(func=T.with_speed_options(_run))


if __name__ == "__main__":
    sys.exit(T.run_main(register, "evaluate"))
