"""Symmetric InfoNCE with a clamped learnable temperature; gathered features across two processes."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ddp_cases import TINY_MM, one_process_results, two_process_results  # noqa: E402

from internvideo_core.train.contrastive import contrastive_loss, select_captions  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_thread")


def _reference_loss(v, t, logit_scale):
    v, t = F.normalize(v, dim=-1), F.normalize(t, dim=-1)
    logits = logit_scale.exp() * v @ t.t()
    labels = torch.arange(len(v))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def test_loss_equals_clip_formula_and_clamps_temperature():
    g = torch.Generator().manual_seed(0)
    v, t = torch.randn(6, 8, generator=g), torch.randn(6, 8, generator=g)
    scale = torch.tensor(math.log(1 / 0.07))
    torch.testing.assert_close(contrastive_loss(v, t, scale), _reference_loss(v, t, scale))
    # perfectly aligned pairs at a high temperature cost almost nothing; the clamp caps exp(scale) at 100
    big = torch.tensor(10.0, requires_grad=True)
    loss = contrastive_loss(v, v, big)
    torch.testing.assert_close(loss, _reference_loss(v, v, torch.tensor(math.log(100.0))))
    loss.backward()
    assert big.grad == 0  # clamped: no gradient pushes the temperature further
    assert contrastive_loss(v, v, scale) < contrastive_loss(v, t, scale)


def test_caption_selection_tokens_and_paraphrases():
    tok = lambda texts, context_length=77: torch.tensor([[len(s)] for s in texts])  # noqa: E731
    ids = torch.arange(2 * 3 * 4).reshape(2, 3, 4)
    assert select_captions(ids[:, 0], None, tok).equal(ids[:, 0])
    assert select_captions(ids, None, tok).equal(ids[:, 0])
    picked = select_captions(ids, torch.Generator().manual_seed(0), tok)
    assert all(any(picked[b].equal(ids[b, p]) for p in range(3)) for b in range(2))
    caps = [["a", "bb", "ccc"], ["dddd", "eeeee"]]
    seen = {tuple(select_captions(caps, torch.Generator().manual_seed(s), tok).flatten().tolist()) for s in range(20)}
    assert len(seen) > 1 and all(x[0] in (1, 2, 3) and x[1] in (4, 5) for x in seen)
    assert select_captions(["xy", "z"], None, tok).flatten().tolist() == [2, 1]


def test_train_contrastive_runs_and_clamps_logit_scale():
    from torch.utils.data import DataLoader

    from internvideo_core import create_model
    from internvideo_core.train.contrastive import ContrastiveConfig, collate_video_text, train_contrastive

    torch.manual_seed(0)
    model = create_model("internvideo_mm_tiny_synth", **TINY_MM)
    with torch.no_grad():
        model.logit_scale.fill_(6.0)  # above ln(100): must be clamped after the first step
    g = torch.Generator().manual_seed(1)
    items = [(torch.randn(3, 2, 32, 32, generator=g), [f"a shape moves {w}", f"something goes {w}"])
             for w in ("left", "right", "up", "down")]
    loader = DataLoader(items, batch_size=4, collate_fn=collate_video_text)
    res = train_contrastive(model, loader, ContrastiveConfig(epochs=3, base_lr=1e-3, warmup_epochs=0,
                                                             progress=False, device="cpu"))
    assert len(res.losses) == 3 and all(math.isfinite(x) for x in res.losses)
    assert float(model.logit_scale.detach()) <= math.log(100.0) + 1e-6


@pytest.mark.slow
def test_two_process_gathered_loss_and_grads_equal_full_batch():
    r0, r1 = (r["contrastive_step"] for r in two_process_results())
    ref = one_process_results("contrastive_step")
    # the per-rank losses differ (own rows vs all columns), their mean is the full-batch loss
    assert not torch.allclose(r0["loss"], r1["loss"])
    torch.testing.assert_close(r0["loss_mean"], ref["loss"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close((r0["loss"] + r1["loss"]) / 2, ref["loss"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(r0["full_loss_from_gathered"], ref["loss"], rtol=1e-5, atol=1e-6)
    # every rank gathered the full batch of features in rank order
    torch.testing.assert_close(r0["gathered"], ref["gathered"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(r1["gathered"], ref["gathered"], rtol=1e-5, atol=1e-6)
    assert "logit_scale" in ref["grads"] and len(ref["grads"]) > 10
    for name, g in ref["grads"].items():
        torch.testing.assert_close(r0["grads"][name], r1["grads"][name], rtol=0, atol=0, msg=name)
        # float32 sums in another order: an absolute error of a few ulps of the largest entry (the token embedding's
        # gradient reaches ~10, where one ulp is ~1e-6); a missing all-reduce would be off by the gradient itself
        scale = max(1.0, float(g.abs().max()))
        torch.testing.assert_close(r0["grads"][name], g, rtol=1e-4, atol=1e-6 * scale, msg=name)


@pytest.mark.slow
def test_two_process_training_loop_matches_one_process():
    r0, r1 = (r["contrastive_loop"] for r in two_process_results())
    ref = one_process_results("contrastive_loop")
    assert len(ref["losses"]) == 2
    # the second loss is computed with the weights after the first (DDP) update
    torch.testing.assert_close(r0["losses"], ref["losses"], rtol=1e-5, atol=1e-6)
    moved = max(float((ref["state"][k] - ref["init"][k]).abs().max()) for k in ref["state"])
    assert moved > 1e-2
    for name, w in ref["state"].items():
        torch.testing.assert_close(r0["state"][name], r1["state"][name], rtol=0, atol=0, msg=name)
        # Adam divides by sqrt(v): on near-zero gradients float rounding of the reduction shows up at
        # ~1 % of a step, so the weights are compared at 5 % of the largest move
        torch.testing.assert_close(r0["state"][name], w, rtol=0, atol=0.05 * moved, msg=name)


def test_loss_honours_max_logit_scale_and_computes_in_float32():
    g = torch.Generator().manual_seed(3)
    v, t = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    scale = torch.tensor(6.0)  # exp(6) ~ 403 > 50: clamped to 50
    loss = contrastive_loss(v.double(), t.double(), scale, gather=False, max_logit_scale=50.0)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, _reference_loss(v, t, torch.tensor(math.log(50.0))))
    # below the cap the scale is used as is (not clamped to the cap)
    torch.testing.assert_close(contrastive_loss(v, t, torch.tensor(1.0), max_logit_scale=50.0),
                               _reference_loss(v, t, torch.tensor(1.0)))


def test_dual_encoder_task_feeds_both_encoders_and_its_cap():
    from internvideo_core.train.contrastive import DualEncoderTask

    class Fake(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.logit_scale = torch.nn.Parameter(torch.tensor(5.0))

        def encode_video(self, video):
            return video * 2

        def encode_text(self, tokens):
            return tokens.float() + 1

    g = torch.Generator().manual_seed(0)
    video, tokens = torch.randn(3, 4, generator=g), torch.randint(0, 5, (3, 4), generator=g)
    task = DualEncoderTask(Fake(), max_logit_scale=20.0)
    assert task.gather is True and task.max_logit_scale == 20.0
    torch.testing.assert_close(task(video, tokens),
                               _reference_loss(video * 2, tokens.float() + 1, torch.tensor(math.log(20.0))))
    assert DualEncoderTask(Fake()).max_logit_scale == 100.0


def test_collate_keeps_caption_lists_and_reads_dicts():
    from internvideo_core.train.contrastive import collate_video_text

    videos, texts = collate_video_text([(torch.zeros(2), ["a", "b"], 7), (torch.ones(2), ["c"], 8)])
    assert videos.tolist() == [[0.0, 0.0], [1.0, 1.0]] and texts == [["a", "b"], ["c"]]
    videos, texts = collate_video_text([{"video": torch.ones(1), "text": "x"}, {"video": torch.zeros(1), "text": "y"}])
    assert videos.tolist() == [[1.0], [0.0]] and texts == ["x", "y"]


def test_caption_selection_errors_first_choice_and_context_length():
    calls = []

    def tok(texts, context_length=77):
        calls.append(context_length)
        return torch.tensor([[len(s)] for s in texts])

    with pytest.raises(ValueError, match=r"\[B, L\] or \[B, P, L\], got \(2,\)"):
        select_captions(torch.zeros(2, dtype=torch.long), None, tok)
    with pytest.raises(ValueError, match="^a video has an empty caption list$"):
        select_captions([["a"], []], None, tok)
    assert select_captions([["bb", "a"], ("ccc", "d")], None, tok, context_length=5).flatten().tolist() == [2, 3]
    assert calls == [5]
    select_captions(["a"], None, tok)
    assert calls == [5, 77]
    # a random paraphrase: over seeds both options of a two-option list come up
    picks = {int(select_captions([["a", "bb"]], torch.Generator().manual_seed(s), tok)) for s in range(12)}
    assert picks == {1, 2}
    ids = torch.arange(2 * 2 * 3).reshape(2, 2, 3)
    rows = {tuple(select_captions(ids, torch.Generator().manual_seed(s), tok)[1].tolist()) for s in range(12)}
    assert rows == {(6, 7, 8), (9, 10, 11)}
