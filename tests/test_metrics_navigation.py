"""VLN metrics on hand-made paths with values worked out by hand (R2R eval.py for NE/SR/OSR/SPL, r4r dtw.py for
nDTW/SDTW), including the on-threshold case where the two references compare differently (< vs <=)."""
from __future__ import annotations

import itertools
import math
import random

import pytest

from internvideo_core.eval.navigation import (METRIC_KEYS, dtw, navigation_metrics, navigation_metrics_batch,
                                              path_length)


def manhattan(a, b):
    """Shortest-path distance on a full 4-connected grid graph (networkx.grid_graph in r4r's doctest)."""
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def brute_force_dtw(pred, ref, distance):
    """Minimum over every monotone warping path from (0, 0) to (n-1, m-1), by enumeration."""
    n, m = len(pred), len(ref)
    best = math.inf

    def walk(i, j, acc):
        nonlocal best
        acc += distance(pred[i], ref[j])
        if (i, j) == (n - 1, m - 1):
            best = min(best, acc)
            return
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            if i + di < n and j + dj < m:
                walk(i + di, j + dj, acc)

    walk(0, 0, 0.0)
    return best


def test_r4r_doctest_values_are_reproduced_with_the_grid_graph_distance():
    prediction = [(0, 0), (1, 0), (2, 0), (3, 0)]
    reference = [(0, 0), (1, 0), (2, 1), (3, 2)]
    assert dtw(prediction, reference, manhattan) == pytest.approx(3.0)
    m = navigation_metrics(prediction, reference, 3.0, distance=manhattan)
    assert m["nDTW"] == pytest.approx(0.77880078307140488)
    assert m["SDTW"] == pytest.approx(0.77880078307140488)
    assert navigation_metrics(prediction[:2], reference, 3.0, distance=manhattan)["SDTW"] == 0.0


def test_a_successful_euclidean_path_has_the_hand_computed_values():
    pred = [(0, 0), (1, 0), (1, 1)]
    ref = [(0, 0), (0, 1), (1, 1)]
    # DTW table by hand: the diagonal warp (0,0)-(1,1)-(2,2) costs 0 + sqrt(2) + 0
    assert dtw(pred, ref) == pytest.approx(math.sqrt(2))
    m = navigation_metrics(pred, ref, 1.5)
    assert m["NE"] == 0.0 and m["SR"] == 1.0 and m["OSR"] == 1.0
    assert m["SPL"] == pytest.approx(1.0)                       # both paths have length 2
    assert m["nDTW"] == pytest.approx(math.exp(-math.sqrt(2) / (1.5 * 3)))
    assert m["SDTW"] == pytest.approx(m["nDTW"])


def test_on_the_threshold_sr_and_osr_fail_but_sdtw_succeeds():
    """R2R counts success with `nav_error < margin`, r4r's SDTW with `distance <= threshold`."""
    pred = [(0, 0), (1, 0)]
    ref = [(0, 0), (1, 0), (2, 0), (3, 0)]
    m = navigation_metrics(pred, ref, 2.0)
    assert m["NE"] == 2.0
    assert m["SR"] == 0.0 and m["OSR"] == 0.0 and m["SPL"] == 0.0
    assert dtw(pred, ref) == pytest.approx(3.0)               # rows 0 1 3 6 / 1 0 1 3
    assert m["nDTW"] == pytest.approx(math.exp(-3.0 / (2.0 * 4)))
    assert m["SDTW"] == pytest.approx(m["nDTW"]) and m["SDTW"] > 0
    just_inside = navigation_metrics(pred, ref, 2.0 + 1e-9)
    assert just_inside["SR"] == 1.0 and just_inside["OSR"] == 1.0


def test_spl_divides_the_shortest_length_by_the_longer_of_the_two():
    ref = [(0, 0), (1, 0), (2, 0)]                              # length 2
    detour = [(0, 0), (0, 1), (1, 1), (2, 1), (2, 0)]           # length 4, ends on the goal
    m = navigation_metrics(detour, ref, 1.0)
    assert path_length(detour) == 4.0
    assert m["SR"] == 1.0 and m["SPL"] == pytest.approx(2.0 / 4.0)
    # turning in place repeats a position and adds no length
    m2 = navigation_metrics([(0, 0), (0, 0), (1, 0), (1, 0), (2, 0)], ref, 1.0)
    assert m2["SPL"] == pytest.approx(1.0)


