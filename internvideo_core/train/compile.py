"""Compilation as a training / inference option: ``torch.compile`` behind one switch, and a graph-break count.

    engine = maybe_compile(model, cfg)                  # cfg.compile / cfg.compile_mode (TrainConfig)
    engine = compile_module(model, mode="reduce-overhead")  # CUDA graphs for fixed-shape inference
    graphs, breaks, reasons = graph_breaks(model.loss, video, mask, num_masked=n)   # (1, 0, []) for the MAE step

Modes (``torch.compile``): ``default``; ``reduce-overhead`` (CUDA graphs: fixed shapes, a CUDA device; the
kit's inference paths have fixed shapes, the last smaller batch of a loader is one more graph);
``max-autotune`` (autotuned matmuls, long compile); ``max-autotune-no-cudagraphs``. Compilation is lazy: the
first call of each input shape compiles (tens of seconds for a ViT-B), later calls are fast. ``dynamic=False``:
every shape compiles its own specialised graph, as the benchmark does.

The compiled module shares parameters with the original, so optimizers, checkpoints and EMA keep using the
plain module (``state_dict`` keys carry no ``_orig_mod.`` prefix there).
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

__all__ = ["COMPILE_MODES", "compile_module", "maybe_compile", "graph_breaks"]

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile_module(module: nn.Module, mode: str = "default", backend: str = "inductor",
                   dynamic: bool | None = False) -> nn.Module:
    """``torch.compile(module, mode=..., backend=..., dynamic=...)``; raises ``ValueError`` for an unknown mode
    (``backend="eager"`` traces without generating code: a quick check that the module compiles)."""
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile mode must be one of {COMPILE_MODES}, got {mode!r}")
    kwargs: dict[str, Any] = {"backend": backend, "dynamic": dynamic}
    if backend == "inductor":
        kwargs["mode"] = mode
    return torch.compile(module, **kwargs)  # type: ignore[return-value]


def maybe_compile(module: nn.Module, cfg: Any) -> nn.Module:
    """``module`` compiled when ``cfg.compile`` is true (mode ``cfg.compile_mode``, default ``"default"``), else
    ``module`` itself. ``cfg``: a :class:`~internvideo_core.train.config.TrainConfig` or any object with
    those attributes (an ``argparse.Namespace`` of a command with ``--compile``)."""
    if not getattr(cfg, "compile", False):
        return module
    return compile_module(module, getattr(cfg, "compile_mode", None) or "default")


def graph_breaks(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, int, list[str]]:
    """``(graphs, graph breaks, reasons)`` of ``fn(*args, **kwargs)`` under ``torch._dynamo.explain`` (runs it
    once, on any device; resets Dynamo's caches first so earlier compilations do not hide breaks)."""
    torch._dynamo.reset()
    report = torch._dynamo.explain(fn)(*args, **kwargs)
    return int(report.graph_count), int(report.graph_break_count), [str(b.reason) for b in report.break_reasons]
