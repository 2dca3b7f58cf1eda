"""Open-set metrics (AUROC, macro-F1, threshold, EDL) and open-ended QA accuracy."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from internvideo_core.eval.openset import (
    binary_auroc, edl_outputs, edl_uncertainty, macro_f1, open_macro_f1_openness, open_set_auroc,
    open_set_macro_f1, openness, uncertainty_threshold,
)
from internvideo_core.eval.qa import (
    build_answer_vocab, normalize_answer, qa_accuracy, qa_accuracy_by_type, question_type,
)


# ----------------------------------------------------------------------------------------------- AUROC
def test_auroc_hand_case_with_tie():
    # unknown 0.8 beats all 3 known; unknown 0.4 beats 0.1 and 0.35, ties with 0.4 (1/2): (3 + 2.5) / 6
    assert open_set_auroc([0.1, 0.4, 0.35], [0.8, 0.4]) == pytest.approx(5.5 / 6)
    assert open_set_auroc([0.1, 0.2], [0.8, 0.9]) == 1.0
    assert open_set_auroc([0.8, 0.9], [0.1, 0.2]) == 0.0


def _pairwise_auroc(known, unknown):
    total = 0.0
    for u in unknown:
        for k in known:
            total += 1.0 if u > k else 0.5 if u == k else 0.0
    return total / (len(known) * len(unknown))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=25), st.lists(st.integers(0, 5), min_size=1, max_size=25))
def test_auroc_equals_brute_force_pairwise(known, unknown):
    assert open_set_auroc(np.array(known, float), np.array(unknown, float)) == \
        pytest.approx(_pairwise_auroc(known, unknown), abs=1e-12)


def test_auroc_needs_both_groups():
    with pytest.raises(ValueError, match="at least one"):
        binary_auroc([1, 1], [0.2, 0.3])


# ------------------------------------------------------------------------------------ threshold and F1
def test_uncertainty_threshold_official_rule():
    u = np.random.default_rng(0).permutation(np.arange(1, 101, dtype=float))
    # N=100: top = 100 - int(95) = 5 -> 5th largest value
    assert uncertainty_threshold(u) == 96.0
    assert uncertainty_threshold(np.arange(1, 21, dtype=float)) == 20.0  # top = 1 -> the largest


def test_macro_f1_hand_case():
    # class 0: TP1 FP1 FN1 -> 0.5; class 1: TP2 FP1 -> 0.8; class 2: FN1 -> 0
    assert macro_f1([0, 0, 1, 1, 2], [0, 1, 1, 1, 0]) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    # a label that only appears in the predictions still counts (sklearn semantics)
    assert macro_f1([0, 0], [0, 3]) == pytest.approx((2 / 3 + 0.0) / 2)


def test_open_set_macro_f1_hand_case():
    labels = [0, 1, -1, 5]           # -1 and 5 are unknown for K = 2
    preds = [0, 1, 1, 0]
    unc = [0.1, 0.9, 0.8, 0.2]       # > 0.5 -> rejected as unknown
    # after rejection: preds [0, 2, 2, 0], labels [0, 1, 2, 2]
    expected = (2 / 3 + 0.0 + 0.5) / 3
    assert open_set_macro_f1(labels, preds, unc, 0.5, num_known_classes=2) == pytest.approx(expected)


def test_openness_curve():
    assert openness(101, 0) == 0.0
    assert openness(101, 51) == pytest.approx((1 - np.sqrt(202 / 253)) * 100)
    rng = np.random.default_rng(1)
    kl = rng.integers(0, 3, 30)
    ul = rng.integers(0, 4, 20)
    perfect = open_macro_f1_openness(kl, kl, np.full(30, 0.1), ul, np.zeros(20, int), np.full(20, 0.9),
                                     threshold=0.5, num_known_classes=3, num_unknown_classes=4, num_rand=3)
    assert perfect["open_maF1"] == pytest.approx(1.0) and len(perfect["openness"]) == 5
    # with a single unknown class the curve is deterministic: weighted mean = the n=1 point
    preds = kl.copy()
    preds[:5] = (preds[:5] + 1) % 3
    unc_u = np.where(np.arange(20) % 2 == 0, 0.9, 0.1)
    one = open_macro_f1_openness(kl, preds, np.full(30, 0.1), np.zeros(20, int), np.zeros(20, int), unc_u,
                                 threshold=0.5, num_known_classes=3, num_unknown_classes=1)
    expected = open_set_macro_f1(np.r_[kl, np.full(20, -1)], np.r_[preds, np.zeros(20, int)],
                                 np.r_[np.full(30, 0.1), unc_u], 0.5, 3)
    assert one["open_maF1"] == pytest.approx(expected, rel=1e-6)


# ------------------------------------------------------------------------------------------------ EDL
def test_edl_uncertainty_values():
    zeros = torch.zeros(2, 4)
    out = edl_outputs(zeros)  # exp evidence: e = 1, alpha = 2, S = 8, u = 4 / 8
    torch.testing.assert_close(out["uncertainty"], torch.full((2,), 0.5))
    torch.testing.assert_close(out["probs"], torch.full((2, 4), 0.25))
    assert torch.equal(edl_uncertainty(zeros, kind="relu"), torch.ones(2))  # no evidence -> u = 1
    big = torch.tensor([[100.0, 0.0, 0.0]])
    out = edl_outputs(big)  # clamped at exp(10)
    assert out["strength"].item() == pytest.approx(np.exp(10) + 1 + 2 * 2, rel=1e-6)
    assert out["uncertainty"].item() == pytest.approx(3 / (np.exp(10) + 5), rel=1e-6)
    torch.testing.assert_close(out["probs"].sum(-1), torch.ones(1))
    soft = edl_outputs(torch.tensor([[0.0, 1.0]]), kind="softplus")
    torch.testing.assert_close(soft["evidence"], torch.nn.functional.softplus(torch.tensor([[0.0, 1.0]])))
    with pytest.raises(ValueError, match="evidence kind"):
        edl_outputs(zeros, kind="sigmoid")


# ------------------------------------------------------------------------------------------------- QA
def test_build_answer_vocab():
    answers = ["man", "Dog ", "dog", "cat", "man", "car", "dog", "cat"]
    assert build_answer_vocab(answers) == ["dog", "man", "cat", "car"]   # ties keep first appearance
    assert build_answer_vocab(answers, top_k=2) == ["dog", "man"]
    assert normalize_answer("  Man ") == "man"


def test_qa_accuracy_in_vocab_and_all():
    vocab = ["dog", "man", "cat"]
    true = ["dog", "man", "cat", "car", "Dog"]   # "car" is out of vocabulary
    pred = ["dog", "cat", "cat", "dog", "dog"]
    r = qa_accuracy(pred, true, vocab)
    assert r["num_oov"] == 1 and r["num_questions"] == 5
    assert r["in_vocab"] == pytest.approx(75.0)    # 3 of the 4 answerable questions
    assert r["all"] == pytest.approx(60.0)         # OOV counted wrong
    with pytest.raises(ValueError, match="predictions"):
        qa_accuracy(pred[:2], true, vocab)


def test_qa_accuracy_by_type():
    questions = ["What is a man doing?", "who is singing?", "what is shown?", "Who cooks?"]
    types = [question_type(q) for q in questions]
    assert types == ["what", "who", "what", "who"]
    r = qa_accuracy_by_type(["run", "girl", "car", "chef"], ["run", "boy", "dog", "chef"], types)
    assert r == {"what": 50.0, "who": 50.0}
    r = qa_accuracy_by_type(["run", "girl", "car", "chef"], ["run", "boy", "dog", "chef"], types,
                            vocab=["run", "chef", "boy"])
    assert r == {"what": 100.0, "who": 50.0}


def test_qa_accuracy_normalises_predictions_truths_and_vocab():
    r = qa_accuracy([" DOG", "Cat "], ["dog ", " CAT"], [" Dog", "CAT"])
    assert r == {"all": 100.0, "in_vocab": 100.0, "num_oov": 0, "num_questions": 2}
    # an OOV ground truth hit by an OOV prediction counts in "all" but is dropped from "in_vocab"
    r = qa_accuracy(["car", "dog"], ["car", "man"], ["dog", "man"])
    assert r == {"all": 50.0, "in_vocab": 0.0, "num_oov": 1, "num_questions": 2}


def test_qa_accuracy_with_nothing_to_average_is_nan():
    r = qa_accuracy([], [], ["dog"])
    assert math.isnan(r["all"]) and math.isnan(r["in_vocab"]) and r["num_oov"] == 0 and r["num_questions"] == 0
    r = qa_accuracy(["dog"], ["car"], ["dog"])
    assert r["all"] == 0.0 and math.isnan(r["in_vocab"]) and r["num_oov"] == 1


def test_question_type_edge_cases_and_by_type_normalisation():
    assert question_type("   ") == ""
    assert question_type("  HOW many?") == "how"
    r = qa_accuracy_by_type([" RUN", "Chef"], ["run ", "CHEF"], ["what", "who"], vocab=[" Run", "chef"])
    assert r == {"what": 100.0, "who": 100.0}
    assert qa_accuracy_by_type(["a"], ["b"], ["what"], vocab=["a"]) == {}
    with pytest.raises(ValueError, match="^pred_answers, true_answers and types must have the same length$"):
        qa_accuracy_by_type(["a", "b"], ["a"], ["what", "who"])
    with pytest.raises(ValueError, match="same length"):
        qa_accuracy_by_type(["a"], ["a"], ["what", "who"])


# ------------------------------------------------------------------------------- open-set edges, exactly
def test_average_ranks_and_auroc_argument_checks():
    from internvideo_core.eval.openset import _average_ranks

    assert _average_ranks(np.array([3.0, 1.0, 3.0, 2.0, 3.0])).tolist() == [4.0, 1.0, 4.0, 2.0, 4.0]
    assert _average_ranks(np.array([5.0])).tolist() == [1.0]
    with pytest.raises(ValueError, match="differ in length"):
        binary_auroc([0, 1], [0.1])
    with pytest.raises(ValueError, match=r"^AUROC needs at least one positive \(unknown\) and one negative \(known\) sample$"):
        binary_auroc([0, 0], [0.2, 0.3])
    assert binary_auroc(torch.tensor([True, False, True]), torch.tensor([0.9, 0.5, 0.4])) == 0.5


def test_threshold_keep_ratio_and_empty_input():
    u = np.arange(1, 11, dtype=float)
    assert uncertainty_threshold(u, keep_ratio=0.8) == 9.0   # top = 10 - 8 = 2 -> 2nd largest
    assert uncertainty_threshold(u, keep_ratio=1.0) == 10.0  # top = 0 -> the largest
    assert uncertainty_threshold(u, keep_ratio=0.0) == 1.0   # top = 10 -> the smallest
    assert uncertainty_threshold([[0.3, 0.1]]) == 0.3
    with pytest.raises(ValueError, match="^no uncertainties given$"):
        uncertainty_threshold([])


def test_macro_f1_argument_checks_and_known_boundary():
    with pytest.raises(ValueError, match="differ in length"):
        macro_f1([0, 1], [0])
    with pytest.raises(ValueError, match="^macro_f1 of an empty set$"):
        macro_f1([], [])
    assert macro_f1([1, 1], [1, 1]) == 1.0
    # label K - 1 stays known, label K is unknown; uncertainty exactly at the threshold is not rejected
    f1 = open_set_macro_f1([1, 2, 0], [1, 0, 0], [0.5, 0.7, 0.2], 0.5, num_known_classes=2)
    assert f1 == pytest.approx(1.0)
    assert open_set_macro_f1([0], [0], [0.2], 0.1, num_known_classes=1) == 0.0  # rejected: pred 1, label 0


def test_openness_values_and_the_weighted_curve_without_unknown_classes():
    assert openness(1, 2) == pytest.approx((1 - np.sqrt(0.5)) * 100)
    assert openness(3, 2) == pytest.approx((1 - np.sqrt(6 / 8)) * 100)
    kl = np.array([0, 1, 1])
    r = open_macro_f1_openness(kl, np.array([0, 1, 0]), np.array([0.1, 0.2, 0.9]), np.zeros(0, int),
                               np.zeros(0, int), np.zeros(0), threshold=0.5, num_known_classes=2,
                               num_unknown_classes=0)
    # known only: preds [0, 1, 2(rejected)] vs labels [0, 1, 1]: F1 class 0 = 1, class 1 = 2/3, class 2 = 0
    assert r["macro_f1"] == [pytest.approx((1 + 2 / 3 + 0) / 3)] and r["openness"] == [0.0] and r["std"] == [0.0]
    assert r["open_maF1"] == pytest.approx((1 + 2 / 3) / 3) and r["open_maF1_std"] == 0.0


def test_openness_curve_draws_subsets_with_the_seed_and_reports_their_spread():
    kl = np.array([0, 1])
    ul = np.array([0, 1])
    # unknown class 0 is rejected correctly, unknown class 1 is accepted as known class 0
    args = (kl, kl, np.array([0.1, 0.1]), ul, np.array([0, 0]), np.array([0.9, 0.1]))
    r = open_macro_f1_openness(*args, threshold=0.5, num_known_classes=2, num_unknown_classes=2, num_rand=4, seed=0)
    good = macro_f1([0, 1, 2], [0, 1, 2])
    bad = macro_f1([0, 1, 2], [0, 1, 0])
    both = macro_f1([0, 1, 2, 2], [0, 1, 2, 0])
    draws = np.random.RandomState(0)
    picks = [int(draws.choice(2, 1, replace=False)[0]) for _ in range(4)]
    vals = np.array([good if p == 0 else bad for p in picks], dtype=np.float32)
    # float32 accumulation as the official script (np.zeros(..., dtype=np.float32)): exact, not approximately
    assert r["macro_f1"][1] == float(vals.mean()) and r["std"][1] == float(vals.std())
    assert float(vals.mean()) != float(np.mean([good if p == 0 else bad for p in picks]))  # float64 would differ
    assert r["macro_f1"][2] == pytest.approx(both) and r["std"][2] == pytest.approx(0.0, abs=1e-7)
    w = np.array([0.0, openness(2, 1), openness(2, 2)]) / 100
    assert r["open_maF1"] == pytest.approx(float((w * np.array(r["macro_f1"])).sum() / w.sum()))
    assert r["open_maF1_std"] == pytest.approx(float((w * np.array(r["std"])).sum() / w.sum()))
    assert r["openness"] == pytest.approx([0.0, openness(2, 1), openness(2, 2)])
    assert picks == [1, 0, 0, 1] and r["std"][1] > 0.1  # seed 0 draws both classes: the spread is visible
    other = open_macro_f1_openness(*args, threshold=0.5, num_known_classes=2, num_unknown_classes=2, num_rand=4,
                                   seed=5)
    assert other["macro_f1"][1] != r["macro_f1"][1]  # the seed decides the draws


def test_edl_outputs_every_quantity_and_scores_from_logits():
    from internvideo_core.eval.openset import scores_from_logits, softmax_uncertainty

    out = edl_outputs(torch.tensor([[1.0, 0.0]]), kind="relu")  # e = [1, 0], alpha = [2, 1], S = 3
    assert out["evidence"].tolist() == [[1.0, 0.0]] and out["alpha"].tolist() == [[2.0, 1.0]]
    assert out["strength"].tolist() == [3.0] and out["uncertainty"].tolist() == [pytest.approx(2 / 3)]
    torch.testing.assert_close(out["probs"], torch.tensor([[2 / 3, 1 / 3]]))
    torch.testing.assert_close(softmax_uncertainty(torch.log(torch.tensor([[0.2, 0.8]]))), torch.tensor([0.2]))
    views = torch.tensor([[[4.0, 0.0], [-2.0, 0.0]]])  # [1, 2 views, 2]: averaged logits [1, 0]
    s = scores_from_logits(views, kind="edl", evidence="relu")
    assert s["pred"].tolist() == [0] and s["uncertainty"].tolist() == [pytest.approx(2 / 3)]
    s = scores_from_logits(views, kind="softmax")
    torch.testing.assert_close(s["uncertainty"], softmax_uncertainty(torch.tensor([[1.0, 0.0]])))
    assert scores_from_logits(torch.tensor([[0.0, 0.0]]))["uncertainty"].tolist() == [0.5]  # default exp evidence
    with pytest.raises(ValueError, match="'edl' or 'softmax'"):
        scores_from_logits(views, kind="max")


def test_openset_report_needs_a_threshold_and_passes_its_settings_on():
    from internvideo_core.eval.openset import openset_report, roc_curve, scores_from_logits

    known = torch.tensor([[3.0, 0.0], [0.0, 3.0], [0.0, 0.5]])
    unknown = torch.tensor([[0.0, 0.0], [0.2, 0.0]])
    with pytest.raises(ValueError, match="^openset_report needs a threshold or the known-class training logits to compute it$"):
        openset_report([0, 1, 1], known, [4, 4], unknown)
    rep = openset_report([0, 1, 0], known, [4, 6], unknown, threshold=0.5, kind="edl", evidence="relu")
    assert rep["kind"] == "edl" and rep["threshold"] == 0.5
    assert rep["closed_set_accuracy"] == pytest.approx(2 / 3)
    u_known = scores_from_logits(known, "edl", "relu")["uncertainty"]
    assert rep["known_uncertainty"] == pytest.approx(u_known.tolist())
    assert (rep["num_known"], rep["num_unknown"], rep["num_unknown_classes"]) == (3, 2, 2)
    assert set(rep["openness"]) == {"openness", "macro_f1", "std"} and len(rep["openness"]["macro_f1"]) == 3
    soft = openset_report([0, 1, 0], known, [4, 6], unknown, train_logits=known, kind="softmax", keep_ratio=0.5)
    train_u = scores_from_logits(known, "softmax")["uncertainty"]
    assert soft["threshold"] == pytest.approx(uncertainty_threshold(train_u, 0.5))
    a = openset_report([0, 1, 0], known, [4, 6], unknown, threshold=0.5, num_rand=1, seed=1)
    b = openset_report([0, 1, 0], known, [4, 6], unknown, threshold=0.5, num_rand=1, seed=1)
    assert a["open_maF1"] == b["open_maF1"]
    with pytest.raises(ValueError, match="^a ROC curve needs known and unknown samples$"):
        roc_curve([], [0.1])
    with pytest.raises(ValueError, match="known and unknown"):
        roc_curve([0.1], [])
    fpr, tpr = roc_curve([0.1, 0.5], [0.5, 0.9])
    assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0] and tpr.tolist() == [0.0, 0.5, 1.0, 1.0]


def test_openset_report_defaults_and_evidence_reach_every_score():
    from internvideo_core.eval.openset import openset_report, scores_from_logits

    known = torch.tensor([[3.0, 0.0], [0.0, 3.0], [0.0, 0.5]])
    unknown = torch.tensor([[0.0, 0.0], [0.2, 0.0], [3.0, 0.0], [0.0, 3.0], [0.1, 0.1]])
    args = ([0, 1, 0], known, [4, 6, 8, 9, 10], unknown)
    default = openset_report(*args, threshold=0.5)["open_maF1"]
    assert default == openset_report(*args, threshold=0.5, num_rand=10, seed=123)["open_maF1"]
    assert default != openset_report(*args, threshold=0.5, num_rand=11)["open_maF1"]
    assert default != openset_report(*args, threshold=0.5, seed=124)["open_maF1"]
    rep = openset_report(*args, train_logits=known, evidence="relu", keep_ratio=0.5)
    relu = {name: scores_from_logits(x, "edl", "relu")["uncertainty"] for name, x in (("k", known), ("u", unknown))}
    assert rep["unknown_uncertainty"] == pytest.approx(relu["u"].tolist())
    assert rep["known_uncertainty"] == pytest.approx(relu["k"].tolist())
    assert rep["threshold"] == pytest.approx(uncertainty_threshold(relu["k"], 0.5))
    assert set(rep) == {"kind", "closed_set_accuracy", "auroc", "threshold", "open_set_macro_f1", "open_maF1",
                        "open_maF1_std", "openness", "known_uncertainty", "unknown_uncertainty", "num_known",
                        "num_unknown", "num_unknown_classes"}
    assert rep["open_maF1_std"] == pytest.approx(
        openset_report(*args, train_logits=known, evidence="relu", keep_ratio=0.5)["open_maF1_std"]) and \
        rep["open_maF1_std"] > 0


def test_openness_curve_defaults_are_the_official_ten_draws_with_seed_123():
    kl = np.array([0, 1])
    args = (kl, kl, np.array([0.1, 0.1]), np.array([0, 1, 2, 3]), np.array([0, 0, 1, 0]), np.array([0.9, 0.1, 0.9, 0.1]))
    kw = dict(threshold=0.5, num_known_classes=2, num_unknown_classes=4)
    default = open_macro_f1_openness(*args, **kw)["open_maF1"]
    assert default == open_macro_f1_openness(*args, **kw, num_rand=10, seed=123)["open_maF1"]
    assert default != open_macro_f1_openness(*args, **kw, num_rand=11)["open_maF1"]
    assert default != open_macro_f1_openness(*args, **kw, seed=124)["open_maF1"]


def test_accuracy_by_type_is_hits_over_total():
    r = qa_accuracy_by_type(["a", "a", "x", "x", "b"], ["a", "a", "c", "c", "b"], ["what"] * 4 + ["who"])
    assert r == {"what": 50.0, "who": 100.0}  # 2 of 4, 1 of 1


def test_open_set_functions_flatten_column_vectors_to_the_one_dimensional_result():
    """A per-sample output kept as a ``[N, 1]`` column (``u.unsqueeze(1)``, a one-column frame) is read as ``[N]``:
    every argument, one at a time, gives the same number as the flat input."""
    from internvideo_core.eval.openset import openset_report

    def col(x):
        return np.asarray(x)[:, None]

    labels, scores = np.array([0, 1, 0, 1, 1]), np.array([0.1, 0.8, 0.4, 0.4, 0.9])
    flat = binary_auroc(labels, scores)
    assert binary_auroc(col(labels), scores) == flat and binary_auroc(labels, col(scores)) == flat
    k, u = np.array([0.1, 0.4, 0.35]), np.array([0.8, 0.4])
    assert open_set_auroc(col(k), u) == open_set_auroc(k, col(u)) == open_set_auroc(k, u) == pytest.approx(5.5 / 6)
    y, p = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0])
    assert macro_f1(col(y), p) == macro_f1(y, col(p)) == macro_f1(y, p)
    unc = np.array([0.1, 0.9, 0.8, 0.2, 0.7])
    args = [y, p, unc]
    expected = open_set_macro_f1(*args, 0.5, num_known_classes=2)
    for i in range(3):
        assert open_set_macro_f1(*[col(a) if j == i else a for j, a in enumerate(args)], 0.5, 2) == expected, i
    kl, kp, ku = np.array([0, 1, 2, 0]), np.array([0, 2, 2, 0]), np.array([0.1, 0.9, 0.2, 0.1])
    ul, up, uu = np.array([0, 1, 1, 2]), np.array([1, 0, 1, 2]), np.array([0.9, 0.1, 0.9, 0.6])
    args = [kl, kp, ku, ul, up, uu]
    expected = open_macro_f1_openness(*args, 0.5, 3, 3, num_rand=3)
    for i in range(6):
        got = open_macro_f1_openness(*[col(a) if j == i else a for j, a in enumerate(args)], 0.5, 3, 3, num_rand=3)
        assert got == expected, i
    known = torch.tensor([[3.0, 0.0], [0.0, 3.0], [0.0, 0.5]])
    unknown = torch.tensor([[0.0, 0.0], [0.2, 0.0]])
    rep = openset_report([0, 1, 0], known, [4, 6], unknown, threshold=0.5)
    assert openset_report(col([0, 1, 0]), known, [4, 6], unknown, threshold=0.5) == rep
    assert openset_report([0, 1, 0], known, col([4, 6]), unknown, threshold=0.5) == rep
    assert rep["closed_set_accuracy"] == pytest.approx(2 / 3)


def test_open_maf1_is_the_official_openness_weighted_mean_of_the_curve_bit_for_bit():
    """compare_openness.py: ``w = openness / 100.``, ``sum(w * F1) / sum(w)`` (and the same for the std), exactly."""
    for seed in range(5):
        rng = np.random.default_rng(seed)
        kl = rng.integers(0, 5, 60)
        kp = np.where(rng.random(60) < 0.7, kl, rng.integers(0, 5, 60))
        ul, up = rng.integers(0, 6, 40), rng.integers(0, 5, 40)
        r = open_macro_f1_openness(kl, kp, rng.random(60), ul, up, rng.random(40), 0.6, 5, 6, num_rand=4, seed=seed)
        w = np.array(r["openness"]) / 100.0
        assert r["open_maF1"] == np.sum(w * np.array(r["macro_f1"])) / np.sum(w), seed
        assert r["open_maF1_std"] == np.sum(w * np.array(r["std"])) / np.sum(w), seed
