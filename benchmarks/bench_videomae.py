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
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as _dt
import gc
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_guard import (CellTimeout, CheckFailed, Terminated, cell_seconds, error_record,  # noqa: E402,F401
                          install_sigterm, remaining_s, short_error, time_limit)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _bench_report import (KIT_VARIANTS, OPTIONAL_CONTENDERS, TITLES, compile_table,  # noqa: E402,F401
                           markdown_table, render_text, secondary_table, summarize, write_json)
from _official_style import (OfficialStyleClassifier, OfficialStylePretrain,  # noqa: E402
                             official_style_pretrain_loss)
from torch import nn  # noqa: E402

from internvideo_core.checkpoint import to_official_state_dict  # noqa: E402
from internvideo_core.convert.hf_videomae import hf_config_kwargs, load_into_hf  # noqa: E402
from internvideo_core.masking import tube_mask  # noqa: E402
from internvideo_core.registry import create_model  # noqa: E402

CONTENDERS = ("kit", "hf_sdpa", "hf_eager", "official")  # the default list
ALL_CONTENDERS = CONTENDERS + OPTIONAL_CONTENDERS
WORKLOADS = tuple(TITLES)
_TINY = dict(embed_dim=64, depth=2, num_heads=4, decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=2)
_DECODER_KEYS = ("decoder_embed_dim", "decoder_depth", "decoder_num_heads")


# ------------------------------------------------------------------------------------------------------------
# models
# ------------------------------------------------------------------------------------------------------------
def build_kit(workload: str, args: argparse.Namespace) -> nn.Module:
    """The kit model for ``workload`` (CPU, fp32): a classifier or the masked autoencoder.

    Classifier: ``drop_path_rate=0`` (no contender has stochastic depth here), ``init_scale=1`` (an O(1)
    head, so the logit check is meaningful), sinusoid table for the model's own grid (what HF and the
    official pretraining code build), ``--num-classes`` outputs.
    """
    size = "base" if args.model == "tiny" else args.model
    arch = dict(_TINY) if args.model == "tiny" else {}
    common = dict(img_size=args.img_size, num_frames=args.frames)
    if workload == "pretrain":
        return create_model(f"videomae_pretrain_{size}_patch16_224", **common, **arch)
    arch = {k: v for k, v in arch.items() if k not in _DECODER_KEYS}
    return create_model(f"videomae_vit_{size}_patch16_224", **common, **arch, drop_path_rate=0.0,
                        pos_ref_img_size=None, init_scale=1.0, num_classes=args.num_classes)


def build_hf(kit: nn.Module, attn: str) -> nn.Module:
    """A transformers VideoMAE model with the kit model's weights and ``attn_implementation=attn``."""
    import transformers

    pretraining = hasattr(kit.config, "decoder_embed_dim")
    config = transformers.VideoMAEConfig(**hf_config_kwargs(kit.config), attn_implementation=attn)
    cls = transformers.VideoMAEForPreTraining if pretraining else transformers.VideoMAEForVideoClassification
    model = cls(config)
    load_into_hf(model, to_official_state_dict(kit))  # zero key bias where this transformers version has one
    if model.config._attn_implementation != attn:
        raise RuntimeError(f"transformers built attention {model.config._attn_implementation!r}, asked {attn!r}")
    eps = kit.config.layer_norm_eps  # HF hard-codes eps 1e-5 for these two norms; the checkpoints use 1e-6
    norm = model.decoder.norm if pretraining else model.fc_norm
    if norm is not None:
        norm.eps = eps
    return model


def build_official(kit: nn.Module) -> nn.Module:
    """The explicit-attention ("official") model with the kit model's weights (strict load)."""
    pretraining = hasattr(kit.config, "decoder_embed_dim")
    model = (OfficialStylePretrain if pretraining else OfficialStyleClassifier)(kit.config)
    model.load_state_dict(to_official_state_dict(kit), strict=True)
    return model


def build_models(workload: str, contenders: list[str], args: argparse.Namespace,
                 errors: dict[str, dict[str, str]] | None = None) -> dict[str, nn.Module]:
    """``{contender: model}`` on the CPU in fp32, all with the same weights (the kit model is always built:
    it is the source of the weights).

    ``kit_compile`` is a copy of the kit model (the kit model itself when ``kit`` is not asked for); it is
    compiled later, on the device, by :func:`measure`. With ``errors`` given, a contender that fails to
    build is recorded there (``{name: error_record}``) and left out instead of raising.
    """
    torch.manual_seed(args.seed)
    kit = build_kit(workload, args)
    models: dict[str, nn.Module] = {}
    for name in contenders:
        try:
            if name == "kit":
                models[name] = kit
            elif name == "kit_compile":
                models[name] = copy.deepcopy(kit) if "kit" in contenders else kit
            elif name == "hf_sdpa":
                models[name] = build_hf(kit, "sdpa")
            elif name == "hf_eager":
                models[name] = build_hf(kit, "eager")
            elif name == "official":
                models[name] = build_official(kit)
        except Exception as exc:
            if errors is None:
                raise
            errors[name] = error_record(exc, "build")
    return models


