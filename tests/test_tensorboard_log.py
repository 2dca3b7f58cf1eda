"""``--tensorboard``: a training run also writes TensorBoard event files (per step and per epoch), log.txt stays;
a missing package or output folder is one clear line before anything is built."""
from __future__ import annotations

import builtins
import json

import pytest

from internvideo_core.cli import main

TINY = ["embed_dim=32", "depth=2", "num_heads=2", "img_size=32", "num_frames=8"]
FAST = ["--epochs", "2", "--batch-size", "4", "--no-progress", "--device", "cpu", "--steps-per-epoch", "2",
        "--val-data", "none", "--warmup-epochs", "0"]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from internvideo_core.data.synthmotion import SynthConfig, generate_synthmotion

    root = tmp_path_factory.mktemp("synth")
    generate_synthmotion(root, "smoke", seed=0, parts=["classification"], cfg=SynthConfig(size=32, num_frames=8))
    return root


def _scalars(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_finetune_with_tensorboard_writes_step_and_epoch_scalars_matching_log_txt(synth, tmp_path, capsys):
    out = tmp_path / "ft"
    assert main(["finetune", "--data", str(synth), "--model-args", *TINY, "--output-dir", str(out), *FAST,
                 "--tensorboard"]) == 0
    scalars = _scalars(out / "tensorboard")
    steps = [s for s, _ in scalars["train/loss"]]
    assert steps == [1, 2, 3, 4], steps               # one point per optimizer step, x = global step
    assert {"train/lr", "epoch/loss", "epoch/lr"} <= set(scalars)
    epochs = [json.loads(line) for line in (out / "log.txt").read_text().splitlines()]
    assert [s for s, _ in scalars["epoch/loss"]] == [e["step"] for e in epochs] == [2, 4]
    assert [v for _, v in scalars["epoch/loss"]] == pytest.approx([e["loss"] for e in epochs], rel=1e-6)
    # the per-step losses average to the epoch's loss
    assert sum(v for _, v in scalars["train/loss"][:2]) / 2 == pytest.approx(epochs[0]["loss"], rel=1e-5)


def test_without_the_flag_no_event_files(synth, tmp_path):
    out = tmp_path / "ft"
    assert main(["finetune", "--data", str(synth), "--model-args", *TINY, "--output-dir", str(out), *FAST,
                 "--max-steps", "1"]) == 0
    assert not (out / "tensorboard").exists() and (out / "log.txt").exists()


def test_a_missing_tensorboard_package_is_one_line_before_the_build(synth, tmp_path, capsys, monkeypatch):
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "tensorboard" or name.startswith("tensorboard."):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    out = tmp_path / "ft"
    assert main(["finetune", "--data", str(synth), "--model-args", *TINY, "--output-dir", str(out), *FAST,
                 "--tensorboard"]) == 1
    captured = capsys.readouterr()
    assert "--tensorboard needs the tensorboard package" in captured.err and "Traceback" not in captured.err
    assert "finetune:" not in captured.out        # refused before the run summary, i.e. before building
    assert not (out / "log.txt").exists()
