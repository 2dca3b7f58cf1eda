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
