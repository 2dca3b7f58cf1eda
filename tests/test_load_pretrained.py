"""``load_pretrained(name) -> (model, preprocess, class_names)``: every zoo entry's input protocol, and the one way
the demo, the notebooks and ``internvideo evaluate`` get a released model.

Released files are stood in for by randomly initialised small models saved in the released layout into a
temporary cache (the real files are gigabytes); the official tiny fixtures check that weights load exactly.
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch

from internvideo_core import load_pretrained
from internvideo_core.data.input_spec import CLIP_MEAN, IMAGENET_MEAN, InputSpec
from internvideo_core.data.pipelines import load_mm_clip, load_videomae_segment_views, load_videomae_views
from internvideo_core.paths import read_labels, sample_video
from internvideo_core.registry import build_config, cached_path, create_model, get_pretrained, list_pretrained

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]
SMALL = dict(embed_dim=32, depth=1, num_heads=2)  # a ViT-B/16 layout with a tiny width


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERNVIDEO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("INTERNVIDEO_OFFLINE", "1")
    return tmp_path / "cache"


def _save_released_classifier(name: str, **small) -> torch.nn.Module:
    """A random classifier of ``name``'s architecture and classes, in the released ``{"module": ...}`` layout,
    at ``name``'s cache path."""
    from internvideo_core.checkpoint import to_official_state_dict

    entry = get_pretrained(name)
    torch.manual_seed(0)
    model = create_model(entry.arch, **{**entry.overrides, **small}).eval()
    path = cached_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"module": to_official_state_dict(model)}, path)
    return model


# ------------------------------------------------------------------------------------- the entries' protocols
@pytest.mark.parametrize("name", list_pretrained())
def test_every_entry_carries_a_valid_input_protocol(name):
    entry = get_pretrained(name)
    spec = entry.input
    assert isinstance(spec, InputSpec)
    assert (spec.crop_size, spec.num_frames) == (entry.img_size, entry.num_frames)
    config = build_config(entry.arch, **entry.overrides)
    assert config.img_size == spec.crop_size and config.num_frames == spec.num_frames
    if entry.arch.startswith("internvideo_mm"):
        assert spec.sampling == "uniform" and tuple(spec.mean) == CLIP_MEAN and spec.num_test_views == 1
    else:
        assert tuple(spec.mean) == IMAGENET_MEAN and spec.short_side == spec.crop_size
    assert spec.notes, f"{name}: say where the protocol comes from"


def test_official_protocols():
    """Values from the official scripts (see internvideo_core/data/input_spec.py)."""
    k400, ssv2 = get_pretrained("videomae_vit_base_k400").input, get_pretrained("videomae_vit_base_ssv2").input
    assert (k400.sampling, k400.num_frames, k400.frame_interval, k400.test_clips, k400.test_crops) == ("dense", 16, 4, 5, 3)
    assert (ssv2.sampling, ssv2.num_frames, ssv2.test_clips, ssv2.test_crops) == ("segment", 16, 2, 3)
    mm = get_pretrained("internvideo_mm_l14_pretrain").input
    assert (mm.sampling, mm.num_frames, mm.short_side, mm.crop_size) == ("uniform", 8, 256, 224)
    ret = get_pretrained("internvideo_mm_l14_activitynet_retrieval").input
    assert (ret.num_frames, ret.short_side, ret.interpolation) == (64, 224, "bicubic")
    h384 = get_pretrained("videomae_vit_huge_k400_f32_res384").input
    assert (h384.num_frames, h384.crop_size, h384.short_side, h384.test_clips) == (32, 384, 384, 7)


def test_input_spec_rejects_impossible_values():
    with pytest.raises(ValueError, match="sampling"):
        InputSpec(sampling="random")
    with pytest.raises(ValueError, match="short_side"):
        InputSpec(short_side=200, crop_size=224)


