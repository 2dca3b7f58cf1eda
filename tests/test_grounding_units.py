"""The NLQ span predictor (models/grounding.py): the forward pass against a reference written from its docstring,
the loss in exact numbers, and the span decoding on its boundaries (length limit, NMS threshold, zero scores)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from internvideo_core.models.grounding import SpanGrounder, _span_iou, decode_spans, span_loss

pytestmark = pytest.mark.usefixtures("one_thread")


def _reference(m: SpanGrounder, video: torch.Tensor, query: torch.Tensor) -> dict[str, torch.Tensor]:
    ln_v, lin_v = m.video_proj
    ln_q, lin_q = m.query_proj
    v = lin_v(F.layer_norm(video, video.shape[-1:], ln_v.weight, ln_v.bias, ln_v.eps))
    q = lin_q(F.layer_norm(query, query.shape[-1:], ln_q.weight, ln_q.bias, ln_q.eps))[:, None].expand_as(v)
    fused = F.gelu(m.fuse[0](torch.cat([v, q, v * q], -1)))
    h = m.encoder(fused)[0]
    highlight = m.highlight(h)[..., 0]
    h = h * torch.sigmoid(highlight)[..., None]
    return {"start": m.start_head(h)[..., 0], "end": m.end_head(m.end_rnn(h)[0])[..., 0], "highlight": highlight}


def test_the_grounder_equals_the_reference_and_the_blind_twin_sees_zeros():
    torch.manual_seed(0)
    model = SpanGrounder(6, 5, hidden=8).eval()
    video, query = torch.randn(2, 7, 6), torch.randn(2, 5)
    with torch.no_grad():
        out, ref = model(video, query), _reference(model, video, query)
        assert out.keys() == ref.keys()
        for k in ref:
            torch.testing.assert_close(out[k], ref[k], atol=1e-6, rtol=1e-5)
        blind = SpanGrounder(6, 5, hidden=8, use_video=False).eval()
        blind.load_state_dict(model.state_dict())
        torch.testing.assert_close(blind(video, query)["end"], _reference(model, torch.zeros_like(video), query)["end"])


def test_each_query_is_decoded_on_its_own_along_its_snippets():
    """The GRUs run over the snippets of one query (batch first): a row does not depend on the other rows, and
    the start of a snippet depends on the snippets after it (bidirectional)."""
    torch.manual_seed(0)
    model = SpanGrounder(6, 5, hidden=8).eval()
    video, query = torch.randn(3, 7, 6), torch.randn(3, 5)
    with torch.no_grad():
        full = model(video, query)
        alone = model(video[1:2], query[1:2])
        later = video.clone()
        later[:, 2] = torch.randn(3, 6)                              # (a shift would be normed away)
        changed = model(later, query)
    for k in full:
        torch.testing.assert_close(alone[k][0], full[k][1], atol=1e-6, rtol=1e-5)
    assert (changed["start"][:, 0] - full["start"][:, 0]).abs().min() > 1e-6


def test_the_defaults_are_64_wide_with_dropout_0_1_on_the_fused_features():
    model = SpanGrounder(6, 5)
    assert model.use_video and model.video_proj[1].out_features == 64 and model.query_proj[1].out_features == 64
    assert model.fuse[2].p == 0.1 and model.encoder.hidden_size == 64 and model.encoder.bidirectional
    assert model.end_rnn.input_size == 128 and model.end_rnn.bidirectional and model.end_head.in_features == 128
    model.train()
    video, query = torch.randn(2, 7, 6), torch.randn(2, 5)
    assert not torch.equal(model(video, query)["start"], model(video, query)["start"])


def test_the_loss_is_two_cross_entropies_plus_half_the_highlight_bce_over_the_inclusive_span():
    out = {"start": torch.tensor([[0.0, 1.0, 2.0, 0.5]]), "end": torch.tensor([[0.3, 0.0, 1.0, 2.0]]),
           "highlight": torch.tensor([[1.0, -1.0, 0.5, 2.0]])}
    start, end = torch.tensor([1]), torch.tensor([2])

    def ce(logits, i):
        return math.log(sum(math.exp(v) for v in logits)) - logits[i]

    def bce(z, y):
        p = 1 / (1 + math.exp(-z))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    inside = [0, 1, 1, 0]                                                # snippets 1 and 2, both ends included
    h = sum(bce(z, y) for z, y in zip([1.0, -1.0, 0.5, 2.0], inside)) / 4
    expected = ce([0.0, 1.0, 2.0, 0.5], 1) + ce([0.3, 0.0, 1.0, 2.0], 2)
    assert span_loss(out, start, end).item() == pytest.approx(expected + 0.5 * h, rel=1e-6)
    assert span_loss(out, start, end, highlight_weight=2.0).item() == pytest.approx(expected + 2.0 * h, rel=1e-6)


def test_span_iou_counts_snippets_with_both_ends_included():
    assert _span_iou((0, 1), (0, 3)) == 0.5
    assert _span_iou((2, 2), (2, 2)) == 1.0
    assert _span_iou((0, 1), (2, 3)) == 0.0 and _span_iou((0, 1), (3, 5)) == 0.0
    assert _span_iou((0, 2), (2, 4)) == pytest.approx(1 / 5)


def test_decoding_keeps_a_span_whose_iou_is_exactly_the_nms_threshold():
    # P(0, 1) > P(0, 3) > others; IoU((0, 1), (0, 3)) = 2 / 4 = 0.5
    start = torch.log(torch.tensor([0.97, 0.01, 0.01, 0.01]))
    end = torch.log(torch.tensor([0.001, 0.6, 0.001, 0.398]))
    spans, scores = decode_spans(start, end, k=2, nms_iou=0.5)
    assert spans.tolist() == [[0, 1], [0, 3]]
    assert scores.tolist() == pytest.approx([0.97 * 0.6, 0.97 * 0.398], rel=1e-5)
    spans, _ = decode_spans(start, end, k=2, nms_iou=0.49)
    assert spans.tolist()[0] == [0, 1] and spans.tolist()[1] != [0, 3]
    spans, _ = decode_spans(start, end, k=2)                               # default threshold 0.5
    assert spans.tolist() == [[0, 1], [0, 3]]
    # (0, 2) overlaps (0, 1) by 2 / 3: dropped at the default threshold, kept at 0.7
    end = torch.log(torch.tensor([0.001, 0.6, 0.398, 0.001]))
    assert decode_spans(start, end, k=2)[0].tolist() == [[0, 1], [1, 1]]                  # P(1, 1) = 0.006
    assert decode_spans(start, end, k=2, nms_iou=0.7)[0].tolist() == [[0, 1], [0, 2]]


def test_decoding_limits_the_length_exactly_and_returns_k_spans_by_default_five():
    start = torch.tensor([5.0, 0.0, 0.0, 0.0])
    end = torch.tensor([0.0, 0.0, 5.0, 0.0])
    assert decode_spans(start, end, k=1, max_len=3)[0].tolist() == [[0, 2]]    # 3 snippets: allowed
    assert decode_spans(start, end, k=1, max_len=2)[0].tolist() != [[0, 2]]
    spans, _ = decode_spans(start, end, max_len=1, nms_iou=1.0)
    assert all(i == j for i, j in spans.tolist()) and len(spans) == 4         # only the 4 one-snippet spans
    spans, scores = decode_spans(torch.zeros(6), torch.zeros(6), nms_iou=1.0)
    assert len(spans) == 5 and spans.dtype == torch.long and scores.shape == (5,)


def test_valid_spans_of_zero_probability_are_answers_and_invalid_ones_never():
    start, end = torch.tensor([0.0, -1e4]), torch.tensor([0.0, -1e4])        # probabilities underflow to 0
    spans, scores = decode_spans(start, end, k=5, nms_iou=1.0)
    assert sorted(spans.tolist()) == [[0, 0], [0, 1], [1, 1]]                  # (1, 0) is not a span
    assert scores.tolist() == [1.0, 0.0, 0.0]
    empty_spans, empty_scores = decode_spans(start, end, k=0)
    assert empty_spans.shape == (0, 2) and empty_spans.dtype == torch.long and empty_scores.shape == (0,)
