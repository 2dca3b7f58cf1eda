"""Claims of notebook 09 (spatio-temporal action detection, AVA protocol), checked on its tutorial-profile results
(``make run`` / ``internvideo notebooks run --profile tutorial --only 09``; ``make reproduce`` runs these tests).

Measured (seed 0, tutorial, 20 epochs per detector): frame-mAP 52.7 % from notebook 03's encoder, 42.2 % from
notebook 02's, 25.5 % for the training-prior baseline; every translation action at least 0.27 AP above its prior,
the two rotations near theirs (stated in the notebook). Run time: 187 s of kernel CPU (695 s wall on the 2-core
machine under a load average of ~19; the CPU time is what is asserted). The earlier 24-epoch recipe: 58.3 / 48.2 %
at 220 s CPU (138 s wall idle); 14 epochs (134 s CPU) gave 43.7 % and missed the translations' margin.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.tutorial_results

TRANSLATIONS = ("move left", "move right", "move up", "move down", "stay")


def test_09_detector_is_far_above_the_class_prior(tutorial_results):
    r = tutorial_results("09_spatiotemporal_action_detection")
    det, prior = r["frame_map"], r["prior_frame_map"]
    assert det - prior >= 0.2 and det >= 1.8 * prior, f"detector {det:.3f} vs prior {prior:.3f}"
    for action in TRANSLATIONS:
        assert r["per_class_ap"][action] >= r["prior_per_class_ap"][action] + 0.2, (action, r["per_class_ap"])
    # the CSV written for `internvideo eval-ava` scores the same (boxes rounded to 3 decimals)
    assert r["eval_ava_frame_map"] == pytest.approx(det, abs=1e-3)
    assert r["val_boxes"] >= 100 and r["train_keyframes"] >= 200, r


def test_09_fine_tuned_encoder_beats_pretrained_only_encoder(tutorial_results):
    r = tutorial_results("09_spatiotemporal_action_detection")
    assert r["frame_map"] > r["frame_map_from_pretrained"] > r["prior_frame_map"] + 0.1, r


def test_09_runs_within_the_tutorial_budget(tutorial_results):
    r = tutorial_results("09_spatiotemporal_action_detection")
    assert r["cpu_seconds"] < 230, "notebook 09 must need under ~230 s of CPU in the tutorial profile"
