"""Retrieval metrics: official reference vectors, tie rules, multi-caption handling, dual softmax."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from internvideo_core.eval.retrieval import dual_softmax, query_ranks, retrieval_metrics

KEYMAP = {"R1": "R1", "R5": "R5", "R10": "R10", "MdR": "MR", "MnR": "MeanR"}


def _close(got: dict, exp: dict, rel: float = 1e-6) -> None:
    for ours, theirs in KEYMAP.items():
        assert got[ours] == pytest.approx(exp[theirs], rel=rel, abs=1e-12), (ours, got, exp)


@pytest.fixture(scope="module")
def official_cases(official_dir):
    return json.loads((official_dir / "retrieval_metric_vectors.json").read_text())["cases"]


def test_matches_official_vectors(official_cases):
    assert len(official_cases) >= 2
    for case in official_cases:
        sim = case["sim_text_by_video"]
        plain = retrieval_metrics(sim)
        dsl = retrieval_metrics(sim, dsl=True)
        _close(plain["t2v"], case["t2v"])
        _close(plain["v2t"], case["v2t"])
        _close(dsl["t2v"], case["t2v_dsl"])
        _close(dsl["v2t"], case["v2t_dsl"])


def test_accepts_torch_float32(official_cases):
    case = official_cases[1]
    sim = torch.tensor(case["sim_text_by_video"], dtype=torch.float32)
    _close(retrieval_metrics(sim)["t2v"], case["t2v"])


# ---- the official compute_metrics, re-derived from InternVideo1 metrics.py, as an independent reference ----
def _official_compute_metrics(x: np.ndarray) -> dict:
    sx = np.sort(-x, axis=1)
    d = np.diag(-x)[:, None]
    ind = np.where((sx - d) == 0)[1]
    return {"R1": np.sum(ind == 0) * 100 / len(ind), "R5": np.sum(ind < 5) * 100 / len(ind),
            "R10": np.sum(ind < 10) * 100 / len(ind), "MR": np.median(ind) + 1, "MeanR": np.mean(ind) + 1}


def test_tie_matrix_rules():
    # rows are texts; text 0 ties between videos 0 and 1, text 1 between 1 and 2, text 2 is beaten once
    sim = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0], [3.0, 0.0, 1.0]])
    official = retrieval_metrics(sim, ties="official")["t2v"]
    # official expands each tie into all tied positions: ranks [0, 1, 0, 1, 1]
    assert official["R1"] == pytest.approx(40.0)
    assert official["MdR"] == 2.0 and official["MnR"] == pytest.approx(1.6)
    _close(official, _official_compute_metrics(sim))
    opt = retrieval_metrics(sim, ties="optimistic")["t2v"]
    assert opt["R1"] == pytest.approx(200 / 3) and opt["MdR"] == 1.0 and opt["MnR"] == pytest.approx(4 / 3)
    pess = retrieval_metrics(sim, ties="pessimistic")["t2v"]
    assert pess["R1"] == 0.0 and pess["MdR"] == 2.0 and pess["MnR"] == 2.0
    mean = retrieval_metrics(sim, ties="mean")["t2v"]
    assert mean["R1"] == pytest.approx(200 / 3) and mean["MdR"] == 1.5 and mean["MnR"] == pytest.approx(5 / 3)
    with pytest.raises(ValueError, match="ties"):
        retrieval_metrics(sim, ties="random")


def test_official_rule_matches_reference_on_random_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        sim = rng.integers(0, 4, size=(12, 12)).astype(np.float64)  # many ties
        got = retrieval_metrics(sim)
        _close(got["t2v"], _official_compute_metrics(sim))
        _close(got["v2t"], _official_compute_metrics(sim.T))


def test_no_ties_all_rules_agree():
    sim = np.random.default_rng(1).normal(size=(15, 15))
    results = [retrieval_metrics(sim, ties=t) for t in ("official", "optimistic", "pessimistic", "mean")]
    for r in results[1:]:
        assert r == results[0]


def test_dual_softmax_definition():
    sim = np.random.default_rng(2).normal(size=(5, 5))
    col_soft = np.exp(sim) / np.exp(sim).sum(axis=0, keepdims=True)
    np.testing.assert_allclose(dual_softmax(sim), sim * col_soft, rtol=1e-12)
    # dsl re-ranks: v2t uses the softmax of sim.T over its own columns
    got = retrieval_metrics(sim, dsl=True)["v2t"]
    _close(got, _official_compute_metrics(sim.T * (np.exp(sim.T) / np.exp(sim.T).sum(axis=0, keepdims=True))))


# ---- multi-caption (official tensor_text_to_video_metrics / tensor_video_to_text_sim), re-derived ----
def _official_multi(sim: np.ndarray, counts: list[int]) -> tuple[dict, dict]:
    n_videos = len(counts)
    max_len = max(counts)
    stacked = np.full((n_videos, max_len, sim.shape[1]), -np.inf)
    start = 0
    for g, c in enumerate(counts):
        stacked[g, :c] = sim[start:start + c]
        start += c
    t = torch.tensor(stacked)
    first = torch.argsort(t.permute(1, 0, 2), dim=-1, descending=True, stable=True)
    second = torch.argsort(first, dim=-1)
    ranks = torch.flatten(torch.diagonal(second, dim1=1, dim2=2))
    data = torch.flatten(torch.diagonal(t, dim1=0, dim2=2))
    valid = ranks[~(torch.isinf(data) | torch.isnan(data))]
    t2v = {f"R{k}": float(torch.sum(valid < k) * 100 / len(valid)) for k in (1, 5, 10)}
    t2v["MR"] = float(torch.median(valid + 1))
    t2v["MeanR"] = float(np.mean(valid.numpy() + 1))
    grouped = torch.max(t, dim=1).values.T.numpy()
    return t2v, _official_compute_metrics(grouped)


def test_multi_caption_hand_case():
    sim = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.5]])  # texts 0, 1 describe video 0; text 2 video 1
    r = retrieval_metrics(sim, text_to_video=[0, 0, 1])
    assert r["t2v"]["R1"] == pytest.approx(200 / 3)
    assert r["t2v"]["MdR"] == 1.0  # lower median of ranks [0, 0, 1]
    assert r["t2v"]["MnR"] == pytest.approx(4 / 3)
    # v2t: video 1's best caption (0.5) loses to video 0's best caption towards video 1 (0.8)
    assert r["v2t"]["R1"] == 50.0 and r["v2t"]["MdR"] == 1.5


@pytest.mark.parametrize("dsl", [False, True])
def test_multi_caption_matches_official(dsl):
    rng = np.random.default_rng(3)
    counts = [3, 1, 2, 4, 2, 2, 1, 3]
    n_videos = len(counts)
    text_to_video = np.repeat(np.arange(n_videos), counts)
    sim = rng.normal(size=(len(text_to_video), n_videos)) * 3
    sim[0, 1] = sim[0, 0]  # a tie
    ref_in = sim * (np.exp(sim) / np.exp(sim).sum(axis=0, keepdims=True)) if dsl else sim
    t2v_ref, v2t_ref = _official_multi(ref_in, counts)
    got = retrieval_metrics(sim, dsl=dsl, text_to_video=text_to_video)
    _close(got["t2v"], t2v_ref)
    _close(got["v2t"], v2t_ref)
    # captions need not be contiguous: shuffling the texts changes nothing
    perm = rng.permutation(len(text_to_video))
    if not dsl:  # (a tie's official order depends on video index only, so shuffling texts is safe)
        assert retrieval_metrics(sim[perm], text_to_video=text_to_video[perm]) == got


def test_lower_median_differs_from_numpy_median():
    # ranks 0, 0, 1, 3: the multi-caption path (torch.median) gives MdR 1, the 1:1 path (np.median) 1.5
    sim = np.array([[0.9, 0.1, 0.0, 0.2], [0.1, 0.9, 0.0, 0.0], [0.5, 0.0, 0.3, 0.0], [0.9, 0.8, 0.7, 0.1]])
    multi = retrieval_metrics(sim, text_to_video=[0, 1, 2, 3])["t2v"]
    square = retrieval_metrics(sim)["t2v"]
    assert multi["MdR"] == 1.0 and square["MdR"] == 1.5
    assert multi["MnR"] == square["MnR"] == 2.0


def test_errors_are_actionable():
    with pytest.raises(ValueError, match="text_to_video"):
        retrieval_metrics(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="without any caption"):
        retrieval_metrics(np.zeros((3, 3)), text_to_video=[0, 0, 1])
    with pytest.raises(ValueError, match="one entry per text"):
        retrieval_metrics(np.zeros((3, 3)), text_to_video=[0, 1])


def test_query_ranks_direct():
    sim = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
    np.testing.assert_array_equal(query_ranks(sim, [0, 0], ties="optimistic"), [2, 0])


def test_blocked_tie_counts_match_unblocked():
    from internvideo_core.eval.retrieval import _tie_counts

    rng = np.random.default_rng(5)
    sim = rng.integers(0, 5, size=(50, 30)).astype(np.float64)
    tgt = rng.integers(0, 30, size=50)
    for a, b in zip(_tie_counts(sim, tgt, block=7), _tie_counts(sim, tgt, block=4096)):
        np.testing.assert_array_equal(a, b)
    greater, equal, left = _tie_counts(sim, tgt)
    row = sim[0]
    assert greater[0] == np.sum(row > row[tgt[0]]) and equal[0] == np.sum(row == row[tgt[0]])
    assert left[0] == np.sum(row[: tgt[0]] == row[tgt[0]])


def test_recall_cut_offs_sit_exactly_on_ranks_1_5_10():
    from internvideo_core.eval.retrieval import metrics_from_ranks

    m = metrics_from_ranks([0, 1, 4, 5, 9, 10, 10, 3])
    assert m == {"R1": 12.5, "R5": 50.0, "R10": 75.0, "MdR": 5.5, "MnR": 6.25}
    assert metrics_from_ranks([0, 1, 4, 5], median="lower")["MdR"] == 2.0
    assert metrics_from_ranks([0, 1, 4], median="lower")["MdR"] == 2.0
    with pytest.raises(ValueError, match=r"^no ranks to summarise \(empty similarity matrix\?\)$"):
        metrics_from_ranks([])
    with pytest.raises(ValueError, match="median must be"):
        metrics_from_ranks([1], median="upper")


def test_query_ranks_checks_its_arguments_and_tie_rules():
    with pytest.raises(ValueError, match="2-D"):
        query_ranks(np.zeros(3))
    with pytest.raises(ValueError, match="more rows than columns"):
        query_ranks(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="ties must be one of"):
        query_ranks(np.zeros((2, 2)), ties="random")
    with pytest.raises(ValueError, match="official_style"):
        query_ranks(np.zeros((2, 2)), official_style="sorted")
    with pytest.raises(ValueError, match="num_texts, num_videos"):
        retrieval_metrics(np.zeros(3))
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        retrieval_metrics(np.zeros((3, 3)), text_to_video=[0, 1, 3])
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        retrieval_metrics(np.zeros((3, 3)), text_to_video=[0, -1, 2])
    # a row whose target ties with two others at the top, the target in the middle
    sim = np.array([[1.0, 1.0, 1.0, 0.0]])
    assert query_ranks(sim, [1], ties="optimistic").tolist() == [0]
    assert query_ranks(sim, np.array([1.0]), ties="pessimistic").tolist() == [2]  # float column ids are cast
    assert query_ranks(sim, [1], ties="pessimistic").tolist() == [2]
    assert query_ranks(sim, [1], ties="mean").tolist() == [1.0]
    assert query_ranks(sim, [1], official_style="index").tolist() == [1]
    assert query_ranks(sim, [1]).tolist() == [0, 1, 2]
    assert query_ranks(np.array([[0.0, 2.0, 2.0], [3.0, 3.0, 0.0]]), [2, 0]).tolist() == [0, 1, 0, 1]


def test_dual_softmax_is_a_column_softmax_times_the_similarity():
    from internvideo_core.eval.retrieval import dual_softmax

    sim = np.array([[1000.0, 0.0], [1000.0, 0.0]])  # large logits: the softmax must be shifted to stay finite
    np.testing.assert_allclose(dual_softmax(sim), [[500.0, 0.0], [500.0, 0.0]])
    sim = np.log(np.array([[1.0, 3.0], [3.0, 1.0]]))
    np.testing.assert_allclose(dual_softmax(sim), sim * np.array([[0.25, 0.75], [0.75, 0.25]]))


def test_multi_caption_checks_name_the_problem_exactly():
    with pytest.raises(ValueError, match=r"^sim is 4 texts x 3 videos but no text_to_video was given"):
        retrieval_metrics(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"videos without any caption \(first few: \[2\]\)"):
        retrieval_metrics(np.zeros((3, 3)), text_to_video=[0, 0, 1])
    with pytest.raises(ValueError, match=r"videos without any caption \(first few: \[0, 1\]\)"):
        retrieval_metrics(np.zeros((0, 2)), text_to_video=[])
    # one video with all the captions: ids 0 are valid for n_videos == 1
    r = retrieval_metrics(np.array([[0.5], [0.2]]), text_to_video=[0, 0])
    assert r["t2v"]["R1"] == 100.0 and r["v2t"]["R1"] == 100.0
    # float video ids (e.g. read from a float array) are cast
    r = retrieval_metrics(np.eye(2), text_to_video=np.array([0.0, 1.0]))
    assert r["t2v"]["R1"] == 100.0


def test_tie_rule_applies_to_both_directions():
    sim = np.array([[1.0, 1.0], [0.0, 1.0]])
    # v2t: video 1's caption ties with caption 0 at the top
    assert retrieval_metrics(sim, ties="optimistic")["v2t"]["R1"] == 100.0
    assert retrieval_metrics(sim, ties="pessimistic")["v2t"]["R1"] == 50.0
    assert retrieval_metrics(sim)["v2t"]["R1"] == pytest.approx(200 / 3)  # official: one entry per tied position


def test_multi_caption_path_lists_five_missing_videos_and_uses_the_tie_rule():
    with pytest.raises(ValueError, match=r"first few: \[1, 2, 3, 4, 5\]\)"):
        retrieval_metrics(np.zeros((1, 7)), text_to_video=[0])
    sim = np.array([[1.0, 1.0], [0.0, 1.0]])
    assert retrieval_metrics(sim, text_to_video=[0, 1])["t2v"]["R1"] == 100.0  # official: index order
    assert retrieval_metrics(sim, text_to_video=[0, 1], ties="pessimistic")["t2v"]["R1"] == 50.0
    assert retrieval_metrics(sim, text_to_video=[0, 1], ties="optimistic")["v2t"]["R1"] == 100.0
    assert retrieval_metrics(sim, text_to_video=[0, 1])["v2t"]["R1"] == pytest.approx(200 / 3)


def test_ranks_are_integers_except_the_mean_rule():
    sim = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]])
    for ties, style in (("optimistic", "expand"), ("pessimistic", "expand"), ("official", "index"),
                        ("official", "expand")):
        assert query_ranks(sim, [1, 2], ties=ties, official_style=style).dtype == np.int64, (ties, style)
    assert query_ranks(sim, [1, 2], ties="mean").tolist() == [0.5, 0.5]


def test_rank_summaries_are_computed_in_float64_whatever_the_rank_dtype():
    from internvideo_core.eval.retrieval import metrics_from_ranks

    # float32 ranks (e.g. tie-averaged ranks computed in a float32 tensor): 1/3 must not be rounded to float32
    m = metrics_from_ranks(np.array([0.0, 0.0, 1.0], dtype=np.float32))
    assert m["MnR"] == 1.0 + 1.0 / 3.0
    assert m == metrics_from_ranks([0, 0, 1])
    assert metrics_from_ranks(np.array([0.0, 0.5], dtype=np.float16))["MnR"] == 1.25
