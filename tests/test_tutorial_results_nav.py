"""Claims of notebook 13 (vision-language navigation), checked on its tutorial-profile results (``make run``).

The notebook reports the VLN metrics (percent; NE in cells) of seven agents on 100 unseen BabyAI levels. What it
states, and so what is asserted here (thresholds leave room for run-to-run noise on a shared CPU; at 100
episodes one standard error of a rate near 50 % is 5 points):

* the expert's own path scores 100 on every rate (the metric code and the references are consistent);
* every behaviour-cloned agent beats the random agent clearly on SR, SPL and nDTW;
* the "turn towards the goal colour" heuristic beats every learned agent on this level (colour nearly names the
  object here), so the learned agents are not claimed to be strong;
* one DAgger round raises SR / task success of the agent it starts from, while its SPL and nDTW drop;
* the four BC variants (multi/single frame x pretrained/scratch) are NOT claimed to differ: the notebook says the
  budget cannot separate them, and the test checks that they do lie within a band of each other;
* the notebook's kernel uses under 320 s of CPU time (255.8 s measured on branch h/nb1113 with the loader that
  normalises each episode's frames once, bit-identical results to the earlier 324.8 s run; under 6 minutes of wall
  time on an idle 2-core machine). A cheaper schedule (5 / 2 / 2 epochs, 181 s) broke three of the claims above, so
  the budget is not cut further.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.tutorial_results

NAME = "13_vision_language_navigation"
VARIANTS = ("multi-frame, pretrained", "multi-frame, scratch", "single-frame, pretrained", "single-frame, scratch")
DAGGER = "multi-frame, pretrained + DAgger"
RATES = ("SR", "SPL", "OSR", "nDTW", "SDTW", "task_success")


def test_13_the_expert_reference_scores_perfectly_and_the_metrics_are_consistent(tutorial_results):
    r = tutorial_results(NAME)
    m = r["metrics"]
    assert r["eval_episodes"] >= 100 and r["demos"] >= 500, r
    assert all(m["expert bot (reference)"][k] == 100.0 for k in RATES) and m["expert bot (reference)"]["NE"] == 0
    for name, row in m.items():
        assert row["SPL"] <= row["SR"] <= row["OSR"], (name, row)
        assert row["SDTW"] <= row["nDTW"], (name, row)


def test_13_every_behaviour_cloned_agent_beats_the_random_agent(tutorial_results):
    m = tutorial_results(NAME)["metrics"]
    rnd = m["random"]
    for name in VARIANTS:
        assert m[name]["SR"] >= rnd["SR"] + 8, (name, m[name], rnd)
        assert m[name]["SPL"] >= 1.4 * rnd["SPL"] and m[name]["nDTW"] >= 1.4 * rnd["nDTW"], (name, m[name], rnd)
        assert m[name]["task_success"] > rnd["task_success"], (name, m[name], rnd)
    assert m[DAGGER]["SR"] >= rnd["SR"] + 15 and m[DAGGER]["task_success"] >= rnd["task_success"] + 15, m[DAGGER]
    assert m[DAGGER]["SPL"] > rnd["SPL"] and m[DAGGER]["nDTW"] > rnd["nDTW"], m[DAGGER]


def test_13_the_colour_heuristic_is_the_strongest_non_expert_on_this_level(tutorial_results):
    m = tutorial_results(NAME)["metrics"]
    heuristic = m["turn towards the goal colour"]
    assert heuristic["SR"] >= 70 and heuristic["task_success"] >= 70, heuristic
    for name in VARIANTS + (DAGGER,):
        assert heuristic["SR"] > m[name]["SR"] and heuristic["nDTW"] > m[name]["nDTW"], (name, m[name])


def test_13_one_dagger_round_raises_success_but_not_path_fidelity(tutorial_results):
    r = tutorial_results(NAME)
    m, start = r["metrics"], r["metrics"]["multi-frame, pretrained"]
    assert r["dagger_episodes"] > 0 and r["dagger_steps"] > r["dagger_episodes"]
    assert m[DAGGER]["SR"] >= start["SR"] + 5, m
    assert m[DAGGER]["task_success"] >= start["task_success"] + 5, m
    assert m[DAGGER]["OSR"] > start["OSR"], m
    # the notebook's point: recovering after wrong turns succeeds more often along longer, less expert-like paths
    assert m[DAGGER]["SPL"] < start["SPL"] and m[DAGGER]["nDTW"] < start["nDTW"], m


def test_13_training_lowers_both_losses_and_the_variants_stay_within_noise_of_each_other(tutorial_results):
    r = tutorial_results(NAME)
    assert r["mae_final_loss"] < 0.6 * r["mae_first_loss"], r
    for name in VARIANTS:
        assert r["bc_final_loss"][name] < 0.8 * r["bc_first_loss"][name], (name, r)
    srs = [r["metrics"][name]["SR"] for name in VARIANTS]
    assert max(srs) - min(srs) <= 15, srs          # the notebook claims no difference between the four


def test_13_fits_the_tutorial_budget(tutorial_results):
    """Kernel CPU time (user + sys, both threads), the measure that does not depend on what else the machine runs:
    at most ~400 s keeps the wall time under 6 minutes on an idle 2-core machine."""
    r = tutorial_results(NAME)
    assert r["cpu_seconds"] < 320, r["cpu_seconds"]
