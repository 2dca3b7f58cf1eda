#!/usr/bin/env python
"""VideoMAE speed benchmark: the kit next to its peers, in ONE process, on the same weights and inputs.

Contenders (``--contenders``):
  ``kit``       internvideo_core (SDPA attention, fused qkv, visible-token-only MAE encoder);
  ``hf_sdpa``   Hugging Face transformers VideoMAE, ``attn_implementation="sdpa"``;
  ``hf_eager``  Hugging Face transformers VideoMAE, ``attn_implementation="eager"``;
  ``official``  an explicit-attention re-implementation of the released VideoMAE classes
                (``benchmarks/_official_style.py``: ``q @ k^T -> softmax -> @ v``, same parameter layout).

Workloads (``--workloads``):
  ``inference`` forward only, clips/s (default batch 32 on CUDA);
  ``finetune``  classifier step: forward + cross-entropy + backward + AdamW (default batch 16 on CUDA);
  ``pretrain``  masked-autoencoder step: tube mask 0.9, decoder as released (B: depth 4), normalised-pixel
                MSE + backward + AdamW (default batch 32 on CUDA).

Every HF / official model is built from the kit model's weights (kit -> official layout ->
``internvideo_core.convert.hf_videomae.official_to_hf``) and, before anything is timed, its logits /
predictions / losses are compared with the kit's in float32 on a 2-clip batch (``--check-tol``, relative
max error); a mismatch stops the run, so a wrong model is never benchmarked. HF's ``fc_norm`` / decoder
``norm`` LayerNorm eps (1e-5, hard-coded there) is set to the checkpoint's 1e-6 so the four models compute
the same function (it does not change their speed).

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
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import gc
import json
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _official_style import (OfficialStyleClassifier, OfficialStylePretrain,  # noqa: E402
                             official_style_pretrain_loss)

from internvideo_core.checkpoint import to_official_state_dict  # noqa: E402
from internvideo_core.convert.hf_videomae import hf_config_kwargs, official_to_hf  # noqa: E402
from internvideo_core.masking import tube_mask  # noqa: E402
from internvideo_core.registry import create_model  # noqa: E402

CONTENDERS = ("kit", "hf_sdpa", "hf_eager", "official")
WORKLOADS = ("inference", "finetune", "pretrain")
_TITLES = {
    "inference": "inference",
    "finetune": "fine-tune step (fwd+bwd+AdamW)",
    "pretrain": "MAE pretraining step (tube 0.9)",
}
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
    model.load_state_dict(official_to_hf(to_official_state_dict(kit)), strict=True)
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


def build_models(workload: str, contenders: list[str], args: argparse.Namespace) -> dict[str, nn.Module]:
    """``{contender: model}`` on the CPU in fp32, all with the same weights."""
    torch.manual_seed(args.seed)
    kit = build_kit(workload, args)
    models: dict[str, nn.Module] = {}
    for name in contenders:
        if name == "kit":
            models[name] = kit
        elif name == "hf_sdpa":
            models[name] = build_hf(kit, "sdpa")
        elif name == "hf_eager":
            models[name] = build_hf(kit, "eager")
        elif name == "official":
            models[name] = build_official(kit)
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
                 device: torch.device) -> dict[str, float]:
    """Relative max error of every contender against the kit (float32, 2 clips); raises on a mismatch.

    Classifiers: logits. Autoencoder: the masked-token predictions and the loss (so the targets agree too).
    Models are moved to ``device`` one at a time and back to the CPU afterwards.
    """
    batch = 2
    kit = models["kit"]
    errs: dict[str, float] = {}
    with exact_fp32():
        x = make_video(batch, args, device, hf_layout=False)
        x_hf = make_video(batch, args, device, hf_layout=True)
        mask = make_mask(batch, kit.config, args, device) if workload == "pretrain" else None
        refs: list[torch.Tensor] = []
        for name, model in models.items():
            model.to(device).eval()
            video = x_hf if name.startswith("hf_") else x
            if workload == "pretrain":
                predict, loss = pretrain_calls(name, model)
                outs = [predict(video, mask), loss(video, mask)]
            else:
                outs = [classifier_call(name, model)(video)]
            model.to("cpu")
            if name == "kit":
                refs = outs
                if not all(torch.isfinite(o).all() for o in outs) or float(outs[0].abs().max()) == 0.0:
                    raise SystemExit(f"[{workload}] the kit model gives non-finite or all-zero outputs")
                continue
            errs[name] = max(_rel_err(o, r) for o, r in zip(outs, refs))
    bad = {k: v for k, v in errs.items() if not v <= args.check_tol}
    if bad:
        raise SystemExit(f"[{workload}] outputs differ from the kit's beyond --check-tol {args.check_tol}: {bad}. "
                         "Not benchmarking a model that computes something else; fix the conversion first.")
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
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def measure(workload: str, models: dict[str, nn.Module], batch: int, args: argparse.Namespace,
            device: torch.device, dtype: torch.dtype, peak: MatmulPeak | None = None) -> dict[str, dict[str, Any]]:
    """``{contender: {"times_s": [...], "cpu_times_s": [...], "peak_mem_gib": float | None}}`` for one workload.

    Interleaved order also samples ``peak`` once per repeat round.
    """
    names = list(models)
    kit_config = models["kit"].config
    out: dict[str, dict[str, Any]] = {n: {"times_s": [], "cpu_times_s": [], "peak_mem_gib": None} for n in names}
    if args.order == "sequential":
        for name in names:
            _free(device)
            model = models[name].to(device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            step = make_step(workload, name, model, batch, args, device, dtype, kit_config)
            for _ in range(args.warmup):
                step()
            for _ in range(args.repeats):
                wall, cpu = time_window(step, args.iters, device)
                out[name]["times_s"].append(wall)
                out[name]["cpu_times_s"].append(cpu)
            if device.type == "cuda":
                out[name]["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2 ** 30
            del step
            model.zero_grad(set_to_none=True)
            models[name] = model.to("cpu")
            _free(device)
        return out
    steps = {}
    for name in names:
        steps[name] = make_step(workload, name, models[name].to(device), batch, args, device, dtype, kit_config)
        for _ in range(args.warmup):
            steps[name]()
    for r in range(args.repeats):
        for i in range(len(names)):
            name = names[(r + i) % len(names)]  # rotating start: each contender leads in turn
            wall, cpu = time_window(steps[name], args.iters, device)
            out[name]["times_s"].append(wall)
            out[name]["cpu_times_s"].append(cpu)
        if peak is not None:
            peak.sample()
    del steps
    for name in names:
        models[name].zero_grad(set_to_none=True)
        models[name].to("cpu")
    _free(device)
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
def summarize(raw: dict[str, dict[str, Any]], batch: int, iters: int, flops_per_clip: int,
              peak_tflops: float) -> dict[str, dict[str, Any]]:
    """Per contender: clips/s of the median window (``clips_per_s``, the headline), of the fastest window
    (``best_clips_per_s``) and per process-CPU-second (``clips_per_cpu_s``, median), step time, achieved
    TFLOP/s and MFU (median window), the spread ``(max - min) / median`` and every window's times."""
    res = {}
    for name, r in raw.items():
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
    return res


