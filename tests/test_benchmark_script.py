"""benchmarks/bench_videomae.py: the quick CPU run reports every contender and workload, the FLOP count
agrees with torch's counter and the peer-table convention, and the explicit-attention model is exact.
Robustness: a failing cell (build, check, out of memory, time limit, SIGTERM) is recorded with its traceback
and the run goes on, the JSON being rewritten after every cell; the opt-in ``kit_compile`` contender (checked
here through the ``eager`` backend: inductor takes ~40 s a workload on this CPU); gpu_check.sh and the
training smoke."""
from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_videomae as bench  # noqa: E402
import gpu_train_smoke as smoke  # noqa: E402
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
    assert report["meta"]["status"] == "complete" and report["errors"] == []
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


# ---------------------------------------------------------------------------------------------- kit_compile
def test_kit_compile_is_opt_in_and_gets_a_pass_of_its_own_when_sequential():
    assert "kit_compile" not in bench.CONTENDERS and "kit_compile" in bench.ALL_CONTENDERS
    args = _args(contenders="official,kit_compile", order="sequential")
    assert args.contenders == ["kit", "official", "kit_compile"]
    assert bench._passes(args) == [["kit", "official"], ["kit_compile"]]
    assert bench._passes(_args(contenders="kit_compile", order="interleaved")) == [["kit", "kit_compile"]]


@pytest.mark.parametrize("order,workload", [("sequential", "finetune"), ("interleaved", "inference")])
def test_kit_compile_cell_compiles_a_copy_checks_it_and_records_the_compile(order, workload):
    """The compiled contender is a separate copy (the kit model stays eager), checked on its first call and
    timed after the warm-up; the eager backend runs the whole path (Dynamo tracing) in seconds."""
    args = _args(contenders="kit_compile", order=order, compile_backend="eager", repeats=2)
    models = bench.build_models(workload, args.contenders, args)
    assert models["kit_compile"] is not models["kit"]
    cells = []
    raw = bench.measure(workload, models, 2, args, torch.device("cpu"), torch.float32,
                        on_cell=lambda name, r: cells.append(name))
    assert sorted(cells) == ["kit", "kit_compile"]
    c = raw["kit_compile"]["compile"]
    assert c["err_vs_fp32"] <= args.check_tol and c["eager_err_vs_fp32"] == 0.0 and c["tol"] == args.check_tol
    assert c["graphs"] >= 1 and c["recompiled_while_timed"] is False and c["backend"] == "eager"
    assert c["compile_and_warmup_s"] >= c["first_call_s"] > 0
    assert raw["kit_compile"]["warmup_steps"] == max(args.warmup, args.compile_warmup)
    assert len(raw["kit_compile"]["times_s"]) == 2 and "compile" not in raw["kit"]
    assert not hasattr(models["kit"], "_compiled_call_impl") or models["kit"]._compiled_call_impl is None


def _miscompiling_backend(gm, example_inputs):
    """A torch.compile backend whose graphs return their outputs 1 % too large."""
    def run(*a):
        return type(outs := gm(*a))(o * 1.01 if torch.is_tensor(o) and o.is_floating_point() else o for o in outs)
    return run


def test_compiled_check_rejects_a_miscompiled_model():
    args = _args()
    model = bench.build_kit("inference", args)
    model.compile(dynamic=False, backend=_miscompiling_backend)
    try:
        with pytest.raises(bench.CheckFailed, match="compiled kit model differs"):
            bench.check_compiled("inference", model, 2, args, torch.device("cpu"), torch.float32, model.config)
    finally:
        bench._dynamo_reset()


# ---------------------------------------------------------------------------------------------- robustness
def _snapshots(monkeypatch):
    """Record a copy of the report at every ``write_json`` call of ``run``."""
    seen = []
    monkeypatch.setattr(bench, "write_json", lambda report, path: seen.append(copy.deepcopy(report)))
    return seen


