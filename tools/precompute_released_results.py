"""Compute the released checkpoints' results on the kit's sample clip once and store them with their provenance
(``internvideo_core/assets/released_results.json``), for notebooks 03 and 05 to show where the weights are absent.

    internvideo zoo download videomae_vit_base_k400 internvideo_mm_b16_pretrain   # ~350 MB + several GB
    python tools/precompute_released_results.py                                 # every cached example
    python tools/precompute_released_results.py --only videomae_vit_base_k400 --device cuda

Only checkpoints already in the cache are run (this script never downloads); a file whose sha256 differs from
the published digest is refused. Commit the updated JSON with the notebooks' next tutorial run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from internvideo_core.reproduction.released import (RELEASED_EXAMPLES, RESULTS_FILE, compute_result,  # noqa: E402
                                                    describe, update_results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(RELEASED_EXAMPLES), help="these checkpoints only")
    parser.add_argument("--clip", default="arm_wrestling_demo.mp4", help="a shipped sample video")
    parser.add_argument("--cache-dir", type=Path, default=None, help="checkpoint cache (default INTERNVIDEO_CACHE)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS_FILE, help="results file to update")
    args = parser.parse_args(argv)
    from internvideo_core.registry import cached_path

    names = args.only or sorted(RELEASED_EXAMPLES)
    entries, missing = [], []
    for name in names:
        if not cached_path(name, args.cache_dir).is_file():
            missing.append(name)
            continue
        entry = compute_result(name, args.clip, cache_dir=args.cache_dir, device=args.device,
                               command="python tools/precompute_released_results.py " + " ".join(argv or sys.argv[1:]))
        print(describe(entry), flush=True)
        entries.append(entry)
    if entries:
        print(f"updated {update_results(entries, args.out)}")
    for name in missing:
        print(f"{name}: not in the cache, skipped (`internvideo zoo download {name}` first)", file=sys.stderr)
    return 0 if entries else 1


if __name__ == "__main__":
    sys.exit(main())
