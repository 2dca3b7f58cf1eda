"""Run by tests/test_fsdp.py under torchrun (2 gloo processes): one FSDP2 training step of a tiny ViT, written
to OUT/rank<r>.pt (loss, full state dict, local shard size)."""
import os
import sys

import torch
import torch.distributed as dist

from internvideo_core.registry import create_model
from internvideo_core.train.distributed import cleanup_distributed
from internvideo_core.train.fsdp import full_state_dict, shard_model

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
model = create_model("videomae_vit_tiny_synth", embed_dim=64, num_heads=2, depth=2,
                     drop_path_rate=0.0, init_scale=1.0)  # deterministic, logits of real size
x = torch.randn(4, 3, 8, 24, 24, generator=torch.Generator().manual_seed(1))
y = torch.tensor([0, 1, 2, 3])
shard_model(model)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
xs, ys = x[rank * 2:(rank + 1) * 2], y[rank * 2:(rank + 1) * 2]  # each rank its half of the batch
loss = torch.nn.functional.cross_entropy(model(xs), ys)
loss.backward()
opt.step()
local = sum(p.to_local().numel() for p in model.parameters())
state = full_state_dict(model)
torch.save({"loss": loss.detach(), "state": state, "local_numel": local}, os.path.join(sys.argv[1], f"rank{rank}.pt"))
cleanup_distributed()  # barrier, then destroy: without it ~1 run in 7 aborted at exit (SIGABRT)
