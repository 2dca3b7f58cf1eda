"""Model interaction (cross-model attention between the frozen VideoMAE and the frozen InternVideo-MM video tower):
exact reproduction of both encoders at step 0, the token-grid resampling, what trains, and the released sizes."""
from __future__ import annotations

import pytest
import torch

from internvideo_core.models.interaction import CrossModelAttention, ModelInteraction, resample_tokens

pytestmark = pytest.mark.usefixtures("one_thread")


def _encoders(mm_temporal=(0, 2)):
    from internvideo_core.registry import create_model

    torch.manual_seed(0)
    mae = create_model("videomae_vit_tiny_synth", num_classes=5, embed_dim=48, depth=3, num_heads=3, img_size=32,
                       patch_size=8, num_frames=8, tubelet_size=2).eval()
    mm = create_model("internvideo_mm_tiny_synth", input_resolution=24, num_frames=4, vision_width=32,
                      vision_layers=3, vision_heads=2, vision_patch_size=8, temporal_layers=mm_temporal,
                      temporal_heads=2, text_width=32, text_layers=1, text_heads=2, embed_dim=16).eval()
    with torch.no_grad():  # non-trivial temporal modules (the official init makes them output zero)
        for p in mm.visual.transformer.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return mae, mm


def _inputs(b=2):
    g = torch.Generator().manual_seed(1)
    return torch.randn(b, 3, 8, 32, 32, generator=g), torch.randn(b, 3, 4, 24, 24, generator=g)


@pytest.mark.parametrize("directions", ["both", "to_mae", "to_mm"])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_zero_gates_reproduce_both_frozen_encoders_exactly_at_step_zero(directions, num_layers):
    mae, mm = _encoders()
    x_a, x_b = _inputs()
    with torch.no_grad():
        ref_a, ref_b = mae.forward_features(x_a), mm.encode_video(x_b)
        model = ModelInteraction(mae, mm, num_classes=7, num_layers=num_layers, directions=directions)
        feat_a, feat_b = model.forward_features(x_a, x_b)
    assert torch.equal(feat_a, ref_a) and torch.equal(feat_b, ref_b)
    assert model(x_a, x_b).shape == (2, 7)


def test_after_a_training_step_the_gates_open_and_the_encoders_stay_frozen():
    mae, mm = _encoders()
    before = {k: v.clone() for k, v in {**mae.state_dict(), **{f"mm.{k}": v for k, v in mm.state_dict().items()}}.items()}
    model = ModelInteraction(mae, mm, num_classes=3, num_layers=2)
    x_a, x_b = _inputs(4)
    y = torch.tensor([0, 1, 2, 0])
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):
        loss = torch.nn.functional.cross_entropy(model(x_a, x_b), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.to_mae[0].gate_attn.abs().sum() > 0 and model.to_mm[1].gate_mlp.abs().sum() > 0
    assert not mae.training and not mm.training  # frozen encoders stay in eval mode under model.train()
    after = {**mae.state_dict(), **{f"mm.{k}": v for k, v in mm.state_dict().items()}}
    assert all(torch.equal(before[k], after[k]) for k in before)
    with torch.no_grad():
        feat_a, feat_b = model.forward_features(x_a, x_b)
    assert not torch.equal(feat_a, mae.forward_features(x_a)) and not torch.equal(feat_b, mm.encode_video(x_b))
    trainable = sum(p.numel() for n, p in model.named_parameters() if n.startswith(("to_mae", "to_mm", "head")))
    assert model.trainable_parameters() == trainable


def test_stem_state_can_be_cached_sliced_and_concatenated():
    from internvideo_core.models.interaction import InteractionState

    mae, mm = _encoders()
    model = ModelInteraction(mae, mm, num_classes=3, num_layers=1).eval()
    x_a, x_b = _inputs(3)
    with torch.no_grad():
        full = model(x_a, x_b)
        s = model.stem(x_a, x_b)
        parts = InteractionState.cat([s.index(slice(0, 1)), s.index(torch.tensor([1, 2]))])
        assert torch.allclose(model.forward_from(parts), full, atol=1e-6)
        assert torch.allclose(model.forward_from(s.index(torch.tensor([2]))), full[2:], atol=1e-6)


def test_resampling_tokens_between_grids():
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).view(1, 24, 1).repeat(2, 1, 5)  # grid (2, 3, 4)
    assert torch.equal(resample_tokens(x, (2, 3, 4), (2, 3, 4)), x)
    const = torch.ones(2, 2 * 3 * 4, 5)
    out = resample_tokens(const, (2, 3, 4), (4, 6, 7))
    assert out.shape == (2, 4 * 6 * 7, 5) and torch.allclose(out, torch.ones_like(out))


