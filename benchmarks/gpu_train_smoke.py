#!/usr/bin/env python
"""Smoke test of the kit's own training entry points on a GPU (or the CPU), timed, with a JSON report.

Parts (``--parts``, each recorded on its own; an exception is kept with its traceback and the next part runs):

``recipe``   :mod:`internvideo_core.recipes.videomae_synth` end to end: SynthMotion clips rendered in memory
             (no video files, no decord / PyAV), masked pretraining, the checkpoint saved (a temporary
             folder), fine-tuning from it (strict load) and the test-set evaluation (profile ``--profile``,
             default ``smoke``: seconds). Losses must be finite (the smoke profile trains a few steps only,
             so its accuracy means nothing).
``pretrain`` :func:`internvideo_core.train.pretrain.pretrain` (the loop behind ``internvideo pretrain``) on
             ViT-B/16 16 x 224 (``videomae_pretrain_base_patch16_224``, tube mask 0.9), ``--steps`` steps
             of random in-memory clips, batch 32 on CUDA.
``finetune`` :func:`internvideo_core.train.finetune.finetune` (``internvideo finetune``) on ViT-B/16
             16 x 224, 400 classes, drop path 0.1, the official recipe (layer decay 0.75, mixup 0.8 /
             cutmix 1.0, label smoothing 0.1), batch 16 on CUDA.

The loops run as users run them: ``precision="auto"`` (bf16 autocast on CUDA, fp32 on CPU) and the AdamW of
:func:`internvideo_core.train.optim.create_optimizer` (fused when every parameter is on the GPU; the report
says whether it was). Each step of the loop ends by reading the loss (a device sync), so the time between
two batch requests is one whole step: ``clips_per_s`` = batch / median step after ``--skip`` warm-up steps,
comparable with ``bench_videomae.py``'s ``kit`` column (which times the bare step).

    PYTHONPATH=. python3 benchmarks/gpu_train_smoke.py --device cuda --out train_smoke.json
    python benchmarks/gpu_train_smoke.py --device cpu --quick --out /tmp/smoke.json   # tiny models, seconds
"""
from __future__ import annotations

import argparse
import datetime as _dt
import math
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_guard import (Terminated, cell_seconds, error_record, install_sigterm, remaining_s,  # noqa: E402
                          time_limit)

import torch  # noqa: E402
from _bench_report import write_json  # noqa: E402

_TINY = dict(embed_dim=64, depth=2, num_heads=4, decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=2)

PARTS = ("recipe", "pretrain", "finetune")


class TimedLoader:
    """``steps`` batches (the same in-memory ``batch`` each time) and the time each one was asked for.

    ``stamps[i]`` is when batch ``i`` was requested; the training loop requests batch ``i + 1`` only after
    step ``i`` has finished (loss read back), so consecutive stamps bound one step.
    """

    def __init__(self, batch: Any, steps: int, batch_size: int) -> None:
        self.batch, self.steps, self.batch_size = batch, steps, batch_size
        self.stamps: list[float] = []

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[Any]:
        for _ in range(self.steps):
            self.stamps.append(time.perf_counter())
            yield self.batch


def step_stats(loader: TimedLoader, end: float, batch: int, skip: int) -> dict[str, Any]:
    """Per-step seconds from the loader's stamps (the last step ends at ``end``) and clips/s of the median."""
    marks = loader.stamps + [end]
    steps = [b - a for a, b in zip(marks[:-1], marks[1:])]
    timed = steps[skip:] or steps
    med = statistics.median(timed)
    return {"step_s": steps, "first_step_s": steps[0] if steps else None, "median_step_s": med,
            "clips_per_s": batch / med if med > 0 else float("nan"), "timed_steps": len(timed)}


class OptimizerProbe:
    """Records the optimizer that the kit's loops build (``create_optimizer`` patched for the duration)."""

    def __enter__(self) -> "OptimizerProbe":
        from internvideo_core.train import optim

        self._mod, self._orig = optim, optim.create_optimizer
        self.info: dict[str, Any] = {}

        def wrapped(*a: Any, **kw: Any) -> torch.optim.Optimizer:
            opt = self._orig(*a, **kw)
            self.info = {"type": type(opt).__name__, "fused": bool(opt.defaults.get("fused")),
                         "param_groups": len(opt.param_groups)}
            return opt

        optim.create_optimizer = wrapped
        return self

    def __exit__(self, *exc: Any) -> None:
        self._mod.create_optimizer = self._orig


def _finite(losses: list[float]) -> bool:
    return bool(losses) and all(math.isfinite(v) for v in losses)


