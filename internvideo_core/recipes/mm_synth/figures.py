"""Figures of notebooks 05-07 that need more than :mod:`internvideo_core.viz`: the retrieval gallery.

:func:`retrieval_ranks` gives the 1-based rank of each query's true video; :func:`retrieval_figure` draws, per
query, its full text (wrapped, never cut), the rank of its true video and its top-k videos as frame strips with their
captions. Used by notebook 06's static gallery and by its free-text explorer (one query, no true video).
"""
from __future__ import annotations

import textwrap
from typing import Sequence

import numpy as np
import torch

from internvideo_core.recipes.mm_synth.data import CaptionClips

__all__ = ["retrieval_ranks", "retrieval_figure"]


def retrieval_ranks(sim: torch.Tensor, true_index: Sequence[int] | None = None) -> torch.Tensor:
    """1-based rank of each row's true column in ``sim [Q, N]`` (default: column ``q`` for row ``q``), counting only
    strictly better columns (ties favour the true video)."""
    target = torch.arange(sim.shape[0]) if true_index is None else torch.as_tensor(list(true_index))
    true = sim.gather(1, target.view(-1, 1))
    return (sim > true).sum(1) + 1


def _strip(video: torch.Tensor, frames: int) -> np.ndarray:
    """uint8 ``[3, F, S, S]`` -> ``[S, frames * S, 3]``: ``frames`` evenly spaced frames side by side."""
    pick = np.linspace(0, video.shape[1] - 1, frames).round().astype(int).tolist()
    return torch.cat([video[:, i] for i in pick], dim=2).permute(1, 2, 0).numpy()


def retrieval_figure(clips: CaptionClips, queries: Sequence[str], sim: torch.Tensor,
                     true_index: Sequence[int | None] | None = None, top: int = 3, frames: int = 4, wrap: int = 34):
    """One row per query: its text and the rank of its true video (if any), then its ``top`` videos.

    Args:
        clips: the gallery (``videos [N, 3, F, S, S]``, ``captions``, ``ids``). queries: ``Q`` texts.
        sim: ``[Q, N]`` similarities. true_index: the true video of each query (``None``: a free-text query).
        wrap: characters per line of the wrapped texts (texts are wrapped, never cut).
    """
    import matplotlib.pyplot as plt

    true_index = list(true_index) if true_index is not None else [None] * len(queries)
    fig, axes = plt.subplots(len(queries), top + 1, figsize=(2.9 * top + 2.8, 1.45 * len(queries) + 0.4),
                             squeeze=False, gridspec_kw={"width_ratios": [0.9] + [1.0] * top})
    for q, (text, true) in enumerate(zip(queries, true_index)):
        row = sim[q]
        ranked = row.argsort(descending=True)[:top].tolist()
        head = axes[q, 0]
        head.axis("off")
        label = "query:\n" + textwrap.fill(f"\u201c{text}\u201d", wrap)
        if true is not None:
            rank = int((row > row[true]).sum()) + 1
            label += f"\n\ntrue video {clips.ids[true]}:\nrank {rank} of {len(row)}" + (" \u2713" if rank == 1 else "")
        head.text(0.0, 0.5, label, va="center", ha="left", fontsize=8, transform=head.transAxes)
        for r, j in enumerate(ranked):
            ax = axes[q, r + 1]
            ax.imshow(_strip(clips.videos[j], frames))
            ax.set_xticks([]), ax.set_yticks([])
            hit = true is not None and j == true
            mark = "  \u2713 true video" if hit else ""
            ax.set_title(f"#{r + 1}  {clips.ids[j]}{mark}", fontsize=8,
                         color="green" if hit else "black")
            ax.set_xlabel(textwrap.fill(clips.captions[j][0], wrap + 10), fontsize=7)
            if hit:
                for spine in ax.spines.values():
                    spine.set_edgecolor("green"), spine.set_linewidth(3)
    fig.tight_layout()
    return fig