def test_cma_block_with_zero_gates_is_the_identity_and_handles_different_widths():
    blk = CrossModelAttention(dim=8, context_dim=6, num_heads=2)
    x, ctx = torch.randn(2, 5, 8), torch.randn(2, 9, 6)
    assert torch.equal(blk(x, ctx), x)
    with pytest.raises(ValueError, match="divisible"):
        CrossModelAttention(dim=10, context_dim=6, num_heads=3)


def test_released_sizes_videomae_l16_and_mm_l14_on_the_meta_device():
    """VideoMAE-L/16 (16 frames, tubelet 2 -> 8 x 14 x 14 tokens) and InternVideo-MM L/14 (8 frames of 16 x 16
    patches + class tokens): the grids do not line up and are resampled onto each other."""
    from internvideo_core.registry import create_model

    with torch.device("meta"):
        mae = create_model("videomae_vit_large_patch16_224", num_classes=400)
        mm = create_model("internvideo_mm_l14")
        model = ModelInteraction(mae, mm, num_classes=400, num_layers=4)
        x_a, x_b = torch.empty(1, 3, 16, 224, 224), torch.empty(1, 3, 8, 224, 224)
        s = model.stem(x_a, x_b)
        logits = model.forward_from(s)
    assert model.grid_a == (8, 14, 14) and s.mae.shape == (1, 8 * 14 * 14, 1024)
    assert s.mm.shape == (8, 1 + 16 * 16, 1024) and s.grid == (16, 16) and s.num_frames == 8
    assert logits.shape == (1, 400)
    assert model.start_a == 20 and model.start_b == 20  # the last 4 of 24 blocks each
    per_block = 2 * sum(p.numel() for p in model.to_mae[0].parameters())
    assert model.trainable_parameters() == 4 * per_block + sum(p.numel() for p in model.head.parameters())


def test_bad_arguments_are_refused():
    mae, mm = _encoders()
    with pytest.raises(ValueError, match="num_layers"):
        ModelInteraction(mae, mm, num_classes=2, num_layers=4)
    with pytest.raises(ValueError, match="directions"):
        ModelInteraction(mae, mm, num_classes=2, directions="sideways")


def test_the_self_context_control_has_the_same_blocks_and_sees_no_other_encoder():
    mae, mm = _encoders()
    x_a, x_b = _inputs()
    model = ModelInteraction(mae, mm, num_classes=3, num_layers=2, context="self")
    with torch.no_grad():
        for p in (*model.to_mae.parameters(), *model.to_mm.parameters()):
            p.add_(0.1 * torch.randn_like(p))  # open the gates
        feat_a, _ = model.forward_features(x_a, x_b)
        feat_a2, _ = model.forward_features(x_a, torch.randn_like(x_b))  # the other encoder's input changes ...
    assert torch.equal(feat_a, feat_a2)  # ... and the VideoMAE side does not see it
    assert not torch.equal(feat_a, mae.forward_features(x_a))
    with pytest.raises(ValueError, match="context"):
        ModelInteraction(mae, mm, num_classes=2, context="both")


