"""Open-set action recognition on SynthMotion (notebook 10): EDL fine-tuning of the VideoMAE encoder on the known
motions, scored on motions it never saw, against a max-softmax classifier and an untrained head.

    config   OpenSetSynthRecipe, RECIPES, get_recipe (clips, budget, EDL settings per profile)
    core     OpenSetData, load_openset_data, ensure_pretrained_encoder, build_openset_model,
             train_openset_model, openset_logits, score_openset
    plots    plot_uncertainty_histograms, plot_roc_curves, plot_openness

    recipe = get_recipe("tutorial")                             # carries its profile (recipe.profile)
    data = load_openset_data(recipe, 0)
    ckpt = ensure_pretrained_encoder(recipe, 0)                 # notebook 02's checkpoint, or pretrain it here
    edl, hist = train_openset_model(recipe, 0, ckpt, loss="edl", data=data)
    report = score_openset(recipe, edl, data, kind="edl")
"""
from __future__ import annotations

from .config import RECIPES, OpenSetSynthRecipe, get_recipe
from .core import (OpenSetData, build_openset_model, ensure_pretrained_encoder, load_openset_data, openset_logits,
                   score_openset, train_openset_model)
from .plots import plot_openness, plot_roc_curves, plot_uncertainty_histograms

__all__ = ["OpenSetSynthRecipe", "RECIPES", "get_recipe", "OpenSetData", "load_openset_data",
           "ensure_pretrained_encoder", "build_openset_model", "train_openset_model", "openset_logits",
           "score_openset", "plot_uncertainty_histograms", "plot_roc_curves", "plot_openness"]
