"""InternVideo-MM (models/mm.py, mm_video.py, mm_text.py) against step-by-step references written from the
docstrings (plain softmax attention, explicit loops over frames, temporal modules and text positions), on what the
official fixture does not cover: other temporal-module placements and frame sizes, masked words, rows of other
lengths; the options (stochastic depth, dropout, gradient checkpointing), the official initialisation, the
configuration of the released B/16 and the error messages."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from internvideo_core.models.mm import InternVideoMM, MMConfig, build_internvideo_mm
from internvideo_core.models.mm_text import TextTransformer
from internvideo_core.models.mm_video import (Attention, Extractor, ResidualAttentionBlock, VideoTower,
                                              VideoTransformer)

pytestmark = pytest.mark.usefixtures("one_thread")


# ----------------------------------------------------------------------------------------------- reference
def _ref_attention(attn: Attention, x: torch.Tensor, context: torch.Tensor | None = None,
                   causal: bool = False) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v per head, q/k/v from the stacked ``in_proj`` rows, then ``out_proj``."""
    w, b, c = attn.in_proj_weight, attn.in_proj_bias, x.shape[-1]
    ctx = x if context is None else context
    q, k, v = x @ w[:c].T + b[:c], ctx @ w[c:2 * c].T + b[c:2 * c], ctx @ w[2 * c:].T + b[2 * c:]
    h, d = attn.num_heads, c // attn.num_heads
    outs = []
    for i in range(h):
        qi, ki, vi = (t[..., i * d:(i + 1) * d] for t in (q, k, v))
        scores = qi @ ki.transpose(-1, -2) / math.sqrt(d)
        if causal:
            n = scores.shape[-1]
            scores = scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
        outs.append(scores.softmax(-1) @ vi)
    return attn.out_proj(torch.cat(outs, -1))


def _ref_mlp(mlp: nn.Module, x: torch.Tensor) -> torch.Tensor:
    h = mlp.c_fc(x)
    return mlp.c_proj(h * torch.sigmoid(1.702 * h))