def test_oracle_success_counts_the_nearest_position_even_when_the_agent_walks_away():
    ref = [(0, 0), (1, 0), (2, 0)]
    pred = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0)]     # passes the goal, stops 3 cells further
    m = navigation_metrics(pred, ref, 1.5)
    assert m["NE"] == 3.0 and m["SR"] == 0.0 and m["SPL"] == 0.0 and m["SDTW"] == 0.0
    assert m["OSR"] == 1.0
    assert 0.0 < m["nDTW"] < 1.0


def test_the_reference_itself_scores_perfectly():
    ref = [(2, 3), (2, 3), (3, 3), (4, 3), (4, 4)]
    m = navigation_metrics(ref, ref, 1.0)
    assert m == {"SR": 1.0, "SPL": 1.0, "NE": 0.0, "OSR": 1.0, "nDTW": 1.0, "SDTW": 1.0}


def test_dynamic_programming_equals_the_minimum_over_all_warping_paths():
    rng = random.Random(0)
    for _ in range(60):
        pred = [(rng.randint(0, 4), rng.randint(0, 4)) for _ in range(rng.randint(1, 5))]
        ref = [(rng.randint(0, 4), rng.randint(0, 4)) for _ in range(rng.randint(1, 5))]
        for distance in (manhattan, math.dist):
            assert dtw(pred, ref, distance) == pytest.approx(brute_force_dtw(pred, ref, distance))


def test_the_batch_form_averages_each_metric_over_episodes():
    episodes = [
        ([(0, 0), (1, 0)], [(0, 0), (1, 0), (2, 0), (3, 0)]),
        ([(0, 0), (1, 0), (1, 1)], [(0, 0), (0, 1), (1, 1)]),
        ([(5, 5)], [(5, 5), (5, 6)]),
    ]
    single = [navigation_metrics(p, r, 2.0) for p, r in episodes]
    batch = navigation_metrics_batch([p for p, _ in episodes], [r for _, r in episodes], 2.0)
    assert set(batch) == set(METRIC_KEYS)
    for key in METRIC_KEYS:
        assert batch[key] == pytest.approx(sum(s[key] for s in single) / 3)
    assert batch["SR"] == pytest.approx(2 / 3)                  # 2.0 away fails, 0 and 1 away succeed


def test_positions_may_be_numpy_arrays_and_three_dimensional():
    np = pytest.importorskip("numpy")
    pred = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    ref = [(0, 0, 0), (0, 0, 1)]
    assert navigation_metrics(pred, ref, 0.5)["SR"] == 1.0


@pytest.mark.parametrize("pred, ref, match", [
    ([(1, 0)], [(0, 0), (1, 0)], "starts at"),
    ([], [(0, 0)], "empty"),
    ([(0, 0), (1, 0, 0)], [(0, 0)], "mixes"),
])
def test_malformed_paths_are_refused_with_a_clear_message(pred, ref, match):
    with pytest.raises(ValueError, match=match):
        navigation_metrics(pred, ref, 1.0)


def test_batch_form_refuses_mismatched_episode_counts():
    with pytest.raises(ValueError, match="one each"):
        navigation_metrics_batch([[(0, 0)]], [], 1.0)
    with pytest.raises(ValueError, match="positive"):
        navigation_metrics([(0, 0)], [(0, 0)], 0.0)


def test_spl_never_exceeds_sr_as_r2r_asserts():
    rng = random.Random(1)
    for _ in range(40):
        start = (rng.randint(0, 3), rng.randint(0, 3))
        ref = [start] + [(rng.randint(0, 3), rng.randint(0, 3)) for _ in range(rng.randint(0, 4))]
        pred = [start] + [(rng.randint(0, 3), rng.randint(0, 3)) for _ in range(rng.randint(0, 4))]
        m = navigation_metrics(pred, ref, 1.5)
        assert m["SPL"] <= m["SR"] and m["SDTW"] <= m["nDTW"] and m["SR"] <= m["OSR"]
    assert list(itertools.islice(METRIC_KEYS, 6)) == ["SR", "SPL", "NE", "OSR", "nDTW", "SDTW"]


