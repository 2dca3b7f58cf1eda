#!/usr/bin/env python
"""VideoMAE speed benchmark: the kit next to its peers, in ONE process, on the same weights and inputs.

Contenders (``--contenders``):
  ``kit``       internvideo_core (SDPA attention, fused qkv, visible-token-only MAE encoder);
  ``hf_sdpa``   Hugging Face transformers VideoMAE, ``attn_implementation="sdpa"``;
  ``hf_eager``  Hugging Face transformers VideoMAE, ``attn_implementation="eager"``;
  ``official``  an explicit-attention re-implementation of the released VideoMAE classes
                (``benchmarks/_official_style.py``: ``q @ k^T -> softmax -> @ v``, same parameter layout);
  ``kit_compile`` (opt-in, not in the default list) the kit model compiled in place with
                ``model.compile(dynamic=False)`` (``torch.compile`` default mode). Its compilation and warm-up
                time is recorded (``compile`` in the JSON) and never timed; it is checked in the timed
                configuration itself (see below). In ``--order sequential`` its cells run after every other
                cell, so a slow or failing compilation cannot cost the other measurements. The
                ``kit / best peer`` column takes the faster kit variant (and names it).

Workloads (``--workloads``):
  ``inference`` forward only, clips/s (default batch 32 on CUDA);
  ``finetune``  classifier step: forward + cross-entropy + backward + AdamW (default batch 16 on CUDA);
  ``pretrain``  masked-autoencoder step: tube mask 0.9, decoder as released (B: depth 4), normalised-pixel
                MSE + backward + AdamW (default batch 32 on CUDA).

Every HF / official model is built from the kit model's weights (kit -> official layout ->
``internvideo_core.convert.hf_videomae.official_to_hf``) and, before anything is timed, its logits /
predictions / losses are compared with the kit's in float32 on a 2-clip batch (``--check-tol``, relative
max error); a contender that differs is not timed (its cell records why), so a wrong model is never
benchmarked. HF's ``fc_norm`` / decoder ``norm`` LayerNorm eps (1e-5, hard-coded there) is set to the
checkpoint's 1e-6 so the four models compute the same function (it does not change their speed).
``kit_compile`` is checked on its first (compiling) call, made in the timed configuration (timed batch,
autocast, grad mode) so the check costs no second compilation: its output must be as close to the same
module run eagerly in exact float32 as ``--check-tol``, or within ``--compile-noise-factor`` times the
error of the eager module in the same autocast dtype (bf16 rounding noise), whichever is larger.

Robustness: every contender x workload cell runs on its own; an exception (out of memory, a compile failure,
another transformers version's API, ``--cell-timeout``, ``--deadline-s`` running out) is recorded in that
cell with its traceback (``results[workload][contender]["error"]`` and the ``errors`` list) and the run goes
on. ``--out`` is rewritten after every finished cell (``meta.status`` says ``running`` until the end), and
SIGTERM (e.g. ``timeout``) writes what is done before exiting, so a killed run still leaves its results.

Timing: bf16 autocast on CUDA (fp32 on CPU unless ``--dtype bf16``), ``--warmup`` steps, then
``--repeats`` timed windows of ``--iters`` steps each with ``torch.cuda.synchronize`` around them; the
median window gives clips/s. ``--order interleaved`` (the CPU default) visits the contenders round-robin
inside every repeat, with a rotating start, so background load hits all of them alike; ``--order
sequential`` (the CUDA default) measures one contender at a time with only its model on the GPU, so
``torch.cuda.max_memory_allocated`` is that contender's own peak. MFU = achieved FLOP/s over a bf16 (CUDA)
or fp32 (CPU) matmul peak measured in this process (``--peak-size``); forward FLOPs = 2 x multiply-adds of
the linear layers, convolution and attention matmuls, a training step = 3 x forward (the convention of
``shared/bench/peer-anchors.md``).

    python benchmarks/bench_videomae.py --device cuda --out results.json   # reproduces the peer table
    python benchmarks/bench_videomae.py --device cpu --model small --frames 8 --img-size 112
    python benchmarks/bench_videomae.py --quick --device cpu --out /tmp/quick.json   # seconds (CI)
    python benchmarks/bench_videomae.py --device cuda --contenders kit,hf_sdpa,hf_eager,official,kit_compile \
        --cell-timeout 150 --deadline-s 330 --out results.json    # what benchmarks/gpu_check.sh runs

This script is the command line and the orchestration (``run``); the work is in its sibling modules:
``_bench_models`` (contenders built from the kit's weights, inputs, calls), ``_bench_check`` (correctness
checks), ``_bench_workloads`` (benchmark steps, FLOPs), ``_bench_timing`` (timing windows, matmul peak),
``_bench_measure`` (warm-up, compile, timed windows per cell), ``_bench_guard`` (time limits, error
records), ``_bench_report`` (summaries, tables, JSON) and ``_official_style`` (the ``official`` models).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import platform
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_guard import (CellTimeout, CheckFailed, Terminated, cell_seconds, error_record,  # noqa: E402,F401
                          install_sigterm, remaining_s, short_error, time_limit)

import torch  # noqa: E402
from _bench_check import check_compiled, check_models, exact_fp32  # noqa: E402,F401
from _bench_measure import _dynamo_reset, _skip_record, measure, prepare_step  # noqa: E402,F401
from _bench_models import (autocast_ctx, build_hf, build_kit, build_models, build_official,  # noqa: E402,F401
                           classifier_call, make_mask, make_video, pretrain_calls)
from _bench_report import (KIT_VARIANTS, OPTIONAL_CONTENDERS, TITLES, compile_table,  # noqa: E402,F401
                           markdown_table, render_text, secondary_table, summarize, write_json)
from _bench_timing import MatmulPeak, _free, time_window  # noqa: E402,F401
from _bench_workloads import forward_flops, make_step, step_flops  # noqa: E402,F401

CONTENDERS = ("kit", "hf_sdpa", "hf_eager", "official")  # the default list
ALL_CONTENDERS = CONTENDERS + OPTIONAL_CONTENDERS
WORKLOADS = tuple(TITLES)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cuda | cpu | cuda:1 ...")
    p.add_argument("--model", default="base", choices=["tiny", "small", "base", "large"],
                   help="ViT size (patch 16); tiny = width 64, depth 2 (for --quick)")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--img-size", type=int, default=224)
    p.add_argument("--num-classes", type=int, default=400)
    p.add_argument("--mask-ratio", type=float, default=0.9)
    p.add_argument("--batch-inference", type=int, default=None, help="default 32 (CUDA) / 2 (CPU)")
    p.add_argument("--batch-finetune", type=int, default=None, help="default 16 (CUDA) / 2 (CPU)")
    p.add_argument("--batch-pretrain", type=int, default=None, help="default 32 (CUDA) / 2 (CPU)")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--contenders", default=",".join(CONTENDERS),
                   help=f"comma list of {', '.join(ALL_CONTENDERS)} (kit_compile is opt-in)")
    p.add_argument("--dtype", default="auto", choices=["auto", "fp32", "bf16"],
                   help="auto = bf16 autocast on CUDA, fp32 on CPU")
    p.add_argument("--warmup", type=int, default=None, help="warm-up steps per contender (default 5 CUDA / 1 CPU)")
    p.add_argument("--repeats", type=int, default=None, help="timed windows (default 10 CUDA / 5 CPU)")
    p.add_argument("--iters", type=int, default=None, help="steps per timed window (default 5 CUDA / 1 CPU)")
    p.add_argument("--order", default=None, choices=["interleaved", "sequential"],
                   help="default sequential on CUDA (per-contender peak memory), interleaved on CPU")
    p.add_argument("--peak-size", type=int, default=None, help="matmul size for the peak (8192 CUDA / 1024 CPU)")
    p.add_argument("--no-fused-adamw", dest="fused_adamw", action="store_false",
                   help="use the default (foreach) AdamW on CUDA instead of fused (same for every contender)")
    p.add_argument("--check-tol", type=float, default=1e-3, help="max relative error vs the kit (fp32 check)")
    p.add_argument("--compile-warmup", type=int, default=3,
                   help="kit_compile: at least this many warm-up steps after the compiling call (backward and "
                        "optimizer graphs compile on the first training step)")
    p.add_argument("--compile-backend", default="inductor",
                   help="kit_compile: torch.compile backend (inductor = the default; eager = trace only, for tests)")
    p.add_argument("--compile-noise-factor", type=float, default=4.0,
                   help="kit_compile check: allowed error vs fp32 = max(--check-tol, this x the eager module's "
                        "error in the same autocast dtype)")
    p.add_argument("--cell-timeout", type=float, default=None,
                   help="seconds one contender x workload cell may take (compile included); past it the cell "
                        "is recorded as a timeout and the run goes on")
    p.add_argument("--deadline-s", type=float, default=None,
                   help="time budget of the whole run in seconds: cells are cut to what is left, and cells "
                        "that would start with less than --min-cell-s left are recorded as skipped")
    p.add_argument("--min-cell-s", type=float, default=10.0, help="see --deadline-s")
    p.add_argument("--markdown", type=Path, default=None, help="also write the printed tables here")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="tiny model (width 64, depth 2), 4 frames x 32 px, batch 2, 2 repeats: seconds, for CI")
    p.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    args = p.parse_args(argv)
    cuda = str(args.device).startswith("cuda")
    if args.quick:
        args.model, args.frames, args.img_size, args.num_classes = "tiny", 4, 32, 10
        for k in ("batch_inference", "batch_finetune", "batch_pretrain"):
            setattr(args, k, getattr(args, k) or 2)
        args.warmup = 1 if args.warmup is None else args.warmup
        args.repeats = args.repeats or 2
        args.iters = args.iters or 1
        args.peak_size = args.peak_size or 256
    defaults = dict(batch_inference=32 if cuda else 2, batch_finetune=16 if cuda else 2,
                    batch_pretrain=32 if cuda else 2, warmup=5 if cuda else 1, repeats=10 if cuda else 5,
                    iters=5 if cuda else 1, order="sequential" if cuda else "interleaved",
                    peak_size=8192 if cuda else 1024)
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    for w in args.workloads:
        if w not in WORKLOADS:
            p.error(f"unknown workload {w!r}; choose from {', '.join(WORKLOADS)}")
    for c in args.contenders:
        if c not in ALL_CONTENDERS:
            p.error(f"unknown contender {c!r}; choose from {', '.join(ALL_CONTENDERS)}")
    args.contenders = list(dict.fromkeys(args.contenders))
    if "kit" not in args.contenders:
        args.contenders.insert(0, "kit")  # the reference for the correctness check
    if args.img_size % 16 or args.frames % 2:
        p.error("--img-size must be a multiple of 16 and --frames a multiple of 2 (patch 16, tubelet 2)")
    if min(args.batch_inference, args.batch_finetune, args.batch_pretrain, args.repeats, args.iters) < 1:
        p.error("batches, --repeats and --iters must be >= 1")
    return args


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _passes(args: argparse.Namespace) -> list[list[str]]:
    """Contender groups run one after the other over all workloads: in sequential order ``kit_compile`` gets
    a pass of its own after the others (a slow or failing compilation cannot cost the other cells)."""
    if args.order == "sequential" and "kit_compile" in args.contenders and len(args.contenders) > 1:
        return [[c for c in args.contenders if c != "kit_compile"], ["kit_compile"]]
    return [list(args.contenders)]


def run(args: argparse.Namespace, report: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run every workload and return the report (``meta``, ``checks``, ``results``, ``errors``).

    ``report`` (a dict, filled in place) lets the caller keep what is done when the run is interrupted;
    ``--out`` is rewritten after every finished cell. The HF builder and the step factory are this module's
    ``build_hf`` / ``make_step``, looked up at call time (so they can be replaced, e.g. by a test).
    """
    report = {} if report is None else report
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked but torch.cuda.is_available() is False; use --device cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.dtype == "auto":
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    else:
        dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    try:
        import transformers
        hf_version = transformers.__version__
    except ImportError:
        hf_version = None
        dropped = [c for c in args.contenders if c.startswith("hf_")]
        if dropped:
            print(f"transformers is not installed: skipping {dropped} (pip install transformers)", file=sys.stderr)
            args.contenders = [c for c in args.contenders if not c.startswith("hf_")]
    batches = {"inference": args.batch_inference, "finetune": args.batch_finetune, "pretrain": args.batch_pretrain}
    report.update({"meta": {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "status": "running",
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "device": _device_name(device),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers": hf_version,
        "python": platform.python_version(),
        "dtype": str(dtype).replace("torch.", ""),
        "model": args.model,
        "frames": args.frames,
        "img_size": args.img_size,
        "tokens": None,
        "mask_ratio": args.mask_ratio,
        "contenders": args.contenders,
        "workloads": args.workloads,
        "batches": {wl: batches[wl] for wl in args.workloads},
        "order": args.order,
        "passes": _passes(args),
        "warmup": args.warmup,
        "compile_warmup": args.compile_warmup,
        "repeats": args.repeats,
        "iters": args.iters,
        "threads": torch.get_num_threads(),
        "matmul_peak_tflops": None,
        "matmul_peak_samples": [],
        "matmul_peak_size": args.peak_size,
        "flops_per_clip_step": {},
        "fused_adamw": device.type == "cuda" and args.fused_adamw,
        "check_tol": args.check_tol,
        "compile_noise_factor": args.compile_noise_factor,
        "compile_backend": args.compile_backend if "kit_compile" in args.contenders else None,
        "cell_timeout_s": args.cell_timeout,
        "deadline_s": args.deadline_s,
    }, "checks": {}, "results": {}, "errors": []})
    meta = report["meta"]
    peak_probe = MatmulPeak(device, dtype, args.peak_size)
    peak_probe.sample(5)
    meta["matmul_peak_tflops"], meta["matmul_peak_samples"] = peak_probe.best, peak_probe.samples
    raws: dict[str, dict[str, dict[str, Any]]] = {}
    flops: dict[str, int] = {}

    def record(wl: str, name: str, raw: dict[str, Any]) -> None:
        """Store one finished cell (summarised with the best peak so far) and rewrite ``--out``."""
        raws.setdefault(wl, {})[name] = raw
        cell = summarize({name: raw}, batches[wl], args.iters, flops.get(wl, 0), peak_probe.best)[name]
        report["results"].setdefault(wl, {})[name] = cell
        if "error" in raw:
            report["errors"].append({"workload": wl, "contender": name, **raw})
            first = raw["error"].strip().splitlines()[0][:500] if raw["error"].strip() else ""
            print(f"[{wl}] {name}: {short_error(raw['error'])} ({raw['stage']}): {first}",
                  file=sys.stderr, flush=True)
        else:
            extra = f", compile + warm-up {cell['compile']['compile_and_warmup_s']:.1f} s" if "compile" in cell else ""
            print(f"[{wl}] {name}: {cell['clips_per_s']:.4g} clips/s{extra}", flush=True)
        meta["matmul_peak_tflops"], meta["matmul_peak_samples"] = peak_probe.best, peak_probe.samples
        write_json(report, args.out)

    write_json(report, args.out)
    for contenders in _passes(args):
        for wl in args.workloads:
            if remaining_s(args) < args.min_cell_s:
                for name in contenders:
                    record(wl, name, _skip_record(args))
                continue
            errors: dict[str, dict[str, str]] = {}
            try:
                models = build_models(wl, contenders, args, errors=errors, build_hf=build_hf)
            except Exception as exc:  # the kit model itself: nothing to compare with
                for name in contenders:
                    errors[name] = error_record(exc, "build (kit model)")
                models = {}
            if models:
                config = next(m for n, m in models.items() if n in KIT_VARIANTS).config
                meta["tokens"] = config.grid[0] * config.grid[1] * config.grid[2]
                flops[wl] = step_flops(wl, config, args.mask_ratio)
                meta["flops_per_clip_step"][wl] = flops[wl]
            if "kit" in models:
                report["checks"].setdefault(wl, {}).update(check_models(wl, models, args, device, errors=errors))
                print(f"[{wl}] check vs kit (fp32 rel. max error): "
                      + ", ".join(f"{k} {v:.1e}" for k, v in report["checks"][wl].items()), flush=True)
            for name in errors:
                models.pop(name, None)
                record(wl, name, errors[name])
            if models:
                measure(wl, models, batches[wl], args, device, dtype, peak_probe, kit_config=config,
                        on_cell=lambda name, raw, wl=wl: record(wl, name, raw), make_step=make_step)
            for name, raw in raws.get(wl, {}).items():
                if "compile" in raw:
                    report["checks"].setdefault(wl, {})[name] = raw["compile"]["err_vs_fp32"]
            del models
            _free(device)
    peak = peak_probe.sample(5)  # the fastest window of the whole run
    for wl, raw in raws.items():
        done = summarize(raw, batches[wl], args.iters, flops.get(wl, 0), peak)
        report["results"][wl] = {c: done[c] for c in args.contenders if c in done}
    meta["matmul_peak_tflops"], meta["matmul_peak_samples"] = peak, peak_probe.samples
    meta["status"] = "complete" if not report["errors"] else f"complete, {len(report['errors'])} failed cell(s)"
    write_json(report, args.out)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_sigterm()
    report: dict[str, Any] = {}
    code = 0
    try:
        run(args, report)
    except (Terminated, KeyboardInterrupt) as exc:
        code = 124 if isinstance(exc, Terminated) else 130
        if report.get("meta"):
            report["meta"]["status"] = f"interrupted ({type(exc).__name__}): partial results"
            write_json(report, args.out)
        print(f"\ninterrupted ({type(exc).__name__}); partial results kept", file=sys.stderr, flush=True)
    if not report.get("meta"):
        return code or 1
    text = render_text(report, torch.device(args.device).type)
    if args.quick:
        report["meta"]["note"] = QUICK_NOTE
        write_json(report, args.out)
        text = f"{text}\n\n{QUICK_NOTE}"
    print("\n" + text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    if args.out:
        print(f"\nwrote {args.out}")
    return code


#: Printed under the tables of a ``--quick`` run (and stored as ``meta.note``).
QUICK_NOTE = ("note: --quick times a tiny model (width 64, depth 2, 4 x 32 px) over two one-step windows: a check "
              "that every contender runs, not a measurement. Its ratios between contenders are not meaningful; run "
              "without --quick for numbers.")


if __name__ == "__main__":
    raise SystemExit(main())
