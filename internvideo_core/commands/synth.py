"""``internvideo synth``: generate the SynthMotion dataset (mp4 videos + real-format annotations)."""
from __future__ import annotations

import argparse


def _parts(text: str) -> list[str]:
    from internvideo_core.data.synthmotion_plan import PARTS

    parts = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown part(s) {bad}; choose from {','.join(PARTS)}")
    return parts


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.data.synthmotion import SynthConfig, generate_synthmotion

    cfg = SynthConfig(size=args.size, num_frames=args.num_frames, fps=args.fps, noise=args.noise, speed=args.speed,
                      clutter=args.clutter)
    manifest = generate_synthmotion(args.out, args.profile, seed=args.seed, parts=args.parts, cfg=cfg, crf=args.crf,
                                    workers=args.workers, progress=not args.quiet)
    t = manifest["timing"]
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
    print(f"SynthMotion ({manifest['profile']}, seed {args.seed}) -> {args.out}: {t['videos']} videos ({counts}) "
          f"in {t['seconds']:.1f} s, {t['clips_per_s']:.0f} clips/s; manifest: {args.out}/manifest.json")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="generate the SynthMotion dataset (H.264 mp4 + real annotation formats)",
                       description="Generate SynthMotion under --out: Kinetics/SSv2/MSR-VTT/MSRVTT-QA/ActivityNet/"
                                   "AVA style annotations over procedurally rendered H.264 videos, deterministic "
                                   "from --seed.",
                       epilog="Files follow the official layouts (Kinetics CSVs with youtube_ids unique across splits, "
                              "all four SSv2 JSONs, MSR-VTT training/JSFusion CSVs and msrvtt_mc_test.jsonl, AVA "
                              "dense proposals as a .pkl of float32 [N, 5] arrays). Class ids in the kit's lists "
                              "follow classes.txt order; mmaction2's Kinetics CSV converter numbers classes "
                              "alphabetically, so pass classes.txt when converting with it.")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--profile", default="tutorial", choices=["smoke", "tutorial", "full"],
                   help="dataset size: smoke (a few clips), tutorial (CPU notebooks), full (more and longer clips)")
    p.add_argument("--seed", type=int, default=0, help="the same seed writes the same clips")
    p.add_argument("--parts", type=_parts, default=None,
                   help="comma-separated subset of classification,ssv2,captions,qa,tal,ava,openset (default: all)")
    p.add_argument("--workers", type=int, default=0, help="parallel processes (0: this process)")
    p.add_argument("--size", type=int, default=64, help="frame size in pixels (even)")
    p.add_argument("--num-frames", type=int, default=16, help="frames per trimmed clip")
    p.add_argument("--fps", type=float, default=8.0, help="frame rate written into the mp4 files")
    p.add_argument("--noise", type=float, default=0.01, help="pixel noise std (0..1 units)")
    p.add_argument("--speed", type=float, default=1.0, help="motion speed multiplier")
    p.add_argument("--clutter", type=int, default=0, help="distractor shapes per clip")
    p.add_argument("--crf", type=int, default=18, help="x264 quality (lower is better)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run)
