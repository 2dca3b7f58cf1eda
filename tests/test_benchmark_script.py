"""benchmarks/bench_videomae.py: the quick CPU run reports every contender and workload, the FLOP count
agrees with torch's counter and the peer-table convention, and the explicit-attention model is exact."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_videomae as bench  # noqa: E402
from _official_style import OfficialStyleClassifier, OfficialStylePretrain  # noqa: E402

from internvideo_core.models.vit import VideoViTConfig  # noqa: E402


@pytest.mark.slow  # a subprocess importing torch + timm + transformers: ~10 s alone, more on a loaded machine
@pytest.mark.timeout(300)
def test_quick_cpu_run_writes_every_contender_and_workload(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(BENCH / "bench_videomae.py"), "--quick", "--device", "cpu",
                           "--threads", "1", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert set(report["results"]) == set(bench.WORKLOADS)
    assert report["meta"]["matmul_peak_tflops"] > 0
    for wl in bench.WORKLOADS:
        res = report["results"][wl]
        assert set(res) == set(bench.CONTENDERS), wl
        for name, r in res.items():
            assert r["clips_per_s"] > 0 and r["step_ms"] > 0 and r["mfu"] > 0, (wl, name, r)
            assert r["best_clips_per_s"] >= r["clips_per_s"] and r["clips_per_cpu_s"] > 0, (wl, name, r)
            assert len(r["times_s"]) == 2 and all(t > 0 for t in r["times_s"])
            assert r["peak_mem_gib"] is None  # CPU: no per-contender memory
            assert r["batch"] == 2
        assert set(report["checks"][wl]) == set(bench.CONTENDERS) - {"kit"}
        assert all(0 <= e <= 1e-3 for e in report["checks"][wl].values()), report["checks"][wl]
    table = proc.stdout
    for name in bench.CONTENDERS:
        assert f" {name} |" in table
    assert "MAE pretraining step" in table and "clips per CPU-second" in table


def _args(**kw):
    return bench.parse_args(["--quick", "--device", "cpu", *[f"--{k.replace('_', '-')}={v}" for k, v in kw.items()]])


def test_flops_match_peer_table_convention():
    """B/16 at 16 x 224: 360.8 GFLOP/clip forward, so 819 clips/s at 783 TFLOP/s is the table's 37 % MFU."""
    config = VideoViTConfig()  # the defaults are ViT-B/16, 16 x 224, 400 classes
    fwd = bench.forward_flops("inference", config)
    assert abs(fwd / 1e9 - 360.8) < 1.0
    assert abs(819 * fwd / 783e12 - 0.37) < 0.01
    assert bench.step_flops("finetune", config) == 3 * fwd
    assert abs(254 * 3 * fwd / 783e12 - 0.35) < 0.01  # fine-tune row: MFU 35 %


@pytest.mark.parametrize("workload", ["inference", "pretrain"])
def test_flops_agree_with_torch_flop_counter(workload):
    """The analytic count equals torch's FLOP counter on the explicit-attention model (no hidden matmuls)."""
    args = _args()
    kit = bench.build_kit(workload, args)
    model = bench.build_official(kit)
    x = bench.make_video(1, args, torch.device("cpu"), hf_layout=False)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        if workload == "pretrain":
            model(x, bench.make_mask(1, kit.config, args, torch.device("cpu")))
        else:
            model(x)
    assert counter.get_total_flops() == bench.forward_flops(workload, kit.config, args.mask_ratio)


def test_official_style_models_load_kit_weights_and_match():
    args = _args()
    cls_kit = bench.build_kit("inference", args).eval()
    pre_kit = bench.build_kit("pretrain", args).eval()
    cls_off, pre_off = bench.build_official(cls_kit), bench.build_official(pre_kit)
    assert isinstance(cls_off, OfficialStyleClassifier) and isinstance(pre_off, OfficialStylePretrain)
    x = bench.make_video(2, args, torch.device("cpu"), hf_layout=False)
    mask = bench.make_mask(2, pre_kit.config, args, torch.device("cpu"))
    with torch.no_grad():
        assert torch.allclose(cls_off(x), cls_kit(x), atol=1e-5, rtol=1e-4)
        assert torch.allclose(pre_off(x, mask), pre_kit(x, mask), atol=1e-5, rtol=1e-4)
        assert cls_kit(x).abs().max() > 1e-2


def test_check_rejects_a_wrong_model():
    """A contender that computes something else stops the run before any timing."""
    args = _args()
    models = bench.build_models("inference", ["kit", "official"], args)
    with torch.no_grad():
        models["official"].blocks[0].attn.q_bias.add_(0.5)
    with pytest.raises(SystemExit, match="differ from the kit"):
        bench.check_models("inference", models, args, torch.device("cpu"))


def test_hf_contenders_use_the_asked_attention():
    args = _args()
    models = bench.build_models("pretrain", ["kit", "hf_sdpa", "hf_eager"], args)
    assert models["hf_sdpa"].config._attn_implementation == "sdpa"
    assert models["hf_eager"].config._attn_implementation == "eager"
    errs = bench.check_models("pretrain", models, args, torch.device("cpu"))
    assert set(errs) == {"hf_sdpa", "hf_eager"} and max(errs.values()) < 1e-4


def test_interleaved_measure_rotates_and_times_every_contender():
    args = _args(repeats=3)
    models = bench.build_models("inference", ["kit", "official"], args)
    raw = bench.measure("inference", models, 1, args, torch.device("cpu"), torch.float32)
    assert all(len(r["times_s"]) == 3 and min(r["times_s"]) > 0 for r in raw.values())
    res = bench.summarize(raw, 1, 1, 1000, 1.0)
    assert res["kit"]["clips_per_s"] == pytest.approx(1 / sorted(raw["kit"]["times_s"])[1])
    table = bench.markdown_table({"meta": {"contenders": ["kit", "official"]}, "results": {"inference": res}})
    assert "kit / best peer" in table and "| inference, clips/s | 1 |" in table
