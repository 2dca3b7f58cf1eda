"""Reports of ``bench_videomae.py``: per-cell summaries, the markdown tables, the JSON file.

A report is ``{"meta": {...}, "checks": {workload: {contender: rel. error}}, "results": {workload:
{contender: summary or {"error", "stage", "traceback"}}}, "errors": [...]}``.
"""
from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Any

from _bench_guard import short_error

__all__ = ["TITLES", "KIT_VARIANTS", "OPTIONAL_CONTENDERS", "summarize", "markdown_table", "secondary_table",
           "compile_table", "errors_text", "render_text", "write_json"]

TITLES = {
    "inference": "inference",
    "finetune": "fine-tune step (fwd+bwd+AdamW)",
    "pretrain": "MAE pretraining step (tube 0.9)",
}
OPTIONAL_CONTENDERS = ("kit_compile",)  # opt-in through --contenders
KIT_VARIANTS = ("kit", "kit_compile")  # "kit / best peer" takes the best of these


def summarize(raw: dict[str, dict[str, Any]], batch: int, iters: int, flops_per_clip: int,
              peak_tflops: float) -> dict[str, dict[str, Any]]:
    """Per contender: clips/s of the median window (``clips_per_s``, the headline), of the fastest window
    (``best_clips_per_s``) and per process-CPU-second (``clips_per_cpu_s``, median), step time, achieved
    TFLOP/s and MFU (median window), the spread ``(max - min) / median`` and every window's times, plus the
    warm-up (``warmup_s``, ``warmup_steps``) and, for ``kit_compile``, ``compile``. A failed contender keeps
    its ``{"error", "stage", "traceback"}`` (and ``batch``)."""
    res = {}
    for name, r in raw.items():
        if "error" in r or not r.get("times_s"):
            res[name] = {"batch": batch, **(r if "error" in r else {"error": "no timed window", "stage": "measure",
                                                                    "traceback": ""})}
            continue
        med = statistics.median(r["times_s"])
        clips = batch * iters / med
        tflops = clips * flops_per_clip / 1e12
        cpu_med = statistics.median(r["cpu_times_s"]) if r.get("cpu_times_s") else float("nan")
        res[name] = {
            "batch": batch,
            "clips_per_s": clips,
            "best_clips_per_s": batch * iters / min(r["times_s"]),
            "clips_per_cpu_s": batch * iters / cpu_med if cpu_med > 0 else float("nan"),
            "step_ms": 1e3 * med / iters,
            "times_s": r["times_s"],
            "cpu_times_s": r.get("cpu_times_s", []),
            "spread": (max(r["times_s"]) - min(r["times_s"])) / med,
            "tflops": tflops,
            "mfu": tflops / peak_tflops,
            "peak_mem_gib": r["peak_mem_gib"],
        }
        for k in ("warmup_s", "warmup_steps", "compile"):
            if k in r:
                res[name][k] = r[k]
    return res


def _ok(res: dict[str, dict[str, Any]], name: str) -> bool:
    return name in res and "error" not in res[name]


def _ratio(res: dict[str, dict[str, Any]], contenders: list[str], key: str) -> str:
    """``best kit variant / best peer`` of ``key`` (the variant named when ``kit_compile`` is a contender)."""
    kits = {c: res[c][key] for c in contenders if c in KIT_VARIANTS and _ok(res, c)}
    peers = [res[c][key] for c in contenders if c not in KIT_VARIANTS and _ok(res, c)]
    if not kits or not peers:
        return "-"
    best = max(kits, key=kits.get)
    which = f" ({best})" if any(c in contenders for c in OPTIONAL_CONTENDERS) else ""
    return f"{kits[best] / max(peers):.2f}x{which}"


def _error_cell(r: dict[str, Any]) -> str:
    return f"**{short_error(r['error'])}**"


