"""InternVideo-MM computes what the official code computes (fixtures/official/internvideo_mm*)."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from internvideo_core.checkpoint import CheckpointError, load_checkpoint, to_official_state_dict
from internvideo_core.convert.mm import to_lightning_checkpoint
from internvideo_core.registry import create_model
from internvideo_core.text import tokenize

ATOL = 1e-5  # achieved: 1e-7 to 1e-6 (float32); 1e-4 let an fc_norm eps of 1e-5 (error 2e-5) pass


def _tiny_overrides(manifest: dict) -> dict:
    """The MANIFEST.json config expressed as create_model overrides."""
    v, t = manifest["config"]["vision"], manifest["config"]["text"]
    return dict(
        vision_width=v["width"], vision_layers=v["layers"], vision_heads=v["heads"],
        vision_patch_size=v["patch_size"], input_resolution=v["input_resolution"], num_frames=v["num_frames"],
        temporal_layers=tuple(v["temporal_modules_after_blocks"]), temporal_heads=v["temporal_module_heads"],
        text_width=t["width"], text_layers=t["layers"], text_heads=t["heads"],
        context_length=t["context_length"], vocab_size=t["vocab_size"], embed_dim=manifest["config"]["embed_dim"],
    )


@pytest.fixture(scope="module")
def manifest(official_dir):
    return json.loads((official_dir / "MANIFEST.json").read_text())["internvideo_mm"]


@pytest.fixture(scope="module")
def io(official_dir, manifest):
    return load_file(str(official_dir / manifest["io"]))


@pytest.fixture(scope="module")
def model(official_dir, manifest):
    torch.manual_seed(0)
    return create_model("internvideo_mm_b16", checkpoint_path=str(official_dir / manifest["file"]),
                        **_tiny_overrides(manifest))


def test_load_report(model, official_dir, manifest):
    report = model.load_report
    raw = torch.load(official_dir / manifest["file"], map_location="cpu", weights_only=True)["state_dict"]
    n_clip = sum(k.startswith("clip.") for k in raw)
    assert report.source_format == "lightning"
    assert report.converted == n_clip == len(model.state_dict())
    assert set(report.ignored) == {k for k in raw if not k.startswith("clip.")}
    assert "caption_decoder.visual_queries" in report.ignored
    assert not report.initialized
    assert any("float16" in n for n in report.notes)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert not model.training


def test_video_embedding(model, io):
    with torch.no_grad():
        out = model.encode_video(io["video"])
    assert out.shape == io["video_embed"].shape
    err = (out - io["video_embed"]).abs().max().item()
    assert err < ATOL, f"video embedding max abs error {err:.2e}"


def test_text_embedding(model, io):
    with torch.no_grad():
        out = model.encode_text(io["tokens"])
    err = (out - io["text_embed"]).abs().max().item()
    assert err < ATOL, f"text embedding max abs error {err:.2e}"


def test_logits(model, io):
    with torch.no_grad():
        per_video, per_text = model(io["video"], io["tokens"])
    err = (per_video - io["logits_per_video"]).abs().max().item()
    assert err < ATOL, f"logits max abs error {err:.2e}"
    assert torch.equal(per_text, per_video.t())


def test_tokens_from_kit_tokenizer(io, manifest):
    assert torch.equal(tokenize(manifest["texts"]), io["tokens"])


def test_text_rows_independent_of_batch(model, io):
    """Skipping positions after the batch's last EOT must not change any row (causal attention)."""
    long_row = tokenize(["a person playing guitar on stage while the crowd cheers " * 3])
    with torch.no_grad():
        alone = model.encode_text(io["tokens"][:1])
        mixed = model.encode_text(torch.cat([io["tokens"][:1], long_row]))[:1]
        short = model.encode_text(io["tokens"][:1, :20])
    torch.testing.assert_close(alone, mixed, atol=1e-5, rtol=0)
    torch.testing.assert_close(alone, short, atol=1e-5, rtol=0)


def test_image_mode_is_one_frame_clip(model, io):
    frame = io["video"][:, :, 0]
    with torch.no_grad():
        torch.testing.assert_close(model.encode_image(frame), model.encode_video(frame.unsqueeze(2)))


def test_lightning_round_trip(model, io, tmp_path, manifest):
    path = tmp_path / "roundtrip.ckpt"
    torch.save(to_lightning_checkpoint(model, dtype=torch.float32), path)
    again = create_model("internvideo_mm_b16", **_tiny_overrides(manifest))
    report = load_checkpoint(again, path)
    again.eval()
    assert report.converted == len(again.state_dict()) and not report.ignored
    with torch.no_grad():
        assert torch.equal(again.encode_video(io["video"]), model.encode_video(io["video"]))
    official = to_official_state_dict(again)
    assert set(official) == set(model.state_dict())


def test_wrong_config_is_a_clear_error(official_dir, manifest):
    over = _tiny_overrides(manifest) | {"temporal_layers": (3,)}
    with pytest.raises(CheckpointError, match="dpe.1"):
        create_model("internvideo_mm_b16", checkpoint_path=str(official_dir / manifest["file"]), **over)


def test_backward_in_train_mode(manifest):
    torch.manual_seed(0)
    m = create_model("internvideo_mm_b16", **_tiny_overrides(manifest), drop_path_rate=0.1).train()
    video = torch.randn(2, 3, 4, 28, 28)
    per_video, per_text = m(video, tokenize(["a", "b c"]))
    labels = torch.arange(2)
    loss = (torch.nn.functional.cross_entropy(per_video, labels) + torch.nn.functional.cross_entropy(per_text, labels))
    loss.backward()
    assert m.visual.transformer.dec[0].attn.out_proj.weight.grad.abs().sum() > 0
    assert m.visual.conv1.weight.grad.abs().sum() > 0
    assert m.logit_scale.grad is not None