@pytest.mark.parametrize("order", ["sequential", "interleaved"])
def test_failures_are_recorded_per_cell_and_the_run_goes_on(monkeypatch, order):
    """A contender that cannot be built, and one that runs out of memory in one workload only, are recorded
    with their tracebacks; every other cell is measured; the report is rewritten after every cell."""
    def broken_hf(kit, attn):
        raise RuntimeError("transformers API changed (simulated)")

    real_make_step = bench.make_step

    def oom_in_finetune(workload, name, *a, **kw):
        if workload == "finetune" and name == "official":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB (simulated)")
        return real_make_step(workload, name, *a, **kw)

    monkeypatch.setattr(bench, "build_hf", broken_hf)
    monkeypatch.setattr(bench, "make_step", oom_in_finetune)
    seen = _snapshots(monkeypatch)
    args = _args(contenders="hf_sdpa,official", workloads="inference,finetune", order=order)
    report = bench.run(args)
    res = report["results"]
    assert res["inference"]["hf_sdpa"]["stage"] == "build" and "API changed" in res["inference"]["hf_sdpa"]["error"]
    assert "broken_hf" in res["inference"]["hf_sdpa"]["traceback"]
    assert "OutOfMemoryError" in res["finetune"]["official"]["error"]
    assert "oom_in_finetune" in res["finetune"]["official"]["traceback"]
    for wl, name in (("inference", "kit"), ("inference", "official"), ("finetune", "kit")):
        assert res[wl][name]["clips_per_s"] > 0, (wl, name)
    assert {(e["workload"], e["contender"]) for e in report["errors"]} == {
        ("inference", "hf_sdpa"), ("finetune", "hf_sdpa"), ("finetune", "official")}
    assert report["meta"]["status"] == "complete, 3 failed cell(s)"
    cells = [sum(len(v) for v in r["results"].values()) for r in seen]
    assert cells[0] == 0 and cells[-1] == 6 and cells == sorted(cells)
    if order == "sequential":  # one write per finished cell
        assert len(set(cells)) == 7
    table = bench.markdown_table(report)
    assert "**OOM**" in table and "**RuntimeError**" in table


def test_time_limits_cut_a_cell_and_skip_cells_past_the_deadline(monkeypatch):
    _snapshots(monkeypatch)
    args = _args(contenders="official", workloads="inference", order="sequential", repeats=100000,
                 cell_timeout=0.2)
    t0 = time.perf_counter()
    report = bench.run(args)
    assert time.perf_counter() - t0 < 60
    for name in ("kit", "official"):
        r = report["results"]["inference"][name]
        assert r["error"].startswith("CellTimeout") and "_alarm" in r["traceback"], r
    args = _args(contenders="official", workloads="inference", order="sequential", deadline_s=1e-3)
    report = bench.run(args)
    assert all(r["stage"] == "skipped" for r in report["results"]["inference"].values())


def test_time_limit_gives_back_an_outer_alarm():
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        with bench.time_limit(5.0):
            pass
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 25.0 < left <= 30.0 and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_ratio_takes_the_best_kit_variant_and_tables_show_errors():
    raw = {"kit": {"times_s": [1.0, 1.0], "cpu_times_s": [1.0, 1.0], "peak_mem_gib": None},
           "kit_compile": {"times_s": [0.5, 0.5], "cpu_times_s": [0.5, 0.5], "peak_mem_gib": None,
                           "compile": {"first_call_s": 3.0, "err_vs_fp32": 1e-3, "eager_err_vs_fp32": 2e-3,
                                       "compile_and_warmup_s": 4.0, "graphs": 1, "graph_breaks": 0,
                                       "recompiled_while_timed": False}},
           "official": {"times_s": [2.0, 2.0], "cpu_times_s": [2.0, 2.0], "peak_mem_gib": None},
           "hf_sdpa": bench.error_record(torch.OutOfMemoryError("CUDA out of memory"), "measure")}
    res = bench.summarize(raw, 4, 1, 1000, 1.0)
    report = {"meta": {"contenders": ["kit", "hf_sdpa", "official", "kit_compile"]}, "results": {"inference": res}}
    table = bench.markdown_table(report)
    assert "| 4.00x (kit_compile) |" in table and "**OOM**" in table
    assert "| inference | 4.0 | 3.0 | 1.0e-03 (2.0e-03) | 1 | 0 | False |" in bench.compile_table(report)
    res["kit_compile"] = {"batch": 4, **bench.error_record(bench.CellTimeout("late"), "measure")}
    assert "| 2.00x (kit) |" in bench.markdown_table(report) and "**timeout**" in bench.markdown_table(report)