# ------------------------------------------------------------------------------------- preprocess = official loaders
def test_preprocess_equals_the_official_loaders(videos_dir):
    from internvideo_core.data.preprocess import VideoPreprocess

    video = videos_dir / "arm_wrestling_demo.mp4"
    k400 = VideoPreprocess(get_pretrained("videomae_vit_base_k400").input.replace(crop_size=112, short_side=112))
    assert torch.allclose(k400(video, views="test"), load_videomae_views(video, size=112), atol=1e-6)
    assert k400(video).shape == (1, 3, 16, 112, 112)
    ssv2 = VideoPreprocess(get_pretrained("videomae_vit_base_ssv2").input.replace(crop_size=112, short_side=112))
    assert torch.allclose(ssv2(video, views="test"), load_videomae_segment_views(video, size=112), atol=1e-6)
    mm = VideoPreprocess(get_pretrained("internvideo_mm_b16_pretrain").input)
    x = mm(video)
    assert x.shape == (1, 3, 8, 224, 224) and mm(video, views="test").shape == (1, 3, 8, 224, 224)
    assert torch.allclose(x[0], load_mm_clip(video), atol=1e-5)


def test_preprocess_takes_decoded_frames_as_well_as_a_path(videos_dir):
    from internvideo_core.data.io import read_video
    from internvideo_core.data.preprocess import VideoPreprocess

    pre = VideoPreprocess(InputSpec(num_frames=4, frame_interval=2, short_side=64, crop_size=64, test_clips=2,
                                    test_crops=3, notes="test"))
    path = videos_dir / "test.avi"
    frames = read_video(path)
    assert torch.equal(pre(frames, views="test"), pre(path, views="test"))
    assert pre(frames, views="test").shape == (6, 3, 4, 64, 64)
    with pytest.raises(ValueError, match="views"):
        pre(path, views="all")


# ----------------------------------------------------------------------------------------------- load_pretrained
def test_load_pretrained_k400_from_the_cache(cache):
    reference = _save_released_classifier("videomae_vit_base_k400", **SMALL)
    model, preprocess, names = load_pretrained("videomae_vit_base_k400", **SMALL)
    assert names == read_labels("kinetics400") and len(names) == 400 and names[0] == "abseiling"
    assert model.pretrained_entry.name == "videomae_vit_base_k400" and not model.training
    x = preprocess(sample_video("arm_wrestling_demo.mp4"))
    assert x.shape == (1, 3, 16, 224, 224)
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), atol=1e-5)
    assert preprocess(sample_video("test.mp4"), views="test").shape == (15, 3, 16, 224, 224)


def test_load_pretrained_overrides_reach_model_and_protocol(cache):
    _save_released_classifier("videomae_vit_base_k400", **SMALL, num_frames=8)
    model, preprocess, _ = load_pretrained("videomae_vit_base_k400", num_frames=8, test_clips=2, **SMALL)
    assert model.config.num_frames == 8 and preprocess.spec.num_frames == 8
    assert preprocess(sample_video("test.avi"), views="test").shape == (6, 3, 8, 224, 224)
    with pytest.raises(TypeError, match="no_such_field"):
        load_pretrained("videomae_vit_base_k400", no_such_field=1)
    with pytest.raises(KeyError, match="zoo list"):
        load_pretrained("videomae_vit_base_k401")


def test_load_pretrained_missing_file_says_where_to_put_it(cache):
    from internvideo_core.hub import HubOfflineError

    with pytest.raises(HubOfflineError) as err:
        load_pretrained("videomae_vit_base_ssv2")
    entry = get_pretrained("videomae_vit_base_ssv2")
    assert entry.url in str(err.value) and str(cache / entry.filename) in str(err.value)


def test_load_pretrained_dual_encoder_is_the_official_model(official_dir):
    """The official tiny InternVideo-MM file (released Lightning layout) through load_pretrained: same embeddings
    as the official code, and the checkpoint's protocol (``img_size`` moves the short side along, 256 : 224)."""
    from safetensors.torch import load_file

    case = json.loads((official_dir / "MANIFEST.json").read_text())["internvideo_mm"]
    v, t = case["config"]["vision"], case["config"]["text"]
    overrides = dict(vision_width=v["width"], vision_layers=v["layers"], vision_heads=v["heads"],
                     vision_patch_size=v["patch_size"], img_size=v["input_resolution"], num_frames=v["num_frames"],
                     temporal_layers=tuple(v["temporal_modules_after_blocks"]),
                     temporal_heads=v["temporal_module_heads"], text_width=t["width"], text_layers=t["layers"],
                     text_heads=t["heads"], context_length=t["context_length"], vocab_size=t["vocab_size"],
                     embed_dim=case["config"]["embed_dim"])
    model, preprocess, names = load_pretrained("internvideo_mm_l14_pretrain",
                                               checkpoint_path=official_dir / case["file"], **overrides)
    io = load_file(str(official_dir / case["io"]))
    with torch.no_grad():
        assert (model.encode_video(io["video"]) - io["video_embed"]).abs().max() < 1e-4
        assert (model.encode_text(io["tokens"]) - io["text_embed"]).abs().max() < 1e-4
    assert names == [] and model.config.img_size == v["input_resolution"]
    spec = preprocess.spec
    assert spec.crop_size == v["input_resolution"] and spec.short_side == round(v["input_resolution"] * 256 / 224)
    assert preprocess(sample_video("test.avi")).shape == (1, 3, v["num_frames"], spec.crop_size, spec.crop_size)


