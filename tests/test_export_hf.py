"""``internvideo export-hf``: a kit VideoMAE model written in the transformers layout loads strictly with
``from_pretrained`` and computes the kit's outputs (to Hugging Face's LayerNorm eps difference)."""
from __future__ import annotations

import json

import pytest
import torch

from internvideo_core.cli import main

transformers = pytest.importorskip("transformers")  # a dev dependency: present in CI

TINY = dict(embed_dim=32, depth=2, num_heads=2, img_size=32, num_frames=8)
pytestmark = pytest.mark.usefixtures("one_thread")


def _saved_classifier(tmp_path, classes):
    from internvideo_core.model_config import save_model
    from internvideo_core.registry import create_model

    torch.manual_seed(0)
    model = create_model("videomae_vit_tiny_synth", num_classes=len(classes), pos_ref_img_size=None, **TINY).eval()
    weights = tmp_path / "ft" / "model.safetensors"
    weights.parent.mkdir()
    save_model(model, weights, arch="videomae_vit_tiny_synth",
               overrides={**TINY, "num_classes": len(classes), "pos_ref_img_size": None}, class_names=classes)
    return model, weights


def test_a_trained_classifier_exports_and_transformers_reproduces_its_logits(tmp_path, capsys):
    classes = ["move left", "move right", "rotate clockwise"]
    model, weights = _saved_classifier(tmp_path, classes)
    out = tmp_path / "hf"
    assert main(["export-hf", str(weights), "--out", str(out)]) == 0
    assert "VideoMAEForVideoClassification.from_pretrained" in capsys.readouterr().out
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model_type"] == "videomae" and cfg["id2label"] == {"0": "move left", "1": "move right",
                                                                  "2": "rotate clockwise"}
    pre = json.loads((out / "preprocessor_config.json").read_text())
    assert pre["crop_size"] == {"height": 32, "width": 32} and pre["image_processor_type"] == "VideoMAEImageProcessor"
    hf = transformers.VideoMAEForVideoClassification.from_pretrained(str(out)).eval()
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        ours = model(x)
        theirs = hf(pixel_values=x.transpose(1, 2)).logits      # HF input: [B, T, C, H, W]
    assert torch.allclose(ours, theirs, atol=1e-4), (ours - theirs).abs().max()
    assert hf.config.id2label[2] == "rotate clockwise"


def test_an_autoencoder_exports_for_pretraining(tmp_path):
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.registry import create_model

    torch.manual_seed(0)
    mae = create_model("videomae_pretrain_tiny_synth", img_size=32, num_frames=8).eval()
    save_safetensors(mae, tmp_path / "mae.safetensors")
    out = tmp_path / "hf_mae"
    assert main(["export-hf", str(tmp_path / "mae.safetensors"), "--out", str(out), "--model",
                 "videomae_pretrain_tiny_synth", "--model-args", "img_size=32", "num_frames=8"]) == 0
    hf = transformers.VideoMAEForPreTraining.from_pretrained(str(out)).eval()   # strict: every weight present
    kit = {k: v for k, v in mae.state_dict().items() if k.endswith("decoder.head.weight")}
    assert torch.equal(hf.state_dict()["decoder.head.weight"], next(iter(kit.values())))


def test_a_file_without_config_needs_model_and_a_dual_encoder_is_refused(tmp_path, capsys):
    from internvideo_core.checkpoint import save_safetensors
    from internvideo_core.registry import create_model

    save_safetensors(create_model("videomae_vit_tiny_synth", **TINY), tmp_path / "bare.safetensors")
    assert main(["export-hf", str(tmp_path / "bare.safetensors"), "--out", str(tmp_path / "o")]) == 1
    assert "no config.json beside it: give --model" in capsys.readouterr().err
    save_safetensors(create_model("internvideo_mm_tiny_synth"), tmp_path / "mm.safetensors")
    assert main(["export-hf", str(tmp_path / "mm.safetensors"), "--out", str(tmp_path / "o2"), "--model",
                 "internvideo_mm_tiny_synth"]) == 1
    assert "export-hf writes VideoMAE models" in capsys.readouterr().err
    assert main(["export-hf", "no_such_thing", "--out", str(tmp_path / "o3")]) == 1
    assert "not a released checkpoint name" in capsys.readouterr().err


def test_a_classifier_with_a_resized_sinusoid_table_is_refused_unless_allowed(tmp_path, capsys):
    from internvideo_core.commands.export_hf import export_hf
    from internvideo_core.registry import create_model

    model = create_model("videomae_vit_tiny_synth", pos_ref_img_size=64, **TINY)  # table resized from 64 px
    assert tuple(model.config.pos_ref_grid) != tuple(model.config.grid)
    with pytest.raises(ValueError, match="--allow-table-change"):
        export_hf(model, tmp_path / "x")
    assert (export_hf(model, tmp_path / "y", allow_table_change=True) / "model.safetensors").exists()
