"""Claims of notebook 12 (Ego4D episodic memory), checked on its tutorial-profile results.

Thresholds leave room for run-to-run noise on a shared CPU. Measured on branch h/nb1113 (seed 0; snippet features
extracted from the mp4 clips by the kit's extractor, 15 epochs at batch 64): span predictor R@1 18.9 / 15.4, R@5
44.6 / 35.0 at IoU 0.3 / 0.5, mIoU 12.6; text-only prior 9.8 / 7.1, 24.5 / 13.0, 5.9; random windows 8.1 / 4.9,
31.6 / 21.8, 5.4; 129 s of CPU (709 s wall at load average 20).
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.tutorial_results


def test_12_long_videos_and_enough_queries(tutorial_results):
    r = tutorial_results("12_ego4d_episodic_memory")
    assert r["video_minutes"] >= 2.0, r                  # minutes of simulated time per video
    assert r["val_queries"] >= 300 and r["train_queries"] >= 1000, r
    assert r["final_loss"] < 0.9 * r["first_loss"], r   # CE over ~48 start and end cells + highlight, with dropout
    assert r["look_inside_equal"] is True
    assert r["oracle_mq_average_mAP"] == pytest.approx(1.0)


def test_12_snippet_features_come_from_the_kits_extractor_with_the_snippet_protocol(tutorial_results):
    """The features are what `internvideo extract-features` writes for the mp4 clips (4 frames 5 apart, a snippet
    every 8 frames: (384 - 16) // 8 + 1 = 47 per 3.2-minute video), read back with the kit's feature loader."""
    r = tutorial_results("12_ego4d_episodic_memory")
    assert r["features_from"].startswith("internvideo_core.features (extract-features)"), r
    assert r["snippet_protocol"] == {"clip_len": 4, "frame_interval": 5, "stride": 8, "size": 48, "short_side": 48}
    assert r["snippets_per_video"] == 47, r


def test_12_span_predictor_beats_text_only_and_random_windows_at_both_ious(tutorial_results):
    r = tutorial_results("12_ego4d_episodic_memory")
    for k in ("R@1,IoU=0.3", "R@1,IoU=0.5", "R@5,IoU=0.3", "R@5,IoU=0.5", "mIoU"):
        best_baseline = max(r[f"text_{k}"], r[f"random_{k}"])
        assert r[f"model_{k}"] > best_baseline + 5.0, (k, r)
    for k in ("R@1,IoU=0.3", "R@1,IoU=0.5"):
        assert r[f"model_{k}"] > 1.8 * max(r[f"text_{k}"], r[f"random_{k}"]), (k, r)
    # the official ordering of the metrics: R@5 >= R@1, IoU 0.3 >= IoU 0.5
    assert r["model_R@5,IoU=0.3"] >= r["model_R@1,IoU=0.3"] >= r["model_R@1,IoU=0.5"]
    assert r["model_R@5,IoU=0.3"] >= r["model_R@5,IoU=0.5"]


def test_12_runs_within_the_tutorial_budget(tutorial_results):
    """Under 6 minutes on an idle 2-core machine; the kernel's CPU time is the machine-independent check (on the
    shared, loaded development machine the wall time says little: 709 s wall for 129 s CPU at load 20)."""
    r = tutorial_results("12_ego4d_episodic_memory")
    assert r["cpu_seconds"] < 200, r    # issue 15's budget: ~150 s of CPU (129 s measured), room for a loaded machine
    if r["load_average_at_start"] < 2.5:
        assert r["seconds"] < 6 * 60, "notebook 12 must run in under 6 minutes in the tutorial profile"
