"""FSDP2 sharding (``torch.distributed.fsdp.fully_shard``) for the large models: ViT-g, InternVideo-MM-L.

    # torchrun --nproc_per_node 8 my_train.py      (one process per GPU, init_distributed() first)
    model = shard_model(create_model("videomae_vit_giant_patch14_224", grad_checkpointing=True), bf16=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)     # AFTER sharding: the parameters are DTensors now
    loss = criterion(model(video), label); loss.backward(); opt.step()
    state = full_state_dict(model)                           # plain tensors on rank 0 (save as usual)
    cleanup_distributed()                                    # a barrier, then every rank tears down together

Every transformer block (the ViT ``Block``, InternVideo-MM's ``ResidualAttentionBlock``) becomes one FSDP unit
and the root module holds the rest (embeddings, norms, head), so each process keeps ``1 / world_size`` of the
parameters, gradients and AdamW state and gathers one block's weights at a time. ``bf16=True`` computes in
bfloat16 with float32 gradient reduction (``MixedPrecisionPolicy``). Works with NCCL on GPUs and gloo on the
CPU (the tests run two gloo processes). Combine with ``grad_checkpointing=True`` for the largest batches.
The kit's training loops (``pretrain`` / ``finetune``) use DDP; this module is the building block for
sharded runs of the largest models.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["BLOCK_CLASSES", "shard_model", "full_state_dict"]

BLOCK_CLASSES = ("Block", "ResidualAttentionBlock")


def shard_model(model: nn.Module, *, bf16: bool = False, reshard_after_forward: bool = True) -> nn.Module:
    """Shard ``model`` in place with FSDP2 (one unit per transformer block + the root); returns ``model``.
    Needs an initialised process group (:func:`internvideo_core.train.distributed.init_distributed`)."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    kwargs: dict = {"reshard_after_forward": reshard_after_forward}
    if bf16:
        kwargs["mp_policy"] = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    blocks = [m for m in model.modules() if type(m).__name__ in BLOCK_CLASSES]
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no transformer block ({', '.join(BLOCK_CLASSES)}) to shard")
    for block in blocks:
        fully_shard(block, **kwargs)
    fully_shard(model, **kwargs)
    return model


def full_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The unsharded ``state_dict`` of a :func:`shard_model` model as plain CPU tensors (a collective: call it
    on every rank; all ranks get it)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
