"""Temporal action localization on untrimmed SynthMotion videos (notebook 08).

    config     TALSynthRecipe, RECIPES, get_recipe
    pipeline   make_tal_data, pretrained_encoder, finetuned_encoder, untrained_encoder, extract_features,
               load_split_videos, train_head, evaluate, snippet_classifier, sliding_window_baseline,
               whole_video_baseline, classification_baselines, snippet_labels

Every step takes the recipe first (it carries its ``profile``), then the seed where one is used:
``make_tal_data(recipe, seed)``, ``train_head(recipe, seed, train)``, ``extract_features(recipe, model, root, name)``.
    plots      plot_timelines
    export     head_checkpoint_path, save_head, load_timeline_model, TimelineModel, TimelineModelError, write_head
"""
from __future__ import annotations

from .config import RECIPES, TALSynthRecipe, get_recipe
from .export import (TimelineModel, TimelineModelError, head_checkpoint_path, load_timeline_model, save_head,
                     write_head)
from .pipeline import (TAL_CLASSES, annotation_file, classification_baselines, evaluate, extract_features,
                       finetuned_encoder, load_split_videos, make_tal_data, pretrained_encoder, sliding_window_baseline,
                       snippet_classifier, snippet_labels, synth_config, train_head, untrained_encoder,
                       whole_video_baseline)
from .plots import plot_timelines

__all__ = [
    "TALSynthRecipe", "RECIPES", "get_recipe", "TAL_CLASSES", "annotation_file", "evaluate", "extract_features",
    "finetuned_encoder", "plot_timelines",
    "load_split_videos", "make_tal_data", "pretrained_encoder", "sliding_window_baseline", "snippet_labels",
    "snippet_classifier", "classification_baselines",
    "synth_config", "train_head", "untrained_encoder", "whole_video_baseline",
    "TimelineModel", "TimelineModelError", "head_checkpoint_path", "load_timeline_model", "save_head", "write_head",
]
