"""The task heads against hand-written references on tiny inputs: the QA head's fusion (pooled, masked mean,
one-query cross-attention), its defaults and refusals; evidence functions on their clamp edges; the evidential
head, the wrapper's layer ids and weight-decay names; the annealing coefficient and the EDL loss variants (fast;
the learning checks are in tests/test_qa_head.py and tests/test_openset.py)."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from internvideo_core.models.heads import (EvidentialClassifier, EvidentialHead, VideoQAHead, edl_annealing_coef,
                                           evidence, evidential_loss)

pytestmark = pytest.mark.usefixtures("one_thread")


def _fused(head: VideoQAHead, v: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return head.classifier(torch.cat([v, q, v * q], dim=-1))


# ------------------------------------------------------------------------------------------------ QA head
def test_qa_head_defaults_and_layout():
    head = VideoQAHead(12, 10, 7)
    assert head.fusion == "mlp" and head.num_heads == 4 and head.num_answers == 7
    assert head.video_proj[0].normalized_shape == (12,) and head.video_proj[1].out_features == 256
    assert head.question_proj[0].normalized_shape == (10,) and head.question_proj[1].out_features == 256
    assert not hasattr(head, "attn_q")
    cls = head.classifier
    assert [type(m) for m in cls] == [nn.Linear, nn.GELU, nn.LayerNorm, nn.Dropout, nn.Linear]
    assert cls[0].in_features == 3 * 256 and cls[0].out_features == 256 and cls[2].normalized_shape == (256,)
    assert cls[3].p == 0.1 and cls[4].out_features == 7
    att = VideoQAHead(12, 10, 1, hidden=8, fusion="attention", num_heads=2)  # one answer is allowed
    assert (att.attn_q.in_features, att.attn_q.out_features) == (8, 8)
    assert (att.attn_kv.in_features, att.attn_kv.out_features) == (8, 16)
    assert (att.attn_out.in_features, att.attn_out.out_features) == (8, 8)
    assert VideoQAHead(12, 10, 7, hidden=10, num_heads=4).classifier[0].out_features == 10  # heads unused by mlp


def test_qa_head_refusals_say_what_was_expected():
    with pytest.raises(ValueError, match=r"^fusion must be 'mlp' or 'attention', got 'concat'$"):
        VideoQAHead(12, 10, 7, fusion="concat")
    with pytest.raises(ValueError, match=r"^num_answers must be >= 1, got 0$"):
        VideoQAHead(12, 10, 0)
    with pytest.raises(ValueError, match=r"^hidden=10 is not divisible by num_heads=4$"):
        VideoQAHead(12, 10, 7, hidden=10, fusion="attention", num_heads=4)
    head = VideoQAHead(12, 10, 7, hidden=16)
    with pytest.raises(ValueError, match=r"^expected question features \[B, Dq\], got shape \(5, 2, 10\)$"):
        head(torch.randn(5, 12), torch.randn(5, 2, 10))
    msg = r"^expected video features \[B, Dv\] or \[B, N, Dv\] with B=5, got {}$"
    with pytest.raises(ValueError, match=msg.format(r"\(4, 12\)")):
        head(torch.randn(4, 12), torch.randn(5, 10))
    with pytest.raises(ValueError, match=msg.format(r"\(5, 1, 2, 12\)")):
        head(torch.randn(5, 1, 2, 12), torch.randn(5, 10))
    with pytest.raises(ValueError, match=msg.format(r"\(5,\)")):
        head(torch.randn(5), torch.randn(5, 10))


def test_mlp_fusion_pools_tokens_by_mean_or_masked_mean(randomise):
    head = randomise(VideoQAHead(6, 4, 3, hidden=8, dropout=0.0)).eval()
    g = torch.Generator().manual_seed(1)
    video, q = torch.randn(3, 5, 6, generator=g), torch.randn(3, 4, generator=g)
    qp = head.question_proj(q)
    torch.testing.assert_close(head(video[:, 0], q), _fused(head, head.video_proj(video[:, 0]), qp))
    torch.testing.assert_close(head(video, q), _fused(head, head.video_proj(video.mean(1)), qp))
    # masked mean: row 0 keeps tokens 0 and 3, row 1 keeps one token, row 2 none (the mean of nothing is 0);
    # small features (variance under the LayerNorm's eps), where a sum instead of the mean shows through the norm
    mask = torch.tensor([[1, 0, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]])
    small = video * 1e-3
    pooled = torch.stack([(small[0, 0] + small[0, 3]) / 2, small[1, 2], torch.zeros(6)])
    torch.testing.assert_close(head(small, q, mask), _fused(head, head.video_proj(pooled), qp))
    torch.testing.assert_close(head(small, q, mask.bool()), head(small, q, mask))


def _reference_attention(head: VideoQAHead, q: torch.Tensor, tokens: torch.Tensor,
                         mask: torch.Tensor | None) -> torch.Tensor:
    """One query per sample, heads as consecutive chunks of ``d``; keys = first half of ``attn_kv``."""
    b, n, h = tokens.shape
    d = h // head.num_heads
    query, kv = head.attn_q(q), head.attn_kv(tokens)
    key, val = kv[..., :h], kv[..., h:]
    outs = []
    for i in range(head.num_heads):
        sl = slice(i * d, (i + 1) * d)
        scores = (key[..., sl] @ query[:, sl, None]).squeeze(-1) / math.sqrt(d)  # [B, N]
        if mask is not None:
            scores = scores.masked_fill(~mask.bool(), float("-inf"))
        outs.append((scores.softmax(-1)[..., None] * val[..., sl]).sum(1))
    return head.attn_out(torch.cat(outs, dim=-1))


def test_attention_fusion_is_one_query_cross_attention_over_the_tokens(randomise):
    head = randomise(VideoQAHead(6, 4, 3, hidden=8, fusion="attention", num_heads=2, dropout=0.0), 2).eval()
    g = torch.Generator().manual_seed(3)
    video, q = torch.randn(2, 4, 6, generator=g), torch.randn(2, 4, generator=g)
    qp, tokens = head.question_proj(q), head.video_proj(video)
    for mask in (None, torch.tensor([[1, 1, 0, 1], [0, 1, 0, 0]])):  # an integer mask is read as keep / drop
        v = _reference_attention(head, qp, tokens, mask)
        torch.testing.assert_close(head(video, q, mask), _fused(head, v, qp), atol=1e-5, rtol=1e-5)
    # a pooled video is one token: the attention returns its value projection
    one = head.video_proj(video[:, 0])
    val = head.attn_kv(one)[:, 8:]
    torch.testing.assert_close(head(video[:, 0], q), _fused(head, head.attn_out(val), qp), atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------------------ evidence, EDL
def test_evidence_functions_on_and_beyond_the_clamp_edges():
    x = torch.tensor([-20.0, -10.0, -0.5, 0.0, 2.0, 10.0, 20.0])
    clamped = torch.tensor([-10.0, -10.0, -0.5, 0.0, 2.0, 10.0, 10.0])
    torch.testing.assert_close(evidence(x), torch.exp(clamped), rtol=1e-6, atol=0)  # "exp" is the default
    torch.testing.assert_close(evidence(x, "exp"), torch.exp(clamped), rtol=1e-6, atol=0)
    torch.testing.assert_close(evidence(x, "relu"), x.clamp(min=0))
    torch.testing.assert_close(evidence(x, "softplus"), torch.log1p(torch.exp(x.double())).float())
    with pytest.raises(ValueError, match=r"^evidence kind must be 'exp', 'relu' or 'softplus', got 'sigmoid'$"):
        evidence(x, "sigmoid")


def test_evidential_head_defaults_and_dirichlet(randomise):
    head = EvidentialHead(4, 3)
    assert head.evidence_kind == "exp" and head.dropout.p == 0.0
    assert (head.fc.in_features, head.fc.out_features) == (4, 3)
    with pytest.raises(ValueError, match=r"^evidence kind must be .* got 'tanh'$"):
        EvidentialHead(4, 3, evidence_kind="tanh")  # refused when built, not at the first forward
    randomise(head)
    x = torch.randn(2, 4, generator=torch.Generator().manual_seed(4))
    alpha, u = head.dirichlet(x)
    torch.testing.assert_close(alpha, torch.exp(head.fc(x)) + 1)
    torch.testing.assert_close(u, 3 / alpha.sum(-1))
    assert EvidentialHead(4, 3, dropout=0.25).dropout.p == 0.25


class _StubEncoder(nn.Module):
    """An encoder with layer ids for its OWN parameter names only (no ``encoder.`` prefix)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 6)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x)

    def get_num_layers(self) -> int:
        return 4

    def get_layer_id(self, name: str) -> int:
        return {"lin.weight": 1, "lin.bias": 2}[name]


