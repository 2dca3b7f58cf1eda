"""Notebook 12's plumbing: the SynthMotion episodes of both splits written as official NLQ / MQ files and read
back, their features, and a timeline figure of predicted windows against the truth."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from torch import nn

from internvideo_core.data.ego4d_formats import NLQQuery, read_nlq, write_ego4d_json
from internvideo_core.data.synthmotion_ego4d import EgoEpisode, ego4d_episodes, moments_json, nlq_json
from internvideo_core.recipes.ego4d_synth.config import EgoRecipe
from internvideo_core.recipes.ego4d_synth.features import EgoFeatures, build_features

__all__ = ["EgoSplit", "load_split", "split_features", "timeline_figure"]


@dataclass
class EgoSplit:
    """One split: the rendered episodes, the official NLQ / moments dicts, the paths they were written to and the
    NLQ rows read back from the written ``nlq_{split}.json``."""

    name: str
    episodes: list[EgoEpisode]
    nlq: dict[str, Any]
    moments: dict[str, Any]
    paths: dict[str, Path]
    queries: list[NLQQuery]

    def episode(self, clip_uid: str) -> EgoEpisode:
        return next(ep for ep in self.episodes if f"{ep.uid}-clip" == clip_uid)


def load_split(split: str, recipe: EgoRecipe, seed: int, root: str | Path) -> EgoSplit:
    """Render the split, write ``root/v1/annotations/{nlq,moments}_{split}.json`` and read the queries back with the
    official-format reader."""
    eps = ego4d_episodes(split, recipe.sizes, seed)
    nlq, moments = nlq_json(eps, split), moments_json(eps, split)
    ann = Path(root) / "v1" / "annotations"
    paths = {"nlq": write_ego4d_json(ann / f"nlq_{split}.json", nlq),
             "moments": write_ego4d_json(ann / f"moments_{split}.json", moments)}
    return EgoSplit(split, eps, nlq, moments, paths, read_nlq(paths["nlq"]))


def split_features(model: nn.Module, split: EgoSplit, recipe: EgoRecipe, frames_per_snippet: int, img_size: int,
                   context_length: int) -> EgoFeatures:
    """Snippet features of the split's videos and embeddings of its queries (see
    :func:`internvideo_core.recipes.ego4d_synth.features.build_features`)."""
    videos = {f"{ep.uid}-clip": ep.frames for ep in split.episodes}
    return build_features(model, videos, split.queries, recipe.sizes.fps, recipe.window, recipe.stride,
                          frames_per_snippet, img_size, context_length)


def timeline_figure(episode: EgoEpisode, rows: Sequence[tuple[str, Sequence[float], Sequence[Sequence[float]]]],
                    title: str = ""):
    """A video's events per object (top) and, per query, the true window (green) against the predicted windows
    (top-1 solid, ranks 2-5 faint).

    Args:
        episode: the video. rows: ``(query text, [start, end] truth, [[start, end], ...] predictions best first)``.
    """
    import matplotlib.pyplot as plt

    from internvideo_core.data.synthmotion_render import COLOURS

    n_obj = len(episode.objects)
    fig, ax = plt.subplots(figsize=(11, 0.45 * (n_obj + len(rows)) + 1.2))
    for k, (shape, colour) in enumerate(episode.objects):
        y = len(rows) + n_obj - k
        for ev in (e for e in episode.events if e.obj == k):
            s, e = ev.start / episode.fps, ev.end / episode.fps
            ax.barh(y, e - s, left=s, height=0.6, color=COLOURS[colour], edgecolor="k", linewidth=0.5)
            ax.text((s + e) / 2, y, ev.motion.replace("rotate ", "rot ").replace("counterclockwise", "ccw")
                    .replace("clockwise", "cw"), ha="center", va="center", fontsize=6)
    for r, (text, truth, preds) in enumerate(rows):
        y = len(rows) - r
        ax.barh(y + 0.18, truth[1] - truth[0], left=truth[0], height=0.3, color="tab:green")
        for rank, (s, e) in enumerate(preds):
            ax.barh(y - 0.18, e - s, left=s, height=0.3, color="tab:blue", alpha=1.0 if rank == 0 else 0.2)
    labels = [q[0] for q in rows][::-1] + [f"{c} {s}" for s, c in episode.objects][::-1]
    ax.set_yticks(range(1, len(rows) + n_obj + 1), labels, fontsize=7)
    ax.set_xlim(0, episode.duration)
    ax.set_xlabel("seconds (green: truth, blue: predicted top-1, faint: ranks 2-5)")
    ax.set_title(title or f"{episode.uid}: events per object and grounded queries")
    fig.tight_layout()
    return fig