def _ref_block(block: ResidualAttentionBlock, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
    x = x + _ref_attention(block.attn, block.ln_1(x), causal=causal)
    return x + _ref_mlp(block.mlp, block.ln_2(x))


def _ref_tower(tower: VideoTower, video: torch.Tensor, trained_grid: int) -> torch.Tensor:
    """The module docstring's four steps, one clip and one frame at a time."""
    vt = tower.transformer
    p = tower.patch_size
    feats = []
    for clip in video:                                                   # [3, T, H, W]
        t_len, gh, gw = clip.shape[1], clip.shape[2] // p, clip.shape[3] // p
        pos = tower.positional_embedding
        if (gh, gw) != (trained_grid, trained_grid):
            table = pos[1:].reshape(trained_grid, trained_grid, -1).permute(2, 0, 1)[None]
            table = F.interpolate(table, size=(gh, gw), mode="bicubic", align_corners=False)[0]
            pos = torch.cat([pos[:1], table.permute(1, 2, 0).reshape(gh * gw, -1)])
        frames = []
        for t in range(t_len):
            patches = F.conv2d(clip[:, t][None], tower.conv1.weight[:, :, 0], stride=p)[0]   # [C, gh, gw]
            tokens = torch.cat([tower.class_embedding[None], patches.flatten(1).T]) + pos
            frames.append(tower.ln_pre(tokens))
        query = vt.temporal_cls_token[0]                                 # [1, C]
        k = 0
        for i, block in enumerate(vt.resblocks):
            frames = [_ref_block(block, f[None])[0] for f in frames]
            if i in vt.temporal_layers:
                grid = torch.stack([f[1:].T.reshape(-1, gh, gw) for f in frames], 1)      # [C, T, gh, gw]
                moved = vt.dpe[k](grid[None])[0]
                tokens = torch.cat([torch.cat([f[:1], f[1:] + moved[:, t].flatten(1).T]) for t, f in enumerate(frames)])
                dec = vt.dec[k]
                query = query + _ref_attention(dec.attn, dec.ln_1(query[None]), dec.ln_3(tokens[None]))[0]
                query = query + _ref_mlp(dec.mlp, dec.ln_2(query))
                k += 1
        s = torch.sigmoid(vt.balance)
        feats.append((1 - s) * query[0] + s * torch.stack([f[0] for f in frames]).mean(0))
    return torch.stack(feats)


def _tower(temporal_layers, layers: int = 3, width: int = 16, res: int = 24, patch: int = 8, **kw) -> VideoTower:
    torch.manual_seed(0)
    tower = VideoTower(res, patch, width, layers, 2, temporal_layers, 2, **kw)
    with torch.no_grad():  # non-trivial temporal modules and LayerNorms (the official init zeroes the former)
        for p in tower.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return tower.eval()


@pytest.mark.parametrize("temporal_layers, size", [((0,), (24, 24)), ((0, 1, 2), (24, 24)), ((1,), (16, 32)),
                                                   (2, (24, 24))])
def test_video_tower_equals_the_step_by_step_reference(temporal_layers, size):
    """Temporal modules before the last block, three of them (each its own module), a frame size other than
    the trained one (bicubic-resized positions, non-square) and the int form (the last n blocks)."""
    tower = _tower(temporal_layers)
    video = torch.randn(2, 3, 3, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(tower(video), _ref_tower(tower, video, trained_grid=3), atol=1e-5, rtol=1e-5)


def test_every_temporal_module_reaches_the_output():
    tower = _tower((0, 1, 2))
    video = torch.randn(1, 3, 2, 24, 24, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = tower(video)
        for k in range(3):
            saved = tower.transformer.dec[k].mlp.c_proj.bias.clone()
            tower.transformer.dec[k].mlp.c_proj.bias.add_(1.0)
            assert not torch.allclose(tower(video), ref), f"dec[{k}] is not used"
            tower.transformer.dec[k].mlp.c_proj.bias.copy_(saved)


def test_causal_attention_and_the_block_match_the_reference():
    torch.manual_seed(0)
    block = ResidualAttentionBlock(12, 3).eval()
    x = torch.randn(2, 5, 12)
    with torch.no_grad():
        torch.testing.assert_close(block(x, causal=True), _ref_block(block, x, causal=True), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(block(x), _ref_block(block, x), atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------------------ options
def _drop_prob(module: nn.Module) -> float:
    return getattr(module, "drop_prob", 0.0)  # nn.Identity when the rate is 0


def test_stochastic_depth_rises_linearly_over_the_blocks_and_over_the_temporal_modules():
    tower = VideoTower(16, 8, 16, 4, 2, (1, 2, 3), 2, drop_path_rate=0.3)
    assert [_drop_prob(b.drop_path) for b in tower.transformer.resblocks] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert [_drop_prob(d.drop_path) for d in tower.transformer.dec] == pytest.approx([0.0, 0.15, 0.3])
    two = VideoTower(16, 8, 16, 2, 2, 2, 2, drop_path_rate=0.3)
    assert [_drop_prob(b.drop_path) for b in two.transformer.resblocks] == pytest.approx([0.0, 0.3])
    assert [_drop_prob(d.drop_path) for d in two.transformer.dec] == pytest.approx([0.0, 0.3])
    one = VideoTower(16, 8, 16, 1, 2, 1, 2, drop_path_rate=0.3)
    assert _drop_prob(one.transformer.resblocks[0].drop_path) == 0.0
    assert _drop_prob(one.transformer.dec[0].drop_path) == 0.0


def test_drop_path_makes_a_block_stochastic_in_training_only():
    torch.manual_seed(0)
    block = ResidualAttentionBlock(8, 2, drop_path=0.5)
    plain = ResidualAttentionBlock(8, 2)
    plain.load_state_dict(block.state_dict())
    x = torch.randn(64, 3, 8)
    block.train()
    a, b = block(x), block(x)
    assert not torch.equal(a, b)
    block.eval()
    torch.testing.assert_close(block(x), plain.eval()(x))


def test_the_extractor_mlp_dropout_is_the_configured_temporal_mlp_dropout():
    tower = VideoTower(16, 8, 16, 2, 2, (0, 1), 2, temporal_mlp_dropout=0.5, temporal_mlp_ratio=2.0)
    for dec in tower.transformer.dec:
        kinds = [type(m).__name__ for m in dec.mlp]
        assert kinds == ["Linear", "QuickGELU", "Dropout", "Linear"]           # after the activation
        assert dec.mlp[2].p == 0.5 and dec.mlp.c_fc.out_features == 32


def _train_equals_eval(module: nn.Module, *inputs: torch.Tensor) -> bool:
    with torch.no_grad():
        module.train()
        a = module(*inputs)
        module.eval()
        return torch.equal(a, module(*inputs))


def test_by_default_nothing_is_random_in_training_and_the_mlps_are_four_times_wider():
    """Defaults: no dropout, no stochastic depth (training computes what evaluation does), MLP ratio 4, no
    gradient checkpointing, a bias-free patch stem."""
    torch.manual_seed(0)
    tower = VideoTower(16, 8, 16, 2, 2, (0, 1), 2)
    with torch.no_grad():
        for p in tower.parameters():
            p.add_(0.2 * torch.randn_like(p))
    assert _train_equals_eval(tower, torch.randn(4, 3, 2, 16, 16))
    assert tower.transformer.dec[0].mlp.c_fc.out_features == 64 and tower.transformer.grad_checkpointing is False
    ext = Extractor(8, 2)
    with torch.no_grad():
        for p in ext.parameters():
            p.add_(0.2 * torch.randn_like(p))
    assert ext.mlp.c_fc.out_features == 32
    assert _train_equals_eval(ext, torch.randn(16, 1, 8), torch.randn(16, 5, 8))
    block = ResidualAttentionBlock(8, 2)
    assert block.mlp.c_fc.out_features == 32 and _train_equals_eval(block, torch.randn(16, 5, 8))
    assert tower.conv1.bias is None


def _block_calls(tower: VideoTower, train: bool, grad: bool) -> int:
    calls = []
    hooks = [b.register_forward_pre_hook(lambda *a: calls.append(1)) for b in tower.transformer.resblocks]
    tower.train(train)
    video = torch.randn(1, 3, 2, 16, 16)
    try:
        with torch.set_grad_enabled(grad):
            out = tower(video)
            if grad:
                out.sum().backward()
    finally:
        for h in hooks:
            h.remove()
    return len(calls)


@pytest.mark.parametrize("checkpointing", [False, True])
def test_gradient_checkpointing_recomputes_the_blocks_only_in_training_with_gradients(checkpointing):
    torch.manual_seed(0)
    tower = VideoTower(16, 8, 16, 2, 2, (1,), 2, grad_checkpointing=checkpointing)
    assert tower.transformer.grad_checkpointing is checkpointing
    assert _block_calls(tower, train=True, grad=True) == (4 if checkpointing else 2)  # recomputed in backward
    assert _block_calls(tower, train=False, grad=True) == 2
    assert _block_calls(tower, train=True, grad=False) == 2
    default = VideoTower(16, 8, 16, 2, 2, (1,), 2)
    assert _block_calls(default, train=True, grad=True) == 2


def test_with_a_frozen_stem_checkpointed_blocks_still_get_the_gradients_of_plain_blocks():
    """Fine-tuning only the upper layers: the blocks' input does not require grad, which a reentrant checkpoint
    would silently turn into no gradients at all for the checkpointed blocks."""
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        tower = VideoTower(16, 8, 16, 2, 2, (1,), 2, grad_checkpointing=checkpointing).train()
        for p in (tower.conv1.weight, tower.class_embedding, tower.positional_embedding, *tower.ln_pre.parameters()):
            p.requires_grad_(False)
        tower(torch.randn(2, 3, 2, 16, 16, generator=torch.Generator().manual_seed(1))).square().sum().backward()
        grads.append([b.attn.in_proj_weight.grad for b in tower.transformer.resblocks])
    assert all(g is not None for g in grads[1])
    for plain, ckpt in zip(*grads):
        torch.testing.assert_close(ckpt, plain)


class _WithGrid(nn.Module):
    """A VideoTransformer called with fixed ``num_frames`` and ``grid`` (so it takes one input)."""

    def __init__(self, vt: VideoTransformer, frames: int, grid: tuple[int, int]) -> None:
        super().__init__()
        self.vt, self.frames, self.grid = vt, frames, grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.vt(x, self.frames, self.grid)


def test_the_video_transformer_built_alone_has_the_same_defaults():
    vt = VideoTransformer(16, 2, 2, (0, 1), 2)
    assert vt.dec[0].mlp.c_fc.out_features == 64 and vt.grad_checkpointing is False
    with torch.no_grad():
        for p in vt.parameters():
            p.add_(0.2 * torch.randn_like(p))
    x = torch.randn(2 * 2, 1 + 4, 16)
    assert _train_equals_eval(_WithGrid(vt, 2, (2, 2)), x)


def test_the_clip_initialisation_of_the_stem_and_the_zero_bias_attention():
    torch.manual_seed(0)
    width = 256
    tower = VideoTower(160, 16, width, 1, 2, 1, 2)   # 10 x 10 grid: 101 x 256 positions
    scale = width ** -0.5
    assert tower.positional_embedding.std().item() == pytest.approx(scale, rel=0.05)
    assert tower.class_embedding.std().item() == pytest.approx(scale, rel=0.15)
    attn = Attention(64, 4)
    assert torch.count_nonzero(attn.in_proj_bias) == 0 and torch.count_nonzero(attn.out_proj.bias) == 0
    bound = math.sqrt(6 / (64 + 3 * 64))                                  # xavier_uniform on [3C, C]
    assert attn.in_proj_weight.abs().max().item() <= bound and attn.in_proj_weight.abs().max().item() > 0.9 * bound


def test_under_bfloat16_autocast_the_embedded_tokens_stay_in_the_patch_dtype():
    tower = _tower((1,), layers=2, res=16)
    seen = []
    hook = tower.ln_pre.register_forward_pre_hook(lambda mod, args: seen.append(args[0].dtype))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        tower(torch.randn(1, 3, 2, 16, 16))
        tower(torch.randn(1, 3, 2, 24, 24))   # resized positions too
    hook.remove()
    assert seen == [torch.bfloat16, torch.bfloat16]


# ------------------------------------------------------------------------------------------- errors
def test_bad_shapes_and_sizes_are_refused_with_what_was_expected():
    tower = VideoTower(16, 8, 16, 1, 2, 1, 2)
    for bad in (torch.randn(1, 3, 16, 16), torch.randn(1, 4, 2, 16, 16)):
        with pytest.raises(ValueError, match=r"expected a video batch \[B, 3, T, H, W\], got shape"):
            tower(bad)
    for h, w in ((16, 20), (20, 16)):
        with pytest.raises(ValueError, match=rf"frame size \({h}, {w}\) is not a multiple of the patch size 8"):
            tower(torch.randn(1, 3, 2, h, w))
    with pytest.raises(ValueError, match="input_resolution 20 is not a multiple of the patch size 8"):
        VideoTower(20, 8, 16, 1, 2, 1, 2)
    with pytest.raises(ValueError, match="attention width 10 is not divisible by the number of heads 3"):
        Attention(10, 3)


@pytest.mark.parametrize("layers_arg, message", [
    (3, r"temporal_layers=3: must be between 0 and vision_layers=2"),
    (-1, r"temporal_layers=-1: must be between 0 and vision_layers=2"),
    ((2,), r"temporal_layers=\[2\]: expected distinct block indices in \[0, 1\] \(vision_layers=2\)"),
    ((-1,), r"temporal_layers=\[-1\]: expected distinct block indices in \[0, 1\]"),
    ((1, 1), r"temporal_layers=\[1, 1\]: expected distinct block indices"),
])
def test_temporal_layers_out_of_range_or_repeated_are_refused(layers_arg, message):
    with pytest.raises(ValueError, match=message):
        VideoTower(16, 8, 16, 2, 2, layers_arg, 2)


def test_temporal_layers_accept_the_extremes_and_any_order():
    assert VideoTower(16, 8, 16, 2, 2, 0, 2).transformer.temporal_layers == []
    assert VideoTower(16, 8, 16, 2, 2, 2, 2).transformer.temporal_layers == [0, 1]
    assert VideoTower(16, 8, 16, 2, 2, [1, 0], 2).transformer.temporal_layers == [0, 1]


# --------------------------------------------------------------------------------- text tower, dual encoder
TINY = MMConfig(vision_width=16, vision_layers=2, vision_heads=2, vision_patch_size=8, input_resolution=16,
                num_frames=2, temporal_layers=(1,), temporal_heads=2, temporal_mlp_dropout=0.0, text_width=16,
                text_layers=2, text_heads=2, context_length=8, vocab_size=50, embed_dim=12)


def _mm(config: MMConfig = TINY) -> InternVideoMM:
    torch.manual_seed(0)
    model = InternVideoMM(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model.eval()


def _ref_text(model: InternVideoMM, tokens: torch.Tensor, masked: torch.Tensor | None = None) -> torch.Tensor:
    """One row at a time over all ``context_length`` positions: embeddings (masked words replaced), positions,
    causal CLIP blocks, ``ln_final``, the feature at the EOT (largest id), ``text_projection``."""
    out = []
    for r, row in enumerate(tokens):
        ctx = model.positional_embedding.shape[0]
        ids = torch.zeros(ctx, dtype=torch.long)
        ids[:min(len(row), ctx)] = row[:ctx]
        x = model.token_embedding.weight[ids]
        if masked is not None:
            for i in range(min(len(row), ctx)):
                if masked[r, i]:
                    x[i] = model.text_mask_embedding[0, 0]
        x = (x + model.positional_embedding)[None]
        for block in model.transformer.resblocks:
            x = _ref_block(block, x, causal=True)
        out.append(model.ln_final(x[0, int(row.argmax())]) @ model.text_projection)
    return torch.stack(out)


def test_text_embedding_equals_the_full_context_reference_and_masked_words_use_the_mask_embedding():
    model = _mm()
    tokens = torch.tensor([[49, 3, 7, 0, 0, 0], [5, 49, 0, 0, 0, 0], [4, 9, 11, 12, 13, 49]])  # 49 = EOT
    masked = torch.zeros(3, 6, dtype=torch.bool)
    masked[0, 1] = masked[2, 2] = masked[2, 4] = True
    with torch.no_grad():
        torch.testing.assert_close(model.encode_text(tokens), _ref_text(model, tokens), atol=1e-5, rtol=1e-5)
        with_mask = model.encode_text(tokens, masked_indices=masked)
        torch.testing.assert_close(with_mask, _ref_text(model, tokens, masked), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.encode_text(tokens, masked_indices=masked.long()), with_mask)
    assert not torch.allclose(with_mask[2], model.encode_text(tokens)[2])


def test_rows_reaching_exactly_the_context_length_are_accepted_and_one_further_is_refused():
    model = _mm()
    full = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 49]])                      # EOT at position 7 = context_length - 1
    wider = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 49, 0, 0]])               # padding beyond the context
    with torch.no_grad():
        torch.testing.assert_close(model.encode_text(full), _ref_text(model, full), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.encode_text(wider), model.encode_text(full))
        with pytest.raises(ValueError, match=r"tokens reach position 8 but the text tower has context_length=8; "
                                             r"tokenize with context_length=8"):
            model.encode_text(torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 49]]))
        with pytest.raises(ValueError, match=r"expected tokens \[B, L\], got shape \(8,\)"):
            model.encode_text(full[0])
        assert model.encode_text(torch.zeros(0, 8, dtype=torch.long)).shape == (0, 12)