def test_evidential_classifier_defaults_layer_ids_and_weight_decay_names():
    model = EvidentialClassifier(_StubEncoder(), 3, feature_dim=6)
    assert model.num_classes == 3 and model.head.dropout.p == 0.5 and model.head.evidence_kind == "exp"
    assert model.head.fc.in_features == 6 and model.head.fc.out_features == 3
    assert model.get_num_layers() == 4
    assert [model.get_layer_id(n) for n in ("encoder.lin.weight", "encoder.lin.bias", "head.fc.weight")] == [1, 2, 5]
    assert model.no_weight_decay() == set()  # the encoder has none to forward
    model.eval()
    x = torch.randn(2, 2)
    torch.testing.assert_close(model(x), model.head.fc(model.encoder.lin(x)))
    relu = EvidentialClassifier(_StubEncoder(), 3, feature_dim=6, evidence_kind="relu", dropout=0.1)
    assert relu.head.evidence_kind == "relu" and relu.head.dropout.p == 0.1

    class WithConfig(_StubEncoder):
        config = type("C", (), {"embed_dim": 6})()

        def no_weight_decay(self):
            return {"pos_embed", "cls_token"}

    wrapped = EvidentialClassifier(WithConfig(), 3)
    assert wrapped.head.fc.in_features == 6  # read from config.embed_dim
    assert EvidentialClassifier(WithConfig(), 3, feature_dim=5).head.fc.in_features == 5  # explicit wins
    assert wrapped.no_weight_decay() == {"encoder.pos_embed", "encoder.cls_token"}
    with pytest.raises(ValueError, match=r"^cannot tell the feature width of _StubEncoder; pass feature_dim$"):
        EvidentialClassifier(_StubEncoder(), 3)


