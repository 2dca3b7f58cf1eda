"""Notebook 12's plumbing: the SynthMotion episodes of a split written as official NLQ / MQ files and mp4 clips and
read back, their snippet features (extracted from the mp4 files by the kit's extractor), and a timeline figure of
predicted windows against the truth."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from torch import nn

from internvideo_core.data.ego4d_formats import NLQQuery, read_nlq, write_ego4d_json
from internvideo_core.data.synthmotion_ego4d import EgoEpisode, ego4d_episodes, moments_json, nlq_json
from internvideo_core.recipes.ego4d_synth.config import EgoRecipe
from internvideo_core.recipes.ego4d_synth.features import EgoFeatures, build_features, extract_features, feature_folder

__all__ = ["EgoSplit", "load_split", "data_stamp", "split_features", "timeline_figure"]


@dataclass
class EgoSplit:
    """One split: the rendered episodes, the official NLQ / moments dicts, the paths they were written to, the NLQ
    rows read back from the written ``nlq_{split}.json`` and the clips' mp4 files (``{clip_uid: path}``)."""

    name: str
    episodes: list[EgoEpisode]
    nlq: dict[str, Any]
    moments: dict[str, Any]
    paths: dict[str, Path]
    queries: list[NLQQuery]
    videos: dict[str, Path]

    def episode(self, clip_uid: str) -> EgoEpisode:
        return next(ep for ep in self.episodes if f"{ep.uid}-clip" == clip_uid)


def data_stamp(recipe: EgoRecipe, seed: int) -> str:
    """A short hash of what the videos depend on (seed and sizes): cached clips and features carry it."""
    key = json.dumps({"seed": seed, "sizes": dataclasses.asdict(recipe.sizes)}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def load_split(recipe: EgoRecipe, seed: int, split: str, root: str | Path) -> EgoSplit:
    """Render the split, write ``root/v1/annotations/{nlq,moments}_{split}.json`` and the clips
    ``root/v1/clips/<clip_uid>.mp4`` (H.264; kept from an earlier run with the same :func:`data_stamp`), and read
    the queries back with the official-format reader."""
    from internvideo_core.data.synthmotion_writers import write_mp4

    eps = ego4d_episodes(split, recipe.sizes, seed)
    nlq, moments = nlq_json(eps, split), moments_json(eps, split)
    ann = Path(root) / "v1" / "annotations"
    paths = {"nlq": write_ego4d_json(ann / f"nlq_{split}.json", nlq),
             "moments": write_ego4d_json(ann / f"moments_{split}.json", moments)}
    clips = Path(root) / "v1" / "clips"
    stamp_file = clips / f"stamp_{split}.txt"
    stamp = data_stamp(recipe, seed)
    fresh = not stamp_file.exists() or stamp_file.read_text().strip() != stamp
    videos = {}
    for ep in eps:
        path = clips / f"{ep.uid}-clip.mp4"
        if fresh or not path.exists():
            write_mp4(path, ep.frames, ep.fps)
        videos[f"{ep.uid}-clip"] = path
    stamp_file.write_text(stamp + "\n")
    return EgoSplit(split, eps, nlq, moments, paths, read_nlq(paths["nlq"]), videos)


def split_features(recipe: EgoRecipe, seed: int, model: nn.Module, split: EgoSplit, root: str | Path,
                   context_length: int) -> EgoFeatures:
    """Snippet features of the split's mp4 clips (extracted into :func:`~.features.feature_folder` by the kit's
    extractor unless already there, then read back with the kit's feature loader) and embeddings of its queries
    (see :func:`~internvideo_core.recipes.ego4d_synth.features.build_features`)."""
    out = feature_folder(recipe, model, root, data_stamp(recipe, seed))
    extract_features(recipe, model, list(split.videos.values()), out)
    return build_features(model, out, split.queries, context_length)


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
