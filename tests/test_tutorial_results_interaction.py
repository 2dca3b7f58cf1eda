"""Claims of notebook 11 (model interaction), checked on its tutorial-profile results (``make run``, or
``internvideo notebooks run --profile tutorial --only 11``).

Measured on branch h/nb1113 (seed 0, 25 epochs per classifier; 113 s CPU, 576 s wall on the loaded shared machine):
VideoMAE alone 42.2 %, InternVideo-MM alone 57.2 % (colour 100 %, direction at that level), late fusion 60.6 %,
concatenation 65.0 %, cross-model attention 75.6 % (215,948 trained parameters), the control "same blocks, own tokens"
80.0 % (220,044). With 40 epochs (integrated main of 2026-12-05, 126 s wall idle, 178 s CPU): 43.9 / 61.1 alone, 64.4 /
68.9 fused, 77.8 cross-model attention, 84.4 the control. Seed 1 (other clips, 40 epochs): 31.7 / 39.4 alone, 40.0
late fusion, 42.8 concatenation, 67.2 cross-model attention, 71.1 the control. So the interaction beats both single
encoders and both fusions, and does not beat the control: the gain comes from trainable attention over the frozen
tokens, not from the crossing. The CPU time is what is asserted (the wall time depends on the machine's load).
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.tutorial_results

CMA, CTRL = "cross-model attention", "same blocks, own tokens"
SINGLE = ("VideoMAE alone", "InternVideo-MM alone")
FUSION = ("late fusion (mean logits)", "concatenation (no CMA)")


def test_11_zero_gates_start_from_the_exact_frozen_encoders(tutorial_results):
    assert tutorial_results("11_model_interaction")["step0_identical"] is True


def test_11_each_encoder_alone_reads_colour_but_not_direction(tutorial_results):
    r = tutorial_results("11_model_interaction")
    for name in SINGLE:
        assert r[f"{name}_colour"] >= 95.0, r
        assert r[f"{name}_direction"] <= min(70.0, r[f"{name}_colour"] - 30.0), r  # chance 25 %: only partly
        assert r[f"{name}_top1"] >= 3 * r["chance_top1"], r


def test_11_cross_model_attention_beats_single_encoders_and_fusions_but_not_the_own_token_control(tutorial_results):
    r = tutorial_results("11_model_interaction")
    best_single = max(r[f"{n}_top1"] for n in SINGLE)
    assert r[f"{CMA}_top1"] >= best_single + 15.0, r
    for name in FUSION:
        assert r[f"{CMA}_top1"] >= r[f"{name}_top1"] + 5.0, r
        assert r[f"{name}_top1"] >= best_single, r           # fusing the frozen features helps a little
    # what the notebook states: the crossing itself brings no clear gain over the same capacity on own tokens
    assert abs(r[f"{CMA}_top1"] - r[f"{CTRL}_top1"]) <= 10.0, r
    assert r["cma_beats_single"] and r["cma_beats_late_fusion"] and r["cma_beats_concatenation"]
    # trained parameters: the attention models are ~100x the linear heads, the control matches the CMA model
    assert r[f"{CMA}_params"] > 50 * r["late fusion (mean logits)_params"]
    assert abs(r[f"{CTRL}_params"] - r[f"{CMA}_params"]) / r[f"{CMA}_params"] < 0.05
    assert all(g > 0 for d in ("to_mae", "to_mm") for g in r["gates"][d])  # the gates opened


def test_11_runs_within_the_tutorial_budget(tutorial_results):
    r = tutorial_results("11_model_interaction")
    # budget of issue 15 (the whole tutorial under 20 minutes): ~110 s of CPU, with room for a loaded machine
    assert r["cpu_seconds"] < 150, "notebook 11 must stay under ~150 s of CPU time in the tutorial profile"
