r"""``internvideo eval-mq``: Ego4D moment queries, detection mAP and recall as the episodic-memory MQ code.

    internvideo eval-mq --ground-truth ego4d_data/v1/annotations/moments_val.json --predictions submission.json

The ground truth is ``moments_{split}.json`` (converted as ``MQ/Convert_annotation.py`` does) or an already converted
clip-annotation file; the submission is the challenge file ``{"detect_results", "retrieve_results"}`` or an
ActivityNet-style ``{"results"}``. ``--subset`` selects clips whose split is a substring of it (the official test:
``validation`` selects ``val``). Printed in percent; ``--output`` writes the fractions of
:func:`internvideo_core.eval.grounding.mq_metrics`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.data.annotations import read_json
    from internvideo_core.eval.grounding import mq_metrics

    gt = read_json(args.ground_truth)  # a missing or broken file: one line naming it (cli.run_command)
    sub = read_json(args.predictions)
    try:
        m = mq_metrics(gt, sub, subset=args.subset)
    except (ValueError, KeyError) as err:
        print(f"eval-mq: {err}", file=sys.stderr)
        return 2
    for t, x in zip(m["tiou_thresholds"], m["mAP_per_tiou"]):
        print(f"mAP at tIoU {t:g}: {100 * x:.2f}")
    print(f"average mAP: {100 * m['average_mAP']:.2f}")
    print("recall      " + "  ".join(f"R{r}x" .rjust(7) for r in m["recall_ranks"]))
    for t, row in zip(m["recall_tious"], m["recall"]):
        print(f"tIoU {t:g}    " + "  ".join(f"{100 * x:7.2f}" for x in row))
    if args.output:
        out = {k: v for k, v in m.items() if k != "ap_per_class"}
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(out, indent=2))
        print(f"wrote {args.output}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-mq", help="Ego4D MQ: detection mAP (tIoU 0.1-0.5) and recall table, as the official code",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ground-truth", required=True, help="moments_val.json (official layout) or clip annotations")
    p.add_argument("--predictions", required=True, help="the challenge submission JSON")
    p.add_argument("--subset", default="validation", help="evaluated split (substring test; default validation)")
    p.add_argument("--output", help="write the metrics (fractions) to this JSON file")
    p.set_defaults(func=_run)
