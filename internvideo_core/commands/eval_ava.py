"""``internvideo eval-ava``: AVA frame-mAP@0.5 of a detection CSV against a ground-truth CSV.

    internvideo eval-ava --ground-truth ava_val_v2.2.csv --detections results.csv \\
        --label-map ava_action_list_v2.2_for_activitynet_2019.pbtxt \\
        --excluded ava_val_excluded_timestamps_v2.2.csv [--output metrics.json]

Files in the released AVA formats, read by :mod:`internvideo_core.data.annotations`; the metric is
:func:`internvideo_core.eval.detection.ava_frame_map` (exact to the official evaluator). Prints the frame-mAP
and the AP of every action and writes them as JSON.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any


def evaluate_ava_files(ground_truth: str | Path, detections: str | Path, label_map: str | Path | None = None,
                       excluded: str | Path | None = None, iou_threshold: float = 0.5) -> dict[str, Any]:
    """Frame-mAP of the files: ``{"mAP", "per_class": {id: AP}, "names": {id: name}, "num_ground_truth",
    "num_detections", "num_excluded"}`` (classes: the label map's ids, else those of the ground truth)."""
    from internvideo_core.data.ava_annotations import read_ava_csv, read_ava_excluded, read_ava_label_map
    from internvideo_core.eval.detection import ava_frame_map

    gt = read_ava_csv(ground_truth)
    det = read_ava_csv(detections, detections=True)
    names = read_ava_label_map(label_map) if label_map else {}
    excl = sorted(read_ava_excluded(excluded)) if excluded else []
    classes = sorted(names) if names else None
    res = ava_frame_map(gt, det, excluded=excl, classes=classes, iou_threshold=iou_threshold)
    return {"mAP": res["mAP"], "per_class": res["per_class"], "names": names, "iou_threshold": iou_threshold,
            "num_ground_truth": len(gt), "num_detections": len(det), "num_excluded": len(excl)}


def _fmt(v: float) -> str:
    return "  n/a" if math.isnan(v) else f"{100 * v:5.2f}"


def _run(args: argparse.Namespace) -> int:
    from internvideo_core.data.annotations import AnnotationError

    try:
        res = evaluate_ava_files(args.ground_truth, args.detections, args.label_map, args.excluded,
                                 args.iou_threshold)
    except (FileNotFoundError, AnnotationError) as err:
        print(f"eval-ava: {err}", file=sys.stderr)
        return 2
    names = res["names"]
    print(f"AVA frame-mAP@{args.iou_threshold:g}: {_fmt(res['mAP'])} %  "
          f"({res['num_ground_truth']} ground-truth rows, {res['num_detections']} detections, "
          f"{res['num_excluded']} excluded frames)")
    print("per-class AP (%):")
    for c, ap in res["per_class"].items():
        print(f"  {c:>4d}  {_fmt(ap)}  {names.get(c, '')}")
    out = Path(args.output) if args.output else Path(args.detections).with_suffix(".ava_eval.json")
    def num(v: float) -> float | None:  # NaN (an action without ground truth) is written as null
        return None if math.isnan(v) else v

    payload = {"mAP": num(res["mAP"]), "iou_threshold": res["iou_threshold"],
               "per_class": {str(c): num(ap) for c, ap in res["per_class"].items()},
               "names": {str(c): n for c, n in names.items()},
               "ground_truth": str(args.ground_truth), "detections": str(args.detections),
               "num_ground_truth": res["num_ground_truth"], "num_detections": res["num_detections"],
               "num_excluded": res["num_excluded"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-ava", help="AVA frame-mAP@0.5 of detections (AVA CSV) against ground truth",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ground-truth", required=True,
                   help="AVA CSV: video_id,timestamp,x1,y1,x2,y2,action_id[,person_id]")
    p.add_argument("--detections", required=True, help="AVA CSV: video_id,timestamp,x1,y1,x2,y2,action_id,score")
    p.add_argument("--label-map", default=None, help="pbtxt (item { name id }) or 'id: name' list; its ids are the "
                                                     "evaluated actions (default: those in the ground truth)")
    p.add_argument("--excluded", default=None, help="excluded timestamps CSV (video_id,timestamp)")
    p.add_argument("--iou-threshold", type=float, default=0.5, help="box IoU for a match (official: 0.5)")
    p.add_argument("--output", default=None, help="JSON to write (default: next to the detections, "
                                                  "<detections>.ava_eval.json)")
    p.set_defaults(func=_run)