# ------------------------------------------------------------------------------------------------------------
# inputs and per-contender calls
# ------------------------------------------------------------------------------------------------------------
def make_video(batch: int, args: argparse.Namespace, device: torch.device, hf_layout: bool) -> torch.Tensor:
    """A seeded random clip batch ``[B, 3, T, H, W]`` (``[B, T, 3, H, W]`` for HF), fp32 on ``device``."""
    g = torch.Generator().manual_seed(args.seed + 1)
    x = torch.randn(batch, 3, args.frames, args.img_size, args.img_size, generator=g)
    if hf_layout:
        x = x.transpose(1, 2)
    return x.contiguous().to(device)


def make_mask(batch: int, kit_config: Any, args: argparse.Namespace, device: torch.device) -> torch.Tensor:
    """Tube mask ``bool [B, N]`` (ratio ``--mask-ratio``), the same for every contender."""
    return tube_mask(batch, kit_config.grid, args.mask_ratio, generator=torch.Generator().manual_seed(args.seed + 2),
                     device=device)


def classifier_call(name: str, model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``f(video) -> logits`` (video in the contender's own layout)."""
    if name.startswith("hf_"):
        return lambda x: model(pixel_values=x).logits
    return model


def pretrain_calls(name: str, model: nn.Module) -> tuple[Callable, Callable]:
    """``(predict(video, mask) -> [B, N_masked, P], loss(video, mask) -> scalar)`` for a contender."""
    if name.startswith("hf_"):
        return (lambda x, m: model(pixel_values=x, bool_masked_pos=m).logits,
                lambda x, m: model(pixel_values=x, bool_masked_pos=m).loss)
    if name == "official":
        return model, lambda x, m: official_style_pretrain_loss(model, x, m)
    return model, model.loss


def autocast_ctx(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


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


# ------------------------------------------------------------------------------------------------------------
# correctness check
# ------------------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------------------
# steps and timing
# ------------------------------------------------------------------------------------------------------------
def make_step(workload: str, name: str, model: nn.Module, batch: int, args: argparse.Namespace,
              device: torch.device, dtype: torch.dtype, kit_config: Any) -> Callable[[], None]:
    """One benchmark step of ``workload`` for a contender whose model is already on ``device``."""
    video = make_video(batch, args, device, hf_layout=name.startswith("hf_"))
    amp = lambda: autocast_ctx(device, dtype)  # noqa: E731
    if workload == "inference":
        model.eval()
        call = classifier_call(name, model)

        def step() -> None:
            with torch.inference_mode(), amp():
                call(video)
        return step

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05,
                            fused=device.type == "cuda" and args.fused_adamw)
    if workload == "finetune":
        call = classifier_call(name, model)
        target = torch.randint(0, args.num_classes, (batch,), generator=torch.Generator().manual_seed(args.seed + 3))
        target = target.to(device)
        loss_fn = lambda: F.cross_entropy(call(video).float(), target)  # noqa: E731
    else:
        mask = make_mask(batch, kit_config, args, device)
        _, loss = pretrain_calls(name, model)
        loss_fn = lambda: loss(video, mask)  # noqa: E731

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with amp():
            value = loss_fn()
        value.backward()
        opt.step()
    return step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_window(step: Callable[[], None], iters: int, device: torch.device) -> tuple[float, float]:
    """``(wall seconds, process CPU seconds)`` for ``iters`` steps (synchronised before and after).

    The CPU seconds (all threads of this process) are less sensitive than wall time to other processes
    sharing the cores (most telling with ``--threads 1``); on CUDA they only measure the host side.
    """
    _sync(device)
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(iters):
        step()
    _sync(device)
    return time.perf_counter() - t0, time.process_time() - c0


def _free(device: torch.device) -> None:
    """Give the device memory of dropped models back (CUDA; on the CPU a full ``gc.collect`` only costs time)."""
    if device.type == "cuda":
        gc.collect()
        torch.cuda.empty_cache()


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


def prepare_step(workload: str, name: str, model: nn.Module, batch: int, args: argparse.Namespace,
                 device: torch.device, dtype: torch.dtype, kit_config: Any) -> tuple[Callable[[], None], dict]:
    """The warmed-up step of a contender whose model is on ``device``, and what the warm-up recorded.

    ``kit_compile``: the model is compiled in place (``model.compile(dynamic=False, backend=...)``, after
    ``torch._dynamo.reset()``), its first call is checked by :func:`check_compiled`, and it gets at least
    ``--compile-warmup`` warm-up steps. Returns ``(step, {"warmup_steps", "warmup_s"[, "compile"]})``; the
    ``compile`` entry also holds the graphs / graph breaks compiled and ``_counts`` (popped by the caller)
    to tell later recompilations.
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
                 device: torch.device, dtype: torch.dtype, kit_config: Any) -> dict[str, Any]:
    """Sequential measurement of one contender already on ``device``: warm-up (compile), then the windows."""
    r: dict[str, Any] = {"times_s": [], "cpu_times_s": [], "peak_mem_gib": None}
    step, info = prepare_step(workload, name, model, batch, args, device, dtype, kit_config)
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
            ) -> dict[str, dict[str, Any]]:
    """``{contender: {"times_s": [...], "cpu_times_s": [...], "peak_mem_gib": float | None, "warmup_s", ...}}``
    for one workload; a contender that fails has ``{"error", "stage", "traceback"}`` instead.

    Sequential order: one contender at a time on ``device``, each under ``--cell-timeout`` / ``--deadline-s``,
    ``on_cell(name, result)`` called after each. Interleaved order: round-robin windows with a rotating start
    (a contender failing in its warm-up or a window is dropped from the rounds), ``peak`` sampled once per
    round, ``on_cell`` called for every contender at the end. ``kit_compile`` is compiled in place on
    ``device`` and checked by :func:`check_compiled` before its warm-up. ``kit_config``: the kit model's
    config (default: ``models["kit"].config``), for the tube mask.
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
                        out[name] = _measure_one(workload, name, model, batch, args, device, dtype, kit_config)
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
                                                 dtype, kit_config)
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


# ------------------------------------------------------------------------------------------------------------
# FLOPs and matmul peak
# ------------------------------------------------------------------------------------------------------------
def _block_macs(tokens: int, dim: int, hidden: int) -> int:
    """Multiply-adds of one transformer block on ``tokens`` tokens: qkv, proj, MLP, and the two attention
    matmuls ``q @ k^T`` and ``attn @ v``."""
    return tokens * dim * 3 * dim + tokens * dim * dim + 2 * tokens * dim * hidden + 2 * tokens * tokens * dim


def forward_flops(workload: str, config: Any, mask_ratio: float = 0.9) -> int:
    """Forward FLOPs per clip (2 x multiply-adds) of the classifier or the masked autoencoder.

    Counts the tubelet convolution, the blocks (linear layers + attention matmuls), the classifier head or
    ``encoder_to_decoder`` + decoder + ``decoder.head`` on the masked tokens; norms, softmax and GELU are
    left out (as usual for MFU).
    """
    c = config
    t, h, w = c.grid
    n = t * h * w
    hidden = int(c.embed_dim * c.mlp_ratio)
    patch_macs = n * c.embed_dim * c.in_chans * c.tubelet_size * c.patch_size ** 2
    if workload != "pretrain":
        return 2 * (patch_macs + c.depth * _block_macs(n, c.embed_dim, hidden) + c.embed_dim * c.num_classes)
    n_mask = t * int(mask_ratio * h * w)
    n_vis = n - n_mask
    d_hidden = int(c.decoder_embed_dim * c.mlp_ratio)
    macs = (patch_macs + c.depth * _block_macs(n_vis, c.embed_dim, hidden) + n_vis * c.embed_dim * c.decoder_embed_dim
            + c.decoder_depth * _block_macs(n, c.decoder_embed_dim, d_hidden) + n_mask * c.decoder_embed_dim * c.patch_dim)
    return 2 * macs


def step_flops(workload: str, config: Any, mask_ratio: float = 0.9) -> int:
    """FLOPs per clip of one benchmark step: forward for inference, 3 x forward for a training step."""
    return forward_flops(workload, config, mask_ratio) * (1 if workload == "inference" else 3)


class MatmulPeak:
    """Achieved TFLOP/s of ``[n, n] @ [n, n]`` in ``dtype`` on ``device``: the MFU denominator.

    :meth:`sample` times one window of ``iters`` matmuls; :attr:`best` is the fastest window seen. The run
    samples at the start, once per interleaved repeat round (so on a shared CPU the peak is measured under
    the same load as the contenders) and at the end.
    """

    def __init__(self, device: torch.device, dtype: torch.dtype, n: int, iters: int = 10) -> None:
        g = torch.Generator().manual_seed(0)
        self.a = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
        self.b = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
        self.device, self.n, self.iters = device, n, iters
        self.samples: list[float] = []
        for _ in range(2):
            self.a @ self.b

    def sample(self, windows: int = 1) -> float:
        """Time ``windows`` windows, record their TFLOP/s and return the best so far."""
        for _ in range(windows):
            wall = time_window(lambda: self.a @ self.b, self.iters, self.device)[0]
            self.samples.append(2 * self.n ** 3 * self.iters / wall / 1e12)
        return self.best

    @property
    def best(self) -> float:
        return max(self.samples)


# ------------------------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------------------------
# ------------------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------------------
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
    ``--out`` is rewritten after every finished cell.
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
                models = build_models(wl, contenders, args, errors=errors)
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
                measure(wl, models, batches[wl], args, device, dtype, peak_probe,
                        kit_config=config, on_cell=lambda name, raw, wl=wl: record(wl, name, raw))
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
    print("\n" + text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    if args.out:
        print(f"\nwrote {args.out}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
