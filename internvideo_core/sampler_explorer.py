"""The sampler timeline as an explorer (notebook 01): strategy, clip count and frame interval on sliders.

In a live notebook :func:`sampler_explorer` returns ipywidgets controls that redraw the timeline; headless
(papermill, CI: ``interactive=False``) it draws a static figure of a few slider positions instead, so the
executed notebook still shows what the sliders do.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from internvideo_core.data import sampling

STRATEGIES = ("dense", "segment", "uniform")


def sampler_views(strategy: str, num_frames: int = 300, clip_len: int = 16, interval: int = 4,
                  num_clips: int = 5) -> np.ndarray:
    """The test-time frame indices of a strategy -> int64 ``[clips, clip_len]``.

    ``dense``: ``num_clips`` windows of ``clip_len`` frames, one every ``interval`` (VideoMAE, Kinetics);
    ``segment``: ``num_clips`` temporal views of ``clip_len`` segments (``interval`` unused: the segments set it);
    ``uniform``: one clip of ``clip_len`` frames spread over the video (InternVideo-MM; clips and interval unused).
    """
    if strategy == "dense":
        return sampling.dense_views(num_frames, clip_len, interval, num_clips=num_clips)
    if strategy == "segment":
        return sampling.segment_views(num_frames, clip_len, num_views=num_clips)
    if strategy == "uniform":
        return sampling.uniform_indices(num_frames, clip_len)[None]
    raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")


def plot_sampler(strategy: str = "dense", num_frames: int = 300, clip_len: int = 16, interval: int = 4,
                 num_clips: int = 5):
    """One timeline row per clip of :func:`sampler_views`; the title says how much of the video is covered."""
    from internvideo_core import viz

    views = sampler_views(strategy, num_frames, clip_len, interval, num_clips)
    covered = len(np.unique(views)) / num_frames
    return viz.plot_sampling_timeline(
        num_frames, {f"{strategy} clip {i}": v for i, v in enumerate(views)},
        title=f"{strategy}: {len(views)} clip(s) x {views.shape[1]} frames, {100 * covered:.0f} % of the frames seen")


def plot_slider_positions(num_frames: int = 300, clip_len: int = 16):
    """The static stand-in for the explorer: the rows the sliders would give at a few positions (dense test clips
    at frame intervals 2 / 4 / 8, 1 and 5 clips; segment 1 and 2 views; uniform)."""
    from internvideo_core import viz

    rows: dict[str, np.ndarray] = {}
    for interval in (2, 4, 8):
        for clips in (1, 5):
            rows[f"dense, interval {interval}, {clips} clip(s)"] = sampler_views("dense", num_frames, clip_len,
                                                                                 interval, clips)
    for views in (1, 2):
        rows[f"segment, {views} view(s)"] = sampler_views("segment", num_frames, clip_len, num_clips=views)
    rows["uniform"] = sampler_views("uniform", num_frames, clip_len)
    return viz.plot_sampling_timeline(num_frames, rows, title=f"slider positions on a {num_frames}-frame video "
                                                             f"({clip_len} frames per clip)")


def _show(fig: Any) -> None:
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


def sampler_explorer(num_frames: int = 300, *, interactive: bool = True,
                     draw: Callable[..., Any] | None = None) -> Any:
    """Sliders for strategy, video length, frames per clip, frame interval and clip count over the timeline.

    The explorer displays itself (end the notebook line with ``;``). ``interactive=False`` (papermill, CI)
    displays the static :func:`plot_slider_positions` figure instead and returns it. ``draw(strategy=,
    num_frames=, clip_len=, interval=, num_clips=)`` is called on every change (default: draw :func:`plot_sampler`
    and display it). Returns the ipywidgets ``VBox``.
    """
    from IPython.display import display

    if not interactive:
        fig = plot_slider_positions(num_frames)
        _show(fig)
        return fig
    import ipywidgets as w

    controls = {
        "strategy": w.ToggleButtons(options=STRATEGIES, value="dense", description="strategy"),
        "num_frames": w.IntSlider(num_frames, min=16, max=900, step=4, description="video frames"),
        "clip_len": w.IntSlider(16, min=1, max=32, description="frames/clip"),
        "interval": w.IntSlider(4, min=1, max=16, description="interval"),
        "num_clips": w.IntSlider(5, min=1, max=10, description="clips"),
    }
    out = w.interactive_output(draw or (lambda **kw: _show(plot_sampler(**kw))), controls)
    box = w.VBox([controls["strategy"], w.HBox([controls["num_frames"], controls["clip_len"]]),
                  w.HBox([controls["interval"], controls["num_clips"]]), out])
    display(box)
    return box
