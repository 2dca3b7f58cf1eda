"""Distributed training helpers: torchrun initialisation, rank helpers, gathers, resumable sampling.

Launching (every training command accepts the same flags with or without torchrun)::

    # one GPU or CPU
    internvideo finetune --data ... --output-dir runs/ft
    # 8 GPUs on one node: NCCL, one process per GPU, LOCAL_RANK picks the device
    torchrun --nproc_per_node 8 -m internvideo_core.commands.finetune --data ... --output-dir runs/ft
    # 2 nodes x 8 GPUs
    torchrun --nnodes 2 --node_rank 0 --master_addr HOST --master_port 29500 --nproc_per_node 8 \
        -m internvideo_core.commands.pretrain ...

:func:`init_distributed` reads ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` (set by torchrun) and starts NCCL when
CUDA is available, gloo otherwise (CPU runs and tests). ``--batch-size`` is per process; the lr is scaled
by the total batch (``batch_size x world_size / 256``).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Iterator, Sized

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

__all__ = [
    "DeviceUnavailableError",
    "DistInfo",
    "init_distributed",
    "cleanup_distributed",
    "is_dist",
    "get_rank",
    "get_world_size",
    "is_main_process",
    "barrier",
    "all_gather_with_grad",
    "all_reduce_mean",
    "all_gather_object",
    "ResumableSampler",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process runs: ``rank`` of ``world_size``, ``local_rank`` on its node, and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


class DeviceUnavailableError(RuntimeError):
    """The requested device (CUDA) is not available on this machine."""


def init_distributed(device: str | None = None, backend: str | None = None) -> DistInfo:
    """Start the process group if launched by torchrun (``WORLD_SIZE`` > 1); otherwise a single process.

    Args:
        device: ``"cuda"``, ``"cpu"`` or ``None`` (CUDA if available). Under torchrun with CUDA each process
            takes GPU ``LOCAL_RANK``.
        backend: default ``"nccl"`` on CUDA, ``"gloo"`` on CPU.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device is None else str(device).startswith("cuda")
    if use_cuda and not torch.cuda.is_available():
        raise DeviceUnavailableError("device 'cuda' was requested but CUDA is not available; use --device cpu")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        if "MASTER_ADDR" not in os.environ:
            raise RuntimeError("WORLD_SIZE > 1 but MASTER_ADDR is unset: launch with torchrun --nproc_per_node N")
        backend = backend or ("nccl" if use_cuda else "gloo")
        kwargs: dict[str, Any] = {"backend": backend, "rank": rank, "world_size": world_size}
        if use_cuda:
            kwargs["device_id"] = dev
        dist.init_process_group(**kwargs)
    if dist.is_initialized():
        rank, world_size = dist.get_rank(), dist.get_world_size()
    return DistInfo(rank, world_size, local_rank, dev)


def cleanup_distributed(*, synchronize: bool = True) -> None:
    """Destroy the process group if one is running.

    Args:
        synchronize: first wait at a barrier, so that every rank tears down together. Without it a rank that
            finishes early (rank 1 while rank 0 still writes the checkpoint) closes its gloo connections under
            the other; with torch 2.14 the process then aborts at exit ("terminate called without an active
            exception", SIGABRT) in about one run in seven of ``tests/test_fsdp.py`` (none in 60 with the
            barrier). Pass ``False`` on an error path: a rank that failed must not wait for ranks that may never
            reach the barrier (torchrun stops them).
    """
    if dist.is_available() and dist.is_initialized():
        if synchronize and dist.get_world_size() > 1:
            dist.barrier()
        dist.destroy_process_group()


def is_dist() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    return get_rank() == 0


def barrier() -> None:
    if is_dist():
        dist.barrier()


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 whose backward sums the gradients of every rank for this rank's slice."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        world, rank = dist.get_world_size(), dist.get_rank()
        sizes = [torch.zeros(1, dtype=torch.long, device=x.device) for _ in range(world)]
        dist.all_gather(sizes, torch.tensor([x.shape[0]], device=x.device))
        sizes_i = [int(s.item()) for s in sizes]
        if len(set(sizes_i)) != 1:
            raise ValueError(f"all_gather_with_grad needs equal local batch sizes, got {sizes_i}; use drop_last=True")
        out = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(out, x.contiguous())
        ctx.rank, ctx.n = rank, x.shape[0]
        return torch.cat(out, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.n:(ctx.rank + 1) * ctx.n]


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """``[n, ...]`` per rank -> ``[world * n, ...]`` (rank order), differentiable.

    The gradient reaching this rank's ``x`` is the sum over ranks of the gradients of their gathered copy,
    so a loss computed on each rank from the gathered features, with DDP averaging the parameter gradients,
    gives the gradient of the one-process loss on the full batch. Identity without a process group.
    """
    if not is_dist():
        return x
    return _GatherWithGrad.apply(x)


def all_reduce_mean(value: float | torch.Tensor) -> float:
    """Mean of a scalar over ranks (for logging); the value itself without a process group."""
    t = torch.as_tensor(value, dtype=torch.float64).detach().clone()
    if is_dist():
        if dist.get_backend() == "nccl":
            t = t.cuda()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        t = t / dist.get_world_size()
    return float(t.item())


def all_gather_object(obj: Any) -> list[Any]:
    """``[obj of rank 0, obj of rank 1, ...]`` (pickled); ``[obj]`` without a process group."""
    if not is_dist():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


class ResumableSampler(Sampler[int]):
    """Shuffling, rank-sharded sampler that can start mid-epoch (for exact resume without re-reading data).

    Like :class:`torch.utils.data.DistributedSampler` (same ``seed + epoch`` shuffling, padding to a multiple
    of the world size, or dropping the tail with ``drop_last``), plus :meth:`set_epoch` takes ``start``:
    the number of this rank's samples to skip (batches done x batch size). Works without a process group
    (``num_replicas=1``).
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: int = 0, drop_last: bool = False,
                 num_replicas: int | None = None, rank: int | None = None) -> None:
        self.dataset = dataset
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.num_replicas = get_world_size() if num_replicas is None else num_replicas
        self.rank = get_rank() if rank is None else rank
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = n // self.num_replicas
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch's permutation and skip the first ``start`` samples of this rank."""
        self.epoch, self.start = epoch, start

    def indices(self) -> list[int]:
        """This rank's sample indices for the current epoch (without the skip)."""
        n = len(self.dataset)
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            idx = torch.randperm(n, generator=g).tolist()
        else:
            idx = list(range(n))
        if self.drop_last:
            idx = idx[: self.total_size]
        else:
            pad = self.total_size - len(idx)
            idx += (idx * math.ceil(pad / max(len(idx), 1)))[:pad]
        return idx[self.rank: self.total_size: self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices()[self.start:])

    def __len__(self) -> int:
        return self.num_samples - self.start
