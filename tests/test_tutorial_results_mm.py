"""Claims of the video-language notebooks (04-07), checked on their tutorial-profile results (``make run``).

Each test reads the JSON written by a notebook's last cell; a missing file is a failure that says how to make it.
Thresholds leave room for run-to-run noise on a shared CPU (the measured values are in the notebooks' outputs).
"""
from __future__ import annotations

import pytest


pytestmark = pytest.mark.tutorial_results


def test_04_contrastive_training_learns_to_match_videos_and_captions(tutorial_results):
    r = tutorial_results("04_video_language_pretraining")
    assert r["final_loss"] < 0.8 * r["first_loss"], r
    chance = 100.0 / r["val_videos"]
    assert r["val_t2v_R1"] > 4 * chance and r["val_v2t_R1"] > 4 * chance, r
    assert r["val_t2v_R5"] > r["val_t2v_R1"]
    # the model reads temporal order: a caption prefers the clip played forwards over the same frames reversed
    assert r["order_clips"] >= 40 and r["order_accuracy"] > 58.0, r
    assert r["seconds"] < 6 * 60, "notebook 04 must run in under 6 minutes in the tutorial profile"


def test_05_zero_shot_recognises_the_motion_of_held_out_combinations(tutorial_results):
    """No training caption shows the held-out (shape, motion) pairs; their motion is still recognised."""
    r = tutorial_results("05_zero_shot")
    assert r["heldout_clips"] >= 40, r
    motion_chance = 100.0 / 12
    assert r["colour_template_heldout_motion"] > 2 * motion_chance, r
    assert r["best_heldout_motion"] > 2.5 * motion_chance, r
    # the never-seen sentence ("a circle moves to the right") ranks first among the sentences about that shape
    assert r["best_heldout_motion_given_shape"] > 2.5 * motion_chance, r
    assert r["best_heldout_combination"] >= r["chance"], r
    assert r["seconds"] < 6 * 60


def test_05_multiple_choice_reads_motion(tutorial_results):
    r = tutorial_results("05_zero_shot")
    assert r["multiple_choice_items"] >= 100
    assert r["multiple_choice"] > 1.5 * 20.0, r                            # 5 options differing only in motion


def test_06_retrieval_far_above_chance_with_both_rankings(tutorial_results):
    r = tutorial_results("06_video_text_retrieval")
    n = r["test_videos"]
    for direction in ("t2v", "v2t"):
        for kind in ("plain", "dsl", "all_captions"):
            assert r[f"{direction}_{kind}_R1"] > 3 * 100.0 / n, (direction, kind, r)
            assert r[f"{direction}_{kind}_R1"] <= r[f"{direction}_{kind}_R5"] <= r[f"{direction}_{kind}_R10"]
            assert r[f"{direction}_{kind}_MdR"] < (n + 1) / 4, (direction, kind, r)
    assert r["seconds"] < 6 * 60


def test_07_video_qa_beats_the_answer_prior(tutorial_results):
    r = tutorial_results("07_video_question_answering")
    assert r["num_oov"] > 0, "the tutorial vocabulary leaves rare answers out, to show the two protocols"
    assert r["accuracy_in_vocab"] > r["accuracy_all"]
    assert r["accuracy_in_vocab"] > r["prior_in_vocab"] + 10.0, r
    for qtype in ("colour", "direction"):
        assert r["by_type"][qtype] > r["prior_by_type"][qtype] + 20.0, (qtype, r)
    assert r["seconds"] < 6 * 60
