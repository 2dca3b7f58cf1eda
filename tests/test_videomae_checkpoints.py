"""Loading VideoMAE checkpoints in every supported form, with an explicit report; strict errors name keys."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from internvideo_core.checkpoint import CheckpointError, load_checkpoint, save_safetensors, to_official_state_dict
from internvideo_core.convert.videomae import save_official
from internvideo_core.registry import create_model

FT = dict(img_size=32, num_frames=4, embed_dim=64, depth=2, num_heads=4)
PT = dict(img_size=32, num_frames=16, embed_dim=64, depth=2, num_heads=4, decoder_embed_dim=32, decoder_depth=1,
          decoder_num_heads=2)


def _ft_state(official_dir) -> dict[str, torch.Tensor]:
    return torch.load(official_dir / "videomae_finetune.pth", map_location="cpu", weights_only=True)["module"]


def _pt_state(official_dir) -> dict[str, torch.Tensor]:
    return torch.load(official_dir / "videomae_pretrain.pth", map_location="cpu", weights_only=True)["model"]


def test_pretraining_file_into_classifier_follows_official_finetuning(official_dir):
    model = create_model("videomae_vit_base_patch16_224", checkpoint_path=official_dir / "videomae_pretrain.pth",
                         num_classes=5, **{**FT, "num_frames": 16})
    rep = model.load_report
    assert rep.source_format == "official-pretrain"
    assert set(rep.initialized) == {"fc_norm.weight", "fc_norm.bias", "head.weight", "head.bias"}
    assert all("pretraining" in r for r in rep.initialized.values())
    decoder_keys = {k for k in _pt_state(official_dir) if k.startswith("decoder.")}
    assert decoder_keys | {"mask_token", "encoder_to_decoder.weight", "encoder.norm.weight", "encoder.norm.bias"} \
        == set(rep.ignored)
    assert "decoder" in rep.ignored["mask_token"] and "fc_norm" in rep.ignored["encoder.norm.weight"]
    sd = _pt_state(official_dir)
    assert torch.equal(model.blocks[1].attn.qkv.weight, sd["encoder.blocks.1.attn.qkv.weight"])
    assert torch.equal(model.patch_embed.proj.weight, sd["encoder.patch_embed.proj.weight"])
    assert "newly initialized" in rep.summary()


def test_pretraining_file_without_mean_pooling_keeps_encoder_norm(official_dir):
    model = create_model("videomae_vit_base_patch16_224", checkpoint_path=official_dir / "videomae_pretrain.pth",
                         num_classes=5, use_mean_pooling=False, **{**FT, "num_frames": 16})
    assert torch.equal(model.norm.weight, _pt_state(official_dir)["encoder.norm.weight"])
    assert "encoder.norm.weight" not in model.load_report.ignored


def test_k710_head_is_cut_to_first_rows(official_dir, tmp_path):
    sd = _ft_state(official_dir)  # head has 7 rows: pretend it is K710 and load a 4-class model
    path = tmp_path / "k710_ft.pth"
    torch.save({"module": sd}, path)
    with pytest.raises(CheckpointError, match="7-class classification head but the model has 4 outputs"):
        create_model("videomae_vit_base_patch16_224", checkpoint_path=path, num_classes=4, **FT)  # only on request
    model = create_model("videomae_vit_base_patch16_224", checkpoint_path=path, num_classes=4, head_subset="first",
                         **FT)
    rep = model.load_report
    assert set(rep.resized) == {"head.weight", "head.bias"}
    assert "(7, 64) -> (4, 64)" in rep.resized["head.weight"]
    assert torch.equal(model.head.weight, sd["head.weight"][:4])
    assert torch.equal(model.head.bias, sd["head.bias"][:4])
    full = create_model("videomae_vit_base_patch16_224", checkpoint_path=path, num_classes=7, **FT)
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), full(x)[:, :4], atol=1e-6)


def test_smaller_head_is_a_strict_error_naming_it(official_dir):
    with pytest.raises(CheckpointError, match=r"head\.weight: file \(7, 64\) vs model \(9, 64\)"):
        create_model("videomae_vit_base_patch16_224", checkpoint_path=official_dir / "videomae_finetune.pth",
                     num_classes=9, **FT)
    model = create_model("videomae_vit_base_patch16_224", checkpoint_path=official_dir / "videomae_finetune.pth",
                         num_classes=9, strict=False, **FT)
    assert "does not fit" in model.load_report.ignored["head.weight"]


def test_wrong_architecture_names_missing_and_unexpected_keys(official_dir):
    with pytest.raises(CheckpointError, match=r"missing keys \[.*blocks\.2\.") as err:
        create_model("videomae_vit_base_patch16_224", checkpoint_path=official_dir / "videomae_finetune.pth",
                     num_classes=7, **{**FT, "depth": 3})
    assert "img_size, num_frames, num_classes" in str(err.value)
    with pytest.raises(CheckpointError, match=r"unexpected keys \[.*blocks\.1\."):
        create_model("videomae_vit_base_patch16_224", checkpoint_path=official_dir / "videomae_finetune.pth",
                     num_classes=7, **{**FT, "depth": 1})


def test_float16_file_loads_to_float32(official_dir, tmp_path):
    sd = {k: v.half() for k, v in _ft_state(official_dir).items()}
    path = tmp_path / "half.pth"
    torch.save({"module": sd}, path)
    model = create_model("videomae_vit_base_patch16_224", checkpoint_path=path, num_classes=7, **FT)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    io = load_file(official_dir / "videomae_finetune_io.safetensors")
    with torch.no_grad():
        assert (model(io["input"]) - io["logits"]).abs().max() < 5e-2


def test_kit_safetensors_round_trip(official_dir, tmp_path):
    model = create_model("videomae_pretrain_base_patch16_224", checkpoint_path=official_dir / "videomae_pretrain.pth",
                         **PT)
    path = save_safetensors(model, tmp_path / "kit.safetensors")
    again = create_model("videomae_pretrain_base_patch16_224", checkpoint_path=str(path), **PT)
    assert again.load_report.source_format == "safetensors"
    for (k, a), (k2, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert k == k2 and torch.equal(a, b)


def test_save_official_writes_release_layout(official_dir, tmp_path):
    for name, file, overrides, wrapper in (
        ("videomae_vit_base_patch16_224", "videomae_finetune.pth", {**FT, "num_classes": 7}, "module"),
        ("videomae_pretrain_base_patch16_224", "videomae_pretrain.pth", PT, "model"),
    ):
        model = create_model(name, checkpoint_path=official_dir / file, **overrides)
        out = save_official(model, tmp_path / file)
        saved = torch.load(out, map_location="cpu", weights_only=True)
        original = torch.load(official_dir / file, map_location="cpu", weights_only=True)[wrapper]
        assert list(saved) == [wrapper]
        assert set(saved[wrapper]) == set(original)
        assert all(torch.equal(saved[wrapper][k], original[k]) for k in original)
        assert set(to_official_state_dict(model)) == set(original)


def test_classifier_file_into_autoencoder_is_refused_with_advice(official_dir):
    with pytest.raises(CheckpointError, match="videomae_vit_"):
        create_model("videomae_pretrain_base_patch16_224", checkpoint_path=official_dir / "videomae_finetune.pth",
                     **PT)


def test_ddp_prefix_and_stored_pos_table(official_dir, tmp_path):
    sd = {"module." + k: v for k, v in _ft_state(official_dir).items()}
    sd["module.pos_embed"] = torch.zeros(1, 8, 64)
    path = tmp_path / "ddp.pth"
    torch.save({"model": sd}, path)
    model = create_model("videomae_vit_base_patch16_224", num_classes=7, **FT)
    report = load_checkpoint(model, path)
    assert set(report.ignored) == {"pos_embed"} and "sinusoid" in report.ignored["pos_embed"]
    assert not report.initialized
    io = load_file(official_dir / "videomae_finetune_io.safetensors")
    with torch.no_grad():
        assert (model.eval()(io["input"]) - io["logits"]).abs().max() < 1e-4


def test_positional_table_is_not_in_state_dict():
    model = create_model("videomae_vit_tiny_synth")
    assert "pos_embed" not in model.state_dict()
    assert model.pos_embed.shape == (4 * 6 * 6, 96)  # 8 frames / tubelet 2, (24 px / patch 4)^2; width 96


def test_classifier_from_in_memory_autoencoder():
    from internvideo_core.convert.videomae import load_from_autoencoder

    torch.manual_seed(0)
    ae = create_model("videomae_pretrain_tiny_synth")
    vit = create_model("videomae_vit_tiny_synth", num_classes=6)
    report = load_from_autoencoder(vit, ae)
    assert set(report.initialized) == {"fc_norm.weight", "fc_norm.bias", "head.weight", "head.bias"}
    assert torch.equal(vit.blocks[3].mlp.fc2.weight, ae.encoder.blocks[3].mlp.fc2.weight)
    # same encoder, same token features on a fully visible clip
    x = torch.randn(1, 3, 8, 24, 24)
    mask = torch.zeros(1, 144, dtype=torch.bool)
    with torch.no_grad():
        feats = ae.forward_encoder(x, mask)
        vit.eval()
        tokens = vit.forward_tokens(x)
    assert (ae.encoder.norm(tokens) - feats).abs().max() < 1e-5
    with pytest.raises(CheckpointError, match="does not fit"):
        load_from_autoencoder(create_model("videomae_vit_tiny_synth", depth=3), ae)


def test_nothing_masked_predicts_nothing():
    ae = create_model("videomae_pretrain_tiny_synth").eval()
    x = torch.randn(1, 3, 8, 24, 24)
    with torch.no_grad():
        out = ae(x, torch.zeros(1, 144, dtype=torch.bool))
    assert out.shape == (1, 0, 3 * 2 * 4 * 4)
