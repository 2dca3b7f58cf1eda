"""Claim of notebook 00 (quickstart), on its tutorial-profile results: the first result a newcomer sees is the
shipped SynthMotion classifier naming the motion of the bundled SynthMotion clip (a green triangle moving down)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.tutorial_results


def test_00_the_shipped_classifier_names_the_bundled_clip_s_motion(tutorial_results):
    r = tutorial_results("00_quickstart")
    assert r["embedded_top5"][0] == "move down", r
    assert len(r["embedded_top5"]) == 5 and r["embedded_top1_prob"] > 0.5, r
    assert r["seconds"] < 60, "notebook 00 must stay a quick start"
