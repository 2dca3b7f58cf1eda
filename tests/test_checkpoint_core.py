"""The generic loading path of internvideo_core.checkpoint: formats, strictness and the report."""
from __future__ import annotations

import pytest
import torch

from internvideo_core import create_model
from internvideo_core.checkpoint import CheckpointError, load_checkpoint, read_state_dict, save_safetensors

TINY = dict(img_size=32, num_frames=4, embed_dim=32, depth=1, num_heads=2)


def _tiny(num_classes: int = 5):
    return create_model("videomae_vit_small_patch16_224", num_classes=num_classes, **TINY)


def test_wrappers_are_recognised(tmp_path):
    sd = _tiny().state_dict()
    for wrapper, fmt in (("module", "official-finetune"), ("model", "official-pretrain"), ("state_dict", "lightning")):
        torch.save({wrapper: sd, "epoch": 3}, tmp_path / f"{wrapper}.pth")
        tensors, got = read_state_dict(tmp_path / f"{wrapper}.pth")
        assert got == fmt and set(tensors) == set(sd)
    torch.save(sd, tmp_path / "bare.pth")
    assert read_state_dict(tmp_path / "bare.pth")[1] == "state_dict"


def test_safetensors_round_trip_is_exact(tmp_path):
    model = _tiny()
    path = save_safetensors(model, tmp_path / "m.safetensors")
    other = _tiny()
    report = load_checkpoint(other, path)
    assert report.source_format == "safetensors" and report.converted == len(model.state_dict())
    for k, v in model.state_dict().items():
        assert torch.equal(v, other.state_dict()[k]), k


def test_strict_mismatch_names_the_keys_and_non_strict_reports_them(tmp_path):
    torch.save({"module": _tiny(num_classes=7).state_dict()}, tmp_path / "seven.pth")
    target = create_model("videomae_vit_small_patch16_224", num_classes=9, **TINY)
    with pytest.raises(CheckpointError, match="head.weight"):
        load_checkpoint(target, tmp_path / "seven.pth")
    report = load_checkpoint(target, tmp_path / "seven.pth", strict=False)
    assert "head.weight" in report.ignored and "head.weight" in report.initialized
    assert "head.weight" in report.summary()


@pytest.mark.parametrize("content", [b"", b"this is not a checkpoint"])
def test_unreadable_files_give_actionable_errors(tmp_path, content):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.pth"):
        read_state_dict(path)


def test_missing_file_error_says_how_to_get_it(tmp_path):
    with pytest.raises(CheckpointError, match="zoo download"):
        read_state_dict(tmp_path / "nope.pth")


def test_pickled_objects_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    torch.save({"module": {"w": torch.zeros(1)}, "obj": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="weights_only"):
        read_state_dict(tmp_path / "evil.pth")
