r"""``internvideo eval-qa``: open-ended video QA (MSRVTT-QA, MSVD-QA, TGIF-QA FrameQA).

    # train the kit's answer head on frozen features of the real training split, then evaluate the test split
    internvideo eval-qa --model internvideo_mm_l14_pretrain --checkpoint InternVideo-MM-L-14.ckpt \
        --dataset msrvtt --data-root data/msrvtt_qa --video-dir data/msrvtt/videos \
        --train-head runs/qa/msrvtt_head.pt --output qa_msrvtt.json
    # later runs reuse the head (and the cached features)
    internvideo eval-qa ... --head runs/qa/msrvtt_head.pt

Reports both accuracies (:func:`internvideo_core.eval.qa.qa_accuracy`): ``all`` (every test question; answers
outside the head's vocabulary count as wrong) and ``in_vocab`` (only questions whose answer is in the vocabulary:
the official convention behind the published numbers), plus accuracy per question type.

The released QA checkpoints (``internvideo_mm_l14_{msrvtt,msvd,tgif}_qa``) cannot be loaded: their
``vqa_classifier`` reads video + question + caption-decoder features, the caption decoder is not part of the kit,
and their dual encoder has no ``visual_proj`` / ``text_projection`` (see :mod:`internvideo_core.eval.qa_heads`);
``--head`` on such a file says so. The kit's head (:class:`~internvideo_core.models.heads.VideoQAHead`) reads the
pooled video feature (before the projection) and the question's text embedding; ``--train-head`` fits it on the
training split (answer vocabulary: the ``--vocab-size`` most frequent training answers).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

from internvideo_core.commands import _pretrained as P


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.data.benchmark_layouts import QA_DATASETS, load_qa_split, resolve_video
    from internvideo_core.data.eval_clips import load_mm_input
    from internvideo_core.eval.embedding_cache import EmbeddingCache, embed_texts, embed_videos
    from internvideo_core.eval.qa import qa_accuracy, qa_accuracy_by_type, question_type
    from internvideo_core.eval.qa_heads import QAHeadError, load_qa_head, save_qa_head
    from internvideo_core.recipes.mm_synth.qa import predict_answers, train_qa_head
    from internvideo_core.text import tokenize

    if bool(args.head) == bool(args.train_head):
        raise SystemExit("give exactly one of --head FILE (a trained head) or --train-head OUT (train one first)")
    device = P.pick_device(args.device)
    em = P.model_from_args(args)
    if em.family != "mm":
        raise SystemExit(f"{args.model} is not a video-text dual encoder; use an internvideo_mm_* model")
    test, test_file = load_qa_split(args.dataset, args.data_root, args.annotation, youtube_mapping=args.youtube_mapping)
    train, train_file = ([], None)
    if args.train_head:
        train, train_file = load_qa_split(args.dataset, args.data_root, args.train_annotation, train=True,
                                          youtube_mapping=args.youtube_mapping)
    root = Path(args.data_root)
    vdir = Path(args.video_dir) if args.video_dir else (root / "videos" if (root / "videos").is_dir() else root)
    video_ids = list(dict.fromkeys(r.video_id for r in [*train, *test]))
    paths = [resolve_video(vdir, v, QA_DATASETS[args.dataset][2]) for v in video_ids]
    frames, size = args.num_frames or em.num_frames, em.img_size
    model = em.model
    cache = EmbeddingCache(P.cache_root(args), {"task": "video-pooled", **em.fingerprint, "sampling": args.sampling,
                                                "num_frames": frames, "img_size": size, "precision": args.precision})
    pooled = P.encoder(em, lambda x: model.visual_ln_post(model.visual(x)), device, args.precision)
    enc_t = P.encoder(em, model.encode_text, device, args.precision)
    v_feat, v_new = embed_videos(paths, lambda p: pooled(load_mm_input(p, args.sampling, frames, size)[None])[0], cache,
                                 desc=f"{args.dataset} QA videos", progress=not args.quiet)
    ctx = model.config.context_length
    pos = {v: i for i, v in enumerate(video_ids)}

    def questions(recs):
        return embed_texts([r.question for r in recs], lambda b: enc_t(tokenize(b, context_length=ctx)), cache,
                           progress=not args.quiet)

    tokens = v_feat.unsqueeze(1)  # [N_videos, 1, W]
    if args.train_head:
        q_train, _ = questions(train)
        items = [{"video": pos[r.video_id], "answer": r.answer} for r in train]
        hp = SimpleNamespace(qa_vocab_size=args.vocab_size, qa_hidden=args.hidden, qa_fusion="mlp",
                             qa_lr=args.lr, qa_weight_decay=0.05, qa_batch_size=args.batch_size, qa_epochs=args.epochs)
        head, vocab, hist = train_qa_head(tokens, q_train, items, hp, seed=args.seed)
        save_qa_head(args.train_head, head, vocab)
        print(f"trained a QA head on {hist['train_questions']} training questions ({len(vocab)} answers) in "
              f"{hist['seconds']:.1f} s -> {args.train_head}")
    else:
        try:
            head, vocab = load_qa_head(args.head)
        except QAHeadError as e:
            raise SystemExit(str(e)) from None
    q_test, q_new = questions(test)
    items = [{"video": pos[r.video_id]} for r in test]
    pred = predict_answers(head, tokens, q_test, items, vocab)
    truth = [r.answer for r in test]
    acc = qa_accuracy(pred, truth, vocab)
    types = [r.type or question_type(r.question) for r in test]
    by_type = qa_accuracy_by_type(pred, truth, types, vocab)
    print(f"{args.dataset} QA ({acc['num_questions']} questions, {acc['num_oov']} with an answer outside the "
          f"{len(vocab)}-answer vocabulary); model {args.model}")
    print(f"  accuracy all {acc['all']:.2f}  in-vocabulary {acc['in_vocab']:.2f} (official convention)")
    print("  by type: " + ", ".join(f"{t} {a:.1f}" for t, a in sorted(by_type.items())))
    print(f"  embeddings: {v_new} videos computed, the rest from the cache")
    P.write_json(args.output, {"command": "eval-qa", "model": args.model, "checkpoint": em.checkpoint,
                               "annotation": test_file, "train_annotation": train_file,
                               "head": args.head or args.train_head, "vocab_size": len(vocab),
                               "settings": {"dataset": args.dataset, "num_frames": frames, "img_size": size,
                                            "sampling": args.sampling, "precision": args.precision},
                               "metrics": {**acc, "by_type": by_type},
                               "predictions": {str(r.qid): p for r, p in zip(test, pred)},
                               "computed": {"videos": v_new, "questions": q_new}})
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-qa", help="open-ended video QA (MSRVTT-QA, MSVD-QA, TGIF-FrameQA)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    P.add_common_args(p, "internvideo_mm_l14_pretrain")
    p.add_argument("--dataset", required=True, choices=["msrvtt", "msvd", "tgif"],
                   help="msrvtt: MSRVTT-QA; msvd: MSVD-QA; tgif: TGIF-QA FrameQA (open-ended, accuracy)")
    p.add_argument("--data-root", required=True, help="folder with the QA files")
    p.add_argument("--annotation", default=None, help="test file (default: test_qa.json / Test_frameqa_question.csv)")
    p.add_argument("--train-annotation", default=None, help="training file for --train-head (default: official name)")
    p.add_argument("--youtube-mapping", default=None, help="MSVD youtube_mapping.txt (default: DATA_ROOT's)")
    p.add_argument("--video-dir", default=None, help="video folder (default: DATA_ROOT/videos or DATA_ROOT)")
    p.add_argument("--num-frames", type=int, default=None, help="frames per video (default: the model's)")
    p.add_argument("--sampling", default="official", choices=["official", "kit"],
                   help="official: segment-middle frames, 256x256 resize, centre crop (downstream loaders); "
                        "kit: linspace frames, short side 256 (the InternVideo-MM demo preprocessing)")
    p.add_argument("--head", default=None, help="a QA head file made by --train-head")
    p.add_argument("--train-head", default=None, metavar="OUT", help="train a head on the training split, save it here")
    p.add_argument("--vocab-size", type=int, default=None, help="answers kept (default: all training answers)")
    p.add_argument("--hidden", type=int, default=512, help="hidden width of the trained QA head (--train-head)")
    p.add_argument("--epochs", type=int, default=20, help="passes over the training split (--train-head)")
    p.add_argument("--batch-size", type=int, default=256, help="question-answer pairs per step (--train-head)")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate of the head (--train-head)")
    p.add_argument("--seed", type=int, default=0, help="seed of the head's initialisation and batch order")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    from internvideo_core.commands._training import run_main

    sys.exit(run_main(register, "eval-qa"))
