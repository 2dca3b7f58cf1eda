"""Figures for the notebooks and the demo (matplotlib only; every function returns the Figure).

Inputs are plain arrays/tensors: frames ``uint8 [T, H, W, 3]`` or float clips ``[C, T, H, W]`` in [0, 1].
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


def _to_uint8_frames(clip) -> np.ndarray:
    """``uint8 [T,H,W,3]`` from ``uint8 [T,H,W,3]`` or float ``[C,T,H,W]`` in [0, 1] (tensor or array)."""
    arr = clip.detach().cpu().numpy() if hasattr(clip, "detach") else np.asarray(clip)
    if arr.dtype != np.uint8:
        if arr.ndim == 4 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
            arr = np.moveaxis(arr, 0, -1)  # [C,T,H,W] -> [T,H,W,C]
        arr = (np.clip(arr, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return arr


def show_frames(clip, *, max_frames: int = 8, title: str | None = None, frame_ids: Sequence[int] | None = None,
                scale: float = 1.6):
    """One row of frames. ``clip``: ``uint8 [T,H,W,3]`` or float ``[C,T,H,W]``."""
    import matplotlib.pyplot as plt

    frames = _to_uint8_frames(clip)
    pick = np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round().astype(int)
    fig, axes = plt.subplots(1, len(pick), figsize=(scale * len(pick), scale * 1.15), squeeze=False)
    for ax, i in zip(axes[0], pick):
        ax.imshow(frames[i])
        ax.set_title(f"t={frame_ids[i] if frame_ids is not None else i}", fontsize=8)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def show_gallery(clips: Sequence, titles: Sequence[str], *, frames_per_clip: int = 4, scale: float = 1.3):
    """A grid: one row per clip, ``frames_per_clip`` evenly spaced frames, the title on the left."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(clips), frames_per_clip,
                             figsize=(scale * frames_per_clip + 1.6, scale * len(clips)), squeeze=False)
    for row, (clip, name) in enumerate(zip(clips, titles)):
        frames = _to_uint8_frames(clip)
        pick = np.linspace(0, len(frames) - 1, frames_per_clip).round().astype(int)
        for col, i in enumerate(pick):
            ax = axes[row, col]
            ax.imshow(frames[i])
            ax.set_xticks([]), ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
            if row == 0:
                ax.set_title(f"frame {i}", fontsize=8)
    fig.tight_layout()
    return fig


