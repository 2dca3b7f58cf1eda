"""Claims of notebook 08 (temporal action localization), checked on its tutorial-profile results.

Measured (seed 0, 40 validation videos, 153 actions): head on fine-tuned features 20.7 average mAP (43.8 at
tIoU 0.5), sliding-window classification on the same features 14.6 (31.5), whole-video segments 0.0; head on
frozen-pretrained / untrained features 9.8 / 14.8 (sliding window 6.0 / 9.1). Kernel CPU time 94 s with the
snippet features present (they are reused while the encoders' weights are unchanged): the three heads train on one
intra-op thread (``TALSynthRecipe.head_threads``), ~26 s of CPU each instead of ~65 s on torch's two threads (the
earlier 201 s CPU / 208 s wall of the notebook, 89 % of it head training). Wall 612 s on the 2-core machine under
a load average of ~19 (shared with other jobs); on an idle machine the wall time is about the CPU time.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.tutorial_results


def test_08_the_head_localises_far_better_than_classification_without_boundaries(tutorial_results):
    r = tutorial_results("08_temporal_action_localization")
    head, sliding = r["finetuned_head_average_mAP"], r["finetuned_sliding_window_average_mAP"]
    assert head >= 12.0, r
    assert r["finetuned_whole_video_average_mAP"] < 1.0 and head > 10 * max(r["finetuned_whole_video_average_mAP"], 1.0)
    assert head >= 1.2 * sliding, f"head {head:.1f} vs sliding window {sliding:.1f}"
    assert r["finetuned_head_mAP_at_0.5"] >= r["finetuned_sliding_window_mAP_at_0.5"] + 4.0, r
    for features in ("frozen", "untrained"):                      # boundaries help whatever the features
        assert r[f"{features}_head_average_mAP"] > r[f"{features}_sliding_window_average_mAP"], r


def test_08_fine_tuned_features_beat_frozen_and_untrained_ones(tutorial_results):
    r = tutorial_results("08_temporal_action_localization")
    assert r["finetuned_head_average_mAP"] >= r["untrained_head_average_mAP"] + 4.0, r
    assert r["finetuned_head_average_mAP"] >= r["frozen_head_average_mAP"] + 4.0, r


def test_08_runs_within_the_tutorial_budget(tutorial_results):
    r = tutorial_results("08_temporal_action_localization")
    assert r["num_val_videos"] == 40 and r["num_val_segments"] > 100, r
    # judged by the kernel's CPU time: the 2-core machine is shared, wall time depends on the load. A cold run
    # (make run from an empty runs/) also extracts the snippet features of three encoders: 193 s CPU measured
    # (2 threads, 2026-12-05); with the features cached it is about 94 s.
    assert r["cpu_seconds"] < 240, "notebook 08 must stay under ~240 s of CPU time in the tutorial profile (cold)"
