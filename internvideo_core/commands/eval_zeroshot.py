r"""``internvideo eval-zeroshot``: zero-shot action recognition with a video-text dual encoder.

    internvideo eval-zeroshot --model internvideo_mm_l14_pretrain --checkpoint InternVideo-MM-L-14.ckpt \
        --dataset k400 --annotation k400/val.csv --video-dir k400 --output zs_k400.json

Class names come from ``data/labels`` (``k400`` -> ``kinetics400.txt``, ``k600``, ``k700``, ``ucf101``,
``hmdb51``; ``--classes FILE`` replaces them); they become prompt text with underscores as spaces and UCF101's
CamelCase split. Prompts: ``--templates internvideo`` (default, the official 16 ActionCLIP templates of
``CoTrain/modules/text_prompt.py``), ``single``, ``single_doing``, ``no`` or ``clip_kinetics`` (CLIP's 28).
Ensemble (``--ensemble``): ``softmax_mean`` (official ``compute_zs_classify``: softmax over classes of
``exp(logit_scale) * cos`` per template, mean over templates) or ``embedding_mean`` (CLIP's). Videos
(``--sampling official``, the downstream loaders): the model's 8 frames at the middles of 8 equal segments,
resized to 256 x 256, centre crop 224, CLIP mean/std; ``--sampling kit``: linspace frames, short side 256.
Reports top-1, top-5 and mean class accuracy; video and prompt embeddings are cached.

The test list may be an official Kinetics CSV, a ``path label`` list or a UCF101/HMDB51 ``Class/video`` list.
"""
from __future__ import annotations

import argparse
import sys

from internvideo_core.commands import _pretrained as P


def _run(args: argparse.Namespace) -> int:
    import torch
    import torch.nn.functional as F

    from internvideo_core.data.benchmark_layouts import ZEROSHOT_LABELS, prompt_name, read_labelled_videos
    from internvideo_core.data.eval_clips import load_mm_input
    from internvideo_core.eval.classification import mean_class_accuracy, topk_accuracy
    from internvideo_core.eval.embedding_cache import EmbeddingCache, embed_texts, embed_videos
    from internvideo_core.eval.zeroshot import TEMPLATE_SETS, zero_shot_classify
    from internvideo_core.paths import read_labels
    from internvideo_core.text import tokenize

    device = P.pick_device(args.device)
    em = P.model_from_args(args)
    if em.family != "mm":
        raise SystemExit(f"{args.model} is not a video-text dual encoder; use an internvideo_mm_* model")
    if args.classes:
        classes = [ln.strip() for ln in open(args.classes, encoding="utf-8-sig") if ln.strip()]
    else:
        classes = read_labels(ZEROSHOT_LABELS[args.dataset])
    videos = read_labelled_videos(args.annotation, classes, args.video_dir)
    frames, size = args.num_frames or em.num_frames, em.img_size
    templates = TEMPLATE_SETS[args.templates]
    settings = {"dataset": args.dataset, "num_frames": frames, "img_size": size, "sampling": args.sampling,
                "templates": args.templates, "ensemble": args.ensemble, "precision": args.precision}
    cache = EmbeddingCache(P.cache_root(args), {"task": "video-embedding", **em.fingerprint, "sampling": args.sampling,
                                                "num_frames": frames, "img_size": size, "precision": args.precision})
    model = em.model
    enc_v = P.encoder(em, model.encode_video, device, args.precision)
    enc_t = P.encoder(em, model.encode_text, device, args.precision)
    v_emb, v_new = embed_videos([p for p, _ in videos],
                                lambda p: enc_v(load_mm_input(p, args.sampling, frames, size)[None])[0],
                                cache, desc=f"{args.dataset} videos", progress=not args.quiet)
    prompts = [t.format(prompt_name(c)) for t in templates for c in classes]
    ctx = model.config.context_length
    t_emb, t_new = embed_texts(prompts, lambda b: enc_t(tokenize(b, context_length=ctx)), cache,
                               progress=not args.quiet)
    t_emb = F.normalize(t_emb, dim=-1).reshape(len(templates), len(classes), -1)
    scale = float(model.logit_scale.exp().detach().float().cpu())
    probs = zero_shot_classify(v_emb, t_emb, ensemble=args.ensemble, logit_scale=scale)  # [N, C]
    labels = torch.tensor([lab for _, lab in videos])
    acc = topk_accuracy(probs, labels, ks=(1, 5))
    mca = mean_class_accuracy(probs, labels, num_classes=len(classes))
    metrics = {"top1": acc["top1"], "top5": acc["top5"], "mean_class_accuracy": mca}
    print(f"{args.dataset} zero-shot ({len(videos)} videos, {len(classes)} classes, {len(templates)} templates "
          f"'{args.templates}', {args.ensemble}); model {args.model}")
    print(f"  top-1 {metrics['top1']:.2f}  top-5 {metrics['top5']:.2f}  mean class accuracy {mca:.2f}")
    print(f"  embeddings: {v_new} videos and {t_new} prompts computed, the rest from the cache")
    if args.save_embeddings:
        torch.save({"video": v_emb, "text": t_emb, "labels": labels, "logit_scale": torch.tensor(scale)},
                   args.save_embeddings)
    P.write_json(args.output, {"command": "eval-zeroshot", "model": args.model, "checkpoint": em.checkpoint,
                               "annotation": str(args.annotation), "num_videos": len(videos),
                               "num_classes": len(classes), "settings": settings, "metrics": metrics,
                               "computed": {"videos": v_new, "prompts": t_new}})
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-zeroshot", help="zero-shot recognition (K400/600/700, UCF101, HMDB51)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    P.add_common_args(p, "internvideo_mm_l14_pretrain")
    p.add_argument("--dataset", required=True, choices=["k400", "k600", "k700", "ucf101", "hmdb51"],
                   help="k400, k600, k700 (Kinetics), ucf101 or hmdb51: the class names and their CamelCase rule")
    p.add_argument("--annotation", required=True, help="test list (Kinetics CSV, 'path label' list, Class/video list)")
    p.add_argument("--video-dir", default=None, help="folder the list's paths are relative to")
    p.add_argument("--classes", default=None, help="class names, one per line (default: data/labels for --dataset)")
    p.add_argument("--templates", default="internvideo",
                   choices=["internvideo", "single", "single_doing", "no", "clip_kinetics"],
                   help="prompts: internvideo (the official 16 ActionCLIP templates), single ('A video of {}'), "
                        "single_doing ('A person is doing {}'), no (the bare class name), clip_kinetics (CLIP's 28 "
                        "Kinetics templates)")
    p.add_argument("--ensemble", default="softmax_mean", choices=["softmax_mean", "embedding_mean"],
                   help="softmax_mean: average the per-template softmax (official); embedding_mean: average the "
                        "normalised text embeddings per class (CLIP)")
    p.add_argument("--num-frames", type=int, default=None, help="frames per video (default: the model's)")
    p.add_argument("--sampling", default="official", choices=["official", "kit"],
                   help="official: segment-middle frames, 256x256 resize, centre crop (downstream loaders); "
                        "kit: linspace frames, short side 256 (the InternVideo-MM demo preprocessing)")
    p.add_argument("--save-embeddings", default=None, help="save video/prompt embeddings (.pt)")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    from internvideo_core.commands._training import run_main

    sys.exit(run_main(register, "eval-zeroshot"))
