"""The navigation policy (models/nav_policy.py) against a reference written from its docstring: the CLIP-style
instruction encoder, the instruction-to-clip attention, the fused step input, the GRU over an episode with padded
steps; its defaults and initialisation. No environment needed (random clips and token ids)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from internvideo_core.models.nav_policy import InstructionEncoder, NavPolicyConfig, VideoNavPolicy

pytestmark = pytest.mark.usefixtures("one_thread")

CFG = NavPolicyConfig(context_length=6, text_width=16, text_layers=1, text_heads=2, hidden=12, num_actions=4,
                      fusion_heads=2, vocab_size=40, freeze_token_embedding=False)


def _policy(cfg: NavPolicyConfig = CFG, **enc) -> VideoNavPolicy:
    from internvideo_core.registry import create_model

    torch.manual_seed(0)
    encoder = create_model("videomae_vit_tiny_synth", **({"img_size": 16, "patch_size": 8, "num_frames": 2,
                                                           "tubelet_size": 2, "embed_dim": 16, "depth": 1,
                                                           "num_heads": 2, "num_classes": 0} | enc))
    policy = VideoNavPolicy(encoder, cfg)
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return policy.eval()


def _ref_attention(q_in, kv_in, mha: nn.MultiheadAttention) -> torch.Tensor:
    d, h = q_in.shape[-1], mha.num_heads
    w, b = mha.in_proj_weight, mha.in_proj_bias
    q, k, v = q_in @ w[:d].T + b[:d], kv_in @ w[d:2 * d].T + b[d:2 * d], kv_in @ w[2 * d:].T + b[2 * d:]
    hd = d // h
    heads = [(q[..., i * hd:(i + 1) * hd] @ k[..., i * hd:(i + 1) * hd].transpose(-1, -2) / math.sqrt(hd)).softmax(-1)
             @ v[..., i * hd:(i + 1) * hd] for i in range(h)]
    return mha.out_proj(torch.cat(heads, -1))


def _ref_text(enc: InstructionEncoder, tokens: torch.Tensor) -> torch.Tensor:
    rows = []
    for row in tokens:
        x = enc.token_embedding.weight[row] + enc.positional_embedding[:len(row)]
        n = len(row)
        for block in enc.transformer.resblocks:                       # causal CLIP blocks
            y = block.ln_1(x)
            a = block.attn
            d = y.shape[-1]
            q, k, v = (y @ a.in_proj_weight[i * d:(i + 1) * d].T + a.in_proj_bias[i * d:(i + 1) * d] for i in range(3))
            hd = d // a.num_heads
            causal = torch.ones(n, n, dtype=torch.bool).triu(1)
            heads = [(q[:, i * hd:(i + 1) * hd] @ k[:, i * hd:(i + 1) * hd].T / math.sqrt(hd)).masked_fill(
                causal, float("-inf")).softmax(-1) @ v[:, i * hd:(i + 1) * hd] for i in range(a.num_heads)]
            x = x + a.out_proj(torch.cat(heads, -1))
            hmid = block.mlp.c_fc(block.ln_2(x))
            x = x + block.mlp.c_proj(hmid * torch.sigmoid(1.702 * hmid))
        rows.append(enc.text_projection.weight @ enc.ln_final(x[int(row.argmax())]))
    return torch.stack(rows)


def _ref_observe(policy: VideoNavPolicy, clips: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    tokens = policy.encoder.forward_tokens(clips)
    enc = policy.encoder
    pooled = enc.fc_norm(tokens.mean(1)) if enc.fc_norm is not None else tokens[:, 0]
    attended = _ref_attention(text[:, None], tokens, policy.fusion)[:, 0]
    fused = torch.cat([policy.fusion_norm(attended), pooled, text], -1)
    return F.gelu(policy.proj[0](fused))


TOKENS = torch.tensor([[3, 7, 39, 0, 0, 0], [5, 39, 0, 0, 0, 0]])          # 39 = the largest id (EOT)


def test_the_instruction_encoder_equals_the_causal_reference():
    policy = _policy()
    with torch.no_grad():
        torch.testing.assert_close(policy.encode_text(TOKENS), _ref_text(policy.text, TOKENS), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(policy.encode_text(TOKENS[:, :3]), policy.encode_text(TOKENS), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("mean_pooling", [True, False])
def test_a_step_equals_the_reference_and_carries_the_gru_state(mean_pooling):
    policy = _policy(use_mean_pooling=mean_pooling)
    clips = torch.randn(2, 3, 3, 2, 16, 16, generator=torch.Generator().manual_seed(1))   # [B, L, 3, T, H, W]
    with torch.no_grad():
        text = policy.encode_text(TOKENS)
        h = torch.zeros(2, 12)
        out, h_seq = [], None
        for t in range(3):
            x = _ref_observe(policy, clips[:, t], text)
            torch.testing.assert_close(policy.observe(clips[:, t], text), x, atol=1e-5, rtol=1e-5)
            w_ih, w_hh, b_ih, b_hh = (policy.gru.weight_ih_l0, policy.gru.weight_hh_l0, policy.gru.bias_ih_l0,
                                      policy.gru.bias_hh_l0)
            gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
            r = torch.sigmoid(gi[:, :12] + gh[:, :12])
            z = torch.sigmoid(gi[:, 12:24] + gh[:, 12:24])
            n = torch.tanh(gi[:, 24:] + r * gh[:, 24:])
            h = (1 - z) * n + z * h
            out.append(policy.head(h))
            logits, h_seq = policy.step(clips[:, t], text, h_seq)
            assert h_seq.shape == (2, 12)
            torch.testing.assert_close(logits, out[-1], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(h_seq, h, atol=1e-5, rtol=1e-5)
        episode = policy(clips, TOKENS)
    assert episode.shape == (2, 3, 4)
    torch.testing.assert_close(episode, torch.stack(out, 1), atol=1e-5, rtol=1e-5)


def test_padded_steps_are_not_encoded_and_leave_the_earlier_steps_alone():
    policy = _policy()
    clips = torch.randn(2, 3, 3, 2, 16, 16, generator=torch.Generator().manual_seed(2))
    valid = torch.tensor([[True, True, True], [True, False, False]])
    seen = []
    hook = policy.encoder.patch_embed.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape[0]))
    with torch.no_grad():
        logits = policy(clips, TOKENS, valid)
        alone = policy(clips[1:, :1], TOKENS[1:])
        garbage = clips.clone()
        garbage[1, 1:] = 1e3
        again = policy(garbage, TOKENS, valid)
    hook.remove()
    assert seen[0] == 4                                                   # only the 4 valid clips
    torch.testing.assert_close(logits[1, 0], alone[0, 0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(again, logits)
    # a padded step feeds zeros to the GRU: its logits are those of a zero input after the last real step
    with torch.no_grad():
        _, h = policy.step(clips[1:, 0], policy.encode_text(TOKENS[1:]))
        out, _ = policy.gru(torch.zeros(1, 1, 12), h[None])
    torch.testing.assert_close(logits[1, 1], policy.head(out[0, 0]), atol=1e-5, rtol=1e-5)


def test_the_defaults_and_the_initialisation():
    c = NavPolicyConfig()
    assert (c.context_length, c.text_width, c.text_layers, c.text_heads, c.hidden, c.num_actions, c.fusion_heads,
            c.vocab_size, c.freeze_token_embedding) == (16, 64, 1, 2, 128, 3, 2, 49408, True)
    torch.manual_seed(0)
    enc = InstructionEncoder(NavPolicyConfig(context_length=200, text_width=128, vocab_size=300), out_dim=24)
    assert not enc.token_embedding.weight.requires_grad
    assert enc.token_embedding.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert enc.positional_embedding.std().item() == pytest.approx(0.01, rel=0.05)
    assert enc.text_projection.bias is None and enc.text_projection.weight.shape == (24, 128)
    assert len(enc.transformer.resblocks) == 1 and enc.transformer.resblocks[0].attn.num_heads == 2
    assert enc.positional_embedding.shape == (200, 128)
    assert InstructionEncoder(CFG, 8).token_embedding.weight.requires_grad
    policy = _policy(NavPolicyConfig(vocab_size=40))
    assert policy.cfg.hidden == 128 and policy.head.out_features == 3 and policy.fusion.num_heads == 2
    assert policy.gru.hidden_size == 128 and policy.proj[0].in_features == 3 * 16
    assert policy.fusion.batch_first
