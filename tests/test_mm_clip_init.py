"""Initialising InternVideo-MM from OpenAI-CLIP-layout weights.

A small CLIP is written here independently (``nn.MultiheadAttention``, sequence-first tensors, additive
causal mask, as OpenAI's code) with random weights; its state dict is the init source.
"""
from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from internvideo_core.checkpoint import CheckpointError
from internvideo_core.convert.mm import init_from_clip_state_dict
from internvideo_core.registry import create_model
from internvideo_core.text import tokenize

W, LAYERS, HEADS, PATCH, RES, EMBED = 32, 3, 2, 8, 32, 16
TW, TLAYERS, THEADS, CTX = 32, 2, 2, 77
FRAMES = 4
OVERRIDES = dict(vision_width=W, vision_layers=LAYERS, vision_heads=HEADS, vision_patch_size=PATCH,
                 input_resolution=RES, num_frames=FRAMES, temporal_layers=(1, 2), temporal_heads=2,
                 temporal_mlp_dropout=0.5, text_width=TW, text_layers=TLAYERS, text_heads=THEADS,
                 context_length=CTX, embed_dim=EMBED)


class _Block(nn.Module):
    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d, h)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict(c_fc=nn.Linear(d, 4 * d), gelu=nn.GELU(), c_proj=nn.Linear(4 * d, d)))
        self.ln_2 = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        h = self.mlp.c_fc(self.ln_2(x))
        return x + self.mlp.c_proj(h * torch.sigmoid(1.702 * h))  # QuickGELU


class _Stack(nn.Module):
    def __init__(self, d: int, layers: int, h: int) -> None:
        super().__init__()
        self.resblocks = nn.Sequential(*[_Block(d, h) for _ in range(layers)])

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, mask)
        return x


