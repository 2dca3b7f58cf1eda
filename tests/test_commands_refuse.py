"""Commands that refuse to do the wrong thing, and errors that name the file: --seed repeats a run (the model
is built after seeding), labels are checked against the model's classes when the list is read, an empty
list says so, --batch-size 0 and --only selectors matching nothing are refused, evaluate refuses a checkpoint
without a classification head, an unwritable output folder is reported before anything is built, and
broken --resume / Hugging Face files raise a CheckpointError naming the file (and the key)."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from internvideo_core.checkpoint import CheckpointError
from internvideo_core.cli import main
from internvideo_core.data.annotations import AnnotationError

TINY = ["embed_dim=32", "depth=2", "num_heads=2", "img_size=32", "num_frames=8"]
DECODER = ["decoder_embed_dim=16", "decoder_depth=1", "decoder_num_heads=2"]
MM_TINY = ["vision_width=32", "vision_layers=2", "vision_heads=2", "input_resolution=32", "vision_patch_size=8",
           "num_frames=4",
           "temporal_layers=(1,)", "temporal_heads=2", "text_width=32", "text_layers=1", "text_heads=2",
           "embed_dim=16"]
FAST = ["--epochs", "1", "--batch-size", "4", "--no-progress", "--device", "cpu", "--max-steps", "2"]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from internvideo_core.data.synthmotion import SynthConfig, generate_synthmotion

    root = tmp_path_factory.mktemp("synth")
    generate_synthmotion(root, "smoke", seed=0, parts=["classification", "captions"],
                         cfg=SynthConfig(size=32, num_frames=8))
    return root


def _weights(folder) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------------------------ --seed
@pytest.mark.parametrize("command", ["pretrain", "finetune", "train-mm"])
def test_two_identical_runs_with_a_seed_give_identical_weights(synth, tmp_path, command):
    model_args = {"pretrain": [*TINY, *DECODER], "finetune": TINY, "train-mm": MM_TINY}[command]
    extra = ["--num-frames", "8", "--val-data", "none"] if command == "finetune" else []
    extra += ["--num-frames", "8"] if command == "pretrain" else []
    runs = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        torch.rand(i + 1)  # whatever happened before in the process must not matter
        assert main([command, "--data", str(synth), "--model-args", *model_args, "--seed", "5",
                     "--output-dir", str(out), *FAST, *extra]) == 0
        runs.append(_weights(out))
    assert _identical(*runs)


# ------------------------------------------------------------------------------------------------ labels
def _video_list(synth, tmp_path, labels: list[int]):
    videos = sorted((synth).rglob("*.mp4"))
    path = tmp_path / "train_list.txt"
    path.write_text("".join(f"{videos[i % len(videos)]} {lab}\n" for i, lab in enumerate(labels)))
    return path


def test_labels_beyond_the_model_classes_are_refused_when_the_list_is_read(synth, tmp_path):
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.registry import create_model

    listing = _video_list(synth, tmp_path, [0, 1, 2, 99, 3, 4, 5, 6])
    classifier = tmp_path / "classifier.safetensors"
    save_safetensors(create_model("videomae_vit_tiny_synth", embed_dim=32, depth=2, num_heads=2, img_size=32,
                                  num_frames=8, num_classes=12), classifier)
    with pytest.raises(AnnotationError, match=rf"{listing.name}:4: label 99 out of range"):
        main(["--debug", "finetune", "--data", str(listing), "--model-args", *TINY, "num_classes=12", "--val-data", "none",
              "--num-frames", "8", "--output-dir", str(tmp_path / "ft"), *FAST])
    with pytest.raises(AnnotationError, match=rf"{listing.name}:4: label 99 out of range"):
        main(["--debug", "evaluate", "--data", str(listing), "--model-args", *TINY, "num_classes=12", "--checkpoint",
              str(classifier), "--num-frames", "8", "--device", "cpu"])


def test_empty_annotation_file_says_no_samples(synth, tmp_path):
    empty = tmp_path / "empty_list.txt"
    empty.write_text("")
    with pytest.raises(SystemExit, match=rf"no samples in .*{empty.name}"):
        main(["pretrain", "--data", str(empty), "--model-args", *TINY, *DECODER, "--num-frames", "8",
              "--output-dir", str(tmp_path / "pt"), *FAST])


@pytest.mark.parametrize("command", ["pretrain", "evaluate"])
def test_batch_size_zero_is_refused(synth, tmp_path, command, capsys):
    extra = ["--checkpoint", "x.safetensors"] if command == "evaluate" else []
    with pytest.raises(SystemExit) as exc:
        main([command, "--data", str(synth), "--batch-size", "0", *extra])
    assert exc.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_notebook_selector_matching_nothing_is_refused():
    with pytest.raises(SystemExit, match="--only 99 matches no notebook"):
        main(["notebooks", "run", "--only", "99"])


# ------------------------------------------------------------------------------------------------ evaluate
def test_evaluate_refuses_a_checkpoint_without_a_head_unless_allowed(synth, tmp_path, capsys):
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.registry import create_model

    pretrained = tmp_path / "pretrain.safetensors"
    overrides = dict(embed_dim=32, depth=2, num_heads=2, img_size=32, num_frames=8, decoder_embed_dim=16,
                     decoder_depth=1, decoder_num_heads=2)
    save_safetensors(create_model("videomae_pretrain_tiny_synth", **overrides), pretrained)
    args = ["evaluate", "--data", str(synth), "--model-args", *TINY, "--checkpoint", str(pretrained),
            "--num-frames", "8", "--num-clips", "1", "--num-crops", "1", "--device", "cpu"]
    with pytest.raises(SystemExit, match=r"pretrain.safetensors provides no classification head: .*head\.weight"
                                         r".*--allow-random-head"):
        main(args)
    assert main([*args, "--allow-random-head"]) == 0
    assert "randomly initialised head" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ folders
def test_unwritable_output_folder_is_reported_before_anything_is_built(synth, tmp_path, monkeypatch):
    import internvideo_core.registry as registry

    def no_build(*a, **k):
        raise AssertionError("the model was built before the output folder was checked")

    monkeypatch.setattr(registry, "create_model", no_build)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    for out in (blocker, blocker / "run"):
        with pytest.raises(SystemExit, match=rf"output folder \(--output-dir\) .*{blocker.name}"):
            main(["pretrain", "--data", str(synth), "--output-dir", str(out), *FAST])


# ------------------------------------------------------------------------------------------------ resume
def test_resume_on_empty_truncated_or_foreign_checkpoint_names_the_file(synth, tmp_path):
    from internvideo_core.registry import create_model
    from internvideo_core.train.checkpointing import load_training_checkpoint, save_training_checkpoint

    model = create_model("videomae_vit_tiny_synth", embed_dim=32, depth=2, num_heads=2, img_size=32, num_frames=8)
    good = tmp_path / "checkpoint.pth"
    save_training_checkpoint(good, model=model)
    empty, truncated, foreign = tmp_path / "empty.pth", tmp_path / "truncated.pth", tmp_path / "foreign.pth"
    empty.write_bytes(b"")
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    other = create_model("videomae_vit_tiny_synth", embed_dim=48, depth=2, num_heads=2, img_size=32, num_frames=8)
    save_training_checkpoint(foreign, model=other)
    for path, words in ((empty, "is empty"), (truncated, "cannot be read"), (foreign, "does not fit this model")):
        with pytest.raises(CheckpointError, match=words) as err:
            load_training_checkpoint(path, model=model)
        assert str(path) in str(err.value)
    # through the command line too (one line without --debug, the typed error with it)
    with pytest.raises(CheckpointError, match=rf"{truncated.name}"):
        main(["--debug", "finetune", "--data", str(synth), "--model-args", *TINY, "--val-data", "none", "--num-frames", "8",
              "--output-dir", str(tmp_path / "ft"), "--resume", str(truncated), *FAST])


def test_hf_videomae_file_missing_a_qkv_weight_names_file_and_key(tmp_path):
    from safetensors.torch import save_file

    from internvideo_core.checkpoint import to_official_state_dict
    from internvideo_core.convert.hf_videomae import official_to_hf
    from internvideo_core.registry import create_model

    cfg = dict(img_size=32, num_frames=4, embed_dim=64, depth=2, num_heads=4, num_classes=7)
    hf = official_to_hf(to_official_state_dict(create_model("videomae_vit_base_patch16_224", **cfg)))
    key = next(k for k in hf if k.endswith("layer.1.attention.attention.key.weight"))
    hf.pop(key)
    path = tmp_path / "hf_model.safetensors"
    save_file({k: v.contiguous() for k, v in hf.items()}, str(path))
    with pytest.raises(CheckpointError) as err:
        create_model("videomae_vit_base_patch16_224", checkpoint_path=str(path), **cfg)
    assert str(path) in str(err.value) and key in str(err.value)


# ------------------------------------------------------------------------------------------------ leftovers
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_checkpoint_temporaries_are_removed_on_the_next_save(tmp_path):
    from internvideo_core.train.checkpointing import atomic_torch_save

    dead = tmp_path / f".checkpoint.pth.tmp-{_dead_pid()}"
    live = tmp_path / f".checkpoint.pth.tmp-{subprocess.os.getppid()}"  # a running process: maybe saving now
    other = tmp_path / f".other.pth.tmp-{_dead_pid()}"
    for p in (dead, live, other):
        p.write_bytes(b"half a checkpoint")
    atomic_torch_save({"x": torch.ones(2)}, tmp_path / "checkpoint.pth")
    assert not dead.exists() and live.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "checkpoint.pth"])


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_safetensors_are_written_with_the_user_umask_like_pth(tmp_path, mask):
    import os

    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.train.checkpointing import atomic_torch_save

    old = os.umask(mask)
    try:
        st = save_safetensors(torch.nn.Linear(2, 2), tmp_path / "model.safetensors")
        pth = atomic_torch_save({"x": torch.ones(1)}, tmp_path / "checkpoint.pth")
    finally:
        os.umask(old)
    want = 0o666 & ~mask
    assert (st.stat().st_mode & 0o777, pth.stat().st_mode & 0o777) == (want, want)


def test_demo_temp_folders_of_dead_processes_are_removed_on_start(tmp_path, monkeypatch):
    import os
    import tempfile

    from internvideo_core.demo.service import DemoService

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / f"internvideo_demo_{_dead_pid()}_abc123"
    live = tmp_path / f"internvideo_demo_{os.getppid()}_def456"
    for d in (dead, live):
        (d / "clips").mkdir(parents=True)
        (d / "clips" / "x.mp4").write_bytes(b"x")
    service = DemoService(profile="smoke", synth_examples=0, device="cpu")
    assert not dead.exists() and live.exists()
    assert service.example_dir.parent == tmp_path and service.example_dir.name.startswith(
        f"internvideo_demo_{os.getpid()}_")


def test_demo_refuses_a_released_classifier_file_without_a_head(tmp_path, monkeypatch):
    """A pretraining checkpoint stored under a released classifier's name: the demo says so instead of showing
    chance-level predictions of a random head."""
    from internvideo_core import registry
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.demo import models as demo_models
    from internvideo_core.data.input_spec import InputSpec
    from internvideo_core.registry import PretrainedEntry, create_model

    monkeypatch.setenv("INTERNVIDEO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("INTERNVIDEO_RUNS", str(tmp_path / "runs"))
    tiny = dict(embed_dim=32, depth=2, num_heads=2, img_size=32, num_frames=8)
    entry = PretrainedEntry(name="test_k400_classifier", arch="videomae_vit_small_patch16_224", url="http://x/y",
                            filename="test_k400_classifier.safetensors", license="test", origin="test",
                            input=InputSpec(num_frames=8, short_side=32, crop_size=32), num_classes=400,
                            overrides={**tiny, "num_classes": 400})
    registry.list_pretrained()
    monkeypatch.setitem(registry._PRETRAINED, entry.name, entry)
    monkeypatch.setitem(demo_models.RELEASED, "recognition", (entry.name,))
    pretrain = create_model("videomae_pretrain_small_patch16_224", **tiny, decoder_embed_dim=16, decoder_depth=1,
                            decoder_num_heads=2)
    save_safetensors(pretrain, tmp_path / "cache" / entry.filename)
    choice = demo_models.choose_model("recognition", "smoke", full=True)
    assert choice.kind == "released"
    with pytest.raises(demo_models.ModelUnavailable, match="provides no classification head") as err:
        demo_models.load_model(choice)
    assert str(tmp_path) not in str(err.value)  # shown on the page: paths relative to the cache
