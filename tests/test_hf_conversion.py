"""Hugging Face transformers VideoMAE <-> kit: weights convert both ways and outputs agree."""
from __future__ import annotations

import pytest
import torch
import transformers
from safetensors.torch import save_file

from internvideo_core.checkpoint import CheckpointError, to_official_state_dict
from internvideo_core.convert.hf_videomae import (hf_config_kwargs, hf_to_official, kit_overrides_from_hf_config,
                                                  official_to_hf, to_hf_model)
from internvideo_core.masking import tube_mask
from internvideo_core.registry import create_model

TINY = dict(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=64, num_hidden_layers=2,
            num_attention_heads=4, intermediate_size=256, qv_bias=True, layer_norm_eps=1e-6)


def _perturb(model: torch.nn.Module, seed: int = 0) -> None:
    """Random non-trivial values everywhere (biases, norms) so every tensor matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))


@pytest.fixture(scope="module")
def hf_classifier():
    torch.manual_seed(0)
    config = transformers.VideoMAEConfig(num_labels=7, use_mean_pooling=True, attn_implementation="sdpa", **TINY)
    model = transformers.VideoMAEForVideoClassification(config).eval()
    _perturb(model)
    return model


@pytest.fixture(scope="module")
def hf_pretrain():
    torch.manual_seed(1)
    config = transformers.VideoMAEConfig(use_mean_pooling=False, norm_pix_loss=True, decoder_hidden_size=32,
                                         decoder_num_hidden_layers=2, decoder_num_attention_heads=2,
                                         decoder_intermediate_size=128, **TINY)
    model = transformers.VideoMAEForPreTraining(config).eval()
    _perturb(model, 1)
    return model


def _video(seed: int = 0) -> torch.Tensor:
    return torch.randn(2, 3, 4, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_hf_classifier_file_to_kit(hf_classifier, tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in hf_classifier.state_dict().items()}, str(path))
    kit = create_model("videomae_vit_base_patch16_224", checkpoint_path=str(path),
                       **kit_overrides_from_hf_config(hf_classifier.config))
    assert kit.load_report.source_format == "huggingface"
    assert not kit.load_report.ignored and not kit.load_report.initialized
    x = _video()
    with torch.no_grad():
        ours = kit(x)
        theirs = hf_classifier(pixel_values=x.transpose(1, 2)).logits  # HF takes [B, T, C, H, W]
    assert (ours - theirs).abs().max() < 1e-4
    assert ours.abs().max() > 1e-2  # not trivially zero


def test_kit_classifier_to_hf(official_dir):
    kit = create_model("videomae_vit_base_patch16_224", checkpoint_path=official_dir / "videomae_finetune.pth",
                       img_size=32, num_frames=4, embed_dim=64, depth=2, num_heads=4, num_classes=7,
                       pos_ref_img_size=None)
    hf = to_hf_model(kit)
    x = _video(1)
    with torch.no_grad():
        assert (kit(x) - hf(pixel_values=x.transpose(1, 2)).logits).abs().max() < 1e-4


def test_hf_pretraining_both_ways(hf_pretrain):
    kit = create_model("videomae_pretrain_base_patch16_224",
                       **kit_overrides_from_hf_config(hf_pretrain.config, pretraining=True))
    from internvideo_core.checkpoint import LoadReport
    from internvideo_core.convert.videomae import pretrain_from_external

    report = LoadReport("memory", "state_dict")
    kit.load_state_dict(pretrain_from_external(kit, dict(hf_pretrain.state_dict()), report), strict=True)
    assert report.source_format == "huggingface"
    kit.eval()
    x = _video(2)
    mask = tube_mask(2, (2, 2, 2), 0.5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = hf_pretrain(pixel_values=x.transpose(1, 2), bool_masked_pos=mask)
        assert (kit(x, mask) - out.logits).abs().max() < 1e-4
        assert abs(kit.loss(x, mask).item() - out.loss.item()) < 1e-4
        back = to_hf_model(kit)
        out2 = back(pixel_values=x.transpose(1, 2), bool_masked_pos=mask)
    assert (out2.logits - out.logits).abs().max() < 1e-4


def test_state_dict_round_trip_is_exact(hf_classifier, hf_pretrain):
    for hf in (hf_classifier, hf_pretrain):
        sd = dict(hf.state_dict())
        back = official_to_hf(hf_to_official(sd))
        assert set(back) == set(sd)
        assert all(torch.equal(back[k], sd[k]) for k in sd)


def test_hf_pretraining_file_into_classifier(hf_pretrain, tmp_path):
    path = tmp_path / "pytorch_model.bin"
    torch.save(dict(hf_pretrain.state_dict()), path)
    kit = create_model("videomae_vit_base_patch16_224", checkpoint_path=str(path), img_size=32, num_frames=4,
                       embed_dim=64, depth=2, num_heads=4, num_classes=5)
    rep = kit.load_report
    assert set(rep.initialized) == {"fc_norm.weight", "fc_norm.bias", "head.weight", "head.bias"}
    assert "encoder.norm.weight" in rep.ignored and "decoder.head.weight" in rep.ignored
    assert "mask_token" in rep.ignored and "encoder_to_decoder.weight" in rep.ignored
    hf_q = hf_pretrain.videomae.encoder.layer[1].attention.attention.query.weight
    assert torch.equal(kit.blocks[1].attn.qkv.weight[:64], hf_q)


def test_hf_config_round_trip():
    with torch.device("meta"):
        kit = create_model("videomae_vit_large_patch16_224", num_classes=174)
    kw = hf_config_kwargs(kit.config)
    assert kw["intermediate_size"] == 4096 and kw["num_labels"] == 174
    back = kit_overrides_from_hf_config(transformers.VideoMAEConfig(**kw))
    for field in ("img_size", "embed_dim", "depth", "num_heads", "mlp_ratio", "num_classes", "tubelet_size"):
        assert back[field] == getattr(kit.config, field)
    assert back["pos_ref_img_size"] is None


def test_hf_keys_of_released_layout(official_dir):
    """Official fine-tuned file -> HF names: exactly the keys transformers expects."""
    config = transformers.VideoMAEConfig(num_labels=7, use_mean_pooling=True, **TINY)
    expected = set(transformers.VideoMAEForVideoClassification(config).state_dict())
    sd = torch.load(official_dir / "videomae_finetune.pth", map_location="cpu", weights_only=True)["module"]
    assert set(official_to_hf(sd)) == expected


def test_broken_hf_file_names_the_key(hf_classifier, tmp_path):
    sd = dict(hf_classifier.state_dict())
    sd.pop("videomae.encoder.layer.1.output.dense.bias")
    path = tmp_path / "broken.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    with pytest.raises(CheckpointError, match=r"blocks\.1\.mlp\.fc2\.bias"):
        create_model("videomae_vit_base_patch16_224", checkpoint_path=str(path),
                     **kit_overrides_from_hf_config(hf_classifier.config))


def test_to_official_of_hf_loaded_model_matches_kit_names(hf_classifier):
    kit = create_model("videomae_vit_base_patch16_224", **kit_overrides_from_hf_config(hf_classifier.config))
    sd = hf_to_official(dict(hf_classifier.state_dict()))
    kit.load_state_dict(sd, strict=True)
    assert set(to_official_state_dict(kit)) == set(sd)


def test_to_hf_warns_when_pos_tables_differ():
    kit = create_model("videomae_vit_base_patch16_224", img_size=32, num_frames=4, embed_dim=64, depth=1,
                       num_heads=4, num_classes=3)
    with pytest.warns(UserWarning, match="pos_ref_img_size=None"):
        to_hf_model(kit)


def _with_key_bias(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """The same model with a (random) bias on every key projection, as some transformers versions build it."""
    g = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if hasattr(module, "key") and isinstance(module.key, torch.nn.Linear) and module.key.bias is None:
            old = module.key
            new = torch.nn.Linear(old.in_features, old.out_features, bias=True)
            with torch.no_grad():
                new.weight.copy_(old.weight)
                new.bias.copy_(torch.randn(old.out_features, generator=g))
            module.key = new
    return model


def test_key_bias_of_other_transformers_versions_is_exact(hf_classifier):
    """transformers 5.17 builds VideoMAE with a key bias (seen on the GPU machine), 5.24 without. Softmax ignores
    a key bias, so dropping it (HF -> kit) and zero-filling it (kit -> HF) are both exact."""
    import copy

    hf = _with_key_bias(copy.deepcopy(hf_classifier), seed=3)
    assert any(k.endswith("attention.attention.key.bias") for k in hf.state_dict())
    kit = create_model("videomae_vit_base_patch16_224", **kit_overrides_from_hf_config(hf.config))

    sd = hf_to_official(hf.state_dict())
    assert not any("key" in k for k in sd)
    kit.load_state_dict(sd, strict=True)
    x = _video(5)
    with torch.no_grad():
        ref = hf(pixel_values=x.transpose(1, 2)).logits
        torch.testing.assert_close(kit.eval()(x), ref, atol=1e-5, rtol=1e-4)

    from internvideo_core.convert.hf_videomae import load_into_hf

    fresh = _with_key_bias(transformers.VideoMAEForVideoClassification(hf.config).eval(), seed=4)
    load_into_hf(fresh, to_official_state_dict(kit))
    biases = [v for k, v in fresh.state_dict().items() if k.endswith("key.bias")]
    assert biases and all(float(b.abs().max()) == 0.0 for b in biases)
    with torch.no_grad():
        torch.testing.assert_close(fresh(pixel_values=x.transpose(1, 2)).logits, ref, atol=1e-5, rtol=1e-4)
