"""Temporal action localization on untrimmed SynthMotion videos (notebook 08).

    config     TALSynthRecipe, RECIPES, get_recipe
    pipeline   make_tal_data, pretrained_encoder, finetuned_encoder, untrained_encoder, extract_features, load_split_videos,
               train_head, evaluate, sliding_window_baseline, whole_video_baseline, snippet_labels
    plots      plot_timelines
    export     head_checkpoint_path, save_head, load_timeline_model, TimelineModel, TimelineModelError, write_head
"""
from __future__ import annotations

from .config import RECIPES, TALSynthRecipe, get_recipe
from .export import (TimelineModel, TimelineModelError, head_checkpoint_path, load_timeline_model, save_head,
                     write_head)
from .pipeline import (TAL_CLASSES, annotation_file, evaluate, extract_features, finetuned_encoder, load_split_videos,
                       make_tal_data,
                       pretrained_encoder, sliding_window_baseline, snippet_labels, synth_config, train_head,
                       untrained_encoder, whole_video_baseline)
from .plots import plot_timelines

__all__ = [
    "TALSynthRecipe", "RECIPES", "get_recipe", "TAL_CLASSES", "annotation_file", "evaluate", "extract_features",
    "finetuned_encoder", "plot_timelines",
    "load_split_videos", "make_tal_data", "pretrained_encoder", "sliding_window_baseline", "snippet_labels",
    "synth_config", "train_head", "untrained_encoder", "whole_video_baseline",
    "TimelineModel", "TimelineModelError", "head_checkpoint_path", "load_timeline_model", "save_head", "write_head",
]
