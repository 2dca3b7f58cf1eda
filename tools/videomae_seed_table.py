"""Measure notebook 03's seed table: for each seed, pretrain the VideoMAE of the ``videomae_synth`` recipe, fine-tune
it, train the fair scratch baseline (lr chosen on the validation clips) and print one JSON line per seed.

    PYTHONPATH=. python tools/videomae_seed_table.py --profile tutorial --seeds 0 1 2

The numbers go into ``internvideo_core/recipes/videomae_synth/config.py`` (``SEED_TABLE``) by hand, with the date.
Nothing is written under ``runs/`` (the checkpoints go to a temporary folder).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="tutorial")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    from internvideo_core.recipes import videomae_synth

    recipe = videomae_synth.get_recipe(args.profile)
    for seed in args.seeds:
        start = time.perf_counter()
        data = videomae_synth.load_synth_data(recipe, seed)
        mae, _ = videomae_synth.pretrain_on_synthmotion(recipe, seed, data=data)
        rep = videomae_synth.reconstruction_report(mae, data.test_videos, recipe, "tube", recipe.mask_ratio, seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            path = videomae_synth.save_pretrained(mae, recipe, Path(tmp) / "pretrain.safetensors")
            _, _, pre = videomae_synth.finetune_on_synthmotion(recipe, seed, init=path, data=data)
        _, hist, scr = videomae_synth.train_from_scratch(recipe, seed, data=data)
        print(json.dumps({"seed": seed, "pretrained": round(pre["top1"], 1), "scratch": round(scr["top1"], 1),
                          "scratch_lr": hist["lr"], "object_ratio": round(rep["object_model"] / rep["object_mean_patch"], 3),
                          "seconds": round(time.perf_counter() - start)}), flush=True)


if __name__ == "__main__":
    main()