def test_video_embedding_image_mode_and_the_logits():
    model = _mm()
    video = torch.randn(2, 3, 2, 16, 16, generator=torch.Generator().manual_seed(3))
    tokens = torch.tensor([[4, 49, 0], [7, 8, 49], [49, 0, 0]])
    with torch.no_grad():
        v = model.encode_video(video)
        torch.testing.assert_close(v, model.visual_ln_post(_ref_tower(model.visual, video, 2)) @ model.visual_proj,
                                   atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.encode_image(video[:, :, 0]), model.encode_video(video[:, :, :1]))
        per_video, per_text = model(video, tokens)
        t = model.encode_text(tokens)
    cos = F.normalize(v, dim=-1) @ F.normalize(t, dim=-1).T
    torch.testing.assert_close(per_video, model.logit_scale.exp() * cos, atol=1e-5, rtol=1e-5)
    assert torch.equal(per_text, per_video.T) and per_video.shape == (2, 3)


def test_the_clip_initialisation_of_the_dual_encoder():
    torch.manual_seed(0)
    cfg = MMConfig(vision_width=64, vision_layers=1, vision_heads=2, vision_patch_size=8, input_resolution=16,
                   temporal_layers=1, temporal_heads=2, text_width=256, text_layers=1, text_heads=2,
                   context_length=64, vocab_size=200, embed_dim=128)
    m = InternVideoMM(cfg)
    assert m.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    stds = {"token_embedding": (m.token_embedding.weight, 0.02), "positional_embedding": (m.positional_embedding, 0.01),
            "text_projection": (m.text_projection, 256 ** -0.5), "visual_proj": (m.visual_proj, 64 ** -0.5)}
    for name, (p, std) in stds.items():
        assert p.std().item() == pytest.approx(std, rel=0.05), name
        assert abs(p.mean().item()) < 0.1 * std, name
    assert m.text_mask_embedding.std().item() == pytest.approx(0.02, rel=0.15)
    assert m.text_projection.shape == (256, 128) and m.visual_proj.shape == (64, 128)
    # text blocks: CLIP's q/k/v N(0, C^-0.5), output projections N(0, C^-0.5 (2 layers)^-0.5), c_fc N(0, (2C)^-0.5)
    text = TextTransformer(256, 2, 2)
    block = text.resblocks[1]
    proj = 256 ** -0.5 * 4 ** -0.5
    assert block.attn.in_proj_weight.std().item() == pytest.approx(256 ** -0.5, rel=0.05)
    assert block.attn.out_proj.weight.std().item() == pytest.approx(proj, rel=0.05)
    assert block.mlp.c_fc.weight.std().item() == pytest.approx(512 ** -0.5, rel=0.05)
    assert block.mlp.c_proj.weight.std().item() == pytest.approx(proj, rel=0.05)
    one = TextTransformer(256, 1, 2).resblocks[0]
    assert one.attn.out_proj.weight.std().item() == pytest.approx(256 ** -0.5 * 2 ** -0.5, rel=0.05)
    assert len(TextTransformer(16, 0, 2).resblocks) == 0                # no blocks, no division by zero


