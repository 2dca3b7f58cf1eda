r"""``internvideo train-tal``: train the ActionFormer-style localization head on snippet features, then write the
detections of the evaluation subset as an ActivityNet result JSON and print their mAP.

    internvideo extract-features --videos synth/activitynet/videos --output feats/synth ...
    internvideo train-tal --features feats/synth --annotations synth/activitynet/activity_net.v1-3.min.json \
        --output runs/tal/synth
    # THUMOS-14 (ActionFormer's ActivityNet-style thumos14.json: subsets Validation / Test):
    internvideo train-tal --features feats/thumos --annotations thumos14.json --train-subset Validation \
        --eval-subset Test --thresholds thumos --output runs/tal/thumos
    # inference only, with a trained head:
    internvideo train-tal --features feats/synth --annotations anet.json --head runs/tal/synth/head.safetensors \
        --epochs 0 --output runs/tal/synth_eval

Inputs are the feature folder of ``internvideo extract-features`` (``<video id>.npy`` / ``v_<video id>.npy`` with
their ``.json`` records) and an ActivityNet v1.3-format JSON (read by ``read_activitynet_json``). Writes
``OUTPUT/head.safetensors``, ``OUTPUT/results.json`` (``{"results": {video: [{label, score, segment}]}}``, the
input of ``internvideo eval-tal``) and ``OUTPUT/metrics.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _subset(records_subset: str) -> str | None:
    return None if records_subset == "all" else records_subset


def _run(args: argparse.Namespace) -> int:
    import torch

    from internvideo_core.commands.eval_tal import evaluate_tal_files
    from internvideo_core.data.annotations import AnnotationError, read_activitynet_json, read_class_names
    from internvideo_core.models.tal_head import TALHead, TALHeadConfig
    from internvideo_core.tal import (TALTrainConfig, load_tal_head, load_tal_videos, predict_segments,
                                      save_tal_head, train_tal_head, write_anet_results)

    out = Path(args.output)
    if args.head:
        head, classes = load_tal_head(args.head)
    else:
        head = None
        classes = (read_class_names(args.classes) if args.classes else
                   sorted({lab for r in read_activitynet_json(args.annotations) for _, _, lab in r.segments}))
    missing = "skip" if args.skip_missing else "error"
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    if args.epochs > 0:
        try:
            train = load_tal_videos(args.features, args.annotations, _subset(args.train_subset), classes,
                                    missing=missing)
        except AnnotationError as err:  # e.g. a subset the file does not have: the message lists those it has
            print(f"no training videos: {err}", file=sys.stderr)
            return 2
        if not train:
            print(f"no training videos in subset {args.train_subset!r} of {args.annotations}", file=sys.stderr)
            return 2
        if head is None:
            torch.manual_seed(args.seed)
            head = TALHead(TALHeadConfig(in_dim=train[0].feats.shape[1], num_classes=len(classes),
                                         embed_dim=args.embed_dim, num_levels=args.num_levels))
        hist = train_tal_head(head, train, TALTrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                                          weight_decay=args.weight_decay, seed=args.seed),
                              device=device, progress=not args.quiet)
        print(f"trained on {len(train)} videos, {args.epochs} epochs, final loss {hist['epoch_loss'][-1]:.3f} "
              f"({hist['seconds']:.0f} s)")
        save_tal_head(head, out / "head.safetensors", classes)
    elif head is None:
        print("--epochs 0 needs --head (a trained head)", file=sys.stderr)
        return 2
    videos = load_tal_videos(args.features, args.annotations, _subset(args.eval_subset), classes, missing=missing)
    dets = predict_segments(head.to(device), videos, classes, max_segments=args.max_segments)
    results = write_anet_results(out / "results.json", dets)
    print(f"detections of {len(videos)} videos ({args.eval_subset}) -> {results}")
    if any(len(v.segments) for v in videos):
        res = evaluate_tal_files(args.annotations, results, args.thresholds, args.eval_subset)
        for t, m in zip(res["tiou_thresholds"], res["mAP_per_tiou"]):
            print(f"mAP@{t:.2f}  {100 * m:6.2f}")
        print(f"average mAP  {100 * res['average_mAP']:6.2f}")
        (out / "metrics.json").write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from internvideo_core.commands.eval_tal import parse_thresholds

    p = sub.add_parser("train-tal", help="train the temporal localization head on snippet features",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--features", required=True, help="feature folder of internvideo extract-features")
    p.add_argument("--annotations", required=True, help="ActivityNet v1.3-format JSON")
    p.add_argument("--output", required=True, help="folder for head.safetensors, results.json, metrics.json")
    p.add_argument("--classes", default=None, help="class names, one per line (default: the labels of the file)")
    p.add_argument("--train-subset", default="training", help="subset to train on (default training; 'all')")
    p.add_argument("--eval-subset", default="validation", help="subset to detect in (default validation; 'all')")
    p.add_argument("--thresholds", type=parse_thresholds, default=None, help="anet (default), thumos or a list")
    p.add_argument("--head", default=None, help="start from (or, with --epochs 0, only apply) a trained head")
    p.add_argument("--skip-missing", action="store_true", help="skip videos without features instead of failing")
    p.add_argument("--epochs", type=int, default=40, help="passes over the training videos (0 with --head: only apply it)")
    p.add_argument("--batch-size", type=int, default=4, help="videos per step")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    p.add_argument("--weight-decay", type=float, default=0.05, help="AdamW weight decay")
    p.add_argument("--embed-dim", type=int, default=128, help="width of the localization head")
    p.add_argument("--num-levels", type=int, default=4, help="levels of the temporal feature pyramid")
    p.add_argument("--max-segments", type=int, default=100, help="detections kept per video")
    p.add_argument("--seed", type=int, default=0, help="seed of the head's initialisation and batch order")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    from internvideo_core.commands._training import run_main

    sys.exit(run_main(register, "train-tal"))
