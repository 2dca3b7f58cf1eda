"""CLI of the training commands: help texts, a tiny pretrain -> finetune -> evaluate run on SynthMotion,
and launching a command module with torchrun (two CPU processes)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch

from internvideo_core.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ddp_cases import run_with_retry  # noqa: E402

TINY = ["embed_dim=32", "depth=2", "num_heads=2", "img_size=32", "num_frames=8"]
DECODER = ["decoder_embed_dim=16", "decoder_depth=1", "decoder_num_heads=2"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("command,expected", [
    ("pretrain", ["--mask-ratio", "--checkpoint-every", "torchrun --nproc_per_node"]),
    ("finetune", ["--layer-decay", "--mixup", "--init", "--model-ema", "torchrun --nproc_per_node"]),
    ("evaluate", ["--num-clips", "--num-crops", "--checkpoint"]),
    ("train-mm", ["--max-logit-scale", "--paraphrase", "--video-dir"]),
])
def test_help(command, expected, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in expected:
        assert flag in out, (command, flag)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from internvideo_core.data.synthmotion import SynthConfig, generate_synthmotion

    root = tmp_path_factory.mktemp("synth")
    generate_synthmotion(root, "smoke", seed=0, parts=["classification", "captions"],
                         cfg=SynthConfig(size=32, num_frames=8))
    return root


def test_pretrain_finetune_evaluate_end_to_end(synth, tmp_path, capsys):
    pt, ft = tmp_path / "pt", tmp_path / "ft"
    common = ["--epochs", "1", "--batch-size", "4", "--no-progress", "--device", "cpu", "--num-frames", "8"]
    assert main(["pretrain", "--data", str(synth), "--model-args", *TINY, *DECODER, "--output-dir", str(pt),
                 "--mask-ratio", "0.75", "--warmup-epochs", "0", *common]) == 0
    ckpt = torch.load(pt / "checkpoint.pth", weights_only=True)
    assert ckpt["step"] == 6 and ckpt["config"]["mask_ratio"] == 0.75  # 24 train clips / batch 4
    assert (pt / "model.safetensors").is_file()
    assert main(["finetune", "--data", str(synth), "--model-args", *TINY, "--init", str(pt / "checkpoint.pth"),
                 "--output-dir", str(ft), "--warmup-epochs", "0", "--base-lr", "0.05", "--model-ema",
                 "--model-ema-decay", "0.5", *common]) == 0
    out = capsys.readouterr().out
    assert "initialised from" in out and "'head.weight'" in out and "val top1" in out
    ft_ckpt = torch.load(ft / "checkpoint.pth", weights_only=True)
    pt_w = ckpt["model"]["encoder.blocks.0.attn.qkv.weight"]
    assert not torch.equal(ft_ckpt["model"]["blocks.0.attn.qkv.weight"], pt_w)  # trained further ...
    assert (ft_ckpt["model"]["blocks.0.attn.qkv.weight"] - pt_w).abs().max() < 0.1  # ... from the pretrained init
    result = tmp_path / "eval.json"
    assert main(["evaluate", "--data", str(synth), "--model-args", *TINY, "--checkpoint", str(ft / "model.safetensors"),
                 "--num-frames", "8", "--num-clips", "2", "--num-crops", "3", "--batch-size", "4", "--device", "cpu",
                 "--output", str(result)]) == 0
    metrics = json.loads(result.read_text())
    assert metrics["num_videos"] == 12 and metrics["num_views"] == 6
    assert 0.0 <= metrics["top1"] <= metrics["top5"] <= 100.0
    # the EMA weights of the training checkpoint evaluate as well
    assert main(["evaluate", "--data", str(synth), "--model-args", *TINY, "--checkpoint", str(ft / "checkpoint.pth"),
                 "--ema", "--split", "val", "--num-frames", "8", "--num-clips", "1", "--num-crops", "1",
                 "--device", "cpu"]) == 0
    assert "val.csv: top1" in capsys.readouterr().out


def test_train_mm_cli_runs(synth, tmp_path, monkeypatch):
    from internvideo_core.train import distributed as D

    teardowns = []
    real_cleanup = D.cleanup_distributed
    monkeypatch.setattr(D, "cleanup_distributed",
                        lambda *, synchronize=True: (teardowns.append(synchronize), real_cleanup(synchronize=synchronize)))
    out = tmp_path / "mm"
    args = ["train-mm", "--data", str(synth), "--model-args", "vision_width=32", "vision_layers=2", "vision_heads=2",
            "input_resolution=32", "vision_patch_size=8", "num_frames=4", "temporal_layers=(1,)", "temporal_heads=2", "text_width=32",
            "text_layers=1", "text_heads=2", "embed_dim=16", "--epochs", "1", "--batch-size", "4", "--base-lr", "1e-3",
            "--no-progress", "--device", "cpu", "--output-dir", str(out)]
    assert main(args) == 0
    ckpt = torch.load(out / "checkpoint.pth", weights_only=True)
    assert ckpt["step"] == 3  # 12 SynthMotion caption training videos / batch 4
    assert "text" in ckpt["rng"][0]["step"]["generators"]
    assert teardowns == [True]  # a run that succeeded waits for the other ranks before tearing down


@pytest.mark.slow
def test_torchrun_launches_pretrain_module(synth, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "internvideo_core.commands.pretrain", "--data", str(synth), "--model-args", *TINY, *DECODER,
           "--num-frames", "8", "--epochs", "1", "--batch-size", "2", "--max-steps", "2", "--no-progress",
           "--device", "cpu", "--output-dir", str(out)]
    run_with_retry(cmd, env, timeout=300)
    ckpt = torch.load(out / "checkpoint.pth", weights_only=True)
    assert ckpt["step"] == 2 and len(ckpt["rng"]) == 2  # random states of both ranks
    assert not torch.equal(ckpt["rng"][0]["step"]["generators"]["mask"], ckpt["rng"][1]["step"]["generators"]["mask"])
    assert (out / "model.safetensors").is_file()