def test_text_gradient_checkpointing_computes_the_same_causal_result_and_recomputes_in_training():
    torch.manual_seed(0)
    plain = TextTransformer(16, 2, 2)
    ckpt = TextTransformer(16, 2, 2, grad_checkpointing=True)
    ckpt.load_state_dict(plain.state_dict())
    assert plain.grad_checkpointing is False and ckpt.grad_checkpointing is True and ckpt.width == 16
    x = torch.randn(2, 5, 16)
    calls = []
    for b in ckpt.resblocks:
        b.register_forward_pre_hook(lambda *a: calls.append(1))
    out = ckpt.train()(x)
    torch.testing.assert_close(out, plain.train()(x))
    ref = x
    for block in plain.resblocks:
        ref = _ref_block(block, ref, causal=True)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    out.sum().backward()
    assert len(calls) == 4                                               # each block recomputed in backward
    calls.clear()
    with torch.no_grad():
        ckpt.eval()(x)
    assert len(calls) == 2
    calls.clear()
    ckpt.eval()(x).sum().backward()                                      # evaluation with gradients: no recompute
    assert len(calls) == 2
    for b in plain.resblocks:
        b.register_forward_pre_hook(lambda *a: calls.append(1))
    calls.clear()
    plain.train()(x).sum().backward()                                    # no checkpointing: no recompute
    assert len(calls) == 2