class _Visual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, W, PATCH, PATCH, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(W))
        self.positional_embedding = nn.Parameter(torch.randn((RES // PATCH) ** 2 + 1, W))
        self.ln_pre = nn.LayerNorm(W)
        self.transformer = _Stack(W, LAYERS, HEADS)
        self.ln_post = nn.LayerNorm(W)
        self.proj = nn.Parameter(torch.randn(W, EMBED))

    def class_token(self, image: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]`` -> the class token after the last block ``[B, W]`` (before ln_post)."""
        x = self.conv1(image).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, -1), x], 1) + self.positional_embedding
        x = self.transformer(self.ln_pre(x).transpose(0, 1)).transpose(0, 1)
        return x[:, 0]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.ln_post(self.class_token(image)) @ self.proj


class _ClipReference(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.visual = _Visual()
        self.token_embedding = nn.Embedding(49408, TW)
        self.positional_embedding = nn.Parameter(torch.randn(CTX, TW))
        self.transformer = _Stack(TW, TLAYERS, THEADS)
        self.ln_final = nn.LayerNorm(TW)
        self.text_projection = nn.Parameter(torch.randn(TW, EMBED))
        self.logit_scale = nn.Parameter(torch.tensor(3.2))

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = torch.full((CTX, CTX), float("-inf")).triu_(1)
        x = (self.token_embedding(tokens) + self.positional_embedding).transpose(0, 1)
        x = self.ln_final(self.transformer(x, mask).transpose(0, 1))
        return x[torch.arange(x.shape[0]), tokens.argmax(-1)] @ self.text_projection


@pytest.fixture(scope="module")
def clip() -> _ClipReference:
    torch.manual_seed(0)
    ref = _ClipReference().eval()
    with torch.no_grad():
        for name, p in ref.named_parameters():
            if name != "logit_scale":  # every weight random, LayerNorm gains/biases included
                p.copy_(torch.randn_like(p) * (0.3 if p.dim() > 1 else 0.5) + (1.0 if name.endswith("ln_1.weight") else 0))
    return ref


@pytest.fixture()
def model(clip):
    torch.manual_seed(1)
    m = create_model("internvideo_mm_tiny_synth", **OVERRIDES)
    m.load_report = init_from_clip_state_dict(m, clip.state_dict())
    return m.eval()


def test_report(model, clip):
    report = model.load_report
    sd = clip.state_dict()
    assert not report.ignored
    assert report.converted == len(sd)
    own = model.state_dict()
    temporal = {k for k in own if k.startswith(("visual.transformer.dpe.", "visual.transformer.dec."))}
    temporal |= {"visual.transformer.temporal_cls_token", "visual.transformer.balance"}
    assert set(report.initialized) == temporal | {"text_mask_embedding"}
    assert own["visual.conv1.weight"].shape == (W, 3, 1, PATCH, PATCH)
    assert torch.equal(own["visual.conv1.weight"][:, :, 0], sd["visual.conv1.weight"])
    assert torch.equal(own["visual_proj"], sd["visual.proj"])
    assert torch.equal(own["visual_ln_post.weight"], sd["visual.ln_post.weight"])
    assert torch.equal(own["logit_scale"], sd["logit_scale"])


def test_static_clip_embeds_like_its_frame(model, clip):
    torch.manual_seed(2)
    image = torch.randn(3, 3, RES, RES)
    video = image.unsqueeze(2).expand(-1, -1, FRAMES, -1, -1)
    with torch.no_grad():
        feats = model.visual(video)
        cls = clip.visual.class_token(image)
        torch.testing.assert_close(feats, 0.5 * cls, atol=1e-5, rtol=1e-5)  # exact: s = sigmoid(0) = 0.5
        ours, ref = model.encode_video(video), clip.visual(image)
    # visual_ln_post(0.5 c) == ln_post(c) up to LayerNorm's eps
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-3)
    assert torch.nn.functional.cosine_similarity(ours, ref).min() > 1 - 1e-6


def test_temporal_modules_start_at_zero_output(model, clip):
    torch.manual_seed(3)
    video = torch.randn(2, 3, FRAMES, RES, RES)  # not static: frames differ
    seen = []
    hooks = [dec.register_forward_hook(lambda mod, args, out: seen.append((args[0], out)))
             for dec in model.visual.transformer.dec]
    try:
        with torch.no_grad():
            feats = model.visual(video)
    finally:
        for h in hooks:
            h.remove()
    assert len(seen) == 2
    for query, out in seen:
        assert torch.count_nonzero(query) == 0 and torch.count_nonzero(out) == 0
    with torch.no_grad():
        per_frame = torch.stack([clip.visual.class_token(video[:, :, t]) for t in range(FRAMES)], 1)
    torch.testing.assert_close(feats, 0.5 * per_frame.mean(1), atol=1e-5, rtol=1e-5)


def test_text_tower_is_clip(model, clip):
    tokens = tokenize(["a dog is chasing a ball", "", "numbers 1234567 and 3.14159"])
    with torch.no_grad():
        torch.testing.assert_close(model.encode_text(tokens), clip.encode_text(tokens), atol=1e-4, rtol=1e-4)


def test_create_model_from_a_clip_file(clip, model, tmp_path):
    path = tmp_path / "clip_tiny.pt"
    torch.save(clip.state_dict(), path)
    loaded = create_model("internvideo_mm_tiny_synth", checkpoint_path=str(path), **OVERRIDES)
    assert any("OpenAI-CLIP" in n for n in loaded.load_report.notes)
    assert "visual.transformer.balance" in loaded.load_report.initialized
    video = torch.randn(1, 3, FRAMES, RES, RES)
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode_video(video), model.encode_video(video))


def test_wrong_width_is_a_clear_error(clip):
    m = create_model("internvideo_mm_tiny_synth", **(OVERRIDES | {"vision_width": 48, "temporal_heads": 2}))
    with pytest.raises(CheckpointError, match="internvideo_mm_b16"):
        init_from_clip_state_dict(m, clip.state_dict())


def test_positions_resized_for_another_resolution(clip):
    m = create_model("internvideo_mm_tiny_synth", **(OVERRIDES | {"input_resolution": 64}))
    report = init_from_clip_state_dict(m, clip.state_dict())
    assert "visual.positional_embedding" in report.resized
    pos = m.visual.positional_embedding
    assert pos.shape == ((64 // PATCH) ** 2 + 1, W)
    assert torch.equal(pos[0], clip.visual.positional_embedding[0].detach())
