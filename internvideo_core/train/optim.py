"""AdamW with the official VideoMAE / InternVideo parameter groups.

Reproduces ``optim_factory.get_parameter_groups`` + ``LayerDecayValueAssigner`` of the official code:

- no weight decay for every 0-/1-D parameter (biases, norms, ``q_bias``/``v_bias``, a scalar
  ``logit_scale``), every name ending in
  ``.bias`` and every name in ``model.no_weight_decay()`` (``pos_embed``, ``cls_token``, ``mask_token``);
- layer-wise lr decay (fine-tuning): ``num_layers = model.get_num_layers()`` (the ViT depth) and
  ``lr_scale = layer_decay ** (num_layers + 1 - layer_id)`` with the official layer ids
  ``cls_token/mask_token/pos_embed/patch_embed.* -> 0``, ``blocks.{i}.* -> i + 1``,
  everything else (``fc_norm``, ``head``) ``-> num_layers + 1`` (scale 1);
- the lr of a run is ``base_lr * total_batch_size / 256`` (:func:`scale_lr`); the scheduler multiplies each
  group's ``lr_scale`` (see :mod:`internvideo_core.train.schedule`).

timm's ``param_groups_layer_decay`` needs a ``group_matcher`` on the model and counts layers differently, so
the grouping is written out here (twenty lines) to match the official mapping exactly.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import torch
from torch import nn

from internvideo_core.models.vit import official_layer_id

__all__ = ["official_layer_id", "param_groups", "scale_lr", "create_optimizer", "unwrap_model"]


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside ``DistributedDataParallel`` / ``torch.compile`` wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def param_groups(
    model: nn.Module,
    weight_decay: float,
    layer_decay: float = 1.0,
    skip_list: Iterable[str] | None = None,
    num_layers: int | None = None,
    layer_id_fn: Callable[[str], int] | None = None,
) -> list[dict[str, Any]]:
    """Parameter groups ``{"params", "weight_decay", "lr_scale", "group_name", "param_names"}``.

    Args:
        model: the model (wrappers are unwrapped; names are those of the bare model).
        weight_decay: decay of the "decay" groups; the others get 0.
        layer_decay: < 1 enables layer-wise lr decay (needs ``model.get_num_layers()`` or ``num_layers``).
        skip_list: names without weight decay; default ``model.no_weight_decay()`` if the model has it.
        num_layers: overrides ``model.get_num_layers()``.
        layer_id_fn: overrides :func:`official_layer_id` (a model may also define ``get_layer_id(name)``).
    """
    model = unwrap_model(model)
    if skip_list is None:
        skip_list = model.no_weight_decay() if hasattr(model, "no_weight_decay") else ()
    skip = set(skip_list)
    use_ld = layer_decay < 1.0
    if use_ld:
        if num_layers is None:
            if not hasattr(model, "get_num_layers"):
                raise ValueError(
                    f"layer_decay={layer_decay} needs the depth: {type(model).__name__} has no get_num_layers(); "
                    "pass num_layers= or use layer_decay=1.0")
            num_layers = int(model.get_num_layers())
        if layer_id_fn is None:
            layer_id_fn = getattr(model, "get_layer_id", None) or (lambda n: official_layer_id(n, num_layers))
        scales = [layer_decay ** (num_layers + 1 - i) for i in range(num_layers + 2)]
    groups: dict[str, dict[str, Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name.endswith(".bias") or name in skip:
            kind, wd = "no_decay", 0.0
        else:
            kind, wd = "decay", weight_decay
        if use_ld:
            layer_id = layer_id_fn(name)
            group_name, scale = f"layer_{layer_id}_{kind}", scales[layer_id]
        else:
            group_name, scale = kind, 1.0
        g = groups.setdefault(group_name, {"params": [], "param_names": [], "weight_decay": wd,
                                           "lr_scale": scale, "group_name": group_name})
        g["params"].append(param)
        g["param_names"].append(name)
    return list(groups.values())


def scale_lr(base_lr: float, total_batch_size: int) -> float:
    """The official linear scaling rule: ``base_lr * total_batch_size / 256``.

    ``total_batch_size`` = per-process batch x gradient accumulation steps x world size.
    """
    return base_lr * total_batch_size / 256


def create_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float = 0.05,
    layer_decay: float = 1.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    skip_list: Iterable[str] | None = None,
    fused: bool | None = None,
) -> torch.optim.AdamW:
    """AdamW over :func:`param_groups`. ``lr`` is the already-scaled peak lr; group lr = ``lr * lr_scale``.

    ``param_names`` stays in each group (AdamW ignores unknown keys and they survive ``state_dict``), so a
    checkpoint can be checked against the model it is loaded into.
    """
    groups = param_groups(model, weight_decay, layer_decay, skip_list)
    for g in groups:
        g["lr"] = lr * g["lr_scale"]
    kwargs: dict[str, Any] = {}
    if fused is None:
        fused = all(p.is_cuda for g in groups for p in g["params"]) and bool(groups)
    if fused:
        kwargs["fused"] = True
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, weight_decay=0.0, **kwargs)