def test_img_size_is_accepted_by_every_family():
    for name in ("internvideo_mm_l14", "videomae_vit_base_patch16_224", "videomae_pretrain_base_patch16_224"):
        with torch.device("meta"):
            model = create_model(name, img_size=112)
        assert model.config.img_size == 112
    with pytest.raises(TypeError, match="disagree"):
        create_model("internvideo_mm_tiny_synth", img_size=48, input_resolution=96)


# ------------------------------------------------------------------------------- the one way to a released model
def test_demo_notebooks_and_cli_use_load_pretrained():
    """No hand-assembled released model left: no entry.overrides / label_map switches outside the zoo wing."""
    hand_made = re.compile(r"entry\.overrides|_official_videomae_input|label_map == |_released_(classifier|mm|mae)")
    users = [REPO / "internvideo_core" / "demo" / "models.py", REPO / "internvideo_core" / "commands" / "evaluate.py",
             REPO / "notebooks" / "03_action_recognition.ipynb", REPO / "notebooks" / "05_zero_shot.ipynb"]
    for path in users:
        text = path.read_text(encoding="utf-8")
        assert "load_pretrained" in text, path
        assert not hand_made.search(text), (path, hand_made.search(text))


def test_demo_loads_a_released_classifier_through_load_pretrained(cache, monkeypatch):
    from internvideo_core import registry
    from internvideo_core.demo.models import choose_model, load_model

    entry = get_pretrained("videomae_vit_base_ssv2")
    monkeypatch.setitem(registry._PRETRAINED, entry.name, dataclasses.replace(
        entry, overrides={**entry.overrides, **SMALL}))
    for other in ("videomae_vit_base_k400", "videomae_vit_large_k400", "videomae_vit_base_k710",
                  "videomae_vit_large_k700"):
        assert not cached_path(other).exists()
    _save_released_classifier(entry.name, **SMALL)
    choice = choose_model("recognition", "smoke", full=True)
    assert (choice.kind, choice.name) == ("released", entry.name)
    loaded = load_model(choice)
    assert len(loaded.classes) == 174 and "16 TSN segments" in loaded.protocol and "2 clips x 3 crops" in loaded.protocol
    idx = loaded.frame_indices(280)
    assert idx.shape == (16,)
    from internvideo_core.data.io import read_video

    x = loaded.preprocess(read_video(sample_video("arm_wrestling_demo.mp4"), idx))
    assert x.shape == (1, 3, 16, 224, 224)


def test_evaluate_takes_the_test_protocol_from_the_entry(cache, tmp_path, videos_dir):
    from internvideo_core.cli import main

    _save_released_classifier("videomae_vit_base_k400", **SMALL)
    listing = tmp_path / "k400_test.txt"
    listing.write_text("arm_wrestling_demo.mp4 6\ntest.mp4 0\n", encoding="utf-8")
    common = ["evaluate", "--pretrained", "videomae_vit_base_k400", "--data", str(listing), "--data-root",
              str(videos_dir), "--model-args", "embed_dim=32", "depth=1", "num_heads=2", "--device", "cpu",
              "--batch-size", "2"]
    assert main([*common, "--output", str(tmp_path / "official.json")]) == 0
    res = json.loads((tmp_path / "official.json").read_text())
    assert res["num_views"] == 15 and res["num_videos"] == 2 and res["model"] == "videomae_vit_base_k400"
    assert main([*common, "--num-clips", "1", "--num-crops", "1", "--output", str(tmp_path / "one.json")]) == 0
    assert json.loads((tmp_path / "one.json").read_text())["num_views"] == 1