def markdown_table(report: dict[str, Any]) -> str:
    """Headline table: clips/s (median window) with MFU and peak memory, and best kit variant / fastest peer."""
    contenders = report["meta"]["contenders"]
    lines = ["| workload | batch | " + " | ".join(contenders) + " | kit / best peer |",
             "|" + "---|" * (len(contenders) + 3)]
    for wl, res in report["results"].items():
        cells = []
        for c in contenders:
            r = res.get(c)
            if r is None:
                cells.append("not run")
                continue
            if "error" in r:
                cells.append(_error_cell(r))
                continue
            extra = [f"MFU {100 * r['mfu']:.1f} %"]
            if r["peak_mem_gib"] is not None:
                extra.append(f"{r['peak_mem_gib']:.1f} GiB")
            cells.append(f"{r['clips_per_s']:.3g} ({', '.join(extra)})")
        batch = next(iter(res.values()))["batch"] if res else "-"
        lines.append(f"| {TITLES[wl]}, clips/s | {batch} | " + " | ".join(cells)
                     + f" | {_ratio(res, contenders, 'clips_per_s')} |")
    return "\n".join(lines)


def secondary_table(report: dict[str, Any]) -> str:
    """Load-robust views for shared CPUs: fastest window and clips per process-CPU-second."""
    contenders = report["meta"]["contenders"]
    lines = ["| workload | statistic | " + " | ".join(contenders) + " | kit / best peer |",
             "|" + "---|" * (len(contenders) + 3)]
    for wl, res in report["results"].items():
        for key, label in (("best_clips_per_s", "clips/s, fastest window"),
                           ("clips_per_cpu_s", "clips per CPU-second, median")):
            cells = [f"{res[c][key]:.3g}" if _ok(res, c) else ("not run" if c not in res else _error_cell(res[c]))
                     for c in contenders]
            lines.append(f"| {TITLES[wl]} | {label} | " + " | ".join(cells) + f" | {_ratio(res, contenders, key)} |")
    return "\n".join(lines)


def compile_table(report: dict[str, Any]) -> str:
    """``kit_compile`` per workload: compile + warm-up seconds (not timed), first call, check, graphs."""
    lines = ["| workload | compile + warm-up s | first call s | rel. err vs fp32 (eager same dtype) | graphs | "
             "graph breaks | recompiled while timed |", "|---|---|---|---|---|---|---|"]
    for wl, res in report["results"].items():
        r = res.get("kit_compile")
        if r is None:
            continue
        c = r.get("compile")
        if c is None:
            lines.append(f"| {TITLES[wl]} | {_error_cell(r) if 'error' in r else '-'} | | | | | |")
            continue
        err = f"{c['err_vs_fp32']:.1e} ({c['eager_err_vs_fp32']:.1e})"
        lines.append(f"| {TITLES[wl]} | {c.get('compile_and_warmup_s', float('nan')):.1f} | {c['first_call_s']:.1f} | "
                     f"{err} | {c.get('graphs', '-')} | {c.get('graph_breaks', '-')} | "
                     f"{c.get('recompiled_while_timed', '-')} |")
    return "\n".join(lines)


def errors_text(report: dict[str, Any]) -> str:
    """One line per failed cell: ``workload / contender (stage): error``."""
    return "\n".join(f"- {e['workload']} / {e['contender']} ({e['stage']}): {(e['error'].strip().splitlines() or [''])[0][:300]}"
                     for e in report.get("errors", []))


def render_text(report: dict[str, Any], device_type: str) -> str:
    """Everything printed at the end (and written by ``--markdown``): header, tables, errors."""
    m = report["meta"]
    peak = m.get("matmul_peak_tflops")
    parts = [f"VideoMAE ViT-{m['model']}/16, {m['frames']} frames x {m['img_size']} px ({m.get('tokens')} tokens), "
             f"{m['device']}, {m['dtype']}, torch {m['torch']}, transformers {m['transformers']}; "
             f"matmul peak {peak:.3g} TFLOP/s; median of {m['repeats']} x {m['iters']} steps, "
             f"{m['order']}; status: {m.get('status')}", markdown_table(report)]
    if device_type == "cpu":
        parts.append(secondary_table(report))
    if "kit_compile" in m["contenders"]:
        parts.append(f"kit_compile (torch.compile, default mode, dynamic=False, backend {m.get('compile_backend')}):"
                     "\n\n" + compile_table(report))
    if report.get("errors"):
        parts.append("Failed or skipped cells (tracebacks in the JSON):\n" + errors_text(report))
    return "\n\n".join(parts)


def write_json(report: dict[str, Any], path: Path | None) -> None:
    """Write ``report`` to ``path`` atomically (a temporary file renamed over it)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, default=str))
    os.replace(tmp, path)