def plot_sampling_timeline(num_frames: int, strategies: Mapping[str, np.ndarray], *, title: str = ""):
    """Draw which frame indices each strategy picks. Values: ``[K]`` or ``[clips, K]`` index arrays."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 0.55 * len(strategies) + 1))
    for row, (name, idx) in enumerate(strategies.items()):
        idx = np.atleast_2d(np.asarray(idx))
        colours = plt.cm.tab10(np.arange(len(idx)) % 10)
        for clip, colour in zip(idx, colours):
            ax.scatter(clip, np.full(len(clip), row), s=14, color=colour, zorder=3)
        ax.hlines(row, 0, num_frames - 1, color="0.85", lw=6, zorder=1)
    ax.set_yticks(range(len(strategies)), list(strategies))
    ax.set_xlabel("frame index")
    ax.set_xlim(-1, num_frames)
    ax.invert_yaxis()
    ax.set_title(title or f"frame indices picked from a {num_frames}-frame video")
    fig.tight_layout()
    return fig


def plot_curves(curves: Mapping[str, Sequence[float]], *, xlabel: str = "step", ylabel: str = "loss",
                title: str = "", logy: bool = False):
    """Line plot of one or more named curves (loss, accuracy ...)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    for name, ys in curves.items():
        ax.plot(np.arange(1, len(ys) + 1), ys, label=name)
    ax.set_xlabel(xlabel), ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if len(curves) > 1:
        ax.legend()
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_matrix(matrix, *, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
                title: str = "", cmap: str = "viridis", fmt: str | None = None, xlabel: str = "",
                ylabel: str = ""):
    """Heatmap for confusion matrices and similarity matrices ``[R, C]``."""
    import matplotlib.pyplot as plt

    m = matrix.detach().cpu().numpy() if hasattr(matrix, "detach") else np.asarray(matrix)
    size = max(4.0, 0.38 * max(m.shape))
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    im = ax.imshow(m, cmap=cmap)
    fig.colorbar(im, ax=ax, fraction=0.046)
    if row_labels is not None:
        ax.set_yticks(range(len(row_labels)), row_labels, fontsize=7)
    if col_labels is not None:
        ax.set_xticks(range(len(col_labels)), col_labels, fontsize=7, rotation=60, ha="right")
    if fmt and m.size <= 400:
        for (r, c), v in np.ndenumerate(m):
            ax.text(c, r, format(v, fmt), ha="center", va="center", fontsize=6,
                    color="white" if v < (m.max() + m.min()) / 2 else "black")
    ax.set_xlabel(xlabel), ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_bars(values: Mapping[str, float], *, ylabel: str = "", title: str = "", reference: float | None = None,
              reference_label: str = "chance"):
    """Bar chart of named numbers with an optional horizontal reference line (e.g. chance level)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.1 * len(values) + 2, 3.2))
    bars = ax.bar(list(values), list(values.values()), color=plt.cm.tab10(np.arange(len(values)) % 10))
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=1, label=reference_label)
        ax.legend(fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right", fontsize=8)
    fig.tight_layout()
    return fig


def show_mask_overlay(clip, mask, grid: tuple[int, int, int], *, tubelet: int = 2, max_frames: int = 8,
                      title: str = ""):
    """Frames with masked patches greyed out. ``mask``: bool ``[N]`` over (t, h, w) tokens, True = masked."""
    return show_frames(mask_frames(clip, mask, grid, tubelet=tubelet), max_frames=max_frames, title=title)


def mask_frames(clip, mask, grid: tuple[int, int, int], *, tubelet: int = 2, keep: float = 0.25) -> np.ndarray:
    """``uint8 [T, H, W, 3]`` frames with the masked patches greyed out (the picture of the encoder's input).

    ``clip``: ``uint8 [T,H,W,3]`` or float ``[C,T,H,W]`` in [0, 1]; ``mask``: bool ``[N]`` over the (t, h, w)
    token grid ``grid``, True = masked; ``tubelet``: frames per token; ``keep``: how much of the hidden content
    still shows through the grey (0 = solid grey, exactly what the encoder gets).
    """
    frames = _to_uint8_frames(clip).copy()
    m = (mask.detach().cpu().numpy() if hasattr(mask, "detach") else np.asarray(mask)).reshape(grid)
    t_tok, h_tok, w_tok = grid
    ph, pw = frames.shape[1] // h_tok, frames.shape[2] // w_tok
    for t in range(frames.shape[0]):
        big = np.kron(m[min(t // tubelet, t_tok - 1)], np.ones((ph, pw), dtype=bool))
        frames[t][big] = (frames[t][big] * keep + 128 * (1 - keep)).astype(np.uint8)
    return frames


def show_reconstructions(original, rows: Mapping[str, tuple], grid: tuple[int, int, int], *, tubelet: int = 2,
                         frames_per_clip: int = 8, scale: float = 1.2):
    """Masked-autoencoder reconstructions: the original clip, then for each named entry of ``rows`` the masked
    input and the reconstruction. ``rows``: ``{name: (mask [N] bool, reconstruction [C,T,H,W] in [0, 1])}``."""
    clips, titles = [original], ["original"]
    for name, (mask, recon) in rows.items():
        clips += [mask_frames(original, mask, grid, tubelet=tubelet, keep=0.0), recon]
        titles += [f"{name}: input", f"{name}: output"]
    return show_gallery(clips, titles, frames_per_clip=frames_per_clip, scale=scale)


def plot_label_timeline(segments: Sequence[tuple[float, float, str, float]], *, title: str = ""):
    """Timeline of a long video's window predictions: one coloured bar per ``(start_s, end_s, label, prob)``
    segment on the row of its label (bar opacity = probability), labels in order of first appearance."""
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(s[2] for s in segments))
    row = {lab: i for i, lab in enumerate(labels)}
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(labels) + 1.4))
    colours = plt.cm.tab10(np.arange(len(labels)) % 10)
    for start, end, lab, prob in segments:
        ax.barh(row[lab], end - start, left=start, height=0.7, color=colours[row[lab]],
                alpha=0.35 + 0.65 * float(prob), edgecolor="k", linewidth=0.4)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    ax.set_title(title)
    fig.tight_layout()
    return fig
