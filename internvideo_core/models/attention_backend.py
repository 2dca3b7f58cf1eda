"""Which fused attention kernel ``F.scaled_dot_product_attention`` may use: one switch for every kit model.

    with attention_backend("cudnn"):      # Hopper: cuDNN SDPA; "flash", "efficient", "math", "auto"
        logits = model(video)

Every kit attention layer (ViT blocks, InternVideo-MM, heads) calls ``F.scaled_dot_product_attention``, so the
context (``torch.nn.attention.sdpa_kernel``) covers forward and backward of everything run inside it.
``auto`` (the default) leaves PyTorch's own choice (flash on recent GPUs, math / flash-CPU on the CPU); a named
backend that cannot run the given inputs raises PyTorch's "No available kernel" error instead of silently
falling back, so a benchmark measures what it names. ``math`` is the reference computation on every device.
"""
from __future__ import annotations

import contextlib

__all__ = ["ATTENTION_BACKENDS", "attention_backend"]

ATTENTION_BACKENDS = ("auto", "flash", "efficient", "cudnn", "math")


def attention_backend(name: str = "auto") -> contextlib.AbstractContextManager:
    """Context manager restricting SDPA to backend ``name`` (see :data:`ATTENTION_BACKENDS`)."""
    if name not in ATTENTION_BACKENDS:
        raise ValueError(f"attention backend must be one of {ATTENTION_BACKENDS}, got {name!r}")
    if name == "auto":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    kernel = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
              "cudnn": SDPBackend.CUDNN_ATTENTION, "math": SDPBackend.MATH}[name]
    return sdpa_kernel([kernel])
