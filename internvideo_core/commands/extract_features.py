r"""``internvideo extract-features``: snippet features of untrimmed videos for temporal localization.

    internvideo extract-features --videos data/synth/activitynet/videos --output runs/features/synth \
        --model videomae_pretrain_tiny_synth --checkpoint runs/checkpoints/tutorial/videomae_synth_pretrain.safetensors
    # THUMOS-14 with a released VideoMAE-B, 16 frames, stride 4 (ActionFormer's I3D layout), on a GPU:
    internvideo extract-features --videos thumos14/videos --output feats/thumos_videomae_b \
        --model videomae_vit_base_k400 --stride 4 --batch-size 64

Writes ``OUTPUT/<video id>.npy`` (float32 ``[num_snippets, dim]``), ``OUTPUT/<video id>.json`` and
``OUTPUT/index.json`` (fps, feat_stride, num_frames, snippet centre times): ActionFormer reads the folder with
``feat_stride`` / ``num_frames`` from the index. Resumable: finished videos are skipped. Unreadable videos are
listed at the end and make the exit status 1; the others are extracted.

``--model`` takes any kit architecture (classifier: pooled ``forward_features``; VideoMAE pretraining model:
encoder on all tokens, mean-pooled; InternVideo-MM: ``encode_video``) or a released checkpoint name
(``internvideo zoo list``).
"""
from __future__ import annotations

import argparse
import sys

from internvideo_core.commands import _training as T


def _run(args: argparse.Namespace) -> int:
    import torch

    from internvideo_core.features import extract_features_to_folder, list_videos
    from internvideo_core.registry import create_model

    videos = list_videos(args.videos, args.data_root)
    if not videos:
        print(f"no videos found in {args.videos}", file=sys.stderr)
        return 1
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    model = create_model(args.model, checkpoint_path=args.checkpoint, **T.model_overrides(args.model_args))
    model = model.to(device).eval()
    if args.compile:  # the encoder call of every snippet batch; the last smaller batch compiles once more
        from internvideo_core.train.compile import compile_module

        model = compile_module(model, args.compile_mode)
    report = extract_features_to_folder(
        model, videos, args.output, limit=args.limit, progress=not args.quiet, overwrite=args.overwrite,
        meta={"model": args.model, "checkpoint": args.checkpoint},
        clip_len=args.clip_len, frame_interval=args.frame_interval, stride=args.stride,
        stride_seconds=args.stride_seconds, size=args.img_size, short_side=args.short_side,
        batch_size=args.batch_size, chunk_snippets=args.chunk_snippets, device=device, precision=args.precision,
        pool=args.pool)
    print(f"{len(report.done)} extracted, {len(report.skipped)} already done, {len(report.failed)} failed "
          f"-> {args.output} (index: {report.index_path})")
    t = report.timings
    if t.get("snippets"):
        print(f"{t['snippets']} snippets in {t['total']:.1f} s: {t['snippets'] / max(t['total'], 1e-9):.1f} snippets/s "
              f"(decode {t['decode']:.1f} s, preprocess {t['preprocess']:.1f} s, model {t['model']:.1f} s)")
    for vid, err in report.failed.items():
        print(f"FAILED {vid}: {err}", file=sys.stderr)
    return 0 if report.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract-features", help="snippet features of untrimmed videos (ActionFormer layout)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", required=True, help="a folder of videos (searched recursively) or a list file "
                   "(one path per line)")
    p.add_argument("--data-root", default=None, help="folder relative paths in a list file start from "
                   "(default: the list's folder)")
    p.add_argument("--output", required=True, help="feature folder")
    T.add_model_args(p, "videomae_vit_tiny_synth")
    p.add_argument("--checkpoint", default=None, help="weights (kit safetensors, released files)")
    p.add_argument("--clip-len", type=int, default=None, help="frames the encoder sees per snippet "
                   "(default: the model's num_frames)")
    p.add_argument("--frame-interval", type=int, default=1, help="frames between those (default 1)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--stride", type=int, default=None, help="frames between snippet starts "
                   "(default: a quarter of the snippet span, e.g. 4 for 16 frames)")
    g.add_argument("--stride-seconds", type=float, default=None, help="the same in seconds")
    p.add_argument("--img-size", type=int, default=None, help="centre-crop size (default: the model's)")
    p.add_argument("--short-side", type=int, default=None, help="resize the short side first (default: the "
                   "crop size; InternVideo-MM: 256/224 of it)")
    p.add_argument("--pool", choices=("mean", "time"), default="mean", help="mean: one vector per snippet (the "
                   "model's pooled features); time: VideoMAE tokens averaged over space only, time steps "
                   "concatenated")
    p.add_argument("--batch-size", type=int, default=32, help="snippets per forward pass")
    p.add_argument("--chunk-snippets", type=int, default=256, help="snippets decoded together (memory bound)")
    p.add_argument("--limit", type=int, default=None, help="only the first N videos (to try it)")
    p.add_argument("--overwrite", action="store_true", help="extract finished videos again")
    p.add_argument("--precision", default="auto", help="auto (bf16 on CUDA, fp32 on CPU), fp32, bf16, fp16")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    T.add_speed_args(p)
    p.set_defaults(func=T.with_speed_options(_run))


if __name__ == "__main__":
    sys.exit(T.run_main(register, "extract-features"))