@pytest.mark.slow  # a subprocess importing torch + transformers (~10 s), then waits for its first cell
@pytest.mark.timeout(300)
def test_sigterm_keeps_the_cells_already_done(tmp_path):
    out = tmp_path / "partial.json"
    proc = subprocess.Popen([sys.executable, str(BENCH / "bench_videomae.py"), "--quick", "--device", "cpu",
                             "--threads", "1", "--order", "sequential", "--contenders", "kit,official",
                             "--repeats", "3000", "--out", str(out)],  # a few seconds per cell, 6 cells
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:  # wait for the first finished cell
            if out.exists() and json.loads(out.read_text())["results"]:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        text, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 124, text[-3000:]
    report = json.loads(out.read_text())
    assert report["meta"]["status"].startswith("interrupted (Terminated)")
    assert report["results"]["inference"]["kit"]["clips_per_s"] > 0
    assert sum(len(cells) for cells in report["results"].values()) < 6  # stopped before the end
    assert "partial results kept" in text and "| inference, clips/s |" in text


# ---------------------------------------------------------------------------------------------- GPU check
def test_gpu_check_script_parses_and_runs_the_peer_table_configuration():
    script = BENCH / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    for flag in ("--contenders kit,hf_sdpa,hf_eager,official,kit_compile", "--model base --frames 16 --img-size 224",
                 "--batch-inference 32 --batch-finetune 16 --batch-pretrain 32", "--order sequential",
                 "timeout -k 15", "--deadline-s", "--cell-timeout", "gpu_train_smoke.py", "GPU_CHECK_CPU_QUICK",
                 "gpu_levers.py", "GPU_CHECK_STEPS", "LEVERS_PARTS"):
        assert flag in text, flag


@pytest.mark.slow  # a subprocess tracing tiny models with Dynamo: ~60-200 s on this shared CPU
@pytest.mark.timeout(600)
def test_gpu_levers_quick_cpu_run_records_every_part(tmp_path):
    out = tmp_path / "levers.json"
    proc = subprocess.run([sys.executable, str(BENCH / "gpu_levers.py"), "--quick", "--device", "cpu",
                           "--parts", "attention,mae,memory", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=580)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    parts = report["parts"]
    assert report["meta"]["status"] == "complete" and set(parts) == {"attention", "mae", "memory"}
    assert parts["attention"]["math"]["max_diff_vs_auto"] < 1e-4 and parts["attention"]["auto"]["clips_per_s"] > 0
    assert parts["mae"]["graph_breaks"] == 0 and parts["mae"]["graphs"] == 1
    assert parts["mae"]["compiled"]["clips_per_s"] > 0
    assert all(v.get("ran") for k, v in parts["memory"].items() if k != "seconds")


@pytest.mark.slow  # decodes the bundled clip and a short SynthMotion file through DataLoaders: ~30-60 s here
@pytest.mark.timeout(600)
def test_pipeline_benchmark_quick_run_reports_ratios_and_decoders(tmp_path):
    out = tmp_path / "pipeline.json"
    proc = subprocess.run([sys.executable, str(BENCH / "bench_pipeline.py"), "--quick", "--synth-dir",
                           str(tmp_path / "synth"), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=580)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    cells = {(r["set"], r["protocol"], r["workers"]) for r in report["pipeline"]}
    assert cells == {(s, p, w) for s in ("real", "synth") for p in ("test", "train", "mm") for w in (0, 1)}
    for r in report["pipeline"]:
        assert r["kit"]["clips_per_s"] > 0 and r["limit"]["clips_per_s"] > 0 and r["ratio"] > 0
    decs = {(r["decoder"], r["pattern"]) for r in report["decoders"]}
    assert {("decord", "seek"), ("pyav", "sequential")} <= decs
    assert all(r["exact"] for r in report["decoders"])  # every decoder delivers the kit's reference frames
    e = report["extract"]
    assert e["snippets"] > 0 and e["decode_s"] > 0 and e["model_s"] > 0
    assert e["decode_s"] + e["preprocess_s"] + e["model_s"] <= e["total_s"] * 1.01
    assert "kit / limit" in proc.stdout


def test_training_smoke_runs_the_kit_loops_and_the_recipe(tmp_path, monkeypatch):
    monkeypatch.setattr(smoke, "install_sigterm", lambda: None)
    out = tmp_path / "smoke.json"
    assert smoke.main(["--quick", "--device", "cpu", "--threads", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["meta"]["status"] == "complete"
    parts = report["parts"]
    for name in ("pretrain", "finetune"):
        p = parts[name]
        assert p["steps"] == 4 and len(p["step_s"]) == 4 and p["clips_per_s"] > 0, p
        assert p["optimizer"]["type"] == "AdamW" and p["optimizer"]["fused"] is False  # CPU: not fused
    assert parts["finetune"]["optimizer"]["param_groups"] > 2  # layer decay groups
    assert parts["recipe"]["pretrain"]["steps"] > 0 and parts["recipe"]["finetune"]["steps"] > 0
    assert parts["recipe"]["model_device"] == "cpu" and 0 <= parts["recipe"]["test_top1"] <= 100


def test_training_smoke_records_a_failing_part_and_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(smoke, "install_sigterm", lambda: None)

    def boom(args, device):
        raise RuntimeError("no GPU today (simulated)")

    monkeypatch.setitem(smoke._RUNNERS, "pretrain", boom)
    out = tmp_path / "smoke.json"
    assert smoke.main(["--quick", "--device", "cpu", "--parts", "pretrain,finetune", "--out", str(out)]) == 1
    report = json.loads(out.read_text())
    assert "no GPU today" in report["parts"]["pretrain"]["error"] and "boom" in report["parts"]["pretrain"]["traceback"]
    assert report["parts"]["finetune"]["clips_per_s"] > 0
    assert report["meta"]["status"] == "complete, 1 failed part(s)"
