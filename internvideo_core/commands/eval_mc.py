r"""``internvideo eval-mc``: zero-shot multiple choice (MSR-VTT MC, LSMDC-MC) with a video-text dual encoder.

    internvideo eval-mc --model internvideo_mm_l14_pretrain --checkpoint InternVideo-MM-L-14.ckpt \
        --dataset msrvtt --data-root data/msrvtt --video-dir data/msrvtt/videos --output mc_msrvtt.json

Files: MSR-VTT ``msrvtt_mc_test.jsonl`` (``{"qid", "clip_name", "options", "answer"}``, 2990 questions x 5
options) and LSMDC ``LSMDC16_multiple_choice_test_randomized.csv`` (tab separated, five options, 1-based answer).
For every question the option with the highest cosine similarity to the video wins (the official ``vtc``
multiple-choice rule; first option on ties). Videos: ``--sampling official`` (the downstream loaders:
segment-middle frames, 256 x 256 resize, centre crop, CLIP mean/std) or ``kit`` (linspace frames, short side
256). Reports accuracy (percent); embeddings are cached.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from internvideo_core.commands import _pretrained as P


def _run(args: argparse.Namespace) -> int:
    import torch
    import torch.nn.functional as F

    from internvideo_core.data.benchmark_layouts import RETRIEVAL_DATASETS, load_mc_split, resolve_video
    from internvideo_core.data.eval_clips import load_mm_input
    from internvideo_core.eval.embedding_cache import EmbeddingCache, embed_texts, embed_videos
    from internvideo_core.eval.zeroshot import multiple_choice, multiple_choice_accuracy
    from internvideo_core.text import tokenize

    device = P.pick_device(args.device)
    em = P.model_from_args(args)
    if em.family != "mm":
        raise SystemExit(f"{args.model} is not a video-text dual encoder; use an internvideo_mm_* model")
    items, ann = load_mc_split(args.dataset, args.data_root, args.annotation)
    root = Path(args.data_root)
    vdir = Path(args.video_dir) if args.video_dir else (root / "videos" if (root / "videos").is_dir() else root)
    video_ids = list(dict.fromkeys(it.video_id for it in items))
    paths = [resolve_video(vdir, v, RETRIEVAL_DATASETS[args.dataset]["exts"]) for v in video_ids]
    frames, size = args.num_frames or em.num_frames, em.img_size
    cache = EmbeddingCache(P.cache_root(args), {"task": "video-embedding", **em.fingerprint, "sampling": args.sampling,
                                                "num_frames": frames, "img_size": size, "precision": args.precision})
    model = em.model
    enc_v = P.encoder(em, model.encode_video, device, args.precision)
    enc_t = P.encoder(em, model.encode_text, device, args.precision)
    v_emb, v_new = embed_videos(paths, lambda p: enc_v(load_mm_input(p, args.sampling, frames, size)[None])[0], cache,
                                desc=f"{args.dataset} MC videos", progress=not args.quiet)
    k = len(items[0].options)
    if any(len(it.options) != k for it in items):
        raise SystemExit(f"{ann}: questions have different numbers of options; expected {k} each")
    texts = [o for it in items for o in it.options]
    ctx = model.config.context_length
    t_emb, t_new = embed_texts(texts, lambda b: enc_t(tokenize(b, context_length=ctx)), cache, progress=not args.quiet)
    pos = {v: i for i, v in enumerate(video_ids)}
    per_q_video = v_emb[torch.tensor([pos[it.video_id] for it in items])]     # [Q, E]
    options = t_emb.reshape(len(items), k, -1)                                  # [Q, K, E]
    answers = torch.tensor([it.answer for it in items])
    acc = multiple_choice_accuracy(per_q_video, options, answers)
    pred = multiple_choice(per_q_video, options)
    print(f"{args.dataset} multiple choice ({len(items)} questions x {k} options, {len(video_ids)} videos); "
          f"model {args.model}")
    print(f"  accuracy {acc:.2f}")
    print(f"  embeddings: {v_new} videos and {t_new} options computed, the rest from the cache")
    if args.save_embeddings:
        torch.save({"video": per_q_video, "options": F.normalize(options, dim=-1), "answers": answers},
                   args.save_embeddings)
    P.write_json(args.output, {"command": "eval-mc", "model": args.model, "checkpoint": em.checkpoint,
                               "annotation": ann, "num_questions": len(items), "num_options": k,
                               "settings": {"dataset": args.dataset, "num_frames": frames, "img_size": size,
                                            "sampling": args.sampling, "precision": args.precision},
                               "metrics": {"accuracy": acc},
                               "predictions": {it.qid: int(p) for it, p in zip(items, pred)},
                               "computed": {"videos": v_new, "options": t_new}})
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-mc", help="zero-shot multiple choice (MSR-VTT MC, LSMDC-MC)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    P.add_common_args(p, "internvideo_mm_l14_pretrain")
    p.add_argument("--dataset", required=True, choices=["msrvtt", "lsmdc"],
                   help="msrvtt: MSR-VTT multiple choice (JSFusion test, 2,990 questions); lsmdc: LSMDC multiple choice")
    p.add_argument("--data-root", required=True, help="folder with msrvtt_mc_test.jsonl / the LSMDC MC CSV")
    p.add_argument("--annotation", default=None, help="the multiple-choice file (default: its official name)")
    p.add_argument("--video-dir", default=None, help="video folder (default: DATA_ROOT/videos or DATA_ROOT)")
    p.add_argument("--num-frames", type=int, default=None, help="frames per video (default: the model's)")
    p.add_argument("--sampling", default="official", choices=["official", "kit"],
                   help="official: segment-middle frames, 256x256 resize, centre crop (downstream loaders); "
                        "kit: linspace frames, short side 256 (the InternVideo-MM demo preprocessing)")
    p.add_argument("--save-embeddings", default=None, help="save video/option embeddings (.pt)")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    from internvideo_core.commands._training import run_main

    sys.exit(run_main(register, "eval-mc"))
