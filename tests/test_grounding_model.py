"""The NLQ span predictor: decoding, loss, the text-only twin, and the snippet / cell conventions of the recipe."""
from __future__ import annotations

import pytest
import torch

from internvideo_core.models.grounding import SpanGrounder, decode_spans, span_loss
from internvideo_core.features import snippet_plan
from internvideo_core.recipes.ego4d_synth.features import cell_windows, time_to_cells

pytestmark = pytest.mark.usefixtures("one_thread")


def test_decode_spans_takes_the_best_valid_pair_then_non_overlapping_ones():
    start = torch.log(torch.tensor([0.1, 0.6, 0.1, 0.1, 0.1]))
    end = torch.log(torch.tensor([0.7, 0.05, 0.05, 0.15, 0.05]))
    spans, scores = decode_spans(start, end, k=3, nms_iou=0.5)
    # (1, 0) has the largest product but ends before it starts: the best valid span is (1, 3)
    assert spans[0].tolist() == [1, 3]
    assert scores[0] == pytest.approx(0.6 * 0.15)
    assert all(a >= b for a, b in zip(scores.tolist(), scores[1:].tolist()))
    assert all(i <= j for i, j in spans.tolist())
    # no two kept spans overlap by more than IoU 0.5
    for a in range(len(spans)):
        for b in range(a):
            (i1, j1), (i2, j2) = spans[a].tolist(), spans[b].tolist()
            inter = max(0, min(j1, j2) - max(i1, i2) + 1)
            assert inter / ((j1 - i1 + 1) + (j2 - i2 + 1) - inter) <= 0.5


def test_decode_spans_respects_max_len():
    start = torch.tensor([5.0, 0.0, 0.0, 0.0])
    end = torch.tensor([0.0, 0.0, 0.0, 5.0])
    assert decode_spans(start, end, k=1)[0][0].tolist() == [0, 3]
    assert decode_spans(start, end, k=1, max_len=2)[0][0][1] - decode_spans(start, end, k=1, max_len=2)[0][0][0] < 2


def test_span_grounder_shapes_loss_and_text_only_twin_ignores_the_video():
    torch.manual_seed(0)
    model = SpanGrounder(video_dim=12, query_dim=8, hidden=16).eval()
    video, query = torch.randn(3, 10, 12), torch.randn(3, 8)
    out = model(video, query)
    assert {k: tuple(v.shape) for k, v in out.items()} == {"start": (3, 10), "end": (3, 10), "highlight": (3, 10)}
    loss = span_loss(out, torch.tensor([0, 2, 5]), torch.tensor([1, 4, 9]))
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert not torch.allclose(model(torch.randn(3, 10, 12), query)["start"], out["start"])
    blind = SpanGrounder(12, 8, 16, use_video=False).eval()
    torch.testing.assert_close(blind(video, query)["start"], blind(torch.randn(3, 10, 12), query)["start"])


def test_span_grounder_learns_to_find_the_marked_snippet():
    torch.manual_seed(0)
    n, d = 12, 6
    video = torch.randn(64, n, d) * 0.1
    where = torch.randint(0, n - 2, (64,))
    kinds = torch.randint(0, 2, (64,))
    for b in range(64):                                # the query asks for feature channel 0 or 1 raised
        video[b, where[b]:where[b] + 2, kinds[b]] += 3.0
    query = torch.nn.functional.one_hot(kinds, d).float()
    model = SpanGrounder(d, d, hidden=16, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(100):
        loss = span_loss(model(video, query), where, where + 1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    out = model(video, query)
    hits = sum(decode_spans(out["start"][b], out["end"][b], k=1)[0][0].tolist() == [int(where[b]), int(where[b]) + 1]
               for b in range(64))
    assert hits >= 48


def test_cells_tile_the_video_around_the_extractors_snippet_centres_and_times_map_to_cells():
    # 40 frames at 2 fps, 4 frames 5 apart (span 16), stride 8: snippets start at 0, 8, 16, 24 (centres 4, 8, 12, 16 s)
    plan = snippet_plan(num_video_frames=40, fps=2.0, clip_len=4, frame_interval=5, stride=8)
    assert plan.indices[2].tolist() == [16, 21, 26, 31]
    assert plan.centre_times.tolist() == [4.0, 8.0, 12.0, 16.0]
    cells = cell_windows(plan.centre_times, duration=20.0)
    # boundaries at the midpoints, the first cell from 0, the last to the end
    assert cells.tolist() == [[0.0, 6.0], [6.0, 10.0], [10.0, 14.0], [14.0, 20.0]]
    assert time_to_cells(0.0, 6.0, cells) == (0, 0)            # a window ending on a boundary stays in its cell
    assert time_to_cells(6.0, 10.5, cells) == (1, 2)
    assert time_to_cells(5.9, 14.1, cells) == (0, 3)
    assert time_to_cells(30.0, 40.0, cells) == (3, 3)          # clamped to the video
    assert time_to_cells(8.0, 7.0, cells) == (1, 1)            # last >= first
