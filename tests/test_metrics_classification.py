"""Classification metrics: top-k, multi-view aggregation (softmax then mean), confusion matrix, class accuracy."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from internvideo_core.eval.classification import (
    aggregate_views, confusion_matrix, mean_class_accuracy, per_class_accuracy, topk_accuracy,
)


def test_topk_hand_case():
    logits = torch.tensor([
        [0.1, 0.9, 0.0, 0.0, 0.0, 0.0],   # target 1: top-1 hit
        [0.5, 0.4, 0.3, 0.2, 0.1, 0.0],   # target 4: rank 5 -> top-5 hit only
        [0.5, 0.4, 0.3, 0.2, 0.1, 0.0],   # target 5: rank 6 -> miss
        [0.0, 0.0, 0.0, 0.0, 0.2, 0.9],   # target 4: rank 2
    ])
    acc = topk_accuracy(logits, torch.tensor([1, 4, 5, 4]), ks=(1, 2, 5))
    assert acc == {"top1": 25.0, "top2": 50.0, "top5": 75.0}


def test_topk_accepts_numpy_and_clamps_k():
    probs = np.array([[0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    acc = topk_accuracy(probs, [1, 1, 0])
    assert acc["top1"] == pytest.approx(200 / 3)
    assert acc["top5"] == 100.0  # only 2 classes: top-5 covers everything
    with pytest.raises(ValueError, match=r"\[N, C\]"):
        topk_accuracy(probs, [1, 1])


def test_aggregate_views_grouped_is_softmax_mean():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 6, 5, generator=g) * 3
    probs = aggregate_views(logits)
    assert probs.shape == (4, 5)
    torch.testing.assert_close(probs, logits.softmax(-1).mean(1))
    torch.testing.assert_close(probs.sum(-1), torch.ones(4))


def test_softmax_then_mean_differs_from_logit_mean():
    # one very confident view for class 0, two moderately confident views for class 1
    logits = torch.tensor([[[20.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 3.0, 0.0]]])
    assert aggregate_views(logits).argmax(-1).item() == 1
    assert logits.mean(1).argmax(-1).item() == 0


def test_aggregate_views_flat_with_ids_and_duplicates():
    g = torch.Generator().manual_seed(1)
    grouped = torch.randn(3, 4, 7, generator=g)
    ids = ["b", "a", "c"]
    flat, vid, view = [], [], []
    order = [(v, k) for k in range(4) for v in range(3)]  # views interleaved across videos
    for v, k in order:
        flat.append(grouped[v, k])
        vid.append(ids[v])
        view.append(k)
    # a padded duplicate of (video "a", view 2) must be ignored
    flat.append(grouped[1, 2] * 50)
    vid.append("a")
    view.append(2)
    probs, out_ids = aggregate_views(torch.stack(flat), video_ids=vid, view_ids=view, return_ids=True)
    assert out_ids == ["b", "a", "c"]
    torch.testing.assert_close(probs, aggregate_views(grouped))
    # without view ids the duplicate is averaged in and changes the result
    probs_dup = aggregate_views(torch.stack(flat), video_ids=vid)
    assert not torch.allclose(probs_dup[1], probs[1])
    with pytest.raises(ValueError, match="video id"):
        aggregate_views(torch.stack(flat), video_ids=vid[:-1])


def test_confusion_matrix_and_class_accuracy():
    targets = torch.tensor([0, 0, 0, 0, 1, 2, 2])
    preds = torch.tensor([0, 0, 0, 1, 1, 0, 2])
    cm = confusion_matrix(preds, targets, num_classes=4)
    expected = torch.zeros(4, 4, dtype=torch.int64)
    for t, p in zip(targets.tolist(), preds.tolist()):
        expected[t, p] += 1
    assert torch.equal(cm, expected)
    assert cm.sum() == len(targets)
    per = per_class_accuracy(preds, targets, num_classes=4)
    assert per[:3].tolist() == pytest.approx([75.0, 100.0, 50.0])
    assert math.isnan(per[3].item())
    # mean class accuracy (75 + 100 + 50) / 3 differs from overall accuracy 5/7
    assert mean_class_accuracy(preds, targets, num_classes=4) == pytest.approx(75.0)
    assert topk_accuracy(torch.nn.functional.one_hot(preds, 4).float(), targets, ks=(1,))["top1"] == \
        pytest.approx(500 / 7)


def test_confusion_matrix_from_scores_infers_classes():
    scores = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]])
    cm = confusion_matrix(scores, [1, 2])
    assert cm.shape == (3, 3) and cm[1, 1] == 1 and cm[2, 0] == 1


def test_topk_empty_input_is_nan_and_shapes_are_checked():
    out = topk_accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), ks=(1, 3))
    assert list(out) == ["top1", "top3"] and all(math.isnan(v) for v in out.values())
    with pytest.raises(ValueError, match=r"got \(3,\) and \(3,\)"):
        topk_accuracy(torch.zeros(3), [0, 1, 2])
    # k between the largest requested and C: kmax uses the largest k, each k its own prefix
    acc = topk_accuracy(torch.tensor([[3.0, 2.0, 1.0, 0.0]]), [2], ks=(3, 1, 2))
    assert acc == {"top3": 100.0, "top1": 0.0, "top2": 0.0}
    # integer-valued scores are compared as floats; targets may come as a column
    assert topk_accuracy(np.array([[0, 5], [7, 1]]), np.array([[1], [0]]), ks=(1,)) == {"top1": 100.0}


def test_aggregate_views_grouped_checks_shape_and_returns_ids():
    logits = torch.zeros(2, 3, 4)
    probs, ids = aggregate_views(logits, return_ids=True)
    assert ids == [0, 1] and torch.equal(probs, torch.full((2, 4), 0.25))
    with pytest.raises(ValueError, match="N_videos, V, C"):
        aggregate_views(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="one video id per row"):
        aggregate_views(torch.zeros(2, 3, 4), video_ids=["a", "b"])
    with pytest.raises(ValueError, match="view_ids has 1 entries, video_ids 2"):
        aggregate_views(torch.zeros(2, 4), video_ids=["a", "b"], view_ids=[0])


def test_aggregate_views_flat_counts_each_video_own_views():
    # video "a" has two distinct views, "b" one; duplicates of a (video, view) pair are dropped
    logits = torch.log(torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8], [0.9, 0.1], [0.5, 0.5]]))
    probs = aggregate_views(logits, video_ids=["a", "a", "b", "a", "b"], view_ids=[0, 1, 0, 1, 0])
    torch.testing.assert_close(probs, torch.tensor([[0.7, 0.3], [0.2, 0.8]]))
    probs = aggregate_views(logits, video_ids=["a", "a", "b", "a", "b"])
    torch.testing.assert_close(probs, torch.tensor([[2.3 / 3, 0.7 / 3], [0.35, 0.65]]))
    assert aggregate_views(logits, video_ids=["a", "a", "b", "a", "b"]).dtype == torch.float32


def test_confusion_matrix_checks_lengths_and_handles_empty_and_explicit_sizes():
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix([0, 1], [0])
    assert confusion_matrix([], []).shape == (0, 0)
    cm = confusion_matrix([0], [2])
    assert cm.shape == (3, 3) and cm[2, 0] == 1 and cm.sum() == 1
    cm = confusion_matrix([3], [0])
    assert cm.shape == (4, 4) and cm[0, 3] == 1
    cm = confusion_matrix(torch.tensor([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]]), [0, 1])
    assert cm.shape == (3, 3)  # the width of the scores, not the largest id seen (1)
    cm = confusion_matrix(torch.tensor([[0.2, 0.8]]), [1], num_classes=3)
    assert cm.shape == (3, 3) and cm[1, 1] == 1 and cm.dtype == torch.int64


def test_mean_class_accuracy_without_any_sample_is_nan_and_skips_empty_classes():
    assert math.isnan(mean_class_accuracy([], [], num_classes=2))
    assert mean_class_accuracy([0, 0, 1], [0, 1, 1], num_classes=5) == pytest.approx(75.0)
    per = per_class_accuracy([0, 0, 1], [0, 1, 1], num_classes=3)
    assert per.dtype == torch.float32 and per[:2].tolist() == [100.0, 50.0] and math.isnan(per[2].item())


def test_tensors_with_gradients_and_empty_flat_input():
    logits = torch.tensor([[0.1, 0.9], [0.8, 0.2]], requires_grad=True)
    assert topk_accuracy(logits, torch.tensor([1, 1]), ks=(1,)) == {"top1": 50.0}
    assert confusion_matrix(logits, [1, 0]).tolist() == [[1, 0], [0, 1]]
    probs, ids = aggregate_views(torch.zeros(0, 3), video_ids=[], return_ids=True)
    assert probs.shape == (0, 3) and ids == []


def test_a_duplicate_view_in_the_middle_does_not_drop_the_rows_after_it():
    logits = torch.log(torch.tensor([[0.5, 0.5], [0.5, 0.5], [0.9, 0.1], [0.1, 0.9]]))
    probs = aggregate_views(logits, video_ids=["a", "a", "b", "c"], view_ids=[0, 0, 0, 0])
    torch.testing.assert_close(probs, torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.1, 0.9]]))
