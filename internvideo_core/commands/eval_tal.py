r"""``internvideo eval-tal``: temporal action localization mAP of an ActivityNet result JSON.

    internvideo eval-tal --ground-truth activity_net.v1-3.min.json --predictions results.json
    internvideo eval-tal --ground-truth thumos14.json --predictions results.json --thresholds thumos --subset test
    internvideo eval-tal --ground-truth gt.json --predictions results.json --thresholds 0.3,0.5,0.7 --output map.json

The metric is :func:`internvideo_core.eval.localization.tal_map`, equal to ActivityNet's ``eval_detection.py``
(classes: those in the ground truth of the subset; predictions in videos without ground truth of their class
are false positives, as there). ``--thresholds``: ``anet`` (0.5:0.05:0.95, the default), ``thumos``
(0.3:0.1:0.7) or a comma-separated list. ``--subset``: ``validation`` (default), ``training``, ``testing``,
another subset name (matched case-insensitively, so THUMOS-14's ``Test`` works) or ``all``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def parse_thresholds(text: str) -> tuple[float, ...]:
    """``anet`` / ``thumos`` / ``"0.3,0.5"`` -> thresholds."""
    from internvideo_core.eval.localization import ANET_TIOU_THRESHOLDS, THUMOS_TIOU_THRESHOLDS

    named = {"anet": ANET_TIOU_THRESHOLDS, "activitynet": ANET_TIOU_THRESHOLDS, "thumos": THUMOS_TIOU_THRESHOLDS}
    if text.lower() in named:
        return named[text.lower()]
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        values = ()
    if not values or not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"--thresholds {text!r}: expected anet, thumos or numbers in (0, 1] "
                                         "separated by commas")
    return values


def evaluate_tal_files(ground_truth: str | Path, predictions: str | Path, thresholds=None,
                       subset: str = "validation") -> dict:
    """mAP of a result JSON against an ActivityNet-format ground truth (see the module docstring)."""
    from internvideo_core.data.annotations import activitynet_rows, read_activitynet_json
    from internvideo_core.eval.localization import ANET_TIOU_THRESHOLDS, tal_map
    from internvideo_core.tal.inference import read_anet_results, result_rows

    records = read_activitynet_json(ground_truth)
    if subset != "all":
        records = [r for r in records if r.subset.lower() == subset.lower()]
        if not records:
            raise ValueError(f"{ground_truth}: no video in subset {subset!r}; pass --subset all or one of "
                             f"{sorted({r.subset for r in read_activitynet_json(ground_truth)})}")
    gt = activitynet_rows(records)
    preds = result_rows(read_anet_results(predictions))
    res = tal_map(gt, preds, thresholds or ANET_TIOU_THRESHOLDS)
    gt_videos = {r.video_id for r in records}
    res.update(num_videos=len(gt_videos), num_ground_truth=len(gt), num_predictions=len(preds),
               predictions_outside_subset=sum(1 for p in preds if p[0] not in gt_videos), subset=subset)
    return res


def _run(args: argparse.Namespace) -> int:
    try:
        res = evaluate_tal_files(args.ground_truth, args.predictions, args.thresholds, args.subset)
    except (ValueError, FileNotFoundError) as err:
        print(f"eval-tal: {err}", file=sys.stderr)
        return 2
    print(f"{res['num_predictions']} predictions, {res['num_ground_truth']} ground-truth segments in "
          f"{res['num_videos']} videos (subset {args.subset})")
    if res["predictions_outside_subset"]:
        print(f"note: {res['predictions_outside_subset']} predictions are in videos outside the subset "
              "(counted as false positives, as the ActivityNet evaluator does)")
    for t, m in zip(res["tiou_thresholds"], res["mAP_per_tiou"]):
        print(f"mAP@{t:.2f}  {100 * m:6.2f}")
    print(f"average mAP  {100 * res['average_mAP']:6.2f}")
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps({"ground_truth": str(args.ground_truth),
                                                 "predictions": str(args.predictions), **res}, indent=1) + "\n",
                                     encoding="utf-8")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-tal", help="temporal localization mAP of an ActivityNet result JSON",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ground-truth", required=True, help="ActivityNet v1.3-format JSON")
    p.add_argument("--predictions", required=True, help='result JSON {"results": {video: [{label, score, segment}]}}')
    p.add_argument("--thresholds", type=parse_thresholds, default=None, help="anet (default), thumos or a list")
    p.add_argument("--subset", default="validation", help="ground-truth subset (default validation; 'all')")
    p.add_argument("--output", default=None, help="write the metrics as JSON here")
    p.set_defaults(func=_run)


if __name__ == "__main__":
    from internvideo_core.commands._training import run_main

    sys.exit(run_main(register, "eval-tal"))
