"""Timelines of action segments: ground truth against detections, one row pair per video."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["plot_timelines"]


def plot_timelines(videos: Sequence[Any], detections: dict[str, list[dict[str, Any]]], classes: Sequence[str], *,
                   min_score: float = 0.3, title: str = ""):
    """For each video (a :class:`~internvideo_core.tal.TALVideo`): its ground-truth segments (top bar) and the
    detections scoring at least ``min_score`` (bottom bar, opacity = score), coloured by class."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    colours = plt.get_cmap("tab10")(np.linspace(0, 1, 10))[: len(classes)]
    fig, axes = plt.subplots(len(videos), 1, figsize=(10, 1.1 * len(videos) + 0.8), squeeze=False)
    for ax, v in zip(axes[:, 0], videos):
        for (s, e), c in zip(v.segments, v.labels):
            ax.broken_barh([(s, e - s)], (1.1, 0.8), color=colours[c])
        for d in detections.get(v.video_id, []):
            if d["score"] < min_score:
                continue
            s, e = d["segment"]
            ax.broken_barh([(s, e - s)], (0.1, 0.8), color=colours[list(classes).index(d["label"])],
                           alpha=float(min(1.0, d["score"])), edgecolor="k", linewidth=0.3)
        ax.set_xlim(0, v.duration)
        ax.set_ylim(0, 2)
        ax.set_yticks([0.5, 1.5], ["detected", "truth"])
        ax.set_title(v.video_id, fontsize=8, loc="left")
    axes[-1, 0].set_xlabel("seconds")
    fig.legend(handles=[Patch(color=colours[i], label=c) for i, c in enumerate(classes)], loc="lower center",
               ncol=min(5, len(classes)), fontsize=7, bbox_to_anchor=(0.5, -0.02))
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
