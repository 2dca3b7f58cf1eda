r"""``internvideo eval-openset``: open-set recognition of a classifier, as InternVideo's open-set protocol (DEAR).

Known-class test videos (e.g. UCF-101 split 1) and unknown-class videos (HMDB-51 or MiT-v2) are classified; every
video gets a prediction and an uncertainty, ``u = K / sum(alpha)`` of an evidential (EDL) head (``--score edl``,
evidence ``exp(clamp(logits, -10, 10))``) or ``1 - max softmax`` (``--score softmax``). Views are averaged on
the raw logits before the evidence (the official ``average_clips='score'``). Reported, each labelled:

- closed-set accuracy on the known test videos;
- AUROC of the continuous uncertainty, unknown = positive (threshold-free);
- the official thresholded open-set macro-F1: threshold = the 95 % point of the known-class *training*
  uncertainties (``get_threshold.py``; give ``--train-list``, or ``--threshold`` to reuse a value);
- open maF1 over openness (``compare_openness.py``: 1..M unknown classes added, ``--num-rand`` random draws each).

Lists: VideoMAE / mmaction ``path label`` lines (``ucf101_{train,val}_split_1_videos.txt``,
``hmdb51_val_split_1_videos.txt``, ``mit_val_list_videos.txt``) or official Kinetics CSVs; unknown labels are the
unknown dataset's own class ids (they define the classes drawn for the openness curve).

    internvideo eval-openset --model videomae_vit_huge_patch16_224 --model-args num_classes=101 \
        --checkpoint ucf101_edl.pth --known-list ucf101_val_split_1_videos.txt --known-root /data/ucf101/videos \
        --unknown-list hmdb51_val_split_1_videos.txt --unknown-root /data/hmdb51/videos \
        --train-list ucf101_train_split_1_videos.txt --num-frames 16 --sampling-rate 2 --num-crops 3
    internvideo eval-openset --data runs/synth --checkpoint edl.safetensors    # SynthMotion's openset part
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from internvideo_core.commands import _training as T


def _synth_lists(root: Path) -> tuple[Path, Path, Path]:
    """(known test, unknown, known train) lists of a SynthMotion folder with its openset part."""
    manifest = root / "manifest.json"
    if not manifest.is_file():
        raise SystemExit(f"{root} has no manifest.json: pass a SynthMotion folder (internvideo synth --out DIR "
                         "--parts openset) or the lists themselves (--known-list, --unknown-list)")
    files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    if "openset" not in files:
        raise SystemExit(f"{root} has no openset part: generate it with "
                         f"`internvideo synth --out {root} --parts openset`")
    c = files["classification"]
    return root / c["test"], root / files["openset"]["unknown_test"], root / c["train"]


def clip_logits(model: Any, dataset: Any, batch_size: int, device: Any) -> tuple[Any, Any]:
    """``(logits [N, V, K], labels [N])`` of a test-mode :class:`~internvideo_core.data.datasets.ClipDataset`."""
    import torch
    from torch.utils.data import DataLoader

    model.eval()
    out, labels = [], []
    for x, y in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        if x.dim() == 5:
            x = x.unsqueeze(1)
        b, v = x.shape[:2]
        with torch.no_grad():
            logits = model(x.flatten(0, 1).to(device)).float().cpu()
        out.append(logits.view(b, v, -1))
        labels.append(torch.as_tensor(y))
    return torch.cat(out), torch.cat(labels)


def _dataset(args: argparse.Namespace, path: Path, root: Path, mc: Any, synth: bool) -> Any:
    from internvideo_core.data.datasets import kinetics_dataset

    return kinetics_dataset(path, root=root, mode="test", size=args.img_size or mc.img_size,
                            num_frames=args.num_frames or mc.num_frames,
                            rate=args.sampling_rate or (1 if synth else 2), num_clips=args.num_clips,
                            num_crops=args.num_crops, short_side=args.short_side)


def format_report(report: dict[str, Any]) -> str:
    """The human-readable summary: every number with what it measures."""
    from internvideo_core.eval.openset import SCORE_EXPLANATION

    curve = report["openness"]
    points = ", ".join(f"{o:.1f}%: {f * 100:.2f}" for o, f in zip(curve["openness"], curve["macro_f1"]))
    return "\n".join([
        f"uncertainty: {'EDL u = K / sum(alpha)' if report['kind'] == 'edl' else '1 - max softmax probability'}",
        f"known test videos {report['num_known']}, unknown videos {report['num_unknown']} "
        f"({report['num_unknown_classes']} unknown classes)",
        f"closed-set accuracy (known videos, no rejection):      {report['closed_set_accuracy'] * 100:.2f}",
        f"AUROC (continuous uncertainty, no threshold):           {report['auroc'] * 100:.2f}",
        f"open-set macro-F1 at the official threshold u > {report['threshold']:.6g}: "
        f"{report['open_set_macro_f1'] * 100:.2f}",
        f"open maF1 over openness (official compare_openness):    {report['open_maF1'] * 100:.2f} "
        f"+- {report['open_maF1_std'] * 100:.2f}",
        f"F1 vs openness: {points}",
        "", "What differs between them:", SCORE_EXPLANATION,
    ])


def _run(args: argparse.Namespace) -> int:
    import torch

    from internvideo_core.eval.openset import openset_report
    from internvideo_core.registry import create_model

    synth = args.data is not None
    if synth:
        known, unknown, train = _synth_lists(Path(args.data))
        known_root = unknown_root = Path(args.data)
        train = None if args.threshold is not None else train
    else:
        if not (args.known_list and args.unknown_list):
            raise SystemExit("give --data SYNTH_DIR, or --known-list and --unknown-list")
        known, unknown = Path(args.known_list), Path(args.unknown_list)
        train = Path(args.train_list) if args.train_list else None
        for p in (known, unknown, *([train] if train else [])):
            if not p.is_file():
                raise SystemExit(f"list {p} not found")
        known_root = Path(args.known_root) if args.known_root else known.parent
        unknown_root = Path(args.unknown_root) if args.unknown_root else unknown.parent
    if args.threshold is None and train is None:
        raise SystemExit("the official threshold needs the known-class training list (--train-list) or a value "
                         "(--threshold)")
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    model = create_model(args.model, checkpoint_path=args.checkpoint, **T.model_overrides(args.model_args))
    model.to(device)
    mc = model.config
    logits = {}
    for name, path, root in (("known", known, known_root), ("unknown", unknown, unknown_root),
                             *((("train", train, known_root),) if train else ())):
        logits[name] = clip_logits(model, _dataset(args, path, root, mc, synth), args.batch_size, device)
    report = openset_report(logits["known"][1], logits["known"][0], logits["unknown"][1], logits["unknown"][0],
                            threshold=args.threshold, train_logits=logits["train"][0] if train else None,
                            kind=args.score, keep_ratio=args.keep_ratio, num_rand=args.num_rand, seed=args.seed)
    print(format_report(report))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        meta = {"checkpoint": str(args.checkpoint), "model": args.model, "known_list": str(known),
                "unknown_list": str(unknown), "train_list": str(train) if train else None}
        Path(args.output).write_text(json.dumps({**meta, **report}, indent=1), encoding="utf-8")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-openset", help="open-set recognition: closed-set accuracy, AUROC, official "
                       "thresholded macro-F1, open maF1 over openness", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    T.add_model_args(p, "videomae_vit_tiny_synth")
    p.add_argument("--checkpoint", required=True, help="classifier weights (its logits feed the evidence)")
    g = p.add_argument_group("data")
    g.add_argument("--data", default=None, help="a SynthMotion folder with the openset part (instead of the lists)")
    g.add_argument("--known-list", default=None, help="known-class test list ('path label', e.g. UCF-101)")
    g.add_argument("--unknown-list", default=None, help="unknown-class list ('path label', HMDB-51 / MiT-v2 ids)")
    g.add_argument("--train-list", default=None, help="known-class training list for the official threshold")
    g.add_argument("--known-root", default=None, help="folder of the known (and training) videos "
                   "(default: the list's folder)")
    g.add_argument("--unknown-root", default=None, help="folder of the unknown videos (default: the list's folder)")
    g.add_argument("--num-frames", type=int, default=None, help="frames per clip (default: the model's)")
    g.add_argument("--sampling-rate", type=int, default=None, help="frame stride (default: 2 as the official "
                   "ViT config, 1 for SynthMotion)")
    g.add_argument("--img-size", type=int, default=None, help="crop size (default: the model's img_size)")
    g.add_argument("--short-side", type=int, default=None, help="resize the short side first (default: crop size)")
    g.add_argument("--num-clips", type=int, default=1, help="temporal views (official open-set ViT: 1)")
    g.add_argument("--num-crops", type=int, default=3, help="spatial crops (official open-set ViT: 3)")
    s = p.add_argument_group("scoring")
    s.add_argument("--score", choices=("edl", "softmax"), default="edl",
                   help="uncertainty: edl = K / sum(alpha) of the evidential head; softmax = 1 - max softmax")
    s.add_argument("--threshold", type=float, default=None, help="use this rejection threshold instead of the "
                   "95 %% point of the training uncertainties")
    s.add_argument("--keep-ratio", type=float, default=0.95, help="share of training videos under the threshold")
    s.add_argument("--num-rand", type=int, default=10, help="random draws of unknown classes per openness level")
    s.add_argument("--seed", type=int, default=123, help="seed of the draws (official 123)")
    p.add_argument("--batch-size", type=int, default=4, help="videos per batch")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    p.add_argument("--output", default=None, help="write the full report (incl. uncertainties) as JSON here")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    sys.exit(T.run_main(register, "eval-openset"))
