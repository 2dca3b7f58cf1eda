"""Scoring rollouts against the expert's paths, and drawing them on the room.

The VLN metrics come from :func:`internvideo_core.eval.navigation.navigation_metrics_batch` over the agent's grid
positions, with the bot's path on the same level seed as the reference; ``task_success`` is the level's own
verifier (the agent faced the named object), which the position metrics only approximate.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .config import NavRecipe
from .env import Episode

__all__ = ["score_episodes", "format_table", "draw_paths"]


def score_episodes(episodes: Sequence[Episode], references: Sequence[Episode], recipe: NavRecipe) -> dict[str, float]:
    """``{"SR", "SPL", "NE", "OSR", "nDTW", "SDTW", "task_success", "steps"}`` averaged over episodes (rates as
    fractions, NE in cells, steps = actions taken). ``episodes[i]`` and ``references[i]`` share a level seed."""
    from internvideo_core.eval.navigation import navigation_metrics_batch

    for e, r in zip(episodes, references):
        if e.seed != r.seed:
            raise ValueError(f"episode of level seed {e.seed} paired with the reference of seed {r.seed}")
    out = navigation_metrics_batch([e.positions for e in episodes], [r.positions for r in references],
                                   recipe.success_distance)
    out["task_success"] = float(np.mean([e.success for e in episodes]))
    out["steps"] = float(np.mean([len(e) for e in episodes]))
    return out


def format_table(rows: Mapping[str, Mapping[str, float]]) -> str:
    """A fixed-width text table: one row per agent, rates in percent, NE in cells, mean steps."""
    cols = ("SR", "SPL", "OSR", "nDTW", "SDTW", "task_success", "NE", "steps")
    head = f"{'agent':34s}" + "".join(f"{c:>13s}" for c in cols)
    lines = [head, "-" * len(head)]
    for name, m in rows.items():
        cells = [f"{100 * m[c]:13.1f}" if c not in ("NE", "steps") else f"{m[c]:13.2f}" for c in cols]
        lines.append(f"{name:34s}" + "".join(cells))
    return "\n".join(lines)


def draw_paths(ax: Any, episode: Episode, reference: Episode, tile: int = 8, title: str | None = None) -> None:
    """The room from above at the start, the expert's path (dashed) and the agent's (solid), targets circled."""
    from matplotlib.patches import Circle

    if episode.top_view is None:
        raise ValueError("the episode has no top_view to draw on")
    ax.imshow(episode.top_view)

    def centres(path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return path[:, 0] * tile + tile / 2, path[:, 1] * tile + tile / 2

    x, y = centres(reference.positions)
    ax.plot(x, y, "--", color="white", lw=2, label="expert (bot)")
    x, y = centres(episode.positions)
    jitter = 1.5
    ax.plot(x + jitter, y + jitter, "-", color="cyan", lw=2, label="agent")
    ax.plot(x[-1] + jitter, y[-1] + jitter, "o", color="cyan", ms=5)
    for tx, ty in episode.targets:
        ax.add_patch(Circle((tx * tile + tile / 2, ty * tile + tile / 2), tile * 0.7, fill=False, color="lime", lw=1.5))
    ax.set_title(title or f"{episode.mission}\n{'success' if episode.success else 'failure'}", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
