"""Measuring of ``bench_videomae.py``: warm-up (and ``kit_compile``'s compilation), then timed windows of
every contender of one workload, sequentially or interleaved, each under its time limit; a failing
contender is recorded instead of stopping the run.

``make_step`` (default :func:`_bench_workloads.make_step`) builds the step of a contender; ``bench_videomae.run``
passes its own name so it can be replaced (the tests use this to simulate failures).
"""
from __future__ import annotations

import argparse
import contextlib
import time
from typing import Any, Callable

import torch
from _bench_check import check_compiled
from _bench_guard import cell_seconds, error_record, remaining_s, time_limit
from _bench_timing import MatmulPeak, _free, _sync, time_window
from _bench_workloads import make_step as _make_step
from torch import nn

__all__ = ["prepare_step", "measure"]

# make_step(workload, name, model, batch, args, device, dtype, kit_config) -> step()
StepFactory = Callable[..., Callable[[], None]]


def _dynamo_reset() -> None:
    """Forget every compiled graph (a fresh start, and their memory back) before / after a compiled cell."""
    import torch._dynamo

    torch._dynamo.reset()


def _dynamo_counts() -> dict[str, int]:
    """Compiled graphs and graph breaks so far (torch._dynamo counters; empty if unavailable)."""
    try:
        from torch._dynamo.utils import counters
    except Exception:  # pragma: no cover - internal API
        return {}
    return {"graphs": int(counters["stats"].get("unique_graphs", 0)),
            "graph_breaks": int(sum(counters["graph_break"].values()))}


def _count_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after if k in before}



def prepare_step(workload: str, name: str, model: nn.Module, batch: int, args: argparse.Namespace,
                 device: torch.device, dtype: torch.dtype, kit_config: Any, *,
                 make_step: StepFactory = _make_step) -> tuple[Callable[[], None], dict]:
    """The warmed-up step of a contender whose model is on ``device``, and what the warm-up recorded.

    ``kit_compile``: the model is compiled in place (``model.compile(dynamic=False, backend=...)``, after
    ``torch._dynamo.reset()``), its first call is checked by :func:`check_compiled`, and it gets at least
    ``--compile-warmup`` warm-up steps. Returns ``(step, {"warmup_steps", "warmup_s"[, "compile"]})``; the
    ``compile`` entry also holds the graphs / graph breaks compiled and ``_counts`` (popped by the caller)
    to tell later recompilations. ``make_step`` builds the step (:func:`_bench_workloads.make_step`).
    """
    info: dict[str, Any] = {}
    compiled = name == "kit_compile"
    if compiled:
        _dynamo_reset()
        counts0 = _dynamo_counts()
        model.compile(dynamic=False, backend=args.compile_backend)
    step = make_step(workload, name, model, batch, args, device, dtype, kit_config)
    t0 = time.perf_counter()
    if compiled:
        info["compile"] = check_compiled(workload, model, batch, args, device, dtype, kit_config)
    if device.type == "cuda":  # the peak of the steps (weights, inputs, optimizer state, activations)
        torch.cuda.reset_peak_memory_stats(device)
    warmup = max(args.warmup, args.compile_warmup) if compiled else args.warmup
    for _ in range(warmup):
        step()
    _sync(device)
    info["warmup_steps"] = warmup
    info["warmup_s"] = time.perf_counter() - t0  # compile included for kit_compile; never timed
    if compiled:
        counts1 = _dynamo_counts()
        info["compile"].update(mode="default", dynamic=False, backend=args.compile_backend,
                               compile_and_warmup_s=info["warmup_s"], **_count_delta(counts0, counts1),
                               _counts=counts1)
    return step, info


def _recompiled(info: dict[str, Any]) -> None:
    """Replace ``compile._counts`` (taken after the warm-up) by ``recompiled_while_timed``."""
    if "compile" in info:
        counts = info["compile"].pop("_counts", None)
        info["compile"]["recompiled_while_timed"] = (
            None if not counts else _count_delta(counts, _dynamo_counts()).get("graphs", 0) > 0)