def _ratio(res: dict[str, dict[str, Any]], contenders: list[str], key: str) -> str:
    peers = [res[c][key] for c in contenders if c != "kit"]
    return f"{res['kit'][key] / max(peers):.2f}x" if "kit" in res and peers else "-"


def markdown_table(report: dict[str, Any]) -> str:
    """Headline table: clips/s (median window) with MFU and peak memory, and kit / fastest peer."""
    contenders = report["meta"]["contenders"]
    lines = ["| workload | batch | " + " | ".join(contenders) + " | kit / best peer |",
             "|" + "---|" * (len(contenders) + 3)]
    for wl, res in report["results"].items():
        cells = []
        for c in contenders:
            r = res[c]
            extra = [f"MFU {100 * r['mfu']:.1f} %"]
            if r["peak_mem_gib"] is not None:
                extra.append(f"{r['peak_mem_gib']:.1f} GiB")
            cells.append(f"{r['clips_per_s']:.3g} ({', '.join(extra)})")
        batch = next(iter(res.values()))["batch"]
        lines.append(f"| {_TITLES[wl]}, clips/s | {batch} | " + " | ".join(cells)
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
            cells = [f"{res[c][key]:.3g}" for c in contenders]
            lines.append(f"| {_TITLES[wl]} | {label} | " + " | ".join(cells) + f" | {_ratio(res, contenders, key)} |")
    return "\n".join(lines)


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
    p.add_argument("--contenders", default=",".join(CONTENDERS))
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
        if c not in CONTENDERS:
            p.error(f"unknown contender {c!r}; choose from {', '.join(CONTENDERS)}")
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every workload and return the report (``meta``, ``checks``, ``results``)."""
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
    peak_probe = MatmulPeak(device, dtype, args.peak_size)
    peak_probe.sample(5)
    batches = {"inference": args.batch_inference, "finetune": args.batch_finetune, "pretrain": args.batch_pretrain}
    report: dict[str, Any] = {"meta": {}, "checks": {}, "results": {}}
    tokens = None
    flops: dict[str, int] = {}
    raws: dict[str, dict[str, dict[str, Any]]] = {}
    for wl in args.workloads:
        models = build_models(wl, args.contenders, args)
        config = models["kit"].config
        tokens = config.grid[0] * config.grid[1] * config.grid[2]
        report["checks"][wl] = check_models(wl, models, args, device)
        print(f"[{wl}] check vs kit (fp32 rel. max error): "
              + ", ".join(f"{k} {v:.1e}" for k, v in report["checks"][wl].items()), flush=True)
        raws[wl] = measure(wl, models, batches[wl], args, device, dtype, peak_probe)
        flops[wl] = step_flops(wl, config, args.mask_ratio)
        del models
        _free(device)
    peak = peak_probe.sample(5)  # the fastest window of the whole run
    for wl, raw in raws.items():
        report["results"][wl] = summarize(raw, batches[wl], args.iters, flops[wl], peak)
    report["meta"] = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "device": _device_name(device),
        "torch": torch.__version__,
        "transformers": hf_version,
        "dtype": str(dtype).replace("torch.", ""),
        "model": args.model,
        "frames": args.frames,
        "img_size": args.img_size,
        "tokens": tokens,
        "mask_ratio": args.mask_ratio,
        "contenders": args.contenders,
        "workloads": args.workloads,
        "batches": {wl: batches[wl] for wl in args.workloads},
        "order": args.order,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "iters": args.iters,
        "threads": torch.get_num_threads(),
        "matmul_peak_tflops": peak,
        "matmul_peak_samples": peak_probe.samples,
        "matmul_peak_size": args.peak_size,
        "flops_per_clip_step": flops,
        "fused_adamw": device.type == "cuda" and args.fused_adamw,
    }
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    m = report["meta"]
    print(f"\nVideoMAE ViT-{m['model']}/16, {m['frames']} frames x {m['img_size']} px ({m['tokens']} tokens), "
          f"{m['device']}, {m['dtype']}, torch {m['torch']}, transformers {m['transformers']}; "
          f"matmul peak {m['matmul_peak_tflops']:.3g} TFLOP/s; median of {m['repeats']} x {m['iters']} steps, "
          f"{m['order']}\n")
    print(markdown_table(report))
    if torch.device(args.device).type == "cpu":
        print("\n" + secondary_table(report))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
