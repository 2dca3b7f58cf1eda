"""Correctness checks of ``bench_videomae.py``: no contender is timed unless it computes the kit's function.

:func:`check_models` compares every contender with the kit in exact float32 on a 2-clip batch (logits, or
the masked-token predictions and the loss); :func:`check_compiled` checks ``kit_compile``'s first
(compiling) call against the same module run eagerly.
"""
from __future__ import annotations

import argparse
import contextlib
import time
from typing import Any

import torch
from _bench_guard import CheckFailed, error_record
from _bench_models import autocast_ctx, classifier_call, make_mask, make_video, pretrain_calls
from _bench_timing import _sync
from torch import nn

__all__ = ["exact_fp32", "check_models", "check_compiled"]


@contextlib.contextmanager
def exact_fp32():
    """Disable TF32 (matmul and cuDNN) for the float32 correctness check; restore afterwards."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old




def _rel_err(ours: torch.Tensor, ref: torch.Tensor) -> float:
    return float((ours.float() - ref.float()).abs().max() / ref.float().abs().max().clamp_min(1e-12))


@torch.no_grad()
def check_models(workload: str, models: dict[str, nn.Module], args: argparse.Namespace,
                 device: torch.device, errors: dict[str, dict[str, str]] | None = None) -> dict[str, float]:
    """Relative max error of every contender against the kit (float32, 2 clips).

    Classifiers: logits. Autoencoder: the masked-token predictions and the loss (so the targets agree too).
    Models are moved to ``device`` one at a time and back to the CPU afterwards. ``kit_compile`` is not
    checked here (that would cost a second compilation): :func:`check_compiled` checks it when it is timed.

    Without ``errors``: raises ``SystemExit`` on a mismatch (or any failure). With ``errors``: a contender
    that fails or differs is recorded there (``{name: error_record}``) and the others are still checked; a
    failing kit reference is recorded under every contender.
    """
    batch = 2
    kit = models["kit"]
    errs: dict[str, float] = {}
    failed: dict[str, dict[str, str]] = {}
    with exact_fp32():
        x = make_video(batch, args, device, hf_layout=False)
        x_hf = make_video(batch, args, device, hf_layout=True)
        mask = make_mask(batch, kit.config, args, device) if workload == "pretrain" else None
        refs: list[torch.Tensor] = []
        for name, model in models.items():
            if name == "kit_compile":
                continue
            try:
                model.to(device).eval()
                video = x_hf if name.startswith("hf_") else x
                if workload == "pretrain":
                    predict, loss = pretrain_calls(name, model)
                    outs = [predict(video, mask), loss(video, mask)]
                else:
                    outs = [classifier_call(name, model)(video)]
                outs = [o.detach().float().cpu() for o in outs]
                if name == "kit":
                    refs = outs
                    if not all(torch.isfinite(o).all() for o in outs) or float(outs[0].abs().max()) == 0.0:
                        raise CheckFailed(f"[{workload}] the kit model gives non-finite or all-zero outputs")
                    continue
                errs[name] = max(_rel_err(o, r) for o, r in zip(outs, refs))
                if not errs[name] <= args.check_tol:
                    raise CheckFailed(f"[{workload}] {name}'s outputs differ from the kit's: relative max error "
                                      f"{errs[name]:.3g} > --check-tol {args.check_tol}. Not benchmarking a model "
                                      "that computes something else; fix the conversion first.")
            except Exception as exc:
                if errors is None:
                    if isinstance(exc, CheckFailed):
                        raise SystemExit(str(exc)) from None
                    raise
                failed[name] = error_record(exc, "check")
                if name == "kit":
                    for other in models:
                        failed.setdefault(other, error_record(exc, "check (kit reference)"))
                    break
            finally:
                model.to("cpu")
    if errors is not None:
        errors.update(failed)
    return errs


def check_compiled(workload: str, model: nn.Module, batch: int, args: argparse.Namespace, device: torch.device,
                   dtype: torch.dtype, kit_config: Any) -> dict[str, Any]:
    """First call of a model compiled in place (``model.compile``), checked against the same module run eagerly.

    The call is made in the timed configuration (the timed batch, ``dtype`` autocast, inference mode for
    ``inference`` and grad mode in ``model``'s train/eval state otherwise), so the graph it compiles is the
    one the steps use. Its output (logits, or the masked-token predictions) is compared with ``model.forward``
    run eagerly in exact float32 (``err_vs_fp32``); the eager module in the same autocast gives the rounding
    noise of ``dtype`` (``eager_err_vs_fp32``, 0 in float32). Passes when ``err_vs_fp32 <= max(--check-tol,
    --compile-noise-factor x eager_err_vs_fp32)``; raises :class:`CheckFailed` otherwise.
    Returns ``{"first_call_s", "err_vs_fp32", "eager_err_vs_fp32", "tol"}``.
    """
    video = make_video(batch, args, device, hf_layout=False)
    inputs = (video,) if workload != "pretrain" else (video, make_mask(batch, kit_config, args, device))
    mode = torch.inference_mode() if workload == "inference" else contextlib.nullcontext()
    _sync(device)
    t0 = time.perf_counter()
    with mode, autocast_ctx(device, dtype):
        out = model(*inputs)
    out = out.detach().float()
    _sync(device)
    first_call_s = time.perf_counter() - t0
    with torch.no_grad():
        with autocast_ctx(device, dtype):
            eager = model.forward(*inputs).float()  # forward() bypasses the compiled __call__
        with exact_fp32():
            ref = model.forward(*inputs).float()
    err, noise = _rel_err(out, ref), _rel_err(eager, ref)
    tol = max(args.check_tol, args.compile_noise_factor * noise)
    res = {"first_call_s": first_call_s, "err_vs_fp32": err, "eager_err_vs_fp32": noise, "tol": tol}
    if not (torch.isfinite(out).all() and err <= tol):
        raise CheckFailed(f"[{workload}] the compiled kit model differs from the eager one: relative max error vs "
                          f"float32 {err:.3g} > {tol:.3g} (eager {str(dtype).replace('torch.', '')}: {noise:.3g}); "
                          f"{res}")
    return res
