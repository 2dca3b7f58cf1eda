"""FP8 matmuls through ``torchao`` (optional: ``pip install torchao``): fine-tuning and inference on H100/H200.

    n = fp8_training(model)          # nn.Linear -> torchao Float8Linear (dynamic tensor-wise scales), n layers
    n = fp8_inference(model)         # CUDA >= sm89: weights fp8 per row, activations quantised on the fly
    dev = logits_deviation(ref, out) # {"max_abs", "mean_abs", "max_rel"}: the accuracy effect vs bf16 logits

Only linear layers whose both sizes are multiples of 16 (FP8 GEMM tiles) are converted, and never a classifier
``head`` (its few columns gain nothing and carry the logits): the patch embedding (a Conv3d), LayerNorms and
attention itself stay in bf16. ``Float8Linear`` also runs on the CPU (emulated, slow), which the tests use to
check the code path and numerics; the speed-up needs a GPU with FP8 tensor cores (compute capability >= 8.9),
where it pays with ``torch.compile`` (fused scaling). :func:`fp8_inference` needs such a GPU.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

__all__ = ["fp8_available", "fp8_filter", "fp8_training", "fp8_inference", "logits_deviation"]


class FP8UnavailableError(RuntimeError):
    """torchao is missing or the device has no FP8 tensor cores; the message says what to do."""


def fp8_available() -> tuple[bool, str]:
    """``(usable for training, why not)``: torchao imports (inference also needs :func:`_fp8_gpu`)."""
    try:
        import torchao.float8  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure is a reason
        return False, f"torchao does not import ({type(exc).__name__}: {exc}); pip install torchao"
    return True, ""


def _fp8_gpu() -> bool:
    return torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 9)


def fp8_filter(module: nn.Module, fqn: str) -> bool:
    """Convert ``module`` (at path ``fqn``)? Linear layers with sizes divisible by 16, not named ``head``."""
    if not isinstance(module, nn.Linear):
        return False
    if fqn.split(".")[-1] == "head" or fqn.endswith("head.fc") or fqn == "head":
        return False
    return module.in_features % 16 == 0 and module.out_features % 16 == 0


def _count(model: nn.Module, cls_name: str) -> int:
    return sum(type(m).__name__ == cls_name for m in model.modules())


def fp8_training(model: nn.Module, module_filter: Callable[[nn.Module, str], bool] = fp8_filter) -> int:
    """Swap the eligible ``nn.Linear`` layers of ``model`` for torchao ``Float8Linear`` in place (forward and
    backward GEMMs in float8 e4m3 / e5m2 with dynamic per-tensor scales); returns how many were converted.
    Parameters, ``state_dict`` keys and optimizers are unchanged (weights stay in their dtype)."""
    ok, why = fp8_available()
    if not ok:
        raise FP8UnavailableError(why)
    from torchao.float8 import convert_to_float8_training

    convert_to_float8_training(model, module_filter_fn=module_filter)
    return _count(model, "Float8Linear")


def fp8_inference(model: nn.Module, module_filter: Callable[[nn.Module, str], bool] = fp8_filter) -> int:
    """Quantise the eligible linear layers for inference (float8 weights per row, dynamic float8 activations);
    needs CUDA compute capability >= 8.9 (H100/H200, L4, RTX 40). Returns the number of layers quantised."""
    ok, why = fp8_available()
    if not ok:
        raise FP8UnavailableError(why)
    if not _fp8_gpu():
        raise FP8UnavailableError("FP8 inference needs a CUDA GPU with compute capability >= 8.9 (H100/H200, L4); "
                                  "use fp8_training() for the emulated CPU path or run in bf16")
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, quantize_

    before = {id(m) for m in model.modules() if isinstance(m, nn.Linear)}
    chosen = {id(m) for name, m in model.named_modules() if module_filter(m, name)}
    quantize_(model, Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()),
              filter_fn=lambda m, fqn: id(m) in chosen)
    return len(before & chosen)


def logits_deviation(reference: torch.Tensor, other: torch.Tensor) -> dict[str, float]:
    """``max_abs`` / ``mean_abs`` deviation of ``other`` from ``reference`` logits (float32), ``max_rel`` = max
    over the reference's largest magnitude, and ``top1_agree`` (fraction of rows with the same argmax)."""
    r, o = reference.float(), other.float()
    d = (o - r).abs()
    return {"max_abs": float(d.max()), "mean_abs": float(d.mean()),
            "max_rel": float(d.max() / r.abs().max().clamp_min(1e-12)),
            "top1_agree": float((r.argmax(-1) == o.argmax(-1)).float().mean())}
