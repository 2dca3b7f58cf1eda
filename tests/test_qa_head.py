"""Task heads: the open-ended video-QA head and the evidential (EDL) head."""
from __future__ import annotations

import math

import pytest
import torch

from internvideo_core.models.heads import EvidentialHead, VideoQAHead, evidence, evidential_loss


@pytest.mark.parametrize("fusion", ["mlp", "attention"])
def test_qa_head_shapes(fusion):
    head = VideoQAHead(video_dim=12, text_dim=10, num_answers=7, hidden=16, fusion=fusion, num_heads=4)
    q = torch.randn(5, 10)
    assert head(torch.randn(5, 12), q).shape == (5, 7)
    assert head(torch.randn(5, 3, 12), q).shape == (5, 7)


def test_qa_head_rejects_bad_input():
    head = VideoQAHead(12, 10, 7, hidden=16)
    with pytest.raises(ValueError, match="question"):
        head(torch.randn(5, 12), torch.randn(5, 2, 10))
    with pytest.raises(ValueError, match="video"):
        head(torch.randn(4, 12), torch.randn(5, 10))
    with pytest.raises(ValueError, match="fusion"):
        VideoQAHead(12, 10, 7, fusion="concat")


def test_attention_mask_ignores_padded_tokens():
    torch.manual_seed(0)
    head = VideoQAHead(6, 4, 3, hidden=8, fusion="attention", num_heads=2).eval()
    v, q = torch.randn(2, 3, 6), torch.randn(2, 4)
    mask = torch.tensor([[True, True, False], [True, True, False]])
    padded = v.clone()
    padded[:, 2] = 100.0
    torch.testing.assert_close(head(v, q, mask), head(padded, q, mask))
    torch.testing.assert_close(head(v, q, mask), head(v[:, :2], q))
    assert not torch.allclose(head(v, q), head(padded, q))


def test_qa_head_uses_the_question():
    """A task only solvable by combining both inputs: answer = video class if question 0, else 2 + video class.
    The fused [v, q, v*q] head must learn it (a head ignoring either input is stuck at 50 %)."""
    torch.manual_seed(0)
    n = 256
    vc, qc = torch.randint(2, (n,)), torch.randint(2, (n,))
    video = torch.randn(n, 8) * 0.1 + torch.nn.functional.one_hot(vc, 8).float() * 3
    question = torch.randn(n, 6) * 0.1 + torch.nn.functional.one_hot(qc, 6).float() * 3
    target = vc + 2 * qc
    head = VideoQAHead(8, 6, 4, hidden=32, dropout=0.0)
    opt = torch.optim.AdamW(head.parameters(), 1e-2)
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(head(video, question), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = (head(video, question).argmax(1) == target).float().mean()
    assert acc > 0.95, acc


def test_evidence_kinds():
    x = torch.tensor([-20.0, 0.0, 2.0])
    torch.testing.assert_close(evidence(x, "exp"), torch.exp(torch.tensor([-10.0, 0.0, 2.0])))
    torch.testing.assert_close(evidence(x, "relu"), torch.tensor([0.0, 0.0, 2.0]))
    with pytest.raises(ValueError):
        evidence(x, "sigmoid")


def test_evidential_head_uncertainty():
    head = EvidentialHead(4, 3, evidence_kind="relu")
    with torch.no_grad():
        head.fc.weight.zero_()
        head.fc.bias.copy_(torch.tensor([0.0, 0.0, 0.0]))
    alpha, u = head.dirichlet(torch.randn(2, 4))
    torch.testing.assert_close(alpha, torch.ones(2, 3))
    torch.testing.assert_close(u, torch.ones(2))          # no evidence at all -> u = 1
    with torch.no_grad():
        head.fc.bias.copy_(torch.tensor([9.0, 0.0, 0.0]))
    _, u = head.dirichlet(torch.randn(2, 4))
    torch.testing.assert_close(u, torch.full((2,), 3 / 12))


def test_evidential_loss_values():
    logits = torch.log(torch.tensor([[3.0, 1.0]]))       # exp evidence [3, 1] -> alpha [4, 2], S = 6
    target = torch.tensor([0])
    assert math.isclose(float(evidential_loss(logits, target)), math.log(6) - math.log(4), rel_tol=1e-5)
    dig = torch.digamma(torch.tensor(6.0)) - torch.digamma(torch.tensor(4.0))
    assert math.isclose(float(evidential_loss(logits, target, loss="digamma")), float(dig), rel_tol=1e-5)
    p = torch.tensor([4 / 6, 2 / 6])
    mse = float(((torch.tensor([1.0, 0.0]) - p) ** 2 + p * (1 - p) / 7).sum())
    assert math.isclose(float(evidential_loss(logits, target, loss="mse")), mse, rel_tol=1e-5)
    # KL term: alpha~ = [1, 2]; KL(Dir(1, 2) || Dir(1, 1)) = log(2) - 1/2 (closed form for Beta(1, 2))
    kl = float(evidential_loss(logits, target, kl_weight=1.0)) - float(evidential_loss(logits, target))
    assert math.isclose(kl, math.log(2) - 0.5, rel_tol=1e-4)
    # wrong-class evidence makes the loss larger
    assert evidential_loss(logits, torch.tensor([1])) > evidential_loss(logits, target)
