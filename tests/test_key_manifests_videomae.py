"""Every released VideoMAE architecture converts to exactly the official keys and shapes."""
from __future__ import annotations

import json

import pytest
import torch

from internvideo_core.checkpoint import to_official_state_dict
from internvideo_core.registry import create_model, list_models

# key_manifests.json entry -> (kit name, overrides)
RELEASED = {
    "finetune/vit_base_patch16_224": ("videomae_vit_base_patch16_224", {}),
    "finetune/vit_large_patch16_224": ("videomae_vit_large_patch16_224", {}),
    "finetune/vit_huge_patch16_224": ("videomae_vit_huge_patch16_224", {}),
    "finetune/vit_giant_patch14_224": ("videomae_vit_giant_patch14_224", {"num_classes": 710}),
    "pretrain/pretrain_mae_base_patch16_224": ("videomae_pretrain_base_patch16_224", {}),
    "pretrain/pretrain_mae_large_patch16_224": ("videomae_pretrain_large_patch16_224", {}),
    "pretrain/pretrain_mae_huge_patch16_224": ("videomae_pretrain_huge_patch16_224", {}),
}


@pytest.fixture(scope="module")
def manifests(official_dir):
    return json.loads((official_dir / "key_manifests.json").read_text())


def test_every_videomae_manifest_is_covered(manifests):
    ours = {k for k in manifests if k.startswith(("finetune/", "pretrain/"))}
    assert ours == set(RELEASED)


@pytest.mark.parametrize("entry", sorted(RELEASED))
def test_official_keys_and_shapes(entry, manifests):
    name, overrides = RELEASED[entry]
    with torch.device("meta"):
        model = create_model(name, **overrides)
    state = to_official_state_dict(model)
    expected = manifests[entry]["keys"]
    got = {k: list(v.shape) for k, v in state.items()}
    assert sorted(set(expected) - set(got)) == []
    assert sorted(set(got) - set(expected)) == []
    wrong = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
    assert wrong == {}
    wrapper = "module" if entry.startswith("finetune/") else "model"
    assert manifests[entry]["wrapper"] == wrapper


def test_all_names_registered():
    names = set(list_models("videomae"))
    for size in ("small", "base", "large", "huge"):
        assert f"videomae_vit_{size}_patch16_224" in names
        assert f"videomae_pretrain_{size}_patch16_224" in names
    assert {"videomae_vit_giant_patch14_224", "videomae_vit_tiny_synth", "videomae_pretrain_tiny_synth"} <= names


def test_small_models_match_videomae_repo_shapes():
    with torch.device("meta"):
        ae = create_model("videomae_pretrain_small_patch16_224")
        vit = create_model("videomae_vit_small_patch16_224")
    assert ae.mask_token.shape == (1, 1, 192) and len(ae.decoder.blocks) == 4
    assert ae.decoder.blocks[0].attn.num_heads == 3
    assert vit.blocks[0].attn.qkv.weight.shape == (1152, 384) and len(vit.blocks) == 12


def test_layer_ids_and_no_weight_decay_follow_official_rules():
    with torch.device("meta"):
        vit = create_model("videomae_vit_base_patch16_224")
    assert vit.get_num_layers() == 12
    assert vit.get_layer_id("patch_embed.proj.weight") == 0
    assert vit.get_layer_id("pos_embed") == 0
    assert vit.get_layer_id("blocks.0.attn.qkv.weight") == 1
    assert vit.get_layer_id("blocks.11.mlp.fc2.bias") == 12
    assert vit.get_layer_id("fc_norm.weight") == 13 and vit.get_layer_id("head.bias") == 13
    assert vit.no_weight_decay() == {"pos_embed", "cls_token"}


def test_tiny_synth_models_run_on_cpu():
    torch.manual_seed(0)
    vit = create_model("videomae_vit_tiny_synth").eval()
    ae = create_model("videomae_pretrain_tiny_synth").eval()
    c = vit.config
    assert (c.img_size, c.patch_size, c.num_frames, c.embed_dim, c.depth, c.num_heads) == (24, 4, 8, 96, 4, 3)
    x = torch.randn(2, 3, c.num_frames, c.img_size, c.img_size)
    from internvideo_core.masking import tube_mask

    mask = tube_mask(2, ae.config.grid, 0.75, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert vit(x).shape == (2, vit.config.num_classes)
        assert ae(x, mask).shape == (2, int(mask[0].sum()), 3 * 2 * 4 * 4)
    # the autoencoder's encoder transfers to the classifier without resizing (same own-grid table)
    assert torch.equal(vit.pos_embed, ae.encoder.pos_embed)
