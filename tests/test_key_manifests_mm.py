"""The kit's InternVideo-MM models have exactly the official keys and shapes (key_manifests.json)."""
from __future__ import annotations

import json

import pytest
import torch

from internvideo_core.checkpoint import to_official_state_dict
from internvideo_core.registry import create_model, list_models

CASES = {
    "internvideo_mm_b16": "multimodal/InternVideo-MM-B-16",
    "internvideo_mm_l14": "multimodal/InternVideo-MM-L-14",
}


@pytest.fixture(scope="module")
def manifests(official_dir):
    return json.loads((official_dir / "key_manifests.json").read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_official_keys_and_shapes(name, manifests):
    entry = manifests[CASES[name]]
    assert entry["wrapper"].endswith("prefix clip.")
    with torch.device("meta"):
        model = create_model(name)
    ours = {k: list(v.shape) for k, v in to_official_state_dict(model).items()}
    expected = entry["keys"]
    assert sorted(set(expected) - set(ours)) == []
    assert sorted(set(ours) - set(expected)) == []
    wrong = {k: (ours[k], expected[k]) for k in expected if ours[k] != expected[k]}
    assert wrong == {}


def test_registered_names():
    names = list_models(family="mm")
    assert {"internvideo_mm_b16", "internvideo_mm_l14", "internvideo_mm_tiny_synth"} <= set(names)


def test_tiny_synth_runs_on_synthmotion_size():
    torch.manual_seed(0)
    model = create_model("internvideo_mm_tiny_synth").eval()
    cfg = model.config
    assert (cfg.input_resolution, cfg.num_frames, cfg.img_size) == (48, 4, 48)  # the tutorial recipe's model
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params < 5_000_000, n_params
    video = torch.randn(2, 3, 4, 48, 48)
    from internvideo_core.text import tokenize

    with torch.no_grad():
        per_video, per_text = model(video, tokenize(["a red circle moves left", "a star grows"]))
    assert per_video.shape == (2, 2) and per_text.shape == (2, 2)
    assert model.encode_video(video).shape == (2, cfg.embed_dim)


def test_overrides_reach_the_model():
    with torch.device("meta"):
        model = create_model("internvideo_mm_b16", vision_layers=6, temporal_layers=[4, 5], embed_dim=256,
                             num_frames=16)
    sd = to_official_state_dict(model)
    assert "visual.transformer.resblocks.5.ln_1.weight" in sd and "visual.transformer.resblocks.6.ln_1.weight" not in sd
    assert sd["visual_proj"].shape == (768, 256)
    assert "visual.transformer.dpe.1.weight" in sd and "visual.transformer.dpe.2.weight" not in sd
    assert model.visual.transformer.temporal_layers == [4, 5]
    with pytest.raises(ValueError, match="temporal_layers"):
        create_model("internvideo_mm_tiny_synth", temporal_layers=(2, 9))


def test_text_longer_than_the_context_is_a_clear_error():
    from internvideo_core.text import tokenize

    model = create_model("internvideo_mm_tiny_synth").eval()
    assert model.config.context_length == 32
    with torch.no_grad():
        ok = model.encode_text(tokenize(["a short caption"]))  # 77-wide rows, EOT within 32
        assert ok.shape == (1, model.config.embed_dim)
        with pytest.raises(ValueError, match="context_length=32"):
            model.encode_text(tokenize(["word " * 40]))
