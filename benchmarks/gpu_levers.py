#!/usr/bin/env python
"""The GPU levers of issue 15, each measured next to its baseline in ONE process (what gpu_check.sh runs).

Parts (``--parts``; each on its own, an exception is kept with its traceback and the next part runs; the JSON is
rewritten after every part, so a killed run keeps what is done):

``attention`` ViT-B/16 16 x 224 inference, bf16: ``attention_backend`` auto / flash / efficient / cudnn / math
              -> clips/s and the max logits difference from ``auto``;
``compile``   the same inference eager, ``compile_module`` default and ``reduce-overhead`` (CUDA graphs) ->
              clips/s and the compile seconds (first calls, not timed);
``fp8``       torchao FP8 (:mod:`internvideo_core.train.fp8`): inference (``fp8_inference``, compiled) vs bf16
              compiled, with the logits deviation from bf16 (max / mean / top-1 agreement), and the
              fine-tuning step (``fp8_training``, compiled) vs bf16 compiled;
``mae``       the MAE pretraining step with ``num_masked``: Dynamo graphs / breaks and step time eager vs
              compiled;
``memory``    peak memory of the fine-tuning step (bf16, AdamW, activation checkpointing off / on) at batch 1
              and 2 per model size; the largest batch on an 80 GB GPU from that linear model
              (``peak = fixed + per_clip * batch``), so the table costs two steps per size.

    PYTHONPATH=. python benchmarks/gpu_levers.py --device cuda --out levers.json --markdown levers.md
    python benchmarks/gpu_levers.py --quick --device cpu --out /tmp/levers.json   # tiny models, the code paths
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from internvideo_core.models.attention_backend import attention_backend  # noqa: E402
from internvideo_core.registry import create_model  # noqa: E402
from internvideo_core.train.compile import compile_module, graph_breaks  # noqa: E402

PARTS = ("attention", "compile", "fp8", "mae", "memory")
GIB = 2**30


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], dev: torch.device, warmup: int, iters: int) -> float:
    """Seconds per call (median of 3 windows of ``iters`` calls, after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    _sync(dev)
    windows = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        _sync(dev)
        windows.append((time.perf_counter() - t0) / iters)
    return sorted(windows)[1]


class Setup:
    def __init__(self, args: argparse.Namespace) -> None:
        self.dev = torch.device(args.device)
        self.quick = args.quick
        self.dtype = torch.bfloat16 if self.dev.type == "cuda" else torch.float32
        self.cls_name = "videomae_vit_tiny_synth" if args.quick else "videomae_vit_base_patch16_224"
        self.mae_name = "videomae_pretrain_tiny_synth" if args.quick else "videomae_pretrain_base_patch16_224"
        self.batch = 2 if args.quick else args.batch
        self.warmup, self.iters = (1, 1) if args.quick else (3, 5)
        self.compile_backend = "aot_eager" if args.quick else "inductor"  # CPU inductor: ~40 s a model

    def classifier(self, **kw: Any) -> torch.nn.Module:
        torch.manual_seed(0)
        return create_model(self.cls_name, **kw).to(self.dev).eval()

    def video(self, model: torch.nn.Module, batch: int | None = None) -> torch.Tensor:
        c = model.config
        g = torch.Generator().manual_seed(0)
        return torch.randn(batch or self.batch, 3, c.num_frames, c.img_size, c.img_size, generator=g).to(self.dev)

    def autocast(self):
        return torch.autocast(self.dev.type, dtype=torch.bfloat16, enabled=self.dev.type == "cuda")

    def compile(self, module, mode: str = "default"):
        if self.compile_backend != "inductor":
            return compile_module(module, backend=self.compile_backend)
        return compile_module(module, mode=mode)


def part_attention(s: Setup) -> dict[str, Any]:
    model = s.classifier()
    x = s.video(model)
    out: dict[str, Any] = {}
    ref = None
    for name in ("auto", "flash", "efficient", "cudnn", "math"):
        try:
            with torch.no_grad(), s.autocast(), attention_backend(name):
                logits = model(x).float()
                sec = timed(lambda: model(x), s.dev, s.warmup, s.iters)
            ref = logits if ref is None else ref
            out[name] = {"clips_per_s": s.batch / sec, "max_diff_vs_auto": float((logits - ref).abs().max())}
        except Exception as exc:  # noqa: BLE001 - a backend that cannot run here is a result
            out[name] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return out


def part_compile(s: Setup) -> dict[str, Any]:
    model = s.classifier()
    x = s.video(model)
    out: dict[str, Any] = {}
    for mode in ("eager", "default", "reduce-overhead"):
        if mode == "reduce-overhead" and s.dev.type != "cuda":
            continue
        torch._dynamo.reset()
        fn = model if mode == "eager" else s.compile(model, mode)
        with torch.no_grad(), s.autocast():
            t0 = time.perf_counter()
            fn(x)
            fn(x)
            _sync(s.dev)
            first = time.perf_counter() - t0
            sec = timed(lambda: fn(x), s.dev, s.warmup, s.iters)
        out[mode] = {"clips_per_s": s.batch / sec, "first_calls_s": first}
    return out


def part_fp8(s: Setup) -> dict[str, Any]:
    from internvideo_core.train.fp8 import fp8_inference, fp8_training, logits_deviation

    out: dict[str, Any] = {}
    base = s.classifier()
    x = s.video(base)
    with torch.no_grad(), s.autocast():
        ref = base(x).float()
        bf = s.compile(base)
        out["inference_bf16_compiled"] = {"clips_per_s": s.batch / timed(lambda: bf(x), s.dev, s.warmup, s.iters)}
    if s.dev.type == "cuda":
        q = s.classifier()
        n = fp8_inference(q)
        torch._dynamo.reset()
        qc = s.compile(q)
        with torch.no_grad(), s.autocast():
            got = qc(x).float()
            sec = timed(lambda: qc(x), s.dev, s.warmup, s.iters)
        out["inference_fp8_compiled"] = {"clips_per_s": s.batch / sec, "layers": n, **logits_deviation(ref, got)}
    for kind in ("bf16", "fp8"):
        torch._dynamo.reset()
        model = s.classifier().train()
        layers = fp8_training(model) if kind == "fp8" else 0
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        step_model = s.compile(model)
        y = torch.randint(0, model.num_classes, (s.batch,), device=s.dev)

        def step():
            with s.autocast():
                loss = torch.nn.functional.cross_entropy(step_model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        with torch.no_grad(), s.autocast():
            first = step_model(x).float()
        out[f"finetune_{kind}_compiled"] = {
            "clips_per_s": s.batch / timed(step, s.dev, s.warmup, s.iters), "layers": layers,
            **({"first_logits_vs_bf16": logits_deviation(ref, first)} if kind == "fp8" else {})}
    return out


def part_mae(s: Setup) -> dict[str, Any]:
    from internvideo_core import masking

    torch.manual_seed(0)
    model = create_model(s.mae_name).to(s.dev)
    c = model.config
    x = s.video(model)
    gen = torch.Generator().manual_seed(0)
    mask = masking.tube_mask(x.shape[0], grid=c.grid, ratio=0.9, generator=gen).to(s.dev)
    n = masking.num_masked("tube", c.grid, 0.9)
    with s.autocast():
        graphs, breaks, reasons = graph_breaks(model.loss, x, mask, num_masked=n)
    out: dict[str, Any] = {"graphs": graphs, "graph_breaks": breaks, "reasons": reasons[:3]}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for mode in ("eager", "compiled"):
        torch._dynamo.reset()
        loss_fn = model.loss if mode == "eager" else torch.compile(model.loss, backend=s.compile_backend)

        def step(fn=loss_fn):
            with s.autocast():
                loss = fn(x, mask, num_masked=n)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        out[mode] = {"clips_per_s": s.batch / timed(step, s.dev, s.warmup, s.iters)}
    return out


def part_memory(s: Setup, budget_gib: float) -> dict[str, Any]:
    sizes = ["videomae_vit_tiny_synth"] if s.quick else [
        "videomae_vit_small_patch16_224", "videomae_vit_base_patch16_224", "videomae_vit_large_patch16_224",
        "videomae_vit_huge_patch16_224", "videomae_vit_giant_patch14_224"]
    out: dict[str, Any] = {}
    for name in sizes:
        for ckpt in (False, True):
            key = f"{name}{' +ckpt' if ckpt else ''}"
            try:
                peaks = {}
                for b in (1, 2):
                    torch.manual_seed(0)
                    model = create_model(name, grad_checkpointing=ckpt).to(s.dev).train()
                    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
                    x = s.video(model, b)
                    y = torch.zeros(b, dtype=torch.long, device=s.dev)
                    if s.dev.type == "cuda":
                        torch.cuda.empty_cache()
                        torch.cuda.reset_peak_memory_stats()
                    for _ in range(2):  # the second step holds the optimizer state too
                        with s.autocast():
                            loss = torch.nn.functional.cross_entropy(model(x), y)
                        loss.backward()
                        opt.step()
                        opt.zero_grad(set_to_none=True)
                    _sync(s.dev)
                    peaks[b] = torch.cuda.max_memory_allocated() / GIB if s.dev.type == "cuda" else None
                    del model, opt, x, loss
                if peaks[1] is None:  # the CPU has no per-allocation peak: the steps ran, nothing to fit
                    out[key] = {"ran": True}
                    continue
                per_clip = peaks[2] - peaks[1]
                fixed = peaks[1] - per_clip
                est = int((budget_gib - fixed) // per_clip) if per_clip > 0 else None
                out[key] = {"peak_gib_b1": peaks[1], "peak_gib_b2": peaks[2], "fixed_gib": fixed,
                            "per_clip_gib": per_clip, f"max_batch_{int(budget_gib)}gib": est}
            except Exception as exc:  # noqa: BLE001 - out of memory at batch 1 is a result too
                out[key] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            if s.dev.type == "cuda":
                torch.cuda.empty_cache()
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = [f"GPU levers on {report['meta']['device_name']} ({report['meta']['torch']})", ""]
    for part, res in report["parts"].items():
        lines.append(f"## {part}")
        if "error" in res and isinstance(res["error"], str):
            lines.append(f"error: {res['error'][:300]}")
            continue
        for k, v in res.items():
            lines.append(f"- {k}: {json.dumps(v)[:300]}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--parts", default=",".join(PARTS))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--budget-gib", type=float, default=80.0, help="GPU memory of the max-batch table")
    p.add_argument("--out", default=None)
    p.add_argument("--markdown", default=None)
    args = p.parse_args(argv)
    s = Setup(args)
    name = torch.cuda.get_device_name(0) if s.dev.type == "cuda" else "cpu"
    report: dict[str, Any] = {"meta": {"device_name": name, "torch": torch.__version__, "quick": args.quick,
                                       "status": "running"}, "parts": {}}
    fns = {"attention": part_attention, "compile": part_compile, "fp8": part_fp8, "mae": part_mae,
           "memory": lambda st: part_memory(st, args.budget_gib)}

    def save() -> None:
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")

    for part in args.parts.split(","):
        t0 = time.perf_counter()
        try:
            report["parts"][part] = fns[part](s)
        except Exception as exc:  # noqa: BLE001 - one failing lever must not cost the others
            report["parts"][part] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        report["parts"][part]["seconds"] = time.perf_counter() - t0
        print(f"== {part} ({report['parts'][part]['seconds']:.0f} s): "
              f"{json.dumps(report['parts'][part], default=str)[:600]}", flush=True)
        save()
    report["meta"]["status"] = "complete"
    save()
    text = markdown(report)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