def test_the_given_distance_is_used_for_spl_lengths_ndtw_and_the_batch():
    """A geodesic-like distance (Manhattan) changes every length: SPL, nDTW and the batch must all use it."""
    ref = [(0, 0), (1, 1)]                                      # Manhattan length 2, Euclidean sqrt(2)
    pred = [(0, 0), (1, 1), (2, 2), (1, 1)]                     # Manhattan length 6, Euclidean 3 sqrt(2)
    m = navigation_metrics(pred, ref, 1.5, distance=manhattan)
    assert m["SR"] == 1.0 and m["SPL"] == pytest.approx(2 / 6)
    # DTW aligns (0,0)-(0,0), (1,1)-(1,1), (2,2)-(1,1), (1,1)-(1,1): Manhattan cost 2
    assert dtw(pred, ref, manhattan) == 2
    assert m["nDTW"] == pytest.approx(math.exp(-2 / (1.5 * 2))) and m["SDTW"] == m["nDTW"]
    euclid = navigation_metrics(pred, ref, 1.5)
    assert euclid["SPL"] == pytest.approx(1 / 3) and euclid["nDTW"] == pytest.approx(
        math.exp(-math.sqrt(2) / 3))
    batch = navigation_metrics_batch([pred, pred], [ref, ref], 1.5, distance=manhattan)
    assert batch == pytest.approx(m)


def test_spl_of_a_sub_unit_detour_divides_the_lengths():
    """Paths shorter than one unit (metres with small steps) still get l / max(L, l), not the success flag."""
    ref = [(0, 0), (0.5, 0)]
    pred = [(0, 0), (0.5, 0), (0.5, 0.25)]                    # length 0.75, ends 0.25 from the goal
    m = navigation_metrics(pred, ref, 0.5)
    assert m["SR"] == 1.0 and m["SPL"] == pytest.approx(0.5 / 0.75)
    stay = navigation_metrics([(1, 1)], [(1, 1)], 0.5)          # start == goal, no move: l = L = 0
    assert stay["SPL"] == 1.0 and stay["SR"] == 1.0


def test_positions_given_as_column_arrays_are_flattened():
    np = pytest.importorskip("numpy")
    pred = [np.array([[0.0], [0.0]]), np.array([[1.0], [0.0]])]     # [2, 1] each
    assert path_length(pred) == 1.0
    assert navigation_metrics(pred, [(0, 0), (1, 0)], 0.5)["SR"] == 1.0


@pytest.mark.parametrize("call, message", [
    (lambda: path_length([]), "path is empty: a path needs at least its start position"),
    (lambda: path_length([(0, 0), (0, 0, 0)]), r"path mixes positions with \[2, 3\] coordinates"),
    (lambda: dtw([], [(0, 0)]), "pred_path is empty"),
    (lambda: dtw([(0, 0)], []), "ref_path is empty"),
    (lambda: navigation_metrics([], [(0, 0)], 1.0), "pred_path is empty"),
    (lambda: navigation_metrics([(0, 0)], [], 1.0), "ref_path is empty"),
    (lambda: navigation_metrics([(0, 0)], [(0, 0, 0)], 1.0), "pred_path has 2-D positions but ref_path 3-D ones"),
    (lambda: navigation_metrics([(1, 0)], [(0, 0), (1, 0)], 1.0),
     r"pred_path starts at \(1.0, 0.0\) but ref_path at \(0.0, 0.0\): as in R2R's evaluation, the predicted path "
     "must include the episode's start position"),
    (lambda: navigation_metrics([(0, 0)], [(0, 0)], -1), "success_distance must be positive, got -1"),
    (lambda: navigation_metrics_batch([], [], 1.0), "no episodes to evaluate"),
    (lambda: navigation_metrics_batch([[(0, 0)]], [], 1.0),
     "1 predicted paths for 0 reference paths: give one each"),
])
def test_every_error_message_names_the_argument_at_fault(call, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        call()