def _memory(device: torch.device) -> dict[str, Any]:
    if device.type != "cuda":
        return {}
    return {"peak_mem_gib": torch.cuda.max_memory_allocated(device) / 2 ** 30}


def _reset_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


# ------------------------------------------------------------------------------------------------------------
def part_recipe(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """SynthMotion VideoMAE recipe: pretrain -> save -> fine-tune from the checkpoint -> evaluate."""
    from internvideo_core.recipes import videomae_synth as R

    if (device.type == "cuda") != torch.cuda.is_available():
        raise RuntimeError(f"the recipe picks its own device (CUDA when available); asked for {device}")
    recipe = R.get_recipe(args.profile)
    t0 = time.perf_counter()
    data = R.load_synth_data(recipe, 0)
    render_s = time.perf_counter() - t0
    with OptimizerProbe() as probe:
        model, history = R.pretrain_on_synthmotion(recipe, 0, data=data)
    pre_opt = probe.info
    with tempfile.TemporaryDirectory() as tmp:
        path = R.save_pretrained(model, recipe, Path(tmp) / "pretrain.safetensors")
        with OptimizerProbe() as probe:
            clf, ft_history, metrics = R.finetune_on_synthmotion(recipe, 0, init=path, data=data)
    losses = history["loss"]
    out = {
        "profile": args.profile,
        "model_device": str(next(clf.parameters()).device),
        "clips": {"pool": len(data.pool), "train": len(data.train_videos), "test": len(data.test_videos)},
        "render_s": render_s,
        "pretrain": {"steps": len(losses), "seconds": history["seconds"], "first_loss": losses[0],
                     "last_loss": losses[-1], "optimizer": pre_opt},
        "finetune": {"steps": len(ft_history["loss"]), "seconds": ft_history["seconds"],
                     "first_loss": ft_history["loss"][0], "last_loss": ft_history["loss"][-1],
                     "optimizer": probe.info,
                     "load_report": str(ft_history.get("load_report"))[:600]},
        "test_top1": float(metrics["top1"]),
        "test_top5": float(metrics["top5"]),
    }
    if not (_finite(losses) and _finite(ft_history["loss"])):
        raise FloatingPointError(f"non-finite losses: {out}")
    return out


def _loop_model_kwargs(args: argparse.Namespace, pretrain: bool) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if args.quick:
        kw = {k: v for k, v in _TINY.items() if pretrain or not k.startswith("decoder_")}
        kw.update(img_size=32, num_frames=4)
    return kw


def _timed_loop(train: Callable[..., Any], model: torch.nn.Module, loader: TimedLoader, cfg: Any,
                args: argparse.Namespace, device: torch.device, batch: int, name: str,
                **extra: Any) -> dict[str, Any]:
    """Run one of the kit's training loops (``train(model, loader, cfg)``) and report its losses, optimizer,
    per-step times and peak memory; non-finite losses raise ``FloatingPointError``."""
    _reset_memory(device)
    with OptimizerProbe() as probe:
        result = train(model, loader, cfg)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        end = time.perf_counter()
    if not _finite(result.losses):
        raise FloatingPointError(f"non-finite {name} losses: {result.losses}")
    return {"model": name + (" (tiny overrides)" if args.quick else ""), "batch": batch, "steps": result.step,
            "precision": "bf16 autocast" if device.type == "cuda" else "fp32", **extra,
            "optimizer": probe.info, "first_loss": result.losses[0], "last_loss": result.losses[-1],
            **step_stats(loader, end, batch, args.skip), **_memory(device)}


def part_pretrain(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """The kit's pretraining loop on ViT-B/16 (``--quick``: tiny) for ``--steps`` steps."""
    from internvideo_core.registry import create_model
    from internvideo_core.train.pretrain import PretrainConfig, pretrain

    torch.manual_seed(0)
    model = create_model("videomae_pretrain_base_patch16_224", **_loop_model_kwargs(args, pretrain=True))
    c = model.config
    b = args.batch_pretrain
    video = torch.randn(b, 3, c.num_frames, c.img_size, c.img_size, device=device)
    loader = TimedLoader(video, args.steps, b)
    cfg = PretrainConfig(epochs=1, batch_size=b, warmup_steps=max(1, args.steps // 4), mask_type="tube",
                         mask_ratio=0.9, device=str(device), progress=False, seed=0)
    return _timed_loop(pretrain, model, loader, cfg, args, device, b, "videomae_pretrain_base_patch16_224")


def part_finetune(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """The kit's fine-tuning loop (official recipe: layer decay, mixup / cutmix, smoothing) for ``--steps``."""
    from internvideo_core.registry import create_model
    from internvideo_core.train.finetune import FinetuneConfig, finetune

    torch.manual_seed(0)
    num_classes = 10 if args.quick else 400
    model = create_model("videomae_vit_base_patch16_224", num_classes=num_classes, drop_path_rate=0.1,
                         **_loop_model_kwargs(args, pretrain=False))
    c = model.config
    b = args.batch_finetune
    g = torch.Generator().manual_seed(1)
    video = torch.randn(b, 3, c.num_frames, c.img_size, c.img_size, generator=g).to(device)
    label = torch.randint(0, num_classes, (b,), generator=g).to(device)
    loader = TimedLoader((video, label), args.steps, b)
    cfg = FinetuneConfig(epochs=1, batch_size=b, warmup_steps=max(1, args.steps // 4), device=str(device),
                         progress=False, seed=0)
    recipe = {"layer_decay": cfg.layer_decay, "mixup": cfg.mixup, "cutmix": cfg.cutmix, "smoothing": cfg.smoothing,
              "drop_path_rate": 0.1}
    return _timed_loop(finetune, model, loader, cfg, args, device, b, "videomae_vit_base_patch16_224",
                       recipe=recipe)


_RUNNERS: dict[str, Callable[[argparse.Namespace, torch.device], dict[str, Any]]] = {
    "recipe": part_recipe, "pretrain": part_pretrain, "finetune": part_finetune}


# ------------------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--parts", default=",".join(PARTS))
    p.add_argument("--profile", default="smoke", help="videomae_synth profile of the recipe part")
    p.add_argument("--steps", type=int, default=None, help="loop steps (default 30 CUDA / 4 CPU)")
    p.add_argument("--skip", type=int, default=None, help="first steps left out of the median (default 5 / 1)")
    p.add_argument("--batch-pretrain", type=int, default=None, help="default 32 (CUDA) / 2 (CPU)")
    p.add_argument("--batch-finetune", type=int, default=None, help="default 16 (CUDA) / 2 (CPU)")
    p.add_argument("--quick", action="store_true", help="tiny models for the loops (4 frames x 32 px)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--part-timeout", type=float, default=None, help="seconds one part may take")
    p.add_argument("--deadline-s", type=float, default=None, help="time budget of the whole run")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    cuda = str(args.device).startswith("cuda")
    for k, gpu, cpu in (("steps", 30, 4), ("skip", 5, 1), ("batch_pretrain", 32, 2), ("batch_finetune", 16, 2)):
        if getattr(args, k) is None:
            setattr(args, k, gpu if cuda and not args.quick else cpu)
    args.parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    for x in args.parts:
        if x not in PARTS:
            p.error(f"unknown part {x!r}; choose from {', '.join(PARTS)}")
    if args.batch_finetune % 2:
        p.error("--batch-finetune must be even (mixup pairs clips)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_sigterm()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    report: dict[str, Any] = {"meta": {
        "date": _dt.datetime.now().isoformat(timespec="seconds"), "status": "running",
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]), "torch": torch.__version__,
        "cuda": torch.version.cuda, "python": platform.python_version(),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.machine()})",
        "steps": args.steps, "skip": args.skip, "quick": args.quick}, "parts": {}}
    write_json(report, args.out)
    args.cell_timeout, args.min_cell_s = args.part_timeout, 5.0
    failed = 0
    try:
        for name in args.parts:
            if remaining_s(args) < args.min_cell_s:
                report["parts"][name] = {"error": "skipped: the time budget is spent", "stage": "skipped"}
                failed += 1
                continue
            t0 = time.perf_counter()
            try:
                with time_limit(cell_seconds(args)):
                    res = _RUNNERS[name](args, device)
                res["wall_s"] = time.perf_counter() - t0
                report["parts"][name] = res
                print(f"[{name}] ok in {res['wall_s']:.1f} s: "
                      + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in res.items()
                                  if k in ("clips_per_s", "first_loss", "last_loss", "test_top1", "peak_mem_gib",
                                           "optimizer")), flush=True)
            except Exception as exc:
                report["parts"][name] = error_record(exc, name)
                failed += 1
                print(f"[{name}] FAILED: {report['parts'][name]['error'][:500]}", file=sys.stderr, flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
            write_json(report, args.out)
        report["meta"]["status"] = "complete" if not failed else f"complete, {failed} failed part(s)"
    except (Terminated, KeyboardInterrupt) as exc:
        report["meta"]["status"] = f"interrupted ({type(exc).__name__}): partial results"
        print(f"interrupted ({type(exc).__name__})", file=sys.stderr)
        write_json(report, args.out)
        return 124
    write_json(report, args.out)
    if args.out:
        print(f"wrote {args.out}")
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