def test_weight_decay_skips_embeddings_tokens_gains_and_the_scale():
    model = InternVideoMM(TINY)
    skip = model.no_weight_decay()
    names = dict(model.named_parameters())
    assert {"logit_scale", "positional_embedding", "text_mask_embedding", "visual.class_embedding",
            "visual.positional_embedding", "visual.transformer.temporal_cls_token", "visual.transformer.balance",
            "token_embedding.weight"} <= skip
    assert {n for n, p in names.items() if p.dim() <= 1} <= skip
    decayed = set(names) - skip
    assert decayed == {n for n, p in names.items() if p.dim() >= 2} - {
        "positional_embedding", "text_mask_embedding", "visual.positional_embedding",
        "visual.transformer.temporal_cls_token", "token_embedding.weight"}
    assert "visual_proj" in decayed and "text_projection" in decayed and "visual.conv1.weight" in decayed


def test_the_default_configuration_is_the_released_b16():
    c = MMConfig()
    assert (c.vision_width, c.vision_layers, c.vision_heads, c.vision_patch_size, c.input_resolution, c.num_frames) \
        == (768, 12, 12, 16, 224, 8)
    assert (c.temporal_layers, c.temporal_heads, c.temporal_mlp_ratio, c.temporal_mlp_dropout) \
        == ((8, 9, 10, 11), 12, 4.0, 0.5)
    assert (c.text_width, c.text_layers, c.text_heads, c.context_length, c.vocab_size, c.embed_dim) \
        == (512, 12, 8, 77, 49408, 512)
    assert (c.drop_path_rate, c.grad_checkpointing, c.img_size) == (0.0, False, 224)


def test_the_builder_passes_every_option_to_the_towers():
    cfg = dataclasses.replace(TINY, temporal_layers=[0, 1], drop_path_rate=0.2, grad_checkpointing=True,
                              temporal_mlp_dropout=0.25, temporal_mlp_ratio=2.0, input_resolution=24)
    model = build_internvideo_mm(cfg)
    assert model.config.temporal_layers == (0, 1) and isinstance(model, InternVideoMM)
    vt = model.visual.transformer
    assert vt.temporal_layers == [0, 1] and vt.grad_checkpointing and model.transformer.grad_checkpointing
    assert [_drop_prob(b.drop_path) for b in vt.resblocks] == pytest.approx([0.0, 0.2])
    assert [_drop_prob(d.drop_path) for d in vt.dec] == pytest.approx([0.0, 0.2])
    assert vt.dec[0].mlp[2].p == 0.25 and vt.dec[0].mlp.c_fc.out_features == 32
    assert model.visual.grid == 3 and model.visual.patch_size == 8
    assert build_internvideo_mm(dataclasses.replace(TINY, temporal_layers=1)).visual.transformer.temporal_layers == [1]
