"""The recipe convention of notebooks 08-10 (the recipe carries its profile; functions take ``(recipe, seed, ...)``)
and the shortcuts that keep notebook 08 fast (one thread for the small head, one snippet classifier for both
baselines), on tiny synthetic snippet features."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from internvideo_core.recipes import ava_synth, openset_synth, tal_synth
from internvideo_core.tal import TALVideo


@pytest.mark.parametrize("module", [tal_synth, ava_synth, openset_synth], ids=lambda m: m.__name__.split(".")[-1])
def test_every_profile_recipe_carries_its_profile(module):
    for profile in ("smoke", "tutorial", "full"):
        assert module.RECIPES[profile].profile == profile
        assert module.get_recipe(profile).profile == profile
    assert module.get_recipe("smoke", epochs=3).epochs == 3


def _videos(n: int, seed: int) -> list[TALVideo]:
    g = np.random.default_rng(seed)
    out = []
    for i in range(n):
        feats = g.normal(size=(40, 8)).astype(np.float32)
        out.append(TALVideo(f"v{seed}_{i}", feats, 8.0, 2, 15, 10.0 + 15 / 16, np.array([[2.0, 4.0], [6.0, 8.5]]),
                            np.array([i % 3, (i + 1) % 3])))
    return out


def test_tal_head_trains_on_one_thread_and_restores_the_callers_thread_count(monkeypatch):
    import internvideo_core.tal as tal

    seen = []
    real = tal.train_tal_head

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(tal, "train_tal_head", spy)
    before = torch.get_num_threads()
    recipe = tal_synth.get_recipe("smoke", epochs=1)
    head, hist = tal_synth.train_head(recipe, 0, _videos(3, 0))
    assert seen == [1] and torch.get_num_threads() == before
    assert len(hist["epoch_loss"]) == 1 and np.isfinite(hist["epoch_loss"][0])
    seen.clear()
    tal_synth.train_head(recipe.replace(head_threads=None), 0, _videos(3, 0))
    assert seen == [before]


def test_both_classification_baselines_come_from_one_classifier_and_equal_the_separate_calls():
    recipe = tal_synth.get_recipe("smoke", probe_steps=15)
    train, val = _videos(4, 1), _videos(2, 2)
    both = tal_synth.classification_baselines(recipe, 0, train, val)
    assert both["sliding window"] == tal_synth.sliding_window_baseline(recipe, 0, train, val)
    assert both["whole video"] == tal_synth.whole_video_baseline(recipe, 0, train, val)
    assert all(len(d) == len(tal_synth.TAL_CLASSES) for d in both["whole video"].values())
