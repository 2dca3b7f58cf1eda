"""Training cases run both by two gloo processes (``_ddp_worker.py`` under torchrun) and by one process on
the full batch (the tests), so their results can be compared. Not a test module (no ``test_`` prefix)."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from internvideo_core import create_model
from internvideo_core.masking import tube_mask
from internvideo_core.train import distributed as D
from internvideo_core.train.config import ContrastiveConfig, FinetuneConfig, PretrainConfig
from internvideo_core.train.contrastive import DualEncoderTask, contrastive_loss, train_contrastive
from internvideo_core.train.finetune import finetune
from internvideo_core.train.loop import wrap_ddp
from internvideo_core.train.pretrain import pretrain

TINY_VIT = dict(img_size=32, patch_size=16, num_frames=4, embed_dim=32, depth=2, num_heads=2)
TINY_MM = dict(vision_width=32, vision_layers=2, vision_heads=2, vision_patch_size=16, input_resolution=32,
               num_frames=2, temporal_layers=(1,), temporal_heads=2, temporal_mlp_dropout=0.0, text_width=32,
               text_layers=1, text_heads=2, context_length=16, embed_dim=16)
HERE = Path(__file__).resolve().parent
N = 8  # samples per step in total (4 per rank with two processes)


class Clips(Dataset):
    """Deterministic clips, labels and tube masks (fixed per sample, so both setups see the same masks)."""

    def __init__(self, n: int = 2 * N) -> None:
        g = torch.Generator().manual_seed(7)
        self.x = torch.randn(n, 3, 4, 32, 32, generator=g)
        self.y = torch.arange(n) % 5
        self.mask = tube_mask(n, grid=(2, 2, 2), ratio=0.5, generator=g)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return {"video": self.x[i], "label": self.y[i], "mask": self.mask[i]}


def _loader(ds: Dataset) -> DataLoader:
    """Per-process batch N / world; ``ResumableSampler`` shards by rank without shuffling."""
    world = D.get_world_size()
    return DataLoader(ds, batch_size=N // world, sampler=D.ResumableSampler(ds, shuffle=False), drop_last=True)


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def finetune_case() -> dict:
    torch.manual_seed(0)
    model = create_model("videomae_vit_tiny_synth", **TINY_VIT, num_classes=5, drop_path_rate=0.0)
    init = _state(model)
    cfg = FinetuneConfig(epochs=1, warmup_epochs=0, base_lr=0.5, layer_decay=0.75, mixup=0.0, cutmix=0.0,
                         smoothing=0.1, progress=False, device="cpu")
    res = finetune(model, _loader(Clips()), cfg)
    return {"losses": torch.tensor(res.losses), "grads": _grads(model), "state": _state(model), "init": init}


def pretrain_case() -> dict:
    torch.manual_seed(0)
    model = create_model("videomae_pretrain_tiny_synth", **TINY_VIT, decoder_embed_dim=16, decoder_depth=1,
                         decoder_num_heads=2)
    init = _state(model)
    cfg = PretrainConfig(epochs=1, warmup_epochs=0, base_lr=0.5, mask_ratio=0.5, progress=False, device="cpu")
    res = pretrain(model, _loader(Clips()), cfg)
    return {"losses": torch.tensor(res.losses), "grads": _grads(model), "state": _state(model), "init": init}


def _mm_batch():
    g = torch.Generator().manual_seed(11)
    video = torch.randn(N, 3, 2, 32, 32, generator=g)
    tokens = torch.randint(1, 400, (N, 16), generator=g)
    tokens[:, 0] = 49406
    tokens[:, 9] = 49407  # EOT (argmax) at position 9
    tokens[:, 10:] = 0
    return video, tokens


def contrastive_step_case() -> dict:
    """One forward/backward of the gathered symmetric InfoNCE through DDP."""
    torch.manual_seed(0)
    model = create_model("internvideo_mm_tiny_synth", **TINY_MM)
    video, tokens = _mm_batch()
    world, rank = D.get_world_size(), D.get_rank()
    n = N // world
    engine = wrap_ddp(DualEncoderTask(model), torch.device("cpu"), find_unused_parameters=True)
    loss = engine(video[rank * n:(rank + 1) * n], tokens[rank * n:(rank + 1) * n])
    loss.backward()
    # The gathered features themselves: every rank sees the full batch, in rank order.
    with torch.no_grad():
        v_local = model.encode_video(video[rank * n:(rank + 1) * n])
        gathered = D.all_gather_with_grad(v_local)
        full_loss_from_gathered = contrastive_loss(gathered, D.all_gather_with_grad(
            model.encode_text(tokens[rank * n:(rank + 1) * n])), model.logit_scale, gather=False)
    return {"loss": loss.detach(), "loss_mean": torch.tensor(D.all_reduce_mean(loss.detach())),
            "grads": _grads(model), "gathered": gathered, "full_loss_from_gathered": full_loss_from_gathered}


def contrastive_loop_case() -> dict:
    """Two steps of ``train_contrastive`` (token ids [B, P, L] with paraphrase selection off)."""
    torch.manual_seed(0)
    model = create_model("internvideo_mm_tiny_synth", **TINY_MM)
    init = _state(model)
    video, tokens = _mm_batch()
    items = [(video[i], tokens[i]) for i in range(N)] * 2
    world = D.get_world_size()
    loader = DataLoader(items, batch_size=N // world, sampler=D.ResumableSampler(items, shuffle=False),
                        drop_last=True)
    cfg = ContrastiveConfig(epochs=1, base_lr=1e-2, warmup_epochs=0, paraphrase=False, progress=False, device="cpu")
    res = train_contrastive(model, loader, cfg)
    return {"losses": torch.tensor(res.losses), "state": _state(model), "init": init}


CASES = {
    "finetune": finetune_case,
    "pretrain": pretrain_case,
    "contrastive_step": contrastive_step_case,
    "contrastive_loop": contrastive_loop_case,
}


def run_torchrun(out: Path, *cases: str, nproc: int = 2, timeout: float = 300) -> list[dict]:
    """Launch ``_ddp_worker.py`` with torchrun on CPU (gloo, ``--standalone`` picks a free port) and load
    every rank's results."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           str(HERE / "_ddp_worker.py"), str(out), *cases]
    run_with_retry(cmd, env, timeout)
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(nproc)]


def run_with_retry(cmd: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    """Run a torchrun command; retry once, since a free port picked by ``--standalone`` can be taken by
    another process on a shared machine before the workers bind it. A real failure fails twice, and a worker
    that aborted at exit ("terminate called ...": the gloo teardown race that ``cleanup_distributed``'s
    barrier prevents) is never retried, so that race cannot come back unseen."""
    errors = []
    for _ in range(2):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode == 0:
            return proc
        errors.append(f"exit {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        if "terminate called" in proc.stderr:
            break
    raise AssertionError("torchrun failed twice:\n" + "\n----\n".join(errors))


@functools.cache
def two_process_results() -> tuple[dict, dict]:
    """Every case under ``torchrun --nproc_per_node 2``, launched once per test session (it takes ~30 s)."""
    out = Path(tempfile.mkdtemp(prefix="ddp-"))
    try:
        r0, r1 = run_torchrun(out, *CASES)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return r0, r1


@functools.cache
def one_process_results(case: str) -> dict:
    """A case in this process (one thread), on the full batch."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return CASES[case]()
    finally:
        torch.set_num_threads(n)