def _linear_weights(n_in: int, n_out: int) -> torch.Tensor:
    """``[n_out, n_in]`` weights of 1-D linear interpolation with ``align_corners=False`` (half-pixel centres,
    positions outside the input clamped to its ends)."""
    w = torch.zeros(n_out, n_in)
    for i in range(n_out):
        x = min(max((i + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1)
        lo = int(x)
        hi = min(lo + 1, n_in - 1)
        w[i, lo] += 1 - (x - lo)
        w[i, hi] += x - lo
    return w


def test_resampling_is_separable_linear_interpolation_on_half_pixel_centres():
    grid, size = (2, 3, 4), (3, 2, 6)
    x = torch.randn(2, 2 * 3 * 4, 5, generator=torch.Generator().manual_seed(0))
    wt, wh, ww = (_linear_weights(a, b) for a, b in zip(grid, size))
    cube = x.reshape(2, *grid, 5)                                        # tokens in (t, h, w) order
    expected = torch.einsum("it,jh,kw,bthwc->bijkc", wt, wh, ww, cube).reshape(2, 3 * 2 * 6, 5)
    torch.testing.assert_close(resample_tokens(x, grid, size), expected, atol=1e-6, rtol=1e-6)
    # a ramp along w, 2 -> 4 samples: positions -0.25, 0.25, 0.75, 1.25 clamped (align_corners=True: 0, 1/3, 2/3, 1)
    ramp = torch.tensor([0.0, 1.0]).view(1, 2, 1)
    assert resample_tokens(ramp, (1, 1, 2), (1, 1, 4))[0, :, 0].tolist() == [0.0, 0.25, 0.75, 1.0]
    half = resample_tokens(x.to(torch.bfloat16), grid, size)
    assert half.dtype == torch.bfloat16
    torch.testing.assert_close(half.float(), expected, atol=0.05, rtol=0.05)


def test_a_state_of_one_part_concatenates_to_itself_and_train_switches_only_the_new_blocks():
    from internvideo_core.models.interaction import InteractionState

    mae, mm = _encoders()
    model = ModelInteraction(mae, mm, num_classes=3, num_layers=1)
    assert model.training and model.to_mae[0].training and model.head.training
    assert not mae.training and not mm.training
    model.eval()
    assert not model.training and not model.to_mm[0].training
    model.train()
    assert model.training and model.to_mm[0].training and not mm.visual.training
    x_a, x_b = _inputs(2)
    with torch.no_grad():
        s = model.stem(x_a, x_b)
        one = InteractionState.cat([s])
    assert torch.equal(one.mae, s.mae) and torch.equal(one.mm, s.mm)
    assert (one.num_frames, one.grid) == (s.num_frames, s.grid)
    moved = s.to("meta")
    assert all(t.device.type == "meta" and t.shape == u.shape
               for t, u in ((moved.mae, s.mae), (moved.mm, s.mm), (moved.query, s.query)))
    assert moved.grid == s.grid and moved.num_frames == s.num_frames
    back = s.to("cpu")
    assert torch.equal(back.mae, s.mae) and torch.equal(back.mm, s.mm) and torch.equal(back.query, s.query)


def test_a_videomae_without_mean_pooling_is_pooled_as_it_pools_itself():
    from internvideo_core.registry import create_model

    _, mm = _encoders()
    torch.manual_seed(0)
    mae = create_model("videomae_vit_tiny_synth", num_classes=5, embed_dim=48, depth=2, num_heads=3, img_size=32,
                       patch_size=8, num_frames=8, tubelet_size=2, use_mean_pooling=False).eval()
    assert mae.fc_norm is None
    x_a, x_b = _inputs()
    with torch.no_grad():
        model = ModelInteraction(mae, mm, num_classes=3, num_layers=1)
        feat_a, _ = model.forward_features(x_a, x_b)
        assert torch.equal(feat_a, mae.forward_features(x_a))


def test_the_cma_feed_forward_is_four_times_wider_by_default():
    assert CrossModelAttention(8, 6, 2).mlp[0].out_features == 32
    assert CrossModelAttention(8, 6, 2, mlp_ratio=1.5).mlp[0].out_features == 12
    mae, mm = _encoders()
    model = ModelInteraction(mae, mm, num_classes=2, num_layers=1)
    assert model.to_mae[0].mlp[0].out_features == 4 * 48 and model.to_mm[0].mlp[0].out_features == 4 * 32
    assert model.to_mae[0].num_heads == 3 and model.to_mm[0].num_heads == 2           # each encoder's own heads
    assert ModelInteraction(mae, mm, num_classes=2, num_layers=1, num_heads=4).to_mae[0].num_heads == 4
    half = ModelInteraction(mae, mm, num_classes=2, num_layers=1, mlp_ratio=2.0)
    assert half.to_mae[0].mlp[0].out_features == 2 * 48 and half.to_mm[0].mlp[0].out_features == 2 * 32


def _ref_cma(blk: CrossModelAttention, x: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
    """``x + g_a * proj(softmax(q k^T / sqrt(d)) v)`` with q from LN(x), k/v from LN(ctx), then
    ``+ g_f * W2 GELU(W1 LN(.))``."""
    import math

    import torch.nn.functional as F

    ln = lambda norm, t: F.layer_norm(t, t.shape[-1:], norm.weight, norm.bias, norm.eps)  # noqa: E731
    q = blk.q(ln(blk.norm_q, x))
    k, v = blk.kv(ln(blk.norm_kv, ctx)).chunk(2, -1)
    d = q.shape[-1] // blk.num_heads
    heads = [(q[..., i * d:(i + 1) * d] @ k[..., i * d:(i + 1) * d].transpose(-1, -2) / math.sqrt(d)).softmax(-1)
             @ v[..., i * d:(i + 1) * d] for i in range(blk.num_heads)]
    x = x + blk.gate_attn * blk.proj(torch.cat(heads, -1))
    lin1, _, lin2 = blk.mlp
    return x + blk.gate_mlp * lin2(F.gelu(lin1(ln(blk.norm_mlp, x))))


def _ref_logits(model: ModelInteraction, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
    import torch.nn.functional as F

    s = model.stem(x_a, x_b)
    mae, mm, vt = model.videomae, model.mm, model.mm.visual.transformer
    a, m, query, t = s.mae, s.mm, s.query, s.num_frames
    b = a.shape[0]
    grid_b = (t, *s.grid)
    for l in range(model.num_layers):
        a = mae.blocks[model.start_a + l](a)
        j = model.start_b + l
        m = vt.resblocks[j](m)
        clip = m.reshape(b, t, *m.shape[1:])                                   # [B, T, 1 + g*g, C]
        new_a, new_m = a, m
        if model.to_mae is not None:
            ctx = a if model.context == "self" else resample_tokens(clip[:, :, 1:].flatten(1, 2), grid_b, model.grid_a)
            new_a = _ref_cma(model.to_mae[l], a, ctx)
        if model.to_mm is not None:
            q = clip.flatten(1, 2)
            ctx = q if model.context == "self" else resample_tokens(a, model.grid_a, grid_b)
            new_m = _ref_cma(model.to_mm[l], q, ctx).reshape(b * t, *m.shape[1:])
        a, m = new_a, new_m
        query = model._mm_temporal(j, m, query, t, s.grid)
    feat_a = mae.fc_norm(mae.norm(a).mean(1))
    sb = torch.sigmoid(vt.balance)
    feat_b = mm.visual_ln_post((1 - sb) * query[:, 0] + sb * m[:, 0].reshape(b, t, -1).mean(1)) @ mm.visual_proj
    feat = torch.cat([feat_a, feat_b], -1)
    norm, linear = model.head
    return linear(F.layer_norm(feat, feat.shape[-1:], norm.weight, norm.bias, norm.eps))


@pytest.mark.parametrize("directions, context", [("both", "other"), ("to_mae", "other"), ("to_mm", "other"),
                                                 ("both", "self")])
def test_with_open_gates_the_model_equals_the_step_by_step_reference(directions, context):
    mae, mm = _encoders()
    model = ModelInteraction(mae, mm, num_classes=4, num_layers=2, directions=directions, context=context).eval()
    assert (model.to_mae is None) == (directions == "to_mm") and (model.to_mm is None) == (directions == "to_mae")
    new = [n for n, p in model.named_parameters() if p.requires_grad]
    assert model.trainable_parameters() == sum(p.numel() for n, p in model.named_parameters() if n in new)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.requires_grad:                                              # gates, CMA weights, head LayerNorm too
                p.add_(0.3 * torch.randn_like(p))
        x_a, x_b = _inputs()
        torch.testing.assert_close(model(x_a, x_b), _ref_logits(model, x_a, x_b), atol=1e-5, rtol=1e-5)


def test_the_defaults_are_two_layers_in_both_directions_with_cross_model_context():
    mae, mm = _encoders()
    model = ModelInteraction(mae, mm, num_classes=3)
    assert model.num_layers == 2 and model.directions == "both" and model.context == "other"
    assert len(model.to_mae) == 2 and len(model.to_mm) == 2
    assert (model.start_a, model.start_b) == (1, 1)
    assert model.to_mae[0].norm_kv.normalized_shape == (32,) and model.to_mm[0].norm_kv.normalized_shape == (48,)
    own = ModelInteraction(mae, mm, num_classes=3, context="self")
    assert own.to_mae[0].norm_kv.normalized_shape == (48,) and own.to_mm[0].norm_kv.normalized_shape == (32,)
