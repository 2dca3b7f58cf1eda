"""FSDP2 sharding (internvideo_core.train.fsdp) on 2 gloo CPU processes: each holds half of the parameters and
one SGD step gives the same weights as the unsharded step on the whole batch."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

from internvideo_core.registry import create_model
from internvideo_core.train.fsdp import shard_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _ddp_cases import run_with_retry  # noqa: E402


@pytest.mark.slow  # two torchrun processes importing torch: ~20-60 s on this shared CPU
@pytest.mark.timeout(300)
def test_two_process_fsdp2_step_equals_the_single_process_step(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run_with_retry([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    str(ROOT / "tests" / "_fsdp_worker.py"), str(tmp_path)], env, timeout=280)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    torch.manual_seed(0)
    model = create_model("videomae_vit_tiny_synth", embed_dim=64, num_heads=2, depth=2,
                     drop_path_rate=0.0, init_scale=1.0)  # deterministic, logits of real size
    total = sum(p.numel() for p in model.parameters())
    assert r0["local_numel"] + r1["local_numel"] == total and r0["local_numel"] < total  # sharded, not replicated
    x = torch.randn(4, 3, 8, 24, 24, generator=torch.Generator().manual_seed(1))
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    torch.testing.assert_close((r0["loss"] + r1["loss"]) / 2, loss.detach(), rtol=1e-5, atol=1e-6)
    ref = model.state_dict()
    for k, v in r0["state"].items():  # atol: the two half-batch gradients are summed in another order
        torch.testing.assert_close(v, ref[k], rtol=1e-4, atol=1e-5, msg=lambda m, k=k: f"{k}: {m}")


def test_shard_model_refuses_a_model_without_blocks():
    with pytest.raises(ValueError, match="no transformer block"):
        shard_model(torch.nn.Linear(2, 2))
