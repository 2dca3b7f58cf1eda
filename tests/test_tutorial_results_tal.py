"""Claims of notebook 08 (temporal action localization), checked on its tutorial-profile results.

Measured (seed 0, 40 validation videos, 153 actions): head on fine-tuned features 20.1 average mAP (40.4 at
tIoU 0.5), sliding-window classification on the same features 14.6 (31.5), whole-video segments 0.0; head on
frozen-pretrained / untrained features 10.8 / 12.5 (identical on a rerun). Kernel CPU time 275 s with notebook 03's
classifier present (435 s wall on a 2-core machine shared with other jobs), 318 s when it fine-tunes the
classifier itself (1119 s wall under heavier load).
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
    # judged by the kernel's CPU time: the 2-core machine is shared, wall time depends on the load
    assert r["cpu_seconds"] < 400, "notebook 08 must stay under ~400 s of CPU time in the tutorial profile"
