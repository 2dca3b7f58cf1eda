"""Notebook 02's mask explorer: mask ratio and masking kind over one clip, with the autoencoder's reconstruction.

:func:`mask_explorer` shows sliders (``ipywidgets``) when asked for and possible, and otherwise one static figure
of every (kind, ratio) pair, so a headless run (papermill, CI) draws and checks the same pictures.
:func:`explorer_panel` computes one panel (the data behind both).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from internvideo_core.masking import visible_statistics

from .config import VideoMAESynthRecipe
from .data import clips_to_input

__all__ = ["visible_statistics", "explorer_panel", "mask_explorer", "widgets_available"]


def widgets_available() -> bool:
    """True when ``ipywidgets`` imports and an IPython kernel runs this code (a frontend may show widgets)."""
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


@torch.no_grad()
def explorer_panel(model: nn.Module, clip: torch.Tensor, recipe: VideoMAESynthRecipe, kind: str, ratio: float,
                   seed: int = 0) -> dict[str, Any]:
    """Mask ``clip`` (uint8 ``[T0, S, S, 3]``) with ``kind`` at ``ratio`` and reconstruct it.

    Returns ``{"mask": bool [N], "input": float [3, T, H, W] masked input in [0, 1] (hidden = grey),
    "visible_stats": reconstruction with mean/std interpolated from the visible tubelets,
    "true_stats": with each tubelet's true mean/std (official visualisation), "loss": normalised-pixel MSE}``,
    pictures float ``[3, T, H, W]`` in [0, 1].
    """
    from einops import rearrange

    from internvideo_core.masking import make_mask
    from internvideo_core.viz import mask_frames

    x = clips_to_input(clip[None], recipe)
    mask = make_mask(kind, 1, recipe.grid, ratio, generator=torch.Generator().manual_seed(seed))
    pred = model(x, mask).float()                                             # [1, N_mask, P*C]
    loss = float((pred - model.targets(x, mask)).pow(2).mean())
    pixels = model._unnormalize(x).clamp(0, 1)                                # [1, 3, T, H, W]
    patches = model.patchify(pixels)                                          # [1, N, P, C]
    mean, std = (v.squeeze(-2) for v in model.patch_statistics(patches))     # [1, N, C]
    est_mean, est_std = visible_statistics(mean, std, mask, recipe.grid)
    _, idx = model.split_indices(mask)
    pred = rearrange(pred, "b n (p c) -> b n p c", c=3)

    def paint(m: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        gi = idx[..., None].expand(-1, -1, 3)
        p = pred * (s.gather(1, gi)[:, :, None] + 1e-6) + m.gather(1, gi)[:, :, None]
        full = patches.scatter(1, idx[..., None, None].expand(-1, -1, *patches.shape[-2:]), p)
        return model.unpatchify(rearrange(full, "b n p c -> b n (p c)")).clamp(0, 1)[0]

    masked = mask_frames(pixels[0], mask[0], recipe.grid, tubelet=recipe.tubelet_size, keep=0.0)  # uint8 [T,H,W,3]
    return {"mask": mask[0], "input": torch.from_numpy(masked).permute(3, 0, 1, 2).float() / 255.0,
            "visible_stats": paint(est_mean, est_std), "true_stats": paint(mean, std), "loss": loss}


def _figure(panels: Sequence[tuple[str, dict[str, Any]]], frames: Sequence[int]):
    import matplotlib.pyplot as plt

    cols = ("input", "visible_stats", "true_stats")
    names = {"input": "masked input", "visible_stats": "output (visible statistics)",
             "true_stats": "output (true statistics)"}
    fig, axes = plt.subplots(len(panels), len(cols) * len(frames),
                             figsize=(1.1 * len(cols) * len(frames), 1.25 * len(panels) + 0.3), squeeze=False)
    for i, (title, panel) in enumerate(panels):
        for j, col in enumerate(cols):
            for k, f in enumerate(frames):
                ax = axes[i, j * len(frames) + k]
                ax.imshow(panel[col][:, f].permute(1, 2, 0).numpy())
                ax.set_xticks([])
                ax.set_yticks([])
                if i == 0 and k == 0:
                    ax.set_title(names[col], fontsize=7, loc="left")
            if j == 0:
                axes[i, 0].set_ylabel(f"{title}\nloss {panel['loss']:.2f}", fontsize=7)
    fig.tight_layout()
    return fig


def mask_explorer(model: nn.Module, clip: torch.Tensor, recipe: VideoMAESynthRecipe, *, interactive: bool = False,
                  ratios: Sequence[float] = (0.5, 0.75, 0.9, 0.95), kinds: Sequence[str] = ("tube", "random"),
                  seed: int = 0, frames: Sequence[int] | None = None) -> Any:
    """Sliders for mask ratio and kind over ``clip`` when ``interactive`` and :func:`widgets_available`; otherwise
    (papermill, CI, no ``ipywidgets``) one static figure with a row per (kind, ratio). Returns the widget or the
    figure. ``frames``: the frames shown (default first, middle, last)."""
    model.eval()
    if frames is None:
        frames = (0, recipe.num_frames // 2, recipe.num_frames - 1)
    if interactive and widgets_available():
        import ipywidgets as widgets
        import matplotlib.pyplot as plt
        from IPython.display import display

        def show(kind: str, ratio: float, seed: int) -> None:
            _figure([(f"{kind} {ratio:.0%}", explorer_panel(model, clip, recipe, kind, ratio, seed))], frames)
            plt.show()

        ui = widgets.interactive(show, kind=widgets.ToggleButtons(options=list(kinds), value=kinds[0]),
                                 ratio=widgets.FloatSlider(value=recipe.mask_ratio, min=0.1, max=0.95, step=0.05),
                                 seed=widgets.IntSlider(value=seed, min=0, max=20))
        display(ui)
        return ui
    panels = [(f"{k} {r:.0%}", explorer_panel(model, clip, recipe, k, r, seed)) for k in kinds for r in ratios]
    return _figure(panels, frames)