def test_annealing_defaults_and_refusal():
    assert edl_annealing_coef(0, 10) == pytest.approx(0.01, rel=1e-12)  # start=0.01, method="exp"
    assert edl_annealing_coef(5, 10) == pytest.approx(0.1, rel=1e-12)
    assert edl_annealing_coef(2, 4, start=0.04) == pytest.approx(0.2, rel=1e-12)
    assert edl_annealing_coef(5, 10, "step") == 0.5  # step=10
    assert edl_annealing_coef(3, 100, "step", step=4) == 0.75
    assert edl_annealing_coef(4, 100, "step", step=4) == 1.0
    assert isinstance(edl_annealing_coef(0, 10, "step"), float) and isinstance(edl_annealing_coef(1, 10), float)
    with pytest.raises(ValueError, match=r"^annealing method must be 'exp' or 'step', got 'cosine'$"):
        edl_annealing_coef(0, 10, "cosine")


def test_evidential_loss_averages_over_the_batch_for_every_kind_and_loss():
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, math.log(5.0)]])  # exp evidence [3, 1], [1, 5]
    target = torch.tensor([0, 0], dtype=torch.int32)  # any integer dtype
    per_row = torch.tensor([math.log(6 / 4), math.log(8 / 2)])  # log S - log alpha_y
    torch.testing.assert_close(evidential_loss(logits, target), per_row.mean())
    dig = torch.digamma(torch.tensor([6.0, 8.0])) - torch.digamma(torch.tensor([4.0, 2.0]))
    torch.testing.assert_close(evidential_loss(logits, target, loss="digamma"), dig.mean())
    relu = torch.tensor([[2.0, -1.0], [0.5, 0.0]])  # relu evidence [2, 0], [0.5, 0] -> alpha [3, 1], [1.5, 1]
    want = torch.tensor([math.log(4 / 3), math.log(2.5 / 1.5)]).mean()
    torch.testing.assert_close(evidential_loss(relu, target, kind="relu"), want)
    p = torch.tensor([[3 / 4, 1 / 4], [1.5 / 2.5, 1 / 2.5]])
    s = torch.tensor([[4.0], [2.5]])
    y = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    mse = ((y - p) ** 2 + p * (1 - p) / (s + 1)).sum(-1).mean()
    torch.testing.assert_close(evidential_loss(relu, target, kind="relu", loss="mse"), mse)
    # the KL term only on the wrong classes' evidence: alpha~ = [1, 2] and [1, 6]; KL(Dir(1, b) || Dir(1, 1))
    # = log(b) - (b - 1) / b in closed form (psi(b + 1) - psi(b) = 1 / b)
    kl = (math.log(2) - 1 / 2 + math.log(6) - 5 / 6) / 2
    got = evidential_loss(logits, target, kl_weight=0.5) - evidential_loss(logits, target)
    assert float(got) == pytest.approx(0.5 * kl, rel=1e-5)
    # half-precision logits are computed in float32
    half = evidential_loss(logits.to(torch.bfloat16), target)
    assert half.dtype == torch.float32
    with pytest.raises(ValueError, match=r"^loss must be 'log', 'digamma' or 'mse', got 'ce'$"):
        evidential_loss(logits, target, loss="ce")
    assert evidential_loss(logits, target, kl_weight=0.0) == evidential_loss(logits, target)
