"""The kit's VideoMAE classifier and autoencoder compute what the official code computes (fixtures)."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from internvideo_core.registry import create_model

ATOL = 1e-5  # achieved: 1e-7 to 1e-6 (float32); 1e-4 let an fc_norm eps of 1e-5 (error 2e-5) pass


def _manifest(official_dir):
    return json.loads((official_dir / "MANIFEST.json").read_text())


def finetune_overrides(official_dir) -> dict:
    c = _manifest(official_dir)["videomae_finetune"]["config"]
    return dict(img_size=c["img_size"], patch_size=c["patch_size"], num_frames=c["num_frames"],
                tubelet_size=c["tubelet_size"], embed_dim=c["embed_dim"], depth=c["depth"],
                num_heads=c["num_heads"], mlp_ratio=float(c["mlp_ratio"]), num_classes=c["num_classes"],
                layer_norm_eps=c["layer_norm_eps"])


def pretrain_overrides(official_dir) -> dict:
    c = _manifest(official_dir)["videomae_pretrain"]["config"]
    return dict(img_size=c["img_size"], patch_size=c["patch_size"], num_frames=c["num_frames"],
                tubelet_size=c["tubelet_size"], embed_dim=c["encoder"]["embed_dim"], depth=c["encoder"]["depth"],
                num_heads=c["encoder"]["num_heads"], decoder_embed_dim=c["decoder"]["embed_dim"],
                decoder_depth=c["decoder"]["depth"], decoder_num_heads=c["decoder"]["num_heads"])


@pytest.fixture(scope="module")
def finetune(official_dir):
    model = create_model("videomae_vit_base_patch16_224", checkpoint_path=official_dir / "videomae_finetune.pth",
                         **finetune_overrides(official_dir))
    return model, load_file(official_dir / "videomae_finetune_io.safetensors")


@pytest.fixture(scope="module")
def pretrain(official_dir):
    model = create_model("videomae_pretrain_base_patch16_224",
                         checkpoint_path=official_dir / "videomae_pretrain.pth", **pretrain_overrides(official_dir))
    return model, load_file(official_dir / "videomae_pretrain_io.safetensors")


def test_finetune_checkpoint_loads_strictly(finetune):
    model, _ = finetune
    rep = model.load_report
    assert rep.source_format == "official-finetune"
    assert not rep.ignored and not rep.initialized and not rep.resized
    assert rep.converted == len(model.state_dict())
    assert not model.training


def test_resized_pos_table_matches_official(finetune):
    model, io = finetune
    assert model.pos_embed.shape == io["pos_embed"].shape
    torch.testing.assert_close(model.pos_embed, io["pos_embed"], atol=1e-6, rtol=0)


def test_finetune_features_and_logits(finetune):
    model, io = finetune
    with torch.no_grad():
        feats = model.forward_features(io["input"])
        logits = model(io["input"])
    assert feats.shape == io["features"].shape and logits.shape == io["logits"].shape
    assert (feats - io["features"]).abs().max() < ATOL
    assert (logits - io["logits"]).abs().max() < ATOL


def test_pretrain_decoder_output_target_loss(pretrain):
    model, io = pretrain
    mask = io["mask"].bool()
    with torch.no_grad():
        out = model(io["input"], mask)
        target = model.targets(io["input"], mask)
        loss = model.loss(io["input"], mask)
    assert model.load_report.source_format == "official-pretrain" and not model.load_report.ignored
    assert out.shape == io["decoder_output"].shape == target.shape
    assert (out - io["decoder_output"]).abs().max() < ATOL
    assert (target - io["target"]).abs().max() < ATOL
    assert abs(loss.item() - io["loss"].item()) < ATOL


def test_encoder_sees_only_visible_tokens(pretrain):
    model, io = pretrain
    mask = io["mask"].bool()
    seen = []
    hook = model.encoder.blocks[0].register_forward_hook(lambda m, i, o: seen.append(i[0].shape))
    try:
        with torch.no_grad():
            model(io["input"], mask)
    finally:
        hook.remove()
    n_visible = int((~mask[0]).sum())
    assert seen == [torch.Size([mask.shape[0], n_visible, model.config.embed_dim])]


def test_visible_order_does_not_depend_on_decoder_layout(pretrain):
    """Predictions for a sample do not depend on the other samples of the batch."""
    model, io = pretrain
    mask = io["mask"].bool()
    with torch.no_grad():
        both = model(io["input"], mask)
        first = model(io["input"][:1], mask[:1])
    assert (both[:1] - first).abs().max() < 1e-5


def test_unequal_mask_counts_are_refused(pretrain):
    model, io = pretrain
    mask = io["mask"].bool().clone()
    mask[0, 2] = not mask[0, 2]
    with pytest.raises(ValueError, match="same number of tokens"):
        model(io["input"], mask)
    with pytest.raises(ValueError, match=r"mask must be \[B, 32\]"):
        model(io["input"], mask[:, :10])


def test_wrong_input_shape_names_expected_layout(finetune):
    model, io = finetune
    with pytest.raises(ValueError, match=r"\[B, C, T, H, W\]"):
        model(io["input"].transpose(1, 2))


def test_reconstruct_with_perfect_prediction_returns_input(pretrain):
    model, io = pretrain
    mask = io["mask"].bool()
    x = io["input"]
    rec = model.reconstruct(x, mask, pred=model.targets(x, mask))
    mean = torch.tensor([0.485, 0.456, 0.406])[None, :, None, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[None, :, None, None, None]
    pixels = (x * std + mean).clamp(0, 1)
    assert rec.shape == x.shape
    assert (rec - pixels).abs().max() < 1e-4
    assert rec.min() >= 0 and rec.max() <= 1
    # a bad prediction changes exactly the masked tubelets
    rec0 = model.reconstruct(x, mask, pred=torch.zeros_like(model.targets(x, mask)))
    changed = (rec0 - pixels).abs().amax(dim=(1,)).reshape(2, 8, 2, 2, 16, 2, 16).amax(dim=(2, 4, 6)) > 1e-4
    assert torch.equal(changed.reshape(2, -1), mask)


def test_unpatchify_inverts_patchify(pretrain):
    model, io = pretrain
    from einops import rearrange

    x = torch.rand(2, 3, 16, 32, 32)
    patches = rearrange(model.patchify(x), "b n p c -> b n (p c)")
    assert torch.equal(model.unpatchify(patches), x)


def test_bf16_autocast_runs_and_stays_close(finetune, pretrain):
    model, io = finetune
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(io["input"])
    assert logits.dtype == torch.bfloat16
    assert (logits.float() - io["logits"]).abs().max() < 0.1
    ae, pio = pretrain
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        loss = ae.loss(pio["input"], pio["mask"].bool())
    assert loss.dtype == torch.float32 and abs(loss.item() - pio["loss"].item()) < 0.1


def test_grad_checkpointing_gives_same_gradients(official_dir):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 32, 32)
    grads = []
    for cp in (False, True):
        model = create_model("videomae_vit_base_patch16_224", checkpoint_path=official_dir / "videomae_finetune.pth",
                             grad_checkpointing=cp, drop_path_rate=0.0,
                             **finetune_overrides(official_dir))
        model.train()
        model(x).sum().backward()
        grads.append(model.blocks[0].attn.qkv.weight.grad.clone())
    assert grads[0].abs().max() > 0
    torch.testing.assert_close(grads[0], grads[1], atol=1e-6, rtol=1e-5)


def test_sinusoid_table_equals_numpy_reference():
    """The float64 torch table equals the official numpy construction (as kept in transformers)."""
    from transformers.models.videomae.modeling_videomae import get_sinusoid_encoding_table

    from internvideo_core.models.pos_embed import sinusoid_table

    ours = sinusoid_table(1568, 768)
    ref = get_sinusoid_encoding_table(1568, 768)[0]
    assert (ours - ref).abs().max() < 1e-6


def test_pos_table_resizing_rules():
    from internvideo_core.models.pos_embed import resize_pos_table, sinusoid_table, video_pos_table

    ref = sinusoid_table(8 * 14 * 14, 32)
    assert torch.equal(video_pos_table((8, 14, 14), 32, (8, 14, 14)), ref)  # 224 / 16: no resizing
    assert torch.equal(resize_pos_table(ref, (8, 14, 14), (8, 14, 14)), ref)
    # time only: 8 -> 4 slots with align_corners=False averages neighbouring slots pairwise
    t4 = resize_pos_table(ref, (8, 14, 14), (4, 14, 14)).view(4, 196, 32)
    slots = ref.view(8, 196, 32)
    torch.testing.assert_close(t4, (slots[0::2] + slots[1::2]) / 2, atol=1e-6, rtol=0)
    # the classifier resizes, the own-grid convention does not
    with torch.device("meta"):
        a = create_model("videomae_vit_base_patch16_224", img_size=160, num_frames=8)
        b = create_model("videomae_vit_base_patch16_224", img_size=160, num_frames=8, pos_ref_img_size=None)
    assert a.pos_embed.shape == b.pos_embed.shape == (4 * 10 * 10, 768)
    assert not torch.allclose(a.pos_embed, b.pos_embed)
    assert torch.equal(b.pos_embed, sinusoid_table(400, 768))


def test_pos_table_values_errors_and_each_resize_step():
    import math

    import torch.nn.functional as F

    from internvideo_core.models.pos_embed import resize_pos_table, sinusoid_table, video_pos_table

    t = sinusoid_table(3, 4)
    assert t.dtype == torch.float32 and t.shape == (3, 4)
    expected = [[math.sin(p), math.cos(p), math.sin(p / 100.0), math.cos(p / 100.0)] for p in range(3)]
    torch.testing.assert_close(t, torch.tensor(expected), atol=1e-7, rtol=0)
    assert sinusoid_table(2, 3)[1].tolist() == pytest.approx([math.sin(1), math.cos(1), math.sin(1 / 10000 ** (2 / 3))])
    with pytest.raises(ValueError, match=r"table has 4 rows, grid \(1, 2, 3\) needs 6"):
        resize_pos_table(torch.zeros(4, 2), (1, 2, 3), (1, 2, 3))
    ref = torch.arange(2 * 2 * 2 * 3, dtype=torch.float64).reshape(8, 3)
    # space only (bicubic per time slot), float32 out, contiguous
    out = resize_pos_table(ref, (2, 2, 2), (2, 3, 4))
    maps = ref.float().reshape(2, 2, 2, 3).permute(0, 3, 1, 2)
    want = F.interpolate(maps, size=(3, 4), mode="bicubic", align_corners=False).permute(0, 2, 3, 1).reshape(24, 3)
    assert out.dtype == torch.float32 and out.is_contiguous()
    torch.testing.assert_close(out, want)
    # time only (linear), then both (space first, then time)
    out = resize_pos_table(ref, (2, 2, 2), (3, 2, 2))
    seq = ref.float().reshape(2, 4, 3).permute(1, 2, 0)
    want = F.interpolate(seq, size=3, mode="linear", align_corners=False).permute(2, 0, 1).reshape(12, 3)
    torch.testing.assert_close(out, want)
    both = resize_pos_table(ref, (2, 2, 2), (3, 3, 4))
    torch.testing.assert_close(both, resize_pos_table(resize_pos_table(ref, (2, 2, 2), (2, 3, 4)), (2, 3, 4), (3, 3, 4)))
    # own grid (no ref) and ref given as a list equal to the grid: no resizing
    assert torch.equal(video_pos_table((2, 2, 2), 4), sinusoid_table(8, 4))
    assert torch.equal(video_pos_table((2, 2, 2), 4, [2, 2, 2]), sinusoid_table(8, 4))
    torch.testing.assert_close(video_pos_table([1, 2, 2], 4, [2, 2, 2]),
                               resize_pos_table(sinusoid_table(8, 4), (2, 2, 2), (1, 2, 2)))
    # non-square grids (every factor counts)
    assert video_pos_table((1, 2, 3), 4).shape == (6, 4)
    assert video_pos_table((1, 3, 2), 4, (1, 2, 3)).shape == (6, 4)
