r"""``internvideo eval-retrieval``: text-video retrieval with the official InternVideo protocol.

    internvideo eval-retrieval --model internvideo_mm_l14_msrvtt_retrieval --checkpoint pytorch_model.bin \
        --dataset msrvtt --data-root data/MSR-VTT/anns --video-dir data/MSR-VTT/videos --output msrvtt.json

Texts are the official test set of ``--dataset`` (readers in :mod:`internvideo_core.data.benchmark_layouts`:
MSR-VTT 1k-A 1:1, ``--msrvtt-full`` 2990 x 20; MSVD and VATEX multi-caption; DiDeMo / ActivityNet one
paragraph per video, DiDeMo's first 31 s as officially). Videos are sampled as the official retrieval loaders
do (``--sampling official``: about one frame per second, at most ``--num-frames`` = the zoo entry's count, e.g.
12 for MSR-VTT, zero-padded; bicubic resize to 224, centre crop); ``--sampling uniform`` is the pretraining
protocol (linspace frames, short side 256).
Similarities are ``exp(logit_scale) * cosine`` as in the official ``eval_epoch``; the command reports R@1/5/10,
MdR and MnR text-to-video and video-to-text, plain and dual-softmax (``--dsl`` makes DSL the headline numbers).

Multi-clip and weight merging:
* ``--merge-clips N`` (kit option): N consecutive parts of each video are sampled and encoded separately, their
  normalised embeddings averaged. The official code has no such option.
* ``--mergeclip CLIP.pt [--mergeweight 0.5]``: the official ``--mergeclip=True`` (``clip_evl.load``): before
  evaluation, every weight that exists in the OpenAI CLIP file is replaced by ``w * CLIP + (1 - w) * model``
  (see :mod:`internvideo_core.convert.mergeclip`). The official zero-shot scripts use it; with
  ``--finetuned_path`` the fine-tuned weights are loaded afterwards and overwrite the merge, so it has no
  effect on the fine-tuned numbers.

Embeddings are cached (``--cache-dir``): re-running with ``--dsl`` or another metric costs no model time.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from internvideo_core.commands import _pretrained as P


def _video_dir(args) -> Path:
    if args.video_dir:
        return Path(args.video_dir)
    root = Path(args.data_root)
    return root / "videos" if (root / "videos").is_dir() else root


def _run(args: argparse.Namespace) -> int:
    import torch
    import torch.nn.functional as F

    from internvideo_core.data.benchmark_layouts import RETRIEVAL_DATASETS, load_retrieval_split, resolve_video
    from internvideo_core.data.eval_clips import load_retrieval_clips, load_uniform_clips
    from internvideo_core.eval.embedding_cache import EmbeddingCache, embed_texts, embed_videos, file_fingerprint
    from internvideo_core.eval.retrieval import retrieval_metrics
    from internvideo_core.text import tokenize

    device = P.pick_device(args.device)
    em = P.model_from_args(args)
    if em.family != "mm":
        raise SystemExit(f"{args.model} is not a video-text dual encoder; use an internvideo_mm_* model")
    if args.mergeclip:
        from internvideo_core.convert.mergeclip import merge_clip_weights

        merged = merge_clip_weights(em.model, args.mergeclip, args.mergeweight)
        em.fingerprint["mergeclip"] = {"file": file_fingerprint(args.mergeclip), "weight": args.mergeweight}
        print(f"mergeclip: {len(merged)} tensors interpolated with weight {args.mergeweight}")
        if args.model.endswith("_retrieval"):
            print("  note: the official fine-tuned evaluation loads the fine-tuned weights after the merge, so its "
                  "numbers are those without --mergeclip")
    split = load_retrieval_split(args.dataset, args.data_root, args.annotation, args.split_list, args.msrvtt_full)
    idx = split.index
    vdir = _video_dir(args)
    exts = RETRIEVAL_DATASETS[args.dataset]["exts"]
    paths = [resolve_video(vdir, v, exts) for v in idx.video_ids]
    frames = args.num_frames or em.num_frames
    size = em.img_size
    settings = {"dataset": args.dataset, "sampling": args.sampling, "num_frames": frames, "img_size": size,
                "feature_framerate": args.feature_framerate, "merge_clips": args.merge_clips,
                "precision": args.precision, "msrvtt_full": args.msrvtt_full,
                "max_seconds": RETRIEVAL_DATASETS[args.dataset]["max_seconds"]}
    cache = EmbeddingCache(P.cache_root(args), {"task": "retrieval-video-embedding", **em.fingerprint,
                                                **{k: settings[k] for k in ("sampling", "num_frames", "img_size",
                                                                            "feature_framerate", "merge_clips",
                                                                            "precision", "max_seconds")}})
    model = em.model

    def load(path: str) -> torch.Tensor:
        if args.sampling == "official":
            return load_retrieval_clips(path, frames, size, args.feature_framerate, args.merge_clips,
                                        settings["max_seconds"])
        return load_uniform_clips(path, frames, size, round(size * 256 / 224), args.merge_clips)

    encode_video = P.encoder(em, model.encode_video, device, args.precision)
    encode_text = P.encoder(em, model.encode_text, device, args.precision)

    def video_embedding(path: str) -> torch.Tensor:
        clips = load(path)                                     # [N_clips, 3, T, H, W]
        return F.normalize(encode_video(clips), dim=-1).mean(0)  # [E]

    ctx = model.config.context_length
    v_emb, v_new = embed_videos(paths, video_embedding, cache, desc=f"{args.dataset} videos", progress=not args.quiet)
    t_emb, t_new = embed_texts(idx.texts, lambda b: encode_text(tokenize(b, context_length=ctx)), cache,
                               progress=not args.quiet)
    scale = float(model.logit_scale.exp().detach().float().cpu())
    sim = (scale * F.normalize(t_emb, dim=-1) @ F.normalize(v_emb, dim=-1).T).double().numpy()  # [texts, videos]
    plain = retrieval_metrics(sim, dsl=False, text_to_video=idx.text_to_video)
    dsl = retrieval_metrics(sim, dsl=True, text_to_video=idx.text_to_video)
    head = dsl if args.dsl else plain
    print(f"{args.dataset} retrieval ({len(idx.texts)} texts x {len(idx.video_ids)} videos, {frames} frames, "
          f"{args.sampling} sampling{', DSL' if args.dsl else ''}); model {args.model}")
    for name, m in (("plain", plain), ("dsl", dsl)):
        for d in ("t2v", "v2t"):
            r = m[d]
            print(f"  {name:5s} {d}: R@1 {r['R1']:.1f}  R@5 {r['R5']:.1f}  R@10 {r['R10']:.1f}  "
                  f"MdR {r['MdR']:.1f}  MnR {r['MnR']:.1f}")
    print(f"  embeddings: {v_new} videos and {t_new} texts computed, the rest from the cache")
    if args.save_embeddings:
        Path(args.save_embeddings).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"video": v_emb, "text": t_emb, "logit_scale": torch.tensor(scale)}, args.save_embeddings)
    P.write_json(args.output, {
        "command": "eval-retrieval", "model": args.model, "checkpoint": em.checkpoint, "annotations": split.annotations,
        "video_dir": str(vdir), "num_texts": len(idx.texts), "num_videos": len(idx.video_ids),
        "multi_caption": idx.text_to_video is not None, "settings": settings, "logit_scale": scale,
        "mergeclip": em.fingerprint.get("mergeclip"), "metrics": head, "plain": plain, "dsl": dsl,
        "computed": {"videos": v_new, "texts": t_new}})
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-retrieval", help="text-video retrieval (MSR-VTT, MSVD, LSMDC, DiDeMo, ActivityNet, VATEX)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    P.add_common_args(p, "internvideo_mm_l14_msrvtt_retrieval")
    p.add_argument("--dataset", required=True, choices=["msrvtt", "msvd", "lsmdc", "didemo", "activitynet", "vatex"],
                   help="which benchmark's annotation layout and protocol: msrvtt (1k-A test), msvd, lsmdc, didemo and "
                        "activitynet (paragraph-to-video), vatex")
    p.add_argument("--data-root", required=True, help="folder with the official annotation files")
    p.add_argument("--annotation", default=None,
                   help="test annotation file (default: the official name in --data-root)")
    p.add_argument("--split-list", default=None,
                   help="test id list (MSVD/VATEX/DiDeMo *_list.txt, ActivityNet val_ids.json)")
    p.add_argument("--msrvtt-full", action="store_true", help="MSR-VTT full test (2990 videos x 20 captions)")
    p.add_argument("--video-dir", default=None, help="video folder (default: DATA_ROOT/videos or DATA_ROOT)")
    p.add_argument("--num-frames", type=int, default=None, help="frames per video (default: the zoo entry's)")
    p.add_argument("--sampling", default="official", choices=["official", "uniform"],
                   help="official: 1 frame/s, at most --num-frames, zero padding; uniform: linspace (pretraining)")
    p.add_argument("--feature-framerate", type=float, default=1.0, help="official --feature_framerate (frames/s)")
    p.add_argument("--merge-clips", type=int, default=1, help="average N consecutive clips per video (kit option)")
    p.add_argument("--mergeclip", default=None, metavar="CLIP_FILE",
                   help="official mergeclip: interpolate with these OpenAI CLIP weights (e.g. ViT-L-14.pt)")
    p.add_argument("--mergeweight", type=float, default=0.5, help="CLIP weight of --mergeclip (official 0.5)")
    p.add_argument("--dsl", action="store_true", help="headline numbers with dual softmax (both are printed)")
    p.add_argument("--save-embeddings", default=None, help="save video/text embeddings and logit scale (.pt)")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    from internvideo_core.commands._training import run_main

    sys.exit(run_main(register, "eval-retrieval"))
