"""Run named cases of ``_ddp_cases.py`` in every process of a torchrun launch and save each rank's results.

    torchrun --standalone --nproc_per_node 2 tests/_ddp_worker.py OUT_DIR CASE [CASE ...]
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ddp_cases import CASES  # noqa: E402

from internvideo_core.train.distributed import cleanup_distributed, init_distributed  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    out, names = Path(sys.argv[1]), sys.argv[2:]
    info = init_distributed(device="cpu")
    results = {name: CASES[name]() for name in names}
    results["world_size"] = info.world_size
    torch.save(results, out / f"rank{info.rank}.pt")
    cleanup_distributed()


if __name__ == "__main__":
    main()
