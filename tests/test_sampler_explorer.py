"""Notebook 01's sampler explorer: the sliders redraw with their values; headless it is a static figure."""
from __future__ import annotations

import numpy as np
import pytest

from internvideo_core.data import sampling
from internvideo_core.sampler_explorer import plot_sampler, sampler_explorer, sampler_views


def test_views_are_the_kit_samplers():
    assert np.array_equal(sampler_views("dense", 300, 16, 4, 5), sampling.dense_views(300, 16, 4, 5))
    assert np.array_equal(sampler_views("segment", 300, 16, num_clips=2), sampling.segment_views(300, 16, 2))
    assert np.array_equal(sampler_views("uniform", 300, 8)[0], sampling.uniform_indices(300, 8))
    with pytest.raises(ValueError, match="strategy"):
        sampler_views("random", 300)


def test_headless_explorer_is_a_static_figure_of_several_slider_positions():
    import matplotlib.pyplot as plt

    fig = sampler_explorer(300, interactive=False)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 9 and "dense, interval 8, 5 clip(s)" in labels
    plt.close(fig)


def test_sliders_redraw_with_their_values():
    calls = []
    box = sampler_explorer(300, draw=lambda **kw: calls.append(kw))
    assert calls and calls[-1] == {"strategy": "dense", "num_frames": 300, "clip_len": 16, "interval": 4,
                                   "num_clips": 5}
    strategy = box.children[0]
    interval, clips = box.children[2].children
    interval.value, clips.value, strategy.value = 8, 3, "segment"
    assert calls[-1] == {"strategy": "segment", "num_frames": 300, "clip_len": 16, "interval": 8, "num_clips": 3}


def test_plot_title_reports_how_much_of_the_video_the_clips_see():
    import matplotlib.pyplot as plt

    fig = plot_sampler("dense", 300, 16, 4, 1)
    assert fig.axes[0].get_title() == "dense: 1 clip(s) x 16 frames, 5 % of the frames seen"
    plt.close(fig)