def _measure_one(workload: str, name: str, model: nn.Module, batch: int, args: argparse.Namespace,
                 device: torch.device, dtype: torch.dtype, kit_config: Any, *,
                 make_step: StepFactory = _make_step) -> dict[str, Any]:
    """Sequential measurement of one contender already on ``device``: warm-up (compile), then the windows."""
    r: dict[str, Any] = {"times_s": [], "cpu_times_s": [], "peak_mem_gib": None}
    step, info = prepare_step(workload, name, model, batch, args, device, dtype, kit_config, make_step=make_step)
    r.update(info)
    for _ in range(args.repeats):
        wall, cpu = time_window(step, args.iters, device)
        r["times_s"].append(wall)
        r["cpu_times_s"].append(cpu)
    _recompiled(r)
    if device.type == "cuda":
        r["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2 ** 30
    return r


def _release(model: nn.Module | None, device: torch.device, compiled: bool = False) -> nn.Module | None:
    """Gradients dropped, model back on the CPU (None if that fails, e.g. after a CUDA error), memory freed."""
    if compiled:
        with contextlib.suppress(Exception):
            _dynamo_reset()
    if model is not None:
        try:
            model.zero_grad(set_to_none=True)
            model = model.to("cpu")
        except Exception:
            model = None
    _free(device)
    return model


def _skip_record(args: argparse.Namespace) -> dict[str, str]:
    return {"error": f"skipped: the time budget is spent (--deadline-s {args.deadline_s})", "stage": "skipped",
            "traceback": ""}


def measure(workload: str, models: dict[str, nn.Module], batch: int, args: argparse.Namespace,
            device: torch.device, dtype: torch.dtype, peak: MatmulPeak | None = None, *,
            kit_config: Any = None, on_cell: Callable[[str, dict[str, Any]], None] | None = None,
            make_step: StepFactory = _make_step) -> dict[str, dict[str, Any]]:
    """``{contender: {"times_s": [...], "cpu_times_s": [...], "peak_mem_gib": float | None, "warmup_s", ...}}``
    for one workload; a contender that fails has ``{"error", "stage", "traceback"}`` instead.

    Sequential order: one contender at a time on ``device``, each under ``--cell-timeout`` / ``--deadline-s``,
    ``on_cell(name, result)`` called after each. Interleaved order: round-robin windows with a rotating start
    (a contender failing in its warm-up or a window is dropped from the rounds), ``peak`` sampled once per
    round, ``on_cell`` called for every contender at the end. ``kit_compile`` is compiled in place on
    ``device`` and checked by :func:`check_compiled` before its warm-up. ``kit_config``: the kit model's
    config (default: ``models["kit"].config``), for the tube mask. ``make_step``: see :func:`prepare_step`.
    """
    names = list(models)
    if kit_config is None:
        kit_config = models["kit" if "kit" in models else "kit_compile"].config
    out: dict[str, dict[str, Any]] = {}
    if args.order == "sequential":
        for name in names:
            if remaining_s(args) < args.min_cell_s:
                out[name] = _skip_record(args)
            else:
                _free(device)
                model = models[name]
                try:
                    with time_limit(cell_seconds(args)):
                        model = model.to(device)
                        out[name] = _measure_one(workload, name, model, batch, args, device, dtype, kit_config,
                                                 make_step=make_step)
                except Exception as exc:
                    out[name] = error_record(exc, "measure")
                models[name] = _release(model, device, compiled=name == "kit_compile")
            if on_cell is not None:
                on_cell(name, out[name])
        return out
    steps: dict[str, Callable[[], None]] = {}
    for name in names:
        out[name] = {"times_s": [], "cpu_times_s": [], "peak_mem_gib": None}
        try:
            with time_limit(cell_seconds(args)):
                steps[name], info = prepare_step(workload, name, models[name].to(device), batch, args, device,
                                                 dtype, kit_config, make_step=make_step)
                out[name].update(info)
        except Exception as exc:
            out[name] = error_record(exc, "warm-up")
            steps.pop(name, None)
            models[name] = _release(models[name], device, compiled=name == "kit_compile")
    live = [n for n in names if n in steps]
    for r in range(args.repeats):
        if not live or (r and remaining_s(args) < args.min_cell_s):
            break
        for i in range(len(live)):
            name = live[(r + i) % len(live)]  # rotating start: each contender leads in turn
            if name not in steps:
                continue
            try:
                with time_limit(cell_seconds(args)):
                    wall, cpu = time_window(steps[name], args.iters, device)
                out[name]["times_s"].append(wall)
                out[name]["cpu_times_s"].append(cpu)
            except Exception as exc:
                out[name] = error_record(exc, f"timing window {r}")
                steps.pop(name)
        live = [n for n in live if n in steps]
        if peak is not None:
            peak.sample()
    del steps
    for name in names:
        _recompiled(out[name])
        if models[name] is not None:
            models[name] = _release(models[name], device, compiled=name == "kit_compile")
        if "error" not in out[name] and not out[name]["times_s"]:
            out[name] = _skip_record(args)
        if on_cell is not None:
            on_cell(name, out[name])
    return out

