r"""``internvideo eval-nlq``: Ego4D natural-language queries, scored as ``evaluate_ego4d_nlq.py`` scores them.

    internvideo eval-nlq --ground-truth ego4d_data/v1/annotations/nlq_val.json --predictions submission.json
    internvideo eval-nlq --ground-truth nlq_val.json --predictions submission.json --thresholds 0.3 0.5 \
        --top-k 1 3 5 --output metrics.json

The submission is the challenge file ``{"version": "1.0", "challenge": "ego4d_nlq_challenge", "results": [...]}``;
like the official script, a file with another version or challenge is refused (``--no-header-check`` skips that).
The table shows percentages (the official display); ``--output`` writes the fractions of
:func:`internvideo_core.eval.grounding.nlq_metrics`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.data.annotations import read_json
    from internvideo_core.data.ego4d_formats import NLQ_CHALLENGE
    from internvideo_core.eval.grounding import nlq_metrics

    gt = read_json(args.ground_truth)  # a missing or broken file: one line naming it (cli.run_command)
    sub = read_json(args.predictions)
    if not isinstance(sub, dict) or "results" not in sub:
        print(f"eval-nlq: {args.predictions} must be the challenge file with a 'results' list", file=sys.stderr)
        return 2
    if not args.no_header_check and (sub.get("version") != "1.0" or sub.get("challenge") != NLQ_CHALLENGE):
        print(f"eval-nlq: {args.predictions} has version={sub.get('version')!r}, challenge={sub.get('challenge')!r}; "
              f"the official script requires '1.0' and {NLQ_CHALLENGE!r} (--no-header-check to skip)", file=sys.stderr)
        return 2
    try:
        m = nlq_metrics(gt, sub["results"], tuple(args.thresholds), tuple(args.top_k))
    except (ValueError, KeyError, IndexError) as err:
        print(f"eval-nlq: {err}", file=sys.stderr)
        return 2
    print(f"Evaluated: {m['num_evaluated']} / {m['num_queries']} instances")
    keys = [f"R@{k},IoU={t:g}" for k in args.top_k for t in args.thresholds] + ["mIoU"]
    print("  ".join(f"{k:>13s}" for k in keys))
    print("  ".join(f"{100 * m[k]:13.2f}" for k in keys))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(m, indent=2))
        print(f"wrote {args.output}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-nlq", help="Ego4D NLQ: R@k at IoU thresholds and mIoU, as the official script",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ground-truth", required=True, help="nlq_val.json (official layout)")
    p.add_argument("--predictions", required=True, help="the challenge submission JSON")
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.3, 0.5], help="IoU thresholds (default 0.3 0.5)")
    p.add_argument("--top-k", type=int, nargs="+", default=[1, 5], help="ranks k (default 1 5)")
    p.add_argument("--no-header-check", action="store_true", help="accept any version / challenge field")
    p.add_argument("--output", help="write the metrics (fractions) to this JSON file")
    p.set_defaults(func=_run)
