"""Workloads of ``bench_videomae.py``: what one benchmark step does (inference, a fine-tuning step, a masked
autoencoder step) and what it costs in FLOPs (2 x multiply-adds; a training step = 3 x forward)."""
from __future__ import annotations

import argparse
from typing import Any, Callable

import torch
import torch.nn.functional as F
from _bench_models import autocast_ctx, classifier_call, make_mask, make_video, pretrain_calls
from torch import nn

__all__ = ["make_step", "forward_flops", "step_flops"]


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
