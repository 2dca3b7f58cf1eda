r"""``internvideo predict VIDEO``: top-k labels of any video, with sliding windows over long videos.

    internvideo predict match.mp4 --model videomae_vit_base_k400 --checkpoint vit_b_k400_ft.pth \
        --plot match_timeline.png --output match.json
    internvideo predict clip.mp4 --model internvideo_mm_l14_pretrain --checkpoint InternVideo-MM-L-14.ckpt \
        --labels kinetics400          # zero-shot with the official prompt ensemble

The video is cut into windows of ``--clip-len`` frames taken every ``--rate`` frames (default: the model's frame
count, rate 4 as the K400 protocol), ``--stride`` frames apart (default: one window length; the last window ends
with the video). Every window gets a label (a classifier's softmax, or zero-shot probabilities for a dual
encoder); the video's top-k labels are the mean over windows (the multi-clip test rule). ``--plot`` draws the
label timeline as a PNG. Classes: the released checkpoint's label list, ``--labels NAME`` (a list in
``data/labels``) or ``--classes FILE`` (one name per line); dual encoders need one of the last two.
"""
from __future__ import annotations

import argparse
import sys

from internvideo_core.commands import _pretrained as P


_DEFAULT_MODEL = "videomae_vit_base_k400"


def _classes(args, em) -> list[str]:
    if args.classes:
        return [ln.strip() for ln in open(args.classes, encoding="utf-8-sig") if ln.strip()]
    if args.labels:
        from internvideo_core.paths import read_labels

        return read_labels(args.labels)
    if em.class_names:
        return em.class_names
    if em.family == "mm":
        raise SystemExit("a dual encoder predicts zero-shot: give --labels NAME (data/labels) or --classes FILE")
    return [f"class {i}" for i in range(em.model.config.num_classes)]


def _scorer(args, em, classes, device):
    """``frames uint8 [T, H, W, 3] -> probabilities [C]`` for the model family."""
    import torch

    from internvideo_core.data.pipelines import load_mm_clip, load_videomae_views

    model, size = em.model, em.img_size
    if em.family != "mm":
        if model.config.num_classes != len(classes):
            raise SystemExit(f"{len(classes)} class names for a {model.config.num_classes}-class model")
        run = P.encoder(em, model, device, args.precision)
        return lambda f: run(load_videomae_views(frames=f, num_frames=f.shape[0], rate=1, num_clips=1, num_crops=1,
                                                 size=size, short_side=size)).softmax(-1)[0]
    import torch.nn.functional as F

    from internvideo_core.data.benchmark_layouts import prompt_name
    from internvideo_core.eval.zeroshot import TEMPLATE_SETS, zero_shot_classify
    from internvideo_core.text import tokenize

    templates = TEMPLATE_SETS[args.templates]
    enc_t = P.encoder(em, model.encode_text, device, args.precision)
    prompts = [t.format(prompt_name(c)) for t in templates for c in classes]
    ctx = model.config.context_length
    text = torch.cat([enc_t(tokenize(prompts[i:i + 256], context_length=ctx)) for i in range(0, len(prompts), 256)])
    text = F.normalize(text, dim=-1).reshape(len(templates), len(classes), -1)
    scale = float(model.logit_scale.exp().detach().float().cpu())
    enc_v = P.encoder(em, model.encode_video, device, args.precision)
    short = round(size * 256 / 224)
    return lambda f: zero_shot_classify(enc_v(load_mm_clip(frames=f, num_frames=f.shape[0], size=size,
                                                           short_side=short)[None]), text, logit_scale=scale)[0]


def _run(args: argparse.Namespace) -> int:
    import torch

    from internvideo_core.eval.long_video import predict_windows, top_k_labels

    from pathlib import Path

    from internvideo_core.model_config import read_model_config

    device = P.pick_device(args.device)
    from internvideo_core.registry import list_pretrained

    if args.checkpoint and not Path(args.checkpoint).exists() and args.checkpoint in list_pretrained():
        args.model, args.checkpoint = args.checkpoint, None  # a released name as --checkpoint
    saved = read_model_config(args.checkpoint) if args.checkpoint else None
    if args.model is None:  # the description beside --checkpoint (written by the training commands)
        args.model = saved["architecture"] if saved else _DEFAULT_MODEL
    elif saved and saved["architecture"] != args.model:
        saved = None
    if args.rate is None:
        args.rate = int(((saved or {}).get("input") or {}).get("sampling_rate") or 4)
    em = P.model_from_args(args, saved)
    classes = _classes(args, em)
    clip_len = args.clip_len or em.num_frames
    windows = predict_windows(args.video, _scorer(args, em, classes, device), clip_len, args.rate, args.stride,
                              progress=not args.quiet)
    video_probs = torch.stack([w.probs for w in windows]).mean(0)
    top = top_k_labels(video_probs, classes, args.top_k)
    print(f"{args.video}: {len(windows)} window(s) of {clip_len} frames every {args.rate}; model {args.model}")
    for name, p in top:
        print(f"  {p:6.3f}  {name}")
    segs = []
    for w in windows:
        (name, p), = top_k_labels(w.probs, classes, 1)
        segs.append((w.start, w.end, name, p))
        if len(windows) > 1:
            print(f"  [{w.start:7.2f} s - {w.end:7.2f} s] {name} ({p:.3f})")
    if args.plot:
        from pathlib import Path

        import matplotlib

        matplotlib.use("Agg")
        from internvideo_core.viz import plot_label_timeline

        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig = plot_label_timeline(segs, title=Path(args.video).name)
        fig.savefig(args.plot, dpi=120)
        print(f"  timeline -> {args.plot}")
    P.write_json(args.output, {
        "command": "predict", "video": str(args.video), "model": args.model, "checkpoint": em.checkpoint,
        "settings": {"clip_len": clip_len, "rate": args.rate, "stride": args.stride or clip_len * args.rate,
                     "img_size": em.img_size, "family": em.family, "templates": args.templates},
        "top_k": [{"label": n, "prob": p} for n, p in top],
        "windows": [{"start": s, "end": e, "label": n, "prob": p} for s, e, n, p in segs]})
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="top-k labels of a video (sliding windows over long videos, timeline plot)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("video", help="a video file")
    P.add_common_args(p, _DEFAULT_MODEL)
    p.set_defaults(model=None)  # default: config.json beside --checkpoint, else videomae_vit_base_k400
    p.add_argument("--labels", default=None, help="class list name in data/labels (e.g. kinetics400)")
    p.add_argument("--classes", default=None, help="class names file, one per line")
    p.add_argument("--top-k", type=int, default=5, help="classes printed per video")
    p.add_argument("--clip-len", type=int, default=None, help="frames per window (default: the model's)")
    p.add_argument("--rate", type=int, default=None, help="take every RATE-th frame inside a window (default: the "
                   "sampling rate in config.json beside --checkpoint, else 4 as K400)")
    p.add_argument("--stride", type=int, default=None, help="frames between window starts (default: window length)")
    p.add_argument("--templates", default="internvideo", help="zero-shot prompt set for dual encoders")
    p.add_argument("--plot", default=None, help="write the label timeline PNG here")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    from internvideo_core.commands._training import run_main

    sys.exit(run_main(register, "predict"))
