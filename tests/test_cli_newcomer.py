"""The command line a newcomer cannot misuse (issue 18): evaluation never scores a model it did not load (a
class-count mismatch is an error naming both counts unless --head-subset asks for the cut; the load report's
one-line summary is always printed), ordinary mistakes are one line and a non-zero exit (--debug: the
traceback), saved models describe themselves (config.json), heads are sized by the data, lists are checked
before anything is built, every run starts with a summary, and `internvideo models` lists the architectures."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from internvideo_core.cli import main

TINY = ["embed_dim=32", "depth=2", "num_heads=2", "img_size=32", "num_frames=8"]
TINY_KW = dict(embed_dim=32, depth=2, num_heads=2, img_size=32, num_frames=8)
ONE_VIEW = ["--num-clips", "1", "--num-crops", "1", "--device", "cpu"]
FAST = ["--epochs", "1", "--batch-size", "4", "--no-progress", "--device", "cpu", "--max-steps", "2",
        "--val-data", "none"]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from internvideo_core.data.synthmotion import SynthConfig, generate_synthmotion

    root = tmp_path_factory.mktemp("synth")
    generate_synthmotion(root, "smoke", seed=0, parts=["classification"], cfg=SynthConfig(size=32, num_frames=8))
    return root


def _classifier(path, num_classes: int):
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.registry import create_model

    torch.manual_seed(0)
    save_safetensors(create_model("videomae_vit_tiny_synth", num_classes=num_classes, **TINY_KW), path)
    return path


# ------------------------------------------------------------------ 1. a number only for the model it loaded
def test_a_checkpoint_with_more_classes_is_an_error_naming_both_counts(synth, tmp_path, capsys):
    ckpt = _classifier(tmp_path / "c20.safetensors", 20)  # SynthMotion smoke has 12 classes
    code = main(["evaluate", "--data", str(synth), "--checkpoint", str(ckpt), "--model-args", *TINY, *ONE_VIEW])
    err = capsys.readouterr().err
    assert code == 1
    assert "20-class classification head but the model has 12 outputs" in err and "--head-subset" in err
    assert "Traceback" not in err


def test_head_subset_first_asks_for_the_cut_and_the_report_line_is_printed(synth, tmp_path, capsys):
    ckpt = _classifier(tmp_path / "c20.safetensors", 20)
    args = ["evaluate", "--data", str(synth), "--checkpoint", str(ckpt), "--model-args", *TINY, *ONE_VIEW,
            "--head-subset", "first"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"tensors from {ckpt}" in out and "resized 2" in out and "top1" in out
    assert "cut from 20 to its first 12" not in out  # the full report only on request
    assert main([*args, "--show-load-report"]) == 0
    assert "classification head cut from 20 to its first 12 classes" in capsys.readouterr().out


def test_head_subset_k400_needs_a_400_class_model(tmp_path):
    from internvideo_core.checkpoint import CheckpointError
    from internvideo_core.registry import create_model

    ckpt = _classifier(tmp_path / "c710.safetensors", 710)
    model = create_model("videomae_vit_tiny_synth", checkpoint_path=str(ckpt), head_subset="k400", num_classes=400,
                         **TINY_KW)
    assert model.head.weight.shape[0] == 400 and "head.weight" in model.load_report.resized
    with pytest.raises(CheckpointError, match="710-class classification head but the model has 400"):
        create_model("videomae_vit_tiny_synth", checkpoint_path=str(ckpt), num_classes=400, **TINY_KW)
    with pytest.raises(CheckpointError, match="file has 710 classes and the model 12"):
        create_model("videomae_vit_tiny_synth", checkpoint_path=str(ckpt), head_subset="k400", num_classes=12,
                     **TINY_KW)


# ------------------------------------------------------------------ 2. one clear line, --debug: the traceback
def test_ordinary_mistakes_are_one_line_and_a_non_zero_exit(synth, tmp_path, capsys):
    from internvideo_core.checkpoint import CheckpointError

    missing = tmp_path / "nowhere.safetensors"
    assert main(["evaluate", "--data", str(synth), "--checkpoint", str(missing), *ONE_VIEW]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: checkpoint") and str(missing) in err
    assert main(["evaluate", "--data", str(synth), "--checkpoint", str(missing), "--model", "no_such_model"]) == 1
    assert "unknown model 'no_such_model'" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(synth), "--checkpoint", str(missing), "--device", "cuda:0"]
                if not torch.cuda.is_available() else ["evaluate", "--data", str(tmp_path / "none.csv"),
                                                      "--checkpoint", str(missing)]) == 1
    with pytest.raises(CheckpointError, match="nowhere.safetensors"):  # --debug: the error itself, traceback
        main(["--debug", "evaluate", "--data", str(synth), "--checkpoint", str(missing), *ONE_VIEW])


def test_only_rank_0_prints_the_line_under_torchrun(synth, tmp_path):
    base = [sys.executable, "-m", "internvideo_core.commands.evaluate", "--data", str(synth), "--checkpoint",
            str(tmp_path / "nowhere.safetensors"), "--device", "cpu"]
    for rank, printed in (("0", True), ("1", False)):
        env = {**__import__("os").environ, "RANK": rank}
        env.pop("WORLD_SIZE", None)
        proc = subprocess.run(base, capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert ("error: checkpoint" in proc.stderr) is printed and "Traceback" not in proc.stderr
    proc = subprocess.run([*base, "--debug"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "CheckpointError" in proc.stderr


# ------------------------------------------------------------------ 3. runs that describe themselves
@pytest.fixture(scope="module")
def finetuned(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft")
    assert main(["finetune", "--data", str(synth), "--model-args", *TINY, "--output-dir", str(out), *FAST]) == 0
    return out


def test_a_saved_model_carries_config_json_with_everything_to_use_it_again(finetuned, synth):
    from internvideo_core import __version__

    cfg = json.loads((finetuned / "config.json").read_text())
    assert cfg["architecture"] == "videomae_vit_tiny_synth" and cfg["weights"] == "model.safetensors"
    assert cfg["overrides"]["embed_dim"] == 32 and cfg["overrides"]["num_classes"] == 12
    assert cfg["num_classes"] == 12 and cfg["config"]["depth"] == 2
    assert cfg["class_names"] == [n for n in (synth / "classes.txt").read_text().split("\n") if n.strip()]
    assert cfg["input"] == {"num_frames": 8, "img_size": 32, "sampling_rate": 1, "sampling": "dense"}
    assert cfg["kit_version"] == __version__
    assert cfg["command"].startswith("internvideo finetune --data") and "embed_dim=32" in cfg["command"]


def test_evaluate_and_predict_need_only_the_checkpoint(finetuned, synth, capsys):
    weights = finetuned / "model.safetensors"
    assert main(["evaluate", "--checkpoint", str(weights), "--data", str(synth), "--num-clips", "1",
                 "--num-crops", "1", "--device", "cpu"]) == 0
    out, err = capsys.readouterr()
    assert "top1" in out and "no config.json" not in err
    video = next((synth / "kinetics" / "videos" / "test").glob("*.mp4"))
    assert main(["predict", str(video), "--checkpoint", str(weights), "--device", "cpu", "--quiet",
                 "--top-k", "3"]) == 0
    out = capsys.readouterr().out
    assert "model videomae_vit_tiny_synth" in out and "every 1" in out
    names = (synth / "classes.txt").read_text().split("\n")
    assert sum(1 for line in out.splitlines()[1:4] if line.split(maxsplit=1)[1] in names) == 3


def test_init_and_checkpoint_take_released_names(monkeypatch, tmp_path):
    from internvideo_core import model_config, registry

    monkeypatch.setattr(registry, "download_pretrained", lambda name, **kw: tmp_path / f"{name}.pth")
    assert model_config.resolve_weights("videomae_vit_base_k400") == str(tmp_path / "videomae_vit_base_k400.pth")
    with pytest.raises(FileNotFoundError, match="not a released checkpoint name"):
        model_config.resolve_weights(str(tmp_path / "missing.pth"), "--init")


def test_finetune_init_with_a_released_name_offline_is_one_line(synth, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INTERNVIDEO_CACHE", str(tmp_path / "cache"))
    assert main(["finetune", "--data", str(synth), "--model-args", *TINY, "--init", "videomae_vit_base_k400",
                 "--output-dir", str(tmp_path / "ft"), *FAST]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err and "vit_b_hybrid_pt_800e_k400_ft.pth" in err


# ------------------------------------------------------------------ 4. the head is sized by the data
def _short_list(synth, tmp_path, labels):
    lines = (synth / "kinetics" / "train.csv").read_text().split("\n")
    listing = tmp_path / "short_list.txt"
    listing.write_text("\n".join(f"{ln.rsplit(' ', 1)[0]} {lab}" for ln, lab in zip(lines, labels)) + "\n")
    return listing


def test_finetune_sizes_the_head_from_the_labels_of_a_list(synth, tmp_path):
    listing = _short_list(synth, tmp_path, [0, 1, 2, 3, 4, 0, 1, 2])  # 5 classes; the architecture has 12
    out = tmp_path / "ft"
    assert main(["finetune", "--data", str(listing), "--data-root", str(synth), "--model-args", *TINY,
                 "--output-dir", str(out), *FAST]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["num_classes"] == 5 and cfg["overrides"]["num_classes"] == 5


def test_a_class_count_that_contradicts_the_data_is_refused_naming_both(synth, tmp_path, capsys):
    base = ["finetune", "--data", str(synth), "--output-dir", str(tmp_path / "ft"), *FAST]
    assert main([*base, "--model-args", *TINY, "num_classes=400"]) == 1
    err = capsys.readouterr().err
    assert "num_classes 400 does not match the data: 12 class names" in err
    assert main([*base, "--model-args", *TINY, "--num-classes", "10"]) == 1
    assert "--num-classes 10 does not match the data" in capsys.readouterr().err
    assert main([*base, "--model-args", *TINY, "num_classes=12", "--num-classes", "13"]) == 1
    assert "disagree" in capsys.readouterr().err
    assert not (tmp_path / "ft" / "model.safetensors").exists()


def test_finetune_from_a_classifier_of_other_classes_starts_a_new_head(synth, tmp_path, capsys):
    init = _classifier(tmp_path / "c20.safetensors", 20)
    assert main(["finetune", "--data", str(synth), "--model-args", *TINY, "--init", str(init),
                 "--output-dir", str(tmp_path / "ft"), *FAST]) == 0
    assert "head.weight" in capsys.readouterr().out
    assert json.loads((tmp_path / "ft" / "config.json").read_text())["num_classes"] == 12


# ------------------------------------------------------------------ 5. one path rule, files checked first
def test_a_synth_list_alone_resolves_against_its_synthmotion_folder_at_rate_1(synth, tmp_path):
    out = tmp_path / "ft"
    assert main(["finetune", "--data", str(synth / "kinetics" / "train.csv"), "--model-args", *TINY,
                 "--output-dir", str(out), *FAST]) == 0
    assert json.loads((out / "config.json").read_text())["input"]["sampling_rate"] == 1  # as the folder itself


def test_missing_listed_files_are_named_before_anything_is_built(synth, tmp_path, capsys, monkeypatch):
    import internvideo_core.registry as registry

    monkeypatch.setattr(registry, "create_model", lambda *a, **k: pytest.fail("model built before the check"))
    for command in ("finetune", "pretrain", "evaluate"):
        extra = ["--checkpoint", "x.safetensors"] if command == "evaluate" else ["--output-dir", str(tmp_path / "o")]
        code = main([command, "--data", str(synth / "kinetics" / "train.csv"), "--data-root", str(synth / "kinetics"),
                     *extra])
        err = capsys.readouterr().err
        assert code == 1, command
        assert "24 of 24 videos listed in" in err and "kinetics/kinetics/videos/train/" in err
        assert f"drop --data-root or pass --data-root {synth.resolve()}" in err


# ------------------------------------------------------------------ 6. every run starts with a summary
def test_a_run_starts_with_a_summary_and_max_steps_scales_the_warm_up(synth, tmp_path, capsys):
    out = tmp_path / "ft"
    base = ["finetune", "--data", str(synth), "--model-args", *TINY, "--output-dir", str(out), "--warmup-epochs", "1",
            "--base-lr", "0.256", *FAST]
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "finetune: videomae_vit_tiny_synth on 24 clips, 12 classes" in text
    assert "6 per epoch x 1 epochs = 6, this run stops at step 2 (--max-steps)" in text
    assert "batch: 4 per process x 1 process(es) = 4 global" in text
    assert "0.256 per 256 samples -> 0.004 peak (scaled by global batch / 256), warm-up 2 steps" in text  # not 6
    assert "device cpu, precision fp32, world size 1, backend none" in text
    assert main([*base[:-len(FAST)], *FAST[:-2], "--resume", str(out / "checkpoint.pth"), "--max-steps", "3"]) == 0
    assert "resumed from step 2" in capsys.readouterr().out


def test_warm_up_is_kept_without_max_steps_and_scaled_with_it():
    from internvideo_core.commands._training import fit_schedule_to_run
    from internvideo_core.train.config import FinetuneConfig

    cfg = FinetuneConfig(epochs=10, warmup_epochs=5)
    assert fit_schedule_to_run(cfg, 100) is cfg
    short = fit_schedule_to_run(FinetuneConfig(epochs=10, warmup_epochs=5, max_steps=20), 100)
    assert short.warmup_steps == 10  # half of the run, as half of the full schedule
    assert fit_schedule_to_run(FinetuneConfig(epochs=10, warmup_epochs=0.01, max_steps=20), 100).warmup_epochs == 0


# ------------------------------------------------------------------ 7. internvideo models, honest benchmarks
def test_models_lists_every_architecture_with_parameters_and_input(capsys):
    from internvideo_core.registry import create_model, list_models

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in list_models():
        assert name in out
    row = next(ln for ln in out.splitlines() if ln.startswith("videomae_vit_tiny_synth "))
    params = sum(p.numel() for p in create_model("videomae_vit_tiny_synth").parameters())
    assert f"{params / 1e6:.1f} M" in row and "8 x 24 x 24" in row and row.split()[-1] == "12"
    assert "1.01 B" in next(ln for ln in out.splitlines() if ln.startswith("videomae_vit_giant_patch14_224 "))


def test_models_counts_flops_on_request(capsys):
    assert main(["models", "--filter", "tiny_synth", "--flops"]) == 0
    out = capsys.readouterr().out
    assert "GFLOPs" in out and "videomae_vit_base" not in out
    assert main(["models", "--filter", "no_such_thing"]) == 1


@pytest.mark.slow  # a subprocess running the quick benchmark: ~10-30 s
@pytest.mark.timeout(300)
def test_quick_benchmark_says_its_ratios_are_not_meaningful(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "quick.json"
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_videomae.py"), "--quick", "--device",
                           "cpu", "--threads", "1", "--out", str(out)], cwd=root, capture_output=True, text=True,
                          timeout=280)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ratios between contenders are not meaningful" in proc.stdout
    assert "not meaningful" in json.loads(out.read_text())["meta"]["note"]


@pytest.mark.slow  # counts ViT-B/16 on one 16 x 224 x 224 clip on the CPU (~10 s)
def test_models_flops_of_vit_b_match_the_paper(capsys):
    from internvideo_core.commands.models import describe_architecture

    d = describe_architecture("videomae_vit_base_patch16_224", flops=True)
    assert abs(d["gflops"] / 2 - 180) < 3  # VideoMAE Table: ViT-B 16 x 224^2, 180 G (multiply-adds) per view


def test_evaluate_refuses_data_whose_class_names_differ_from_the_checkpoint(finetuned, synth, tmp_path, capsys):
    names = (synth / "classes.txt").read_text().split("\n")
    swapped = tmp_path / "classes.txt"
    swapped.write_text("\n".join([names[1], names[0], *names[2:]]))
    assert main(["evaluate", "--checkpoint", str(finetuned / "model.safetensors"), "--data", str(synth),
                 "--classes", str(swapped), *ONE_VIEW]) == 1
    assert "differ from those of the data (12; first difference at index 0)" in capsys.readouterr().err


def test_console_and_log_txt_count_epochs_the_same_way(synth, tmp_path, capsys):
    out = tmp_path / "ft"
    assert main(["finetune", "--data", str(synth), "--model-args", *TINY, "--output-dir", str(out), "--epochs", "2",
                 "--batch-size", "4", "--no-progress", "--device", "cpu", "--steps-per-epoch", "1",
                 "--val-data", "none"]) == 0
    console = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("[finetune] epoch")]
    logged = [json.loads(ln)["epoch"] for ln in (out / "log.txt").read_text().splitlines()]
    assert logged == [0, 1]
    assert [ln.split()[2] for ln in console] == ["0", "1"] and "(2 of 2)" in console[1]
