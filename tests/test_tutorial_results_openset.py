"""Claims of notebook 10 (open-set recognition), checked on its tutorial-profile results (``make run``, or
``internvideo notebooks run --profile tutorial --only 10``).

Measured (seed 0, 600 training clips of the 12 known motions, 240 known test clips, 120 clips of 2 unknown motions,
8 epochs per model): EDL AUROC 0.714, closed-set 50.4 %, thresholded macro-F1 0.400; max-softmax AUROC 0.602,
closed-set 45.0 %, F1 0.326; untrained head AUROC 0.526. Kernel CPU time 106 s (581 s wall on the 2-core machine
under a load average of ~19). The earlier recipe (15 epochs, 197 s CPU / 134 s wall idle) gave EDL 0.884 / softmax
0.583 for seed 0, and with SEED = 1 on another SynthMotion draw the order of the two trained models reversed (EDL
0.680, softmax 0.754). The notebook says so; what is asserted is what holds for both recipes and seeds, plus the
seed-0 numbers it quotes.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.tutorial_results


def test_10_learned_uncertainty_separates_unknown_motions_and_the_untrained_head_does_not(tutorial_results):
    r = tutorial_results("10_open_set_recognition")
    assert r["edl_auroc"] >= 0.65, r                                  # clearly above chance (0.5)
    assert r["softmax_auroc"] >= 0.55, r                              # above chance, less clearly
    assert abs(r["untrained_auroc"] - 0.5) <= 0.15, r                 # the untrained head is at chance
    assert r["edl_auroc"] >= r["untrained_auroc"] + 0.15, r
    assert r["edl_closed_set_accuracy"] >= 4 / 12 and r["softmax_closed_set_accuracy"] >= 4 / 12, r  # 4x chance
    assert r["edl_open_set_macro_f1"] > r["untrained_open_set_macro_f1"] + 0.3, r
    assert r["edl_beats_softmax_auroc"] == (r["edl_auroc"] > r["softmax_auroc"])
    assert len(r["edl_openness"]["openness"]) == 3 and r["edl_openness"]["openness"][0] == 0.0
    assert r["num_unknown"] >= 100 and r["num_known_test"] >= 200


def test_10_seed_0_numbers_quoted_by_the_notebook(tutorial_results):
    """The notebook quotes seed 0: EDL about 0.71 vs max-softmax 0.60 AUROC (the order reversed with seed 1 once)."""
    r = tutorial_results("10_open_set_recognition")
    assert r["edl_auroc"] == pytest.approx(0.71, abs=0.05) and r["softmax_auroc"] == pytest.approx(0.60, abs=0.05)
    assert r["edl_beats_softmax_auroc"] is True


def test_10_runs_within_the_tutorial_budget(tutorial_results):
    r = tutorial_results("10_open_set_recognition")
    assert r["cpu_seconds"] < 140, "notebook 10 must stay under ~140 s of CPU time in the tutorial profile"
